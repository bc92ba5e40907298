"""Dropout in recurrent networks: the experiments and figures of chapter 19.

``nn.LSTM(..., num_layers=L, dropout=p)`` (and ``nn.GRU``, ``nn.RNN``) calls
ordinary dropout on the output sequence of each layer except the last, before it
enters the next layer; nothing is dropped inside a layer, across time steps, or
on the last layer's output. :func:`split_layers` and :func:`stacked_forward`
rebuild such a network from single-layer modules with ``dropmini.dropout``
between them.
:func:`locked_dropout` and :class:`VariationalLSTM` show the other
recipe, one mask per sequence reused at every time step.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from torch import nn

import dropmini
from dropmini.lab.plots import BOOK_STYLE, KEPT_DROPPED, axes_or_new

__all__ = [
    "VariationalLSTM",
    "dropout_connections_figure",
    "locked_dropout",
    "split_layers",
    "stacked_forward",
    "time_masks_figure",
]

mpl.rcParams.update(BOOK_STYLE)


def split_layers(rnn: nn.RNNBase) -> list[nn.RNNBase]:
    """Copy each layer of a multi-layer ``nn.LSTM``/``nn.GRU``/``nn.RNN`` into a one-layer module.

    Parameters
    ----------
    rnn : torch.nn.RNNBase
        The network to split; its weights are copied, not shared.

    Returns
    -------
    list of torch.nn.RNNBase
        ``rnn.num_layers`` modules of the same class, dtype, direction and
        ``batch_first``, each with ``num_layers=1`` and no dropout.

    Examples
    --------
    >>> lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    >>> [layer.input_size for layer in split_layers(lstm)]
    [3, 4]
    """
    directions = 2 if rnn.bidirectional else 1
    layers = []
    for index in range(rnn.num_layers):
        size = rnn.input_size if index == 0 else rnn.hidden_size * directions
        extra = {"nonlinearity": rnn.nonlinearity} if isinstance(rnn, nn.RNN) else {}
        layer = type(rnn)(
            size,
            rnn.hidden_size,
            bias=rnn.bias,
            batch_first=rnn.batch_first,
            bidirectional=rnn.bidirectional,
            dtype=rnn.weight_ih_l0.dtype,
            **extra,
        )
        with torch.no_grad():
            for name, parameter in layer.named_parameters():
                parameter.copy_(getattr(rnn, name.replace("_l0", f"_l{index}")))
        layers.append(layer)
    return layers


def stacked_forward(layers: Sequence[nn.RNNBase], x: torch.Tensor, p: float) -> torch.Tensor:
    """Run one-layer modules in sequence with ``dropmini.dropout(p)`` between them.

    This is where ``nn.LSTM(num_layers=L, dropout=p)`` drops in training mode:
    between layers only. With the same seed and the layers of
    :func:`split_layers`, the output has the same bits as the multi-layer
    module's on the CPU, and the random generator ends in the same state.

    Parameters
    ----------
    layers : sequence of torch.nn.RNNBase
        One-layer recurrent modules.
    x : torch.Tensor
        Input sequence, laid out as the modules expect.
    p : float
        Drop probability between consecutive layers.

    Returns
    -------
    torch.Tensor
        The last layer's output sequence (never dropped).

    Examples
    --------
    >>> lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    >>> layers = split_layers(lstm)  # before seeding: building modules draws their weights
    >>> x = torch.rand(5, 2, 3, generator=torch.Generator().manual_seed(1))
    >>> _ = torch.manual_seed(0); theirs, _ = lstm(x)
    >>> _ = torch.manual_seed(0); ours = stacked_forward(layers, x, 0.5)
    >>> dropmini.same_bits(ours, theirs)
    True
    """
    for index, layer in enumerate(layers):
        if index > 0:
            x = dropmini.dropout(x, p)
        x, _ = layer(x)
    return x


def locked_dropout(
    x: torch.Tensor, p: float, training: bool = True, batch_first: bool = False
) -> torch.Tensor:
    """Dropout with one mask per sequence, the same at every time step.

    A mask of shape ``(batch, features)`` is drawn once with
    ``dropmini.dropout`` and multiplied into every time step, so a unit is
    either dropped for the whole sequence or kept for the whole sequence.

    Parameters
    ----------
    x : torch.Tensor
        Sequence of shape ``(time, batch, features)``, or ``(batch, time,
        features)`` with ``batch_first``.
    p : float
        Drop probability.
    training : bool, optional
        Apply dropout (True, the default) or return ``x`` itself.
    batch_first : bool, optional
        Layout of ``x``.

    Returns
    -------
    torch.Tensor
        ``x`` times the scaled mask, broadcast over time.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> locked_dropout(torch.ones(3, 1, 4), 0.5)[:, 0]
    tensor([[0., 0., 2., 0.],
            [0., 0., 2., 0.],
            [0., 0., 2., 0.]])
    """
    if not training or p == 0.0:
        return x
    time_dim = 1 if batch_first else 0
    batch, features = x.size(1 - time_dim), x.size(2)
    noise = dropmini.dropout(x.new_ones(batch, features), p)
    return x * noise.unsqueeze(time_dim)


class VariationalLSTM(nn.Module):
    """A one-layer LSTM with variational dropout on its inputs and recurrent state.

    In training mode, one mask for the inputs ``(batch, input_size)`` and one for
    the previous hidden state ``(batch, hidden_size)`` are drawn per call (in
    that order, with ``dropmini.dropout``) and reused at every time step, the
    scheme of Gal and Ghahramani (2016). In evaluation mode nothing is dropped.

    Parameters
    ----------
    input_size, hidden_size : int
        Sizes as in ``nn.LSTM``.
    p_input, p_hidden : float
        Drop probabilities of the input and of the recurrent hidden state.

    Examples
    --------
    >>> model = VariationalLSTM(3, 4, p_input=0.5, p_hidden=0.5).eval()
    >>> x = torch.rand(6, 2, 3, generator=torch.Generator().manual_seed(0))
    >>> model(x).shape
    torch.Size([6, 2, 4])
    """

    def __init__(
        self, input_size: int, hidden_size: int, p_input: float = 0.0, p_hidden: float = 0.0
    ) -> None:
        super().__init__()
        self.cell = nn.LSTMCell(input_size, hidden_size)
        self.p_input = p_input
        self.p_hidden = p_hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run over a ``(time, batch, input_size)`` sequence from a zero state."""
        steps, batch, _ = x.shape
        h = x.new_zeros(batch, self.cell.hidden_size)
        c = x.new_zeros(batch, self.cell.hidden_size)
        input_mask = hidden_mask = None
        if self.training:
            if self.p_input > 0.0:
                input_mask = dropmini.dropout(x.new_ones(batch, x.size(2)), self.p_input)
            if self.p_hidden > 0.0:
                hidden_mask = dropmini.dropout(h.new_ones(h.shape), self.p_hidden)
        outputs = []
        for t in range(steps):
            x_t = x[t] if input_mask is None else x[t] * input_mask
            h_in = h if hidden_mask is None else h * hidden_mask
            h, c = self.cell(x_t, (h_in, c))
            outputs.append(h)
        return torch.stack(outputs)

    def extra_repr(self) -> str:
        return f"p_input={self.p_input}, p_hidden={self.p_hidden}"


