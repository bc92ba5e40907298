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
    """Mark nbval items (notebook cells) with ``notebooks``; group items for pytest-xdist.

    Under ``-n 2 --dist loadgroup`` the cells of one notebook run in order on one worker
    (they share a kernel), and the book build with the tests that read it run on one
    worker, so the book is built once while the other worker runs everything else.
    """
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebooks)
            item.add_marker(pytest.mark.xdist_group(item.path.stem))
        elif item.get_closest_marker("book") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("book"))
