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
import zlib

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
            "info": info,
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


#: Each edition's paper as pdfinfo names it: A4 for the Japanese edition, as Japanese
#: books are printed; the English edition keeps US Letter.
PAPER = {"en": "letter", "ja": "A4"}


def test_paper_size(pdf):
    size = re.search(r"^Page size:\s+(.*)$", pdf["info"], re.M).group(1)
    assert size.endswith(f"({PAPER[pdf['edition']]})"), size


#: A text matrix that skews: ``a b c d e f Tm`` with b = 0 and c != 0. XeTeX's FakeSlant
#: (fontspec's AutoFakeSlant) slants a face that has no italic this way; pdffonts cannot
#: show it (the font is the upright one), so the test reads the page content streams.
_NUMBER = rb"-?[\d.]+"
_TM = re.compile(rb"(?<![\w.-])%s (%s) (%s) %s %s %s Tm" % ((_NUMBER,) * 6))


def _skewed_text_matrices(path) -> int:
    data, count = path.read_bytes(), 0
    for match in re.finditer(rb"stream\r?\n", data):
        end = data.find(b"endstream", match.end())
        try:
            content = zlib.decompressobj().decompress(data[match.end() : end])
        except zlib.error:
            continue
        for b, c in _TM.findall(content):
            count += float(b) == 0 and float(c) != 0
    return count


def test_no_faked_slant(pdf):
    """Japanese in italics stays upright: no font set up with a fake slant, none drawn."""
    log = re.sub(r"\n\(fontspec\)\s*", "", pdf["log"])  # fontspec wraps its messages
    assert "FakeSlant" not in log and "slant=" not in log, "a font is slanted by XeTeX"
    assert _skewed_text_matrices(pdf["path"]) == 0, "text drawn with a slanting matrix"


def _nospace(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_japanese_chapter_labels_and_running_feet(built_pdfs):
    """Each chapter opens with 第N章 over its title; no 「第 22 章. 用語集」 in the feet."""
    text = built_pdfs["ja"]["text"]
    flat = _nospace(text)
    numbers = []
    for page in CHAPTERS:
        found = re.search(r"第(\d+)章" + re.escape(_nospace(_title(page, "ja"))), flat)
        assert found, f"no 第N章 label over the opener of {page}"
        numbers.append(int(found.group(1)))
    assert numbers == sorted(set(numbers)) and numbers[0] == 1, numbers
    assert not re.search(r"第\s*\d+\s*章\s*\.", text), "a period after the chapter label"


#: Four or more Japanese characters each followed by a space: a letter-spaced line.
_SPACED = re.compile(r"(?:[\u3040-\u30ff\u4e00-\u9fff] +){3,}[\u3040-\u30ff\u4e00-\u9fff]")


def test_japanese_chapter_map_fits_one_page(built_pdfs):
    """book/intro.md's chapter map: on one page, every chapter in it, nothing letter-spaced."""
    pages = built_pdfs["ja"]["text"].split("\f")
    header = "この章が答える問い"
    page = next(p for p in pages if header in p)
    for chapter in CHAPTERS:
        # A row starts with the chapter's number and title (which may wrap in its cell).
        number = int(chapter.split("/")[-1].split("_")[0])
        start = r"\s*".join(map(re.escape, _nospace(_title(chapter, "ja"))[:3]))
        assert re.search(rf"^\s*{number}\s+{start}", page, re.M), f"{chapter}: not on the page"
    assert "読了時間" in page, "the column head 読了時間 is broken over lines"
    assert not _SPACED.search(page), _SPACED.search(page).group(0)


def test_japanese_index(built_pdfs):
    """The index: Sphinx's "module" entries in Japanese, no letter-spaced entry."""
    pages = built_pdfs["ja"]["text"].split("\f")
    start = next(i for i, p in enumerate(pages) if re.search(r"^\s*索引\s*$", p, re.M))
    index = "\n".join(pages[start:])
    assert not re.search(r"^\s*module\b", index, re.M), "an index entry reads 'module'"
    assert "モジュール" in index
    assert not _SPACED.search(index), _SPACED.search(index).group(0)
