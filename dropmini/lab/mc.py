"""Monte Carlo dropout: predictions with dropout left on, the rest of the model in eval."""

from __future__ import annotations

import torch
from torch import nn

from dropmini.modules import DropoutNd

__all__ = [
    "mc_predict",
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
    >>> from dropmini.lab import training
    >>> _ = torch.manual_seed(0)
    >>> model = training.make_mlp(1, 16, 0.5, batch_norm=True)
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
