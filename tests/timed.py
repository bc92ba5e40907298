"""Time the stages of ``make test`` and print them as a table at the end.

Usage (from the Makefile)::

    python tests/timed.py --reset
    python tests/timed.py "stage name" [VAR=value ...] command [args ...]
    python tests/timed.py --report

Each stage runs ``command`` with the variables added to the environment and appends its
wall time to ``_build/test-times/stages.tsv``. When a stage fails, the table so far is
printed and its exit status returned. ``--report`` prints the stages, their total and the
five slowest notebooks, read from the JUnit XML files the nbval runs write into
``_build/test-times/`` (``nbval-*.xml``: a notebook's time is the sum of its cells').
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

TIMES = Path(__file__).resolve().parent.parent / "_build" / "test-times"
STAGES = TIMES / "stages.tsv"


def report() -> str:
    """The stage table and the five slowest notebooks, as text."""
    lines = ["", "make test, stage by stage:", f"  {'stage':<44} {'seconds':>8}"]
    total = 0.0
    if STAGES.is_file():
        for row in STAGES.read_text(encoding="utf-8").splitlines():
            name, seconds, status = row.split("\t")
            total += float(seconds)
            mark = "" if status == "0" else f"  (failed, exit {status})"
            lines.append(f"  {name:<44} {float(seconds):>8.1f}{mark}")
    lines.append(f"  {'total':<44} {total:>8.1f}")
    seconds: dict[tuple[str, str], float] = defaultdict(float)
    for xml in sorted(TIMES.glob("nbval-*.xml")):
        for case in ET.parse(xml).iter("testcase"):
            notebook = case.get("classname", "").removeprefix("notebooks.")
            seconds[notebook, xml.stem.removeprefix("nbval-")] += float(case.get("time", 0))
    if seconds:
        lines.append("Five slowest notebooks (seconds, their cells summed):")
        slowest = sorted(seconds.items(), key=lambda item: -item[1])[:5]
        lines += [f"  {nb:<44} {s:>8.1f}  ({run})" for (nb, run), s in slowest]
    return "\n".join(lines)


def run(name: str, argv: list[str]) -> int:
    """Run one stage and record its time; return its exit status."""
    env = dict(os.environ)
    while argv and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", argv[0]):
        key, value = argv.pop(0).split("=", 1)
        env[key] = value
    print(f"==> {name}: {' '.join(argv)}", flush=True)
    start = time.perf_counter()
    status = subprocess.call(argv, env=env)
    seconds = time.perf_counter() - start
    TIMES.mkdir(parents=True, exist_ok=True)
    with STAGES.open("a", encoding="utf-8") as out:
        out.write(f"{name}\t{seconds:.1f}\t{status}\n")
    print(f"==> {name}: {seconds:.1f} s", flush=True)
    if status != 0:
        print(report())
    return status


def main(argv: list[str]) -> int:
    """Dispatch ``--reset``, ``--report`` or a stage."""
    if argv == ["--reset"]:
        for path in (STAGES, *TIMES.glob("nbval-*.xml")):
            path.unlink(missing_ok=True)
        return 0
    if argv == ["--report"]:
        print(report())
        return 0
    return run(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
