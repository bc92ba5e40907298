"""The book builds from clean with warnings as errors, and has every page of the TOC."""

from __future__ import annotations

import json
import platform
import re
import zipfile
from importlib.metadata import version

import pytest
from conftest import ROOT, toc_pages

CHAPTERS = [p for p in toc_pages() if p.startswith("notebooks/")]


@pytest.mark.book
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


@pytest.mark.book
def test_every_inline_script_is_emitted_once(built_book):
    """The cause of the old THEBE_JS_URL console error: inline scripts written twice."""
    html, _ = built_book
    for page in toc_pages():
        text = (html / f"{page}.html").read_text(encoding="utf-8")
        scripts = re.findall(r"<script>(.*?)</script>", text, flags=re.S)
        doubled = {s for s in scripts if scripts.count(s) > 1}
        assert doubled == set(), f"{page}: {doubled}"


@pytest.mark.book
def test_footer_states_the_versions_of_this_environment(built_book):
    html, _ = built_book
    text = (html / "book" / "intro.html").read_text(encoding="utf-8")
    for name in ("jupyter-book", "torch", "nbval"):
        assert f"{name} {version(name)}" in text, name
    assert f"Python {platform.python_version()}" in text


@pytest.mark.book
def test_figures_have_their_caption_as_alt_text(built_book):
    html, _ = built_book
    for page in CHAPTERS:
        text = (html / f"{page}.html").read_text(encoding="utf-8")
        for alt in re.findall(r'<img alt="([^"]*)"[^>]*_images/', text):
            assert not alt.endswith(".png") and len(alt) > 20, f"{page}: {alt!r}"


@pytest.mark.book
@pytest.mark.parametrize(
    ("edition", "words"),
    [
        ("", ("Outputs nbval compares", "Packages pinned")),
        ("ja/", ("nbval が比較する出力", "固定")),
    ],
)
def test_verification_page_has_a_row_per_chapter(built_book, edition, words):
    html, _ = built_book
    text = (html / edition / "book" / "verification.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", text, flags=re.S)
    for page in CHAPTERS:
        assert any(f"{page.split('/')[-1]}.html" in row for row in rows), page
    assert "ATEN_CPU_CAPABILITY=default" in text
    for word in words:  # the generated table and bullets speak the edition's language
        assert word in text, word
    if edition:
        assert "Packages pinned" not in text and "which the book reserves" not in text


@pytest.mark.book
def test_glossary_links_back_to_the_chapters_using_each_term(built_book):
    html, _ = built_book
    text = (html / "book" / "glossary.html").read_text(encoding="utf-8")
    used_in = re.findall(r'<p class="glossary-used-in">(.*?)</p>', text, flags=re.S)
    assert used_in, "no 'Used in' lines"
    for page in CHAPTERS:
        source = (ROOT / f"{page}.ipynb").read_text(encoding="utf-8")
        if "{term}" in source:
            assert any(f"{page.split('/')[-1]}.html" in line for line in used_in), page


def test_chapter_map_reading_times_follow_the_stated_rule():
    """The intro's reading times: prose at 150 words a minute, code at half weight, rounded up."""
    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    for page in CHAPTERS:
        nb = json.loads((ROOT / f"{page}.ipynb").read_text(encoding="utf-8"))
        words = {"markdown": 0, "code": 0}
        for cell in nb["cells"]:
            words[cell["cell_type"]] += len("".join(cell["source"]).split())
        minutes = -(-(words["markdown"] + words["code"] / 2) // 150)
        row = re.search(rf"\{{doc\}}`\.\./{page}` \|[^|]*\| (\d+) min \|", intro)
        assert row, f"{page} has no row with a reading time in the chapter map"
        assert int(row.group(1)) == minutes, f"{page}: {row.group(1)} min, the rule gives {minutes}"


@pytest.mark.book
@pytest.mark.parametrize("edition", ["", "ja/"])
def test_landing_page_opens_with_the_torch_quick_start_and_offers_the_bundle(built_book, edition):
    html, _ = built_book
    text = (html / edition / "book" / "intro.html").read_text(encoding="utf-8")
    first_code = re.search(
        r'<div class="highlight-python[^"]*"><div class="highlight"><pre>(.*?)</pre>',
        text,
        flags=re.S,
    )
    assert first_code, "no Python code on the landing page"
    assert text.index(first_code.group(0)) == text.index('<div class="highlight'), (
        "the quick start is not the first code on the page"
    )
    code = re.sub(r"<[^>]+>", "", first_code.group(1))
    assert "nn.Dropout(p=0.5)" in code and "drop.eval()" in code and "manual_seed" in code
    assert len(code.strip().splitlines()) <= 10
    assert 'href="../dropout-verified-notebooks.zip"' in text
    with zipfile.ZipFile(html / edition / "dropout-verified-notebooks.zip") as bundle:
        names = {n.rsplit("/", 1)[-1] for n in bundle.namelist() if n.endswith(".ipynb")}
    assert names == {f"{page.split('/')[-1]}.ipynb" for page in CHAPTERS}
