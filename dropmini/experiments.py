"""Small, seeded experiments the chapters run: data, models and what they measure."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from dropmini.functional import dropout
from dropmini.modules import Dropout, _DropoutNd

__all__ = [
    "RegressionData",
    "TrainingHistory",
    "fit",
    "make_mlp",
    "make_regression_data",
    "make_sine_gap_data",
    "mc_predict",
    "neighbour_fill_error",
    "overfitting_experiment",
    "selu_stack_statistics",
    "single_thread",
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
    >>> dropped, error = neighbour_fill_error(smooth_feature_maps(1, 2, 16, seed=0), 0.5, seed=0)
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


@contextmanager
def single_thread() -> Iterator[None]:
    """Run the enclosed code on one CPU thread, so float sums add up in one fixed order.

    Examples
    --------
    >>> with single_thread():
    ...     torch.get_num_threads()
    1
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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


def make_mlp(
    n_in: int, hidden: int, p: float, depth: int = 2, batch_norm: bool = False
) -> nn.Sequential:
    """A float64 MLP: ``depth`` blocks of Linear, [BatchNorm1d], ReLU, Dropout(p), then Linear.

    Parameters
    ----------
    n_in : int
        Input features.
    hidden : int
        Units per hidden layer.
    p : float
        Dropout probability after every hidden layer.
    depth : int, default 2
        Number of hidden layers.
    batch_norm : bool, default False
        Insert ``BatchNorm1d`` after each hidden ``Linear``.

    Returns
    -------
    torch.nn.Sequential
        The model, with one output.

    Examples
    --------
    >>> make_mlp(3, 8, 0.2, depth=1)
    Sequential(
      (0): Linear(in_features=3, out_features=8, bias=True)
      (1): ReLU()
      (2): Dropout(p=0.2, inplace=False)
      (3): Linear(in_features=8, out_features=1, bias=True)
    )
    """
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(depth):
        layers.append(nn.Linear(width, hidden))
        if batch_norm:
            layers.append(nn.BatchNorm1d(hidden))
        layers += [nn.ReLU(), Dropout(p)]
        width = hidden
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers).double()


@dataclass
class TrainingHistory:
    """Mean squared error on the training and validation sets after each epoch (eval mode)."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)


def fit(
    model: nn.Module,
    data: RegressionData,
    epochs: int,
    batch_size: int = 16,
    lr: float = 1e-3,
    seed: int = 0,
) -> TrainingHistory:
    """Train ``model`` with Adam on mean squared error, on one thread, from ``seed``.

    After every epoch both losses are measured in evaluation mode, so the
    training loss is that of the network the validation loss is measured on.

    Parameters
    ----------
    model : torch.nn.Module
        A float64 model, e.g. from :func:`make_mlp`; it is trained in place.
    data : RegressionData
        Training and validation sets.
    epochs : int
        Passes over the training set, in mini-batches.
    batch_size : int, default 16
        Mini-batch size.
    lr : float, default 1e-3
        Adam's learning rate.
    seed : int, default 0
        Seeds the shuffling and the dropout masks.

    Returns
    -------
    TrainingHistory
        The two loss curves, one value per epoch.

    Examples
    --------
    >>> data = make_regression_data(n_train=32, n_val=32)
    >>> _ = torch.manual_seed(0)
    >>> history = fit(make_mlp(4, 16, 0.1), data, epochs=3)
    >>> len(history.train_loss), len(history.val_loss)
    (3, 3)
    """
    history = TrainingHistory()
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    shuffle = torch.Generator().manual_seed(seed)
    n = len(data.x_train)
    with single_thread():
        torch.manual_seed(seed)
        for _ in range(epochs):
            model.train()
            order = torch.randperm(n, generator=shuffle)
            for start in range(0, n, batch_size):
                batch = order[start : start + batch_size]
                loss = nn.functional.mse_loss(model(data.x_train[batch]), data.y_train[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
            model.eval()
            with torch.no_grad():
                history.train_loss.append(
                    nn.functional.mse_loss(model(data.x_train), data.y_train).item()
                )
                history.val_loss.append(
                    nn.functional.mse_loss(model(data.x_val), data.y_val).item()
                )
    return history


def overfitting_experiment(
    ps: tuple[float, ...] = (0.0, 0.2, 0.5), epochs: int = 150, seed: int = 0
) -> dict[float, TrainingHistory]:
    """Train the same MLP (2 × 256 hidden units) on :func:`make_regression_data` for each ``p``.

    Parameters
    ----------
    ps : tuple of float
        Dropout probabilities to compare.
    epochs : int
        Epochs per run.
    seed : int
        Seed of the data, the initial weights, the shuffling and the masks.

    Returns
    -------
    dict
        ``p`` to its :class:`TrainingHistory`.

    Examples
    --------
    >>> runs = overfitting_experiment(ps=(0.0,), epochs=2)
    >>> list(runs), len(runs[0.0].val_loss)
    ([0.0], 2)
    """
    data = make_regression_data(seed=seed)
    runs = {}
    for p in ps:
        torch.manual_seed(seed)
        model = make_mlp(data.x_train.shape[1], 256, p)
        runs[p] = fit(model, data, epochs=epochs, seed=seed)
    return runs


def _is_dropout(module: nn.Module) -> bool:
    return isinstance(module, nn.modules.dropout._DropoutNd | _DropoutNd)


def mc_predict(
    model: nn.Module, x: torch.Tensor, samples: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Monte Carlo dropout: the mean and standard deviation of ``samples`` stochastic predictions.

    Every dropout module (dropmini's or torch's) is switched to training mode,
    every other module to evaluation mode (batch norm uses its running
    statistics), and the modes the model had are restored afterwards.

    Parameters
    ----------
    model : torch.nn.Module
        A model containing dropout layers.
    x : torch.Tensor
        Inputs.
    samples : int
        Number of forward passes, each with fresh masks.
    seed : int, default 0
        Seed for the masks.

    Returns
    -------
    tuple of torch.Tensor
        Mean and standard deviation over the samples, each shaped like ``model(x)``.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> model = make_mlp(1, 16, 0.5, batch_norm=True)
    >>> mean, std = mc_predict(model, torch.zeros(3, 1, dtype=torch.float64), samples=10)
    >>> mean.shape, bool((std > 0).all()), model.training
    (torch.Size([3, 1]), True, True)
    """
    modes = {module: module.training for module in model.modules()}
    try:
        model.eval()
        for module in model.modules():
            if _is_dropout(module):
                module.train()
        torch.manual_seed(seed)
        with torch.no_grad():
            draws = torch.stack([model(x) for _ in range(samples)])
    finally:
        for module, mode in modes.items():
            module.training = mode
    return draws.mean(dim=0), draws.std(dim=0)
