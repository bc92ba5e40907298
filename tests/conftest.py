"""Fixtures and hooks only; helper functions live in ``helpers.py``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import torch

# ROOT and toc_pages are re-exported for test_book_build.py and test_browser.py, which
# still write ``from conftest import ROOT, toc_pages``; new code imports them from helpers.
from helpers import ROOT, build_editions, toc_pages  # noqa: F401


@pytest.fixture(autouse=True)
def _restore_rng():
    """Leave the global RNG as each test found it."""
    state = torch.get_rng_state()
    yield
    torch.set_rng_state(state)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """Build both editions from clean with -W -n into a temporary folder, once per session.

    The English and Japanese builds run side by side (each uses one core), as ``make book``
    would run them one after the other; the Japanese one is moved to ``ja/`` in the English
    output. The result holds both builds' return codes (the larger) and output.
    """
    out = tmp_path_factory.mktemp("book")
    builds = build_editions(out, "html")
    html = out / "en" / "_build" / "html"
    if (out / "ja" / "_build" / "html").is_dir() and html.is_dir():
        (out / "ja" / "_build" / "html").rename(html / "ja")
    result = subprocess.CompletedProcess(
        args=[b.args for b in builds.values()],
        returncode=max(b.returncode for b in builds.values()),
        stdout="".join(f"--- {name} ---\n{b.stdout}" for name, b in builds.items()),
        stderr="".join(f"--- {name} ---\n{b.stderr}" for name, b in builds.items()),
    )
    return html, result


def pytest_collection_modifyitems(items):
    """Mark every nbval item (a notebook cell) with ``notebooks``."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebooks)
