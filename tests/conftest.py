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
    """Build both editions from clean with -W -n into a temporary folder, once per session.

    The English and Japanese builds run side by side (each uses one core), as ``make book``
    would run them one after the other; the Japanese one is moved to ``ja/`` in the English
    output. The result holds both builds' return codes (the larger) and output.
    """
    out = tmp_path_factory.mktemp("book")
    jupyter_book = str(Path(sys.executable).parent / "jupyter-book")
    flags = ["-W", "-n", "--keep-going", "--builder", "html"]
    ja_config = out / "ja" / "_config.yml"
    editions = str(ROOT / "book" / "_ext" / "editions.py")
    subprocess.run([sys.executable, editions, "config", "ja", str(ja_config)], check=True)
    commands = {
        "en": [jupyter_book, "build", str(ROOT), "--path-output", str(out / "en"), *flags],
        "ja": [jupyter_book, "build", str(ROOT), "--config", str(ja_config),
               "--path-output", str(out / "ja"), *flags],
    }  # fmt: skip
    running = {
        name: subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, cmd in commands.items()
    }
    outputs = {name: process.communicate() for name, process in running.items()}
    html = out / "en" / "_build" / "html"
    if (out / "ja" / "_build" / "html").is_dir() and html.is_dir():
        (out / "ja" / "_build" / "html").rename(html / "ja")
    result = subprocess.CompletedProcess(
        args=list(commands.values()),
        returncode=max(process.returncode for process in running.values()),
        stdout="".join(f"--- {name} ---\n{o[0]}" for name, o in outputs.items()),
        stderr="".join(f"--- {name} ---\n{o[1]}" for name, o in outputs.items()),
    )
    return html, result


def pytest_collection_modifyitems(items):
    """Mark every nbval item (a notebook cell) with ``notebooks``."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebooks)
