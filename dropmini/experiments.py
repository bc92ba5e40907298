"""Small, seeded experiments the chapters run: data, models and what they measure."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["selu_stack_statistics", "smooth_feature_maps"]


def smooth_feature_maps(n: int, c: int, size: int, seed: int) -> torch.Tensor:
    """Smooth random images of shape ``(n, c, size, size)``, like a conv layer's feature maps.

    Each map is a sum of three Gaussian bumps at random places, so neighbouring
    pixels are strongly correlated, as in real feature maps.

    Parameters
    ----------
    n, c, size : int
        Batch size, channels and side length.
    seed : int
        Seed of the private generator used (the global RNG is not touched).

    Returns
    -------
    torch.Tensor
        Float32 tensor with values in [0, 1].

    Examples
    --------
    >>> smooth_feature_maps(2, 3, 8, seed=0).shape
    torch.Size([2, 3, 8, 8])
    """
    g = torch.Generator().manual_seed(seed)
    coords = torch.linspace(0, 1, size)
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    centres = torch.rand(n, c, 3, 2, generator=g)
    widths = 0.12 + 0.15 * torch.rand(n, c, 3, 1, 1, generator=g)
    dy = yy - centres[..., 0, None, None]
    dx = xx - centres[..., 1, None, None]
    maps = torch.exp(-(dx**2 + dy**2) / (2 * widths**2)).sum(dim=2)
    return maps / maps.amax(dim=(-1, -2), keepdim=True)


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
    tuple of two lists of float
        Per layer: the mean and the variance over all samples and units.

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
