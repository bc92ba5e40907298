"""What the Makefile's reader-facing targets will run (``make -n``: nothing is run)."""

from __future__ import annotations

import os
import subprocess

from helpers import ROOT


def _dry_run(target: str) -> str:
    return subprocess.run(
        ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_make_lab_passes_allow_root_exactly_when_run_as_root():
    lab = next(line for line in _dry_run("lab").splitlines() if "jupyter lab" in line)
    assert "--ip=127.0.0.1" in lab
    assert ("--allow-root" in lab) == (os.geteuid() == 0)
