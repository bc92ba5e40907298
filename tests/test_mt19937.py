"""keep_mask: torch's CPU Bernoulli mask rebuilt with numpy's Mersenne Twister, state included."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dropmini.mt19937 import (
    STATE_BYTES,
    GeneratorState,
    keep_mask,
    read_state,
    seed_words,
    uniform53,
    write_state,
)

#: Sizes around the 624-word blocks: each element takes two words, so 312 elements fill one.
SHAPES = [311, 312, 313, 623, 624, 625, 1247, 1248, 1249, 0, (), (3, 0), (17, 19)]
TINY = math.nextafter(0.0, 1.0)
#: p = 0 and 1, their neighbours, and values whose 1 - p is and is not exact.
PS = [0.0, TINY, 0.2, 0.5, 1 / 3, math.nextafter(1.0, 0.0), 1.0]

#: Draws of every kind that may come before a mask; randn of an odd count caches a normal.
EARLIER = {
    "nothing": lambda: None,
    "rand(5)": lambda: torch.rand(5),
    "randn(3)": lambda: torch.randn(3),
    "randn(4)": lambda: torch.randn(4),
    "randn(17)": lambda: torch.randn(17),
    "randn(3) float64": lambda: torch.randn(3, dtype=torch.float64),
    "randint(7)": lambda: torch.randint(0, 10, (7,)),
    "bernoulli(9)": lambda: torch.empty(9).bernoulli_(0.3),
    "keep_mask(9)": lambda: keep_mask(9, 0.3),
    "dropout(700)": lambda: F.dropout(torch.ones(700), 0.5),
}


def draw_both(shape, p, seed, earlier="nothing"):
    """(keep_mask's mask, state after, next draws) and the same for torch's bernoulli_."""
    results = []
    for draw in (lambda: keep_mask(shape, p), lambda: torch.empty(shape).bernoulli_(1 - p).bool()):
        torch.manual_seed(seed)
        EARLIER[earlier]()
        mask = draw()
        state = torch.get_rng_state()
        later = (torch.randn(3), torch.rand(3), torch.randint(0, 2**31, (3,)))
        results.append((mask, state, later))
    return results


def assert_same(ours, theirs):
    (m1, s1, later1), (m2, s2, later2) = ours, theirs
    assert m1.dtype == torch.bool and m1.shape == m2.shape
    assert torch.equal(m1, m2), f"masks differ at {int((m1 != m2).sum())} elements"
    assert torch.equal(s1, s2), "torch.get_rng_state() differs after the mask"
    assert all(torch.equal(a, b) for a, b in zip(later1, later2, strict=True))


def _id(value):
    if isinstance(value, float):
        return {TINY: "p=tiny", math.nextafter(1.0, 0.0): "p=1-ulp", 1 / 3: "p=1/3"}.get(
            value, f"p={value}"
        )
    return f"shape={value}"


@pytest.mark.parametrize("p", PS, ids=_id)
@pytest.mark.parametrize("shape", SHAPES, ids=_id)
def test_keep_mask_equals_bernoulli(shape, p):
    seed = len(str(shape)) * 7 + PS.index(p)  # a different seed for many cases
    assert_same(*draw_both(shape, p, seed))


@pytest.mark.parametrize("shape", [1, 311, 312, 625, (17, 19)], ids=_id)
@pytest.mark.parametrize("earlier", list(EARLIER))
def test_keep_mask_after_earlier_draws(earlier, shape):
    assert_same(*draw_both(shape, 0.3, seed=2024, earlier=earlier))


@pytest.mark.parametrize("seed", [0, 1, 42, 2**32 - 1, 2**32 + 5, 2**63 - 1])
def test_large_masks_over_seeds(seed):
    assert_same(*draw_both(100_003, 0.1, seed))


def test_state_layout_round_trips_and_matches_the_seed():
    for seed in (0, 5, 2**40 + 3):
        torch.manual_seed(seed)
        state = read_state(torch.get_rng_state())
        assert (state.seed, state.left, state.seeded, state.next) == (seed, 1, 1, 0)
        assert np.array_equal(state.words, seed_words(seed))
    for earlier in EARLIER.values():
        torch.manual_seed(9)
        earlier()
        raw = torch.get_rng_state()
        assert len(raw) == STATE_BYTES
        assert torch.equal(write_state(read_state(raw)), raw)
        assert torch.equal(write_state(read_state(raw.numpy().tobytes())), raw)


def test_left_and_next_count_words_used():
    torch.manual_seed(0)
    torch.empty(10).bernoulli_(0.5)  # 20 words
    state = read_state(torch.get_rng_state())
    assert (state.left, state.next, state.position) == (605, 20, 20)


def test_randn_cache_lives_in_the_tail_and_survives():
    torch.manual_seed(0)
    torch.randn(3)  # odd count: one normal sample is cached
    tail = read_state(torch.get_rng_state()).rest
    assert any(tail)
    keep_mask(100, 0.5)
    assert read_state(torch.get_rng_state()).rest == tail


def test_uniform53_is_torchs_double_uniform():
    """The 53-bit double from two words, first word high, is what torch's float64 rand gives."""
    torch.manual_seed(7)
    bits = read_state(torch.get_rng_state()).bit_generator()
    words = bits.random_raw(2000)
    expected = torch.rand(1000, dtype=torch.float64).numpy()
    assert np.array_equal(uniform53(words[0::2], words[1::2]), expected)
    assert not np.array_equal(uniform53(words[1::2], words[0::2]), expected)  # order matters


def test_bernoulli_takes_two_words_per_element_for_every_p():
    for p in (0.0, 1.0, 0.5):
        torch.manual_seed(0)
        torch.empty(10).bernoulli_(p)
        assert read_state(torch.get_rng_state()).next == 20, f"bernoulli_({p})"


def untemper(y: int) -> int:
    """Invert mt19937's output tempering: the state word that comes out as ``y``."""
    y ^= y >> 18
    y ^= (y << 15) & 0xEFC60000
    t = y
    for _ in range(5):
        t = y ^ ((t << 7) & 0x9D2C5680)
    y, t = t & 0xFFFFFFFF, t & 0xFFFFFFFF
    for _ in range(3):
        t = y ^ (t >> 11)
    return t


@pytest.mark.parametrize("m,q,kept", [(1, 2**-53, False), (1, 2**-52, True), (0, 0.0, False)])
def test_strict_comparison_u_less_than_q(m, q, kept):
    """A crafted state makes the next pair of words give u = m * 2**-53 exactly."""
    torch.manual_seed(0)
    torch.rand(1)  # regenerate the words, so the next draw reads them as they are
    state = read_state(torch.get_rng_state())
    words = state.words.copy()
    words[state.next] = untemper(m >> 32)
    words[state.next + 1] = untemper(m & 0xFFFFFFFF)
    torch.set_rng_state(write_state(GeneratorState(**{**vars(state), "words": words})))
    assert torch.rand(1, dtype=torch.float64).item() == m * 2**-53  # the crafted u
    torch.set_rng_state(write_state(GeneratorState(**{**vars(state), "words": words})))
    assert bool(torch.empty(1).bernoulli_(q)) is kept
    torch.set_rng_state(write_state(GeneratorState(**{**vars(state), "words": words})))
    assert bool(keep_mask(1, 1 - q)) is kept


def test_rand_less_than_q_is_a_different_mask():
    torch.manual_seed(0)
    ours = keep_mask(1000, 0.5)
    torch.manual_seed(0)
    assert not torch.equal(ours, torch.rand(1000) < 0.5)


def test_no_torch_random_function_is_called(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("keep_mask called one of torch's random functions")

    torch.manual_seed(3)
    with monkeypatch.context() as m:
        for name in ("bernoulli_", "uniform_", "random_", "normal_", "exponential_"):
            m.setattr(torch.Tensor, name, forbidden)
        for name in ("rand", "randn", "randint", "bernoulli", "rand_like", "randperm", "normal"):
            m.setattr(torch, name, forbidden)
        with pytest.raises(AssertionError):
            torch.rand(1)  # the patch is in force
        ours = keep_mask((40, 25), 0.3)
        state = torch.get_rng_state()
    torch.manual_seed(3)
    assert torch.equal(ours, torch.empty(40, 25).bernoulli_(0.7).bool())
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), "0.5", None, True], ids=repr)
def test_bad_p_raises_and_draws_nothing(p):
    torch.manual_seed(0)
    before = torch.get_rng_state()
    with pytest.raises((TypeError, ValueError)):
        keep_mask(10, p)
    assert torch.equal(before, torch.get_rng_state())


