"""Functional dropout that reproduces ``torch.nn.functional`` bit for bit on the CPU.

Every function follows the sequence of operations of ATen's ``_dropout_impl``:
draw a Bernoulli(1 - p) mask with ``bernoulli_``, divide it by ``1 - p`` in
place, multiply the input by it. Doing the same operations in the same order
gives the same bits, the same gradient and the same use of the random stream.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch.overrides import handle_torch_function, has_torch_function_unary

from dropmini._checks import check_call

__all__ = [
    "SELU_LAMBDA_ALPHA",
    "alpha_dropout",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "feature_alpha_dropout",
    "feature_noise_shape",
    "draw_noise",
]

#: SELU's scale times its alpha, λ·α ≈ 1.7581: SELU tends to ``-λ·α`` for very
#: negative inputs, and alpha dropout sets dropped units to that value before its
#: affine correction. (SELU's own α is 1.6733 and λ is 1.0507.)
SELU_LAMBDA_ALPHA = 1.7580993408473766


def feature_noise_shape(input: torch.Tensor) -> tuple[int, ...]:
    """Shape of the mask for channel-wise dropout: ``(N, C, 1, ..., 1)``.

    Parameters
    ----------
    input : torch.Tensor
        A tensor of shape ``(N, C, *)`` with at least two dimensions.

    Returns
    -------
    tuple of int
        The batch and channel sizes followed by a 1 for every other dimension,
        so that one draw decides a whole channel.

    Raises
    ------
    RuntimeError
        If ``input`` has fewer than two dimensions.

    Examples
    --------
    >>> feature_noise_shape(torch.zeros(8, 3, 32, 32))
    (8, 3, 1, 1)
    """
    if input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return (input.shape[0], input.shape[1]) + (1,) * (input.dim() - 2)


def draw_noise(
    shape: tuple[int, ...],
    stride: tuple[int, ...],
    dtype: torch.dtype,
    p: float,
    *,
    scale: bool = True,
) -> torch.Tensor:
    """Draw ATen's dropout noise: Bernoulli(1 - p) on the CPU, divided in place by ``1 - p``.

    Package-internal but documented: :func:`dropmini.seeded_dropout` calls it
    again in backward with the same arguments to draw the same noise. The
    ``stride`` decides the order in which elements take their random numbers,
    so it must be the one torch gives its own noise tensor.

    Parameters
    ----------
    shape, stride : tuple of int
        Geometry of the noise tensor.
    dtype : torch.dtype
        Floating-point dtype of the noise.
    p : float
        Dropout probability, strictly between 0 and 1.
    scale : bool, default True
        Divide by ``1 - p`` (alpha dropout scales differently and passes False).

    Returns
    -------
    torch.Tensor
        Zeros and ``1 / (1 - p)`` (or zeros and ones when ``scale`` is false).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> draw_noise((5,), (1,), torch.float32, 0.2)
    tensor([0.0000, 1.2500, 1.2500, 0.0000, 1.2500])
    """
    return _fill_noise(torch.empty_strided(shape, stride, dtype=dtype), p, scale)


def _fill_noise(noise: torch.Tensor, p: float, scale: bool) -> torch.Tensor:
    """Fill ``noise`` with Bernoulli(1 - p) in its memory order, then divide by ``1 - p``."""
    noise.bernoulli_(1 - p)
    return noise.div_(1 - p) if scale else noise


def _dropout_impl(
    input: torch.Tensor,
    p: float,
    training: bool,
    inplace: bool,
    *,
    feature: bool = False,
    alpha: bool = False,
) -> torch.Tensor:
    """The one implementation behind every variant (ATen's ``_dropout_impl``)."""
    if p == 0 or not training or input.numel() == 0:
        return input
    if p == 1:
        zero = torch.zeros((), dtype=input.dtype, device=input.device)
        return input.mul_(zero) if inplace else input * zero
    # Made from ``input`` as ATen makes it (``empty_like``, ``new_empty``), not from a shape
    # and strides: under ``torch.func.vmap`` these are batched, so each sample draws its own.
    if feature:
        empty = input.new_empty(feature_noise_shape(input))
    else:
        empty = torch.empty_like(input)
    noise = _fill_noise(empty, p, scale=not alpha)
    if not alpha:
        return input.mul_(noise) if inplace else input * noise
    a = 1.0 / math.sqrt((SELU_LAMBDA_ALPHA * SELU_LAMBDA_ALPHA * p + 1) * (1 - p))
    b = noise.add(-1).mul_(SELU_LAMBDA_ALPHA * a).add_(SELU_LAMBDA_ALPHA * a * p)
    noise.mul_(a)
    out = input.mul_(noise) if inplace else input * noise
    return out.add_(b)


def dropout(
    input: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> torch.Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    The drop-in twin of ``torch.nn.functional.dropout``: for the same seed on
    the CPU it returns the same bits, has the same gradient and draws the same
    random numbers.

    Parameters
    ----------
    input : torch.Tensor
        A tensor of any shape; floating point wherever a mask is drawn (training
        with ``0 < p < 1`` on a non-empty tensor).
    p : float, default 0.5
        Probability that an element is zeroed, in [0, 1]: an int, a float, a numpy
        integer or floating scalar, or a 0-d tensor that does not require grad (the
        types ``torch.nn.functional.dropout`` takes), but not a bool.
    training : bool, default True
        Apply dropout if true; otherwise return ``input`` itself. Note the
        default: inside a module pass ``training=self.training``.
    inplace : bool, default False
        Overwrite ``input`` with the result and return ``input``.

    Returns
    -------
    torch.Tensor
        The dropped tensor. It is ``input`` itself when ``inplace`` is true, when
        ``training`` is false, when ``p == 0`` or when ``input`` is empty.

    Raises
    ------
    TypeError
        If ``p`` is of another type or is a bool, or if a mask would be drawn for
        a tensor that is not floating point.
    ValueError
        If ``p`` is NaN or outside [0, 1].
    RuntimeError
        If ``inplace`` is true and ``input`` is a leaf that requires grad.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> dropout(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]), p=0.2)
    tensor([0.0000, 2.5000, 3.7500, 0.0000, 6.2500])
    >>> x = torch.ones(3)
    >>> dropout(x, p=0.5, training=False) is x
    True
    """
    if has_torch_function_unary(input):
        return handle_torch_function(
            dropout, (input,), input, p=p, training=training, inplace=inplace
        )
    p = check_call("dropout", input, p, training, inplace)
    return _dropout_impl(input, p, training, inplace)


def _channel_wise(
    input: torch.Tensor,
    p: float,
    training: bool,
    inplace: bool,
    *,
    batched: bool,
) -> torch.Tensor:
    """Feature dropout, adding a batch dimension first when ``batched`` is false."""
    if batched:
        return _dropout_impl(input, p, training, inplace, feature=True)
    if inplace:
        input.unsqueeze_(0)
        return _dropout_impl(input, p, training, True, feature=True).squeeze_(0)
    return _dropout_impl(input.unsqueeze(0), p, training, False, feature=True).squeeze(0)


def _deprecated_rank(name: str, rank: int, spatial: str, ranks: str) -> None:
    """Warn, in torch's words, about a rank a channel-wise dropout does not expect."""
    warnings.warn(
        f"{name}: Received a {rank}-D input to {name}, which is deprecated "
        "and will result in an error in a future release. To retain the behavior "
        "and silence this warning, please use dropout instead. Note that "
        f"{name} exists to provide channel-wise dropout on inputs with {spatial} "
        "spatial dimensions, a channel dimension, and an optional batch dimension "
        f"(i.e. {ranks} inputs).",
        UserWarning,
        stacklevel=5,  # the caller of dropout2d/dropout3d, past check_call and _warn_*
    )


