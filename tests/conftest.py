"""Fixtures and hooks only; helper functions live in ``helpers.py``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import torch
from filelock import FileLock

# ROOT and toc_pages are re-exported for test_book_build.py and test_browser.py, which
# still write ``from conftest import ROOT, toc_pages``; new code imports them from helpers.
from helpers import ROOT, build_editions, toc_pages  # noqa: F401


@pytest.fixture(autouse=True)
def _restore_rng():
    """Leave the global RNG as each test found it."""
    state = torch.get_rng_state()
    yield
    torch.set_rng_state(state)


def _build_book(out: Path) -> tuple[Path, subprocess.CompletedProcess]:
    """Both editions built from clean into ``out``; the Japanese one moved to ``ja/``."""
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


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """Build both editions from clean with -W -n into a temporary folder, once per run.

    The English and Japanese builds run side by side (each uses one core), as ``make book``
    would run them one after the other; the Japanese one is moved to ``ja/`` in the English
    output. The result holds both builds' return codes (the larger) and output. Under
    pytest-xdist (``make test`` runs the browser tests on two workers) the first worker to
    get here builds, and the others wait for it and use the same build.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _build_book(tmp_path_factory.mktemp("book"))
    shared = tmp_path_factory.getbasetemp().parent / "book"
    saved = shared / "result.json"
    with FileLock(f"{shared}.lock"):
        if not saved.is_file():
            html, result = _build_book(shared)
            fields = ("args", "returncode", "stdout", "stderr")
            record = {"html": str(html)} | {name: getattr(result, name) for name in fields}
            saved.write_text(json.dumps(record), encoding="utf-8")
    record = json.loads(saved.read_text(encoding="utf-8"))
    html = Path(record.pop("html"))
    return html, subprocess.CompletedProcess(**record)


def pytest_collection_modifyitems(items):
    """Mark every nbval item (a notebook cell) with ``notebooks``."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebooks)
