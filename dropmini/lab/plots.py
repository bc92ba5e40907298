"""Figures shared by the chapters. Each function draws one idea and returns the figure.

Every function takes plain arrays or sequences (numpy arrays, lists, CPU
tensors) and an optional ``ax`` (or ``axes``) to draw into; without one it
makes a figure of its own. Importing this module sets font sizes that stay
readable when a figure is shrunk to a phone's width (:data:`BOOK_STYLE`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from dropmini.lab.stats import binomial_pmf

__all__ = [
    "BOOK_STYLE",
    "axes_or_new",
    "bytes_kept_figure",
    "feature_maps_figure",
    "layer_statistics_figure",
    "loss_curves_figure",
    "mask_figure",
    "masks_figure",
    "mc_band_figure",
    "zero_count_figure",
]

#: Font sizes for figures about 5.5 inches wide. On a 390-px phone screen a
#: 12-pt label is still about 11 px tall.
BOOK_STYLE = {
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "figure.dpi": 100,
    "savefig.dpi": 100,
}
mpl.rcParams.update(BOOK_STYLE)

#: Light grey for dropped elements, blue for kept ones.
KEPT_DROPPED = ListedColormap(["#f4f4f4", "#1f77b4"])


def axes_or_new(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """Return ``ax`` and its figure, or a new figure of ``figsize`` with one axes.

    Every single-axes figure of the lab starts here, so that it can draw into
    a caller's axes or make its own, with constrained layout.

    Parameters
    ----------
    ax : matplotlib.axes.Axes or None
        Axes to draw into; None makes a new figure.
    figsize : tuple of float
        Width and height in inches of a new figure.

    Returns
    -------
    tuple
        The figure and the axes.

    Examples
    --------
    >>> fig, ax = axes_or_new(None, (4.0, 3.0))
    >>> axes_or_new(ax, (1.0, 1.0))[0] is fig
    True
    """
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


def _draw_mask(ax: Axes, output: ArrayLike, title: str) -> None:
    kept = np.atleast_2d(np.asarray(output) != 0).astype(float)
    ax.imshow(kept, cmap=KEPT_DROPPED, vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title)
    ax.set_xlabel("column")
    ax.set_ylabel("row")


def mask_figure(output: ArrayLike, title: str, ax: Axes | None = None) -> Figure:
    """Draw which elements of a dropout output were kept (blue) or zeroed (light grey).

    Parameters
    ----------
    output : array_like
        A 1-D or 2-D dropout result; a nonzero element counts as kept.
    title : str
        Axes title.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into.

    Examples
    --------
    >>> fig = mask_figure([[0.0, 2.0], [2.0, 0.0]], "mask")
    >>> fig.axes[0].get_xlabel()
    'column'
    """
    fig, ax = axes_or_new(ax, (5.5, 3.2))
    _draw_mask(ax, output, title)
    return fig


def masks_figure(
    outputs: Sequence[ArrayLike], titles: Sequence[str], axes: Sequence[Axes] | None = None
) -> Figure:
    """Draw several masks one above the other, for comparing draws or kinds of dropout.

    Parameters
    ----------
    outputs : sequence of array_like
        1-D or 2-D dropout results.
    titles : sequence of str
        One title per output.
    axes : sequence of matplotlib.axes.Axes, optional
        One axes per output; a new figure with a column of axes if omitted.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into.

    Examples
    --------
    >>> fig = masks_figure([[[1, 1], [1, 0]], [[0, 0], [1, 1]]], ["a", "b"])
    >>> [ax.get_title() for ax in fig.axes]
    ['a', 'b']
    """
    if axes is None:
        rows = len(outputs)
        fig, grid = plt.subplots(rows, 1, figsize=(5.5, 1.6 + 1.3 * rows), layout="constrained")
        axes = np.atleast_1d(grid).tolist()
    fig = axes[0].figure
    for ax, output, title in zip(axes, outputs, titles, strict=True):
        _draw_mask(ax, output, title)
    return fig


def zero_count_figure(counts: ArrayLike, n: int, p: float, ax: Axes | None = None) -> Figure:
    """Compare observed zero counts per run with the Binomial(n, p) probabilities.

    Parameters
    ----------
    counts : array_like of int
        Zero count of each run (see :func:`dropmini.lab.stats.zero_counts`).
    n : int
        Elements per run.
    p : float
        Dropout probability.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    matplotlib.figure.Figure
        Bars of observed frequencies with the Binomial probabilities as markers.

    Examples
    --------
    >>> fig = zero_count_figure([0, 1, 1, 2], n=5, p=0.2)
    >>> fig.axes[0].get_ylabel()
    'fraction of runs'
    """
    counts = np.asarray(counts)
    ks = np.arange(n + 1)
    observed = np.bincount(counts, minlength=n + 1) / len(counts)
    fig, ax = axes_or_new(ax, (5.5, 3.6))
    ax.bar(ks, observed, color="#1f77b4", alpha=0.7, label=f"observed ({len(counts)} runs)")
    ax.plot(ks, binomial_pmf(n, p), "o", color="#d62728", markersize=8, label=f"Binomial({n}, {p})")
    ax.axvline(n * p, color="grey", linestyle="--", label=f"p·n = {n * p:g}")
    ax.set_xlabel("number of zeros in the output")
    ax.set_ylabel("fraction of runs")
    ax.set_xticks(ks)
    ax.legend()
    return fig


def feature_maps_figure(
    rows: Sequence[ArrayLike], row_titles: Sequence[str], axes: ArrayLike | None = None
) -> Figure:
    """Draw feature maps in a grid: one row per ``(C, H, W)`` array, one column per channel.

    Parameters
    ----------
    rows : sequence of array_like
        Each of shape ``(C, H, W)``, all with the same ``C``.
    row_titles : sequence of str
        A label per row, shown on the left.
    axes : 2-D array of matplotlib.axes.Axes, optional
        A ``len(rows)`` by ``C`` grid of axes; a new figure if omitted.

    Returns
    -------
    matplotlib.figure.Figure
        The grid; all panels share one colour scale.

    Examples
    --------
    >>> fig = feature_maps_figure([np.ones((2, 4, 4))], ["maps"])
    >>> len(fig.axes)
    2
    """
    maps = [np.asarray(r) for r in rows]
    channels = maps[0].shape[0]
    vmax = max(float(m.max()) for m in maps)
    if axes is None:
        _, axes = plt.subplots(
            len(maps),
            channels,
            figsize=(1.4 * channels + 0.8, 1.5 * len(maps)),
            squeeze=False,
            layout="constrained",
        )
    axes = np.asarray(axes).reshape(len(maps), channels)
    for r, (row, title) in enumerate(zip(maps, row_titles, strict=True)):
        for ch in range(channels):
            ax = axes[r][ch]
            ax.imshow(row[ch], cmap="viridis", vmin=0, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == len(maps) - 1:
                ax.set_xlabel(f"channel {ch}")
        axes[r][0].set_ylabel(title)
    return axes[0][0].figure


def layer_statistics_figure(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Plot mean and variance of activations against depth, one line per network.

    Parameters
    ----------
    curves : mapping
        Label to ``(means, variances)``, as returned by
        :func:`dropmini.lab.experiments.selu_stack_statistics`.
    axes : pair of matplotlib.axes.Axes, optional
        Axes for the mean and the variance; a new figure (one above the other) if omitted.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: mean (target 0) and variance (target 1) per layer.

    Examples
    --------
    >>> fig = layer_statistics_figure({"a": ([0.0, 0.1], [1.0, 1.1])})
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['mean', 'variance']
    """
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(5.5, 5.5), sharex=True, layout="constrained")
    ax_mean, ax_var = axes
    markers = "osD^v"
    for i, (label, (means, variances)) in enumerate(curves.items()):
        layers = np.arange(1, len(means) + 1)
        style = {"marker": markers[i % len(markers)], "markersize": 4, "label": label}
        ax_mean.plot(layers, means, **style)
        ax_var.plot(layers, variances, **style)
    ax_mean.axhline(0, color="grey", linestyle="--")
    ax_var.axhline(1, color="grey", linestyle="--")
    ax_mean.set_ylabel("mean")
    ax_var.set_ylabel("variance")
    ax_var.set_xlabel("layer")
    ax_mean.legend()
    return ax_mean.figure


