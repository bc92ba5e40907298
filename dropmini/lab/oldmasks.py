"""The dropout masks of torch 2.6 on the CPU: MKL's MCG31m1 and its Bernoulli method, in numpy.

torch 2.6.0's ``bernoulli_(q)`` with a scalar ``q`` (and so its dropout) did not draw from the
Mersenne Twister element by element. Its kernel (``bernoulli_scalar_kernel`` in
``aten/src/ATen/native/cpu/DistributionKernels.cpp``, compiled when torch is built with MKL)
took *one* 32-bit word from the CPU generator as a seed, created an MKL stream
``vslNewStream(&stream, VSL_BRNG_MCG31, seed)`` for each chunk of ``parallel_for`` (grain 800),
moved it to the chunk's first element with ``vslSkipAheadStream`` and filled the chunk with
``viRngBernoulli(VSL_RNG_METHOD_BERNOULLI_ICDF, ...)``. The skip-ahead makes the mask the same
whatever the number of threads.

MCG31m1, as Intel's Vector Statistics notes describe it, is the multiplicative congruential
generator ``x[k+1] = a * x[k] mod m`` with ``a = 1132489760`` and ``m = 2**31 - 1``, started at
``x[0] = seed mod m`` (1 if that is 0), giving ``u[k] = x[k] / m``. What this module adds to
the documentation was measured against torch 2.6.0 (x86-64 Linux wheel, MKL): the first
element uses ``x[0]`` itself, ``u`` is ``x / m`` rounded to a float32, and an element is 1 when
``u < float32(q)``. So ``bernoulli_(1.0)`` gives 0 where ``u`` rounds up to 1.0.

:func:`keep_mask_mkl` draws that mask from torch's current generator state, the way
``dropmini.keep_mask`` draws today's, and leaves the generator one word further on, as torch
2.6.0 did. No torch random function is called.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from dropmini._checks import check_probability
from dropmini.mt19937 import read_state, write_state

__all__ = [
    "GRAIN",
    "MODULUS",
    "MULTIPLIER",
    "bernoulli_icdf",
    "keep_mask_mkl",
    "mcg31",
    "stream_start",
    "uniforms",
]

#: MCG31m1's multiplier ``a``.
MULTIPLIER = 1132489760
#: MCG31m1's modulus ``m = 2**31 - 1`` (a prime).
MODULUS = 2**31 - 1
#: ``parallel_for``'s grain size in torch 2.6's kernel: chunks of at least 800 elements.
GRAIN = 800


def stream_start(word: int) -> int:
    """``x[0]`` of the stream that ``vslNewStream(VSL_BRNG_MCG31, word)`` creates.

    Parameters
    ----------
    word : int
        The 32-bit seed (torch 2.6 passed one Mersenne Twister word).

    Returns
    -------
    int
        ``word mod (2**31 - 1)``, or 1 if that is 0.

    Raises
    ------
    ValueError
        If ``word`` is not in ``[0, 2**32)``.

    Examples
    --------
    >>> stream_start(42), stream_start(0), stream_start(MODULUS), stream_start(MODULUS + 42)
    (42, 1, 1, 42)
    """
    if not 0 <= word < 2**32:
        raise ValueError(f"a seed word must be in [0, 2**32), but got {word}")
    return word % MODULUS or 1


def mcg31(word: int, n: int, skip: int = 0) -> np.ndarray:
    """The states ``x[skip], ..., x[skip + n - 1]`` of MCG31m1 seeded with ``word``.

    ``x[k] = a**k * x[0] mod m``, so skipping ahead (``vslSkipAheadStream``) costs one
    modular power, whatever ``skip`` is.

    Parameters
    ----------
    word : int
        The 32-bit seed.
    n : int
        How many states (non-negative).
    skip : int, optional
        Index of the first state returned (non-negative).

    Returns
    -------
    numpy.ndarray
        ``n`` uint64 values in ``[1, m)``.

    Raises
    ------
    ValueError
        If ``n`` or ``skip`` is negative or ``word`` is not a 32-bit word.

    Examples
    --------
    >>> mcg31(1, 3).tolist()
    [1, 1132489760, 826537482]
    >>> bool((mcg31(42, 5, skip=800) == mcg31(42, 805)[800:]).all())
    True
    """
    if n < 0 or skip < 0:
        raise ValueError(f"mcg31: n and skip must be non-negative, but got n={n}, skip={skip}")
    x = np.empty(n, dtype=np.uint64)
    if n == 0:
        return x
    x[0] = stream_start(word) * pow(MULTIPLIER, skip, MODULUS) % MODULUS
    done = 1
    while done < n:  # doubling: x[done + i] = a**done * x[i]; products stay below 2**62
        size = min(done, n - done)
        step = np.uint64(pow(MULTIPLIER, done, MODULUS))
        x[done : done + size] = x[:size] * step % np.uint64(MODULUS)
        done += size
    return x


def uniforms(word: int, n: int, skip: int = 0) -> np.ndarray:
    """The uniform numbers the Bernoulli method compares: ``x / m`` rounded to float32.

    Parameters
    ----------
    word : int
        The 32-bit seed.
    n : int
        How many numbers.
    skip : int, optional
        Index of the first one.

    Returns
    -------
    numpy.ndarray
        ``n`` float32 values in ``(0, 1]``: a few ``x`` close to ``m`` round to 1.0.

    Examples
    --------
    >>> uniforms(MODULUS - 1, 1).tolist()  # x[0] = m - 1 rounds to 1.0 in float32
    [1.0]
    """
    return (mcg31(word, n, skip).astype(np.float64) / MODULUS).astype(np.float32)


def bernoulli_icdf(word: int, n: int, q: float, skip: int = 0) -> np.ndarray:
    """``viRngBernoulli(VSL_RNG_METHOD_BERNOULLI_ICDF)`` on MCG31m1: 1 where ``u < float32(q)``.

    Parameters
    ----------
    word : int
        The 32-bit seed.
    n : int
        How many values.
    q : float
        Success (keep) probability in [0, 1].
    skip : int, optional
        Index of the first value, as after ``vslSkipAheadStream(stream, skip)``.

    Returns
    -------
    numpy.ndarray
        ``n`` bools.

    Raises
    ------
    ValueError
        If ``q`` is outside [0, 1] or NaN.

    Examples
    --------
    >>> bernoulli_icdf(42, 8, 0.5).astype(int).tolist()
    [1, 1, 1, 0, 1, 1, 0, 0]
    >>> chunks = np.concatenate([bernoulli_icdf(42, 800, 0.5, skip=s) for s in (0, 800, 1600)])
    >>> bool((chunks == bernoulli_icdf(42, 2400, 0.5)).all())  # the chunking does not matter
    True
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"bernoulli_icdf: q must be in [0, 1], but got {q}")
    return uniforms(word, n, skip) < np.float32(q)


