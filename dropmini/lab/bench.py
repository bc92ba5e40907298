"""Benchmark: ``python -m dropmini.lab.bench [--sizes N ...] [--repeat R] [--threads T ...]``.

Times the forward pass and forward + backward of torch's dropout, dropmini's
dropout, the first article's ``CustomDropout``, a dropout that keeps a 1-byte
bool mask (what CUDA's fused kernel keeps), dropmini's packed dropout (1 bit
per element), dropmini's seeded dropout (the generator's 5,056-byte state),
dropmini's fused dropout (a numba Mersenne Twister, 1 bit per element), a
memory-bound reference (``x * 2.0``) and torch's dropout once more, under
another name, on float32 CPU tensors. Two forward-only rows give the limits of
a fused dropout on the same run (``LIMITS``): its generation alone (two
Mersenne Twister words and a compare per element) and its multiply pass alone.
Contenders are interleaved within every repetition, so a slow phase of the
machine hits all of them alike; the report gives medians, nanoseconds per
element, the ratio to torch and the bytes each keeps for backward.
``--json`` prints JSON instead of the table; ``--threads 1 2`` runs everything
once per thread count (``torch.set_num_threads`` and ``numba.set_num_threads``),
each row's ratio taken to torch at the same count.

The last contender, ``torch again``, is the same function as ``torch``: how far
its ratio to torch lies from 1 is the benchmark's resolution on that run
(:func:`resolution`), and the table ends with it. A ratio no farther from 1
than that shows no difference.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from dropmini.custom import CustomDropout
from dropmini.functional import dropout
from dropmini.fused import fused_dropout
from dropmini.lab.memory import bytes_kept_for_backward
from dropmini.packed import packed_dropout
from dropmini.seeded import seeded_dropout

__all__ = [
    "CONTENDERS",
    "DEFAULT_SIZES",
    "LIMITS",
    "TWIN",
    "Measurement",
    "bool_mask_dropout",
    "bytes_kept_by_size",
    "dropout_steps",
    "format_table",
    "fused_multiply",
    "fused_words",
    "main",
    "measure",
    "resolution",
    "run",
    "series",
    "set_threads",
]

P = 0.5
DEFAULT_SIZES = [2**k for k in range(12, 25, 2)]
#: The contender that repeats the baseline ``torch`` under another name, last in the order.
TWIN = "torch again"


class _BoolMaskDropout(torch.autograd.Function):
    """Dropout with torch's bits, keeping a bool mask (1 byte per element) for backward."""

    @staticmethod
    def forward(ctx: Any, input: torch.Tensor, p: float) -> torch.Tensor:
        mask = torch.empty_like(input, dtype=torch.bool).bernoulli_(1 - p)
        ctx.save_for_backward(mask)
        ctx.q = 1 - p
        return input * mask.view(torch.uint8).to(input.dtype).div_(1 - p)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        (mask,) = ctx.saved_tensors
        return grad_output * mask.view(torch.uint8).to(grad_output.dtype).div_(ctx.q), None


def bool_mask_dropout(input: torch.Tensor, p: float = P) -> torch.Tensor:
    """Dropout with torch's bits that keeps a 1-byte bool mask, as CUDA's fused kernel does.

    A benchmark contender between torch on the CPU (4 bytes per float32
    element) and :func:`dropmini.packed_dropout` (1 bit); for ``0 < p < 1`` and
    training only.

    Examples
    --------
    >>> x = torch.ones(1000, requires_grad=True)
    >>> bytes_kept_for_backward(bool_mask_dropout, x)
    1000
    """
    return _BoolMaskDropout.apply(input, p)


_ARTICLE = CustomDropout(P)

#: Name to function of one tensor; ``torch`` is the baseline of every ratio, and
#: ``TWIN`` times the same call again, last, to show how far identical code lands.
CONTENDERS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "torch": lambda x: F.dropout(x, P),
    "dropmini": lambda x: dropout(x, P),
    "article": _ARTICLE,
    "bool mask": bool_mask_dropout,
    "packed": lambda x: packed_dropout(x, P),
    "seeded": lambda x: seeded_dropout(x, P),
    "fused": lambda x: fused_dropout(x, P),
    "x * 2.0": lambda x: x * 2.0,
    TWIN: lambda x: F.dropout(x, P),
}


@functools.cache
def _seed_words_cached(seed: int) -> np.ndarray:
    from dropmini.mt19937 import seed_words

    return seed_words(seed)


def _seed_words(seed: int) -> np.ndarray:
    """A fresh copy of the 624 words of ``manual_seed(seed)`` (the kernel changes them)."""
    return _seed_words_cached(seed).copy()


