"""Time the stages of ``make test`` and print them as a table at the end.

Usage (from the Makefile)::

    python tests/timed.py --reset
    python tests/timed.py "stage name" [VAR=value ...] command [args ...]
    python tests/timed.py --together "stage A" command ... :: "stage B" command ... \
        ::then "stage C" command ...
    python tests/timed.py --report

Each stage runs ``command`` with the variables added to the environment and appends its
wall time and CPU time (user + system, of the command and the processes it waited for) to
``_build/test-times/stages.tsv``. ``--together`` starts two or more lanes of
stages at once (a stage that uses one core would leave the other idle, e.g. XeLaTeX beside
the unit tests; ``::`` starts a lane, ``::then`` a stage after the previous one in its lane)
and waits for all: the first lane's output streams, the others' is printed as each stage
ends. When
a stage fails, the table so far is printed and the exit status returned. ``--report``
prints the stages, the wall time of each group of stages run together, the total and the
five slowest notebooks, read from the JUnit XML files the nbval runs write into
``_build/test-times/`` (``nbval-*.xml``: a notebook's time is the sum of its cells').
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

TIMES = Path(__file__).resolve().parent.parent / "_build" / "test-times"
STAGES = TIMES / "stages.tsv"


def report() -> str:
    """The stage table and the five slowest notebooks, as text."""
    lines = ["", "make test, stage by stage:", f"  {'stage':<52} {'seconds':>8} {'CPU s':>8}"]
    groups: dict[str, float] = {}
    used_in_all = 0.0
    if STAGES.is_file():
        for row in STAGES.read_text(encoding="utf-8").splitlines():
            name, seconds, status, group, end, cpu = (row.split("\t") + ["", "", ""])[:6]
            group = group or name
            ended = float(end) if group != name and end else float(seconds)
            groups[group] = max(groups.get(group, 0.0), ended)
            mark = "" if status == "0" else f"  (failed, exit {status})"
            beside = f"  (run together; ended at {ended:.1f} s)" if group != name else ""
            used = f"{float(cpu):>8.1f}" if cpu else f"{'':>8}"
            used_in_all += float(cpu or 0)
            lines.append(f"  {name:<52} {float(seconds):>8.1f} {used}{mark}{beside}")
    for group, seconds in groups.items():
        if " + " in group:
            lines.append(f"  {'wall time, ' + group:<52} {seconds:>8.1f}")
    lines.append(f"  {'total (wall time)':<52} {sum(groups.values()):>8.1f} {used_in_all:>8.1f}")
    seconds: dict[tuple[str, str], float] = defaultdict(float)
    for xml in sorted(TIMES.glob("nbval-*.xml")):
        for case in ET.parse(xml).iter("testcase"):
            notebook = case.get("classname", "").removeprefix("notebooks.")
            seconds[notebook, xml.stem.removeprefix("nbval-")] += float(case.get("time", 0))
    if seconds:
        lines.append("Five slowest notebooks (seconds, their cells summed):")
        slowest = sorted(seconds.items(), key=lambda item: -item[1])[:5]
        lines += [f"  {nb:<52} {s:>8.1f}  ({run})" for (nb, run), s in slowest]
    return "\n".join(lines)


def _environment(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """The environment with the leading ``VAR=value`` words added, and the command after them."""
    env, argv = dict(os.environ), list(argv)
    while argv and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", argv[0]):
        key, value = argv.pop(0).split("=", 1)
        env[key] = value
    return env, argv


def _record(
    name: str, seconds: float, status: int, group: str = "", end: float = 0.0, cpu: float = 0.0
) -> None:
    """Append a stage's row; ``end`` is when it ended, in seconds from its group's start."""
    TIMES.mkdir(parents=True, exist_ok=True)
    with STAGES.open("a", encoding="utf-8") as out:
        out.write(f"{name}\t{seconds:.1f}\t{status}\t{group}\t{end:.1f}\t{cpu:.1f}\n")


def _call(argv: list[str], env: dict[str, str], **streams) -> tuple[int, float]:
    """Run ``argv``; its exit status and CPU seconds (user + system, with what it waited for)."""
    process = subprocess.Popen(argv, env=env, **streams)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_utime + usage.ru_stime


def run(name: str, argv: list[str]) -> int:
    """Run one stage and record its time; return its exit status."""
    env, argv = _environment(argv)
    print(f"==> {name}: {' '.join(argv)}", flush=True)
    start = time.perf_counter()
    status, cpu = _call(argv, env)
    seconds = time.perf_counter() - start
    _record(name, seconds, status, cpu=cpu)
    print(f"==> {name}: {seconds:.1f} s, {cpu:.1f} s of CPU", flush=True)
    if status != 0:
        print(report())
    return status


def _lane(stages, start, stream, results) -> None:
    """Run one lane's stages one after the other; stop at the first that fails."""
    for name, argv in stages:
        env, argv = _environment(argv)
        print(f"==> {name} (run together): {' '.join(argv)}", flush=True)
        log = None if stream else tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        begun = time.perf_counter()
        status, cpu = _call(argv, env, stdout=log, stderr=log and subprocess.STDOUT)
        end = time.perf_counter()
        if log is not None:
            log.seek(0)
            print(f"==> output of {name}:\n{log.read()}", end="", flush=True)
            log.close()
        results.append((name, end - begun, status, end - start, cpu))
        print(f"==> {name}: {end - begun:.1f} s, {cpu:.1f} s of CPU (exit {status})", flush=True)
        if status != 0:
            return


