"""Figures shared by the chapters. Each function draws one idea and returns the figure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from dropmini.lab.bench import Measurement
    from dropmini.lab.data import RegressionData
    from dropmini.lab.training import TrainingHistory

from dropmini.lab.stats import binomial_pmf

__all__ = [
    "bytes_kept_figure",
    "feature_maps_figure",
    "layer_statistics_figure",
    "loss_curves_figure",
    "mask_figure",
    "masks_figure",
    "mc_band_figure",
    "time_per_element_figure",
    "zero_count_figure",
]

KEPT_DROPPED = ListedColormap(["#f4f4f4", "#1f77b4"])


def _draw_mask(ax: plt.Axes, output: torch.Tensor, title: str) -> None:
    kept = (output != 0).to(torch.float32)
    if kept.dim() == 1:
        kept = kept.unsqueeze(0)
    ax.imshow(kept.numpy(), cmap=KEPT_DROPPED, vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title)
    ax.set_xlabel("column")
    ax.set_ylabel("row")


def mask_figure(output: torch.Tensor, title: str) -> Figure:
    """Draw which elements of a dropout output were kept (blue) or zeroed (light grey).

    Parameters
    ----------
    output : torch.Tensor
        A 1-D or 2-D dropout result; a nonzero element counts as kept.
    title : str
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, one axes.

    Examples
    --------
    >>> fig = mask_figure(torch.tensor([[0.0, 2.0], [2.0, 0.0]]), "mask")
    >>> fig.axes[0].get_xlabel()
    'column'
    """
    fig, ax = plt.subplots(figsize=(6, 3.2))
    _draw_mask(ax, output, title)
    fig.tight_layout()
    return fig


def masks_figure(outputs: Sequence[torch.Tensor], titles: Sequence[str]) -> Figure:
    """Draw several masks side by side, for comparing draws or kinds of dropout.

    Parameters
    ----------
    outputs : sequence of torch.Tensor
        1-D or 2-D dropout results.
    titles : sequence of str
        One title per output.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, one axes per output.

    Examples
    --------
    >>> fig = masks_figure([torch.ones(2, 2), torch.zeros(2, 2)], ["a", "b"])
    >>> len(fig.axes)
    2
    """
    fig, axes = plt.subplots(1, len(outputs), figsize=(3.2 * len(outputs), 3.4), squeeze=False)
    for ax, output, title in zip(axes[0], outputs, titles, strict=True):
        _draw_mask(ax, output, title)
    fig.tight_layout()
    return fig


def zero_count_figure(counts: torch.Tensor, n: int, p: float) -> Figure:
    """Compare observed zero counts per run with the Binomial(n, p) probabilities.

    Parameters
    ----------
    counts : torch.Tensor
        Zero count of each run (see :func:`dropmini.lab.stats.zero_counts`).
    n : int
        Elements per run.
    p : float
        Dropout probability.

    Returns
    -------
    matplotlib.figure.Figure
        Bars of observed frequencies with the Binomial probabilities as markers.

    Examples
    --------
    >>> fig = zero_count_figure(torch.tensor([0, 1, 1, 2]), n=5, p=0.2)
    >>> fig.axes[0].get_ylabel()
    'fraction of runs'
    """
    ks = list(range(n + 1))
    observed = torch.bincount(counts, minlength=n + 1).double() / len(counts)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(
        ks, observed.tolist(), color="#1f77b4", alpha=0.7, label=f"observed ({len(counts)} runs)"
    )
    ax.plot(ks, binomial_pmf(n, p), "o", color="#d62728", label=f"Binomial({n}, {p})")
    ax.axvline(n * p, color="grey", linestyle="--", label=f"p·n = {n * p:g}")
    ax.set_xlabel("number of zeros in the output")
    ax.set_ylabel("fraction of runs")
    ax.set_xticks(ks)
    ax.legend()
    fig.tight_layout()
    return fig


def feature_maps_figure(rows: Sequence[torch.Tensor], row_titles: Sequence[str]) -> Figure:
    """Draw feature maps in a grid: one row per ``(C, H, W)`` tensor, one column per channel.

    Parameters
    ----------
    rows : sequence of torch.Tensor
        Each of shape ``(C, H, W)``, all with the same ``C``.
    row_titles : sequence of str
        A label per row, shown on the left.

    Returns
    -------
    matplotlib.figure.Figure
        The grid; all panels share one colour scale.

    Examples
    --------
    >>> fig = feature_maps_figure([torch.ones(2, 4, 4)], ["maps"])
    >>> len(fig.axes)
    2
    """
    channels = rows[0].shape[0]
    vmax = max(float(r.max()) for r in rows)
    fig, axes = plt.subplots(
        len(rows), channels, figsize=(1.6 * channels, 1.7 * len(rows)), squeeze=False
    )
    for r, (maps, title) in enumerate(zip(rows, row_titles, strict=True)):
        for ch in range(channels):
            ax = axes[r][ch]
            ax.imshow(maps[ch].numpy(), cmap="viridis", vmin=0, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == len(rows) - 1:
                ax.set_xlabel(f"channel {ch}")
        axes[r][0].set_ylabel(title)
    fig.tight_layout()
    return fig


def layer_statistics_figure(
    curves: dict[str, tuple[Sequence[float], Sequence[float]]],
) -> Figure:
    """Plot mean and variance of activations against depth, one line per network.

    Parameters
    ----------
    curves : dict
        Label to ``(means, variances)``, as returned by
        :func:`dropmini.lab.experiments.selu_stack_statistics`.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: mean (target 0) and variance (target 1) per layer.

    Examples
    --------
    >>> fig = layer_statistics_figure({"a": ([0.0, 0.1], [1.0, 1.1])})
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['mean of activations', 'variance of activations']
    """
    fig, (ax_mean, ax_var) = plt.subplots(1, 2, figsize=(9, 3.5))
    for label, (means, variances) in curves.items():
        layers = range(1, len(means) + 1)
        ax_mean.plot(layers, means, marker=".", label=label)
        ax_var.plot(layers, variances, marker=".", label=label)
    ax_mean.axhline(0, color="grey", linestyle="--")
    ax_var.axhline(1, color="grey", linestyle="--")
    for ax, name in ((ax_mean, "mean"), (ax_var, "variance")):
        ax.set_xlabel("layer")
        ax.set_ylabel(f"{name} of activations")
    ax_mean.legend()
    fig.tight_layout()
    return fig


def loss_curves_figure(runs: dict[float, TrainingHistory]) -> Figure:
    """Training (dashed) and validation (solid) loss per epoch, one colour per dropout p.

    Parameters
    ----------
    runs : dict
        ``p`` to :class:`dropmini.lab.training.TrainingHistory`.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, log-scaled loss.

    Examples
    --------
    >>> from dropmini.lab.training import TrainingHistory
    >>> fig = loss_curves_figure({0.5: TrainingHistory([1.0, 0.5], [1.0, 0.8])})
    >>> fig.axes[0].get_ylabel()
    'mean squared error'
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (p, history) in enumerate(runs.items()):
        epochs = range(1, len(history.train_loss) + 1)
        colour = f"C{i}"
        ax.plot(epochs, history.val_loss, color=colour, label=f"p = {p}: validation")
        ax.plot(
            epochs, history.train_loss, color=colour, linestyle="--", label=f"p = {p}: training"
        )
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean squared error")
    ax.legend(ncol=2, fontsize="small")
    fig.tight_layout()
    return fig


