"""Dropout's relatives for chapter 20: DropConnect, DropBlock, and which units go together.

DropPath, the relative that models use most, lives in the core
(:func:`dropmini.drop_path`); this module holds the two that the chapter only
demonstrates, and its figure.

- DropConnect (Wan et al., 2013) drops *weights* of a linear layer, with a new
  mask for every example, instead of its inputs or outputs.
- DropBlock (Ghiasi et al., 2018) drops contiguous ``block_size`` by
  ``block_size`` squares of a feature map, so that neighbouring units, which
  carry much the same information, go together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from numpy.typing import ArrayLike
from torch import nn

import dropmini
from dropmini._checks import check_probability
from dropmini.lab.plots import BOOK_STYLE, KEPT_DROPPED

__all__ = [
    "DropConnectLinear",
    "drop_block",
    "drop_connect_linear",
    "dropblock_gamma",
    "dropblock_mask",
    "grouping_figure",
]

mpl.rcParams.update(BOOK_STYLE)


def drop_connect_linear(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    p: float = 0.5,
    training: bool = True,
) -> torch.Tensor:
    """A linear layer whose weights (and bias) are dropped, with a new mask for each example.

    In training, example ``n`` is multiplied by its own copy of the weights in
    which each entry is zeroed with probability ``p`` and the rest are scaled by
    ``1 / (1 - p)`` (inverted scaling, so the expected weights are ``weight``);
    the bias is dropped the same way. The masks are drawn with
    :func:`dropmini.dropout`, weights first, then bias. In eval mode, or with
    ``p == 0``, this is ``torch.nn.functional.linear``.

    The paper draws a mask per example and does not rescale in training; at
    test time it approximates the average over masks instead of using the mean
    weights. Inverted scaling makes plain ``F.linear`` the exact mean of the
    training outputs, before any nonlinearity.

    Parameters
    ----------
    input : torch.Tensor
        Shape ``(N, in_features)``.
    weight : torch.Tensor
        Shape ``(out_features, in_features)``.
    bias : torch.Tensor, optional
        Shape ``(out_features,)``.
    p : float, default 0.5
        Probability that a weight (or bias entry) is zeroed.
    training : bool, default True
        Draw masks if true.

    Returns
    -------
    torch.Tensor
        Shape ``(N, out_features)``.

    Raises
    ------
    ValueError
        If ``p`` is outside [0, 1] or ``input`` is not 2-D.

    Examples
    --------
    >>> x, w = torch.ones(3, 2), torch.ones(1, 2)
    >>> _ = torch.manual_seed(1)
    >>> drop_connect_linear(x, w, p=0.5).flatten()   # each example its own mask
    tensor([4., 4., 2.])
    >>> drop_connect_linear(x, w, p=0.5, training=False).flatten()
    tensor([2., 2., 2.])
    """
    p = check_probability(p)
    if input.dim() != 2:
        raise ValueError(
            f"drop_connect_linear expects input of shape (N, in_features), got {tuple(input.shape)}"
        )
    if not training or p == 0:
        return F.linear(input, weight, bias)
    n = input.shape[0]
    weights = dropmini.dropout(weight.expand(n, *weight.shape), p)
    out = torch.bmm(weights, input.unsqueeze(-1)).squeeze(-1)
    if bias is None:
        return out
    return out + dropmini.dropout(bias.expand(n, *bias.shape), p)


class DropConnectLinear(nn.Linear):
    """``nn.Linear`` with DropConnect in training: see :func:`drop_connect_linear`.

    Parameters
    ----------
    in_features, out_features : int
        As for ``nn.Linear``.
    bias : bool, default True
        As for ``nn.Linear``.
    p : float, default 0.5
        Probability that a weight is zeroed for an example, checked at construction.

    Examples
    --------
    >>> layer = DropConnectLinear(4, 2, p=0.3)
    >>> layer
    DropConnectLinear(in_features=4, out_features=2, bias=True, p=0.3)
    >>> layer(torch.ones(5, 4)).shape
    torch.Size([5, 2])
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, p: float = 0.5
    ) -> None:
        super().__init__(in_features, out_features, bias)
        check_probability(p)
        self.p = p

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return drop_connect_linear(input, self.weight, self.bias, self.p, self.training)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, p={self.p}"