def fused_words(input: torch.Tensor, p: float = P) -> np.ndarray:
    """The generation of :func:`dropmini.fused_dropout` alone: its kernel, from a fixed state.

    Two Mersenne Twister words per element (twisted and tempered block by block)
    and one integer compare, packed into bits; no generator state is read or
    written (a fixed seed's words are used), no input read, no output made.

    Examples
    --------
    >>> bits = fused_words(torch.empty(20), 0.5)
    >>> _ = torch.manual_seed(0)
    >>> bool((np.unpackbits(bits, count=20, bitorder="little")
    ...       == torch.empty(20).bernoulli_(0.5).numpy()).all())
    True
    """
    from dropmini import fused

    n = input.numel()
    bits = np.empty((n + 7) // 8, dtype=np.uint8)
    fused._kernels().draw_bits(_seed_words(0), 0, 1, fused.keep_threshold(p), n, bits)
    return bits


def fused_multiply(input: torch.Tensor, p: float = P) -> torch.Tensor:
    """The multiply pass of :func:`dropmini.fused_dropout` alone, for a fixed mask of bits.

    Reads the input and the bits, writes a new output (as ``x * 2.0`` does); the
    pass runs on numba's threads from ``dropmini.fused.PARALLEL_MIN`` elements.

    Examples
    --------
    >>> fused_multiply(torch.ones(8), 0.5).tolist()   # a fixed mask: every other element
    [2.0, 0.0, 2.0, 0.0, 2.0, 0.0, 2.0, 0.0]
    """
    from dropmini import fused

    out = torch.empty_like(input)
    bits = np.full((input.numel() + 7) // 8, 0b01010101, dtype=np.uint8)
    scale = fused._scale(input.dtype, 1 - p)
    fused._scale_pass(fused._flat(input), fused._flat(out), bits, scale)
    return out


#: Forward-only rows that bound a fused dropout, timed on the same run as the contenders:
#: its generation alone and its multiply pass alone (``x * 2.0`` is torch's own such pass).
LIMITS: dict[str, Callable[[torch.Tensor], Any]] = {
    "fused words": fused_words,
    "fused mul": fused_multiply,
}


def dropout_steps(size: int, p: float = P) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """The three steps of CPU dropout as separate contenders, with the whole and ``x * 2.0``.

    Parameters
    ----------
    size : int
        Number of float32 elements (the scaling step reuses buffers of this size).
    p : float, default 0.5
        Dropout probability.

    Returns
    -------
    dict
        ``bernoulli_``, ``div``, ``x * noise``, ``whole dropout`` (torch's
        ``F.dropout``) and ``x * 2.0``, each a function of the input tensor, for
        :func:`measure` with ``backward=False``.

    Examples
    --------
    >>> list(dropout_steps(16))
    ['bernoulli_', 'div', 'x * noise', 'whole dropout', 'x * 2.0']
    """
    noise = torch.empty(size).bernoulli_(1 - p)
    scaled = torch.empty(size)
    return {
        "bernoulli_": lambda x: torch.empty_like(x).bernoulli_(1 - p),
        "div": lambda x: torch.div(noise, 1 - p, out=scaled),
        "x * noise": lambda x: x * noise,
        "whole dropout": lambda x: F.dropout(x, p),
        "x * 2.0": lambda x: x * 2.0,
    }


def bytes_kept_by_size(
    sizes: list[int], contenders: dict[str, Callable[[torch.Tensor], torch.Tensor]] | None = None
) -> dict[str, list[int]]:
    """Bytes each contender keeps for backward at every size (float32 inputs; exact).

    Examples
    --------
    >>> bytes_kept_by_size([8, 80], {"packed": lambda x: packed_dropout(x, 0.5)})
    {'packed': [1, 10]}
    """
    contenders = contenders or CONTENDERS
    kept: dict[str, list[int]] = {name: [] for name in contenders}
    for size in sizes:
        x = torch.ones(size, requires_grad=True)
        for name, fn in contenders.items():
            kept[name].append(bytes_kept_for_backward(fn, x))
    return kept


@dataclass
class Measurement:
    """Medians for one contender at one size.

    Attributes
    ----------
    name : str
        Contender name (a key of ``CONTENDERS``).
    size : int
        Number of elements.
    forward_s, forward_backward_s : float
        Median seconds per call (``forward_backward_s`` is NaN when only the
        forward pass was timed).
    bytes_kept : int
        Bytes kept for backward (see :func:`dropmini.lab.memory.bytes_kept_for_backward`).
    threads : int or None
        The thread count the run set (``--threads``), None if it set none.

    Examples
    --------
    >>> m = Measurement("torch", 1000, forward_s=2e-5, forward_backward_s=4e-5, bytes_kept=4000)
    >>> m.forward_ns_per_element, m.forward_backward_ns_per_element
    (20.0, 40.0)
    """

    name: str
    size: int
    forward_s: float
    forward_backward_s: float
    bytes_kept: int
    threads: int | None = None

    @property
    def forward_ns_per_element(self) -> float:
        """Median forward time per element, in nanoseconds."""
        return self.forward_s / self.size * 1e9

    @property
    def forward_backward_ns_per_element(self) -> float:
        """Median forward + backward time per element, in nanoseconds."""
        return self.forward_backward_s / self.size * 1e9


def _time(step: Callable[[], object], inner: int) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        step()
    return (time.perf_counter() - start) / inner


def measure(
    size: int,
    repeat: int = 7,
    contenders: dict[str, Callable[[torch.Tensor], Any]] | None = None,
    backward: bool = True,
    forward_only: Collection[str] = (),
    threads: int | None = None,
) -> list[Measurement]:
    """Time every contender at one size, interleaved, and return the medians.

    Parameters
    ----------
    size : int
        Number of float32 elements.
    repeat : int, default 7
        Repetitions; each times every contender once (several calls for small sizes).
    contenders : dict, optional
        Name to function; default ``CONTENDERS``.
    backward : bool, default True
        Also time forward + backward and measure the bytes kept; if false those
        are reported as NaN and 0 (for steps that are not differentiable).
    forward_only : collection of str, optional
        Names of contenders to time forward only, as with ``backward=False``
        (e.g. the ``LIMITS``); none by default.
    threads : int, optional
        Recorded in each measurement (the caller sets the threads: :func:`set_threads`).

    Returns
    -------
    list of Measurement
        One per contender, in the order given.

    Examples
    --------
    >>> [m.name for m in measure(4096, repeat=1)]  # doctest: +NORMALIZE_WHITESPACE
    ['torch', 'dropmini', 'article', 'bool mask', 'packed', 'seeded', 'fused', 'x * 2.0',
     'torch again']
    >>> only = measure(4096, 1, LIMITS, forward_only=LIMITS)
    >>> [(m.name, m.forward_backward_s != m.forward_backward_s) for m in only]  # NaN
    [('fused words', True), ('fused mul', True)]
    """
    contenders = contenders or CONTENDERS
    x = torch.randn(size)
    leaf = x.clone().requires_grad_()
    grad = torch.ones(size)
    inner = max(1, 2**20 // size)
    with_backward = {name: backward and name not in forward_only for name in contenders}

    def forward_backward(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        fn(leaf).backward(grad)
        leaf.grad = None

    forward = {name: [] for name in contenders}
    both = {name: [] for name in contenders}
    for name, fn in contenders.items():  # warm up
        fn(x)
        if with_backward[name]:
            forward_backward(fn)
    for _ in range(repeat):
        for name, fn in contenders.items():
            forward[name].append(_time(lambda fn=fn: fn(x), inner))
            if with_backward[name]:
                both[name].append(_time(lambda fn=fn: forward_backward(fn), inner))
    return [
        Measurement(
            name=name,
            size=size,
            forward_s=statistics.median(forward[name]),
            forward_backward_s=statistics.median(both[name]) if with_backward[name] else math.nan,
            bytes_kept=(
                bytes_kept_for_backward(fn, torch.ones(size, requires_grad=True))
                if with_backward[name]
                else 0
            ),
            threads=threads,
        )
        for name, fn in contenders.items()
    ]


def set_threads(count: int) -> tuple[int, int]:
    """Set torch's and numba's thread counts to ``count``; return the previous two.

    Parameters
    ----------
    count : int
        Threads for torch's intra-op pool and for numba's parallel loops (at most
        ``numba.config.NUMBA_NUM_THREADS``, the machine's cores by default).

    Returns
    -------
    tuple of int
        torch's and numba's counts before, to restore them.

    Raises
    ------
    ValueError
        If ``count`` is below 1 or above numba's limit.

    Examples
    --------
    >>> before = set_threads(1)
    >>> torch.get_num_threads()
    1
    >>> _ = set_threads(before[0])
    """
    from dropmini.fused import _kernels

    numba = _kernels().numba
    if not 1 <= count <= numba.config.NUMBA_NUM_THREADS:
        raise ValueError(
            f"threads must be between 1 and {numba.config.NUMBA_NUM_THREADS} here, got {count}"
        )
    before = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(count)
    numba.set_num_threads(count)
    return before


def run(
    sizes: list[int],
    repeat: int,
    progress: bool = False,
    contenders: dict[str, Callable[[torch.Tensor], Any]] | None = None,
    forward_only: Collection[str] = (),
    threads: list[int] | None = None,
) -> list[Measurement]:
    """Measure every size in turn (see :func:`measure`), optionally reporting progress.

    Parameters
    ----------
    sizes : list of int
        Element counts.
    repeat : int
        Repetitions per size.
    progress : bool, default False
        Print ``[i/n] size ...`` to stderr before each size.
    contenders : dict, optional
        Name to function; default ``CONTENDERS``, whose last entry ``TWIN``
        repeats ``torch`` to measure the resolution.
    forward_only : collection of str, optional
        Contenders timed forward only (see :func:`measure`); none by default.
    threads : list of int, optional
        Run everything once per thread count (:func:`set_threads`), restoring the
        counts afterwards; None leaves them as they are.

    Returns
    -------
    list of Measurement
        All measurements, thread count by thread count, size by size, contenders
        in the order given.

    Examples
    --------
    >>> twins = {"torch": CONTENDERS["torch"], TWIN: CONTENDERS[TWIN]}
    >>> results = run([4096, 8192], repeat=1, contenders=twins)
    >>> [(m.size, m.name) for m in results]
    [(4096, 'torch'), (4096, 'torch again'), (8192, 'torch'), (8192, 'torch again')]
    >>> resolution(results) >= 0
    True
    >>> [(m.threads, m.size) for m in run([4096], 1, contenders=twins, threads=[1])]
    [(1, 4096), (1, 4096)]
    """
    results = []
    steps = [(t, size) for t in (threads or [None]) for size in sizes]
    before = None
    try:
        for i, (count, size) in enumerate(steps, 1):
            if count is not None:
                previous = set_threads(count)
                before = before or previous
            if progress:
                where = f", {count} thread{'s' * (count != 1)}" if count is not None else ""
                print(f"[{i}/{len(steps)}] size {size:,}{where} ...", file=sys.stderr, flush=True)
            results.extend(measure(size, repeat, contenders, True, forward_only, count))
    finally:
        if before is not None:
            torch.set_num_threads(before[0])
            from dropmini.fused import _kernels

            _kernels().numba.set_num_threads(before[1])
    return results


def resolution(results: list[Measurement], baseline: str = "torch", twin: str = TWIN) -> float:
    """How far two timings of identical code land apart: the benchmark's resolution.

    For each size (and thread count), and for the forward and the forward + backward times, take the
    ratio ``r`` of the twin's median to the baseline's, and return the largest
    ``max(r, 1 / r) - 1`` (0.1 means the twins differ by 10 %). A ratio between
    two other contenders that lies no farther from 1 than this shows no
    difference on that run. NaN times (forward only) are skipped.

    Parameters
    ----------
    results : list of Measurement
        Measurements holding ``baseline`` and ``twin`` at every size.
    baseline, twin : str
        Names of the two contenders that run the same code.

    Returns
    -------
    float
        The largest relative gap between the two, 0 or more.

    Raises
    ------
    ValueError
        If some size lacks the baseline or the twin.

    Examples
    --------
    >>> resolution([Measurement("torch", 10, 1.0, 2.0, 40),
    ...             Measurement("torch again", 10, 1.1, 1.6, 40)])   # 2.0 / 1.6 = 1.25
    0.25
    """
    by_size: dict[tuple[int | None, int], dict[str, Measurement]] = {}
    for m in results:
        by_size.setdefault((m.threads, m.size), {})[m.name] = m
    gaps = [0.0]
    for (_, size), named in by_size.items():
        if baseline not in named or twin not in named:
            raise ValueError(
                f"size {size:,} needs both {baseline!r} and {twin!r} to measure resolution"
            )
        a, b = named[baseline], named[twin]
        for ours, ref in ((b.forward_s, a.forward_s), (b.forward_backward_s, a.forward_backward_s)):
            if ours == ours and ref == ref:  # not NaN
                ratio = ours / ref
                gaps.append(max(ratio, 1 / ratio) - 1)
    return max(gaps)


def series(
    results: list[Measurement], forward_backward: bool = True
) -> tuple[list[int], dict[str, list[float]]]:
    """Sizes and, per contender, the median seconds at each size (plain lists, for figures).

    For the results of one thread count (see :func:`run`).

    Examples
    --------
    >>> series([Measurement("torch", 10, 1.0, 2.0, 40), Measurement("torch", 20, 3.0, 4.0, 80)])
    ([10, 20], {'torch': [2.0, 4.0]})
    """
    sizes = list(dict.fromkeys(m.size for m in results))
    times: dict[str, list[float]] = {}
    for m in results:
        times.setdefault(m.name, []).append(
            m.forward_backward_s if forward_backward else m.forward_s
        )
    return sizes, times


def format_table(results: list[Measurement]) -> str:
    """Render measurements as a text table with ratios to torch at the same size.

    One row per measurement: nanoseconds per element and the ratio to the
    ``torch`` row of the same size (and thread count), forward and forward +
    backward (``-`` for rows timed forward only), then the bytes kept for
    backward. Results that record a thread count get a first column ``thr``.
    When every size also holds ``TWIN``, a last line gives the
    :func:`resolution` of the rows shown.

    Parameters
    ----------
    results : list of Measurement
        Measurements holding a ``torch`` row at every size.

    Returns
    -------
    str
        The table, one line per row, without a final newline.

    Examples
    --------
    >>> print(format_table([Measurement("torch", 1000, 2e-5, 4e-5, 4000),
    ...                     Measurement("seeded", 1000, 3e-5, 8e-5, 5056),
    ...                     Measurement("torch again", 1000, 2.2e-5, 4e-5, 4000)]))
          size   contender  fwd ns/el fwd/torch  f+b ns/el f+b/torch  kept for backward
         1,000       torch     20.000      1.00     40.000      1.00        4,000 bytes
         1,000      seeded     30.000      1.50     80.000      2.00        5,056 bytes
         1,000 torch again     22.000      1.10     40.000      1.00        4,000 bytes
    resolution: torch and torch again, the same code, differ by up to 10% here
    >>> print(format_table([Measurement("torch", 1000, 2e-5, 4e-5, 4000, threads=2),
    ...                     Measurement("fused words", 1000, 1e-6, math.nan, 0, threads=2)]))
    thr       size   contender  fwd ns/el fwd/torch  f+b ns/el f+b/torch  kept for backward
      2      1,000       torch     20.000      1.00     40.000      1.00        4,000 bytes
      2      1,000 fused words      1.000      0.05          -         -            0 bytes
    """
    base = {(m.threads, m.size): m for m in results if m.name == "torch"}
    with_threads = any(m.threads is not None for m in results)
    lines = [
        ("thr " if with_threads else "")
        + f"{'size':>10} {'contender':>11} {'fwd ns/el':>10} {'fwd/torch':>9} "
        f"{'f+b ns/el':>10} {'f+b/torch':>9} {'kept for backward':>18}"
    ]
    for m in results:
        ref = base[(m.threads, m.size)]
        if math.isnan(m.forward_backward_s):
            both = f"{'-':>10} {'-':>9}"
        else:
            both = (
                f"{m.forward_backward_ns_per_element:>10.3f} "
                f"{m.forward_backward_s / ref.forward_backward_s:>9.2f}"
            )
        lines.append(
            (f"{m.threads or '':>3} " if with_threads else "")
            + f"{m.size:>10,} {m.name:>11} {m.forward_ns_per_element:>10.3f} "
            f"{m.forward_s / ref.forward_s:>9.2f} {both} {m.bytes_kept:>12,} bytes"
        )
    twins = {(m.threads, m.size) for m in results if m.name == TWIN}
    if twins and twins == set(base):
        lines.append(
            f"resolution: torch and {TWIN}, the same code, differ by up to "
            f"{resolution(results):.0%} here"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m dropmini.lab.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=DEFAULT_SIZES,
        help="element counts (default: 4^6..4^12)",
    )
    parser.add_argument("--repeat", type=int, default=7, help="repetitions per size")
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=None,
        help="run once per thread count, e.g. --threads 1 2 (default: leave torch's and numba's)",
    )
    parser.add_argument(
        "--no-limits", action="store_true", help="leave out the forward-only rows of LIMITS"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.repeat < 1 or any(s < 1 for s in args.sizes):
        parser.error("--repeat and every size must be positive")
    if args.threads is not None:
        from dropmini.fused import _kernels

        limit = _kernels().numba.config.NUMBA_NUM_THREADS
        if any(not 1 <= count <= limit for count in args.threads):
            parser.error(f"every --threads count must be between 1 and {limit} here")
    contenders = dict(CONTENDERS)
    if not args.no_limits:  # before the twin, which stays last
        twin = contenders.pop(TWIN)
        contenders.update(LIMITS)
        contenders[TWIN] = twin
    results = run(args.sizes, args.repeat, True, contenders, LIMITS, args.threads)
    if args.json:
        print(json.dumps([asdict(m) for m in results], indent=2))
    else:
        print(format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
