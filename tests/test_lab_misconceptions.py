"""The retention/drop figure of chapter 12 marks what it is given, on both scales."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dropmini.lab import misconceptions  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_band_and_line_sit_at_the_given_retention_probabilities():
    fig = misconceptions.retention_figure((0.5, 0.8), 0.8)
    ax = fig.axes[0]
    band = ax.patches[0].get_path().vertices @ np.diag([1, 0])
    xs = ax.transData.inverted().transform(ax.patches[0].get_transform().transform(band))[:, 0]
    assert min(xs) == pytest.approx(0.5) and max(xs) == pytest.approx(0.8)
    assert list(ax.lines[0].get_xdata()) == [0.8, 0.8]
    assert ax.get_legend_handles_labels()[1] == ["hidden units", "inputs"]


def test_top_axis_is_the_drop_probability():
    fig = misconceptions.retention_figure((0.5, 0.8), 0.8)
    ax = fig.axes[0]
    top = ax.child_axes[0]
    assert "drop" in top.get_xlabel() and "retention" in ax.get_xlabel()
    fig.canvas.draw()
    # A retention of 0.25 on the bottom axis lines up with a drop probability of 0.75 on top.
    bottom_px = ax.transData.transform((0.25, 0))[0]
    top_px = top.transData.transform((0.75, 0))[0]
    assert bottom_px == pytest.approx(top_px)


@pytest.mark.parametrize("hidden, inputs", [((0.8, 0.5), 0.8), ((0.5, 0.8), 1.2)])
def test_rejects_impossible_probabilities(hidden, inputs):
    with pytest.raises(ValueError, match="retention_figure needs"):
        misconceptions.retention_figure(hidden, inputs)
