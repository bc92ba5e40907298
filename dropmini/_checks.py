"""One validation pass shared by every dropout function (package-internal).

:func:`check_call` runs before any random number is drawn and before the
input is touched (not even an ``unsqueeze_``), so a call that fails leaves
both the tensor and the global RNG as they were. ``p`` may be of exactly the
types torch's dropout functions take (their argument parser's ``float``), with
two exceptions; and where torch computes, dropmini computes the same bits.
The differences, each tested against torch in ``tests/test_torch_parity.py``:

- a bool ``p`` (Python, numpy or a 0-d bool tensor) is refused, where torch
  reads it as 0 or 1 (a bool is almost always a misplaced ``training`` or
  ``inplace``); a numpy complex ``p`` is refused, where torch drops its
  imaginary part with a ``ComplexWarning``; a NaN ``p`` is a ``ValueError``;
- a module checks ``p`` when it is built, so ``Dropout(Fraction(1, 2))``
  fails at once, where ``torch.nn.Dropout`` builds and fails when called;
- a non-floating-point input is refused only when a mask would be drawn
  (training with ``0 < p < 1`` on a non-empty tensor), with a ``TypeError``:
  torch draws the mask first and then fails for an integer or bool tensor,
  and raises ``NotImplementedError`` before drawing for a complex one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

__all__ = ["check_call", "check_inplace_allowed", "check_probability"]

#: torch's error for a ``p`` outside [0, 1], kept word for word.
OUT_OF_RANGE = "dropout probability has to be between 0 and 1, but got {p}"


def check_probability(p: object) -> float:
    """Return ``p`` as a Python float, or raise if it is not a real number in [0, 1].

    The types accepted are those torch's dropout functions take: ``int``,
    ``float``, numpy integer and floating scalars, and 0-d tensors that do not
    require grad. They are converted to a Python float, as torch does (it
    computes ``1 - p`` in double precision whatever type ``p`` had). Bools of
    every kind and numpy complex scalars are refused, although torch takes them.

    Parameters
    ----------
    p : object
        The dropout probability to check.

    Returns
    -------
    float
        ``p`` as a Python float.

    Raises
    ------
    TypeError
        If ``p`` is of another type (e.g. ``Fraction``, ``Decimal``, ``str``,
        ``None``, a 1-d tensor) or is a bool.
    ValueError
        If ``p`` is NaN or lies outside [0, 1]; the message is torch's.

    Examples
    --------
    >>> check_probability(0.2)
    0.2
    >>> check_probability(torch.tensor(0.5))
    0.5
    >>> check_probability(1.5)
    Traceback (most recent call last):
    ...
    ValueError: dropout probability has to be between 0 and 1, but got 1.5
    >>> from fractions import Fraction
    >>> check_probability(Fraction(1, 2))
    Traceback (most recent call last):
    ...
    TypeError: dropout probability must be a real number of a type torch's dropout takes ...
    """
    if isinstance(p, (bool, np.bool_)) or (isinstance(p, torch.Tensor) and p.dtype == torch.bool):
        raise TypeError(
            f"dropout probability must be a real number, not a bool ({type(p).__name__}: {p!r}); "
            "a bool here is almost always a misplaced training or inplace argument"
        )
    accepted = isinstance(p, (int, float, np.integer, np.floating)) or (
        isinstance(p, torch.Tensor) and p.dim() == 0 and not p.requires_grad and not p.is_complex()
    )
    if not accepted:
        raise TypeError(
            "dropout probability must be a real number of a type torch's dropout takes (int, "
            "float, a numpy integer or floating scalar, or a 0-d real tensor that does not "
            f"require grad), but got {type(p).__name__}: {p!r}"
        )
    if not 0.0 <= p <= 1.0:  # also catches NaN, which fails every comparison
        raise ValueError(OUT_OF_RANGE.format(p=p))
    return float(p)


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


def _not_floating_message(name: str, dtype: torch.dtype) -> str:
    """Why a mask cannot be drawn for ``dtype``, and what torch's dropout does instead.

    Examples
    --------
    >>> print(_not_floating_message("dropout", torch.int64))  # doctest: +NORMALIZE_WHITESPACE
    dropout() draws a mask here and needs a floating-point tensor, but got dtype torch.int64;
    convert it first, e.g. x.float() (torch's dropout draws the mask, then fails to cast the
    result, so its generator moves)
    >>> print(_not_floating_message("dropout", torch.complex64))  # doctest: +NORMALIZE_WHITESPACE
    dropout() draws a mask here and needs a floating-point tensor, but got dtype
    torch.complex64; complex tensors are not supported

    What torch does with a complex tensor depends on its release (2.7-2.13 refuse it before
    drawing; 2.15 draws a mask and computes), so the message does not describe it.
    """
    head = f"{name}() draws a mask here and needs a floating-point tensor, but got dtype {dtype}"
    if dtype.is_complex:
        return f"{head}; complex tensors are not supported"
    return (
        f"{head}; convert it first, e.g. x.float() (torch's dropout draws the mask, then fails "
        "to cast the result, so its generator moves)"
    )


def _type_name(value: object) -> str:
    """Name a type as torch's argument parser does: ``int``, ``Tensor``, ``numpy.bool``."""
    kind = type(value)
    if kind.__module__ == "builtins" or isinstance(value, torch.Tensor):
        return kind.__name__
    return f"{kind.__module__}.{kind.__qualname__}"


