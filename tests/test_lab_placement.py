"""Where dropout goes: orders, logits, regression outputs, dropout sites and the figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import dropmini  # noqa: E402
from dropmini.lab import placement  # noqa: E402
from dropmini.lab.gpt import Block, GPTConfig  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_both_orders_match_torch_in_each_order():
    x = torch.linspace(-2, 2, 41)
    before, after = placement.both_orders(torch.sigmoid, x, 0.3, seed=5)
    torch.manual_seed(5)
    assert dropmini.same_bits(before, torch.sigmoid(F.dropout(x, 0.3)))
    torch.manual_seed(5)
    assert dropmini.same_bits(after, F.dropout(torch.sigmoid(x), 0.3))


@pytest.mark.parametrize(
    "call",
    [
        lambda: placement.both_orders(torch.relu, torch.linspace(-1, 1, 9), 0.5, seed=0),
        lambda: placement.logit_dropout(torch.tensor([1.0, 2.0]), 0.5, draws=10, seed=0),
        lambda: placement.output_dropout_loss([0.5, 1.0], 1.0, 0.5, draws=10, seed=0),
        lambda: placement.fully_dropped_fraction(3, 0.5, examples=10, seed=0),
    ],
    ids=["both_orders", "logit_dropout", "output_dropout_loss", "fully_dropped_fraction"],
)
def test_helpers_leave_the_callers_generator_alone(call):
    torch.manual_seed(123)
    torch.rand(3)  # a state that no helper's own seed gives
    state = torch.get_rng_state()
    call()
    assert torch.equal(torch.get_rng_state(), state)


def test_relu_orders_differ_only_in_negative_zeros():
    # Whether torch.relu keeps a -0.0 is a kernel detail (x86 keeps it, aarch64's vector
    # loop does not), so the test asks only what holds on both: the bits can differ only
    # where dropout left a -0.0, and not at all once every zero is made +0.0.
    x = torch.linspace(-3, 3, 101)
    before, after = placement.both_orders(torch.relu, x, 0.5, seed=0)
    assert torch.equal(before, after)
    torch.manual_seed(0)
    dropped = dropmini.dropout(x, 0.5)
    negative_zeros = (dropped == 0) & torch.signbit(dropped)
    assert negative_zeros.sum() > 10  # dropped negatives exist, so the check below can fail
    differ = dropmini.ulp_distance(before, after) != 0
    assert not (differ & ~negative_zeros).any()
    assert dropmini.same_bits(before + 0.0, after)
    assert not torch.signbit(after).any()


@pytest.mark.parametrize("activation", [torch.sigmoid, torch.tanh, F.gelu])
def test_only_dropout_after_the_activation_keeps_the_mean(activation):
    x = torch.tensor([-1.5, -0.5, 0.75, 2.0], dtype=torch.float64)
    draws, p = 200_000, 0.3
    before, after = placement.both_orders(activation, x.expand(draws, -1), p, seed=7)
    # The expected values, by hand: dropout is 0 with probability p, x / (1 - p) otherwise.
    expected_before = p * activation(torch.zeros(())) + (1 - p) * activation(x / (1 - p))
    tolerance = 5 * before.std(0) / draws**0.5
    assert bool(((before.mean(0) - expected_before).abs() < tolerance).all())
    assert bool(((after.mean(0) - activation(x)).abs() < 5 * after.std(0) / draws**0.5).all())
    assert bool(((expected_before - activation(x)).abs() > 1e-3).all())  # not f(x)


def test_logit_dropout_matches_torch():
    logits = torch.tensor([2.0, 1.0, 0.5, -1.0])
    probs, predicted = placement.logit_dropout(logits, 0.5, draws=100, seed=3)
    torch.manual_seed(3)
    dropped = F.dropout(logits.expand(100, 4), 0.5)
    assert torch.equal(probs, dropped.softmax(-1))
    assert torch.equal(predicted, dropped.argmax(-1))


def test_output_dropout_loss_agrees_with_the_closed_form():
    y, p = 1.0, 0.5
    w = np.array([0.0, 0.5, 1.0, 2.0])
    mc = placement.output_dropout_loss(w, y, p, draws=200_000, seed=0)
    exact = p * y**2 + (1 - p) * (y - w / (1 - p)) ** 2
    np.testing.assert_allclose(mc, exact, rtol=0.02, atol=0.01)


def test_fully_dropped_fraction_is_near_p_to_the_n():
    seen = placement.fully_dropped_fraction(3, 0.5, examples=200_000, seed=0)
    assert abs(seen - 0.125) < 5 * (0.125 * 0.875 / 200_000) ** 0.5


def test_dropout_sites_of_a_block_run_in_order_and_restore_the_mode():
    torch.manual_seed(0)
    block = Block(GPTConfig()).eval()
    h = torch.zeros(2, 8, 16)
    sites = placement.dropout_sites(block, h)
    assert sites == [("attn.attn_dropout", (2, 2, 8, 8)), ("attn.resid_dropout", (2, 8, 16)),
                     ("mlp.3", (2, 8, 16))]  # fmt: skip
    assert not block.training
    assert not any(m._forward_hooks for m in block.modules())


def test_dropout_sites_sees_torch_dropout_too():
    model = nn.Sequential(nn.Dropout(0.5), nn.Linear(3, 3), dropmini.Dropout(0.5))
    assert [name for name, _ in placement.dropout_sites(model, torch.ones(1, 3))] == ["0", "2"]


def test_a_block_with_p_one_is_the_identity_in_training():
    torch.manual_seed(0)
    block = Block(GPTConfig(dropout=1.0)).train()
    h = torch.rand(2, 8, 16)
    assert dropmini.same_bits(block(h), h)


def test_loss_figure_marks_both_minima():
    fig = placement.output_dropout_loss_figure([0, 1, 2], [1, 0, 1], [1, 0.5, 2], 2.0, 0.25)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel()
    assert list(ax.lines[2].get_xdata()) == [2.0, 2.0]
    assert list(ax.lines[3].get_xdata()) == [1.5, 1.5]
    assert len({line.get_linestyle() for line in ax.lines}) == 4


def test_loss_figure_draws_on_a_given_axes():
    fig, ax = plt.subplots()
    assert placement.output_dropout_loss_figure([0], [0], [0], 1.0, 0.5, ax=ax) is fig
