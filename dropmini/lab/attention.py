"""Attention dropout: the experiments and figure of chapter 17.

``torch.nn.functional.scaled_dot_product_attention`` (SDPA) takes a
``dropout_p`` and applies it whenever it is positive, whatever the mode of the
module that calls it. On the CPU, with ``dropout_p > 0``, SDPA runs ATen's math
fallback ``_scaled_dot_product_attention_math``: the CPU flash kernel refuses
dropout. That fallback scales ``q`` and ``k`` each by ``sqrt(1/sqrt(d))``,
multiplies, adds the mask, takes the softmax and calls ``dropout`` on the
weights. :func:`sdpa_reference` repeats those steps with ``dropmini.dropout``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from torch import nn

import dropmini
from dropmini.lab.plots import BOOK_STYLE

__all__ = [
    "SDPAttention",
    "attention_weights",
    "attention_weights_figure",
    "causal_bias",
    "sdpa_reference",
    "textbook_attention",
]

mpl.rcParams.update(BOOK_STYLE)


def causal_bias(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """The additive causal mask SDPA builds: 0 on and below the diagonal, -inf above it.

    Parameters
    ----------
    q, k : torch.Tensor
        Queries ``(..., L, d)`` and keys ``(..., S, d)``; the mask has ``q``'s dtype.

    Returns
    -------
    torch.Tensor
        Shape ``(L, S)``.

    Examples
    --------
    >>> causal_bias(torch.ones(2, 4), torch.ones(2, 4))
    tensor([[0., -inf],
            [0., 0.]])
    """
    keep = torch.ones(q.size(-2), k.size(-2), dtype=torch.bool).tril()
    return torch.zeros(keep.shape, dtype=q.dtype).masked_fill_(keep.logical_not(), -math.inf)


def attention_weights(q: torch.Tensor, k: torch.Tensor, is_causal: bool = False) -> torch.Tensor:
    """The softmax attention weights exactly as SDPA's CPU math path computes them.

    ``q`` and ``k`` are each multiplied by ``sqrt(1/sqrt(d))`` before the product
    (not the product divided by ``sqrt(d)``); a causal mask adds ``-inf`` above
    the diagonal.

    Parameters
    ----------
    q, k : torch.Tensor
        Queries ``(..., L, d)`` and keys ``(..., S, d)``.
    is_causal : bool, optional
        Mask positions after the query's own.

    Returns
    -------
    torch.Tensor
        Weights of shape ``(..., L, S)``; each row sums to 1.

    Examples
    --------
    >>> q = torch.ones(1, 3, 4)
    >>> attention_weights(q, q, is_causal=True)[0]
    tensor([[1.0000, 0.0000, 0.0000],
            [0.5000, 0.5000, 0.0000],
            [0.3333, 0.3333, 0.3333]])
    """
    scale = math.sqrt(1.0 / math.sqrt(q.size(-1)))
    scores = torch.matmul(q * scale, k.transpose(-2, -1) * scale)
    if is_causal:
        scores.add_(causal_bias(q, k))
    return scores.softmax(dim=-1)


def sdpa_reference(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, dropout_p: float, is_causal: bool = False
) -> torch.Tensor:
    """SDPA on the CPU, step by step: weights, ``dropmini.dropout``, then ``@ v``.

    For float32 or float64 inputs, ``dropout_p > 0`` and the same seed, the result
    has the same bits as ``F.scaled_dot_product_attention(q, k, v,
    dropout_p=dropout_p, is_causal=is_causal)`` in torch 2.13 on the CPU, and
    leaves the random generator in the same state. With ``dropout_p == 0`` SDPA
    may take its fused flash kernel instead, which rounds differently; forcing the
    math backend (``torch.nn.attention.sdpa_kernel(SDPBackend.MATH)``) restores
    equality. For float16 and bfloat16 inputs SDPA's math path computes in float32
    and converts the result back: call this function on float32 copies and convert
    its result to get SDPA's bits (called on the half-precision tensors directly,
    it rounds at every step and does not).

    Parameters
    ----------
    q, k, v : torch.Tensor
        Queries ``(..., L, d)``, keys ``(..., S, d)`` and values ``(..., S, dv)``.
    dropout_p : float
        Drop probability of the attention weights; 0 draws nothing.
    is_causal : bool, optional
        Mask positions after the query's own.

    Returns
    -------
    torch.Tensor
        Shape ``(..., L, dv)``.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> q, k, v = (torch.rand(1, 2, 5, 8, generator=g) for _ in range(3))
    >>> _ = torch.manual_seed(0); ours = sdpa_reference(q, k, v, 0.3)
    >>> _ = torch.manual_seed(0); theirs = F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
    >>> dropmini.same_bits(ours, theirs)
    True
    """
    weights = attention_weights(q, k, is_causal)
    if dropout_p > 0.0:
        weights = dropmini.dropout(weights, dropout_p)
    return torch.matmul(weights, v)


def textbook_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, dropout_p: float, is_causal: bool = False
) -> torch.Tensor:
    """Attention written as in most code: ``softmax(q @ k^T / sqrt(d))``, dropout, ``@ v``.

    The same mask as :func:`sdpa_reference` for the same seed, but the scaling is
    applied to the product, so the weights can differ in the last bits.

    Parameters
    ----------
    q, k, v : torch.Tensor
        Queries ``(..., L, d)``, keys ``(..., S, d)`` and values ``(..., S, dv)``.
    dropout_p : float
        Drop probability of the attention weights.
    is_causal : bool, optional
        Mask positions after the query's own.

    Returns
    -------
    torch.Tensor
        Shape ``(..., L, dv)``.

    Examples
    --------
    >>> q = torch.ones(1, 2, 4)
    >>> textbook_attention(q, q, q, 0.0).tolist()
    [[[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]]
    """
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))
    if is_causal:
        scores = scores + causal_bias(q, k)
    weights = scores.softmax(dim=-1)
    if dropout_p > 0.0:
        weights = dropmini.dropout(weights, dropout_p)
    return weights @ v


class SDPAttention(nn.Module):
    """Self-attention on given ``q, k, v`` through SDPA, with or without nanoGPT's guard.

    Parameters
    ----------
    dropout : float
        Drop probability of the attention weights.
    guarded : bool, optional
        Pass ``dropout if self.training else 0`` to SDPA, as nanoGPT does (True,
        the default), or always pass ``dropout`` (False: the pitfall).

    Examples
    --------
    >>> q = torch.rand(1, 1, 4, 8, generator=torch.Generator().manual_seed(0))
    >>> attn = SDPAttention(0.5).eval()
    >>> torch.equal(attn(q, q, q), attn(q, q, q))
    True
    """

    def __init__(self, dropout: float, guarded: bool = True) -> None:
        super().__init__()
        self.dropout = dropout
        self.guarded = guarded

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Causal attention of ``q`` over ``k`` and ``v``."""
        p = self.dropout if (self.training or not self.guarded) else 0.0
        return F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)

    def extra_repr(self) -> str:
        return f"dropout={self.dropout}, guarded={self.guarded}"


