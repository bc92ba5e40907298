"""Recurrent dropout: torch's between-layer dropout rebuilt, locked and variational dropout."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import dropmini  # noqa: E402
from dropmini.lab import recurrent  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _sequence(shape, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)


CASES = [
    (nn.LSTM, {"num_layers": 2}),
    (nn.LSTM, {"num_layers": 3, "batch_first": True}),
    (nn.LSTM, {"num_layers": 2, "bidirectional": True}),
    (nn.GRU, {"num_layers": 3}),
    (nn.RNN, {"num_layers": 2, "nonlinearity": "relu"}),
]


@pytest.mark.parametrize(("cls", "kwargs"), CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_rebuilt_stack_has_torch_bits_and_rng_state(cls, kwargs, dtype, p):
    torch.manual_seed(7)
    rnn = cls(3, 5, dropout=p, dtype=dtype, **kwargs)
    layers = recurrent.split_layers(rnn)
    x = _sequence((6, 4, 3), seed=1, dtype=dtype)
    for seed in range(3):
        torch.manual_seed(seed)
        theirs, _ = rnn(x)
        state = torch.get_rng_state()
        torch.manual_seed(seed)
        ours = recurrent.stacked_forward(layers, x, p)
        assert dropmini.same_bits(ours, theirs)
        assert torch.equal(state, torch.get_rng_state())


def test_without_dropout_the_rebuilt_stack_equals_eval_mode():
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 5, num_layers=2, dropout=0.5).eval()
    x = _sequence((6, 2, 3), seed=2)
    assert dropmini.same_bits(
        recurrent.stacked_forward(recurrent.split_layers(lstm), x, 0.0), lstm(x)[0]
    )


def test_torch_never_drops_the_last_layer_and_one_layer_does_nothing():
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 5, num_layers=2, dropout=0.9)
    x = _sequence((6, 2, 3), seed=3)
    out, (h, _) = lstm(x)
    assert int((out == 0).sum()) == 0
    _, (h_eval, _) = lstm.eval()(x)
    assert dropmini.same_bits(h[0], h_eval[0])  # layer 1 never sees a mask
    assert not torch.equal(h[1], h_eval[1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        single = nn.LSTM(3, 5, num_layers=1, dropout=0.5)
    assert "num_layers greater than 1" in str(caught[0].message)
    state = torch.get_rng_state()
    assert torch.equal(single(x)[0], single.eval()(x)[0])
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_locked_dropout_is_dropout1d_over_time(batch_first, dtype):
    x = _sequence((7, 3, 5), seed=4, dtype=dtype)
    for seed in range(3):
        torch.manual_seed(seed)
        ours = recurrent.locked_dropout(x, 0.4, batch_first=batch_first)
        state = torch.get_rng_state()
        torch.manual_seed(seed)
        # dropout1d zeroes whole channels of an (N, C, L) tensor: put time last.
        if batch_first:
            theirs = F.dropout1d(x.transpose(1, 2), 0.4).transpose(1, 2)
        else:
            theirs = F.dropout1d(x.permute(1, 2, 0), 0.4).permute(2, 0, 1)
        assert dropmini.same_bits(ours, theirs)
        assert torch.equal(state, torch.get_rng_state())


def test_locked_mask_is_constant_over_time_and_eval_is_identity():
    x = torch.ones(50, 8, 16)
    torch.manual_seed(0)
    out = recurrent.locked_dropout(x, 0.5)
    assert torch.equal(out, out[:1].expand_as(out))
    assert set(out.unique().tolist()) == {0.0, 2.0}
    assert recurrent.locked_dropout(x, 0.5, training=False) is x


def _copy_cell_into_lstm(model):
    lstm = nn.LSTM(model.cell.input_size, model.cell.hidden_size)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(lstm, f"{name}_l0").copy_(getattr(model.cell, name))
    return lstm


def test_variational_lstm_input_mask_matches_lstm_on_dropout1d_input():
    torch.manual_seed(0)
    model = recurrent.VariationalLSTM(4, 6, p_input=0.5)
    lstm = _copy_cell_into_lstm(model)
    x = _sequence((9, 3, 4), seed=5)
    torch.manual_seed(1)
    ours = model(x)
    torch.manual_seed(1)
    theirs, _ = lstm(F.dropout1d(x.permute(1, 2, 0), 0.5).permute(2, 0, 1))
    torch.testing.assert_close(ours, theirs)
    model.eval()
    torch.testing.assert_close(model(x), lstm(x)[0])


def test_variational_lstm_dropped_units_have_no_influence_at_any_step():
    torch.manual_seed(0)
    model = recurrent.VariationalLSTM(4, 6, p_input=0.5, p_hidden=0.5)
    x = _sequence((9, 3, 4), seed=6)
    torch.manual_seed(2)
    input_mask = dropmini.dropout(torch.ones(3, 4), 0.5)
    torch.manual_seed(2)
    out = model(x)
    changed = x + 100.0 * (input_mask == 0)  # perturb only dropped (sample, feature) pairs
    torch.manual_seed(2)
    assert torch.equal(model(changed), out)
    torch.manual_seed(2)
    assert not torch.equal(model(x + 100.0 * (input_mask != 0)), out)


def test_connections_figure_dashes_only_between_layers():
    fig = recurrent.dropout_connections_figure(num_layers=3, steps=4)
    ax = fig.axes[0]
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 2 * 4  # two gaps between three layers, four steps
    assert [label.get_text() for label in ax.get_yticklabels()][-1] == "output"


def test_time_masks_figure_draws_units_by_time():
    fresh = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    fig = recurrent.time_masks_figure(fresh, np.ones((3, 2)))
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (2, 3)
    assert image[1, 0] == 0.0 and image[0, 0] == 1.0
