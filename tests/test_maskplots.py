"""The mask and frontier figures draw their inputs, on labelled axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from dropmini.lab import maskplots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_pipeline_figure_draws_each_u_on_its_side_of_q():
    u = [0.1, 0.95, 0.5, 0.79, 0.81]
    fig = maskplots.mask_pipeline_figure(42, [42, 7], [1, 2, 3, 4, 5], [6, 7, 8, 9, 10], u, 0.8)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel()
    kept, dropped = ax.lines[0], ax.lines[1]
    assert list(kept.get_xdata()) == [0, 2, 3] and list(kept.get_ydata()) == [0.1, 0.5, 0.79]
    assert list(dropped.get_xdata()) == [1, 4] and list(dropped.get_ydata()) == [0.95, 0.81]
    assert list(ax.lines[2].get_ydata()) == [0.8, 0.8]
    assert "0x0000002a" in ax.get_title() and "kept" in ax.get_title()


def test_frontier_figure_has_one_labelled_point_per_method():
    names, kept, seconds = ["torch", "packed", "seeded"], [4e6, 1.25e5, 5056], [0.06, 0.064, 0.12]
    fig = maskplots.frontier_figure(names, kept, seconds)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel() and ax.get_ylabel()
    points = [(line.get_xdata()[0], line.get_ydata()[0]) for line in ax.lines]
    assert points == [(k, s * 1e3) for k, s in zip(kept, seconds, strict=True)]
    assert [t.get_text() for t in ax.texts] == names


def test_frontier_labels_of_one_column_point_away_from_each_other():
    names = ["torch", "torch again", "packed"]
    for twin_time, twin_above in ((0.08, True), (0.05, False)):
        ax = maskplots.frontier_figure(names, [4e6, 4e6, 1.25e5], [0.06, twin_time, 0.07]).axes[0]
        offsets = {t.get_text(): t.xyann[1] for t in ax.texts}
        assert (offsets["torch again"] > 0) == twin_above
        assert (offsets["torch"] > 0) == (not twin_above)
        assert offsets["packed"] > 0  # alone in its column: the alternation (index 2: above)


def test_time_ratio_figure_divides_by_the_baseline_and_tells_lines_apart():
    seconds = {"torch": [1.0, 2.0], "dropmini": [1.0, 2.0], "seeded": [2.0, 5.0]}
    fig = maskplots.time_ratio_figure([10, 100], seconds)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel() == "time / torch's time"
    assert [list(line.get_ydata()) for line in ax.lines] == [[1, 1], [1, 1], [2, 2.5]]
    styles = {(line.get_marker(), line.get_linestyle()) for line in ax.lines}
    assert len(styles) == 3  # overlapping lines still distinguishable
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(seconds)


def test_time_ratio_figure_shades_the_resolution_band():
    seconds = {"torch": [1.0, 2.0], "torch again": [1.1, 1.9]}
    ax = maskplots.time_ratio_figure([10, 100], seconds, resolution=0.1).axes[0]
    (band,) = ax.patches
    assert band.get_y() == pytest.approx(1 / 1.1)
    assert band.get_y() + band.get_height() == pytest.approx(1.1)
    assert "within the resolution" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert not maskplots.time_ratio_figure([10, 100], seconds).axes[0].patches


def test_draws_on_a_given_axes():
    fig, ax = plt.subplots()
    assert maskplots.frontier_figure(["a"], [1.0], [1.0], ax=ax) is fig
