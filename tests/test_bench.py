"""The benchmark command runs and reports what it promises (correctness, not speed)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dropmini.lab import bench
from dropmini.lab.ops import RecordOps


@pytest.mark.slow  # times every contender at two sizes
def test_measure_reports_every_contender_and_exact_bytes():
    results = bench.measure(4096, repeat=2)
    by_name = {m.name: m for m in results}
    assert list(by_name) == list(bench.CONTENDERS)
    assert by_name["torch"].bytes_kept == by_name["dropmini"].bytes_kept == 4 * 4096
    assert by_name["article"].bytes_kept == 4 * 4096
    assert by_name["bool mask"].bytes_kept == 4096
    assert by_name["packed"].bytes_kept == 4096 // 8
    assert by_name["seeded"].bytes_kept == 5056
    assert by_name["fused"].bytes_kept == 4096 // 8
    assert by_name["x * 2.0"].bytes_kept == 0
    assert by_name[bench.TWIN].bytes_kept == 4 * 4096
    assert list(by_name)[-1] == bench.TWIN  # timed last, after every other contender
    assert all(m.forward_s > 0 and m.forward_backward_s > 0 for m in results)


def test_twin_runs_torchs_dropout():
    x = torch.randn(999, dtype=torch.float64)
    outputs = []
    for name in ("torch", bench.TWIN):
        torch.manual_seed(3)
        outputs.append((bench.CONTENDERS[name](x), torch.get_rng_state()))
    torch.manual_seed(3)
    expected = F.dropout(x, 0.5)
    assert torch.equal(outputs[0][0], expected) and torch.equal(outputs[1][0], expected)
    assert torch.equal(outputs[0][1], outputs[1][1])
    assert bench.CONTENDERS["torch"] is not bench.CONTENDERS[bench.TWIN]  # timed separately


def test_resolution_is_the_largest_gap_between_the_twins():
    twin = bench.TWIN
    results = [
        bench.Measurement("torch", 10, 1.0, 2.0, 0),
        bench.Measurement(twin, 10, 1.2, 2.0, 0),  # forward 20 % slower
        bench.Measurement("seeded", 10, 9.0, 9.0, 0),  # other contenders do not count
        bench.Measurement("torch", 20, 4.0, 3.0, 0),
        bench.Measurement(twin, 20, 4.0, 2.0, 0),  # forward + backward 1.5 times faster
    ]
    assert bench.resolution(results) == pytest.approx(0.5)
    assert bench.resolution(results[:3]) == pytest.approx(0.2)
    nan = float("nan")  # forward-only measurements
    only_forward = [
        bench.Measurement("torch", 10, 1.0, nan, 0),
        bench.Measurement(twin, 10, 0.8, nan, 0),
    ]
    assert bench.resolution(only_forward) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="needs both"):
        bench.resolution(results[:1])


def test_table_ends_with_the_resolution_when_the_twin_is_there():
    rows = [
        bench.Measurement("torch", 100, 2e-6, 4e-6, 400),
        bench.Measurement("seeded", 100, 4e-6, 8e-6, 0),
    ]
    assert "resolution" not in bench.format_table(rows)
    rows.append(bench.Measurement(bench.TWIN, 100, 2e-6, 5e-6, 400))  # 25 % slower f+b
    lines = bench.format_table(rows).splitlines()
    assert lines[-2].split()[-3:] == ["1.25", "400", "bytes"]
    assert lines[-1].startswith("resolution:") and "25%" in lines[-1]


def test_table_ratios_are_relative_to_torch():
    results = [
        bench.Measurement("torch", 100, 2e-6, 4e-6, 400),
        bench.Measurement("seeded", 100, 3e-6, 8e-6, 5056),
    ]
    lines = bench.format_table(results).splitlines()
    assert lines[1].split()[3] == "1.00" and lines[2].split()[3] == "1.50"
    assert lines[2].split()[5] == "2.00"
    assert "5,056 bytes" in lines[2]


@pytest.mark.slow  # starts a Python process that imports torch and times every contender
def test_command_line_json_and_progress():
    done = subprocess.run(
        [sys.executable, "-m", "dropmini.lab.bench", "--sizes", "4096", "--repeat", "1", "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows = json.loads(done.stdout)
    names = [n for n in bench.CONTENDERS if n != bench.TWIN] + list(bench.LIMITS) + [bench.TWIN]
    assert [r["name"] for r in rows] == names  # the limits come before the twin, last
    assert all(r["threads"] is None for r in rows)
    assert "[1/1] size 4,096" in done.stderr


def test_command_line_rejects_nonsense():
    with pytest.raises(SystemExit):
        bench.main(["--repeat", "0"])
    before = torch.get_num_threads()
    for threads in (["0"], ["1", "999"]):
        with pytest.raises(SystemExit):
            bench.main(["--sizes", "64", "--threads", *threads])
    assert torch.get_num_threads() == before  # nothing was set


def test_command_line_threads_rows_and_table(capsys, monkeypatch):
    cheap = lambda t: t * 1.0  # noqa: E731 - stands in for torch: only the rows matter here
    few = {"torch": cheap, "fused": bench.CONTENDERS["fused"], bench.TWIN: cheap}
    monkeypatch.setattr(bench, "CONTENDERS", few)  # main() times these
    before = torch.get_num_threads()
    argv = ["--sizes", str(2**16), "--repeat", "1", "--threads", "1"]
    assert bench.main([*argv, "--no-limits"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[0] == "thr" and lines[-1].startswith("resolution:")
    assert [r.split()[:3] for r in lines[1:-1]] == [
        ["1", "65,536", "torch"],
        ["1", "65,536", "fused"],
        ["1", "65,536", "torch"],  # "torch again"
    ]
    assert torch.get_num_threads() == before  # restored
    assert bench.main([*argv, "--json"]) == 0  # with the limits, before the twin
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["torch", "fused", *bench.LIMITS, bench.TWIN]
    assert [r["threads"] for r in rows] == [1] * 5


def test_runs_once_per_thread_count_and_restores_them():
    numba = pytest.importorskip("numba")
    contenders = {"torch": lambda t: t * 1.0, bench.TWIN: lambda t: t * 1.0}  # cheap stand-ins
    before = torch.get_num_threads(), numba.get_num_threads()
    counts = sorted({1, numba.config.NUMBA_NUM_THREADS})
    seen = []
    real_measure = bench.measure

    def spy(*args, **kwargs):
        seen.append((torch.get_num_threads(), numba.get_num_threads()))
        return real_measure(*args, **kwargs)

    bench.measure = spy
    try:
        results = bench.run([2**20], 1, contenders=contenders, threads=counts)
    finally:
        bench.measure = real_measure
    assert seen == [(c, c) for c in counts]
    assert [(m.threads, m.name) for m in results] == [
        (c, name) for c in counts for name in contenders
    ]
    assert (torch.get_num_threads(), numba.get_num_threads()) == before
    with pytest.raises(ValueError, match="threads must be between"):
        bench.set_threads(0)


def test_ratios_and_resolution_are_per_thread_count():
    twin, nan = bench.TWIN, float("nan")
    results = [
        bench.Measurement("torch", 10, 1.0, 2.0, 0, threads=1),
        bench.Measurement("fused", 10, 0.25, 0.5, 0, threads=1),
        bench.Measurement(twin, 10, 1.0, 2.0, 0, threads=1),
        bench.Measurement("torch", 10, 2.0, 4.0, 0, threads=2),
        bench.Measurement("fused", 10, 0.25, 0.5, 0, threads=2),
        bench.Measurement("fused words", 10, 0.1, nan, 0, threads=2),
        bench.Measurement(twin, 10, 3.0, 4.0, 0, threads=2),  # 50 % off at 2 threads
    ]
    lines = bench.format_table(results).splitlines()
    assert lines[2].split()[:5] == ["1", "10", "fused", "25000000.000", "0.25"]
    assert lines[5].split()[:5] == ["2", "10", "fused", "25000000.000", "0.12"]
    assert lines[6].split()[6:8] == ["-", "-"]  # forward only ("fused words" is two words)
    assert bench.resolution(results) == pytest.approx(0.5)
    assert bench.resolution(results[:3]) == 0.0


def test_fused_contender_and_limits_are_torchs_draw():
    x = torch.randn(999, dtype=torch.float64)
    torch.manual_seed(4)
    ours = bench.CONTENDERS["fused"](x)
    torch.manual_seed(4)
    assert torch.equal(ours, F.dropout(x, bench.P))
    torch.manual_seed(0)  # fused_words draws from manual_seed(0)'s words
    mask = torch.empty(999).bernoulli_(1 - bench.P).to(torch.uint8).numpy()
    before = torch.get_rng_state()
    bits = bench.LIMITS["fused words"](torch.empty(999))
    assert torch.equal(before, torch.get_rng_state())  # the generator is not touched
    assert (np.unpackbits(bits, count=999, bitorder="little") == mask).all()
    y = torch.randn(999)
    expected = torch.zeros(999)
    expected[0::2] = y[0::2] * 2  # the fixed mask keeps every other element
    assert torch.equal(bench.LIMITS["fused mul"](y), expected)


def test_bool_mask_contender_has_torchs_bits_and_gradient():
    x = torch.randn(999, dtype=torch.float64)
    runs = []
    for fn in (bench.bool_mask_dropout, lambda t: F.dropout(t, bench.P)):
        leaf = x.clone().requires_grad_()
        torch.manual_seed(6)
        out = fn(leaf)
        state = torch.get_rng_state()
        out.backward(torch.arange(999, dtype=torch.float64))
        runs.append((out.detach(), leaf.grad, state))
    assert all(torch.equal(a, b) for a, b in zip(*runs, strict=True))


@pytest.mark.slow  # runs the frontier measurement
def test_steps_and_bytes_by_size_and_series():
    steps = bench.dropout_steps(64)
    x = torch.ones(64)
    assert set(steps["bernoulli_"](x).unique().tolist()) <= {0.0, 1.0}
    assert set(steps["div"](x).unique().tolist()) <= {0.0, 2.0}
    assert torch.equal(steps["x * 2.0"](x), torch.full((64,), 2.0))
    with RecordOps() as record:  # torch's own dropout, not dropmini's (no empty_strided)
        steps["whole dropout"](x)
    assert record.ops == ["empty_like", "bernoulli_", "div_", "mul"]
    kept = bench.bytes_kept_by_size([8, 16], {"torch": lambda t: F.dropout(t, 0.5)})
    assert kept == {"torch": [32, 64]}
    results = [bench.Measurement(name, size, 1.0, float(size), 0)
               for size in (4, 8) for name in ("torch", "packed")]  # fmt: skip
    assert bench.series(results) == ([4, 8], {"torch": [4.0, 8.0], "packed": [4.0, 8.0]})
    assert bench.series(results, forward_backward=False)[1]["packed"] == [1.0, 1.0]
