"""Argument checks shared by every dropout variant.

Each check runs before any random number is drawn and before the input is
touched, so a call that fails leaves both the tensor and the global RNG as
they were.
"""

from __future__ import annotations

import math
import numbers

import torch

__all__ = ["check_input", "check_inplace_allowed", "check_probability"]


def check_probability(p: object) -> None:
    """Raise if ``p`` is not a real number in the closed interval [0, 1].

    Parameters
    ----------
    p : object
        The dropout probability to check.

    Raises
    ------
    TypeError
        If ``p`` is not a real number (``bool`` is refused too).
    ValueError
        If ``p`` is NaN or lies outside [0, 1]; the message is torch's.

    Examples
    --------
    >>> check_probability(0.2)
    >>> check_probability(1.5)
    Traceback (most recent call last):
    ...
    ValueError: dropout probability has to be between 0 and 1, but got 1.5
    """
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(
            "dropout probability must be a real number (int or float), "
            f"but got {type(p).__name__}: {p!r}"
        )
    if math.isnan(p) or p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def check_input(input: object) -> None:
    """Raise ``TypeError`` unless ``input`` is a floating-point tensor.

    Parameters
    ----------
    input : object
        The value passed as the tensor to drop.

    Raises
    ------
    TypeError
        If ``input`` is not a ``torch.Tensor``, or its dtype is an integer,
        bool or complex type.

    Examples
    --------
    >>> check_input(torch.ones(2))
    >>> check_input(torch.ones(2, dtype=torch.int64))
    Traceback (most recent call last):
    ...
    TypeError: dropout needs a floating-point tensor, but got dtype torch.int64; ...
    """
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"dropout expects a torch.Tensor as input, but got {type(input).__name__}")
    if not input.is_floating_point():
        raise TypeError(
            "dropout needs a floating-point tensor, but got dtype "
            f"{input.dtype}; convert it first, e.g. x.float()"
        )


def check_inplace_allowed(input: torch.Tensor) -> None:
    """Raise torch's ``RuntimeError`` if autograd forbids changing ``input`` in place.

    torch raises the same error, but only after it has drawn the mask; checking
    first keeps the random stream untouched.

    Parameters
    ----------
    input : torch.Tensor
        The tensor an in-place dropout would overwrite.

    Raises
    ------
    RuntimeError
        If ``input`` (or the base of the view ``input``) is a leaf that requires
        grad while grad mode is enabled.

    Examples
    --------
    >>> check_inplace_allowed(torch.ones(2))
    >>> check_inplace_allowed(torch.ones(2, requires_grad=True))
    Traceback (most recent call last):
    ...
    RuntimeError: a leaf Variable that requires grad is being used in an in-place operation.
    """
    if not (input.requires_grad and torch.is_grad_enabled()):
        return
    if input.is_leaf:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )
    base = input._base
    if base is not None and base.is_leaf:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )
