"""The book builds from clean with warnings as errors, and has every page of the TOC."""

from __future__ import annotations

import json

from conftest import ROOT, toc_pages


def test_book_builds_clean_with_W_n(built_book):
    html, result = built_book
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "WARNING" not in result.stderr, result.stderr[-3000:]
    for page in toc_pages():
        assert (html / f"{page}.html").is_file(), page


def test_every_notebook_is_in_the_toc_and_executed_in_order():
    listed = {p for p in toc_pages() if p.startswith("notebooks/")}
    on_disk = {f"notebooks/{p.stem}" for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert listed == on_disk
    for page in sorted(on_disk):
        nb = json.loads((ROOT / f"{page}.ipynb").read_text())
        counts = [c["execution_count"] for c in nb["cells"] if c["cell_type"] == "code"]
        assert counts == list(range(1, len(counts) + 1)), f"{page}: run 'make notebooks'"
