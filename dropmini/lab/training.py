"""A small MLP and its mini-batch training loop, run on one CPU thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from dropmini.lab.data import RegressionData, make_regression_data
from dropmini.modules import Dropout

__all__ = [
    "TrainingHistory",
    "fit",
    "make_mlp",
    "overfitting_experiment",
    "single_thread",
]


@contextmanager
def single_thread() -> Iterator[None]:
    """Run the enclosed code on one CPU thread, then restore the thread count.

    With one thread the work is never split between cores, so a result does not
    depend on how many cores the machine has, and small models train faster.
    It does not fix the order in which a vectorised kernel adds: that depends on
    the CPU (its vector width, and the matrix-multiply kernel the BLAS library
    picks for it), so trained weights can still differ between machines in their
    last bits, and long training can amplify the difference.

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
    ps: tuple[float, ...] = (0.0, 0.2, 0.5), epochs: int = 150, seed: int = 0, n_train: int = 100
) -> dict[float, TrainingHistory]:
    """Train one 2 × 256 MLP per ``p`` on :func:`~dropmini.lab.data.make_regression_data`.

    Parameters
    ----------
    ps : tuple of float
        Dropout probabilities to compare.
    epochs : int
        Epochs per run.
    seed : int
        Seed of the data, the initial weights, the shuffling and the masks.
    n_train : int, default 100
        Number of training points (the validation set always has 2,000).

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
    data = make_regression_data(n_train=n_train, seed=seed)
    runs = {}
    for p in ps:
        torch.manual_seed(seed)
        model = make_mlp(data.x_train.shape[1], 256, p)
        runs[p] = fit(model, data, epochs=epochs, seed=seed)
    return runs
