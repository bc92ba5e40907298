"""Training equipment: a small regression MLP with its loop, and figures of training runs.

The regression MLP and :func:`fit` serve the Monte Carlo dropout chapter; chapter 10
writes its classification loop in the notebook itself and draws its runs with
:func:`loss_history_figure` and :func:`gain_by_p_figure`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import nn

from dropmini.lab.data import RegressionData
from dropmini.lab.plots import axes_or_new
from dropmini.modules import Dropout

__all__ = [
    "TrainingHistory",
    "fit",
    "gain_by_p_figure",
    "loss_history_figure",
    "make_mlp",
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
    """Mean squared error on the training and validation sets after each epoch (eval mode).

    Attributes
    ----------
    train_loss : list of float
        Training-set loss of the network in evaluation mode, one value per epoch.
    val_loss : list of float
        Validation-set loss, measured the same way.

    Examples
    --------
    >>> history = TrainingHistory()
    >>> history.train_loss.append(0.5)
    >>> history, history == TrainingHistory([0.5], [])
    (TrainingHistory(train_loss=[0.5], val_loss=[]), True)
    """

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
    >>> from dropmini.lab.data import make_sine_gap_data
    >>> data = make_sine_gap_data(n_train=32)
    >>> _ = torch.manual_seed(0)
    >>> history = fit(make_mlp(1, 16, 0.1), data, epochs=3)
    >>> len(history.train_loss), len(history.val_loss)
    (3, 3)
    """
    history = TrainingHistory()
    # foreach=True: Adam's multi-tensor code, one call per step for all parameters. On the
    # CPU torch defaults to a Python loop over the parameters, which costs more than the
    # arithmetic for these small networks; both give the same bits
    # (tests/test_experiments.py checks it).
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
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


def loss_history_figure(
    curves: Mapping[str, Sequence[float]],
    ax: Axes | None = None,
    ylabel: str = "cross-entropy loss",
) -> Figure:
    """Loss per epoch on a log scale, one line per label, told apart by colour and line style.

    Parameters
    ----------
    curves : mapping
        Label to losses, one value per epoch (epoch 1 first).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if omitted.
    ylabel : str, default "cross-entropy loss"
        Label of the loss axis.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with a legend.

    Examples
    --------
    >>> fig = loss_history_figure({"train mode": [2.0, 1.0], "eval mode": [1.5, 0.5]})
    >>> [line.get_linestyle() for line in fig.axes[0].get_lines()]
    ['-', '--']
    """
    fig, ax = axes_or_new(ax, (5.5, 4.2))
    styles = ["-", "--", ":", "-."]
    for i, (label, losses) in enumerate(curves.items()):
        epochs = np.arange(1, len(losses) + 1)
        ax.plot(epochs, losses, color=f"C{i}", linestyle=styles[i % len(styles)], label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.legend()
    return fig


def gain_by_p_figure(
    ps: Sequence[float],
    gains: Mapping[int, Sequence[float]],
    baseline: float | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Validation images a network gets right beyond the same seed's network with p = 0.

    Parameters
    ----------
    ps : sequence of float
        Drop probabilities, the first being 0.
    gains : mapping
        Seed to gains, one per ``p`` (so the first is 0): correct validation
        images minus those of the same seed's network trained with ``p = 0``.
    baseline : float, optional
        The same gain for a reference model (e.g. a median over seeds), drawn
        as a dashed horizontal line.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: a line with markers per seed, a grey line at zero.

    Examples
    --------
    >>> fig = gain_by_p_figure([0.0, 0.5], {0: [0, 4], 1: [0, 7]}, baseline=-1.0)
    >>> len(fig.axes[0].get_lines()), fig.axes[0].get_xlabel()
    (4, 'drop probability p')
    """
    fig, ax = axes_or_new(ax, (5.5, 4.8))
    ax.axhline(0, color="grey", linewidth=1)
    markers = "osD^v"
    for i, (seed, values) in enumerate(gains.items()):
        ax.plot(ps, values, marker=markers[i % len(markers)], color=f"C{i}", label=f"seed {seed}")
    if baseline is not None:
        ax.axhline(baseline, color="black", linestyle="--", label="logistic regression (median)")
    ax.set_xticks(list(ps))
    ax.set_xlabel("drop probability p")
    ax.set_ylabel("validation images correct\nbeyond p = 0 (same seed)")
    ax.legend(fontsize=10, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    return fig
