"""torch.compile's CPU dropout mask: Inductor's Philox4x32-10 rebuilt with numpy.

What TorchInductor (torch 2.13.0, CPU) compiles ``F.dropout(x, p)`` to, read in
the installed torch and checked bit for bit in ``tests/test_philox.py``:

1. The decomposition (``torch/_decomp/decompositions.py``, ``native_dropout``)
   turns dropout into ``keep = rand_like(x) > p`` and ``(keep * x) * (1 / (1 - p))``.
2. ``rand_like`` becomes ``inductor_random`` with one seed per call
   (``torch/_inductor/fx_passes/replace_random.py``). The seeds are drawn when
   the compiled code runs, by ``aten.randint.low_out(-2**63, 2**63 - 1, [k])``
   on the default generator (``torch/_inductor/ir.py``, ``RandomSeeds``), one
   per random op in the graph. On the CPU that takes two 32-bit words of the
   Mersenne Twister per seed, ``a`` (high) then ``b`` (low):
   ``seed = (a * 2**32 + b) % (2**64 - 1) - 2**63``.
3. The generated C++ computes element ``i`` (its position in memory) as
   ``normalized_rand_cpu(seed, i)`` (``include/torch/csrc/inductor/cpp_prefix.h``):
   the first output word of Philox4x32-10 with counter ``(i, 0, 0, 0)`` and key
   ``(seed mod 2**32, 0)`` (``include/ATen/core/PhiloxRNGEngine.h``), turned
   into a float32 by ``(w & 0x7FFFFFFF) * 4.6566127342e-10``.
4. ``p`` and ``1 / (1 - p)`` enter the kernel rounded to the input's dtype.

:func:`compiled_dropout` and :func:`compiled_keep_mask` redo this with numpy and
take the two words from torch's generator without calling a torch random
function, so the generator is left where compiled code leaves it. CUDA takes
another path (Triton's Philox, other offsets); nothing here describes it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import ArrayLike

from dropmini._checks import check_call, check_probability
from dropmini.mt19937 import read_state, write_state

__all__ = [
    "compiled_dropout",
    "compiled_keep_mask",
    "compiled_uniforms",
    "inductor_seed",
    "philox4x32",
    "uniform_float",
]

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)  # the two multipliers
_W0, _W1 = np.uint32(0x9E3779B9), np.uint32(0xBB67AE85)  # the key schedule's increments
_SCALE = np.float32(4.6566127342e-10)  # cpp_prefix.h: largest with (2**31 - 1) * scale < 1
_DTYPES = (torch.float32, torch.float64)


def philox4x32(
    counter: Sequence[ArrayLike], key: Sequence[ArrayLike], rounds: int = 10
) -> np.ndarray:
    """The Philox4x32 block function of Salmon et al. (Random123), vectorised with numpy.

    Each round multiplies two counter words by fixed constants, keeps the high
    and low halves of the 64-bit products and mixes them with the other two
    words and the key; between rounds the key is increased by two constants.
    With ``rounds=10`` this is Philox4x32-10, the generator of torch's
    ``at::Philox4_32``.

    Parameters
    ----------
    counter : sequence of array_like
        The four counter words ``c0 .. c3`` (uint32 values, broadcast together).
    key : sequence of array_like
        The two key words ``k0, k1`` (uint32 values, broadcast with the counter).
    rounds : int, default 10
        Number of rounds, at least 1.

    Returns
    -------
    numpy.ndarray
        uint32 array of shape ``(4, *broadcast_shape)``: the four output words.

    Raises
    ------
    ValueError
        If ``counter`` does not have 4 words, ``key`` 2, a value is outside
        ``[0, 2**32)``, or ``rounds < 1``.

    Examples
    --------
    A known-answer vector of Random123 (``kat_vectors``, philox4x32 10):

    >>> out = philox4x32([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [1, 0])
    >>> [f"{w:08x}" for w in out]
    ['38527b8f', 'fad9a48c', '20e675c0', 'f2fea26a']
    """
    if len(counter) != 4 or len(key) != 2:
        raise ValueError(
            f"philox4x32 takes 4 counter words and 2 key words, got {len(counter)} and {len(key)}"
        )
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds must be a positive int, got {rounds!r}")
    words = []
    for w in (*counter, *key):
        a = np.asarray(w)
        if a.dtype.kind not in "ui" or (a.size and (a.min() < 0 or a.max() > 0xFFFFFFFF)):
            raise ValueError("counter and key words must be integers in [0, 2**32)")
        words.append(a.astype(np.uint32))
    c0, c1, c2, c3, k0, k1 = (np.array(a) for a in np.broadcast_arrays(*words))
    with np.errstate(over="ignore"):  # the key schedule wraps around modulo 2**32
        for r in range(rounds):
            if r:
                k0, k1 = k0 + _W0, k1 + _W1
            p0 = _M0 * c0.astype(np.uint64)
            p1 = _M1 * c2.astype(np.uint64)
            hi0, lo0 = (p0 >> np.uint64(32)).astype(np.uint32), p0.astype(np.uint32)
            hi1, lo1 = (p1 >> np.uint64(32)).astype(np.uint32), p1.astype(np.uint32)
            c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return np.stack([c0, c1, c2, c3])


def uniform_float(words: ArrayLike) -> np.ndarray:
    """Inductor's ``uint32_to_uniform_float``: the low 31 bits of a word, scaled into [0, 1).

    ``(w & 0x7FFFFFFF)`` is rounded to float32 and multiplied by the float32
    ``4.6566127342e-10``, the largest scale for which ``(2**31 - 1) * scale``
    stays below 1 after rounding. The top bit of the word is not used.

    Parameters
    ----------
    words : array_like
        uint32 values.

    Returns
    -------
    numpy.ndarray
        float32 values in [0, 1).

    Examples
    --------
    >>> uniform_float([0, 0x80000000, 0x7FFFFFFF]).tolist()
    [0.0, 0.0, 0.9999999403953552]
    """
    w = np.asarray(words).astype(np.uint32)
    return (w & np.uint32(0x7FFFFFFF)).astype(np.float32) * _SCALE


def inductor_seed() -> int:
    """Draw the seed compiled code draws at each call, from torch's default CPU generator.

    Does what ``aten.randint.low_out(-2**63, 2**63 - 1, [1])`` does in the code
    Inductor generates: takes two 32-bit words ``a`` and ``b`` of the Mersenne
    Twister and returns ``(a * 2**32 + b) % (2**64 - 1) - 2**63``. The words
    are drawn with numpy from the bytes of ``torch.get_rng_state()`` and the
    advanced state is written back; no torch random function is called.

    Returns
    -------
    int
        The seed, an int64 value; Philox uses its low 32 bits as key.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> ours = inductor_seed()
    >>> _ = torch.manual_seed(0)
    >>> ours == torch.randint(-(2**63), 2**63 - 1, (1,)).item()
    True
    """
    state = read_state(torch.get_rng_state())
    bits = state.bit_generator()
    high, low = (int(w) for w in bits.random_raw(2))
    torch.set_rng_state(write_state(state.advanced_to(bits)))
    return (high << 32 | low) % (2**64 - 1) - 2**63


def compiled_uniforms(seed: int, n: int) -> np.ndarray:
    """The float32 numbers compiled ``rand`` gives elements ``0 .. n-1`` for ``seed``.

    Element ``i`` gets ``uniform_float(philox4x32([i, 0, 0, 0], [seed mod 2**32, 0])[0])``,
    as ``normalized_rand_cpu(seed, i)`` in Inductor's C++ prefix. A pure
    function: nothing is drawn from torch's generator.

    Parameters
    ----------
    seed : int
        A seed as :func:`~dropmini.inductor_seed` returns it (any int; its low 32 bits count).
    n : int
        Number of elements, at most ``2**31`` (Inductor's offsets are int32).

    Returns
    -------
    numpy.ndarray
        float32 array of length ``n``, in memory order.

    Raises
    ------
    ValueError
        If ``n`` is negative or above ``2**31``.

    Examples
    --------
    Only the low 32 bits of the seed reach Philox:

    >>> a, b = compiled_uniforms(5, 3), compiled_uniforms(5 - 2**40, 3)
    >>> bool((a == b).all()), a.dtype.name
    (True, 'float32')
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= 2**31:
        raise ValueError(f"n must be an int in [0, 2**31], got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    key = int(seed) & 0xFFFFFFFF
    first = philox4x32([np.arange(n, dtype=np.uint32), 0, 0, 0], [key, 0])[0]
    return uniform_float(first)


def _size(shape: int | Sequence[int]) -> torch.Size:
    size = torch.Size([shape] if isinstance(shape, int) else shape)
    if any(s < 0 for s in size):
        raise ValueError(f"sizes must be non-negative, but got {tuple(size)}")
    return size


def _check_dtype(name: str, dtype: torch.dtype) -> None:
    if dtype not in _DTYPES:
        raise TypeError(
            f"{name} rebuilds Inductor's CPU kernel for float32 and float64 only, "
            f"but got dtype {dtype}"
        )


def _keep(size: torch.Size, strides: Sequence[int], p: float, dtype: torch.dtype, seed: int):
    """The keep-mask with element offsets taken from ``strides`` (a dense layout)."""
    u = compiled_uniforms(seed, math.prod(size))
    threshold = np.float32(p) if dtype == torch.float32 else np.float64(p)
    keep = u.astype(threshold.dtype) > threshold  # float32 u, widened exactly for float64
    return torch.from_numpy(keep).as_strided(size, strides)


def compiled_keep_mask(
    shape: int | Sequence[int],
    p: float,
    dtype: torch.dtype = torch.float32,
    *,
    seed: int | None = None,
) -> torch.Tensor:
    """The keep-mask compiled ``F.dropout`` draws for a contiguous tensor, computed by numpy.

    Draws the seed with :func:`~dropmini.inductor_seed` (two words of the default
    generator), unless ``seed`` is given, and keeps element ``i`` (row-major)
    when its :func:`~dropmini.philox.compiled_uniforms` value exceeds ``p`` rounded to
    ``dtype``. For ``p = 0`` (all kept) and ``p = 1`` (none kept), and for an
    empty shape, compiled dropout draws no seed, and neither does this.

    Parameters
    ----------
    shape : int or sequence of int
        Shape of the mask.
    p : float
        Dropout probability in [0, 1].
    dtype : torch.dtype, default torch.float32
        The input's dtype, float32 or float64: the comparison's precision.
    seed : int, optional
        Use this seed instead of drawing one; the generator is not touched.

    Returns
    -------
    torch.Tensor
        A bool tensor, True where the element is kept.

    Raises
    ------
    TypeError, ValueError
        For a bad ``p``, a negative size or another dtype; nothing is drawn then.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> compiled_keep_mask(8, 0.5).int().tolist()
    [0, 0, 1, 1, 0, 0, 0, 1]
    >>> _ = torch.manual_seed(0)
    >>> key = inductor_seed() % 2**32  # the seed's low 32 bits: the Philox key
    >>> compiled_keep_mask(8, 0.5, seed=key).int().tolist()
    [0, 0, 1, 1, 0, 0, 0, 1]
    """
    p = check_probability(p)
    size = _size(shape)
    _check_dtype("compiled_keep_mask", dtype)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    n = math.prod(size)
    if p == 0 or p == 1 or n == 0:
        return torch.full(size, p == 0, dtype=torch.bool)
    seed = inductor_seed() if seed is None else int(seed)
    return _keep(size, torch.empty(size).stride(), p, dtype, seed)


def compiled_dropout(input: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    """``torch.compile(F.dropout)`` on the CPU (torch 2.13.0's Inductor), bit for bit.

    Element ``i`` of the memory layout ``torch.empty_like(input)`` would have is
    kept when ``compiled_uniforms(seed, n)[i] > p`` (``p`` in ``input``'s dtype),
    with the seed drawn as :func:`~dropmini.inductor_seed` draws it; the output is
    ``(keep * input) * (1 / (1 - p))``, the factor rounded to ``input``'s dtype.
    In evaluation mode or for ``p = 0`` it is a copy of ``input``; for ``p = 1``
    it is all zeros (also where ``input`` is infinite or NaN), and an empty
    input draws nothing.

    Parameters
    ----------
    input : torch.Tensor
        A float32 or float64 tensor (any dtype when no mask is drawn).
    p : float, default 0.5
        Dropout probability in [0, 1].
    training : bool, default True
        False gives a copy of ``input``, as compiled code does.

    Returns
    -------
    torch.Tensor
        A new tensor; ``input`` is not changed.

    Raises
    ------
    TypeError, ValueError
        For a bad argument, or another dtype where a mask would be drawn;
        nothing is drawn then.

    Examples
    --------
    >>> x = torch.arange(1.0, 9.0)
    >>> _ = torch.manual_seed(0)
    >>> compiled_dropout(x, 0.5)
    tensor([ 0.,  0.,  6.,  8.,  0.,  0.,  0., 16.])
    """
    p = check_call("compiled_dropout", input, p, training, False)
    if not training or p == 0:
        return input.clone()
    if p == 1:
        return torch.zeros_like(input)
    _check_dtype("compiled_dropout", input.dtype)
    if input.numel() == 0:
        return torch.empty_like(input)
    out = torch.empty_like(input)  # the layout compiled code writes, and draws offsets in
    keep = _keep(input.shape, out.stride(), p, input.dtype, inductor_seed())
    factor = torch.tensor(1.0 / (1.0 - p), dtype=input.dtype)
    torch.mul(keep.to(input.dtype) * input, factor, out=out)
    return out