def dropblock_gamma(p: float, block_size: int, height: int, width: int) -> float:
    """The paper's seed-drop rate: ``p / block_size**2 * (H * W) / ((H - b + 1) * (W - b + 1))``.

    A seed dropped with probability ``gamma`` zeroes a ``block_size``-square;
    seeds are drawn only where the whole square fits, in ``(H - b + 1) * (W - b + 1)``
    positions. Ignoring overlaps, the expected fraction dropped is then ``p``
    (the paper's ``1 - keep_prob``). The paper writes it for square maps; this
    is the same formula with height and width apart.

    The integer factor ``H * W / (b**2 * seeds)`` is divided first and ``p``
    multiplied by it last, so the result is exactly ``p`` where that factor is 1:
    for ``block_size`` 1 and for a square as large as the map. (The formula
    written left to right, ``p / b**2 * H * W / seeds``, rounds three times and
    misses ``p`` by up to an ulp in about a tenth of those cases.)

    Parameters
    ----------
    p : float
        Target fraction of units to drop, in [0, 1].
    block_size : int
        Side of the square, from 1 to ``min(height, width)``.
    height, width : int
        Size of the feature map.

    Returns
    -------
    float
        The Bernoulli probability with which each seed position is dropped; never
        more than ``p``, since ``b * (H - b + 1) >= H`` for ``1 <= b <= H``
        (the rounded factor is at most 1, so this holds in floating point too).

    Raises
    ------
    ValueError
        If ``p`` is not in [0, 1] or the block does not fit.

    Examples
    --------
    >>> dropblock_gamma(0.21, 1, 3, 3)   # block_size 1: exactly p, as for dropout
    0.21
    >>> dropblock_gamma(0.21, 3, 3, 3)   # one square covers the map: exactly p
    0.21
    >>> round(dropblock_gamma(0.1, 3, 8, 8), 4)   # 0.1 / 9 * 64 / 36
    0.0198
    """
    p = check_probability(p)
    if not 1 <= block_size <= min(height, width):
        raise ValueError(
            f"block_size must be between 1 and min(height, width) = {min(height, width)}, "
            f"got {block_size}"
        )
    seeds = (height - block_size + 1) * (width - block_size + 1)
    return p * (height * width / (block_size**2 * seeds))