def mc_band_figure(data: RegressionData, mean: torch.Tensor, std: torch.Tensor) -> Figure:
    """Training points, the true function, the MC-dropout mean and a ±2σ band.

    Parameters
    ----------
    data : RegressionData
        1-D data, the validation grid holding the true function.
    mean, std : torch.Tensor
        Predictive mean and standard deviation on ``data.x_val``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; the training range is shaded.

    Examples
    --------
    >>> from dropmini.lab.data import make_sine_gap_data
    >>> d = make_sine_gap_data(n_train=4)
    >>> fig = mc_band_figure(d, d.y_val, torch.ones_like(d.y_val))
    >>> fig.axes[0].get_xlabel()
    'x'
    """
    x = data.x_val.flatten().numpy()
    m, s = mean.flatten().numpy(), std.flatten().numpy()
    fig, ax = plt.subplots(figsize=(7, 4))
    lo, hi = float(data.x_train.min()), float(data.x_train.max())
    ax.axvspan(lo, hi, color="grey", alpha=0.12, label="training range")
    ax.fill_between(x, m - 2 * s, m + 2 * s, color="C0", alpha=0.3, label="mean ± 2σ")
    ax.plot(x, m, color="C0", label="predictive mean")
    ax.plot(x, data.y_val.flatten().numpy(), color="k", linestyle=":", label="true function")
    ax.plot(data.x_train.flatten().numpy(), data.y_train.flatten().numpy(), "o", color="C3",
            markersize=4, label="training data")  # fmt: skip
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(fontsize="small", loc="upper center", ncol=3)
    fig.tight_layout()
    return fig


def time_per_element_figure(results: Sequence[Measurement], forward_backward: bool) -> Figure:
    """Median nanoseconds per element against size, one line per contender.

    Parameters
    ----------
    results : sequence of Measurement
        From :func:`dropmini.lab.bench.run`.
    forward_backward : bool
        Plot forward + backward times if true, forward times otherwise.

    Returns
    -------
    matplotlib.figure.Figure
        Log-scaled axes.

    Examples
    --------
    >>> from dropmini.lab.bench import Measurement
    >>> fig = time_per_element_figure([Measurement("torch", 4096, 1e-4, 2e-4, 16384)], True)
    >>> fig.axes[0].get_ylabel()
    'ns per element (forward + backward)'
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    for name in dict.fromkeys(m.name for m in results):
        rows = [m for m in results if m.name == name]
        ns = [m.forward_backward_ns_per_element if forward_backward else m.forward_ns_per_element
              for m in rows]  # fmt: skip
        ax.plot([m.size for m in rows], ns, marker="o", label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("elements")
    ax.set_ylabel(f"ns per element ({'forward + backward' if forward_backward else 'forward'})")
    ax.legend()
    fig.tight_layout()
    return fig


def bytes_kept_figure(sizes: Sequence[int], kept: dict[str, Sequence[int]]) -> Figure:
    """Bytes kept for backward against input size, one line per contender.

    Parameters
    ----------
    sizes : sequence of int
        Element counts.
    kept : dict
        Contender name to bytes kept at each size; zeros are not drawn on the log axis.

    Returns
    -------
    matplotlib.figure.Figure
        Log-log axes.

    Examples
    --------
    >>> fig = bytes_kept_figure([10, 100], {"mask": [40, 400]})
    >>> fig.axes[0].get_xlabel()
    'elements (float32)'
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, values in kept.items():
        points = [(s, v) for s, v in zip(sizes, values, strict=True) if v > 0]
        ax.plot([s for s, _ in points], [v for _, v in points], marker="o", label=name)
    ax.axhline(8 * 1024, color="grey", linestyle=":", label="8 KiB")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("elements (float32)")
    ax.set_ylabel("bytes kept for backward")
    ax.legend()
    fig.tight_layout()
    return fig
