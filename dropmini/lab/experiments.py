"""The experiments of the channel-wise and alpha dropout chapter."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from dropmini.functional import dropout

__all__ = [
    "neighbour_fill_error",
    "selu_stack_statistics",
]


def neighbour_fill_error(maps: torch.Tensor, p: float, seed: int) -> tuple[int, float]:
    """How well element-wise dropout's zeros can be guessed from neighbouring pixels.

    Drops the pixels of ``maps`` with :func:`dropmini.dropout`, undoes the
    ``1 / (1 - p)`` scaling, and fills every dropped pixel with the mean of the
    kept pixels in its 3 × 3 neighbourhood.

    Parameters
    ----------
    maps : torch.Tensor
        Feature maps of shape ``(N, C, H, W)``.
    p : float
        Dropout probability, below 1.
    seed : int
        Seed for the mask (``torch.manual_seed``).

    Returns
    -------
    tuple
        The number of dropped pixels, and the mean absolute error of the
        filled-in maps relative to the mean pixel value.

    Examples
    --------
    >>> from dropmini.lab.data import smooth_feature_maps
    >>> maps = smooth_feature_maps(1, 2, 16, seed=0)
    >>> dropped, error = neighbour_fill_error(maps, 0.5, seed=0)
    >>> 0 < dropped < 512, error < 0.2
    (True, True)
    """
    torch.manual_seed(seed)
    values = dropout(maps, p) * (1 - p)
    kept = (values != 0).to(maps.dtype)
    n, c, h, w = maps.shape
    pool = nn.functional.avg_pool2d
    flat_values, flat_kept = values.reshape(n * c, 1, h, w), kept.reshape(n * c, 1, h, w)
    neighbour_sum = pool(flat_values, 3, stride=1, padding=1).reshape(maps.shape) * 9
    neighbour_count = pool(flat_kept, 3, stride=1, padding=1).reshape(maps.shape) * 9
    guess = torch.where(kept == 1, values, neighbour_sum / neighbour_count.clamp(min=1))
    error = (guess - maps).abs().mean() / maps.mean()
    return int((kept == 0).sum()), error.item()


def selu_stack_statistics(
    make_dropout: Callable[[float], nn.Module],
    p: float,
    depth: int = 32,
    width: int = 256,
    batch: int = 1024,
    seed: int = 0,
) -> tuple[list[float], list[float]]:
    """Mean and variance of the activations after each layer of a deep SELU network.

    Each layer is ``Linear`` (LeCun-normal weights, no bias), ``SELU``, then the
    dropout module ``make_dropout(p)``, in training mode. The input is standard
    normal, so a self-normalising network keeps mean 0 and variance 1 throughout.

    Parameters
    ----------
    make_dropout : callable
        Builds the dropout module from ``p``, e.g. ``dropmini.AlphaDropout``.
    p : float
        Dropout probability.
    depth, width, batch : int
        Number of layers, units per layer and samples.
    seed : int
        Seed for weights, input and masks (``torch.manual_seed``).

    Returns
    -------
    tuple
        Two lists of float: per layer, the mean and the variance over all
        samples and units.

    Examples
    --------
    >>> import dropmini
    >>> means, variances = selu_stack_statistics(dropmini.AlphaDropout, 0.1, depth=3, width=8)
    >>> len(means), len(variances)
    (3, 3)
    """
    torch.manual_seed(seed)
    x = torch.randn(batch, width)
    means, variances = [], []
    with torch.no_grad():
        for _ in range(depth):
            layer = nn.Linear(width, width, bias=False)
            nn.init.normal_(layer.weight, std=width**-0.5)
            x = make_dropout(p).train()(torch.selu(layer(x)))
            means.append(x.mean().item())
            variances.append(x.var().item())
    return means, variances
