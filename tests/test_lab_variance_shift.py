"""The variance shift: formula against exact enumeration and Monte Carlo, BN re-estimation."""

from __future__ import annotations

import itertools
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import dropmini  # noqa: E402
from dropmini.lab import variance_shift as vs  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("p", [0.1, 0.25, 0.5, 0.8])
@pytest.mark.parametrize("values", [(-1.0, 1.0), (0.0, 1.0, 2.0), (3.0, 5.0)])
def test_shift_ratio_matches_exact_enumeration(p, values):
    # x uniform on `values`, mask Bernoulli(1 - p): enumerate every (x, m) pair exactly.
    q = 1.0 - p
    outcomes = [
        (x * m / q, (q if m else p) / len(values)) for x, m in itertools.product(values, (0, 1))
    ]
    mean_y = sum(y * w for y, w in outcomes)
    var_y = sum(y * y * w for y, w in outcomes) - mean_y**2
    mean_x = sum(values) / len(values)
    var_x = sum(v * v for v in values) / len(values) - mean_x**2
    assert vs.shift_ratio(p, mean_x, var_x) == pytest.approx(var_y / var_x, rel=1e-12)


def test_shift_ratio_matches_torch_dropout_monte_carlo():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(400_000, generator=g, dtype=torch.float64).relu()
    torch.manual_seed(0)
    y = dropmini.dropout(x, 0.3)
    c, v = 1 / math.sqrt(2 * math.pi), 0.5 - 1 / (2 * math.pi)
    assert (y.var() / x.var()).item() == pytest.approx(vs.shift_ratio(0.3, c, v), rel=0.02)


def test_normal_batches_leave_the_global_generator_alone():
    state = torch.get_rng_state()
    batches = list(vs.normal_batches(3, 8, 4, seed=0, relu=True)())
    assert torch.equal(state, torch.get_rng_state())
    assert all(b.dtype == torch.float32 and bool((b >= 0).all()) for b in batches)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_measured_shift_is_near_the_formula(p):
    torch.manual_seed(1)
    held_out = torch.cat(list(vs.normal_batches(8, 512, 32, seed=9)()))
    ratio = vs.measured_shift(p, vs.normal_batches(60, 256, 32, seed=4), held_out)
    assert ratio == pytest.approx(vs.shift_ratio(p), rel=0.03)


def test_running_stats_equal_torch_bn_on_manually_dropped_batches():
    batches = vs.normal_batches(5, 64, 6, seed=2)
    model = nn.Sequential(nn.Dropout(0.4), nn.BatchNorm1d(6, momentum=None)).train()
    torch.manual_seed(0)
    vs.run_batches(model, batches)
    torch.manual_seed(0)
    dropped = [torch.nn.functional.dropout(x, 0.4) for x in batches()]
    expected = torch.stack([d.var(0) for d in dropped]).mean(0)  # unbiased, averaged
    torch.testing.assert_close(model[1].running_var, expected)


def test_recalibrate_bn_gives_the_statistics_of_undropped_inputs_and_restores_modes():
    torch.manual_seed(0)
    model = vs.mlp(8, 2, 0.5)
    batches = vs.normal_batches(6, 128, 8, seed=5)
    vs.run_batches(model.train(), batches)
    model[0].eval()  # a mixed state that must survive
    momenta = [bn.momentum for bn in vs.batch_norms(model)]
    vs.recalibrate_bn(model, batches)
    assert not model[0].training and model[1].training
    assert [bn.momentum for bn in vs.batch_norms(model)] == momenta
    # Independent check: the first BN's input without dropout is model[1](x).
    first = vs.batch_norms(model)[0]
    with torch.no_grad():
        inputs = [model[1](x) for x in batches()]
    torch.testing.assert_close(first.running_mean, torch.stack([h.mean(0) for h in inputs]).mean(0))
    torch.testing.assert_close(first.running_var, torch.stack([h.var(0) for h in inputs]).mean(0))


def test_update_bn_keeps_the_shift_and_recalibrate_bn_removes_it():
    model = nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(16))
    batches = vs.normal_batches(30, 256, 16, seed=6)
    torch.manual_seed(0)
    torch.optim.swa_utils.update_bn(batches(), model)
    assert model[1].running_var.mean().item() == pytest.approx(2.0, rel=0.05)
    vs.recalibrate_bn(model, batches)
    assert model[1].running_var.mean().item() == pytest.approx(1.0, rel=0.05)


