"""Small data sets the chapters train on or drop.

Synthetic ones are drawn from a seed; scikit-learn's handwritten digits are split by one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "DigitsSplit",
    "RegressionData",
    "load_digits_split",
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
    """Training and validation inputs and targets, as float64 tensors of shape ``(n, d)``.

    Attributes
    ----------
    x_train, y_train : torch.Tensor
        Training inputs and targets.
    x_val, y_val : torch.Tensor
        Validation inputs and targets.

    Examples
    --------
    >>> x = torch.zeros(3, 1, dtype=torch.float64)
    >>> data = RegressionData(x, x + 1, x[:2], x[:2] - 1)
    >>> data.y_train.shape, data.y_val.sum().item()
    (torch.Size([3, 1]), -2.0)
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


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


@dataclass
class DigitsSplit:
    """scikit-learn's handwritten digits split into training, validation and test sets.

    Attributes
    ----------
    x_train, x_val, x_test : torch.Tensor
        Images flattened to 64 pixels, shape ``(n, 64)``, values in [0, 1].
    y_train, y_val, y_test : torch.Tensor
        Labels 0-9, int64, shape ``(n,)``.

    Examples
    --------
    >>> x, y = torch.zeros(4, 64), torch.arange(4)
    >>> split = DigitsSplit(x[:2], y[:2], x[2:3], y[2:3], x[3:], y[3:])
    >>> split.y_test.tolist()
    [3]
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digits_split(
    seed: int, n_train: int = 200, dtype: torch.dtype = torch.float64
) -> DigitsSplit:
    """The 1,797 digit images of ``sklearn.datasets.load_digits``, shuffled and split.

    The images (8 × 8 pixels, grey levels 0-16) ship inside scikit-learn's
    wheel, so nothing is downloaded. They are shuffled with
    ``numpy.random.default_rng(seed)``; the first ``n_train`` become the
    training set and the rest is halved into validation and test sets (the
    test set gets the extra image when the rest is odd). Pixels are divided
    by 16, which is exact in every float dtype.

    Parameters
    ----------
    seed : int
        Seed of the shuffle, a private numpy generator (neither torch's nor
        numpy's global generator is used).
    n_train : int, default 200
        Number of training images, from 1 to 1,795 (at least one image each
        must be left for validation and test).
    dtype : torch.dtype, default torch.float64
        Floating-point dtype of the images.

    Returns
    -------
    DigitsSplit
        The three sets; every image is in exactly one of them.

    Raises
    ------
    TypeError
        If ``n_train`` is not an int, or ``dtype`` not a floating-point dtype.
    ValueError
        If ``n_train`` leaves no image for validation or test.

    Examples
    --------
    >>> split = load_digits_split(seed=0)
    >>> split.x_train.shape, split.x_val.shape, split.x_test.shape
    (torch.Size([200, 64]), torch.Size([798, 64]), torch.Size([799, 64]))
    >>> split.x_train.max().item(), split.y_train.dtype
    (1.0, torch.int64)
    """
    if isinstance(n_train, bool) or not isinstance(n_train, int):
        raise TypeError(f"n_train must be an int, but got {type(n_train).__name__}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, but got {dtype}")
    from sklearn.datasets import load_digits

    images, labels = load_digits(return_X_y=True)
    if not 1 <= n_train <= len(labels) - 2:
        raise ValueError(
            f"n_train must be between 1 and {len(labels) - 2} so that validation and test "
            f"each keep an image, but got {n_train}"
        )
    order = np.random.default_rng(seed).permutation(len(labels))
    x = torch.from_numpy(images[order] / 16).to(dtype)
    y = torch.from_numpy(labels[order]).to(torch.int64)
    n_val = (len(labels) - n_train) // 2
    val_end = n_train + n_val
    return DigitsSplit(
        x[:n_train], y[:n_train], x[n_train:val_end], y[n_train:val_end], x[val_end:], y[val_end:]
    )
