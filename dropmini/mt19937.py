"""Where a CPU dropout mask comes from: torch's Mersenne Twister, rebuilt with numpy.

On the CPU, ``torch.manual_seed(s)`` seeds a 32-bit Mersenne Twister
(mt19937) with the low 32 bits of ``s``. ``bernoulli_(q)`` then takes, for
every element in memory order, two 32-bit words ``a`` (high) and ``b`` (low),
keeps the low 53 bits of ``a * 2**32 + b`` as a double
``u = (r & (2**53 - 1)) * 2**-53`` and keeps the element when ``u < q``. It
does so for every ``q``, even 0 and 1, and whatever the tensor's dtype
(bool included).

:func:`keep_mask` redoes this with numpy's ``MT19937`` bit generator, set
from the bytes of ``torch.get_rng_state()``, and writes the advanced state
back, so the random stream continues exactly as after torch's own draw. It
never calls torch's random functions.

The state (5,056 bytes) is torch's ``CPUGeneratorImplState``: the seed
(u64), ``left`` (i32), ``seeded`` (i32), ``next`` (u64), the 624 words of
mt19937 stored as u64, then 40 bytes that cache normal samples for
``randn``/``normal_``, which :func:`keep_mask` leaves as they were.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from dropmini._checks import check_probability

__all__ = [
    "STATE_BYTES",
    "WORDS",
    "GeneratorState",
    "keep_mask",
    "read_state",
    "seed_words",
    "uniform53",
    "write_state",
]

#: Number of 32-bit words in the Mersenne Twister's state.
WORDS = 624
#: Size of ``torch.get_rng_state()`` for the CPU generator.
STATE_BYTES = 5056
_HEADER = struct.Struct("<QiiQ")  # seed, left, seeded, next
_WORDS_END = _HEADER.size + 8 * WORDS  # 5,016: the tail holds the cached normal samples
_LOW_53 = np.uint64(2**53 - 1)


@dataclass(frozen=True)
class GeneratorState:
    """The fields of torch's CPU generator state (``torch.get_rng_state()``).

    Attributes
    ----------
    seed : int
        The seed last given to ``manual_seed`` (all 64 bits; mt19937 uses the low 32).
    left : int
        One more than the number of words still unused in ``words``; 1 means the
        next draw first regenerates all 624 words.
    seeded : int
        1 once the generator has been seeded.
    next : int
        Index in ``words`` of the next word to use.
    words : numpy.ndarray
        The 624 state words of mt19937 (uint32; torch stores each in 8 bytes).
    rest : bytes
        The last 40 bytes: normal samples cached by ``randn`` and ``normal_``.

    Examples
    --------
    >>> _ = torch.manual_seed(7)
    >>> state = read_state(torch.get_rng_state())
    >>> state.seed, state.left, state.next, int(state.words[0]), state.position
    (7, 1, 0, 7, 624)
    """

    seed: int
    left: int
    seeded: int
    next: int
    words: np.ndarray = field(repr=False)
    rest: bytes = field(repr=False)

    @property
    def position(self) -> int:
        """Index of the next word as numpy's ``MT19937`` counts it (624: regenerate first)."""
        return WORDS + 1 - self.left

    def bit_generator(self) -> np.random.MT19937:
        """A numpy ``MT19937`` bit generator that will produce the same words as torch."""
        bits = np.random.MT19937()
        bits.state = {
            "bit_generator": "MT19937",
            "state": {"key": self.words.astype(np.uint32), "pos": self.position},
        }
        return bits

    def advanced_to(self, bits: np.random.MT19937) -> GeneratorState:
        """Return this state with the words and position of ``bits``; seed and tail unchanged."""
        inner = bits.state["state"]
        pos = int(inner["pos"])
        return replace(
            self, left=WORDS + 1 - pos, next=pos, words=np.array(inner["key"], dtype=np.uint32)
        )


def read_state(state: torch.Tensor | bytes) -> GeneratorState:
    """Split the 5,056 bytes of torch's CPU generator state into its fields.

    Parameters
    ----------
    state : torch.Tensor or bytes
        ``torch.get_rng_state()`` (a uint8 tensor) or its bytes.

    Returns
    -------
    GeneratorState
        The fields; :func:`write_state` turns them back into the same bytes.

    Raises
    ------
    ValueError
        If ``state`` is not 5,056 bytes long.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> read_state(torch.get_rng_state())
    GeneratorState(seed=0, left=1, seeded=1, next=0)
    """
    raw = state.numpy().tobytes() if isinstance(state, torch.Tensor) else bytes(state)
    if len(raw) != STATE_BYTES:
        raise ValueError(f"a CPU generator state has {STATE_BYTES} bytes, but got {len(raw)}")
    seed, left, seeded, next_ = _HEADER.unpack_from(raw)
    words = np.frombuffer(raw, dtype="<u8", count=WORDS, offset=_HEADER.size).astype(np.uint32)
    return GeneratorState(seed, left, seeded, next_, words, raw[_WORDS_END:])