def test_bn_output_variances_in_eval_shrink_by_one_minus_p():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(32, momentum=None))
    vs.run_batches(model.train(), vs.normal_batches(40, 256, 32, seed=7))
    x = torch.cat(list(vs.normal_batches(4, 1024, 32, seed=8)()))
    (variance,) = vs.bn_output_variances(model.eval(), x)
    assert variance == pytest.approx(0.5, rel=0.05)
    assert not model[1]._forward_hooks


def test_mlp_places_dropout_before_each_bn_or_once_before_the_final_linear():
    before = [type(m) for m in vs.mlp(4, 3, 0.1)]
    after = [type(m) for m in vs.mlp(4, 3, 0.1, dropout_before_bn=False)]
    assert before.count(nn.Dropout) == 3 and before[0] is nn.Dropout
    assert after.count(nn.Dropout) == 1 and after[-2:] == [nn.Dropout, nn.Linear]
    assert before[-1] is nn.Linear and before[-2] is nn.ReLU
    assert len(vs.batch_norms(vs.mlp(4, 3, 0.1))) == 3
    # The final layer comes last, so the blocks draw the same weights either way.
    torch.manual_seed(0)
    first = vs.mlp(4, 2, 0.1)
    torch.manual_seed(0)
    second = vs.mlp(4, 2, 0.1, dropout_before_bn=False)
    assert torch.equal(first[1].weight, second[0].weight)


class _UnscaledDropout(nn.Module):
    """Dropout without the 1 / (1 - p): training-mode outputs are (1 - p) times too small."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        return x * torch.empty_like(x).bernoulli_(1 - self.p)


def test_train_eval_mean_gap_is_small_for_inverted_dropout_and_large_without_scaling():
    x = torch.cat(list(vs.normal_batches(4, 4096, 8, seed=11)())) + 1.0  # mean 1 per feature
    torch.manual_seed(0)
    head = nn.Linear(8, 8)
    with torch.no_grad():
        head.bias.zero_()
    torch.manual_seed(1)
    inverted = vs.train_eval_mean_gap(nn.Sequential(nn.Dropout(0.5), head), x)
    unscaled = vs.train_eval_mean_gap(nn.Sequential(_UnscaledDropout(0.5), head), x)
    # Without the scaling the training mean is half the evaluation mean: gap (1 - 0.5) / 0.5.
    assert inverted < 0.05
    assert unscaled == pytest.approx(1.0, abs=0.1)


def test_train_eval_mean_gap_leaves_statistics_and_modes_alone_and_sees_the_shift():
    torch.manual_seed(0)
    model = vs.mlp(16, 2, 0.5)
    vs.run_batches(model.train(), vs.normal_batches(20, 256, 16, seed=12))
    model[0].eval()  # a mixed state that must survive
    stats = [bn.running_var.clone() for bn in vs.batch_norms(model)]
    modes = [m.training for m in model.modules()]
    x = torch.cat(list(vs.normal_batches(4, 1024, 16, seed=13)()))
    shifted = vs.train_eval_mean_gap(model, x)
    assert [m.training for m in model.modules()] == modes
    after = [bn.running_var for bn in vs.batch_norms(model)]
    assert all(torch.equal(a, b) for a, b in zip(stats, after, strict=True))
    vs.recalibrate_bn(model, vs.normal_batches(20, 256, 16, seed=12))
    assert vs.train_eval_mean_gap(model, x) < 0.2 < shifted


def test_figures_label_axes_and_draw_given_series():
    fig = vs.variance_shift_figure(
        [0.1, 0.5], {"a": [1.1, 2.0], "b": [1.2, 2.4]}, {"a": [1.11, 2.0], "b": [1.2, 2.5]}
    )
    ax = fig.axes[0]
    assert ax.get_ylabel() == "running var / eval-time var"
    assert len(ax.get_legend().get_texts()) == 4
    fig2 = vs.depth_figure({"shifted": [0.5, 0.2], "recalibrated": [1.0, 0.99]})
    assert [line.get_marker() for line in fig2.axes[0].lines[:2]] == ["o", "s"]
