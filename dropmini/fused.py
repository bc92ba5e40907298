"""Dropout with torch's bits, drawn by a compiled Mersenne Twister: no ``bernoulli_``.

torch's CPU dropout spends most of its time in ``bernoulli_``: one element at a
time, two generator words, a double, a compare (see :mod:`dropmini.mt19937`).
:func:`fused_dropout` reads the 624 words of the default generator, and a
numba kernel, serial because the Mersenne Twister is, regenerates (twists) and
tempers them block by block and turns each pair into a keep bit with one
integer compare, ``r < ceil((1 - p) * 2**53)`` (:func:`keep_threshold`). A
second pass, which numba may spread over several threads, multiplies the input
by ``1 / (1 - p)`` or 0 according to the bits. The advanced state is written
back, so output, gradient and the generator's state afterwards are torch's to
the bit. The bits are what backward keeps: one bit per element, as
:func:`dropmini.packed_dropout`.

numba is imported on the first call, never by ``import dropmini``; the compiled
kernels are cached on disk (``__pycache__`` next to this file, or numba's user
cache when that is not writable, e.g. ``NUMBA_CACHE_DIR``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from dropmini._checks import check_call, check_probability
from dropmini.modules import DropoutNd
from dropmini.mt19937 import read_state, write_state
from dropmini.packed import _noise, _unpack

__all__ = ["CHUNK", "FusedDropout", "fused_dropout", "keep_threshold"]

#: Elements per block of generated words (2 words each: 16 KiB of uint32); a multiple of 8.
CHUNK = 2048
#: Dtypes whose scale and multiply the numba pass computes (the others use torch's ops).
_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}
_MISSING = (
    "dropmini.fused_dropout compiles its kernel with numba, which is not installed: "
    "pip install numba (or pip install 'dropmini[fused]')"
)


def keep_threshold(p: float) -> int:
    """The integer ``t`` with ``u < 1 - p`` exactly when ``r < t``, for torch's ``u = r * 2**-53``.

    ``bernoulli_(q)`` keeps an element when its double ``u = r / 2**53`` (``r`` a
    53-bit integer) is below ``q = 1 - p`` (computed in double precision, as
    torch does). For an integer ``r``, ``r / 2**53 < q`` is ``r < q * 2**53``,
    which is ``r < ceil(q * 2**53)``; ``q * 2**53`` is computed exactly, as a
    fraction.

    Parameters
    ----------
    p : float
        Dropout probability in [0, 1].

    Returns
    -------
    int
        ``ceil((1 - p) * 2**53)``, from 0 (``p == 1``: nothing kept) to
        ``2**53`` (every ``r`` kept).

    Examples
    --------
    >>> keep_threshold(0.5) == 2**52
    True
    >>> keep_threshold(1.0), keep_threshold(math.nextafter(1.0, 0.0))   # q = 0, q = 2**-53
    (0, 1)
    >>> keep_threshold(math.nextafter(0.0, 1.0)) == 2**53              # 1 - 5e-324 == 1.0
    True
    """
    return _threshold(1.0 - check_probability(p))


@functools.lru_cache(maxsize=256)
def _threshold(q: float) -> int:
    """``ceil(q * 2**53)``, exactly (Fraction), kept for the ``q`` seen last."""
    return math.ceil(Fraction(q) * 2**53)


# The kernels are plain functions here and compiled by numba on first use (_kernels),
# so that importing this module does not import numba. Integers are int64 throughout:
# the words are below 2**32 and the 53-bit values below 2**53.


def _draw_bits(
    mt: np.ndarray, nxt: int, left: int, threshold: int, n: int, bits: np.ndarray
) -> tuple[int, int]:
    """Draw ``n`` keep bits from the state ``mt`` (624 uint32, changed in place).

    Follows torch's ``mt19937::operator()``: a word is ``mt[nxt]`` after
    ``left`` is decremented, and when ``left`` reaches 0 the 624 words are
    regenerated first. Words go, tempered, into a block buffer of ``2 * CHUNK``;
    then each pair (first word high) becomes ``r``, its low 53 bits, and bit
    ``k`` of ``bits[j]`` is ``r < threshold`` for element ``8 j + k``. Returns
    the new ``(next, left)``.
    """
    buf = np.empty(2 * CHUNK, dtype=np.uint32)
    pairs = buf.view(np.int64)  # little-endian: element e's words are its low, then high half
    keep = np.empty(CHUNK, dtype=np.uint8)
    octets = keep.view(np.int64)
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        need = 2 * m
        k = 0
        while k < need:
            if left == 1:  # no word left: twist, as torch's next_state()
                for i in range(227):
                    y = (np.int64(mt[i]) & 0x80000000) | (np.int64(mt[i + 1]) & 0x7FFFFFFF)
                    mt[i] = np.int64(mt[i + 397]) ^ (y >> 1) ^ ((y & 1) * 0x9908B0DF)
                for i in range(227, 623):
                    y = (np.int64(mt[i]) & 0x80000000) | (np.int64(mt[i + 1]) & 0x7FFFFFFF)
                    mt[i] = np.int64(mt[i - 227]) ^ (y >> 1) ^ ((y & 1) * 0x9908B0DF)
                y = (np.int64(mt[623]) & 0x80000000) | (np.int64(mt[0]) & 0x7FFFFFFF)
                mt[623] = np.int64(mt[396]) ^ (y >> 1) ^ ((y & 1) * 0x9908B0DF)
                left = 625
                nxt = 0
            t = min(left - 1, need - k)
            words = mt[nxt : nxt + t]  # slices, not mt[nxt + j]: the loop then vectorises
            out = buf[k : k + t]
            for j in range(t):  # temper
                y = np.int64(words[j])
                y ^= y >> 11
                y ^= (y << 7) & 0x9D2C5680
                y ^= (y << 15) & 0xEFC60000
                y ^= y >> 18
                out[j] = y
            nxt += t
            left -= t
            k += t
        # Threshold: the pair's 64-bit view is (second << 32) | first; r is the low 53 bits
        # of (first << 32) | second. One byte 0/1 per element, then eight bytes to a bit byte.
        for e in range(m):
            w = pairs[e]
            r = ((w << 32) & 0x1FFFFF00000000) | ((w >> 32) & 0xFFFFFFFF)
            keep[e] = r < threshold
        nbytes = (m + 7) // 8
        for e in range(m, 8 * nbytes):
            keep[e] = 0
        base = start // 8
        for b in range(nbytes):  # bit j of the product's top byte is byte j of the word
            bits[base + b] = (np.uint64(octets[b]) * np.uint64(0x0102040810204080)) >> np.uint64(56)
    return nxt, left


def _scale_by_bits(src: np.ndarray, dst: np.ndarray, bits: np.ndarray, scale: Any) -> None:
    """``dst[i] = src[i] * (scale if bit i else 0)`` in the arrays' dtype; one thread.

    Eight elements per byte of ``bits``, unrolled: the compiler vectorises it.
    """
    n = src.shape[0]
    zero = scale * 0
    full = n // 8
    for b in range(full):
        byte = bits[b]
        for j in range(8):
            dst[8 * b + j] = src[8 * b + j] * (scale if (byte >> j) & 1 else zero)
    for i in range(8 * full, n):
        dst[i] = src[i] * (scale if (bits[i >> 3] >> (i & 7)) & 1 else zero)


def _scale_by_bits_parallel(src: np.ndarray, dst: np.ndarray, bits: np.ndarray, scale: Any) -> None:
    """:func:`_scale_by_bits` with its loop over bytes split between numba's threads."""
    n = src.shape[0]
    zero = scale * 0
    full = n // 8
    for b in _prange(full):
        byte = bits[b]
        for j in range(8):
            dst[8 * b + j] = src[8 * b + j] * (scale if (byte >> j) & 1 else zero)
    for i in range(8 * full, n):
        dst[i] = src[i] * (scale if (bits[i >> 3] >> (i & 7)) & 1 else zero)


