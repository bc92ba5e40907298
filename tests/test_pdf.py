"""`make pdf`'s build: the whole book as one PDF, checked with poppler's tools.

Builds the PDF from clean with JB1's LaTeX builder (XeLaTeX) into a temporary folder,
copies it to ``_build/pdf/book.pdf`` (where ``make pdf`` puts it, and where the HTML
build picks it up for the ".pdf" button) and saves two pages as PNG under
``_build/screenshots/``. Needs Debian's TeX packages and poppler-utils (``.ci/run``
installs them): skipped locally without them, failed under ``CI=true``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, toc_pages

pytestmark = pytest.mark.pdf

TOOLS = ("xelatex", "latexmk", "pdfinfo", "pdftotext", "pdfimages", "pdftoppm")
CHAPTERS = [p for p in toc_pages() if p.startswith("notebooks/")]


def _notebook(page: str) -> dict:
    return json.loads((ROOT / f"{page}.ipynb").read_text(encoding="utf-8"))


def _title(page: str) -> str:
    for cell in _notebook(page)["cells"]:
        for line in "".join(cell["source"]).splitlines():
            if line.startswith("# "):
                return line[2:].replace("`", "").strip()
    raise AssertionError(f"{page} has no title")


def _run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def pdf(tmp_path_factory) -> dict:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        message = f"missing {missing}: install the TeX and poppler packages (.ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path_factory.mktemp("pdf")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    start = time.perf_counter()
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(out),
         "-W", "-n", "--keep-going", "--builder", "pdflatex"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    latex = out / "_build" / "latex"
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    target = ROOT / "_build" / "pdf" / "book.pdf"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(latex / "book.pdf", target)
    pages = int(re.search(r"^Pages:\s+(\d+)", _run("pdfinfo", str(target)), re.M).group(1))
    (target.parent / "build.txt").write_text(f"pages: {pages}\nbuild seconds: {seconds:.1f}\n")
    print(f"\nPDF: {pages} pages, built in {seconds:.1f} s")
    return {
        "path": target,
        "pages": pages,
        "log": (latex / "book.log").read_text(encoding="utf-8", errors="replace"),
        "stderr": result.stderr,
        "text": _run("pdftotext", "-layout", str(target), "-"),
    }


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_pdf_builds_without_warnings_or_missing_glyphs(pdf):
    assert "WARNING" not in pdf["stderr"], pdf["stderr"][-3000:]
    assert "Missing character" not in pdf["log"], "a glyph is missing from the fonts"
    assert not re.search(r"Reference `[^']*' on page \d+ undefined", pdf["log"])
    assert "??" not in pdf["text"], "an unresolved cross-reference printed as ??"


def test_page_count_is_plausible(pdf):
    # At least two pages per chapter; a runaway (e.g. one line per page) would be far more.
    assert 2 * len(CHAPTERS) <= pdf["pages"] <= 30 * len(CHAPTERS), pdf["pages"]


def test_every_figure_is_included(pdf):
    figures = sum(
        "image/png" in output.get("data", {})
        for page in CHAPTERS
        for cell in _notebook(page)["cells"]
        for output in cell.get("outputs", [])
    )
    rows = _run("pdfimages", "-list", str(pdf["path"])).splitlines()[2:]
    images = [row for row in rows if row.split()[2] == "image"]
    assert len(images) == figures, (len(images), figures)


def test_chapter_titles_japanese_terms_and_used_in_lines(pdf):
    text = _squash(pdf["text"])
    upper = text.upper()
    for page in CHAPTERS:
        # Chapter openings are set in capitals, running heads and contents in mixed case.
        assert _title(page) in text or _title(page).upper() in upper, _title(page)
    for term in ("ドロップアウト確率", "共同適応", "ビット単位で一致"):
        assert term in text, f"Japanese glossary term {term} missing"
    assert "Used in:" in text, "the glossary's 'Used in' lines are missing"


def test_hidden_solution_cells_are_printed(pdf):
    text = _squash(pdf["text"])
    hidden = [
        "".join(cell["source"]).splitlines()[0]
        for page in CHAPTERS
        for cell in _notebook(page)["cells"]
        if cell["cell_type"] == "code"
        and {"hide-cell", "hide-input"} & set(cell.get("metadata", {}).get("tags", []))
    ]
    assert hidden, "no hidden cells to check"
    for first_line in hidden:
        assert _squash(first_line)[:40] in text, f"hidden cell not printed: {first_line}"


def test_save_two_pages_as_png(pdf):
    """The first page with a figure and the glossary page, for a human to look at."""
    rows = _run("pdfimages", "-list", str(pdf["path"])).splitlines()[2:]
    figure_page = int(rows[0].split()[0])
    pages = pdf["text"].split("\f")
    glossary_page = next(i for i, t in enumerate(pages, 1) if "ドロップアウト確率" in t)
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for name, number in (("pdf-figure-page", figure_page), ("pdf-glossary-page", glossary_page)):
        prefix = shots / name
        _run("pdftoppm", "-png", "-r", "80", "-singlefile", "-f", str(number), "-l", str(number),
             str(pdf["path"]), str(prefix))  # fmt: skip
        assert prefix.with_suffix(".png").stat().st_size > 10_000