def attention_weights_figure(
    before: ArrayLike,
    after: ArrayLike,
    titles: Sequence[str] = ("softmax weights", "after dropout"),
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Two heatmaps side by side: attention weights before and after dropout.

    Both panels share one colour scale from 0 to the largest weight, with a colour
    bar. Pairs that the attention mask excludes (weight exactly 0 before dropout)
    are drawn light grey, and a weight that dropout zeroed is marked with a white
    cross on the right panel.

    Parameters
    ----------
    before, after : array_like
        Weight matrices of shape ``(L, S)``: query rows, key columns.
    titles : sequence of str, optional
        The two panel titles.
    axes : pair of matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = attention_weights_figure(np.eye(3), 2 * np.eye(3))
    >>> [ax.get_title() for ax in fig.axes[:2]]
    ['softmax weights', 'after dropout']
    """
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.6), layout="constrained")
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    top = max(float(after.max()), float(before.max()))
    masked = before == 0
    cmap = plt.get_cmap("viridis").with_extremes(bad="#d9d9d9")
    for ax, values, title in zip(axes, (before, after), titles, strict=True):
        shown = np.ma.masked_array(values, mask=masked)
        image = ax.imshow(shown, cmap=cmap, vmin=0.0, vmax=top, interpolation="nearest")
        ax.set_title(title)
        ax.set_xlabel("key position")
        ax.set_ylabel("query position")
        ax.set_xticks(range(values.shape[1]))
        ax.set_yticks(range(values.shape[0]))
    rows, cols = np.nonzero((after == 0) & ~masked)
    axes[1].plot(cols, rows, "x", color="white", markersize=9, markeredgewidth=2, linestyle="none")
    fig = axes[0].figure
    fig.colorbar(image, ax=list(axes), label="weight", shrink=0.9)
    return fig
