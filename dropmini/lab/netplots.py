"""Fully connected networks drawn with their dropped units: the thinned networks of chapter 1.

A network is given by its layer sizes, from the inputs to the outputs. Dropout
acts on every layer but the last: each input or hidden unit is kept or
dropped, and a dropped unit loses all its connections, in and out. The
drawing puts the inputs at the bottom and the outputs at the top, as the figure
of a thinned network in Srivastava et al. (2014) does.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from dropmini.lab.plots import BOOK_STYLE

mpl.rcParams.update(BOOK_STYLE)

__all__ = ["kept_connections", "layer_names", "network_figure"]

#: Kept units in the blue of the mask figures; dropped ones grey and crossed out.
KEPT_COLOUR = "#1f77b4"
DROPPED_FACE = "#d9d9d9"
DROPPED_EDGE = "#8c8c8c"
CROSS_COLOUR = "#404040"
CONNECTION_COLOUR = "#606060"


def _sizes(layer_sizes: Sequence[int]) -> list[int]:
    sizes = [int(s) for s in layer_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(
            "a network needs at least two layers of at least one unit each, "
            f"got {list(layer_sizes)}"
        )
    return sizes


def _kept_units(layer_sizes: Sequence[int], kept: Sequence[ArrayLike] | None) -> list[np.ndarray]:
    """One boolean array per layer, the last (never dropped) all true."""
    sizes = _sizes(layer_sizes)
    if kept is None:
        masks = [np.ones(s, dtype=bool) for s in sizes[:-1]]
    else:
        masks = [np.ravel(np.asarray(k)) != 0 for k in kept]
        if len(masks) != len(sizes) - 1:
            raise ValueError(
                f"kept needs one mask per layer except the last ({len(sizes) - 1}), "
                f"got {len(masks)}"
            )
        for i, (mask, size) in enumerate(zip(masks, sizes, strict=False)):
            if mask.size != size:
                raise ValueError(f"layer {i} has {size} units, but its mask has {mask.size}")
    return [*masks, np.ones(sizes[-1], dtype=bool)]


def kept_connections(layer_sizes: Sequence[int], kept: Sequence[ArrayLike] | None = None) -> int:
    """Number of connections left between kept units of consecutive layers.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, inputs first; at least two layers.
    kept : sequence of array_like, optional
        One mask per layer except the last, nonzero for a kept unit (a dropout
        output of ones will do); None keeps every unit.

    Returns
    -------
    int
        The connections of the thinned network; with ``kept=None``, those of the full one.

    Examples
    --------
    >>> kept_connections([2, 3, 1])
    9
    >>> kept_connections([2, 3, 1], [[1, 0], [2.0, 0.0, 2.0]])
    4
    """
    units = [int(m.sum()) for m in _kept_units(layer_sizes, kept)]
    return sum(a * b for a, b in zip(units, units[1:], strict=False))


def layer_names(layers: int) -> list[str]:
    """Names for the layers of a network, bottom to top: input, hidden 1, ..., output.

    Parameters
    ----------
    layers : int
        Number of layers, at least two.

    Returns
    -------
    list of str

    Examples
    --------
    >>> layer_names(4)
    ['input', 'hidden 1', 'hidden 2', 'output']
    """
    if layers < 2:
        raise ValueError(f"a network needs at least two layers, got {layers}")
    return ["input", *(f"hidden {i}" for i in range(1, layers - 1)), "output"]


def _draw_network(
    ax: Axes, sizes: list[int], kept: Sequence[ArrayLike] | None, title: str, names: bool
) -> None:
    masks = _kept_units(sizes, kept)
    widest = max(sizes)
    xs = [np.arange(n) - (n - 1) / 2 for n in sizes]
    segments = [
        [(xs[layer][i], layer), (xs[layer + 1][j], layer + 1)]
        for layer in range(len(sizes) - 1)
        for i in np.flatnonzero(masks[layer])
        for j in np.flatnonzero(masks[layer + 1])
    ]
    ax.add_collection(
        LineCollection(
            segments,
            colors=CONNECTION_COLOUR,
            linewidths=1.0,
            alpha=0.7,
            zorder=1,
            gid="connections",
        )
    )
    x_all = np.concatenate(xs)
    y_all = np.concatenate([np.full(n, layer) for layer, n in enumerate(sizes)])
    keep = np.concatenate(masks)
    ax.scatter(
        x_all[keep], y_all[keep], s=170, c=KEPT_COLOUR, edgecolors="black", zorder=2, gid="kept"
    )
    ax.scatter(
        x_all[~keep],
        y_all[~keep],
        s=170,
        c=DROPPED_FACE,
        edgecolors=DROPPED_EDGE,
        zorder=2,
        gid="dropped",
    )
    ax.scatter(x_all[~keep], y_all[~keep], s=90, marker="x", c=CROSS_COLOUR, linewidths=2, zorder=3)
    ax.set_xlim(-widest / 2, widest / 2)
    ax.set_ylim(-0.5, len(sizes) - 0.5)
    ax.set_xticks([])
    if names:
        ax.set_yticks(range(len(sizes)), layer_names(len(sizes)))
    else:
        ax.set_yticks([])
    ax.tick_params(axis="y", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title)


def network_figure(
    layer_sizes: Sequence[int],
    kept: Sequence[Sequence[ArrayLike] | None],
    titles: Sequence[str],
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Draw a fully connected network once per mask, side by side: the full and thinned networks.

    Units are circles, inputs at the bottom. A kept unit is blue; a dropped one is
    grey and crossed out, and none of its connections is drawn. Only the leftmost
    panel names the layers.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, inputs first; at least two layers.
    kept : sequence
        One entry per panel: None for the full network, or one mask per layer
        except the last (see :func:`kept_connections`).
    titles : sequence of str
        One title per panel.
    axes : sequence of matplotlib.axes.Axes, optional
        One axes per panel; a new figure with a row of axes if omitted.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into. In each panel the connections are the
        LineCollection with gid ``"connections"`` and the units the collections
        with gid ``"kept"`` and ``"dropped"``.

    Examples
    --------
    >>> fig = network_figure([2, 3, 1], [None, [[1, 0], [1, 1, 0]]], ["full", "thinned"])
    >>> [len(ax.collections[0].get_segments()) for ax in fig.axes]
    [9, 4]
    >>> [ax.get_title() for ax in fig.axes]
    ['full', 'thinned']
    """
    sizes = _sizes(layer_sizes)
    if len(kept) != len(titles):
        raise ValueError(f"one title per panel: {len(kept)} panels, {len(titles)} titles")
    for mask in kept:
        _kept_units(sizes, mask)  # every mask checked before anything is drawn
    if axes is None:
        _, grid = plt.subplots(
            1, len(kept), figsize=(5.5, 3.6), squeeze=False, layout="constrained"
        )
        axes = list(grid[0])
    for i, (ax, mask, title) in enumerate(zip(axes, kept, titles, strict=True)):
        _draw_network(ax, sizes, mask, title, names=i == 0)
    return axes[0].figure
