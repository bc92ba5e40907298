"""``book/_ext/editions.py``: links between the editions and the Japanese configuration."""

from __future__ import annotations

import doctest
import re
import sys

import pytest
import yaml
from helpers import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import editions  # noqa: E402


def test_docstring_examples():
    assert doctest.testmod(editions).failed == 0


def test_every_page_links_to_its_twin_and_back():
    for page in ("index", "book/intro", "notebooks/03_one_dimensional"):
        to_ja = editions.edition_url(page, "en", "ja")
        back = editions.edition_url(page, "ja", "en")
        depth = page.count("/")
        # Resolve each relative link from where the page sits in the site.
        here_en = ["."] + page.split("/")[:-1]
        here_ja = [".", "ja"] + page.split("/")[:-1]
        assert _resolve(here_en, to_ja) == f"ja/{page}.html", (page, to_ja)
        assert _resolve(here_ja, back) == f"{page}.html", (page, back)
        assert to_ja.count("../") == depth


def _resolve(folder: list[str], link: str) -> str:
    parts = [p for p in folder if p != "."]
    for piece in link.split("/"):
        if piece == "..":
            parts.pop()
        else:
            parts.append(piece)
    return "/".join(parts)


def test_japanese_configuration_is_the_english_one_with_the_editions_changes(tmp_path):
    target = tmp_path / "ja.yml"
    editions.write_config("ja", target)
    ja = yaml.safe_load(target.read_text(encoding="utf-8"))
    en = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert ja["sphinx"]["config"]["language"] == "ja" != en["sphinx"]["config"]["language"]
    assert ja["title"] != en["title"]
    # Everything the Japanese settings do not name is the English configuration's.
    assert ja["bibtex_bibfiles"] == en["bibtex_bibfiles"]
    # LaTeX: the English preamble, plus what the Japanese PDF adds (A4, its own chapter
    # openers and running feet in book/_ext/latex/jabook.sty).
    ja_latex, en_latex = (
        ja["sphinx"]["config"]["latex_elements"],
        en["sphinx"]["config"]["latex_elements"],
    )
    assert ja_latex["preamble"] == en_latex["preamble"]
    assert {k: v for k, v in ja_latex.items() if k not in en_latex} == {
        "papersize": "a4paper",
        "fncychap": "",
        "extrapackages": "\\usepackage{jabook}",
    }
    for name, folder in ja["sphinx"]["local_extensions"].items():
        assert folder == str(ROOT / en["sphinx"]["local_extensions"][name])


def test_query_splitter_carries_the_python_splitters_tables():
    from sphinx.search.ja import DefaultSplitter

    js = editions.query_splitter_js()
    assert js.startswith("const JA_SPLITTER = {")
    for name in ("BIAS__", "UW4__", "TQ4__"):
        assert f'"{name}"' in js
    assert str(DefaultSplitter.BIAS__) in js
    assert "var splitQuery" in js


