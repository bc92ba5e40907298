"""Bit-level comparison of tensors: the yardstick of every "same as torch" claim."""

from __future__ import annotations

import torch

__all__ = ["same_bits", "ulp_distance"]

_INT_OF_WIDTH = {2: torch.int16, 4: torch.int32, 8: torch.int64}


def _bits(t: torch.Tensor) -> torch.Tensor:
    """The raw bit patterns of ``t`` as a contiguous integer tensor."""
    width = t.element_size()
    if t.is_complex():
        t = torch.view_as_real(t)
        width //= 2
    if width not in _INT_OF_WIDTH or t.dtype == torch.bool:
        return t.detach().contiguous()
    return t.detach().contiguous().view(_INT_OF_WIDTH[width])


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """True when ``a`` and ``b`` have the same dtype, shape and bit pattern in every element.

    Unlike ``torch.equal``, NaN equals a NaN with the same bits, and ``-0.0``
    differs from ``0.0``. Strides and ``requires_grad`` are not compared.

    Parameters
    ----------
    a, b : torch.Tensor
        The tensors to compare.

    Returns
    -------
    bool
        Whether the two tensors hold exactly the same bits.

    Raises
    ------
    TypeError
        If either argument is not a tensor.

    Examples
    --------
    >>> nan = float("nan")
    >>> same_bits(torch.tensor([nan, 1.0]), torch.tensor([nan, 1.0]))
    True
    >>> torch.equal(torch.tensor([nan]), torch.tensor([nan]))
    False
    >>> same_bits(torch.tensor([-0.0]), torch.tensor([0.0]))
    False
    """
    for name, t in (("a", a), ("b", b)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"same_bits compares tensors, but {name} is {type(t).__name__}")
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return bool(torch.equal(_bits(a), _bits(b)))


def ulp_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Number of representable floats between ``a`` and ``b``, element by element.

    0 means identical bits (with ``0.0`` and ``-0.0`` one apart); 1 means
    neighbouring floats, the smallest difference rounding can make.

    Parameters
    ----------
    a, b : torch.Tensor
        Finite floating-point tensors of the same dtype and shape.

    Returns
    -------
    torch.Tensor
        An ``int64`` tensor of the distances.

    Examples
    --------
    >>> one = torch.tensor([1.0])
    >>> ulp_distance(one, torch.nextafter(one, torch.tensor([2.0])))
    tensor([1])
    """
    if a.dtype != b.dtype or a.shape != b.shape or not a.is_floating_point():
        raise TypeError(
            "ulp_distance needs two floating-point tensors of one dtype and shape, "
            f"got {a.dtype}{tuple(a.shape)} and {b.dtype}{tuple(b.shape)}"
        )

    def ordered(t: torch.Tensor) -> torch.Tensor:
        # Map sign-magnitude bit patterns onto a monotonic integer line.
        i = _bits(t).to(torch.int64)
        sign = torch.iinfo(_bits(t).dtype).min
        return torch.where(i < 0, sign - i - 1, i)

    return (ordered(a) - ordered(b)).abs()
