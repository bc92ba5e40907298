"""Monte Carlo dropout: predictions with dropout left on, the rest of the model in eval."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import torch
from torch import nn

from dropmini.modules import DropoutNd

__all__ = [
    "changed_entries",
    "mc_predict",
    "preserved_state",
]


_DROPOUT_TYPES = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
    DropoutNd,
)


def _is_dropout(module: nn.Module) -> bool:
    """Whether ``module`` is one of torch's or dropmini's dropout modules."""
    return isinstance(module, _DROPOUT_TYPES)


def mc_predict(
    model: nn.Module, x: torch.Tensor, samples: int, seed: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Monte Carlo dropout: the mean and standard deviation of ``samples`` stochastic predictions.

    The recipe, with the modes put back afterwards: ``model.eval()``, then
    ``train()`` on every dropout module (dropmini's or torch's), then
    ``samples`` forward passes under ``torch.no_grad()``. Batch norm therefore
    uses its running statistics, and every module gets back the mode it had.

    Parameters
    ----------
    model : torch.nn.Module
        A model containing dropout layers.
    x : torch.Tensor
        Inputs.
    samples : int
        Number of forward passes, each with fresh masks; at least 2, since the
        standard deviation divides by ``samples - 1``.
    seed : int, optional
        Without a seed (the default) the masks come from the caller's generator,
        which advances exactly as it would for the loop written out by hand.
        With a seed the masks come from that seed, on a forked generator: the
        caller's generator is left in the state it was in.

    Returns
    -------
    tuple of torch.Tensor
        Mean and standard deviation over the samples, each shaped like ``model(x)``.

    Raises
    ------
    ValueError
        If ``samples`` is not an integer of at least 2.
    TypeError
        If ``seed`` is neither None nor an integer. In both cases nothing is
        drawn and no mode is changed.

    Examples
    --------
    >>> from dropmini.lab import training
    >>> _ = torch.manual_seed(0)
    >>> model = training.make_mlp(1, 16, 0.5, batch_norm=True)
    >>> state = torch.get_rng_state()
    >>> mean, std = mc_predict(model, torch.zeros(3, 1, dtype=torch.float64), 10, seed=1)
    >>> mean.shape, bool((std > 0).all()), model.training
    (torch.Size([3, 1]), True, True)
    >>> torch.equal(torch.get_rng_state(), state)  # a seeded call leaves your generator alone
    True
    """
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
        raise ValueError(f"mc_predict needs an integer samples >= 2, got {samples!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"mc_predict needs an integer seed or None, got {seed!r}")
    modes = {module: module.training for module in model.modules()}
    try:
        model.eval()
        for module in model.modules():
            if _is_dropout(module):
                module.train()
        with _seeded(seed, x.device), torch.no_grad():
            draws = torch.stack([model(x) for _ in range(samples)])
    finally:
        for module, mode in modes.items():
            module.training = mode
    return draws.mean(dim=0), draws.std(dim=0)


@contextmanager
def _seeded(seed: int | None, device: torch.device) -> Iterator[None]:
    """Run the block from ``seed`` on a fork of ``device``'s generator, or as is if None.

    Only the generator that draws the masks is seeded, and it is restored on
    leaving (``torch.manual_seed`` would also re-seed every accelerator's).
    """
    if seed is None:
        yield
        return
    if device.type == "cpu":
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed)
            yield
        return
    backend = torch.get_device_module(device.type)
    index = device.index if device.index is not None else backend.current_device()
    with torch.random.fork_rng(devices=[index], device_type=device.type), backend.device(index):
        backend.manual_seed(seed)
        yield


@contextmanager
def preserved_state(model: nn.Module) -> Iterator[dict[str, torch.Tensor]]:
    """Give back every parameter, buffer and train/eval mode of ``model`` on leaving the block.

    A deep copy of ``model.state_dict()`` is taken on entry and yielded; on exit
    (also after an exception) it is copied back into the model's own tensors, so
    an optimiser holding the parameters still sees them, and every module's
    ``training`` flag is set back.

    Parameters
    ----------
    model : torch.nn.Module
        The model to protect, e.g. from a forward pass in training mode that
        updates batch-norm running statistics.

    Yields
    ------
    dict
        The snapshot: entry name to a copy of its tensor.

    Examples
    --------
    >>> bn = nn.BatchNorm1d(2)
    >>> with preserved_state(bn) as before:
    ...     _ = bn.train()(torch.tensor([[0.0, 1.0], [2.0, 5.0]]))
    ...     changed_entries(before, bn.state_dict())
    ['running_mean', 'running_var', 'num_batches_tracked']
    >>> changed_entries(before, bn.state_dict()), bn.training
    ([], True)
    """
    snapshot = copy.deepcopy(model.state_dict())
    modes = {module: module.training for module in model.modules()}
    try:
        yield snapshot
    finally:
        with torch.no_grad():
            model.load_state_dict(snapshot)
        for module, mode in modes.items():
            module.training = mode


def changed_entries(
    before: Mapping[str, torch.Tensor], after: Mapping[str, torch.Tensor]
) -> list[str]:
    """Names of the state entries whose tensors are not equal in ``before`` and ``after``.

    Parameters
    ----------
    before, after : mapping
        Two ``state_dict()``-like mappings with the same names.

    Returns
    -------
    list of str
        The names, in the order of ``before``.

    Examples
    --------
    >>> changed_entries({"a": torch.zeros(2), "b": torch.ones(1)},
    ...                 {"a": torch.zeros(2), "b": torch.zeros(1)})
    ['b']
    """
    return [name for name, value in before.items() if not torch.equal(value, after[name])]
