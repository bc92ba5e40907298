"""The experiments of the channel-wise and alpha dropout chapter."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = [
    "neighbour_fill_error",
    "selu_stack_statistics",
]


def neighbour_fill_error(maps: torch.Tensor, p: float, seed: int) -> tuple[int, float]:
    """How well element-wise dropout's zeros can be guessed from neighbouring pixels.

    Drops the pixels of ``maps`` with ``torch.nn.functional.dropout``, undoes
    the ``1 / (1 - p)`` scaling, and fills every dropped pixel with the mean of
    the kept pixels in its 3 × 3 neighbourhood (0 when none is kept). The error
    is averaged over the dropped pixels only: a kept pixel is known exactly.

    Parameters
    ----------
    maps : torch.Tensor
        Feature maps of shape ``(N, C, H, W)``.
    p : float
        Dropout probability, below 1.
    seed : int
        Seed of the mask, drawn on a forked generator: the caller's global
        generator is left in the state it was in.

    Returns
    -------
    tuple
        The number of dropped pixels, and the mean absolute error of the guess
        over the dropped pixels divided by the mean pixel value of ``maps``
        (0.0 when nothing is dropped).

    Examples
    --------
    >>> from dropmini.lab.data import smooth_feature_maps
    >>> maps = smooth_feature_maps(1, 2, 16, seed=0)
    >>> dropped, error = neighbour_fill_error(maps, 0.5, seed=0)
    >>> 0 < dropped < 512, error < 0.2
    (True, True)
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        values = nn.functional.dropout(maps, p) * (1 - p)
    kept = (values != 0).to(maps.dtype)
    n, c, h, w = maps.shape
    pool = nn.functional.avg_pool2d
    flat_values, flat_kept = values.reshape(n * c, 1, h, w), kept.reshape(n * c, 1, h, w)
    neighbour_sum = pool(flat_values, 3, stride=1, padding=1).reshape(maps.shape) * 9
    neighbour_count = pool(flat_kept, 3, stride=1, padding=1).reshape(maps.shape) * 9
    guess = neighbour_sum / neighbour_count.clamp(min=1)
    dropped = kept == 0
    if not dropped.any():
        return 0, 0.0
    error = (guess - maps)[dropped].abs().mean() / maps.mean()
    return int(dropped.sum()), error.item()


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
    Input and weights are drawn in float64 and cast to float32, so they do not
    depend on the CPU's vector kernels.

    Parameters
    ----------
    make_dropout : callable
        Builds the dropout module from ``p``, e.g. ``dropmini.AlphaDropout``.
    p : float
        Dropout probability.
    depth, width, batch : int
        Number of layers, units per layer and samples.
    seed : int
        Seed for weights, input and masks, drawn on a forked generator: the
        caller's global generator is left in the state it was in.

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
    means, variances = [], []
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        x = torch.randn(batch, width, dtype=torch.float64).float()
        for _ in range(depth):
            weight = torch.randn(width, width, dtype=torch.float64) * width**-0.5
            x = make_dropout(p).train()(torch.selu(x @ weight.float().T))
            means.append(x.mean().item())
            variances.append(x.var().item())
    return means, variances
