"""What autograd keeps for the backward pass, measured with saved-tensor hooks."""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["bytes_saved_for_backward"]


def bytes_saved_for_backward(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> int:
    """Bytes of the tensors autograd saves while ``fn(x)`` runs, each storage counted once.

    Parameters
    ----------
    fn : callable
        The computation to measure, e.g. ``lambda t: dropmini.dropout(t, 0.5)``.
    x : torch.Tensor
        Its input; it should require grad, or nothing is saved.

    Returns
    -------
    int
        Total size of the distinct storages packed by
        ``torch.autograd.graph.saved_tensors_hooks``.

    Examples
    --------
    >>> from dropmini import dropout
    >>> x = torch.ones(1000, requires_grad=True)
    >>> bytes_saved_for_backward(lambda t: dropout(t, 0.5), x)   # the float32 mask
    4000
    >>> bytes_saved_for_backward(lambda t: t * 2.0, x)           # nothing: the factor is a number
    0
    """
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x)
    return sum(storages.values())
