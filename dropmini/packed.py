"""Dropout that keeps its mask for backward as bits: one byte per eight elements.

On the CPU, PyTorch's dropout keeps the scaled mask, which is as large as the
input (4 bytes per float32 element); CUDA's fused kernel keeps a bool mask
(1 byte per element). :func:`packed_dropout` draws the mask straight into a
bool tensor with torch's own ``bernoulli_`` (which consumes the generator
exactly as a float draw does), packs it into ``ceil(n / 8)`` bytes with
numpy's ``packbits``, and
rebuilds the noise from the bits in backward with the same ``div_`` torch
uses, so output, gradient and generator state are torch's to the bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from dropmini._checks import check_call
from dropmini.modules import DropoutNd

__all__ = ["PackedDropout", "packed_dropout"]

_Geometry = tuple[torch.Size, tuple[int, ...]]  # shape and strides of the noise


def _pack(mask: torch.Tensor) -> torch.Tensor:
    """Pack a 1-d bool tensor into bytes: bit ``k`` of byte ``j`` is element ``8 j + k``.

    numpy's ``packbits`` does it in one vectorised pass on one thread; the last
    byte is padded with zeros. The result owns exactly ``ceil(n / 8)`` bytes.
    """
    return torch.from_numpy(np.packbits(mask.numpy(), bitorder="little"))


def _unpack(packed: torch.Tensor, n: int) -> torch.Tensor:
    """Inverse of :func:`_pack`: the first ``n`` bits as bytes 0 or 1 (uint8)."""
    return torch.from_numpy(np.unpackbits(packed.numpy(), count=n, bitorder="little"))


def _draw(input: torch.Tensor, q: float) -> tuple[torch.Tensor, _Geometry]:
    """Draw the keep-mask into a 1-d bool buffer, in the order torch's noise would take.

    torch's noise is ``empty_like(input)``; its strides decide the order in which
    elements take their random numbers, so the mask is drawn through a view of
    the buffer with those strides. Returns the buffer (memory order) and the
    shape and strides of that view.
    """
    geometry = (input.shape, torch.empty_like(input, dtype=torch.bool, device="meta").stride())
    buffer = torch.empty(input.numel(), dtype=torch.bool)
    buffer.as_strided(*geometry).bernoulli_(q)
    return buffer, geometry


def _noise(bits: torch.Tensor, geometry: _Geometry, dtype: torch.dtype, q: float) -> torch.Tensor:
    """Rebuild torch's noise from 0/1 bytes: cast to ``dtype``, then ``div_(1 - p)`` as ATen."""
    return bits.as_strided(*geometry).to(dtype).div_(q)


class _PackedDropout(torch.autograd.Function):
    """Forward: draw a bool mask, keep it packed. Backward: unpack, rebuild the noise."""

    @staticmethod
    def forward(ctx: Any, input: torch.Tensor, p: float) -> torch.Tensor:
        buffer, geometry = _draw(input, 1 - p)
        ctx.geometry, ctx.q = geometry, 1 - p
        ctx.save_for_backward(_pack(buffer))
        noise = _noise(buffer.view(torch.uint8), geometry, input.dtype, ctx.q)
        return noise.mul_(input)  # input * noise, without one more tensor of that size

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        (packed,) = ctx.saved_tensors
        n = ctx.geometry[0].numel()
        noise = _noise(_unpack(packed, n), ctx.geometry, grad_output.dtype, ctx.q)
        return grad_output * noise, None


def packed_dropout(input: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    """Dropout that keeps its mask for backward as bits: ``ceil(n / 8)`` bytes.

    Output, gradient and the generator's state afterwards have the same bits
    as ``torch.nn.functional.dropout`` for the same seed, in every floating
    dtype and memory layout. Double backward works (the mask is a constant).

    Parameters
    ----------
    input : torch.Tensor
        A floating-point tensor on the CPU.
    p : float, default 0.5
        Probability that an element is zeroed.
    training : bool, default True
        Apply dropout if true; otherwise return ``input``.

    Returns
    -------
    torch.Tensor
        The dropped tensor; ``input`` itself in eval mode, for ``p == 0`` or an
        empty input.

    Raises
    ------
    TypeError, ValueError
        As :func:`dropmini.dropout`, before any random number is drawn.
    NotImplementedError
        If ``input`` is not on the CPU (torch's CUDA dropout draws differently).

    Examples
    --------
    >>> import dropmini
    >>> from dropmini.lab.memory import bytes_kept_for_backward
    >>> x = torch.ones(1_000_000, requires_grad=True)
    >>> bytes_kept_for_backward(lambda t: packed_dropout(t, 0.5), x)
    125000
    >>> _ = torch.manual_seed(0); ours = packed_dropout(x, 0.2)
    >>> _ = torch.manual_seed(0); theirs = torch.nn.functional.dropout(x, 0.2)
    >>> dropmini.same_bits(ours, theirs)
    True
    """
    p = check_call("packed_dropout", input, p, training, False)
    if input.device.type != "cpu":
        raise NotImplementedError(
            f"packed_dropout reproduces torch's CPU dropout; got a tensor on {input.device}"
        )
    if p == 0 or not training or input.numel() == 0:
        return input
    if p == 1:
        return input * torch.zeros((), dtype=input.dtype, device=input.device)
    if not (input.requires_grad and torch.is_grad_enabled()):
        buffer, geometry = _draw(input, 1 - p)  # nothing to keep: skip the packing
        return input * _noise(buffer.view(torch.uint8), geometry, input.dtype, 1 - p)
    return _PackedDropout.apply(input, p)


class PackedDropout(DropoutNd):
    """Module form of :func:`packed_dropout`: ``nn.Dropout``'s bits, a 1-bit mask for backward.

    Parameters
    ----------
    p : float, default 0.5
        Probability that an element is zeroed, checked at construction.

    Examples
    --------
    >>> drop = PackedDropout(0.2)
    >>> drop
    PackedDropout(p=0.2)
    >>> _ = torch.manual_seed(0)
    >>> drop(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
    tensor([0.0000, 2.5000, 3.7500, 0.0000, 6.2500])
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__(p, inplace=False)

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return packed_dropout(input, self.p, self.training)
