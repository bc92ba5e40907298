"""The worker of chapter 23: each scheme's masks are those of torch.manual_seed with the rank's
seed, processes seeded alike agree, the caller's generator is left alone, and spawn can run it."""

from __future__ import annotations

import multiprocessing
import queue

import pytest
import torch

from dropmini.lab import processes

N, P = 24, 0.5


def _torch_bits(seed: int, n: int = N, p: float = P) -> str:
    """The keep-mask of ``torch.empty(n).bernoulli_(1 - p)`` after ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    kept = torch.empty(n).bernoulli_(1 - p).tolist()
    return "".join("1" if k == 1.0 else "0" for k in kept)


def _by_key(records: list[dict]) -> dict[tuple, dict]:
    return {(r["scheme"], r["rank"], r["base_seed"]): r for r in records}


def test_rank_seed_for_each_scheme():
    assert processes.rank_seed("unseeded", 5, 2) is None
    assert processes.rank_seed("same seed", 5, 2) == 5
    assert processes.rank_seed("seed + rank", 5, 2) == 7
    assert processes.rank_seed("seed + rank", 5, 0) == 5


@pytest.mark.parametrize(("scheme", "rank"), [("per rank", 0), ("same seed", -1)])
def test_rank_seed_refuses_an_unknown_scheme_or_a_negative_rank(scheme, rank):
    with pytest.raises(ValueError, match="scheme|rank"):
        processes.rank_seed(scheme, 0, rank)


def test_mask_bits_marks_nonzero_elements_as_kept():
    assert processes.mask_bits(torch.tensor([0.0, 2.0, -2.0, 0.0])) == "0110"


def test_seeded_masks_are_the_masks_of_that_seed():
    records = processes.draw_masks(1, [0, 3], N, P)
    assert [(r["scheme"], r["base_seed"], r["seed"]) for r in records[1:]] == [
        ("same seed", 0, 0),
        ("seed + rank", 0, 1),
        ("same seed", 3, 3),
        ("seed + rank", 3, 4),
    ]
    for r in records[1:]:
        assert r["mask"] == _torch_bits(r["seed"])
        assert len(r["mask"]) == N


def test_ranks_seeded_alike_agree_and_seed_plus_rank_differ():
    base_seeds = range(4)
    ranks = [_by_key(processes.draw_masks(rank, base_seeds, N, P)) for rank in (0, 1)]
    for b in base_seeds:
        assert ranks[0]["same seed", 0, b]["mask"] == ranks[1]["same seed", 1, b]["mask"]
        assert ranks[0]["seed + rank", 0, b]["mask"] != ranks[1]["seed + rank", 1, b]["mask"]


def test_the_unseeded_draw_comes_from_the_generator_as_found_and_is_then_restored():
    torch.manual_seed(11)
    torch.rand(3)  # the generator is not fresh: the unseeded draw must start from here
    state = torch.get_rng_state()
    expected = torch.empty(N).bernoulli_(1 - P)
    torch.set_rng_state(state)
    records = processes.draw_masks(0, [0], N, P)
    assert torch.equal(torch.get_rng_state(), state)
    unseeded = records[0]
    assert (unseeded["scheme"], unseeded["base_seed"], unseeded["seed"]) == ("unseeded", None, 11)
    assert unseeded["mask"] == "".join("1" if k else "0" for k in (expected != 0).tolist())


def test_a_negative_rank_draws_nothing():
    torch.manual_seed(2)
    state = torch.get_rng_state()
    with pytest.raises(ValueError, match="rank"):
        processes.draw_masks(-1, [0], N, P)
    assert torch.equal(torch.get_rng_state(), state)


def test_worker_puts_draw_masks_records_on_the_queue():
    results = queue.Queue()
    torch.manual_seed(4)
    state = torch.get_rng_state()
    processes.worker(1, results, [2], N, P)
    torch.set_rng_state(state)
    assert results.get_nowait() == processes.draw_masks(1, [2], N, P)
    assert results.empty()


@pytest.mark.slow  # starts two Python processes that import torch
def test_spawn_runs_the_worker_in_two_processes():
    import torch.multiprocessing as mp

    results = mp.get_context("spawn").SimpleQueue()
    mp.spawn(processes.worker, args=(results, [0, 1], N, P), nprocs=2)
    records = _by_key([r for _ in range(2) for r in results.get()])
    assert results.empty()
    assert not multiprocessing.active_children()
    for b in (0, 1):
        assert records["same seed", 0, b]["mask"] == records["same seed", 1, b]["mask"]
        assert records["same seed", 1, b]["mask"] == _torch_bits(b)
        assert records["seed + rank", 1, b]["mask"] == _torch_bits(b + 1)
    # Each fresh process seeds its generator on its own: the two initial seeds differ.
    assert records["unseeded", 0, None]["seed"] != records["unseeded", 1, None]["seed"]
    for rank in (0, 1):
        unseeded = records["unseeded", rank, None]
        assert unseeded["mask"] == _torch_bits(unseeded["seed"])
