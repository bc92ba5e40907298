"""dropmini.lab.transformer: a TransformerEncoderLayer from dropmini parts, and its tools."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dropmini
from dropmini.lab.transformer import (
    EncoderLayer,
    RecordOps,
    SelfAttention,
    noise_at,
    words_consumed,
)


def _data(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).float()


def _step(layer, x0, seed):
    layer.zero_grad()
    x = x0.clone().requires_grad_()
    torch.manual_seed(seed)
    out = layer(x)
    state = torch.get_rng_state()
    weights = torch.linspace(-1, 1, out.numel(), dtype=torch.float64).float().reshape(out.shape)
    (out * weights).sum().backward()
    return out, [x.grad] + [p.grad for p in layer.parameters()], state


@pytest.mark.parametrize(
    ("batch_first", "norm_first", "activation"),
    list(itertools.product((False, True), (False, True), ("relu", "gelu"))),
)
@pytest.mark.parametrize(("sizes", "p"), [((8, 2, 16), 0.3), ((12, 4, 20), 0.6)])
def test_twin_has_torch_bits_gradients_and_state(batch_first, norm_first, activation, sizes, p):
    d_model, nhead, ff = sizes
    torch.manual_seed(1)
    theirs = nn.TransformerEncoderLayer(
        d_model,
        nhead,
        ff,
        p,
        activation=activation,
        batch_first=batch_first,
        norm_first=norm_first,
    )
    ours = EncoderLayer.from_torch(theirs)
    for seed in (0, 7):
        shape = (2, 6, d_model) if batch_first else (6, 2, d_model)
        x = _data(shape, seed)
        a, grads_a, state_a = _step(theirs, x, seed)
        b, grads_b, state_b = _step(ours, x, seed)
        assert dropmini.same_bits(a, b)
        assert len(grads_a) == len(grads_b) == 13
        assert all(dropmini.same_bits(g, h) for g, h in zip(grads_a, grads_b, strict=True))
        assert torch.equal(state_a, state_b)


def test_twin_copies_per_site_probabilities_and_mode():
    torch.manual_seed(0)
    theirs = nn.TransformerEncoderLayer(8, 2, 16, 0.3)
    theirs.self_attn.dropout, theirs.dropout2.p = 0.1, 0.0
    ours = EncoderLayer.from_torch(theirs)
    assert (ours.self_attn.dropout, ours.dropout1.p, ours.dropout.p, ours.dropout2.p) == (
        0.1,
        0.3,
        0.3,
        0.0,
    )
    assert ours.training
    x = _data((5, 3, 8), 2)
    for seed in range(3):
        torch.manual_seed(seed)
        a = theirs(x)
        torch.manual_seed(seed)
        assert dropmini.same_bits(a, ours(x))
    assert not EncoderLayer.from_torch(theirs.eval()).training


@pytest.mark.parametrize(
    ("dtype", "probabilities"),
    [
        (torch.float64, (0.3, 0.3, 0.3, 0.3)),
        (torch.float32, (0.0, 0.3, 0.3, 0.3)),  # no attention dropout: SDPA picks its kernel
        (torch.float32, (0.0, 0.0, 0.0, 0.0)),
        (torch.float32, (1.0, 1.0, 1.0, 1.0)),
        (torch.float32, (1.0, 0.0, 0.5, 1.0)),
    ],
)
def test_twin_has_torch_bits_for_other_dtypes_and_probabilities(dtype, probabilities):
    torch.manual_seed(2)
    theirs = nn.TransformerEncoderLayer(32, 2, 24, 0.3, dtype=dtype)
    (theirs.self_attn.dropout, theirs.dropout1.p, theirs.dropout.p, theirs.dropout2.p) = (
        probabilities
    )
    ours = EncoderLayer.from_torch(theirs)
    assert ours.self_attn.in_proj_weight.dtype == dtype
    for seed in (0, 1):
        x = _data((9, 2, 32), seed).to(dtype)
        a, grads_a, state_a = _step(theirs, x, seed)
        b, grads_b, state_b = _step(ours, x, seed)
        assert dropmini.same_bits(a, b)
        assert all(dropmini.same_bits(g, h) for g, h in zip(grads_a, grads_b, strict=True))
        assert torch.equal(state_a, state_b)


def test_twin_in_eval_mode_draws_nothing_and_has_the_python_paths_bits():
    torch.manual_seed(0)
    theirs = nn.TransformerEncoderLayer(8, 2, 16, 0.5).eval()  # batch_first=False: Python path
    ours = EncoderLayer.from_torch(theirs)
    x = _data((5, 3, 8), 0)
    state = torch.get_rng_state()
    out = ours(x)
    assert torch.equal(state, torch.get_rng_state())
    assert dropmini.same_bits(out, theirs(x))


def test_twin_differs_when_a_site_is_missing():
    # The comparison can fail: without dropout2 the twin leaves the generator elsewhere.
    torch.manual_seed(0)
    theirs = nn.TransformerEncoderLayer(8, 2, 16, 0.3)
    ours = EncoderLayer.from_torch(theirs)
    ours.dropout2 = nn.Identity()
    x = _data((5, 3, 8), 0)
    torch.manual_seed(0)
    a = theirs(x)
    state = torch.get_rng_state()
    torch.manual_seed(0)
    b = ours(x)
    assert not dropmini.same_bits(a, b)
    assert not torch.equal(state, torch.get_rng_state())


def test_from_torch_refuses_other_activations():
    layer = nn.TransformerEncoderLayer(8, 2, 16, 0.1, activation=torch.tanh)
    with pytest.raises(ValueError, match="activations"):
        EncoderLayer.from_torch(layer)
    tanh_gelu = nn.TransformerEncoderLayer(8, 2, 16, 0.1, activation=nn.GELU(approximate="tanh"))
    assert tanh_gelu.activation_relu_or_gelu == 2  # torch files it as GELU all the same
    with pytest.raises(ValueError, match="activations"):
        EncoderLayer.from_torch(tanh_gelu)
    assert (
        EncoderLayer.from_torch(
            nn.TransformerEncoderLayer(8, 2, 16, 0.1, activation=nn.GELU())
        ).activation_name
        == "gelu"
    )
    with pytest.raises(ValueError, match="activation"):
        EncoderLayer(8, 2, activation="tanh")


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [False, True])
def test_self_attention_has_both_branches_of_multihead_attention(batch_first, need_weights):
    torch.manual_seed(4)
    mha = nn.MultiheadAttention(12, 3, dropout=0.4, batch_first=batch_first)
    ours = SelfAttention(12, 3, 0.4, batch_first=batch_first)
    ours.load_state_dict(mha.state_dict())
    x = _data((4, 7, 12), 5)
    for seed in range(3):
        torch.manual_seed(seed)
        a, wa = mha(x, x, x, need_weights=need_weights)
        state = torch.get_rng_state()
        torch.manual_seed(seed)
        b, wb = ours(x, need_weights=need_weights)
        assert dropmini.same_bits(a, b)
        assert torch.equal(state, torch.get_rng_state())
        if need_weights:
            assert dropmini.same_bits(wa, wb)
        else:
            assert wa is None and wb is None


def test_self_attention_checks_heads():
    with pytest.raises(ValueError, match="divisible"):
        SelfAttention(10, 3)


@pytest.mark.parametrize("n", [0, 1, 311, 312, 313, 624, 1000, 5000])
@pytest.mark.parametrize("already", [0, 101, 624])
def test_words_consumed_counts_bernoulli_draws(n, already):
    torch.manual_seed(3)
    torch.rand(already)  # one word each: start anywhere in a block
    start = torch.get_rng_state()
    torch.empty(n).bernoulli_(0.3)
    assert words_consumed(start, torch.get_rng_state()) == 2 * n


def test_words_consumed_counts_single_words_and_checks_its_input():
    torch.manual_seed(0)
    start = torch.get_rng_state()
    torch.rand(7)  # one word per float32
    assert words_consumed(start, torch.get_rng_state()) == 7
    torch.manual_seed(1)
    with pytest.raises(ValueError, match="different seeds"):
        words_consumed(start, torch.get_rng_state())
    torch.manual_seed(0)
    later = torch.get_rng_state()
    torch.empty(10).bernoulli_(0.5)
    with pytest.raises(ValueError, match="not within"):
        words_consumed(torch.get_rng_state(), later, limit=5000)


@pytest.mark.parametrize("words", [0, 2, 1248])
def test_noise_at_predicts_dropout_in_memory_order(words):
    x = _data((4, 6, 5), 0)
    for view in (x, x.transpose(0, 1), x.permute(2, 0, 1)):
        torch.manual_seed(9)
        start = torch.get_rng_state()
        torch.empty(words // 2).bernoulli_(0.5)
        out = F.dropout(view, 0.25)
        assert dropmini.same_bits(out, view * noise_at(start, words, view, 0.25))
    state = torch.get_rng_state()
    noise_at(state, 10, x, 0.5)
    assert torch.equal(state, torch.get_rng_state())


def test_noise_at_refuses_bad_input():
    state = torch.get_rng_state()
    with pytest.raises(ValueError, match="strictly between"):
        noise_at(state, 0, torch.ones(3), 1.0)
    with pytest.raises(ValueError, match="dense"):
        noise_at(state, 0, torch.ones(4, 4)[:, ::2], 0.5)
    with pytest.raises(ValueError, match="dense"):
        noise_at(state, 0, torch.ones(10)[1:], 0.5)
    assert torch.equal(state, torch.get_rng_state())


def test_record_ops_tells_the_fast_path_apart():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, 0.3, batch_first=True)
    x = _data((3, 5, 8), 1)
    with RecordOps() as record:
        layer(x)
    assert record.ops.count("bernoulli_") == 4
    assert "_transformer_encoder_layer_fwd" not in record.ops
    layer.eval()
    with torch.no_grad(), RecordOps() as record:
        layer(x)
    assert "_transformer_encoder_layer_fwd" in record.ops
    assert "bernoulli_" not in record.ops
