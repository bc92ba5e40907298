"""Small seeded data sets the chapters train on or drop."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "RegressionData",
    "make_regression_data",
    "make_sine_gap_data",
    "smooth_feature_maps",
]


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


@dataclass
class RegressionData:
    """Training and validation inputs and targets, as float64 tensors of shape ``(n, d)``."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


def make_regression_data(
    n_train: int = 100,
    n_val: int = 2000,
    n_features: int = 4,
    noise: float = 0.3,
    seed: int = 0,
) -> RegressionData:
    """A small noisy regression task that a wide MLP overfits: ``y = sin(2 w·x/√d) + noise``.

    Generated with numpy from ``seed``; nothing is downloaded.

    Parameters
    ----------
    n_train, n_val : int
        Numbers of training and validation samples.
    n_features : int
        Input dimension ``d``.
    noise : float
        Standard deviation of the Gaussian noise on the targets; its square is the
        smallest mean squared error any model can reach on fresh data.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    RegressionData
        Inputs of shape ``(n, d)`` and targets of shape ``(n, 1)``, float64.

    Examples
    --------
    >>> data = make_regression_data(n_train=10, n_val=5)
    >>> data.x_train.shape, data.y_val.shape
    (torch.Size([10, 4]), torch.Size([5, 1]))
    """
    rng = np.random.default_rng(seed)
    w = rng.normal(size=n_features)
    n = n_train + n_val
    x = rng.normal(size=(n, n_features))
    y = np.sin(2.0 * x @ w / np.sqrt(n_features)) + noise * rng.normal(size=n)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).unsqueeze(1)
    return RegressionData(xt[:n_train], yt[:n_train], xt[n_train:], yt[n_train:])


def make_sine_gap_data(n_train: int = 40, noise: float = 0.1, seed: int = 0) -> RegressionData:
    """1-D data on [-2, 2] only, ``y = sin(2x) + noise``, for uncertainty away from the data.

    The validation set is a grid over [-5, 5] with noise-free targets, so that
    predictions can be drawn well outside the training range.

    Parameters
    ----------
    n_train : int
        Number of training points, uniform on [-2, 2].
    noise : float
        Standard deviation of the noise on the training targets.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    RegressionData
        Float64 tensors of shape ``(n, 1)``.

    Examples
    --------
    >>> data = make_sine_gap_data(n_train=8)
    >>> float(data.x_train.abs().max()) <= 2.0, float(data.x_val.min())
    (True, -5.0)
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, size=(n_train, 1))
    y = np.sin(2.0 * x) + noise * rng.normal(size=(n_train, 1))
    grid = np.linspace(-5.0, 5.0, 201).reshape(-1, 1)
    return RegressionData(
        torch.from_numpy(x),
        torch.from_numpy(y),
        torch.from_numpy(grid),
        torch.from_numpy(np.sin(2.0 * grid)),
    )