# The Japanese edition's page chrome (book/_ext/locale/ja/LC_MESSAGES/sphinx.po).
CHROME_PO = ROOT / "book" / "_ext" / "locale" / "ja" / "LC_MESSAGES" / "sphinx.po"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _chrome_catalogue() -> dict[str, str]:
    from babel.messages.pofile import read_po

    with CHROME_PO.open("rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id}


def _template_msgids() -> set[str]:
    """Every message the book's templates translate: ``_('...')`` and ``{% trans %}``."""
    found = set()
    for path in (ROOT / "book" / "_templates").glob("*.html"):
        text = path.read_text(encoding="utf-8")
        for single, double in re.findall(r"""_\(\s*'([^']+)'\s*\)|_\(\s*"([^"]+)"\s*\)""", text):
            found.add(single or double)
        for body in re.findall(r"{%\s*trans\b[^%]*%}(.*?){%\s*endtrans\s*%}", text, re.S):
            found.add(re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", " ".join(body.split())))
    return found


def _book_js_msgids() -> set[str]:
    """The English strings book.js passes to its ``t()``."""
    text = (ROOT / "book" / "_static" / "book.js").read_text(encoding="utf-8")
    return set(re.findall(r"""\bt\(\s*"([^"]+)"\s*\)""", text))


def test_chrome_catalogue_is_japanese_and_keeps_placeholders():
    catalogue = _chrome_catalogue()
    assert len(catalogue) >= 20
    for english, japanese in catalogue.items():
        # Japanese, or at least no English word left ("© %(copyright)s").
        bare = re.sub(r"%\(\w+\)s", "", japanese)
        assert JAPANESE.search(bare) or not re.search(r"[A-Za-z]{2,}", bare), english
        placeholders = sorted(re.findall(r"%\(\w+\)s", english))
        assert sorted(re.findall(r"%\(\w+\)s", japanese)) == placeholders, english


def test_every_chrome_string_of_the_book_has_a_translation():
    """Templates' messages and book.js's own strings are all in the chrome catalogue, and
    editions.py hands book.js every one of its strings (a new string fails here)."""
    catalogue = _chrome_catalogue()
    templates = _template_msgids()
    assert {"Toggle primary sidebar", "By %(author)s", "Main"} <= templates
    script = _book_js_msgids()
    assert {"Close", ".pdf (whole book)", "Enlarge the figure"} <= script
    unsent = script - set(editions.BOOK_JS_MESSAGES)
    assert unsent == set(), f"book.js strings editions.BOOK_JS_MESSAGES lacks: {unsent}"
    missing = (templates | set(editions.BOOK_JS_MESSAGES)) - set(catalogue)
    assert missing == set(), f"chrome strings with no Japanese: {missing}"


def test_the_japanese_build_reads_the_chrome_catalogue_first(tmp_path):
    target = tmp_path / "ja.yml"
    editions.write_config("ja", target)
    ja = yaml.safe_load(target.read_text(encoding="utf-8"))["sphinx"]["config"]["locale_dirs"]
    en = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    pages = en["sphinx"]["config"]["locale_dirs"]
    assert ja[: len(pages)] == pages, "the page catalogues come first"
    assert ROOT / ja[-1] / "ja" / "LC_MESSAGES" / "sphinx.po" == CHROME_PO


def test_switch_tooltips_are_in_the_language_of_their_page():
    assert JAPANESE.search(editions.SWITCH_TITLE["ja"])
    assert not re.search(r"[A-Za-z]", editions.SWITCH_TITLE["ja"])
    assert not JAPANESE.search(editions.SWITCH_TITLE["en"])


# The Japanese glossary's headwords (book/_ext/glossary_ja.py) and the links to them.
TERM_HEAD = re.compile(r'<dt id="(term-[^"]+)">([^<]*)')


def test_glossary_ja_docstring_examples():
    import glossary_ja

    assert doctest.testmod(glossary_ja).failed == 0


@pytest.mark.book
def test_japanese_glossary_headwords_are_the_japanese_term_then_the_english(built_book):
    html, _ = built_book
    en = (html / "book" / "glossary.html").read_text(encoding="utf-8")
    ja = (html / "ja" / "book" / "glossary.html").read_text(encoding="utf-8")
    heads_en, heads_ja = dict(TERM_HEAD.findall(en)), dict(TERM_HEAD.findall(ja))
    assert len(heads_en) >= 20 and heads_ja.keys() == heads_en.keys(), "the same anchors"
    rows = (ROOT / "book" / "locale" / "ja" / "terms.tsv").read_text(encoding="utf-8")
    rendering = {
        line.split("\t")[0].lower(): line.split("\t")[1]
        for line in rows.splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert heads_ja["term-Dropout"] == "ドロップアウト（Dropout）"
    for anchor, english in heads_en.items():
        japanese = rendering[english.lower()]
        wanted = japanese if japanese.lower() == english.lower() else f"{japanese}（{english}）"
        assert heads_ja[anchor] == wanted, anchor
    assert "日本語：" not in ja and "Japanese:" in en
    # The "Used in" lines survive: they find the terms by their English text.
    assert ja.count('class="glossary-used-in"') == en.count('class="glossary-used-in"') > 0
    # Every term link of a Japanese chapter lands on a headword of the Japanese glossary.
    links = 0
    for page in sorted((html / "ja" / "notebooks").glob("*.html")):
        for anchor in re.findall(
            r'href="\.\./book/glossary\.html#(term-[^"]+)"', page.read_text(encoding="utf-8")
        ):
            links += 1
            assert anchor in heads_ja, (page.name, anchor)
    assert links > 20


def _glossary_doctree():
    from docutils import nodes
    from sphinx import addnodes

    term = nodes.term("", "Dropout", ids=["term-Dropout"])
    term += addnodes.index(entries=[("single", "Dropout", "term-Dropout", "main", None)])
    item = nodes.definition_list_item("", term, nodes.definition("", nodes.paragraph(text="…")))
    glossary = addnodes.glossary("", nodes.definition_list("", item))
    glossary["used_in"] = True
    return nodes.section("", glossary), term


def test_glossary_ja_rewrites_the_headword_in_the_japanese_edition_only():
    from types import SimpleNamespace

    import glossary_ja

    for language, wanted in (("ja", "ドロップアウト（Dropout）"), ("en", "Dropout")):
        config = SimpleNamespace(language=language, glossary_uses_page="book/glossary")
        tree, term = _glossary_doctree()
        glossary_ja.japanese_headwords(SimpleNamespace(config=config), tree, "book/glossary")
        assert term.astext() == wanted, language
        assert term["ids"] == ["term-Dropout"], "the anchor stays the English edition's"
