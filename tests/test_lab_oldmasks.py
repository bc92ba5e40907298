"""dropmini.lab.oldmasks: torch 2.6.0's CPU masks (MKL MCG31m1 + Bernoulli ICDF) rebuilt.

The RECORDED_* tables below are outputs of the real torch 2.6.0 (the registry's wheel
2.6.0+cu124, x86-64 Linux, ``torch.backends.mkl.is_available()`` True, AMD EPYC, 2 threads),
printed by a probe script in a throw-away virtual environment on 2026-12-02. They are not
outputs of dropmini. The other tests run today's torch and check the rebuild's own
properties (generator state, errors, chunking) against an independent computation.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import dropmini
from dropmini.lab import oldmasks
from dropmini.lab.oldmasks import (
    MODULUS,
    MULTIPLIER,
    bernoulli_icdf,
    keep_mask_mkl,
    mcg31,
    stream_start,
    uniforms,
)

#: torch 2.6.0: ``torch.manual_seed(seed); F.dropout(torch.ones(24), p) != 0`` as 0/1 text.
RECORDED_DROPOUT_24 = {
    (0, 0.2): "110111111111111111001111",
    (0, 0.5): "100110011110011101000011",
    (1, 0.2): "011011010111111010110111",
    (1, 0.5): "011011010001101010100010",
    (2, 0.2): "011111111011111111110010",
    (2, 0.5): "001110011000010111010010",
    (3, 0.2): "111010011111111111111111",
    (3, 0.5): "101010000111011100010100",
    (4, 0.2): "010111111110101111001111",
    (4, 0.5): "010010101010101101000011",
}
#: torch 2.6.0: ``torch.manual_seed(seed); torch.empty(n, dtype=torch.float64).bernoulli_(q)``.
#: The three q of seed 3 are a float32 value u of element 0 and its double neighbours: element
#: 0 stays 0 for all three, so the comparison is u < float32(q), not a double comparison.
RECORDED_BERNOULLI = [
    (3, 60, 0.10159581154584885, "000000000100000000000000000000000000000000001000110000000000"),
    (3, 60, 0.10159581154584886, "000000000100000000000000000000000000000000001000110000000000"),
    (3, 60, 0.10159581154584883, "000000000100000000000000000000000000000000001000110000000000"),
    (3, 60, 0.9215567708015442, "111011011111111111111111111110111111001110111110111111111111"),
    (42, 16, 0.5, "0011111010100011"),
    # q = float32(x / m) of the last element: u computed in float32 arithmetic,
    # float32(x) * float32(1 / m) or float32(x) / float32(m), would keep that element.
    (1, 19, 0.03411593660712242, "0000000000000000000"),
    (6, 36, 0.21059338748455048, "000000010001010000001010011000100000"),
]
#: torch 2.6.0: ``torch.manual_seed(42); F.dropout(torch.tensor([1., 2., 3., 4.]), 0.5)``.
RECORDED_ARTICLE = [0.0, 0.0, 6.0, 8.0]
#: torch 2.6.0: ``torch.manual_seed(42); nn.Dropout(0.2)(torch.ones(16)) != 0``.
RECORDED_CH14_OPENING = "1111111111110011"
#: torch 2.6.0: ``torch.empty(40).bernoulli_(0.5)`` after ``torch.set_rng_state`` with a state
#: whose next Mersenne Twister word was set to the key (by inverting the tempering): words that
#: agree modulo 2**31 - 1, or give 0 there, start the same MCG31m1 stream.
RECORDED_SEED_WORDS = {
    0: "1011100001101011000001111100011111000101",
    1: "1011100001101011000001111100011111000101",
    MODULUS: "1011100001101011000001111100011111000101",
    2 * MODULUS: "1011100001101011000001111100011111000101",
    2**32 - 1: "1011100001101011000001111100011111000101",
    12345: "1110100000111100101110011101101110101011",
    12345 + MODULUS: "1110100000111100101110011101101110101011",
}
#: torch 2.6.0: ``torch.manual_seed(2024)``; kept elements of ``F.dropout(torch.ones(10**6), 0.2)``.
RECORDED_KEPT_2024 = 799_990
#: torch 2.6.0: ``torch.manual_seed(1); torch.empty(940_581).bernoulli_(1.0)``: elements
#: 940,576 to 940,580, then the sum (one element is 0 although q = 1).
RECORDED_Q1_SEED1 = ([1, 1, 0, 1, 1], 940_580)
#: torch 2.6.0: ``next`` in the state after ``torch.manual_seed(0)`` and
#: ``torch.empty(n).bernoulli_(0.5)``, for each n: one word, except for an empty tensor.
RECORDED_WORDS = {0: 0, 1: 1, 2: 1, 5: 1, 100: 1, 799: 1, 800: 1, 801: 1, 1600: 1, 100_000: 1}


def bits(mask) -> str:
    return "".join("1" if k else "0" for k in np.asarray(mask).tolist())


def torch_draws_one_word() -> bool:
    """True if this torch's bernoulli_ takes one word per call (the MKL path of 2.6)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        torch.empty(10).bernoulli_(0.5)
        return dropmini.read_state(torch.get_rng_state()).next == 1