def dropblock_mask(
    shape: Sequence[int], p: float, block_size: int, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """DropBlock's keep mask for an ``(N, C, H, W)`` input: 1 kept, 0 in dropped squares.

    Every feature map (each sample, each channel) gets its own mask. Seeds are
    drawn from the global generator with ``bernoulli_(1 - gamma)`` over the
    positions where a square fits (a seed is dropped where the draw is 0), and
    every dropped seed zeroes the ``block_size``-square whose top-left corner it
    is. Drawing the *keep* probability, as dropout does, makes ``block_size=1``
    give exactly :func:`dropmini.dropout`'s mask, and ``block_size = H = W``
    exactly :func:`dropmini.dropout2d`'s, for the same seed. torchvision's
    ``drop_block2d`` draws ``bernoulli_(gamma)`` instead and drops where the draw
    is 1: the same distribution and the same use of the generator, but for the
    same seed other squares than this mask's.

    Parameters
    ----------
    shape : sequence of int
        ``(N, C, H, W)``.
    p : float
        Target fraction of units to drop (see :func:`dropblock_gamma`).
    block_size : int
        Side of the dropped squares.
    dtype : torch.dtype, default torch.float32
        Floating-point dtype of the mask.

    Returns
    -------
    torch.Tensor
        Zeros and ones of ``shape``.

    Examples
    --------
    >>> _ = torch.manual_seed(3)
    >>> dropblock_mask((1, 1, 5, 5), 0.3, 2)[0, 0]
    tensor([[1., 1., 1., 1., 1.],
            [1., 1., 1., 1., 1.],
            [1., 1., 1., 1., 1.],
            [1., 1., 0., 0., 1.],
            [1., 1., 0., 0., 1.]])
    """
    n, c, h, w = shape
    gamma = dropblock_gamma(p, block_size, h, w)
    seeds = torch.empty((n, c, h - block_size + 1, w - block_size + 1), dtype=dtype)
    dropped_seeds = 1 - seeds.bernoulli_(1 - gamma).float()
    # A square covers (r, c) if its top-left seed lies within block_size - 1 above and left.
    pad = block_size - 1
    covered = F.max_pool2d(F.pad(dropped_seeds, (pad, pad, pad, pad)), block_size, stride=1)
    return (1 - covered).to(dtype)


def drop_block(
    input: torch.Tensor, p: float = 0.1, block_size: int = 3, training: bool = True
) -> torch.Tensor:
    """DropBlock on an ``(N, C, H, W)`` input: zero squares, then rescale by the fraction kept.

    The kept units are multiplied by ``count / count_kept`` over the whole
    tensor, as the paper's Algorithm 1 normalises (by the realised fraction,
    not by ``1 / (1 - p)``), and as torchvision's ``drop_block2d`` does with
    ``1e-6`` added to ``count_kept``. If every unit is dropped the result is zeros.

    Parameters
    ----------
    input : torch.Tensor
        Floating-point, shape ``(N, C, H, W)``.
    p : float, default 0.1
        Target fraction of units to drop.
    block_size : int, default 3
        Side of the dropped squares.
    training : bool, default True
        Apply DropBlock if true; otherwise return ``input`` itself.

    Returns
    -------
    torch.Tensor
        The dropped and rescaled tensor.

    Raises
    ------
    ValueError
        If ``input`` is not 4-D, or ``p`` and ``block_size`` do not fit it.

    Examples
    --------
    >>> x = torch.ones(1, 1, 4, 4)
    >>> _ = torch.manual_seed(0)
    >>> drop_block(x, 0.3, 2)[0, 0]
    tensor([[0.0000, 0.0000, 1.6000, 1.6000],
            [0.0000, 0.0000, 1.6000, 1.6000],
            [0.0000, 0.0000, 1.6000, 1.6000],
            [1.6000, 1.6000, 1.6000, 1.6000]])
    """
    p = check_probability(p)
    if input.dim() != 4:
        raise ValueError(f"drop_block expects an (N, C, H, W) input, got {tuple(input.shape)}")
    if not training or p == 0:
        return input
    mask = dropblock_mask(input.shape, p, block_size, input.dtype)
    kept = int(mask.sum())
    if kept == 0:
        return input * mask
    return input * (mask * (mask.numel() / kept))


def _tiles(mask: np.ndarray) -> np.ndarray:
    """Lay out an ``(N, C, H, W)`` mask as one image: samples down, channels across, NaN gaps."""
    n, c, h, w = mask.shape
    image = np.full((n * (h + 1) - 1, c * (w + 1) - 1), np.nan)
    for i in range(n):
        for j in range(c):
            image[i * (h + 1) : i * (h + 1) + h, j * (w + 1) : j * (w + 1) + w] = mask[i, j]
    return image


def grouping_figure(masks: Mapping[str, ArrayLike], axes: Sequence[Axes] | None = None) -> Figure:
    """Which units are dropped together: one panel per method, the same ``(N, C, H, W)`` maps.

    Each panel tiles the feature maps, samples down and channels across, kept
    units blue and dropped ones light grey, every map outlined; the title gives
    the method and the fraction it dropped.

    Parameters
    ----------
    masks : mapping
        Method name to a ``(N, C, H, W)`` array; a nonzero entry counts as kept.
        All arrays must have the same shape.
    axes : sequence of matplotlib.axes.Axes, optional
        One axes per method; a new figure with two panels per row if omitted.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = grouping_figure({"dropout": np.ones((2, 3, 4, 4))})
    >>> fig.axes[0].get_title().splitlines()
    ['dropout', '0% dropped']
    """
    arrays = {name: np.asarray(m) != 0 for name, m in masks.items()}
    if axes is None:
        columns = min(2, len(arrays))
        rows = -(-len(arrays) // columns)
        n, c, h, w = next(iter(arrays.values())).shape
        panel_height = 2.45 * (n * (h + 1)) / (c * (w + 1)) + 0.65
        _, grid = plt.subplots(
            rows, columns, figsize=(5.5, 0.4 + rows * panel_height), layout="constrained"
        )
        axes = np.atleast_1d(grid).ravel().tolist()
        for spare in axes[len(arrays) :]:
            spare.remove()
        axes = axes[: len(arrays)]
    cmap = KEPT_DROPPED.with_extremes(bad="white")
    for ax, (name, kept) in zip(axes, arrays.items(), strict=True):
        n, c, h, w = kept.shape
        ax.imshow(_tiles(kept.astype(float)), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        for i in range(n):
            for j in range(c):
                corner = (j * (w + 1) - 0.5, i * (h + 1) - 0.5)
                ax.add_patch(Rectangle(corner, w, h, fill=False, edgecolor="black", lw=0.8))
        ax.set_xticks([j * (w + 1) + (w - 1) / 2 for j in range(c)], [f"ch {j}" for j in range(c)])
        ax.set_yticks([i * (h + 1) + (h - 1) / 2 for i in range(n)], [f"{i}" for i in range(n)])
        ax.set_ylabel("sample")
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_title(f"{name}\n{1 - kept.mean():.0%} dropped")
    fig = axes[0].figure
    handles = [Patch(facecolor=KEPT_DROPPED(1.0), label="kept"),
               Patch(facecolor=KEPT_DROPPED(0.0), edgecolor="black", label="dropped")]  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncol=2)
    return fig
