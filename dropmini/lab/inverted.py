"""Original versus inverted dropout: the experiments and figures of chapter 15.

The 2014 paper keeps each unit with probability ``1 - p`` in training without
rescaling, and multiplies the outgoing weights by ``1 - p`` at test time. PyTorch
(inverted dropout) divides the kept values by ``1 - p`` in training and does
nothing at test time. The functions here draw both kinds of training output
with the same masks as ``dropmini.dropout``, compute exact expectations by
enumerating every mask, and plot running Monte Carlo means.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

import dropmini
from dropmini.lab.plots import BOOK_STYLE, axes_or_new

__all__ = [
    "all_masks",
    "exact_expectation",
    "keep_mask",
    "original_dropout",
    "running_mean",
    "running_mean_figure",
]

mpl.rcParams.update(BOOK_STYLE)

_STYLES = [("o", "-"), ("s", "--"), ("^", "-."), ("D", ":")]


def keep_mask(x: torch.Tensor, p: float) -> torch.Tensor:
    """The 0/1 mask that ``dropmini.dropout(x, p)`` would use now, in ``x``'s dtype.

    It is drawn by ``dropmini.dropout`` itself (on a tensor of ones), so it takes
    the same random numbers as one dropout call on ``x``.

    Parameters
    ----------
    x : torch.Tensor
        A floating-point tensor; only its shape and dtype are used.
    p : float
        Drop probability.

    Returns
    -------
    torch.Tensor
        1.0 where an element is kept, 0.0 where it is dropped.

    Examples
    --------
    >>> x = torch.arange(1.0, 6.0)
    >>> _ = torch.manual_seed(0); mask = keep_mask(x, 0.2)
    >>> _ = torch.manual_seed(0); torch.equal(mask != 0, dropmini.dropout(x, 0.2) != 0)
    True
    """
    return (dropmini.dropout(torch.ones_like(x), p) != 0).to(x.dtype)


def original_dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Dropout as the 2014 paper trains: zero with probability ``p``, no rescaling.

    In training, kept elements pass unchanged (same mask as ``dropmini.dropout``);
    at test time the input passes unchanged too, and the caller multiplies the
    next layer's weights by ``1 - p`` (the weight-scaling rule).

    Parameters
    ----------
    x : torch.Tensor
        Input.
    p : float
        Drop probability (the paper's retention probability is ``1 - p``).
    training : bool, optional
        Draw a mask (True, the default) or return ``x`` itself.

    Returns
    -------
    torch.Tensor
        ``x * mask`` in training, ``x`` otherwise.

    Examples
    --------
    >>> x = torch.arange(1.0, 6.0)
    >>> _ = torch.manual_seed(0); ours = original_dropout(x, 0.2)
    >>> _ = torch.manual_seed(0); inverted = dropmini.dropout(x, 0.2)
    >>> torch.allclose(ours / 0.8, inverted)
    True
    """
    if not training:
        return x
    return x * keep_mask(x, p)


def all_masks(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every 0/1 keep-mask of ``n`` elements, as rows, with the number kept in each.

    Parameters
    ----------
    n : int
        Number of elements (``2**n`` masks; keep ``n`` small).

    Returns
    -------
    masks : torch.Tensor
        Shape ``(2**n, n)``, float64.
    kept : torch.Tensor
        Shape ``(2**n,)``, the row sums as int64.

    Examples
    --------
    >>> masks, kept = all_masks(2)
    >>> masks.tolist(), kept.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 2])
    """
    if n < 0 or n > 20:
        raise ValueError(f"all_masks enumerates 2**n masks; n must be in [0, 20], got {n}")
    masks = torch.tensor(list(itertools.product((0.0, 1.0), repeat=n)), dtype=torch.float64)
    masks = masks.reshape(2**n, n)
    return masks, masks.sum(dim=1).to(torch.int64)


def exact_expectation(f: Callable[[torch.Tensor], torch.Tensor], n: int, p: float) -> torch.Tensor:
    """The exact mean of ``f(mask)`` over every keep-mask of ``n`` elements.

    Each mask is weighted by its probability ``(1-p)**kept * p**(n-kept)``; no
    random numbers are drawn.

    Parameters
    ----------
    f : callable
        Maps a float64 batch of masks, shape ``(2**n, n)``, to outputs of shape
        ``(2**n, ...)``.
    n : int
        Mask length.
    p : float
        Drop probability.

    Returns
    -------
    torch.Tensor
        The expectation, float64, of shape ``f``'s output without the first axis.

    Examples
    --------
    >>> x = torch.tensor([2.0, 4.0], dtype=torch.float64)
    >>> exact_expectation(lambda m: (m * x).sum(dim=1), 2, 0.25).item()
    4.5
    """
    masks, kept = all_masks(n)
    weights = (1 - p) ** kept.double() * p ** (n - kept).double()
    out = f(masks)
    return torch.tensordot(weights, out.double(), dims=1)


def running_mean(samples: ArrayLike) -> np.ndarray:
    """Mean of the first 1, 2, ..., n samples along axis 0.

    Parameters
    ----------
    samples : array_like
        Samples along the first axis.

    Returns
    -------
    numpy.ndarray
        Float64 array of the same shape.

    Examples
    --------
    >>> running_mean([1.0, 3.0, 2.0]).tolist()
    [1.0, 2.0, 2.0]
    """
    s = np.asarray(samples, dtype=np.float64)
    counts = np.arange(1, s.shape[0] + 1).reshape((-1,) + (1,) * (s.ndim - 1))
    return np.cumsum(s, axis=0) / counts


def running_mean_figure(
    running: Mapping[str, ArrayLike],
    levels: Mapping[str, float],
    ylabel: str = "mean of the output",
    ax: Axes | None = None,
) -> Figure:
    """Running Monte Carlo means against the sample count, with target levels.

    Parameters
    ----------
    running : dict[str, array_like]
        Label and 1-D running mean (see :func:`running_mean`) of each series.
    levels : dict[str, float]
        Label and value of each horizontal reference line (drawn dashed).
    ylabel : str, optional
        Label of the vertical axis.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = running_mean_figure({"a": [1.0, 2.0, 1.5]}, {"target": 1.5})
    >>> fig.axes[0].get_xscale(), len(fig.axes[0].lines)
    ('log', 2)
    """
    _, ax = axes_or_new(ax, (6.5, 4.0))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, values) in enumerate(running.items()):
        values = np.asarray(values, dtype=np.float64)
        n = np.arange(1, len(values) + 1)
        marker, dash = _STYLES[i % len(_STYLES)]
        every = np.unique(np.geomspace(1, len(values), 14).astype(int) - 1).tolist()
        ax.plot(n, values, linestyle=dash, marker=marker, markevery=every, markersize=6,
                color=colours[i % len(colours)], label=label)  # fmt: skip
    for j, (label, value) in enumerate(levels.items()):
        ax.axhline(value, color=colours[j % len(colours)], linestyle=(0, (2, 2)), linewidth=1.5,
                   alpha=0.8, label=label)  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("number of dropout samples averaged")
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax.figure
