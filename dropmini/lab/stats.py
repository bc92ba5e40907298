"""Counting what dropout does: zeros per run and the Binomial law they follow."""

from __future__ import annotations

import math

import torch

from dropmini.functional import dropout

__all__ = ["binomial_pmf", "zero_counts"]


def binomial_pmf(n: int, q: float) -> list[float]:
    """Probabilities of 0, 1, ..., n successes in ``n`` independent trials of probability ``q``.

    Parameters
    ----------
    n : int
        Number of trials (elements).
    q : float
        Probability of success (of an element being zeroed, for dropout's zero count).

    Returns
    -------
    list of float
        ``P(K = k)`` for ``k = 0, ..., n``.

    Examples
    --------
    >>> [round(v, 4) for v in binomial_pmf(5, 0.2)]
    [0.3277, 0.4096, 0.2048, 0.0512, 0.0064, 0.0003]
    """
    return [math.comb(n, k) * q**k * (1 - q) ** (n - k) for k in range(n + 1)]


def zero_counts(n: int, p: float, runs: int, seed: int) -> torch.Tensor:
    """Apply dropout ``runs`` times to ``n`` ones and count the zeros of each run.

    One call drops a ``(runs, n)`` tensor of ones; row ``i`` is run ``i``.

    Parameters
    ----------
    n : int
        Elements per run.
    p : float
        Dropout probability.
    runs : int
        Number of runs.
    seed : int
        Seed for ``torch.manual_seed``.

    Returns
    -------
    torch.Tensor
        ``int64`` tensor of length ``runs``: the zero count of each run.

    Examples
    --------
    >>> counts = zero_counts(5, 0.2, runs=1000, seed=0)
    >>> counts.shape, int(counts.min()) >= 0, int(counts.max()) <= 5
    (torch.Size([1000]), True, True)
    """
    torch.manual_seed(seed)
    out = dropout(torch.ones(runs, n), p)
    return (out == 0).sum(dim=1)
