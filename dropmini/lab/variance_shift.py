"""Dropout before BatchNorm: the variance shift of chapter 18.

In training mode a BatchNorm layer normalises with the statistics of the batch
it sees and accumulates them into ``running_mean`` and ``running_var``; in
evaluation mode it normalises with those running statistics. When dropout comes
just before it, the batches it sees in training have a larger variance than
the same layer's input in evaluation mode, where dropout is the identity. The
functions here measure that shift, predict it, and re-estimate the statistics
with dropout off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from copy import deepcopy

import matplotlib as mpl
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from torch import nn

from dropmini.lab.plots import BOOK_STYLE, axes_or_new

__all__ = [
    "Batches",
    "batch_norms",
    "bn_output_variances",
    "depth_figure",
    "measured_shift",
    "mlp",
    "normal_batches",
    "recalibrate_bn",
    "run_batches",
    "shift_ratio",
    "train_eval_mean_gap",
    "variance_shift_figure",
]

mpl.rcParams.update(BOOK_STYLE)

#: A callable that returns a fresh iterable of input batches each time it is called.
Batches = Callable[[], Iterable[torch.Tensor]]

_BN = nn.modules.batchnorm._BatchNorm


def shift_ratio(p: float, mean: float = 0.0, var: float = 1.0) -> float:
    """Variance of ``dropout(x, p)`` divided by the variance of ``x``, exactly.

    With ``y = m x / (1 - p)`` and ``m`` a Bernoulli(1 - p) mask independent of
    ``x``: ``E[y] = E[x]`` and ``E[y^2] = E[x^2] / (1 - p)``, so
    ``Var[y] / Var[x] = (1 + p * mean**2 / var) / (1 - p)``.

    Parameters
    ----------
    p : float
        Drop probability, ``0 <= p < 1``.
    mean, var : float, optional
        Mean and variance of ``x``.

    Returns
    -------
    float
        The ratio; ``1 / (1 - p)`` for a zero-mean input.

    Examples
    --------
    >>> shift_ratio(0.5)
    2.0
    >>> shift_ratio(0.5, mean=1.0, var=1.0)
    3.0
    """
    return (1.0 + p * mean**2 / var) / (1.0 - p)


def normal_batches(count: int, size: int, features: int, seed: int, relu: bool = False) -> Batches:
    """Seeded standard-normal batches (optionally through a ReLU), the same on every call.

    Values are drawn in float64 from their own generator and cast to float32,
    so they do not depend on the CPU's vector kernels nor touch the global
    generator that dropout uses.

    Parameters
    ----------
    count, size, features : int
        Number of batches, rows per batch, columns.
    seed : int
        Seed of the batches' own generator.
    relu : bool, optional
        Pass the values through ``relu`` (mean and variance then
        ``1/sqrt(2 pi)`` and ``1/2 - 1/(2 pi)``).

    Returns
    -------
    callable
        Call it to iterate over the batches.

    Examples
    --------
    >>> batches = normal_batches(3, 4, 2, seed=0)
    >>> [tuple(b.shape) for b in batches()]
    [(4, 2), (4, 2), (4, 2)]
    >>> all(torch.equal(a, b) for a, b in zip(batches(), batches()))
    True
    """

    def generate() -> Iterable[torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        for _ in range(count):
            x = torch.randn(size, features, generator=g, dtype=torch.float64).float()
            yield x.relu() if relu else x

    return generate


def batch_norms(model: nn.Module) -> list[nn.Module]:
    """The BatchNorm layers of ``model``, in the order ``modules()`` lists them.

    Examples
    --------
    >>> len(batch_norms(nn.Sequential(nn.Dropout(), nn.BatchNorm1d(3), nn.BatchNorm1d(3))))
    2
    """
    return [m for m in model.modules() if isinstance(m, _BN)]


@torch.no_grad()
def run_batches(model: nn.Module, batches: Batches) -> None:
    """Call ``model`` on every batch without gradients, in whatever modes its modules are.

    In training mode this is what accumulates BatchNorm's running statistics.

    Examples
    --------
    >>> bn = nn.BatchNorm1d(2, momentum=None)
    >>> run_batches(bn, normal_batches(5, 64, 2, seed=0))
    >>> int(bn.num_batches_tracked)
    5
    """
    for x in batches():
        model(x)


def recalibrate_bn(model: nn.Module, batches: Batches) -> None:
    """Re-estimate every BatchNorm's running statistics with dropout (and all else) in eval mode.

    Each BatchNorm is reset, switched to training mode with ``momentum=None``
    (a plain average over the batches) and fed ``batches``; every other module
    stays in evaluation mode, so dropout is the identity. Modes and momenta are
    restored afterwards. ``torch.optim.swa_utils.update_bn`` is similar but
    calls ``model.train()``, which switches dropout on again.

    Parameters
    ----------
    model : torch.nn.Module
        The network; changed in place.
    batches : callable
        Inputs to estimate the statistics from (training data, no labels).

    Examples
    --------
    >>> model = nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(8, momentum=None))
    >>> _ = torch.manual_seed(0); run_batches(model, normal_batches(20, 256, 8, seed=1))
    >>> round(model[1].running_var.mean().item())
    2
    >>> recalibrate_bn(model, normal_batches(20, 256, 8, seed=1))
    >>> round(model[1].running_var.mean().item()), model.training
    (1, True)
    """
    modes = {m: m.training for m in model.modules()}
    norms = batch_norms(model)
    momenta = {bn: bn.momentum for bn in norms}
    model.eval()
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None
        bn.train()
    run_batches(model, batches)
    for bn, momentum in momenta.items():
        bn.momentum = momentum
    for module, mode in modes.items():
        module.training = mode


@torch.no_grad()
def bn_output_variances(model: nn.Module, x: torch.Tensor) -> list[float]:
    """Variance of each BatchNorm's output on ``x``, averaged over features, in the current modes.

    Call it in evaluation mode to leave the running statistics untouched.

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    x : torch.Tensor
        One input batch, ``(N, features)``.

    Returns
    -------
    list of float
        One value per BatchNorm layer, in order.

    Examples
    --------
    >>> bn = nn.BatchNorm1d(4).eval()
    >>> bn_output_variances(bn, torch.zeros(3, 4))
    [0.0]
    """
    found: list[float] = []
    hooks = [
        bn.register_forward_hook(lambda _m, _i, out: found.append(out.var(0).mean().item()))
        for bn in batch_norms(model)
    ]
    try:
        model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return found


def measured_shift(p: float, batches: Batches, held_out: torch.Tensor) -> float:
    """BatchNorm's running variance after ``dropout(p)`` divided by the input's variance.

    A ``Dropout(p) -> BatchNorm1d(momentum=None)`` pair is run in training mode
    on ``batches`` (using the global generator for the masks); the stored
    running variance is compared, feature by feature, with the variance of
    ``held_out``, the layer's input in evaluation mode, and the ratios averaged.

    Parameters
    ----------
    p : float
        Drop probability.
    batches : callable
        Training inputs.
    held_out : torch.Tensor
        Inputs from the same distribution, ``(N, features)``.

    Returns
    -------
    float
        About :func:`shift_ratio` of the input's mean and variance.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> held_out = torch.cat(list(normal_batches(4, 1024, 16, seed=2)()))
    >>> ratio = measured_shift(0.5, normal_batches(40, 256, 16, seed=1), held_out)
    >>> round(ratio, 1)
    2.0
    """
    features = held_out.size(1)
    model = nn.Sequential(nn.Dropout(p), nn.BatchNorm1d(features, momentum=None)).train()
    run_batches(model, batches)
    return (model[1].running_var / held_out.var(0)).mean().item()


def mlp(width: int, depth: int, p: float, dropout_before_bn: bool = True) -> nn.Sequential:
    """``depth`` Linear -> BatchNorm1d -> ReLU blocks and a final Linear layer, with dropout.

    With ``dropout_before_bn`` (the problem) every block starts with
    ``Dropout(p)``, so each BatchNorm sees dropped inputs through its Linear;
    without it (the usual remedy) there is a single ``Dropout(p)`` after the
    last block, just before the final Linear layer, where no BatchNorm follows.
    The BatchNorms use ``momentum=None``. The final layer is created last, so
    the blocks get the same weights from the same seed with or without it.

    Parameters
    ----------
    width, depth : int
        Features per layer and number of blocks.
    p : float
        Drop probability.
    dropout_before_bn : bool, optional
        Placement of the dropout layers.

    Returns
    -------
    torch.nn.Sequential

    Examples
    --------
    >>> [type(m).__name__ for m in mlp(4, 1, 0.5)]
    ['Dropout', 'Linear', 'BatchNorm1d', 'ReLU', 'Linear']
    >>> [type(m).__name__ for m in mlp(4, 1, 0.5, dropout_before_bn=False)]
    ['Linear', 'BatchNorm1d', 'ReLU', 'Dropout', 'Linear']
    """
    layers: list[nn.Module] = []
    for _ in range(depth):
        if dropout_before_bn:
            layers.append(nn.Dropout(p))
        layers += [nn.Linear(width, width), nn.BatchNorm1d(width, momentum=None), nn.ReLU()]
    if not dropout_before_bn:
        layers.append(nn.Dropout(p))
    layers.append(nn.Linear(width, width))
    return nn.Sequential(*layers)


@torch.no_grad()
def train_eval_mean_gap(model: nn.Module, x: torch.Tensor) -> float:
    """Relative difference between the mean output in evaluation mode and in training mode.

    The output of ``model`` is averaged over the rows of ``x`` once in
    evaluation mode and once in training mode, where dropout is active and
    BatchNorm normalises with the statistics of ``x``. The training-mode pass
    runs on a copy, so ``model``'s running statistics and modes stay as they
    are; its masks come from the global generator.

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    x : torch.Tensor
        Inputs, ``(N, features)``; a large ``N`` averages the masks out.

    Returns
    -------
    float
        ``||mean_eval - mean_train|| / ||mean_train||``, with the means taken
        over the rows: 0 when dropout keeps the mean and nothing stored in
        training misleads evaluation mode.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> x = torch.ones(100_000, 2)
    >>> gap = train_eval_mean_gap(nn.Dropout(0.5), x)  # inverted dropout keeps the mean
    >>> gap < 0.01
    True
    """
    copy = deepcopy(model).train()
    train_mean = copy(x).mean(dim=0)
    was_training = {m: m.training for m in model.modules()}
    try:
        eval_mean = model.eval()(x).mean(dim=0)
    finally:
        for module, mode in was_training.items():
            module.training = mode
    return ((eval_mean - train_mean).norm() / train_mean.norm()).item()


def variance_shift_figure(
    ps: Sequence[float],
    measured: dict[str, ArrayLike],
    predicted: dict[str, ArrayLike],
    ax: Axes | None = None,
) -> Figure:
    """Running variance over eval-time variance against ``p``: measured points, predicted curves.

    Parameters
    ----------
    ps : sequence of float
        Drop probabilities of the measurements.
    measured : dict[str, array_like]
        Label to measured ratios, one per ``p``; drawn as markers.
    predicted : dict[str, array_like]
        Same labels to predicted ratios on ``ps``; drawn as lines, one dash
        style each.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = variance_shift_figure([0.1, 0.5], {"a": [1.1, 2.0]}, {"a": [1.11, 2.0]})
    >>> fig.axes[0].get_xlabel()
    'drop probability p'
    """
    _, ax = axes_or_new(ax, (5.6, 4.0))
    markers, dashes = ["o", "s", "^", "D"], ["-", "--", "-.", ":"]
    for index, label in enumerate(measured):
        colour = f"C{index}"
        ax.plot(ps, predicted[label], dashes[index % 4], color=colour, label=f"{label}, formula")
        ax.plot(
            ps,
            measured[label],
            markers[index % 4],
            color=colour,
            linestyle="none",
            markersize=8,
            label=f"{label}, measured",
        )
    ax.axhline(1.0, color="grey", linewidth=1, linestyle=":")
    ax.set_xlabel("drop probability p")
    ax.set_ylabel("running var / eval-time var")
    ax.set_title("What BatchNorm stores vs what it sees at eval")
    ax.legend(frameon=False)
    return ax.figure


def depth_figure(curves: dict[str, ArrayLike], ax: Axes | None = None) -> Figure:
    """Eval-mode variance of each BatchNorm's output, by layer, one line per model (log scale).

    Parameters
    ----------
    curves : dict[str, array_like]
        Label to variances, one per BatchNorm layer (1 is what training sees).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = depth_figure({"a": [0.5, 0.25], "b": [1.0, 1.0]})
    >>> fig.axes[0].get_yscale()
    'log'
    """
    _, ax = axes_or_new(ax, (5.6, 4.0))
    styles = [("o", "-"), ("s", "--"), ("^", "-."), ("D", ":")]
    for index, (label, values) in enumerate(curves.items()):
        values = np.asarray(values, dtype=float)
        marker, dash = styles[index % 4]
        layers = np.arange(1, len(values) + 1)
        ax.plot(layers, values, marker=marker, linestyle=dash, markersize=8, label=label)
    ax.axhline(1.0, color="grey", linewidth=1, linestyle=":")
    ax.set_yscale("log")
    ax.set_xlabel("BatchNorm layer")
    ax.set_ylabel("variance (training: 1)")
    ax.set_title("BatchNorm output variance, eval mode")
    ax.legend(frameon=False, loc="lower left")
    return ax.figure
