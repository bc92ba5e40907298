"""The digits split of chapter 10 and the figures of its training runs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from dropmini.lab import training
from dropmini.lab.data import load_digits_split


@pytest.fixture(scope="module")
def raw():
    images, labels = load_digits(return_X_y=True)
    return images, labels


def _rows(x: torch.Tensor, y: torch.Tensor) -> list[tuple]:
    return [(*row, label) for row, label in zip(x.tolist(), y.tolist(), strict=True)]


def test_every_image_lands_in_exactly_one_set_with_its_label(raw):
    images, labels = raw
    split = load_digits_split(seed=3, n_train=150)
    together = (
        _rows(split.x_train, split.y_train)
        + _rows(split.x_val, split.y_val)
        + _rows(split.x_test, split.y_test)
    )
    pairs = zip(images, labels, strict=True)
    original = [(*(row / 16).tolist(), int(label)) for row, label in pairs]
    assert sorted(together) == sorted(original)  # a permutation: nothing lost, nothing doubled


@pytest.mark.parametrize("n_train", [1, 200, 1000, 1795])
def test_sizes_follow_n_train(raw, n_train):
    split = load_digits_split(seed=0, n_train=n_train)
    rest = len(raw[1]) - n_train
    assert len(split.x_train) == len(split.y_train) == n_train
    assert len(split.x_val) == len(split.y_val) == rest // 2
    assert len(split.x_test) == len(split.y_test) == rest - rest // 2
    assert split.x_train.shape[1] == split.x_val.shape[1] == split.x_test.shape[1] == 64


def test_values_dtypes_and_float32_agrees_with_float64():
    wide = load_digits_split(seed=1)
    narrow = load_digits_split(seed=1, dtype=torch.float32)
    assert wide.x_train.dtype == torch.float64 and narrow.x_train.dtype == torch.float32
    assert wide.y_train.dtype == torch.int64 and set(wide.y_train.tolist()) <= set(range(10))
    assert wide.x_val.min() == 0 and wide.x_val.max() == 1
    assert torch.equal(narrow.x_test.double(), wide.x_test)  # k / 16 is exact in float32
    assert torch.equal(narrow.y_val, wide.y_val)


def test_the_seed_decides_the_split_and_no_global_generator_is_used():
    torch_before, numpy_before = torch.get_rng_state(), np.random.get_state()
    a, b, c = load_digits_split(seed=7), load_digits_split(seed=7), load_digits_split(seed=8)
    assert torch.equal(torch.get_rng_state(), torch_before)
    numpy_after = np.random.get_state()
    assert all(np.array_equal(u, v) for u, v in zip(numpy_after, numpy_before, strict=True))
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.y_train, c.y_train)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"n_train": 0}, ValueError),
        ({"n_train": 1796}, ValueError),
        ({"n_train": True}, TypeError),
        ({"n_train": 200.0}, TypeError),
        ({"dtype": torch.int64}, TypeError),
        ({"dtype": "float64"}, TypeError),
    ],
)
def test_bad_arguments_raise_clearly_and_draw_nothing(kwargs, error):
    before = torch.get_rng_state()
    with pytest.raises(error, match="n_train|dtype"):
        load_digits_split(seed=0, **kwargs)
    assert torch.equal(torch.get_rng_state(), before)


def test_loss_history_figure_draws_each_curve_distinctly():
    curves = {"a": [3.0, 2.0, 1.0], "b": [2.5, 1.5, 0.5], "c": [1.0, 1.0, 1.0]}
    fig = training.loss_history_figure(curves, ylabel="loss")
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == list(curves)
    for line, values in zip(lines, curves.values(), strict=True):
        assert list(line.get_xdata()) == [1, 2, 3] and list(line.get_ydata()) == values
    assert len({(line.get_color(), line.get_linestyle()) for line in lines}) == 3
    assert len({line.get_linestyle() for line in lines}) == 3  # told apart without colour too
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "loss" and ax.get_xlabel() == "epoch"
    plt.close(fig)


def test_gain_by_p_figure_has_a_line_per_seed_and_the_baseline():
    ps = [0.0, 0.2, 0.5]
    gains = {3: [0, 4, 2], 7: [0, -1, 5]}
    fig = training.gain_by_p_figure(ps, gains, baseline=-2.0)
    ax = fig.axes[0]
    by_label = {line.get_label(): line for line in ax.get_lines()}
    for seed, values in gains.items():
        line = by_label[f"seed {seed}"]
        assert list(line.get_xdata()) == ps and list(line.get_ydata()) == values
    baseline = by_label["logistic regression (median)"]
    assert set(baseline.get_ydata()) == {-2.0} and baseline.get_linestyle() == "--"
    assert [t for t in ax.get_xticks()] == ps
    plt.close(fig)
    without = training.gain_by_p_figure(ps, gains)
    assert all("regression" not in line.get_label() for line in without.axes[0].get_lines())
    plt.close(without)
