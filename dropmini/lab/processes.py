"""Chapter 23's worker: one process of a group draws dropout masks under three seeding schemes.

``torch.multiprocessing.spawn`` starts each process with a fresh interpreter
and calls a function it must import by name, so the function lives here and
not in the notebook. :func:`worker` is that function; :func:`draw_masks` does
its work and can be called in any process, the caller's own included.

Examples
--------
>>> import queue
>>> results = queue.Queue()
>>> worker(1, results, [0], 8, 0.5)
>>> [(r["scheme"], r["rank"], r["seed"]) for r in results.get()][1:]
[('same seed', 1, 0), ('seed + rank', 1, 1)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import torch
import torch.nn.functional as F

__all__ = ["SCHEMES", "draw_masks", "mask_bits", "rank_seed", "worker"]

#: The ways a rank can seed its generator before drawing (not at all, with the shared
#: base seed, or with the base seed plus its rank).
SCHEMES = ("unseeded", "same seed", "seed + rank")


class _Queue(Protocol):
    def put(self, obj: Any, /) -> None: ...


def rank_seed(scheme: str, base_seed: int, rank: int) -> int | None:
    """The seed a rank gives ``torch.manual_seed`` under ``scheme`` (None: it does not seed).

    Parameters
    ----------
    scheme : str
        One of :data:`SCHEMES`.
    base_seed : int
        The seed the run is configured with, the same in every process.
    rank : int
        The process's index in its group, from 0.

    Returns
    -------
    int or None
        ``base_seed`` for ``"same seed"``, ``base_seed + rank`` for
        ``"seed + rank"``, None for ``"unseeded"``.

    Raises
    ------
    ValueError
        If ``scheme`` is not one of :data:`SCHEMES` or ``rank`` is negative.

    Examples
    --------
    >>> [rank_seed(s, 10, 3) for s in SCHEMES]
    [None, 10, 13]
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, but got {scheme!r}")
    if rank < 0:
        raise ValueError(f"rank must be 0 or more, but got {rank}")
    if scheme == "unseeded":
        return None
    return base_seed if scheme == "same seed" else base_seed + rank


def mask_bits(output: torch.Tensor) -> str:
    """A 1-D dropout output of nonzero inputs as a bit string: ``1`` kept, ``0`` dropped.

    Parameters
    ----------
    output : torch.Tensor
        A 1-D tensor; a nonzero element counts as kept.

    Returns
    -------
    str
        One character per element.

    Examples
    --------
    >>> mask_bits(torch.tensor([2.0, 0.0, 2.0]))
    '101'
    """
    return "".join("1" if kept else "0" for kept in (output != 0).tolist())


def draw_masks(
    rank: int, base_seeds: Sequence[int], n: int = 32, p: float = 0.5
) -> list[dict[str, Any]]:
    """Draw ``F.dropout(torch.ones(n), p)`` as this process's rank would, once per scheme.

    First the ``"unseeded"`` draw, from the generator as the process has it
    (in a fresh process: seeded by torch at start-up, differently in each
    process); then, for each base seed, one draw after ``torch.manual_seed``
    with :func:`rank_seed`'s seed for ``"same seed"`` and for ``"seed + rank"``.
    All of it runs on a forked generator: the caller's generator is left as
    it was.

    Parameters
    ----------
    rank : int
        The process's index in its group.
    base_seeds : sequence of int
        The base seeds to try, one run of the group each.
    n : int, default 32
        Elements of the mask.
    p : float, default 0.5
        Dropout probability.

    Returns
    -------
    list of dict
        One record per draw, with the keys ``scheme``, ``rank``, ``base_seed``
        (None for ``"unseeded"``), ``seed`` (``torch.initial_seed()`` when the
        mask was drawn) and ``mask`` (:func:`mask_bits`).

    Raises
    ------
    ValueError
        If ``rank`` is negative; nothing is drawn then.

    Examples
    --------
    >>> records = draw_masks(0, [7], n=4)
    >>> [(r["scheme"], r["seed"]) for r in records][1:]
    [('same seed', 7), ('seed + rank', 7)]
    """
    rank_seed("unseeded", 0, rank)  # checks the rank before anything is drawn
    ones = torch.ones(n)
    records = []
    with torch.random.fork_rng(devices=[]):
        records.append(
            {
                "scheme": "unseeded",
                "rank": rank,
                "base_seed": None,
                "seed": torch.initial_seed(),
                "mask": mask_bits(F.dropout(ones, p)),
            }
        )
        for base_seed in base_seeds:
            for scheme in SCHEMES[1:]:
                seed = rank_seed(scheme, base_seed, rank)
                torch.manual_seed(seed)
                record = {"scheme": scheme, "rank": rank, "base_seed": base_seed, "seed": seed}
                records.append(record | {"mask": mask_bits(F.dropout(ones, p))})
    return records


def worker(rank: int, results: _Queue, base_seeds: Sequence[int], n: int, p: float) -> None:
    """The function ``torch.multiprocessing.spawn`` runs in each process: draw, then report.

    ``spawn`` calls it as ``worker(rank, *args)``; it puts the list of
    :func:`draw_masks` records on ``results`` (a queue the parent reads).

    Parameters
    ----------
    rank : int
        The process's index, passed by ``spawn``.
    results : object
        A queue, or anything with ``put``: a ``SimpleQueue`` of the spawn context across
        processes, a ``queue.Queue`` within one.
    base_seeds : sequence of int
        Passed to :func:`draw_masks`.
    n : int
        Elements of each mask.
    p : float
        Dropout probability.

    Examples
    --------
    >>> import queue
    >>> results = queue.Queue()
    >>> worker(0, results, [3], 4, 0.5)
    >>> len(results.get())
    3
    """
    results.put(draw_masks(rank, base_seeds, n, p))