_prange = range  # numba.prange once numba is imported (see _kernels)
#: Elements from which the multiply pass runs on numba's threads (below, threads cost more).
PARALLEL_MIN = 2**18


def _compile(numba: Any, fn: Any, **options: Any) -> Any:
    """``numba.njit(cache=True)``, or without the disk cache if numba finds nowhere to write it."""
    try:
        return numba.njit(cache=True, **options)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(**options)(fn)


@functools.cache
def _kernels() -> SimpleNamespace:
    """Import numba and compile the kernels (first call only; later calls are cached)."""
    try:
        import numba
    except ImportError as error:
        raise ImportError(_MISSING) from error
    global _prange
    _prange = numba.prange
    return SimpleNamespace(
        numba=numba,
        draw_bits=_compile(numba, _draw_bits, nogil=True),
        scale_by_bits=_compile(numba, _scale_by_bits, nogil=True),
        scale_by_bits_parallel=_compile(numba, _scale_by_bits_parallel, parallel=True, nogil=True),
    )


def _flat(t: torch.Tensor) -> np.ndarray:
    """The ``numel`` elements of a dense tensor, in memory order, as a writable numpy view."""
    return t.detach().as_strided((t.numel(),), (1,)).numpy()


def _draw(input: torch.Tensor, p: float) -> tuple[np.ndarray, tuple[torch.Size, tuple[int, ...]]]:
    """Draw the keep bits for ``input`` from the default generator and advance it as torch would.

    Returns the packed bits (memory order of torch's noise, ``empty_like(input)``)
    and that noise's shape and strides.
    """
    geometry = (input.shape, torch.empty_like(input, device="meta").stride())
    n = input.numel()
    bits = np.empty((n + 7) // 8, dtype=np.uint8)
    state = read_state(torch.get_rng_state())
    words = state.words.copy()
    nxt, left = _kernels().draw_bits(words, state.next, state.left, keep_threshold(p), n, bits)
    torch.set_rng_state(write_state(replace(state, next=nxt, left=left, words=words)))
    return bits, geometry


@functools.lru_cache(maxsize=64)
def _scale(dtype: torch.dtype, q: float) -> Any:
    """The kept elements' noise value ``1 / q`` as torch's ``div_`` rounds it, as a numpy scalar."""
    return _NUMPY_DTYPES[dtype](torch.ones(1, dtype=dtype).div_(q).item())


def _scale_pass(src: np.ndarray, dst: np.ndarray, bits: np.ndarray, scale: Any) -> None:
    """Run the multiply pass, on numba's threads for large arrays when it has more than one."""
    kernels = _kernels()
    if src.shape[0] >= PARALLEL_MIN and kernels.numba.get_num_threads() > 1:
        kernels.scale_by_bits_parallel(src, dst, bits, scale)
    else:
        kernels.scale_by_bits(src, dst, bits, scale)


def _empty_product(input: torch.Tensor) -> torch.Tensor:
    """An empty tensor with the strides torch gives ``input * noise`` when both have the same.

    TensorIterator's fast set-up, for operands of one shape and strides: contiguous
    when they are, else channels-last when they are (4-d), else the input's strides.
    The memory order, which the flat pass relies on, is the input's in every case.
    """
    if input.is_contiguous():
        return torch.empty(input.shape, dtype=input.dtype)
    if input.dim() == 4 and input.is_contiguous(memory_format=torch.channels_last):
        return torch.empty(input.shape, dtype=input.dtype, memory_format=torch.channels_last)
    return torch.empty_strided(input.shape, input.stride(), dtype=input.dtype)


def _multiply(
    input: torch.Tensor,
    bits: np.ndarray,
    geometry: tuple[torch.Size, tuple[int, ...]],
    q: float,
    inplace: bool,
) -> torch.Tensor:
    """``input * noise`` (or ``input.mul_(noise)``) for the noise the bits stand for."""
    if input.dtype in _NUMPY_DTYPES and tuple(input.stride()) == geometry[1]:
        # Dense: the input's memory order is the noise's, so one flat pass does it.
        out = input if inplace else _empty_product(input)
        _scale_pass(_flat(input), _flat(out), bits, _scale(input.dtype, q))
        if inplace:
            torch.autograd.graph.increment_version(input)
        return out
    noise = _noise(_unpack(torch.from_numpy(bits), input.numel()), geometry, input.dtype, q)
    return input.mul_(noise) if inplace else input * noise


class _FusedDropout(torch.autograd.Function):
    """Forward: draw bits, multiply. Backward: the same multiply on the gradient."""

    @staticmethod
    def forward(ctx: Any, input: torch.Tensor, p: float, inplace: bool) -> torch.Tensor:
        bits, geometry = _draw(input, p)
        ctx.geometry, ctx.q = geometry, 1 - p
        packed = torch.from_numpy(bits)
        ctx.save_for_backward(packed)
        out = _multiply(input, bits, geometry, 1 - p, inplace)
        if inplace:
            ctx.mark_dirty(input)
        return out

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (packed,) = ctx.saved_tensors
        shape, stride = ctx.geometry
        dense = grad_output.dtype in _NUMPY_DTYPES and tuple(grad_output.stride()) == stride
        if dense and not torch.is_grad_enabled():  # no double backward: the numba pass
            grad = torch.empty_strided(shape, stride, dtype=grad_output.dtype)
            scale = _scale(grad_output.dtype, ctx.q)
            _scale_pass(_flat(grad_output), _flat(grad), packed.numpy(), scale)
            return grad, None, None
        noise = _noise(_unpack(packed, shape.numel()), ctx.geometry, grad_output.dtype, ctx.q)
        # grad * noise, in that order and out of place, as torch's MulBackward0: the layout
        # decides which kernel runs, and with it the bits of a NaN in float16 and bfloat16.
        return grad_output * noise, None, None


def fused_dropout(
    input: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> torch.Tensor:
    """Dropout with torch's bits, its mask drawn by a compiled Mersenne Twister; 1 bit kept.

    Output, gradient and the generator's state afterwards have the same bits
    as ``torch.nn.functional.dropout`` for the same seed, in every floating
    dtype and memory layout, but torch's ``bernoulli_`` is never called: the
    mask comes from the default generator's words, generated by a numba kernel
    (see the module's description). float32 and float64 inputs whose memory
    order is the noise's (every dense input) are scaled and multiplied by numba
    too; other inputs (float16, bfloat16, non-dense views) by torch's own
    ``div_`` and ``mul``, from the same bits. Backward keeps the mask as bits,
    ``ceil(n / 8)`` bytes; double backward works.

    Parameters
    ----------
    input : torch.Tensor
        A floating-point tensor on the CPU.
    p : float, default 0.5
        Probability that an element is zeroed.
    training : bool, default True
        Apply dropout if true; otherwise return ``input``.
    inplace : bool, default False
        Overwrite ``input`` with the result and return it.

    Returns
    -------
    torch.Tensor
        The dropped tensor; ``input`` itself when ``inplace`` is true, in eval
        mode, for ``p == 0`` or an empty input.

    Raises
    ------
    TypeError, ValueError, RuntimeError
        As :func:`dropmini.dropout`, before any random number is drawn.
    NotImplementedError
        If ``input`` is not on the CPU.
    ImportError
        If numba is not installed (``pip install numba``).

    Examples
    --------
    >>> import dropmini
    >>> from dropmini.lab.memory import bytes_kept_for_backward
    >>> x = torch.ones(1_000_000, requires_grad=True)
    >>> bytes_kept_for_backward(lambda t: fused_dropout(t, 0.5), x)
    125000
    >>> _ = torch.manual_seed(0); ours = fused_dropout(x, 0.2); after = torch.get_rng_state()
    >>> _ = torch.manual_seed(0); theirs = torch.nn.functional.dropout(x, 0.2)
    >>> dropmini.same_bits(ours, theirs), torch.equal(after, torch.get_rng_state())
    (True, True)
    """
    p = check_call("fused_dropout", input, p, training, inplace)
    if input.device.type != "cpu":
        raise NotImplementedError(
            f"fused_dropout reproduces torch's CPU dropout; got a tensor on {input.device}"
        )
    _kernels()  # numba is needed: fail at the first call, whatever the arguments
    if p == 0 or not training or input.numel() == 0:
        return input
    if p == 1:
        zero = torch.zeros((), dtype=input.dtype, device=input.device)
        return input.mul_(zero) if inplace else input * zero
    if input.requires_grad and torch.is_grad_enabled():
        return _FusedDropout.apply(input, p, bool(inplace))
    bits, geometry = _draw(input, p)
    return _multiply(input, bits, geometry, 1 - p, bool(inplace))


class FusedDropout(DropoutNd):
    """Module form of :func:`fused_dropout`: ``nn.Dropout``'s bits from a compiled generator.

    Parameters
    ----------
    p : float, default 0.5
        Probability that an element is zeroed, checked at construction.
    inplace : bool, default False
        Overwrite the input with the result.

    Examples
    --------
    >>> drop = FusedDropout(0.2)
    >>> drop
    FusedDropout(p=0.2, inplace=False)
    >>> _ = torch.manual_seed(0)
    >>> drop(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
    tensor([0.0000, 2.5000, 3.7500, 0.0000, 6.2500])
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return fused_dropout(input, self.p, self.training, self.inplace)