def together(lanes: list[list[tuple[str, list[str]]]]) -> int:
    """Run the lanes at once, each lane's stages in turn; record each stage's own time.

    The first lane's output streams; the others' is printed when each of their stages ends.
    Returns the first non-zero exit status, or 0.
    """
    group = " + ".join(name for lane in lanes for name, _ in lane)
    start = time.perf_counter()
    results: list[tuple[str, float, int, float, float]] = []
    threads = [
        threading.Thread(target=_lane, args=(lane, start, index == 0, results))
        for index, lane in enumerate(lanes)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    order = [name for lane in lanes for name, _ in lane]
    for name, seconds, status, end, cpu in sorted(results, key=lambda r: order.index(r[0])):
        _record(name, seconds, status, group, end, cpu)
    failed = [status for _, _, status, *_ in results if status != 0]
    if failed or len(results) < len(order):
        print(report())
    return failed[0] if failed else 0


def split_stages(argv: list[str]) -> list[list[tuple[str, list[str]]]]:
    """Lanes of stages: ``::`` starts another lane, ``::then`` another stage in the same lane.

    Examples
    --------
    >>> split_stages(["A", "echo", "1", "::", "B", "X=2", "echo", "::then", "C", "true"])
    [[('A', ['echo', '1'])], [('B', ['X=2', 'echo']), ('C', ['true'])]]
    """
    lanes: list[list[tuple[str, list[str]]]] = [[]]
    current: list[str] = []
    for word in [*argv, "::"]:
        if word not in ("::", "::then"):
            current.append(word)
            continue
        if len(current) < 2:
            raise SystemExit("timed.py --together: each stage needs a name and a command")
        lanes[-1].append((current[0], current[1:]))
        current = []
        if word == "::":
            lanes.append([])
    return lanes[:-1]


def main(argv: list[str]) -> int:
    """Dispatch ``--reset``, ``--report`` or a stage."""
    if argv == ["--reset"]:
        for path in (STAGES, *TIMES.glob("nbval-*.xml")):
            path.unlink(missing_ok=True)
        return 0
    if argv == ["--report"]:
        print(report())
        return 0
    if argv[:1] == ["--together"]:
        return together(split_stages(argv[1:]))
    return run(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