@pytest.mark.parametrize(("seed", "p"), sorted(RECORDED_DROPOUT_24))
def test_dropout_masks_recorded_from_torch_2_6(seed, p):
    torch.manual_seed(seed)
    assert bits(keep_mask_mkl(24, p)) == RECORDED_DROPOUT_24[seed, p]


@pytest.mark.parametrize(("seed", "n", "q", "expected"), RECORDED_BERNOULLI)
def test_bernoulli_recorded_from_torch_2_6_including_float32_edges(seed, n, q, expected):
    torch.manual_seed(seed)
    word = int(dropmini.read_state(torch.get_rng_state()).bit_generator().random_raw(1)[0])
    assert bits(bernoulli_icdf(word, n, q)) == expected


def test_the_article_example_and_ch14_opening_as_torch_2_6_drew_them():
    torch.manual_seed(42)
    keep = keep_mask_mkl(4, 0.5)
    assert (torch.arange(1.0, 5.0) * keep / 0.5).tolist() == RECORDED_ARTICLE
    torch.manual_seed(42)
    assert bits(keep_mask_mkl(16, 0.2)) == RECORDED_CH14_OPENING


def test_a_million_elements_keep_the_recorded_count():
    torch.manual_seed(2024)
    assert int(keep_mask_mkl(1_000_000, 0.2).sum()) == RECORDED_KEPT_2024


def test_q_one_drops_where_u_rounds_to_one_as_torch_2_6_did():
    elements, total = RECORDED_Q1_SEED1
    torch.manual_seed(1)
    keep = keep_mask_mkl(940_581, 0.0)
    assert keep[940_576:].int().tolist() == elements
    assert int(keep.sum()) == total


@pytest.mark.parametrize("word", sorted(RECORDED_SEED_WORDS))
def test_seed_words_recorded_from_torch_2_6(word):
    assert bits(bernoulli_icdf(word, 40, 0.5)) == RECORDED_SEED_WORDS[word]


@pytest.mark.parametrize("n", sorted(RECORDED_WORDS))
def test_one_word_per_call_whatever_the_size(n):
    torch.manual_seed(0)
    keep_mask_mkl(n, 0.5)
    assert dropmini.read_state(torch.get_rng_state()).next == RECORDED_WORDS[n]


@pytest.mark.parametrize("earlier", [0, 5, 623, 624, 700])
def test_state_afterwards_is_one_word_on(earlier):
    # Today's torch.rand(1) (float32) takes exactly one word: the state must agree with it,
    # the cached normal samples included (randn(3) leaves one in the cache).
    states = []
    for draw in (lambda: keep_mask_mkl((3, 7), 0.3), lambda: torch.rand(1)):
        torch.manual_seed(11)
        torch.randn(3)
        torch.rand(earlier)
        draw()
        states.append(torch.get_rng_state())
    assert torch.equal(*states)


