"""Fixtures and hooks only; helper functions live in ``helpers.py``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

# ROOT and toc_pages are re-exported for test_book_build.py and test_browser.py, which
# still write ``from conftest import ROOT, toc_pages``; new code imports them from helpers.
from helpers import ROOT, toc_pages  # noqa: F401


@pytest.fixture(autouse=True)
def _restore_rng():
    """Leave the global RNG as each test found it."""
    state = torch.get_rng_state()
    yield
    torch.set_rng_state(state)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """Build the book from clean with -W -n into a temporary folder, once per session."""
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(out),
         "-W", "-n", "--keep-going", "--builder", "html"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return out / "_build" / "html", result


def pytest_collection_modifyitems(items):
    """Mark every nbval item (a notebook cell) with ``notebooks``."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebooks)
