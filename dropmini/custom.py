"""The hand-written dropout module of the first source article, kept as written there."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["CustomDropout"]


class CustomDropout(nn.Module):
    """Dropout written from scratch: ``x * mask / (1 - p)``.

    This is the article's module. It draws the same mask as ``nn.Dropout``
    (``bernoulli_(1 - p)`` on an ``empty_like`` tensor) but multiplies and
    divides in a different order, so its values can differ from torch's in the
    last bits. It does not check ``p`` and always copies. Use
    :class:`dropmini.Dropout` for torch's exact result.

    Parameters
    ----------
    p : float, default 0.5
        Probability that an element is zeroed.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> CustomDropout(0.5)(torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    tensor([[0., 0., 6.],
            [0., 0., 0.]])
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            mask = torch.empty_like(x).bernoulli_(1 - self.p)
            x = x * mask / (1 - self.p)
        return x
