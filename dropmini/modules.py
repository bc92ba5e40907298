"""Dropout modules with the same constructor, repr and behaviour as ``torch.nn``'s."""

from __future__ import annotations

from copy import deepcopy

import torch
from torch import nn

from dropmini import functional as F
from dropmini._checks import check_probability

__all__ = [
    "AlphaDropout",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "DropoutNd",
    "FeatureAlphaDropout",
    "to_torch",
]


class DropoutNd(nn.Module):
    """Base of every dropmini dropout module: holds ``p`` and ``inplace``, checks ``p`` once.

    Plays the part of torch's private ``torch.nn.modules.dropout._DropoutNd``;
    ``isinstance(m, dropmini.DropoutNd)`` finds every dropmini dropout module.
    torch's base class checks only that ``p`` lies in [0, 1]; this one checks
    all that the functions check about ``p``, so a ``p`` the functions refuse
    (a ``Fraction``, a ``Decimal``, NaN) fails here, not at the first call.

    Parameters
    ----------
    p : float, default 0.5
        Dropout probability, checked at construction.
    inplace : bool, default False
        Whether ``forward`` overwrites its input.

    Examples
    --------
    >>> isinstance(Dropout(0.1), DropoutNd)
    True
    >>> from fractions import Fraction
    >>> torch.nn.Dropout(Fraction(1, 2))  # built; its first call raises a TypeError
    Dropout(p=1/2, inplace=False)
    >>> Dropout(Fraction(1, 2))
    Traceback (most recent call last):
    ...
    TypeError: dropout probability must be a real number of a type torch's dropout takes ...
    """

    __constants__ = ["p", "inplace"]

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        check_probability(p)
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(DropoutNd):
    """Zero each element with probability ``p`` during training; identity in eval mode.

    The twin of ``torch.nn.Dropout``, computed by :func:`dropmini.dropout`.

    Parameters
    ----------
    p : float, default 0.5
        Probability that an element is zeroed; kept elements are scaled by ``1 / (1 - p)``.
    inplace : bool, default False
        Overwrite the input with the result.

    Examples
    --------
    >>> drop = Dropout(0.2)
    >>> drop
    Dropout(p=0.2, inplace=False)
    >>> _ = torch.manual_seed(0)
    >>> drop(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
    tensor([0.0000, 2.5000, 3.7500, 0.0000, 6.2500])
    >>> _ = drop.eval()
    >>> drop(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
    tensor([1., 2., 3., 4., 5.])
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(DropoutNd):
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` inputs; twin of ``torch.nn.Dropout1d``.

    Parameters
    ----------
    p : float, default 0.5
        Probability that a channel is zeroed.
    inplace : bool, default False
        Overwrite the input with the result.

    Examples
    --------
    >>> Dropout1d(0.1)
    Dropout1d(p=0.1, inplace=False)
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(DropoutNd):
    """Zero whole channels of ``(N, C, H, W)`` inputs; twin of ``torch.nn.Dropout2d``.

    Parameters
    ----------
    p : float, default 0.5
        Probability that a channel is zeroed.
    inplace : bool, default False
        Overwrite the input with the result.

    Examples
    --------
    >>> Dropout2d(0.1)
    Dropout2d(p=0.1, inplace=False)
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(DropoutNd):
    """Zero whole channels of ``(N, C, D, H, W)`` inputs; twin of ``torch.nn.Dropout3d``.

    Parameters
    ----------
    p : float, default 0.5
        Probability that a channel is zeroed.
    inplace : bool, default False
        Overwrite the input with the result.

    Examples
    --------
    >>> Dropout3d(0.1)
    Dropout3d(p=0.1, inplace=False)
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(DropoutNd):
    """Alpha dropout for SELU networks; twin of ``torch.nn.AlphaDropout``.

    Like torch's module it accepts ``inplace`` but ignores it.

    Parameters
    ----------
    p : float, default 0.5
        Probability that an element is dropped.
    inplace : bool, default False
        Accepted for torch compatibility and ignored.

    Examples
    --------
    >>> AlphaDropout(0.1)
    AlphaDropout(p=0.1, inplace=False)
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(DropoutNd):
    """Channel-wise alpha dropout; twin of ``torch.nn.FeatureAlphaDropout``.

    Like torch's module it accepts ``inplace`` but ignores it.

    Parameters
    ----------
    p : float, default 0.5
        Probability that a channel is dropped.
    inplace : bool, default False
        Accepted for torch compatibility and ignored.

    Examples
    --------
    >>> FeatureAlphaDropout(0.1)
    FeatureAlphaDropout(p=0.1, inplace=False)
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.feature_alpha_dropout(input, self.p, self.training)


_TORCH_TWINS: dict[type[nn.Module], type[nn.Module]] = {
    Dropout: nn.Dropout,
    Dropout1d: nn.Dropout1d,
    Dropout2d: nn.Dropout2d,
    Dropout3d: nn.Dropout3d,
    AlphaDropout: nn.AlphaDropout,
    FeatureAlphaDropout: nn.FeatureAlphaDropout,
}


def to_torch(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` with every dropmini dropout module swapped for torch's.

    Handy for showing that a whole model computes the same bits with either.

    Parameters
    ----------
    model : torch.nn.Module
        Any module tree.

    Returns
    -------
    torch.nn.Module
        The copy; parameters, buffers and training flags are copied too.

    Examples
    --------
    >>> to_torch(nn.Sequential(nn.Linear(2, 2), Dropout(0.1)))
    Sequential(
      (0): Linear(in_features=2, out_features=2, bias=True)
      (1): Dropout(p=0.1, inplace=False)
    )
    >>> type(_[1]).__module__
    'torch.nn.modules.dropout'
    """
    copy = deepcopy(model)
    for parent in list(copy.modules()):
        for name, child in list(parent.named_children()):
            twin = _TORCH_TWINS.get(type(child))
            if twin is not None:
                replacement = twin(child.p, child.inplace)
                replacement.train(child.training)
                setattr(parent, name, replacement)
    return copy