def keep_mask_mkl(shape: int | Sequence[int], p: float) -> torch.Tensor:
    """The keep-mask torch 2.6.0's ``torch.empty(shape).bernoulli_(1 - p)`` drew, by numpy.

    Reads torch's CPU generator state, takes the next Mersenne Twister word as the MKL
    seed, draws the mask with :func:`bernoulli_icdf` in row-major order and sets the
    generator one word further on (an empty shape takes no word, as in torch 2.6.0).
    Under torch 2.6.0 (with MKL) this is what dropout drew; under today's torch it is
    only a rebuild: ``dropmini.keep_mask`` is what dropout draws.

    Parameters
    ----------
    shape : int or sequence of int
        Shape of the mask.
    p : float
        Dropout probability in [0, 1]; the keep probability is ``1 - p``.

    Returns
    -------
    torch.Tensor
        A bool tensor: True where the element is kept.

    Raises
    ------
    TypeError, ValueError
        If ``p`` is not a real number in [0, 1] or a size is negative; nothing is
        drawn then.

    Examples
    --------
    >>> _ = torch.manual_seed(42)
    >>> keep_mask_mkl(4, 0.5).int().tolist()  # torch 2.6.0's dropout kept these (recorded)
    [0, 0, 1, 1]
    >>> int(read_state(torch.get_rng_state()).next)  # one word taken
    1
    """
    q = 1 - check_probability(p)
    size = torch.Size([shape] if isinstance(shape, int) else shape)
    if any(s < 0 for s in size):
        raise ValueError(f"keep_mask_mkl: sizes must be non-negative, but got {tuple(size)}")
    n = math.prod(size)
    if n == 0:
        return torch.zeros(size, dtype=torch.bool)
    state = read_state(torch.get_rng_state())
    bits = state.bit_generator()
    word = int(bits.random_raw(1)[0])
    keep = bernoulli_icdf(word, n, q)
    torch.set_rng_state(write_state(state.advanced_to(bits)))
    return torch.from_numpy(keep).reshape(size)
