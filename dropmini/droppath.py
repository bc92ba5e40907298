"""DropPath (stochastic depth): drop a whole residual branch, one draw per sample.

Stochastic depth (Huang et al., 2016) skips residual branches at random during
training. The per-sample form that timm calls ``drop_path`` and torchvision
``stochastic_depth(..., mode="row")`` keeps each sample's branch output with
probability ``1 - p`` and scales it by ``1 / (1 - p)``; put it on the branch,
before the addition: ``x + drop_path(f(x), p)``.

:func:`drop_path` computes it with the operations of both references, in their
order, so for the same seed it gives the same bits, the same gradient and the
same use of the random stream.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.overrides import handle_torch_function, has_torch_function_unary

from dropmini._checks import check_call, check_probability

__all__ = ["DropPath", "drop_path"]


def drop_path(
    input: torch.Tensor, p: float = 0.5, training: bool = True, scale_by_keep: bool = True
) -> torch.Tensor:
    """Zero each sample (index along dim 0) with probability ``p``; scale the rest by ``1/(1-p)``.

    One Bernoulli(1 - p) draw per sample decides the whole sample: its every
    element is kept (and scaled) or zeroed together. Same bits, gradient and
    random-number use as timm's ``drop_path`` and torchvision's
    ``stochastic_depth(input, p, "row", training)`` on the CPU: a noise tensor of
    shape ``(N, 1, ..., 1)`` drawn with ``bernoulli_(1 - p)``, divided in place
    by ``1 - p`` when ``1 - p > 0`` (and ``scale_by_keep``), then ``input * noise``.

    Parameters
    ----------
    input : torch.Tensor
        A floating-point tensor of shape ``(N, *)``; dim 0 indexes the samples.
    p : float, default 0.5
        Probability that a sample is zeroed, in [0, 1].
    training : bool, default True
        Apply DropPath if true; otherwise return ``input`` itself. Inside a
        module pass ``training=self.training``.
    scale_by_keep : bool, default True
        Divide kept samples by ``1 - p``, so that the expected output is ``input``.

    Returns
    -------
    torch.Tensor
        A new tensor, or ``input`` itself when ``training`` is false or ``p == 0``.
        At ``p == 1`` the references still draw (``bernoulli_(0)``, which uses
        random numbers) and multiply by zeros; so does this function.

    Raises
    ------
    TypeError
        If ``input`` is not a tensor, ``p`` is not a real number, ``training`` is
        not a bool, or a mask would be drawn for a tensor that is not floating point.
    ValueError
        If ``p`` is NaN or outside [0, 1].
    RuntimeError
        If a mask would be drawn for a 0-d input, which has no batch dimension.
        Both checks run before anything is drawn.

    Examples
    --------
    >>> x = torch.ones(4, 3)
    >>> _ = torch.manual_seed(0)
    >>> drop_path(x, p=0.5)
    tensor([[0., 0., 0.],
            [0., 0., 0.],
            [2., 2., 2.],
            [0., 0., 0.]])
    >>> drop_path(x, p=0.5, training=False) is x
    True
    """
    if has_torch_function_unary(input):
        return handle_torch_function(
            drop_path, (input,), input, p=p, training=training, scale_by_keep=scale_by_keep
        )
    p = check_call("drop_path", input, p, training, False)
    if p == 0 or not training:
        return input
    if input.dim() == 0:
        raise RuntimeError(
            "drop_path needs a batch dimension: it draws one value per sample along dim 0, "
            "but got a 0-d tensor; pass a tensor of shape (N, ...), e.g. x.unsqueeze(0)"
        )
    keep = 1 - p
    shape = (input.shape[0],) + (1,) * (input.dim() - 1)
    noise = torch.empty(shape, dtype=input.dtype, device=input.device).bernoulli_(keep)
    if keep > 0 and scale_by_keep:
        noise.div_(keep)
    return input * noise


class DropPath(nn.Module):
    """Stochastic depth per sample for a residual branch: ``x + DropPath(p)(f(x))``.

    In training, each sample's branch output is zeroed with probability ``p``
    and otherwise scaled by ``1 / (1 - p)``; in eval mode the module is the
    identity. Computed by :func:`drop_path`.

    Parameters
    ----------
    p : float, default 0.5
        Probability that a sample's branch is dropped, checked at construction.
    scale_by_keep : bool, default True
        Divide kept samples by ``1 - p``.

    Examples
    --------
    >>> drop = DropPath(0.2)
    >>> drop
    DropPath(p=0.2, scale_by_keep=True)
    >>> x = torch.ones(2, 3)
    >>> drop.eval()(x) is x
    True
    """

    __constants__ = ["p", "scale_by_keep"]

    def __init__(self, p: float = 0.5, scale_by_keep: bool = True) -> None:
        super().__init__()
        check_probability(p)
        self.p = p
        self.scale_by_keep = scale_by_keep

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return drop_path(input, self.p, self.training, self.scale_by_keep)

    def extra_repr(self) -> str:
        return f"p={self.p}, scale_by_keep={self.scale_by_keep}"
