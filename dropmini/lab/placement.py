"""Where dropout goes: the experiments and figure of chapter 16.

Dropout before or after an activation, dropout on logits and on a regression
output, the order in which a model's dropout layers run, and how often input
dropout removes every feature of an example.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib as mpl
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from torch import nn

import dropmini
from dropmini.lab.plots import BOOK_STYLE, axes_or_new

__all__ = [
    "both_orders",
    "dropout_sites",
    "fully_dropped_fraction",
    "logit_dropout",
    "output_dropout_loss",
    "output_dropout_loss_figure",
]

mpl.rcParams.update(BOOK_STYLE)


def both_orders(
    activation: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, p: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``activation(dropout(x))`` and ``dropout(activation(x))``, each drawn after ``seed``.

    Both orders use the same mask, so any difference comes from the order alone.

    Parameters
    ----------
    activation : callable
        An elementwise function such as ``torch.relu``.
    x : torch.Tensor
        Input.
    p : float
        Drop probability.
    seed : int
        Seed of the mask, set before each dropout call on a forked generator:
        the caller's global generator is left in the state it was in.

    Returns
    -------
    before, after : torch.Tensor
        Dropout before the activation, and after it.

    Examples
    --------
    >>> x = torch.tensor([-1.0, 2.0, 3.0])
    >>> before, after = both_orders(torch.relu, x, 0.5, seed=0)
    >>> torch.equal(before, after)
    True
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        before = activation(dropmini.dropout(x, p))
        torch.manual_seed(seed)
        after = dropmini.dropout(activation(x), p)
    return before, after


def logit_dropout(
    logits: torch.Tensor, p: float, draws: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax probabilities and predicted classes when the logits themselves are dropped.

    Parameters
    ----------
    logits : torch.Tensor
        One example's logits, shape ``(classes,)``.
    p : float
        Drop probability.
    draws : int
        Number of dropout draws.
    seed : int
        Seed for the draws, on a forked generator: the caller's global
        generator is left in the state it was in.

    Returns
    -------
    probs : torch.Tensor
        Shape ``(draws, classes)``: the softmax of each dropped copy.
    predicted : torch.Tensor
        Shape ``(draws,)``: the argmax class of each dropped copy.

    Examples
    --------
    >>> probs, predicted = logit_dropout(torch.tensor([3.0, 1.0]), 0.5, draws=4, seed=0)
    >>> probs.shape, predicted.shape
    (torch.Size([4, 2]), torch.Size([4]))
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        dropped = dropmini.dropout(logits.expand(draws, -1), p)
    return dropped.softmax(dim=-1), dropped.argmax(dim=-1)


def output_dropout_loss(
    predictions: ArrayLike, target: float, p: float, draws: int, seed: int
) -> np.ndarray:
    """Monte Carlo mean squared error when dropout is applied to a regression output.

    For each prediction ``w`` the loss ``(target - dropout(w))**2`` is averaged
    over ``draws`` masks.

    Parameters
    ----------
    predictions : array_like
        Values of the network's output before the dropout, one per grid point.
    target : float
        The regression target.
    p : float
        Drop probability.
    draws : int
        Dropout draws per prediction.
    seed : int
        Seed for all the draws, on a forked generator: the caller's global
        generator is left in the state it was in.

    Returns
    -------
    numpy.ndarray
        The mean loss at each prediction.

    Examples
    --------
    >>> output_dropout_loss([1.0], target=1.0, p=0.0, draws=3, seed=0).tolist()
    [0.0]
    """
    w = torch.as_tensor(np.asarray(predictions, dtype=np.float64))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        dropped = dropmini.dropout(w.expand(draws, -1), p)
    return ((target - dropped) ** 2).mean(dim=0).numpy()


def fully_dropped_fraction(features: int, p: float, examples: int, seed: int) -> float:
    """Fraction of examples whose every input feature is dropped by input dropout.

    Parameters
    ----------
    features : int
        Number of input features per example.
    p : float
        Drop probability of the input dropout.
    examples : int
        Number of examples drawn.
    seed : int
        Seed for the draws, on a forked generator: the caller's global
        generator is left in the state it was in.

    Returns
    -------
    float
        The observed fraction; its expected value is ``p ** features``.

    Examples
    --------
    >>> fully_dropped_fraction(3, 1.0, examples=10, seed=0)
    1.0
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        kept = dropmini.dropout(torch.ones(examples, features), p) != 0
    return (~kept.any(dim=1)).double().mean().item()


def dropout_sites(model: nn.Module, *inputs: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """The dropout layers of ``model`` in the order a training-mode forward pass runs them.

    Runs ``model(*inputs)`` once in training mode (restoring the previous mode
    afterwards) with a hook on every ``dropmini.Dropout`` and ``torch.nn.Dropout``.

    Parameters
    ----------
    model : torch.nn.Module
        The model to trace.
    *inputs : torch.Tensor
        Its inputs.

    Returns
    -------
    list of (str, tuple of int)
        The qualified name of each dropout layer, in call order, with the shape
        of the tensor it dropped.

    Examples
    --------
    >>> model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), dropmini.Dropout(1.0))
    >>> dropout_sites(model, torch.ones(1, 2))
    [('2', (1, 2))]
    """
    names = {module: name for name, module in model.named_modules()}
    calls: list[tuple[str, tuple[int, ...]]] = []

    def record(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        calls.append((names[module], tuple(output.shape)))

    handles = [
        module.register_forward_hook(record)
        for module in model.modules()
        if isinstance(module, dropmini.Dropout | nn.Dropout)
    ]
    was_training = model.training
    try:
        model.train()
        with torch.no_grad():
            model(*inputs)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return calls


def output_dropout_loss_figure(
    predictions: ArrayLike,
    loss_plain: ArrayLike,
    loss_dropped: ArrayLike,
    target: float,
    p: float,
    ax: Axes | None = None,
) -> Figure:
    """Expected training loss against the prediction, without and with output dropout.

    Parameters
    ----------
    predictions : array_like
        The grid of predictions (horizontal axis).
    loss_plain, loss_dropped : array_like
        The loss at each prediction without and with dropout on the output.
    target : float
        The regression target, marked on the axis.
    p : float
        The drop probability, for the legend and the marked minimum ``(1 - p) * target``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = output_dropout_loss_figure([0, 1, 2], [1, 0, 1], [1, 0.5, 2], 1.0, 0.5)
    >>> fig.axes[0].get_xlabel()
    'prediction before the dropout'
    """
    _, ax = axes_or_new(ax, (6.5, 4.0))
    w = np.asarray(predictions, dtype=np.float64)
    ax.plot(w, loss_plain, "-", color="#1f77b4", label="no dropout on the output")
    ax.plot(w, loss_dropped, "--", color="#d62728", label=f"dropout (p = {p:g}) on the output")
    ax.axvline(target, color="#1f77b4", linestyle=":", label=f"target = {target:g}")
    ax.axvline((1 - p) * target, color="#d62728", linestyle="-.",
               label=f"(1 - p) · target = {(1 - p) * target:g}")  # fmt: skip
    ax.set_xlabel("prediction before the dropout")
    ax.set_ylabel("expected squared error")
    ax.legend(loc="upper center")
    return ax.figure
