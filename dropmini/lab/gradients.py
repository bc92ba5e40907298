"""Gradients through dropout: the graph summary and the figure of chapter 9.

In training mode dropout is ``y = x * m / (1 - p)`` with a mask ``m`` that does
not depend on ``x``, so the gradient that reaches ``x`` is the upstream gradient
times the same scaled mask. :func:`gradient_figure` draws the four rows of that
product; :func:`describe_node` summarises where a tensor sits in the autograd
graph, which is what ``inplace=True`` changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from dropmini.lab.plots import BOOK_STYLE, KEPT_DROPPED

__all__ = ["describe_node", "gradient_figure"]

mpl.rcParams.update(BOOK_STYLE)


def describe_node(t: torch.Tensor) -> str:
    """Name ``t``'s ``grad_fn``, the node that produced its input, and its version.

    Parameters
    ----------
    t : torch.Tensor
        Any tensor; a leaf or a tensor made without gradient recording has no
        ``grad_fn``.

    Returns
    -------
    str
        ``"grad_fn=<name>, next=<name>, version=<n>"``, where ``next`` is the
        node of the first input (``None`` if that input needs no gradient), or
        ``"grad_fn=None, version=<n>"`` when ``t`` has no ``grad_fn``.

    Examples
    --------
    >>> a = torch.ones(2, requires_grad=True)
    >>> describe_node(torch.exp(a * 2))
    'grad_fn=ExpBackward0, next=MulBackward0, version=0'
    >>> describe_node(a)
    'grad_fn=None, version=0'
    """
    if t.grad_fn is None:
        return f"grad_fn=None, version={t._version}"
    parent = t.grad_fn.next_functions[0][0]
    parent_name = "None" if parent is None else parent.name()
    return f"grad_fn={t.grad_fn.name()}, next={parent_name}, version={t._version}"


def _label(value: float) -> str:
    """Short text for a cell: at most three significant digits, ``-0`` shown as ``0``."""
    return f"{value + 0.0:.3g}"


def gradient_figure(
    rows: Sequence[ArrayLike],
    titles: Sequence[str],
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Draw 1-D vectors as labelled strips, one above the other, zeros in grey.

    Meant for input, scaled mask, upstream gradient and resulting gradient of
    dropout: each cell shows its value, and a zero cell is light grey, so the
    dropped positions line up from the mask down to the gradient.

    Parameters
    ----------
    rows : sequence of array_like
        1-D vectors of one common length.
    titles : sequence of str
        One title per row.
    axes : sequence of matplotlib.axes.Axes, optional
        One axes per row; a new figure with a column of axes if omitted.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into.

    Examples
    --------
    >>> fig = gradient_figure([[1.0, 0.0], [2.0, 0.0]], ["mask", "gradient"])
    >>> [t.get_text() for t in fig.axes[1].texts]
    ['2', '0']
    """
    vectors = [np.asarray(r, dtype=np.float64).reshape(-1) for r in rows]
    if len({v.size for v in vectors}) != 1:
        raise ValueError("gradient_figure needs rows of one common length")
    if axes is None:
        n = len(vectors)
        fig, grid = plt.subplots(n, 1, figsize=(5.5, 0.4 + 1.15 * n), layout="constrained")
        axes = np.atleast_1d(grid).tolist()
    for ax, v, title in zip(axes, vectors, titles, strict=True):
        nonzero = (v != 0).astype(float)[None, :]
        ax.imshow(nonzero, cmap=KEPT_DROPPED, vmin=0, vmax=1, aspect="auto")
        for i, value in enumerate(v):
            colour = "white" if value != 0 else "black"
            ax.text(i, 0, _label(value), ha="center", va="center", color=colour)
        ax.set_title(title, loc="left")
        ax.set_yticks([])
        ax.set_xticks(range(v.size))
        ax.tick_params(labelbottom=False)
    axes[-1].tick_params(labelbottom=True)
    axes[-1].set_xlabel("element index")
    return axes[0].figure