def test_empty_shapes_take_no_word():
    torch.manual_seed(3)
    before = torch.get_rng_state()
    for shape in (0, (3, 0), (0, 5, 2)):
        mask = keep_mask_mkl(shape, 0.5)
        assert mask.dtype == torch.bool and mask.shape == torch.Size(
            [shape] if isinstance(shape, int) else shape
        )
    assert torch.equal(before, torch.get_rng_state())


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), "0.5", None, True])
def test_bad_p_raises_and_draws_nothing(p):
    torch.manual_seed(3)
    before = torch.get_rng_state()
    with pytest.raises((TypeError, ValueError)):
        keep_mask_mkl(10, p)
    assert torch.equal(before, torch.get_rng_state())


def test_negative_size_raises_and_draws_nothing():
    torch.manual_seed(3)
    before = torch.get_rng_state()
    with pytest.raises(ValueError, match="non-negative"):
        keep_mask_mkl((2, -1), 0.5)
    assert torch.equal(before, torch.get_rng_state())


def test_mcg31_is_the_documented_recurrence():
    for word in (0, 1, 42, MODULUS, MODULUS + 42, 2**32 - 1):
        x = word % MODULUS or 1
        naive = []
        for _ in range(1500):
            naive.append(x)
            x = MULTIPLIER * x % MODULUS
        assert mcg31(word, 1500).tolist() == naive
        assert mcg31(word, 700, skip=800).tolist() == naive[800:]


def test_stream_start_and_seed_words_that_share_a_stream():
    assert [stream_start(w) for w in (0, 1, MODULUS, 2 * MODULUS, 2**32 - 1)] == [1] * 5
    assert stream_start(12345 + MODULUS) == 12345
    with pytest.raises(ValueError):
        stream_start(2**32)
    with pytest.raises(ValueError):
        mcg31(1, -1)


def test_chunks_skipped_ahead_give_one_stream_whatever_the_split():
    whole = bernoulli_icdf(987654321, 5000, 0.3)
    for cuts in ([0, 800, 5000], [0, 2500, 5000], [0, 1, 801, 1601, 5000]):
        parts = [
            bernoulli_icdf(987654321, b - a, 0.3, skip=a)
            for a, b in zip(cuts, cuts[1:], strict=False)
        ]
        assert np.array_equal(np.concatenate(parts), whole)


def test_uniforms_are_float32_of_x_over_m():
    x = mcg31(7, 1000).astype(np.float64)
    u = uniforms(7, 1000)
    assert u.dtype == np.float32
    assert np.array_equal(u, np.float32(x / MODULUS))
    assert uniforms(MODULUS - 1, 1)[0] == 1.0


def test_bernoulli_icdf_checks_q():
    with pytest.raises(ValueError, match="q must be"):
        bernoulli_icdf(1, 3, 1.5)
    assert not bernoulli_icdf(1, 100, 0.0).any()


def test_today_torch_draws_another_mask_than_torch_2_6():
    if torch_draws_one_word():
        pytest.skip(f"torch {torch.__version__} draws with one word per call (MKL path)")
    torch.manual_seed(42)
    today = F.dropout(torch.ones(16), 0.2) != 0
    assert bits(today) != RECORDED_CH14_OPENING


def test_live_under_a_torch_that_draws_the_mkl_way():
    """Run by `make compat`: under a release with the MKL path (2.6.0), the rebuild is torch's."""
    if not torch_draws_one_word():
        pytest.skip(f"torch {torch.__version__} does not draw through MKL's Bernoulli")
    for seed in (0, 42, 2024):
        for n, p in ((17, 0.5), (2500, 0.2), (100_003, 0.9)):
            for threads in (1, 2):
                torch.set_num_threads(threads)
                torch.manual_seed(seed)
                theirs = F.dropout(torch.ones(n), p) != 0
                state = torch.get_rng_state()
                torch.manual_seed(seed)
                assert torch.equal(keep_mask_mkl(n, p), theirs)
                assert torch.equal(torch.get_rng_state(), state)


def test_module_exports():
    assert set(oldmasks.__all__) <= set(dir(oldmasks))