def _warn_2d(rank: int) -> None:
    """Torch's warnings for ``dropout2d``: any rank but 4, and the (N, C, L) reading of 3-D."""
    if rank not in (3, 4):
        _deprecated_rank("dropout2d", rank, "2", "3D or 4D")
    if rank == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
            "1D dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
            "is the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            UserWarning,
            stacklevel=4,  # the caller of dropout2d, past check_call
        )


def _warn_3d(rank: int) -> None:
    """Torch's warning for ``dropout3d`` on a rank other than 4 or 5."""
    if rank not in (4, 5):
        _deprecated_rank("dropout3d", rank, "3", "4D or 5D")


def dropout1d(
    input: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> torch.Tensor:
    """Zero whole channels of a ``(N, C, L)`` or ``(C, L)`` input with probability ``p``.

    The twin of ``torch.nn.functional.dropout1d``.

    Parameters
    ----------
    input : torch.Tensor
        Floating-point tensor of shape ``(N, C, L)`` or ``(C, L)``.
    p : float, default 0.5
        Probability that a channel is zeroed.
    training : bool, default True
        Apply dropout if true; otherwise return ``input``.
    inplace : bool, default False
        Overwrite ``input`` with the result.

    Returns
    -------
    torch.Tensor
        The input with each channel either zeroed or scaled by ``1 / (1 - p)``.

    Raises
    ------
    RuntimeError
        If ``input`` is not 2-D or 3-D (torch raises the same class).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> dropout1d(torch.ones(1, 3, 2), p=0.5)
    tensor([[[0., 0.],
             [0., 0.],
             [2., 2.]]])
    """
    if has_torch_function_unary(input):
        return handle_torch_function(
            dropout1d, (input,), input, p=p, training=training, inplace=inplace
        )
    p = check_call(
        "dropout1d",
        input,
        p,
        training,
        inplace,
        feature=True,
        batched_rank=3,
        ranks=(2, 3),
        rank_note="Note that dropout1d exists to provide channel-wise dropout on inputs with 1 "
        "spatial dimension, a channel dimension, and an optional batch dimension "
        "(i.e. 2D or 3D inputs).",
    )
    return _channel_wise(input, p, training, inplace, batched=input.dim() == 3)


def dropout2d(
    input: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> torch.Tensor:
    """Zero whole channels of a ``(N, C, H, W)`` input with probability ``p``.

    The twin of ``torch.nn.functional.dropout2d``, including its historical
    quirk: a 3-D input is read as ``(N, C, L)``, not as an unbatched
    ``(C, H, W)``, with a ``UserWarning``. Other ranks than 3 and 4 also warn.

    Parameters
    ----------
    input : torch.Tensor
        Floating-point tensor of shape ``(N, C, H, W)``.
    p : float, default 0.5
        Probability that a channel is zeroed.
    training : bool, default True
        Apply dropout if true; otherwise return ``input``.
    inplace : bool, default False
        Overwrite ``input`` with the result.

    Returns
    -------
    torch.Tensor
        The input with each channel either zeroed or scaled by ``1 / (1 - p)``.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> dropout2d(torch.ones(1, 3, 1, 2), p=0.5).flatten()
    tensor([0., 0., 0., 0., 2., 2.])
    """
    if has_torch_function_unary(input):
        return handle_torch_function(
            dropout2d, (input,), input, p=p, training=training, inplace=inplace
        )
    p = check_call("dropout2d", input, p, training, inplace, feature=True, warn_rank=_warn_2d)
    return _channel_wise(input, p, training, inplace, batched=True)


def dropout3d(
    input: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> torch.Tensor:
    """Zero whole channels of a ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input.

    The twin of ``torch.nn.functional.dropout3d``; ranks other than 4 and 5
    give a ``UserWarning``, as in torch.

    Parameters
    ----------
    input : torch.Tensor
        Floating-point tensor of shape ``(N, C, D, H, W)`` or ``(C, D, H, W)``.
    p : float, default 0.5
        Probability that a channel is zeroed.
    training : bool, default True
        Apply dropout if true; otherwise return ``input``.
    inplace : bool, default False
        Overwrite ``input`` with the result.

    Returns
    -------
    torch.Tensor
        The input with each channel either zeroed or scaled by ``1 / (1 - p)``.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> dropout3d(torch.ones(1, 4, 1, 1, 1), p=0.5).flatten()
    tensor([0., 0., 2., 0.])
    """
    if has_torch_function_unary(input):
        return handle_torch_function(
            dropout3d, (input,), input, p=p, training=training, inplace=inplace
        )
    p = check_call(
        "dropout3d", input, p, training, inplace, feature=True, batched_rank=5, warn_rank=_warn_3d
    )
    return _channel_wise(input, p, training, inplace, batched=input.dim() == 5)


def alpha_dropout(
    input: torch.Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> torch.Tensor:
    """Alpha dropout for SELU networks: keeps mean 0 and variance 1.

    Dropped units are set to SELU's negative saturation value and the result is
    shifted and scaled so that a standardised input stays standardised. The twin
    of ``torch.nn.functional.alpha_dropout``; note that ``training`` defaults to
    false there and here.

    Parameters
    ----------
    input : torch.Tensor
        Floating-point tensor of any shape.
    p : float, default 0.5
        Probability that an element is dropped.
    training : bool, default False
        Apply dropout if true; otherwise return ``input``.
    inplace : bool, default False
        Overwrite ``input`` with the result.

    Returns
    -------
    torch.Tensor
        Kept elements are ``a * input + c`` and dropped ones ``a * -SELU_LAMBDA_ALPHA + c``,
        with ``a`` and ``c`` chosen to keep mean and variance, computed in torch's order.

    Examples
    --------
    >>> x = torch.zeros(4)
    >>> alpha_dropout(x, 0.5) is x   # training defaults to False
    True
    """
    if has_torch_function_unary(input):
        return handle_torch_function(
            alpha_dropout, (input,), input, p=p, training=training, inplace=inplace
        )
    p = check_call("alpha_dropout", input, p, training, inplace)
    return _dropout_impl(input, p, training, inplace, alpha=True)


def feature_alpha_dropout(
    input: torch.Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> torch.Tensor:
    """Channel-wise alpha dropout: whole channels take SELU's saturation value.

    The twin of ``torch.nn.functional.feature_alpha_dropout``.

    Parameters
    ----------
    input : torch.Tensor
        Floating-point tensor of shape ``(N, C, *)``.
    p : float, default 0.5
        Probability that a channel is dropped.
    training : bool, default False
        Apply dropout if true; otherwise return ``input``.
    inplace : bool, default False
        Overwrite ``input`` with the result.

    Returns
    -------
    torch.Tensor
        The input with every channel either kept or dropped, then shifted and scaled.

    Examples
    --------
    >>> _ = torch.manual_seed(1)
    >>> feature_alpha_dropout(torch.zeros(1, 2, 2), 0.5, training=True)
    tensor([[[0.7792, 0.7792],
             [0.7792, 0.7792]]])
    """
    if has_torch_function_unary(input):
        return handle_torch_function(
            feature_alpha_dropout, (input,), input, p=p, training=training, inplace=inplace
        )
    p = check_call("feature_alpha_dropout", input, p, training, inplace, feature=True)
    return _dropout_impl(input, p, training, inplace, feature=True, alpha=True)
