"""The Japanese edition's catalogues (``book/locale/ja/LC_MESSAGES``) are complete and safe.

Every message of every page (the API page excepted: it stays English) is translated, not
fuzzy, not obsolete; a translation keeps the English message's inline code, math, link
addresses and cross-reference targets, loses no number, and parses as the same kind of Markdown
block (a translation starting with "1. " or "- ", or holding a blank line, would not).

Run as a script to check some files while translating::

    .venv/bin/python tests/test_translations.py book/locale/ja/LC_MESSAGES/notebooks/03_*.po
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from helpers import toc_pages  # noqa: E402

CATALOGUES = ROOT / "book" / "locale" / "ja" / "LC_MESSAGES"
#: Pages kept in English in the Japanese edition: the API reference's reST docstrings
#: would be re-parsed as MyST if translated.
ENGLISH_ONLY = {"book/api"}

ROLE = re.compile(r"\{([\w:-]+)\}(`+)(.*?)\2", re.S)
CODE = re.compile(r"(`+)(.+?)\1", re.S)
MATH = re.compile(r"\$\$.+?\$\$|(?<!\\)\$[^$]+?(?<!\\)\$", re.S)
LINK = re.compile(r"\]\(([^)\s]+)\)|<(https?://[^>]+)>")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
NUMBERED_HEADING = re.compile(r"(\d+)\. ")
#: Roles whose content is code: it is kept as a whole.
LITERAL_ROLES = {"math", "eq"}
PARSER = MarkdownIt("commonmark").use(dollarmath_plugin)


def glossary_terms() -> set[str]:
    """The headwords of the glossary; they stay English, since chapters link to them."""
    text = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    block = text.split("```{glossary}", 1)[1].split("```", 1)[0]
    return {line.strip() for line in block.splitlines() if line and not line[0].isspace()}


def protected(text: str) -> dict[str, Counter]:
    """What a translation must keep: role targets, code, math, link addresses, numbers."""
    roles = Counter()
    for name, _, content in ROLE.findall(text):
        if name in LITERAL_ROLES:
            roles[(name, content)] += 1
        else:
            explicit = re.fullmatch(r"(?s).*<([^<>]+)>", content)
            roles[(name, explicit.group(1) if explicit else content)] += 1
    rest = ROLE.sub(" ", text)
    code = Counter(m.group(2) for m in CODE.finditer(rest))
    rest = CODE.sub(" ", rest)
    links = Counter(a or b for a, b in LINK.findall(rest))
    rest = LINK.sub(" ", rest)
    math = Counter(m.group(0) for m in MATH.finditer(rest))
    rest = MATH.sub(" ", rest)
    return {
        "cross-reference targets": roles,
        "inline code": code,
        "link addresses": links,
        "math": math,
        "numbers": Counter(NUMBER.findall(rest)),
    }


def block_kinds(text: str) -> list[str]:
    """The top-level Markdown blocks ``text`` parses into, e.g. ``['paragraph']``."""
    tokens = PARSER.parse(text)
    return [t.type.removesuffix("_open") for t in tokens if t.level == 0 and t.nesting >= 0]


def has_english_words(text: str) -> bool:
    """Two or more English words outside code and math (a name alone may stay as it is)."""
    rest = MATH.sub(" ", CODE.sub(" ", ROLE.sub(" ", text)))
    return len(rest.split()) >= 2 and len(re.findall(r"[A-Za-z]{3,}", rest)) >= 2


def problems(path: Path) -> list[str]:
    """Every problem of one catalogue, as ``"path: message: problem"`` lines."""
    with path.open("rb") as f:
        catalogue = read_po(f)
    name = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
    terms = glossary_terms()
    found = []
    for msgid in catalogue.obsolete:
        found.append(f"{name}: {msgid[:60]!r}: obsolete (delete it)")
    for message in catalogue:
        if not message.id:
            continue
        english, japanese = message.id, message.string
        where = f"{name}: {english[:60]!r}"
        if not japanese:
            found.append(f"{where}: untranslated")
            continue
        if message.fuzzy:
            found.append(f"{where}: fuzzy (the English changed: check, then drop the flag)")
        if english.startswith("\n"):  # a display-math block: $$ ... $$ without the $$
            if japanese != english:
                found.append(f"{where}: display math must be copied unchanged")
            continue
        if japanese == english and has_english_words(english) and english not in terms:
            found.append(f"{where}: the translation is the English text")
        if "\n\n" in japanese.strip("\n") and "\n\n" not in english.strip("\n"):
            found.append(f"{where}: blank line in the translation")
        wanted, got = protected(english), protected(japanese)
        # Numbers may be added ("three" is often written 3 in Japanese), never lost or changed.
        got["numbers"] = got["numbers"] & wanted["numbers"]
        for kind in wanted:
            if wanted[kind] != got[kind]:
                lost = list((wanted[kind] - got[kind]).elements())
                added = list((got[kind] - wanted[kind]).elements())
                found.append(f"{where}: {kind} changed: lost {lost}, added {added}")
        if NUMBERED_HEADING.match(english) and "\n" not in english:
            # A heading such as "1. The factor is 1.2": the English parses as a list, but a
            # translation must escape the dot ("1\\. ...") or Sphinx, which re-parses a
            # heading's translation as a title, keeps the English heading.
            number = NUMBERED_HEADING.match(english).group(1)
            if not japanese.startswith(f"{number}\\. "):
                found.append(f"{where}: a numbered heading: begin with '{number}\\. '")
            elif block_kinds(japanese) != ["paragraph"]:
                found.append(f"{where}: parses as {block_kinds(japanese)}, not one heading")
        elif block_kinds(english) != block_kinds(japanese):
            found.append(
                f"{where}: parses as {block_kinds(japanese)}, the English as {block_kinds(english)}"
            )
    return found


def catalogue_paths() -> list[Path]:
    return sorted(CATALOGUES.rglob("*.po"))


def test_every_page_has_a_catalogue_and_no_catalogue_is_orphaned():
    pages = {p for p in toc_pages() if p not in ENGLISH_ONLY}
    catalogues = {p.relative_to(CATALOGUES).with_suffix("").as_posix() for p in catalogue_paths()}
    assert catalogues - pages == set(), "catalogues of no page (or of an English-only page)"
    assert pages - catalogues == set(), "pages with no catalogue: run make i18n-update"


@pytest.mark.parametrize(
    "path", catalogue_paths(), ids=lambda p: p.relative_to(CATALOGUES).as_posix()
)
def test_catalogue_is_complete_and_keeps_what_must_not_change(path):
    found = problems(path)
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    ("english", "japanese", "complaint"),
    [
        ("Set `p` to 0.5.", "", "untranslated"),
        ("Set `p` to 0.5.", "`q` を 0.5 にする。", "inline code changed"),
        ("Scale by $1/(1-p)$.", "$1/p$ 倍する。", "math changed"),
        ("See {numref}`fig-mask`.", "{numref}`図 <fig-other>` を参照。", "targets changed"),
        ("See {term}`the mask <Mask>`.", "{term}`マスク <Mask>` を参照。", None),
        ("Read [the paper](https://x.org/a).", "[論文](https://x.org/b) を読む。", "addresses"),
        ("About 41% of runs.", "約 14% の実行。", "numbers changed"),
        ("Three runs.", "3回の実行。", None),
        ("2. The factor", "2. 係数", "numbered heading"),
        ("2. The factor", "2\\. 係数", None),
        ("First, the mask.", "1. まずマスク。", "parses as"),
        ("One paragraph.", "一段落目。\n\n二段落目。", "blank line"),
        ("The same text.", "The same text.", "is the English text"),
        ("\nP(K = k)\n", "\nP(K=k)\n", "display math must be copied"),
        ("\nP(K = k)\n", "\nP(K = k)\n", None),
    ],
)
def test_the_checker_catches_each_kind_of_damage(tmp_path, english, japanese, complaint):
    po = tmp_path / "sample.po"
    escape = lambda s: s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")  # noqa: E731
    po.write_text(f'msgid "{escape(english)}"\nmsgstr "{escape(japanese)}"\n', encoding="utf-8")
    found = problems(po)
    if complaint is None:
        assert found == []
    else:
        assert any(complaint in line for line in found), found


if __name__ == "__main__":
    paths = [Path(a).resolve() for a in sys.argv[1:]] or catalogue_paths()
    report = [line for p in paths for line in problems(p)]
    print("\n".join(report) or f"{len(paths)} catalogue(s): no problems")
    sys.exit(1 if report else 0)
