"""Two rewrites of the Japanese edition that its catalogues cannot express.

**Glossary headwords.** The Japanese glossary shows each term as 「ドロップアウト（Dropout）」:
the rendering from the term list ``book/locale/ja/terms.tsv``, then the English term. The
headwords stay English in ``glossary.po``: Sphinx would register a translated headword as a
second name of the term (links by the English name keep working), but the "Used in" lines of
``glossary_uses.py`` look terms up by the headword's text, and would find none. So the
headword text is rewritten after those lines are written (``doctree-resolved``, HTML and
LaTeX alike), and the index entries of the terms before the index is collected, so that the
Japanese index lists ドロップアウト（Dropout）. Anchors (``#term-Dropout``) are the English
edition's. The English edition is untouched.

**Reading times.** The intro's chapter map gives each chapter a reading time. The English
times follow the rule the English intro states (prose at 150 words a minute, code at half
weight). In Japanese a time cell such as "7 min" is one message for every row that reads
7 min, so the catalogue cannot give rows different times; this module writes each row's
time from the rule the Japanese intro states: the characters of the chapter's Japanese
catalogue (its translations, whitespace excluded) at :data:`CHARS_PER_MINUTE`, plus the
words of the notebook's code cells at half weight of :data:`WORDS_PER_MINUTE`, rounded up.
``tests/test_translations.py`` recomputes the times from the stated rule.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform
from sphinx.util.i18n import docname_to_domain

ROOT = Path(__file__).resolve().parents[2]
TERMS = ROOT / "book" / "locale" / "ja" / "terms.tsv"
#: Japanese prose: characters a minute (a common figure for technical Japanese).
CHARS_PER_MINUTE = 500
#: Code: words a minute, counted at half weight, as in the English edition's rule.
WORDS_PER_MINUTE = 150
#: The page with the chapter map.
INTRO = "book/intro"


def renderings(path: Path = TERMS) -> dict[str, str]:
    """English term (lower case) -> its one Japanese rendering, from the term list.

    Examples
    --------
    >>> renderings()["dropout"]
    'ドロップアウト'
    """
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            english, japanese, *_ = line.split("\t")
            found[english.lower()] = japanese
    return found


def headword(english: str, japanese: str) -> str:
    """The Japanese edition's headword: the rendering, then the English term in （）.

    Examples
    --------
    >>> headword("Dropout", "ドロップアウト")
    'ドロップアウト（Dropout）'
    >>> headword("Ulp", "ULP")
    'ULP'
    """
    if japanese.lower() == english.lower():
        return japanese
    return f"{japanese}（{english}）"


def _glossary_terms(doctree: nodes.Node, glossary_page: bool):
    for glossary in doctree.findall(addnodes.glossary):
        if glossary.get("used_in") or glossary_page:
            yield from glossary.findall(nodes.term)


def _term_text(term: nodes.term) -> str:
    return "".join(t.astext() for t in term.findall(nodes.Text)).strip()


class JapaneseGlossaryIndex(SphinxTransform):
    """Index the glossary's terms under their Japanese headwords.

    It runs before the index domain collects the entries (``SphinxDomains``, priority 850).
    """

    default_priority = 840

    def apply(self, **kwargs) -> None:
        if self.config.language != "ja":
            return
        page = getattr(self.config, "glossary_uses_page", "book/glossary")
        if self.env.docname != page:
            return
        words = renderings()
        for term in _glossary_terms(self.document, True):
            english = _term_text(term)
            if english.lower() not in words:
                continue
            name = headword(english, words[english.lower()])
            for index in term.findall(addnodes.index):
                index["entries"] = [(kind, name, *rest) for kind, _, *rest in index["entries"]]


def japanese_headwords(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Write 「ドロップアウト（Dropout）」 as each glossary headword (after "Used in")."""
    if app.config.language != "ja":
        return
    page = getattr(app.config, "glossary_uses_page", "book/glossary")
    words = renderings()
    for term in _glossary_terms(doctree, docname == page):
        english = _term_text(term)
        if english.lower() not in words:
            continue
        texts = list(term.findall(nodes.Text))
        first = texts[0]
        first.parent.replace(first, nodes.Text(headword(english, words[english.lower()])))
        for rest in texts[1:]:
            rest.parent.remove(rest)


def japanese_reading_minutes(notebook: Path, catalogue: Path) -> int:
    """Minutes to read a chapter in Japanese by the Japanese intro's rule.

    The translations of ``catalogue`` count their characters, whitespace excluded, at
    :data:`CHARS_PER_MINUTE`; the code cells of ``notebook`` count their words at half
    weight of :data:`WORDS_PER_MINUTE`; the sum is rounded up.
    """
    from babel.messages.pofile import read_po

    with catalogue.open("rb") as f:
        chars = sum(len(re.sub(r"\s", "", m.string)) for m in read_po(f) if m.id and m.string)
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    words = sum(len("".join(c["source"]).split()) for c in cells if c["cell_type"] == "code")
    minutes = Fraction(chars, CHARS_PER_MINUTE) + Fraction(words, 2 * WORDS_PER_MINUTE)
    return -(-minutes.numerator // minutes.denominator)


class JapaneseReadingTimes(SphinxTransform):
    """In the Japanese intro's chapter map, each row's time by the Japanese rule."""

    default_priority = 845

    def apply(self, **kwargs) -> None:
        if self.config.language != "ja" or self.env.docname != INTRO:
            return
        srcdir = Path(self.env.srcdir)
        for row in self.document.findall(nodes.row):
            cells = list(row.findall(nodes.entry))
            chapter = None
            for ref in cells[0].findall(addnodes.pending_xref) if cells else ():
                found = re.search(r"notebooks/(\w+)$", ref.get("reftarget", ""))
                if ref.get("reftype") == "doc" and found:
                    chapter = found.group(1)
            if chapter is None:
                continue
            docname = f"notebooks/{chapter}"
            notebook = srcdir / f"{docname}.ipynb"
            domain = docname_to_domain(docname, self.config.gettext_compact)
            catalogue = next(
                (
                    srcdir / d / "ja" / "LC_MESSAGES" / f"{domain}.po"
                    for d in self.config.locale_dirs
                    if (srcdir / d / "ja" / "LC_MESSAGES" / f"{domain}.po").is_file()
                ),
                None,
            )
            if catalogue is None or not notebook.is_file():
                continue
            self.env.note_dependency(str(notebook))
            self.env.note_dependency(str(catalogue))
            minutes = japanese_reading_minutes(notebook, catalogue)
            for cell in cells[1:]:
                for para in cell.findall(nodes.paragraph):
                    if re.fullmatch(r"\d+\s*(分|min)", para.astext().strip()):
                        del para[:]
                        para += nodes.Text(f"{minutes}分")


def setup(app: Sphinx) -> dict:
    """Register the Japanese edition's headword, index and reading-time rewrites."""
    app.add_transform(JapaneseGlossaryIndex)
    app.add_transform(JapaneseReadingTimes)
    # After glossary_uses.add_used_in (priority 500), which finds terms by their English text.
    app.connect("doctree-resolved", japanese_headwords, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