def loss_curves_figure(
    runs: Mapping[float, tuple[Sequence[float], Sequence[float]]], ax: Axes | None = None
) -> Figure:
    """Training (dashed) and validation (solid) loss per epoch, one colour per dropout p.

    Parameters
    ----------
    runs : mapping
        ``p`` to ``(training losses, validation losses)``, one value per epoch.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, log-scaled loss.

    Examples
    --------
    >>> fig = loss_curves_figure({0.5: ([1.0, 0.5], [1.0, 0.8])})
    >>> fig.axes[0].get_ylabel()
    'mean squared error'
    """
    fig, ax = axes_or_new(ax, (5.5, 4.2))
    for i, (p, (train, val)) in enumerate(runs.items()):
        epochs = np.arange(1, len(train) + 1)
        ax.plot(epochs, val, color=f"C{i}", label=f"p = {p}: validation")
        ax.plot(epochs, train, color=f"C{i}", linestyle="--", label=f"p = {p}: training")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean squared error")
    ax.legend(ncol=2, fontsize=10)
    return fig


def mc_band_figure(
    x_train: ArrayLike,
    y_train: ArrayLike,
    x: ArrayLike,
    y_true: ArrayLike,
    mean: ArrayLike,
    std: ArrayLike,
    ax: Axes | None = None,
) -> Figure:
    """Training points, the true function, the MC-dropout mean and a ±2σ band.

    Parameters
    ----------
    x_train, y_train : array_like
        The training points.
    x, y_true : array_like
        A grid and the true function on it.
    mean, std : array_like
        Predictive mean and standard deviation on ``x``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; the training range is shaded.

    Examples
    --------
    >>> grid = np.linspace(-1, 1, 5)
    >>> fig = mc_band_figure([0.0], [0.0], grid, grid, grid, np.ones(5))
    >>> fig.axes[0].get_xlabel()
    'x'
    """
    x_train, y_train = np.ravel(x_train), np.ravel(y_train)
    x, y_true, m, s = np.ravel(x), np.ravel(y_true), np.ravel(mean), np.ravel(std)
    fig, ax = axes_or_new(ax, (5.5, 4.2))
    ax.axvspan(x_train.min(), x_train.max(), color="grey", alpha=0.12, label="training range")
    ax.fill_between(x, m - 2 * s, m + 2 * s, color="C0", alpha=0.3, label="mean ± 2σ")
    ax.plot(x, m, color="C0", label="predictive mean")
    ax.plot(x, y_true, color="k", linestyle=":", label="true function")
    ax.plot(x_train, y_train, "o", color="C3", markersize=4, label="training data")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(fontsize=10, loc="upper center", ncol=2)
    return fig


