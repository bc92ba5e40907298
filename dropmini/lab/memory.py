"""What a forward call leaves in memory, and what autograd keeps of it for the backward pass.

:func:`bytes_kept_for_backward` counts the tensors autograd saves, with saved-tensor
hooks. :func:`forward_memory` also counts the buffers a call allocates that are
still alive once it has returned, which is what in-place dropout can change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

__all__ = ["ForwardMemory", "bytes_kept_for_backward", "forward_memory"]


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


@dataclass(frozen=True)
class ForwardMemory:
    """The buffers one call allocated, as :func:`forward_memory` measures them (in bytes).

    Attributes
    ----------
    alive : int
        Buffers allocated during the call that are still alive after it, while its
        return value is held: outputs, and whatever autograd keeps for backward.
    saved : int
        The part of ``alive`` that autograd keeps for the backward pass.
    peak : int
        The most bytes of buffers allocated during the call that were alive at
        once, checked after each ATen operator returned.

    Examples
    --------
    >>> ForwardMemory(alive=8000, saved=4000, peak=12000).alive
    8000
    """

    alive: int
    saved: int
    peak: int


def _weak_storage(t: object) -> StorageWeakRef | None:
    """A weak reference to the storage of a strided tensor ``t``; None for anything else."""
    if isinstance(t, torch.Tensor) and t.layout == torch.strided and not t.is_nested:
        return StorageWeakRef(t.untyped_storage())
    return None


class _TrackBuffers(TorchDispatchMode):
    """Note the storages that ATen operators return and that no operator had met before."""

    def __init__(self) -> None:
        super().__init__()
        # Every storage met, by the address of its StorageImpl. Holding the weak
        # references keeps those addresses from being reused while we track.
        self.seen: dict[int, StorageWeakRef] = {}
        self.new: dict[int, int] = {}  # buffers allocated inside the call, with their bytes
        self.peak = 0

    def alive(self) -> dict[int, int]:
        """The new buffers not yet freed, with their bytes."""
        return {k: n for k, n in self.new.items() if not self.seen[k].expired()}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        for t in tree_leaves((args, kwargs)):
            ref = _weak_storage(t)
            if ref is not None:
                self.seen.setdefault(ref.cdata, ref)  # met first as an input: it existed before
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            ref = _weak_storage(t)
            if ref is not None and ref.cdata not in self.seen:
                self.seen[ref.cdata] = ref
                self.new[ref.cdata] = t.untyped_storage().nbytes()
        self.peak = max(self.peak, sum(self.alive().values()))
        return out


def forward_memory(fn: Callable[[], object]) -> ForwardMemory:
    """Measure the buffers that ``fn()`` allocates: alive after it, kept for backward, at peak.

    ``fn`` runs once under a dispatch mode that notes every storage an ATen
    operator returns which no operator had met before, a new buffer, and keeps a
    weak reference to it. After ``fn`` returns, while its return value is still
    held, the buffers not yet freed are the ones that are *alive*; those that
    autograd saved for backward (seen by saved-tensor hooks) are *saved*. Tensors
    that existed before the call (inputs, parameters) are never counted, even when
    autograd saves them. Only strided tensors are tracked; buffers an operator
    allocates and frees inside itself are not seen. The random-number generator is
    not touched.

    Parameters
    ----------
    fn : callable
        Called once, without arguments. Return what the caller would keep (the
        output, or a tuple with the output and a tensor the caller still holds).

    Returns
    -------
    ForwardMemory
        Bytes alive after the call, the part kept for backward, and the peak.

    Raises
    ------
    TypeError
        If ``fn`` is not callable.

    Examples
    --------
    >>> x = torch.ones(1000, requires_grad=True)
    >>> forward_memory(lambda: torch.nn.functional.dropout(x * 2.0, 0.5))  # output and mask
    ForwardMemory(alive=8000, saved=4000, peak=12000)
    >>> forward_memory(lambda: x.view(10, 100))  # a view allocates nothing
    ForwardMemory(alive=0, saved=0, peak=0)
    """
    if not callable(fn):
        raise TypeError(
            f"forward_memory needs a callable without arguments, got {type(fn).__name__}"
        )
    saved_keys: set[int] = set()

    def pack(t: torch.Tensor) -> torch.Tensor:
        if t.layout == torch.strided and not t.is_nested:
            saved_keys.add(StorageWeakRef(t.untyped_storage()).cdata)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), _TrackBuffers() as track:
        result = fn()
    alive = track.alive()
    memory = ForwardMemory(
        alive=sum(alive.values()),
        saved=sum(n for k, n in alive.items() if k in saved_keys),
        peak=track.peak,
    )
    del result
    return memory
