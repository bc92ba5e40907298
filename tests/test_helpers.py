"""The helpers the chapters share: comparison, statistics, plots, the GPT model, memory."""

from __future__ import annotations

import math

import matplotlib
import pytest
import torch
import torch.nn.functional as F
from helpers import FLOAT_DTYPES, name_of
from torch import nn

import dropmini
from dropmini.lab.gpt import GPTConfig, TinyGPT

matplotlib.use("Agg")


def test_same_bits_distinguishes_what_equal_does_not():
    nan = float("nan")
    assert dropmini.same_bits(torch.tensor([nan, -0.0]), torch.tensor([nan, -0.0]))
    assert not dropmini.same_bits(torch.tensor([0.0]), torch.tensor([-0.0]))
    assert not dropmini.same_bits(torch.ones(2), torch.ones(2, dtype=torch.float64))
    assert not dropmini.same_bits(torch.ones(2), torch.ones(1, 2))
    one = torch.tensor([1.0])
    assert not dropmini.same_bits(one, torch.nextafter(one, torch.tensor([2.0])))
    assert dropmini.same_bits(torch.ones(3, 2).t(), torch.ones(2, 3))
    with pytest.raises(TypeError, match="compares tensors"):
        dropmini.same_bits(torch.ones(1), [1.0])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=name_of)
def test_ulp_distance_counts_representable_steps(dtype):
    x = torch.tensor([1.0, -1.0, 0.0], dtype=dtype)
    up = torch.nextafter(x, torch.full_like(x, 10.0))
    up2 = torch.nextafter(up, torch.full_like(x, 10.0))
    assert dropmini.ulp_distance(x, x).tolist() == [0, 0, 0]
    assert dropmini.ulp_distance(x, up).tolist() == [1, 1, 1]
    assert dropmini.ulp_distance(x, up2).tolist() == [2, 2, 2]
    assert dropmini.ulp_distance(torch.tensor([-0.0]), torch.tensor([0.0])).item() == 1


def test_versus_torch_reports_a_difference():
    x = torch.randn(500, generator=torch.Generator().manual_seed(0))
    good = dropmini.versus_torch(dropmini.Dropout(0.3), nn.Dropout(0.3), x, seed=1)
    assert good and good.same_output and good.same_rng_state
    bad_p = dropmini.versus_torch(dropmini.Dropout(0.3), nn.Dropout(0.31), x, seed=1)
    assert not bad_p.same_output
    extra_draw = dropmini.versus_torch(
        lambda t: (torch.rand(1), dropmini.dropout(t, 0.3))[1], nn.Dropout(0.3), x, seed=1
    )
    assert not extra_draw.same_rng_state
    assert "False" in repr(extra_draw)


def test_versus_torch_leaves_the_input_alone_for_inplace():
    x = torch.arange(1.0, 6.0)
    dropmini.versus_torch(
        dropmini.Dropout(0.5, inplace=True), nn.Dropout(0.5, inplace=True), x, seed=0
    )
    assert torch.equal(x, torch.arange(1.0, 6.0))


def test_custom_dropout_same_mask_different_bits():
    x = torch.randn(10_000, generator=torch.Generator().manual_seed(0))
    r = dropmini.versus_torch(dropmini.CustomDropout(0.3), nn.Dropout(0.3), x, seed=0)
    assert torch.equal(r.ours == 0, r.theirs == 0)
    assert not r.same_output
    assert int(dropmini.ulp_distance(r.ours, r.theirs).max()) == 1
    half = dropmini.versus_torch(dropmini.CustomDropout(0.5), nn.Dropout(0.5), x, seed=0)
    assert half


def test_binomial_pmf_sums_to_one_and_matches_formula():
    pmf = dropmini.lab.stats.binomial_pmf(7, 0.3)
    assert math.isclose(sum(pmf), 1.0)
    assert math.isclose(pmf[2], 21 * 0.3**2 * 0.7**5)


def test_zero_counts_follow_the_mask():
    counts = dropmini.lab.stats.zero_counts(5, 0.2, runs=4, seed=3)
    torch.manual_seed(3)
    expected = (F.dropout(torch.ones(4, 5), 0.2) == 0).sum(dim=1)
    assert torch.equal(counts, expected)
    assert dropmini.lab.stats.zero_counts(6, 1.0, runs=3, seed=0).tolist() == [6, 6, 6]
    assert dropmini.lab.stats.zero_counts(6, 0.0, runs=3, seed=0).tolist() == [0, 0, 0]


def test_mask_figures_draw_the_mask():
    out = torch.tensor([[0.0, 2.0, 2.0], [2.0, 0.0, 0.0]])
    fig = dropmini.lab.plots.mask_figure(out, "t")
    image = fig.axes[0].images[0].get_array()
    assert image.tolist() == [[0, 1, 1], [1, 0, 0]]
    assert fig.axes[0].get_title() == "t"
    fig2 = dropmini.lab.plots.masks_figure([out, out[:1]], ["a", "b"])
    assert [a.get_title() for a in fig2.axes] == ["a", "b"]


def test_zero_count_figure_bars_are_frequencies():
    fig = dropmini.lab.plots.zero_count_figure(torch.tensor([0, 1, 1, 3]), n=3, p=0.5)
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    assert heights == [0.25, 0.5, 0.0, 0.25]


def test_tiny_gpt_modes_and_torch_twin():
    torch.manual_seed(0)
    model = TinyGPT(GPTConfig(dropout=0.2))
    idx = torch.tensor([[1, 2, 3]])
    drops = [m for m in model.modules() if isinstance(m, dropmini.Dropout)]
    assert len(drops) == 1 + 3 * model.config.n_layer
    twin = dropmini.to_torch(model)
    assert not any(isinstance(m, dropmini.Dropout) for m in twin.modules())
    assert sum(isinstance(m, nn.Dropout) for m in twin.modules()) == len(drops)
    for mode in (True, False):
        model.train(mode)
        twin.train(mode)
        assert dropmini.versus_torch(model, twin, idx, seed=4)
    model.eval()
    assert torch.equal(model(idx), model(idx))
    model.train()
    torch.manual_seed(0)
    a = model(idx)
    assert not torch.equal(a, model(idx))


def test_to_torch_keeps_parameters_and_modes():
    model = nn.Sequential(nn.Linear(3, 3), dropmini.Dropout1d(0.2, inplace=True)).eval()
    twin = dropmini.to_torch(model)
    assert isinstance(twin[1], nn.Dropout1d) and twin[1].inplace and not twin[1].training
    assert torch.equal(model[0].weight, twin[0].weight)
    assert isinstance(model[1], dropmini.Dropout1d)  # the original is untouched


def test_bytes_kept_for_backward():
    x = torch.ones(256, 4, requires_grad=True, dtype=torch.float64)
    assert dropmini.lab.memory.bytes_kept_for_backward(lambda t: dropmini.dropout(t, 0.3), x) == (
        256 * 4 * 8
    )
    assert dropmini.lab.memory.bytes_kept_for_backward(lambda t: t + 1, x) == 0
    both = dropmini.lab.memory.bytes_kept_for_backward(lambda t: t * t, x)
    assert both == 256 * 4 * 8  # t saved twice, one storage
