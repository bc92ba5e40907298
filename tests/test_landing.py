"""The landing page's quick start prints what the page says it prints."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from helpers import ROOT

QUICKSTART = ROOT / "book" / "quickstart"


@pytest.mark.parametrize("capability", [None, pytest.param("default", marks=pytest.mark.grid)])
def test_quick_start_prints_the_output_shown_on_the_landing_page(capability):
    env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"}
    if capability:
        env["ATEN_CPU_CAPABILITY"] = capability
    run = subprocess.run(
        [sys.executable, "quickstart.py"],
        cwd=QUICKSTART,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout == (QUICKSTART / "quickstart.out").read_text(encoding="utf-8")
    assert run.stderr == ""


def test_quick_start_is_ten_lines_of_torch_nn():
    code = (QUICKSTART / "quickstart.py").read_text(encoding="utf-8")
    assert len(code.splitlines()) <= 10
    assert "dropmini" not in code and "nn.Dropout(" in code
