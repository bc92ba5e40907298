"""``book/_ext/editions.py``: links between the editions and the Japanese configuration."""

from __future__ import annotations

import doctest
import sys

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
    assert ja["sphinx"]["config"]["latex_elements"] == en["sphinx"]["config"]["latex_elements"]
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
