"""`make pdf`'s build: the whole book as one PDF, checked with poppler's tools.

Builds both editions' PDFs from clean with JB1's LaTeX builder (XeLaTeX) into a temporary
folder, copies them to ``_build/pdf/book.pdf`` and ``book-ja.pdf`` (where ``make pdf`` puts
them, and where the HTML build picks them up for the ".pdf" button) and saves two pages of
each as PNG under ``_build/screenshots/``. Needs Debian's TeX packages and poppler-utils
(``.ci/run`` installs them): skipped locally without them, failed under ``CI=true``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time

import pytest
from babel.messages.pofile import read_po
from helpers import ROOT, build_editions, toc_pages

pytestmark = pytest.mark.pdf

TOOLS = ("xelatex", "latexmk", "pdfinfo", "pdftotext", "pdfimages", "pdftoppm")
CHAPTERS = [p for p in toc_pages() if p.startswith("notebooks/")]


def _notebook(page: str) -> dict:
    return json.loads((ROOT / f"{page}.ipynb").read_text(encoding="utf-8"))


def _title(page: str, edition: str = "en") -> str:
    """The chapter's title, in the edition's language (from its catalogue)."""
    for cell in _notebook(page)["cells"]:
        for line in "".join(cell["source"]).splitlines():
            if line.startswith("# "):
                title = line[2:].strip()
                if edition != "en":
                    po = ROOT / "book" / "locale" / edition / "LC_MESSAGES" / f"{page}.po"
                    with po.open("rb") as f:
                        title = read_po(f)[title].string
                return title.replace("`", "")
    raise AssertionError(f"{page} has no title")


def _run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


#: Each edition's PDF, where ``make pdf`` puts it.
PDF_NAMES = {"en": "book.pdf", "ja": "book-ja.pdf"}


@pytest.fixture(scope="module")
def built_pdfs(tmp_path_factory) -> dict:
    """Both editions' PDFs, built side by side (XeLaTeX uses one core each)."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        message = f"missing {missing}: install the TeX and poppler packages (.ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path_factory.mktemp("pdf")
    start = time.perf_counter()
    builds = build_editions(out, "pdflatex")
    seconds = time.perf_counter() - start
    built, report = {}, []
    for edition, build in builds.items():
        stderr = build.stderr
        assert build.returncode == 0, f"{edition}: {build.stdout[-3000:]}{stderr[-3000:]}"
        latex = out / edition / "_build" / "latex"
        target = ROOT / "_build" / "pdf" / PDF_NAMES[edition]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(latex / "book.pdf", target)
        info = _run("pdfinfo", str(target))
        pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
        report.append(f"{edition}: {pages} pages")
        built[edition] = {
            "edition": edition,
            "path": target,
            "pages": pages,
            "log": (latex / "book.log").read_text(encoding="utf-8", errors="replace"),
            "stderr": stderr,
            "text": _run("pdftotext", "-layout", str(target), "-"),
        }
    summary = f"{'; '.join(report)}; both built side by side in {seconds:.1f} s"
    (ROOT / "_build" / "pdf" / "build.txt").write_text(summary + "\n")
    print(f"\nPDF: {summary}")
    return built


@pytest.fixture(params=list(PDF_NAMES))
def pdf(request, built_pdfs) -> dict:
    return built_pdfs[request.param]


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
        title = _squash(_title(page, pdf["edition"]))
        assert title in text or title.upper() in upper, title
    for term in ("ドロップアウト確率", "共同適応", "ビット単位で一致"):
        assert term in text, f"Japanese glossary term {term} missing"
    used_in = {"en": "Used in:", "ja": "使用箇所："}[pdf["edition"]]
    assert used_in in text, "the glossary's 'Used in' lines are missing"


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
        prefix = shots / f"{name}-{pdf['edition']}"
        _run("pdftoppm", "-png", "-r", "80", "-singlefile", "-f", str(number), "-l", str(number),
             str(pdf["path"]), str(prefix))  # fmt: skip
        assert prefix.with_suffix(".png").stat().st_size > 10_000