def check_call(
    name: str,
    input: object,
    p: object,
    training: object,
    inplace: object,
    *,
    feature: bool = False,
    batched_rank: int | None = None,
    ranks: tuple[int, ...] | None = None,
    rank_note: str = "",
    warn_rank: Callable[[int], None] | None = None,
) -> float:
    """Check every argument of a dropout call at once; return ``p`` as a float.

    Parameters
    ----------
    name : str
        The function's name, used in messages.
    input : object
        The value passed as the tensor to drop.
    p : object
        The dropout probability.
    training : object
        Must be a ``bool``, as torch requires.
    inplace : object
        Whether the call overwrites ``input`` (any truthy value, as in torch).
    feature : bool, default False
        Channel-wise noise of shape ``(N, C, 1, ...)``: a mask needs at least
        2 dimensions, counted after a batch dimension is added.
    batched_rank : int, optional
        For ``dropout1d`` and ``dropout3d``: the rank of a batched input; at any
        other rank the function adds a batch dimension before drawing.
    ranks : tuple of int, optional
        The only ranks accepted at all (``dropout1d``), with torch's message.
    rank_note : str, default ""
        Appended to the message for a rank outside ``ranks``.
    warn_rank : callable, optional
        Called with the rank once the rank is accepted, to give torch's
        warnings at the point where torch gives them.

    Returns
    -------
    float
        ``p`` as a Python float.

    Raises
    ------
    TypeError
        If ``input`` is not a tensor, ``p`` is not a real number, ``training``
        is not a bool, or a mask would be drawn for a tensor that is not
        floating point.
    ValueError
        If ``p`` is NaN or outside [0, 1].
    NotImplementedError
        If ``input`` is a nested tensor.
    RuntimeError
        If the rank is not allowed, if a channel-wise mask would be drawn for
        fewer than 2 dimensions (torch's messages), or if ``inplace`` would
        overwrite a leaf that requires grad.

    Examples
    --------
    >>> check_call("dropout", torch.ones(3), 0.5, True, False)
    0.5
    >>> check_call("dropout", torch.arange(3), 0.5, False, False)  # eval: no mask, any dtype
    0.5
    >>> check_call("dropout", torch.ones(3), 0.5, 1, False)
    Traceback (most recent call last):
    ...
    TypeError: dropout(): argument 'training' must be bool, not int
    """
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.is_nested:
        raise NotImplementedError(
            f"{name}() does not support nested tensors (torch.nested); torch.nn.functional does"
        )
    value = check_probability(p)
    rank = input.dim()
    if ranks is not None and rank not in ranks:
        expected = " or ".join(f"{r}D" for r in ranks)
        raise RuntimeError(
            f"{name}: Expected {expected} input, but received a {rank}D input. {rank_note}".rstrip()
        )
    if warn_rank is not None:
        warn_rank(rank)
    if not isinstance(training, bool):
        raise TypeError(f"{name}(): argument 'training' must be bool, not {_type_name(training)}")
    draws = training and 0.0 < value < 1.0 and input.numel() > 0
    if draws and not input.is_floating_point():
        raise TypeError(_not_floating_message(name, input.dtype))
    noise_rank = rank + (1 if batched_rank is not None and rank != batched_rank else 0)
    if draws and feature and noise_rank < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if inplace and training and value > 0.0 and input.numel() > 0:
        check_inplace_allowed(input)
    return value
