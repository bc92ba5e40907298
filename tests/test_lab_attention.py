"""Attention dropout: SDPA's CPU result reproduced with dropmini, the eval pitfall, the figure."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402

import dropmini  # noqa: E402
from dropmini.lab import attention  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _qkv(shape, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype) for _ in range(3)]


@pytest.mark.parametrize("shape", [(1, 1, 4, 8), (2, 3, 7, 16), (1, 2, 33, 64), (5, 12, 24)])
@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_reference_has_sdpa_bits_and_rng_state(shape, is_causal, p):
    q, k, v = _qkv(shape, seed=len(shape) + shape[-1])
    for seed in range(3):
        torch.manual_seed(seed)
        theirs = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=is_causal)
        state = torch.get_rng_state()
        torch.manual_seed(seed)
        ours = attention.sdpa_reference(q, k, v, p, is_causal=is_causal)
        assert dropmini.same_bits(ours, theirs)
        assert torch.equal(state, torch.get_rng_state())


def test_reference_in_float64_and_without_dropout():
    q, k, v = _qkv((2, 2, 6, 8), seed=0, dtype=torch.float64)
    torch.manual_seed(0)
    theirs = F.scaled_dot_product_attention(q, k, v, dropout_p=0.2)
    torch.manual_seed(0)
    assert dropmini.same_bits(attention.sdpa_reference(q, k, v, 0.2), theirs)
    state = torch.get_rng_state()
    ours = attention.sdpa_reference(q, k, v, 0.0)
    assert torch.equal(state, torch.get_rng_state())  # p = 0 draws nothing
    # Without dropout SDPA may use its flash kernel: close, and equal on the math backend.
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v))
    with sdpa_kernel(SDPBackend.MATH):
        assert dropmini.same_bits(ours, F.scaled_dot_product_attention(q, k, v))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_matches_sdpa_only_through_float32(dtype):
    q, k, v = _qkv((2, 2, 6, 8), seed=5, dtype=dtype)
    direct = through_float32 = 0
    for seed in range(4):
        torch.manual_seed(seed)
        theirs = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, is_causal=True)
        torch.manual_seed(seed)
        direct += dropmini.same_bits(attention.sdpa_reference(q, k, v, 0.5, is_causal=True), theirs)
        torch.manual_seed(seed)
        ours = attention.sdpa_reference(q.float(), k.float(), v.float(), 0.5, is_causal=True)
        through_float32 += dropmini.same_bits(ours.to(dtype), theirs)
    assert (direct, through_float32) == (0, 4)


@pytest.mark.parametrize("d", [32, 64, 256])
def test_textbook_form_has_sdpa_bits_only_for_powers_of_16(d):
    q, k, v = _qkv((1, 2, 6, d), seed=d)
    torch.manual_seed(0)
    theirs = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, is_causal=True)
    torch.manual_seed(0)
    textbook = attention.textbook_attention(q, k, v, 0.5, is_causal=True)
    assert dropmini.same_bits(textbook, theirs) == (d == 256)


def test_weights_are_a_causal_softmax_close_to_the_textbook_formula():
    q, k, _ = _qkv((1, 2, 6, 8), seed=1)
    weights = attention.attention_weights(q, k, is_causal=True)
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(8)
    scores = scores.masked_fill(~torch.ones(6, 6, dtype=torch.bool).tril(), -math.inf)
    torch.testing.assert_close(weights, scores.softmax(-1))
    assert torch.all(weights.triu(1) == 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(1, 2, 6))


def test_textbook_form_is_close_but_not_bitwise_for_d_8_and_bitwise_for_d_16():
    q, k, v = _qkv((1, 2, 6, 8), seed=2)
    torch.manual_seed(0)
    theirs = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, is_causal=True)
    torch.manual_seed(0)
    textbook = attention.textbook_attention(q, k, v, 0.5, is_causal=True)
    assert not dropmini.same_bits(textbook, theirs)
    torch.testing.assert_close(textbook, theirs)
    q, k, v = _qkv((1, 2, 6, 16), seed=2)
    torch.manual_seed(0)
    theirs = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    torch.manual_seed(0)
    assert dropmini.same_bits(attention.textbook_attention(q, k, v, 0.5), theirs)


def test_unguarded_module_is_random_in_eval_and_guarded_one_is_not():
    q, k, v = _qkv((1, 2, 8, 8), seed=3)
    loose = attention.SDPAttention(0.5, guarded=False).eval()
    assert not torch.equal(loose(q, k, v), loose(q, k, v))
    guarded = attention.SDPAttention(0.5).eval()
    no_dropout = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert torch.equal(guarded(q, k, v), no_dropout)
    guarded.train()
    torch.manual_seed(4)
    out = guarded(q, k, v)
    torch.manual_seed(4)
    assert dropmini.same_bits(out, attention.sdpa_reference(q, k, v, 0.5, is_causal=True))


def test_figure_greys_masked_pairs_and_crosses_dropped_ones():
    before = np.array([[1.0, 0.0], [0.5, 0.5]])
    after = np.array([[0.0, 0.0], [1.0, 0.0]])
    fig = attention.attention_weights_figure(before, after)
    left, right = fig.axes[:2]
    assert left.get_xlabel() == "key position" and right.get_ylabel() == "query position"
    assert bool(np.ma.getmaskarray(left.images[0].get_array())[0, 1])
    cross = right.lines[0]
    assert list(zip(cross.get_xdata(), cross.get_ydata(), strict=True)) == [(0, 0), (1, 1)]
    assert fig.axes[2].get_ylabel() == "weight"  # the colour bar


def test_figure_draws_on_given_axes():
    fig, axes = plt.subplots(1, 2)
    assert attention.attention_weights_figure(np.eye(2), np.eye(2), axes=axes) is fig
