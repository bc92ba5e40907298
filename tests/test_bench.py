"""The benchmark command runs and reports what it promises (correctness, not speed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dropmini.lab import bench


def test_measure_reports_every_contender_and_exact_bytes():
    results = bench.measure(4096, repeat=2)
    by_name = {m.name: m for m in results}
    assert list(by_name) == list(bench.CONTENDERS)
    assert by_name["torch"].bytes_kept == by_name["dropmini"].bytes_kept == 4 * 4096
    assert 0 < by_name["seeded"].bytes_kept < 8 * 1024
    assert by_name["x * 2.0"].bytes_kept == 0
    assert all(m.forward_s > 0 and m.forward_backward_s > 0 for m in results)


def test_table_ratios_are_relative_to_torch():
    results = [
        bench.Measurement("torch", 100, 2e-6, 4e-6, 400),
        bench.Measurement("seeded", 100, 3e-6, 8e-6, 5056),
    ]
    lines = bench.format_table(results).splitlines()
    assert lines[1].split()[3] == "1.00" and lines[2].split()[3] == "1.50"
    assert lines[2].split()[5] == "2.00"
    assert "5,056 bytes" in lines[2]


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
