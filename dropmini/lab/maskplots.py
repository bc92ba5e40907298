"""Figures of chapters 13 and 14: where a mask comes from, and what keeping it costs."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dropmini.lab.plots import BOOK_STYLE, axes_or_new

mpl.rcParams.update(BOOK_STYLE)

__all__ = ["frontier_figure", "mask_pipeline_figure", "time_ratio_figure"]

_MARKERS = "os^Dv<>P*X"
_DASHES = ["-", "--", "-.", ":"]


def mask_pipeline_figure(
    seed: int,
    first_words: Sequence[int],
    high: Sequence[int],
    low: Sequence[int],
    u: Sequence[float],
    q: float,
    ax: Axes | None = None,
) -> Figure:
    """From seed to mask: the chain of steps for element 0, then ``u`` against ``q`` for each.

    The title spells the chain for element 0 (seed, first state words, its two
    32-bit draws, its double ``u``, the comparison); the axes show every
    element's ``u`` with the line ``u = q``: filled markers (below the line) are
    kept, hollow ones dropped.

    Parameters
    ----------
    seed : int
        The seed given to ``torch.manual_seed``.
    first_words : sequence of int
        The first state words after seeding (a few are shown).
    high, low : sequence of int
        The two 32-bit words each element took, first (high) and second (low).
    u : sequence of float
        The 53-bit doubles in [0, 1), one per element.
    q : float
        The keep probability ``1 - p``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = mask_pipeline_figure(0, [0, 1], [1, 2], [3, 4], [0.2, 0.9], 0.5)
    >>> fig.axes[0].get_ylabel()
    'u = low 53 bits / 2**53'
    """
    fig, ax = axes_or_new(ax, (5.5, 5.2))
    index = list(range(len(u)))
    kept = [i for i in index if u[i] < q]
    dropped = [i for i in index if not u[i] < q]
    ax.plot(kept, [u[i] for i in kept], "o", color="C0", markersize=8, label="u < q: kept")
    ax.plot(dropped, [u[i] for i in dropped], "o", mfc="none", color="C3", markersize=8,
            label="u ≥ q: dropped")  # fmt: skip
    ax.axhline(q, color="k", linestyle="--", label=f"q = 1 - p = {q:g}")
    ax.set_xlabel("element (order of drawing)")
    ax.set_ylabel("u = low 53 bits / 2**53")
    ax.set_ylim(-0.05, 1.05)
    words = ", ".join(f"{w:#010x}" for w in first_words[:2])
    verdict = "kept" if u[0] < q else "dropped"
    ax.set_title(
        f"seed {seed} → state words {words}, …\n"
        f"element 0 draws a = {high[0]:#010x}, b = {low[0]:#010x}\n"
        f"→ u = {u[0]:.6f} → u < {q:g}? {verdict}",
        fontsize=12,
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    return fig


def frontier_figure(
    names: Sequence[str],
    bytes_kept: Sequence[float],
    seconds: Sequence[float],
    ax: Axes | None = None,
) -> Figure:
    """Bytes kept for backward (log x) against forward + backward time, one labelled point each.

    Labels alternate above and below their points, so list the methods in order of bytes;
    of two methods that keep the same bytes (one drawn above the other), the higher
    one's label goes above and the lower one's below, so that they never meet.

    Parameters
    ----------
    names : sequence of str
        One label per method.
    bytes_kept : sequence of float
        Bytes each keeps for backward (positive).
    seconds : sequence of float
        Forward + backward time of each, in seconds (drawn in milliseconds).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = frontier_figure(["torch", "packed"], [4e6, 1.25e5], [0.06, 0.065])
    >>> fig.axes[0].get_xlabel()
    'bytes kept for backward (log scale)'
    """
    fig, ax = axes_or_new(ax, (5.5, 4))
    above = [i % 2 == 0 for i in range(len(names))]  # alternate, so neighbours' labels part
    for i, (kept, s) in enumerate(zip(bytes_kept, seconds, strict=True)):
        for j in range(i):
            if bytes_kept[j] == kept:  # same column: the higher label up, the lower down
                above[j], above[i] = seconds[j] >= s, seconds[j] < s
    for i, (name, kept, s) in enumerate(zip(names, bytes_kept, seconds, strict=True)):
        ax.plot([kept], [s * 1e3], _MARKERS[i % len(_MARKERS)], color=f"C{i}", markersize=9)
        ax.annotate(
            name,
            (kept, s * 1e3),
            xytext=(0, 10 if above[i] else -10),
            textcoords="offset points",
            ha="center",
            va="bottom" if above[i] else "top",
        )
    ax.set_xscale("log")
    ax.set_xlabel("bytes kept for backward (log scale)")
    ax.set_ylabel("forward + backward (ms)")
    ax.margins(x=0.15, y=0.2)
    ax.set_ylim(bottom=0)
    return fig


def time_ratio_figure(
    sizes: Sequence[int],
    seconds: dict[str, Sequence[float]],
    baseline: str = "torch",
    ax: Axes | None = None,
    resolution: float | None = None,
) -> Figure:
    """Each method's time divided by the baseline's, against size; distinct markers and dashes.

    Lines that would lie on top of each other in a plot of raw times (torch and
    dropmini) are told apart here: the baseline is the line at 1. With
    ``resolution`` (see :func:`dropmini.lab.bench.resolution`), a grey band from
    ``1 / (1 + resolution)`` to ``1 + resolution`` marks the ratios that show
    no difference from the baseline.

    Parameters
    ----------
    sizes : sequence of int
        Element counts.
    seconds : dict
        Method name to its times at each size (same unit for all); must hold ``baseline``.
    baseline : str, default "torch"
        The method every time is divided by.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    resolution : float, optional
        Relative gap between two timings of identical code; no band when None.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = time_ratio_figure([10, 100], {"torch": [1.0, 2.0], "seeded": [2.0, 4.0]})
    >>> fig.axes[0].lines[1].get_ydata().tolist()
    [2.0, 2.0]
    >>> fig = time_ratio_figure([10, 100], {"torch": [1.0, 2.0]}, resolution=0.25)
    >>> band = fig.axes[0].patches[0]   # from 1 / 1.25 to 1.25
    >>> round(band.get_y(), 6), round(band.get_y() + band.get_height(), 6)
    (0.8, 1.25)
    """
    fig, ax = axes_or_new(ax, (5.5, 5))
    if resolution is not None:
        ax.axhspan(1 / (1 + resolution), 1 + resolution, color="0.85", zorder=0,
                   label="within the resolution")  # fmt: skip
    base = seconds[baseline]
    for i, (name, times) in enumerate(seconds.items()):
        ratio = [t / b for t, b in zip(times, base, strict=True)]
        ax.plot(list(sizes), ratio, marker=_MARKERS[i % len(_MARKERS)],
                linestyle=_DASHES[i % len(_DASHES)], label=name)  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("elements (float32)")
    ax.set_ylabel(f"time / {baseline}'s time")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3)
    return fig