def bytes_kept_figure(
    sizes: Sequence[int], kept: Mapping[str, Sequence[int]], ax: Axes | None = None
) -> Figure:
    """Bytes kept for backward against input size, one line per contender.

    Parameters
    ----------
    sizes : sequence of int
        Element counts.
    kept : mapping
        Contender name to bytes kept at each size; zeros are not drawn on the log axis.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    matplotlib.figure.Figure
        Log-log axes; lines that coincide are told apart by marker and dash.

    Examples
    --------
    >>> fig = bytes_kept_figure([10, 100], {"mask": [40, 400]})
    >>> fig.axes[0].get_xlabel()
    'elements (float32)'
    """
    fig, ax = axes_or_new(ax, (5.5, 4.2))
    styles = [("o", "-"), ("s", "--"), ("^", ":"), ("D", "-.")]
    for i, (name, values) in enumerate(kept.items()):
        xs = [s for s, v in zip(sizes, values, strict=True) if v > 0]
        ys = [v for v in values if v > 0]
        marker, dash = styles[i % len(styles)]
        ax.plot(xs, ys, marker=marker, linestyle=dash, label=name)
    ax.axhline(8 * 1024, color="grey", linestyle=":", label="8 KiB")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("elements (float32)")
    ax.set_ylabel("bytes kept for backward")
    ax.legend()
    return fig
