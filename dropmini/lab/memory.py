"""What autograd keeps for the backward pass, measured with saved-tensor hooks."""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["bytes_kept_for_backward"]


def _run_and_measure_saved(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor
) -> tuple[int, torch.Tensor]:
    """Run ``fn(x)``; return the bytes of distinct storages autograd saved, and the output."""
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(x)
    return sum(storages.values()), out


def _context_tensor_bytes(output: torch.Tensor) -> int:
    """Bytes of tensors that custom autograd Functions in ``output``'s graph hold as attributes."""
    total, seen, stack = 0, set(), [output.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        for value in getattr(node, "__dict__", {}).values():
            if isinstance(value, torch.Tensor):
                total += value.untyped_storage().nbytes()
        stack.extend(parent for parent, _ in node.next_functions)
    return total


def bytes_kept_for_backward(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> int:
    """Everything ``fn(x)`` keeps for backward: saved tensors and tensors on Function contexts.

    Saved tensors are caught by ``torch.autograd.graph.saved_tensors_hooks``,
    each storage counted once. A custom ``torch.autograd.Function`` may also
    keep tensors as attributes of its context (``ctx.rng_state = ...``), which
    the hooks do not see, so those are added by walking the graph of the output.

    Parameters
    ----------
    fn : callable
        The computation to measure.
    x : torch.Tensor
        Its input, which should require grad.

    Returns
    -------
    int
        Bytes kept alive by the autograd graph of ``fn(x)``.

    Examples
    --------
    >>> from dropmini import dropout
    >>> x = torch.ones(1000, requires_grad=True)
    >>> bytes_kept_for_backward(lambda t: dropout(t, 0.5), x)   # the float32 mask
    4000
    >>> bytes_kept_for_backward(lambda t: t * 2.0, x)           # nothing: the factor is a number
    0
    """
    saved, out = _run_and_measure_saved(fn, x)
    return saved + (_context_tensor_bytes(out) if out.grad_fn is not None else 0)
