"""The benchmark command runs and reports what it promises (correctness, not speed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from dropmini.lab import bench
from dropmini.lab.ops import RecordOps


def test_measure_reports_every_contender_and_exact_bytes():
    results = bench.measure(4096, repeat=2)
    by_name = {m.name: m for m in results}
    assert list(by_name) == list(bench.CONTENDERS)
    assert by_name["torch"].bytes_kept == by_name["dropmini"].bytes_kept == 4 * 4096
    assert by_name["article"].bytes_kept == 4 * 4096
    assert by_name["bool mask"].bytes_kept == 4096
    assert by_name["packed"].bytes_kept == 4096 // 8
    assert by_name["seeded"].bytes_kept == 5056
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
    assert [r["name"] for r in rows] == list(bench.CONTENDERS)
    assert "[1/1] size 4,096" in done.stderr


def test_command_line_rejects_nonsense():
    with pytest.raises(SystemExit):
        bench.main(["--repeat", "0"])


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