def write_state(state: GeneratorState) -> torch.Tensor:
    """Pack a :class:`GeneratorState` into the uint8 tensor ``torch.set_rng_state`` takes.

    Parameters
    ----------
    state : GeneratorState
        The fields, e.g. from :func:`read_state`.

    Returns
    -------
    torch.Tensor
        5,056 bytes (uint8).

    Examples
    --------
    >>> _ = torch.manual_seed(3)
    >>> torch.equal(write_state(read_state(torch.get_rng_state())), torch.get_rng_state())
    True
    """
    header = _HEADER.pack(state.seed, state.left, state.seeded, state.next)
    words = np.asarray(state.words, dtype=np.uint32).astype("<u8").tobytes()
    raw = header + words + state.rest
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8)


def seed_words(seed: int) -> np.ndarray:
    """The 624 words ``torch.manual_seed(seed)`` puts in the state (mt19937's ``init_genrand``).

    ``w[0]`` is the low 32 bits of the seed and
    ``w[i] = 1812433253 * (w[i-1] ^ (w[i-1] >> 30)) + i`` modulo ``2**32``.

    Parameters
    ----------
    seed : int
        A non-negative seed; only its low 32 bits matter.

    Returns
    -------
    numpy.ndarray
        624 uint32 words.

    Examples
    --------
    >>> _ = torch.manual_seed(42)
    >>> bool((seed_words(42) == read_state(torch.get_rng_state()).words).all())
    True
    """
    words = np.empty(WORDS, dtype=np.uint32)
    word = seed & 0xFFFFFFFF
    for i in range(WORDS):
        words[i] = word
        word = (1812433253 * (word ^ (word >> 30)) + i + 1) & 0xFFFFFFFF
    return words


def uniform53(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """The doubles in [0, 1) that torch makes of word pairs: low 53 bits of ``high:low``, / 2**53.

    Parameters
    ----------
    high, low : numpy.ndarray
        The first and the second 32-bit word of each pair (any unsigned integer dtype).

    Returns
    -------
    numpy.ndarray
        float64 values; exact, since every 53-bit integer is a double.

    Examples
    --------
    >>> uniform53(np.array([0, 2**21 + 1]), np.array([1, 0])) * 2.0**53
    array([1.0000000e+00, 4.2949673e+09])
    """
    r = (np.asarray(high, dtype=np.uint64) << np.uint64(32)) | np.asarray(low, dtype=np.uint64)
    return (r & _LOW_53).astype(np.float64) * 2.0**-53


def keep_mask(shape: int | Sequence[int], p: float) -> torch.Tensor:
    """The keep-mask ``torch.empty(shape).bernoulli_(1 - p)`` would draw now, computed by numpy.

    Reads the CPU generator's state, draws two words per element with numpy's
    ``MT19937``, keeps an element when its 53-bit double is below ``1 - p``, and
    sets the generator to where ``bernoulli_`` would leave it (same bytes, the
    cached normal samples included). No torch random function is called.

    Parameters
    ----------
    shape : int or sequence of int
        Shape of the mask; elements are drawn in row-major order.
    p : float
        Dropout probability in [0, 1]; the keep probability is ``1 - p``.

    Returns
    -------
    torch.Tensor
        A bool tensor: True where the element is kept.

    Raises
    ------
    TypeError, ValueError
        If ``p`` is not a real number in [0, 1] or ``shape`` has a negative
        size; nothing is drawn then.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> ours = keep_mask((2, 5), 0.5)
    >>> _ = torch.manual_seed(0)
    >>> torch.equal(ours, torch.empty(2, 5).bernoulli_(0.5).bool())
    True
    """
    q = 1 - check_probability(p)
    size = torch.Size([shape] if isinstance(shape, int) else shape)
    if any(s < 0 for s in size):
        raise ValueError(f"keep_mask: sizes must be non-negative, but got {tuple(size)}")
    n = math.prod(size)
    if n == 0:
        return torch.zeros(size, dtype=torch.bool)
    state = read_state(torch.get_rng_state())
    bits = state.bit_generator()
    words = bits.random_raw(2 * n)  # one 32-bit word per value
    keep = uniform53(words[0::2], words[1::2]) < q
    torch.set_rng_state(write_state(state.advanced_to(bits)))
    return torch.from_numpy(keep).reshape(size)
