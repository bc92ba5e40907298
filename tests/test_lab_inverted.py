"""Original versus inverted dropout: masks, exact expectations and the running-mean figure."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from dropmini.lab import inverted  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_original_dropout_uses_torchs_mask_without_rescaling(p):
    x = torch.arange(1.0, 101.0)
    torch.manual_seed(7)
    ours = inverted.original_dropout(x, p)
    after_ours = torch.get_rng_state()
    torch.manual_seed(7)
    theirs = F.dropout(x, p)
    assert torch.equal(ours != 0, theirs != 0)
    assert torch.equal(ours[ours != 0], x[ours != 0])  # kept values unscaled
    assert torch.equal(after_ours, torch.get_rng_state())  # one dropout's worth of numbers


def test_original_dropout_at_test_time_is_the_identity():
    x = torch.ones(3)
    assert inverted.original_dropout(x, 0.5, training=False) is x


def test_all_masks_are_distinct_and_binomially_counted():
    masks, kept = inverted.all_masks(5)
    assert masks.shape == (32, 5)
    assert len({tuple(row.tolist()) for row in masks}) == 32
    assert np.bincount(kept.numpy()).tolist() == [math.comb(5, k) for k in range(6)]


def test_all_masks_rejects_a_huge_n():
    with pytest.raises(ValueError, match="n must be in"):
        inverted.all_masks(40)


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
def test_exact_expectation_of_a_linear_layer_is_the_weight_scaling_rule(p):
    g = torch.Generator().manual_seed(0)
    w = torch.randn(3, 4, generator=g, dtype=torch.float64)
    b = torch.randn(3, generator=g, dtype=torch.float64)
    x = torch.randn(4, generator=g, dtype=torch.float64)
    mean = inverted.exact_expectation(lambda m: (m * x) @ w.T + b, 4, p)
    torch.testing.assert_close(mean, ((1 - p) * w) @ x + b)


def test_exact_expectation_of_a_nonlinear_function_by_hand():
    # E[sigmoid(m * 2 / 0.5)] with m ~ Bernoulli(0.5): (sigmoid(0) + sigmoid(4)) / 2
    two = torch.tensor([2.0], dtype=torch.float64)
    mean = inverted.exact_expectation(lambda m: torch.sigmoid(m * two / 0.5), 1, 0.5)
    assert mean.item() == pytest.approx((0.5 + 1 / (1 + math.exp(-4))) / 2)


def test_running_mean_matches_a_loop():
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(50, 3))
    expected = np.array([samples[: i + 1].mean(axis=0) for i in range(50)])
    np.testing.assert_allclose(inverted.running_mean(samples), expected)


def test_running_mean_figure_draws_series_and_levels():
    fig = inverted.running_mean_figure({"a": [1.0, 2.0, 1.5], "b": [0.0, 1.0, 0.5]},
                                       {"ta": 1.5, "tb": 0.5})  # fmt: skip
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel() and ax.get_ylabel()
    assert list(ax.lines[0].get_ydata()) == [1.0, 2.0, 1.5]
    assert list(ax.lines[2].get_ydata()) == [1.5, 1.5]
    styles = {(line.get_marker(), line.get_linestyle()) for line in ax.lines[:2]}
    assert len(styles) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "ta", "tb"]


def test_running_mean_figure_draws_on_a_given_axes():
    fig, ax = plt.subplots()
    assert inverted.running_mean_figure({"a": [1.0]}, {}, ax=ax) is fig
