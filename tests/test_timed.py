"""tests/timed.py: the stage table of ``make test``, with stages run together."""

from __future__ import annotations

import sys

import pytest
import timed

PY = sys.executable


@pytest.fixture
def times(tmp_path, monkeypatch):
    monkeypatch.setattr(timed, "TIMES", tmp_path)
    monkeypatch.setattr(timed, "STAGES", tmp_path / "stages.tsv")
    return tmp_path


@pytest.mark.slow  # one stage sleeps 1.2 s
def test_stages_run_together_are_timed_each_and_counted_once_in_the_total(times, capsys):
    sleep = [PY, "-c", "import time; time.sleep(1.2); print('slept')"]
    quick = [PY, "-c", "print('quick')"]
    assert timed.together([[("slow", sleep)], [("fast", quick)]]) == 0
    assert timed.run("after", quick) == 0
    rows = [line.split("\t") for line in (times / "stages.tsv").read_text().splitlines()]
    assert [r[0] for r in rows] == ["slow", "fast", "after"]
    assert [r[3] for r in rows] == ["slow + fast", "slow + fast", ""]
    slow, fast, after = (float(r[1]) for r in rows)
    assert slow >= 1.2 and fast < slow  # each stage's own time, though "slow" is waited for first
    out = capsys.readouterr().out
    assert "==> output of fast:\nquick\n" in out  # the second stage's output, printed whole
    table = timed.report()
    wall = next(line for line in table.splitlines() if "wall time, slow + fast" in line)
    assert float(wall.split()[-1]) == pytest.approx(slow, abs=0.05)  # the group's longest
    total = next(line for line in table.splitlines() if "total (wall time)" in line)
    assert float(total.split()[-2]) == pytest.approx(slow + after, abs=0.15)


def test_a_failing_stage_fails_the_group_and_is_marked(times):
    fail = [PY, "-c", "raise SystemExit(3)"]
    ok = [PY, "-c", "pass"]
    assert timed.together([[("ok", ok)], [("bad", fail)]]) == 3
    assert "(failed, exit 3)" in timed.report()


def test_variables_before_the_command_reach_its_environment(times, capsys):
    show = [PY, "-c", "import os; print(os.environ['STAGE_VALUE'])"]
    assert (
        timed.together([[("a", ["STAGE_VALUE=1", *show])], [("b", ["STAGE_VALUE=2", *show])]]) == 0
    )
    assert "==> output of b:\n2\n" in capsys.readouterr().out


@pytest.mark.slow  # stages sleep 0.8 s
def test_a_lane_runs_its_stages_in_turn_beside_another_lane(times):
    nap = [PY, "-c", "import time; time.sleep(0.8)"]
    lanes = timed.split_stages(["long", *nap[:2], nap[2].replace("0.8", "1.8"), "::",
                                "first", *nap, "::then", "second", *nap])  # fmt: skip
    assert [[name for name, _ in lane] for lane in lanes] == [["long"], ["first", "second"]]
    assert timed.together(lanes) == 0
    rows = {
        r.split("\t")[0]: r.split("\t") for r in (times / "stages.tsv").read_text().splitlines()
    }
    first, second = float(rows["first"][1]), float(rows["second"][1])
    assert 0.8 <= first < 1.6 and 0.8 <= second < 1.6  # each its own time
    assert float(rows["second"][4]) >= first + second - 0.2  # after the first (0.1 s rounding)
    table = timed.report().splitlines()
    wall = next(line for line in table if "wall time, long + first" in line)
    assert float(wall.split()[-1]) >= 1.8
    row = next(line for line in table if line.split()[:1] == ["second"])
    assert row.endswith(f"(run together; ended at {float(rows['second'][4]):.1f} s)")


def test_each_stage_records_its_own_cpu_time_not_its_wall_time(times):
    spin = [
        PY,
        "-c",
        "import time; t = time.process_time() + 0.5\nwhile time.process_time() < t: pass",
    ]
    nap = [PY, "-c", "import time; time.sleep(0.6)"]
    assert timed.together([[("spin", spin)], [("nap", nap)]]) == 0
    assert timed.run("alone", spin) == 0
    rows = {
        r.split("\t")[0]: r.split("\t") for r in (times / "stages.tsv").read_text().splitlines()
    }
    assert float(rows["spin"][5]) >= 0.5 and float(rows["alone"][5]) >= 0.5
    assert float(rows["nap"][5]) < 0.3 and float(rows["nap"][1]) >= 0.6  # asleep: wall, no CPU
    total = next(line for line in timed.report().splitlines() if "total (wall time)" in line)
    cpu = sum(float(rows[name][5]) for name in rows)
    assert float(total.split()[-1]) == pytest.approx(cpu, abs=0.05)


def test_a_failing_stage_stops_its_lane():
    fail, ok = [PY, "-c", "raise SystemExit(2)"], [PY, "-c", "print('never')"]
    results = []
    timed._lane([("bad", fail), ("after", ok)], 0.0, True, results)
    assert [r[0] for r in results] == ["bad"]


def test_a_stage_without_a_command_is_refused():
    with pytest.raises(SystemExit):
        timed.split_stages(["A", "::", "B", "echo"])