def dropout_connections_figure(
    num_layers: int = 2, steps: int = 4, ax: Axes | None = None
) -> Figure:
    """Schematic of an unrolled ``nn.LSTM(num_layers, dropout=p)``: which arrows are dropped.

    Columns are time steps, rows are the input, each layer and the output.
    Arrows from one layer up into the next (dashed, with a cross) pass through
    dropout in training mode; the input arrows, the recurrent arrows along time
    and the arrows out of the last layer (solid) never do.

    Parameters
    ----------
    num_layers : int, optional
        Number of stacked layers.
    steps : int, optional
        Number of time steps drawn.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = dropout_connections_figure(2, 3)
    >>> sum(line.get_linestyle() == "--" for line in fig.axes[0].lines)
    3
    """
    _, ax = axes_or_new(ax, (6.0, 1.1 * (num_layers + 2) + 0.6))
    rows = ["input"] + [f"layer {i + 1}" for i in range(num_layers)] + ["output"]
    gap = 0.18
    for t in range(steps):
        for row in range(len(rows) - 1):
            dropped = 1 <= row < num_layers
            style = "--" if dropped else "-"
            colour = "#d62728" if dropped else "#444444"
            ax.plot([t, t], [row + gap, row + 1 - gap], style, color=colour, linewidth=2)
            if dropped:
                ax.plot(t, row + 0.5, "x", color=colour, markersize=10, markeredgewidth=2.5)
        ax.scatter([t, t], [0, len(rows) - 1], s=120, marker="o", color="#888888", zorder=3)
        for row in range(1, num_layers + 1):
            ax.scatter(t, row, s=420, marker="s", color="#1f77b4", zorder=3)
            if t + 1 < steps:
                ax.annotate(
                    "",
                    xy=(t + 1 - gap, row),
                    xytext=(t + gap, row),
                    arrowprops={"arrowstyle": "->", "color": "#444444", "linewidth": 1.8},
                )
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xticks(range(steps), [f"t={t + 1}" for t in range(steps)])
    ax.set_xlim(-0.5, steps - 0.5)
    ax.set_ylim(-0.4, len(rows) - 0.6)
    ax.set_xlabel("time step")
    ax.set_title(f"nn.LSTM(num_layers={num_layers}, dropout=p): dashed = dropped")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax.figure


def time_masks_figure(
    fresh: ArrayLike,
    locked: ArrayLike,
    titles: Sequence[str] = ("nn.LSTM between layers", "locked (variational)"),
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Two kept/dropped grids, hidden unit by time step: a fresh mask per step versus one mask.

    Parameters
    ----------
    fresh, locked : array_like
        Arrays of shape ``(time, units)``; a nonzero entry counts as kept.
    titles : sequence of str, optional
        The two panel titles.
    axes : pair of matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = time_masks_figure(np.eye(3), np.ones((3, 3)))
    >>> [ax.get_xlabel() for ax in fig.axes]
    ['time step', 'time step']
    """
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.4), layout="constrained", sharey=True)
    for ax, values, title in zip(axes, (fresh, locked), titles, strict=True):
        kept = (np.asarray(values) != 0).astype(float).T
        ax.imshow(kept, cmap=KEPT_DROPPED, vmin=0, vmax=1, interpolation="nearest", aspect="auto")
        ax.set_title(title)
        ax.set_xlabel("time step")
        ax.set_xticks(range(kept.shape[1]), [str(t + 1) for t in range(kept.shape[1])])
        ax.set_yticks(range(kept.shape[0]))
    axes[0].set_ylabel("hidden unit (blue = kept)")
    return axes[0].figure