def test_bad_shape_and_state_raise():
    with pytest.raises(ValueError, match="non-negative"):
        keep_mask((2, -1), 0.5)
    with pytest.raises(ValueError, match="5056 bytes"):
        read_state(b"\x00" * 10)


def test_generator_state_is_a_plain_record():
    torch.manual_seed(1)
    state = read_state(torch.get_rng_state())
    assert isinstance(state, GeneratorState) and state.words.dtype == np.uint32
    assert repr(state) == "GeneratorState(seed=1, left=1, seeded=1, next=0)"


def test_canary_torch_cpu_dropout_still_draws_this_way():
    """The book's chapter 14 and its stored masks assume this exact recipe."""
    n, p = 1_000_000, 0.5
    torch.manual_seed(12345)
    ours = keep_mask(n, p)
    ours_state = torch.get_rng_state()
    torch.manual_seed(12345)
    theirs = F.dropout(torch.ones(n), p) != 0
    assert torch.equal(ours, theirs) and torch.equal(ours_state, torch.get_rng_state()), (
        "CANARY: torch's CPU dropout no longer draws its mask as dropmini.keep_mask does "
        "(mt19937 seeded with the low 32 bits of the seed; two 32-bit words per element, first "
        "high; u = low 53 bits * 2**-53; keep when u < 1 - p). "
        f"This torch is {torch.__version__} (MKL available: {torch.backends.mkl.is_available()}); "
        "the book was checked with 2.13.0 on the CPU. Older or other builds drew through MKL's "
        "Bernoulli on Intel CPUs (PyTorch issues #84030, #121595). Chapter 14 ('Where the mask "
        "comes from') and every stored mask in the book depend on this: re-check them."
    )
