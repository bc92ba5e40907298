"""The figure of chapter 12: one dropout setting read in two conventions.

The 2014 dropout paper's ``p`` is the probability of *retaining* a unit;
PyTorch's ``p`` is the probability of *dropping* it. :func:`retention_figure`
draws one axis with both scales, so a recommended range in one convention can be
read off in the other.
"""

from __future__ import annotations

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dropmini.lab.plots import BOOK_STYLE, axes_or_new

__all__ = ["retention_figure"]

mpl.rcParams.update(BOOK_STYLE)


def _flip(v: float) -> float:
    """Map a retention probability to a drop probability and back: ``1 - v``."""
    return 1 - v


def retention_figure(hidden: tuple[float, float], inputs: float, ax: Axes | None = None) -> Figure:
    """Mark a range for hidden units and a value for inputs on a retention/drop axis.

    The bottom axis is the retention probability (the paper's ``p``); the top
    axis, aligned with it, is PyTorch's drop probability ``1 - retention``.

    Parameters
    ----------
    hidden : pair of float
        Lowest and highest retention probability for hidden units (a hatched band).
    inputs : float
        Retention probability for input units (a dashed line).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure if omitted.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into.

    Examples
    --------
    >>> fig = retention_figure((0.5, 0.8), 0.8)
    >>> fig.axes[0].get_xlabel()
    'retention probability (the 2014 paper’s p)'
    """
    low, high = hidden
    if not 0 <= low <= high <= 1 or not 0 <= inputs <= 1:
        raise ValueError(
            f"retention_figure needs 0 <= low <= high <= 1 and inputs in [0, 1], "
            f"got hidden={hidden}, inputs={inputs}"
        )
    _, ax = axes_or_new(ax, (5.5, 2.4))
    ax.axvspan(low, high, facecolor="#1f77b4", alpha=0.25, hatch="//", label="hidden units")
    ax.axvline(inputs, color="black", linestyle="--", linewidth=2, label="inputs")
    ax.set_xlim(0, 1)
    ax.set_yticks([])
    ax.set_xlabel("retention probability (the 2014 paper’s p)")
    top = ax.secondary_xaxis("top", functions=(_flip, _flip))
    top.set_xlabel("nn.Dropout(p): drop probability")
    ax.legend(loc="center left")
    return ax.figure
