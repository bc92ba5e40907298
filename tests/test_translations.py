"""The Japanese edition's catalogues (``book/locale/ja/LC_MESSAGES``) are complete and safe.

Every message of every page (the API page excepted: it stays English) is translated, not
fuzzy, not obsolete; a translation keeps the English message's inline code, math, link
addresses and cross-reference targets, loses no number, and parses as the same kind of Markdown
block (a translation starting with "1. " or "- ", or holding a blank line, would not).

The edition also reads as one text (issue 22): every translation follows the term list
``book/locale/ja/terms.tsv`` (no forbidden variant; the rendering of each reliable term
wherever the English has it), one spacing rule between Japanese and Latin text, and one
sentence end before code (「。」, never 「：」). The Japanese chapter map's reading times follow the
rule the Japanese intro states.

Run as a script to check some files while translating::

    .venv/bin/python tests/test_translations.py book/locale/ja/LC_MESSAGES/notebooks/03_*.po
"""

from __future__ import annotations

import functools
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


@functools.cache
def glossary_terms() -> frozenset[str]:
    """The headwords of the glossary; they stay English, since chapters link to them."""
    text = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    block = text.split("```{glossary}", 1)[1].split("```", 1)[0]
    return frozenset(line.strip() for line in block.splitlines() if line and not line[0].isspace())


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


# ---------------------------------------------------------------------------------------------
# One vocabulary and one typography across the Japanese edition (issue 22).
#
# The vocabulary is book/locale/ja/terms.tsv: English term, the one rendering, the forbidden
# variants. Text is compared as a reader sees it: inline code, math, link addresses and role
# targets are not prose; a role shows its explicit text; Japanese that the English message
# itself carries (a quotation of the source articles, such as the section name
# 「nn.Dropoutの挙動」) is left as the articles wrote it.

TERMS_FILE = ROOT / "book" / "locale" / "ja" / "terms.tsv"
#: Kana (ー included), CJK ideographs and 々: the characters the spacing rule calls Japanese.
JA = "\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\u3005"
#: Full-width punctuation, which never has a half-width space beside it.
JA_PUNCT = "、。，．・：；？！（）「」『』【】〔〕"
#: Stands for an inline object that is spaced like Latin text: inline code, math, a link
#: address, a role with no explicit text (it shows a title, a figure number or a citation).
OBJECT = "\ue000"
#: Roles a reader sees as code, whatever their content.
OBJECT_ROLES = LITERAL_ROLES | {"py:mod", "py:func", "py:class", "py:meth", "py:attr", "cite"}
#: Terms whose rendering a translation must contain wherever the English has the term outside
#: code and role targets (check (b)); none of them misses in the present catalogues. The other
#: terms are checked for forbidden variants only, since their English word has senses the
#: rendering does not cover, or the translation rightly words it otherwise (misses if checked):
#: draw (79: 乱数を引く), Bit for bit (17: ビット単位で再現), Dropout (12: the articles' titles,
#: code in captions, the method names "seeded dropout" and "packed dropout", the attribute
#: `dropout`), factor (7: "a factor 1/(1-p)" is $1/(1-p)$ 倍), generator (7: an algorithm such
#: as Philox or MT19937 is a 生成器, not the 乱数生成器 object), compiled (4: numba でコンパイル
#: した), rank (3: a tensor's rank is 次元数), sample (3: normal samples are 正規乱数), default
#: (1: an issue's title), process (1: a Gaussian process), Mask and Ulp (1 each: the glossary's
#: own definitions, whose English quotes the Japanese word).
PRESENCE_CHECKED = {
    "Drop probability",
    "Scaling",
    "Co-adaptation",
    "Overfitting",
    "Regularisation",
    "Training mode",
    "Evaluation mode",
    "In-place operation",
    "Channel-wise dropout",
    "Alpha dropout",
    "Monte Carlo dropout",
    "Seed",
    "Batch normalisation",
    "Variance shift",
    "Variational dropout",
    "Stochastic depth",
    "Inverted dropout",
    "Bernoulli distribution",
    "Autograd",
    "Leaf tensor",
    "Logits",
    "the first article",
    "the second article",
    "functional form",
    "pixel",
    "power",
    "relatives",
    "Transformer",
    "et al.",
    "checkpointing",
    "fast path",
    "eager mode",
}


def read_terms(path: Path = TERMS_FILE) -> list[tuple[str, str, tuple[str, ...]]]:
    """``(english, rendering, forbidden variants)`` for each row of the term list."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        assert len(fields) == 3 and fields[0] and fields[1], f"{path.name}:{number}: {line!r}"
        forbidden = tuple(v for v in fields[2].split("|") if v)
        rows.append((fields[0], fields[1], forbidden))
    return rows


def source_quotes(english: str) -> list[str]:
    """The Japanese an English message quotes (the articles' titles, section names, words)."""
    return sorted(
        set(re.findall(rf"[^\s*\"()（）「」]*[{JA}][^\s*\"()（）「」]*", english)),
        key=len,
        reverse=True,
    )


def visible(text: str, quotes: list[str] = ()) -> str:
    """``text`` as a reader sees it, for the vocabulary and spacing checks.

    Inline code, math, link addresses and roles without explicit text become ``OBJECT``; a
    role with explicit text shows that text; emphasis marks, escapes and HTML tags vanish;
    each quotation in ``quotes`` becomes ``「」``-free filler that no check looks at.
    """

    def role(m: re.Match) -> str:
        name, content = m.group(1), m.group(3)
        explicit = re.fullmatch(r"(?s)(.*?)\s*<([^<>]+)>", content)
        if name in OBJECT_ROLES or not explicit or not explicit.group(1):
            return OBJECT
        return explicit.group(1)

    text = re.sub(r"^\d+\\\. ", "", text)  # a numbered heading's number: "8\\. 「…」"
    text = ROLE.sub(role, text)
    text = CODE.sub(OBJECT, text)
    text = MATH.sub(OBJECT, text)
    text = re.sub(r"\[([^\]]*)\]\([^)\s]+\)", r"\1", text)
    text = re.sub(r"<https?://[^>]+>", OBJECT, text)
    text = re.sub(r"</?[a-z][^>]*>", "", text)
    text = re.sub(r"\\(?=[^\w\s])", "", text)
    # "**損失。** $p$": a closing mark after punctuation needs the space after it in Markdown.
    text = re.sub(rf"(?<=[{JA_PUNCT}])\*+ ", "", text).replace("*", "")
    for quote in quotes:
        text = text.replace(quote, "\ue001" * len(quote))
    return text


#: The spacing rule of chapters 1-16, which most messages follow: one half-width space between
#: Japanese and Latin text (a letter, inline code, math, a link or role that is not Japanese
#: text), none between two Japanese characters or beside full-width punctuation. Exceptions the
#: rule needs: digits (a number attaches to its counter, 2つ, 第1章, 2014年, and may stand apart as
#: a value, 確率 0.5), a Latin word directly before or after full-width punctuation (PyTorch、),
#: the articles' own text, quoted as written (「nn.Dropoutの挙動」), and the space Markdown needs
#: after bold text that ends in punctuation (**損失。** 検証損失は…).
LATIN = f"A-Za-z{OBJECT}"
SPACING = [
    (
        re.compile(rf"[{JA}](?=[{LATIN}])|[{LATIN}](?=[{JA}])"),
        "no space between Japanese and Latin",
    ),
    (re.compile(rf"[A-Za-z]\w*\d(?=[{JA}])"), "no space between a Latin word and Japanese"),
    (re.compile(rf"(?<=[{JA}]) +(?=[{JA}])"), "a space between two Japanese characters"),
    (
        # (a table-like "（3件） | 次" keeps its spaces around the bar)
        re.compile(rf"(?<![ |]) +(?=[{JA_PUNCT}])|(?<=[{JA_PUNCT}]) +(?![ |])"),
        "a space beside full-width punctuation",
    ),
]


def style_problems(english: str, japanese: str, terms=None, glossary: bool = False) -> list[str]:
    """The vocabulary, spacing and sentence-end problems of one translated message.

    ``glossary``: the message is from the glossary's catalogue, whose headwords stay English.
    """
    terms = read_terms() if terms is None else terms
    if english.startswith("\n"):  # display math, copied unchanged
        return []
    # The glossary's headwords stay English in the catalogue (book/_ext/glossary_ja.py writes
    # the Japanese headword from the term list).
    if glossary and english in glossary_terms():
        if japanese != english:
            return ["a glossary headword stays English here (glossary_ja.py writes it in Japanese)"]
        terms = []
    found = []
    shown = visible(japanese, source_quotes(english))
    english_prose = visible(english)
    for term, rendering, forbidden in terms:
        for variant in forbidden:
            if variant.isascii():
                hit = re.search(rf"(?<![\w.]){re.escape(variant)}(?!\w)", shown, re.I)
            else:
                hit = variant in shown
            if hit:
                found.append(f"forbidden variant {variant!r} (use {rendering!r} for {term!r})")
        if term in PRESENCE_CHECKED:
            if re.search(rf"(?<![\w-]){re.escape(term)}(?:s|es)?(?![\w-])", english_prose, re.I):
                if rendering.lower() not in shown.lower():
                    found.append(f"{term!r} is not rendered as {rendering!r}")
    for pattern, complaint in SPACING:
        for m in pattern.finditer(shown):
            around = shown[max(0, m.start() - 8) : m.end() + 8].replace(OBJECT, "`…`")
            found.append(f"{complaint}: {around!r}")
    if japanese.rstrip().endswith("："):
        found.append("ends with '：' (a sentence before code or a list ends with '。')")
    return found


def last_paragraph(markdown: str) -> str | None:
    """The last paragraph of a markdown cell, as its catalogue message reads, or ``None`` when
    the cell ends in something else (a list, a heading, display math, a fence)."""
    lines = markdown.rstrip().splitlines()
    while lines and re.fullmatch(r"\s*(`{3,}|:{3,})?\s*", lines[-1]):
        lines.pop()
    block = []
    for line in reversed(lines):
        if not line.strip() or re.match(r"\s*(`{3,}|:{3,}|:\w+:)", line):
            break
        block.insert(0, line.strip())
    if not block or re.match(r"#|[-*+] |\d+\. |\$\$|\(.*\)=$|\|", block[0]):
        return None
    return " ".join(block)


#: How the sentence right before a code cell ends: 。, then perhaps closing brackets.
SENTENCE_END = re.compile(r"。[）」』]*$")


def sentence_end_problems(cells: list[dict], catalogue: dict[str, str]) -> list[str]:
    """Each markdown cell followed by a code cell whose last paragraph's translation does not
    end with 。 (messages the catalogue lacks, such as lists, are not checked)."""
    found = []
    for index, (cell, after) in enumerate(zip(cells, cells[1:], strict=False)):
        if cell["cell_type"] != "markdown" or after["cell_type"] != "code":
            continue
        message = last_paragraph("".join(cell["source"]))
        japanese = catalogue.get(message, "") if message else ""
        if japanese and not SENTENCE_END.search(japanese.rstrip()):
            found.append(f"cell {index}: {message[:50]!r} -> ...{japanese.rstrip()[-12:]!r}")
    return found


def style_report(path: Path) -> list[str]:
    """Every vocabulary and typography problem of one catalogue, one line each."""
    with path.open("rb") as f:
        catalogue = read_po(f)
    name = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
    terms = read_terms()
    glossary = path.stem == "glossary"
    found = []
    for index, message in enumerate(catalogue):
        if not message.id or not message.string:
            continue
        for problem in style_problems(message.id, message.string, terms, glossary):
            found.append(f"{name} [{index}] {message.id[:50]!r}: {problem}")
    return found


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


#: The terms whose rendering drifted between chapters (issue 22): the term list fixes each.
DRIFTED = {
    "the first article", "the second article", "default", "functional form", "Leaf tensor",
    "pixel", "power", "factor", "sample", "relatives", "Transformer", "et al.", "draw",
}  # fmt: skip


def test_term_list_fixes_one_rendering_for_each_glossary_term_and_each_drifted_term():
    terms = read_terms()
    english = [t for t, _, _ in terms]
    assert len(english) == len(set(english)), "a term listed twice"
    assert glossary_terms() | DRIFTED <= set(english)
    renderings = {r for _, r, _ in terms}
    for term, rendering, forbidden in terms:
        assert rendering not in forbidden, term
        # A forbidden variant must not occur in a rendering (it would forbid that rendering).
        clash = [v for v in forbidden for r in renderings if v in r]
        assert clash == [], (term, clash)
    assert PRESENCE_CHECKED <= set(english)


@pytest.mark.parametrize(
    "path", catalogue_paths(), ids=lambda p: p.relative_to(CATALOGUES).as_posix()
)
def test_catalogue_uses_the_term_list_the_spacing_rule_and_the_sentence_end(path):
    found = style_report(path)
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    ("english", "japanese", "complaint"),
    [
        # (a) forbidden variants, in prose only
        ("Each draw is independent.", "各抽選は独立です。", "forbidden variant '抽選'"),
        ("The first article says so.", "一つ目の記事はそう述べています。", "'一つ目の記事'"),
        ("Huang et al. (2016)", "Huang et al.（2016）", "forbidden variant 'et al.'"),
        ("It defaults to `True`.", "既定は `True` です。", "forbidden variant '既定'"),
        ("Call `torch.autograd.grad`.", "`torch.autograd.grad` を呼びます。", None),
        ("See {term}`autograd <Autograd>`.", "{term}`自動微分 <Autograd>`を参照。", None),
        ("See {term}`autograd <Autograd>`.", "{term}`autograd <Autograd>` を参照。", "'autograd'"),
        # the articles' own words, quoted by the English too, stay as written
        (
            "It names them (例: トランスフォーマー内).",
            "（「例: トランスフォーマー内」）と挙げます。",
            None,
        ),
        # (b) a reliable term in the English needs its rendering
        ("Switch to evaluation mode.", "推論用の設定に切り替えます。", "'Evaluation mode' is not"),
        ("Switch to evaluation mode.", "評価モードに切り替えます。", None),
        ("Call `m.eval()` (evaluation mode).", "`m.eval()` を呼びます（評価モード）。", None),
        ("Pass `mode='evaluation mode'`.", "`mode='evaluation mode'` を渡します。", None),
        # (c) spacing between Japanese and Latin text
        ("PyTorch zeroes it.", "PyTorchはゼロにします。", "no space between Japanese and Latin"),
        ("Call `drop(x)`.", "`drop(x)`を呼びます。", "no space between Japanese and Latin"),
        ("With probability $p$.", "確率$p$で。", "no space between Japanese and Latin"),
        ("See {doc}`09_gradients`.", "{doc}`09_gradients`を参照。", "no space between"),
        ("float32 values", "float32の値", "no space between a Latin word and Japanese"),
        ("the mask", "すなわち {term}`マスク <Mask>`", "a space between two Japanese"),
        ("A, then B.", "A 、次に B。", "a space beside full-width punctuation"),
        ("done (3) | next", "完了（3件） | 次", None),
        ("PyTorch zeroes it.", "PyTorch はゼロにします。", None),
        ("the {term}`mask <Mask>`", "{term}`マスク <Mask>`の", None),
        ("Two runs in 2014, 5 seeds.", "2014年の2回の実行、シード 5 個。", None),
        ("**Loss.** It falls.", "**損失。** 下がります。", None),
        ("8. The factor", "8\\. 「倍率」", None),
        # the glossary's headwords stay English in the catalogue
        ("Dropout", "ドロップアウト", "a glossary headword stays English"),
        ("Autograd", "Autograd", None),
        ("Monte Carlo dropout", "モンテカルロドロップアウト", "stays English"),
        # (d) the sentence before code (or a list) ends with 。
        ("The kernel:", "カーネルは次のとおりです：", "ends with '：'"),
        ("The kernel:", "カーネルは次のとおりです。", None),
    ],
)
def test_the_style_checks_catch_a_planted_sample(english, japanese, complaint):
    found = style_problems(english, japanese, glossary=english in glossary_terms())
    if complaint is None:
        assert found == []
    else:
        assert any(complaint in line for line in found), found


def test_the_style_report_names_file_message_and_variant(tmp_path):
    po = tmp_path / "sample.po"
    po.write_text('msgid "Each draw."\nmsgstr "各抽選。"\n', encoding="utf-8")
    (line,) = style_report(po)
    assert str(po) in line and "'Each draw.'" in line and "'抽選'" in line


@pytest.mark.parametrize("page", [p for p in toc_pages() if p.startswith("notebooks/")])
def test_the_sentence_before_each_code_cell_ends_with_a_full_stop(page):
    import json

    cells = json.loads((ROOT / f"{page}.ipynb").read_text(encoding="utf-8"))["cells"]
    with (CATALOGUES / f"{page}.po").open("rb") as f:
        catalogue = {m.id: m.string for m in read_po(f) if m.id}
    found = sentence_end_problems(cells, catalogue)
    assert found == [], "\n".join(found)


def test_the_sentence_end_check_catches_a_planted_sample():
    md = lambda text: {"cell_type": "markdown", "source": [text]}  # noqa: E731
    code = {"cell_type": "code", "source": ["x = 1"]}
    cells = [md("First.\n\nThe cell\nbelow prints it:"), code, md("- a list:"), code]
    catalogue = {"The cell below prints it:": "下のセルで表示します："}
    (line,) = sentence_end_problems(cells, catalogue)
    assert "The cell below prints it:" in line and "：" in line
    catalogue["The cell below prints it:"] = "下のセルで表示します（3回）。"
    assert sentence_end_problems(cells, catalogue) == []
    catalogue["The cell below prints it:"] = "下のセルで表示します"
    assert sentence_end_problems(cells, catalogue) != []


# The Japanese chapter map's reading times (book/_ext/glossary_ja.py writes them).
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import glossary_ja  # noqa: E402

INTRO_PO = CATALOGUES / "book" / "intro.po"
CHAPTERS = [p for p in toc_pages() if p.startswith("notebooks/")]


def stated_japanese_rule() -> tuple[int, int]:
    """(characters a minute for prose, words a minute for code) as the Japanese intro states."""
    with INTRO_PO.open("rb") as f:
        rule = next(m.string for m in read_po(f) if m.id.startswith("Reading times are"))
    return (
        int(re.search(r"約\s*(\d+)\s*字", rule).group(1)),
        int(re.search(r"約\s*(\d+)\s*語", rule).group(1)),
    )


def japanese_minutes(page: str, chars_per_minute: int, words_per_minute: int) -> int:
    """Prose: the page's translations, whitespace excluded, at ``chars_per_minute``; code:
    the notebook's code words at half weight of ``words_per_minute``; rounded up."""
    import json

    with (CATALOGUES / f"{page}.po").open("rb") as f:
        chars = sum(len("".join(m.string.split())) for m in read_po(f) if m.id)
    cells = json.loads((ROOT / f"{page}.ipynb").read_text(encoding="utf-8"))["cells"]
    code = sum(len("".join(c["source"]).split()) for c in cells if c["cell_type"] == "code")
    # minutes = chars / cpm + code / (2 wpm), rounded up, in integers
    return -(-(chars * 2 * words_per_minute + code * chars_per_minute)
             // (chars_per_minute * 2 * words_per_minute))  # fmt: skip


def test_japanese_reading_times_follow_the_rule_the_japanese_intro_states():
    chars_per_minute, words_per_minute = stated_japanese_rule()
    assert (glossary_ja.CHARS_PER_MINUTE, glossary_ja.WORDS_PER_MINUTE) == (
        chars_per_minute,
        words_per_minute,
    ), "the extension's rule is not the one the Japanese intro states"
    for page in CHAPTERS:
        written = glossary_ja.japanese_reading_minutes(
            ROOT / f"{page}.ipynb", CATALOGUES / f"{page}.po"
        )
        assert written == japanese_minutes(page, chars_per_minute, words_per_minute), page
    # The rule can fail: twice the reading speed gives other times.
    assert any(
        japanese_minutes(p, 2 * chars_per_minute, words_per_minute)
        != japanese_minutes(p, chars_per_minute, words_per_minute)
        for p in CHAPTERS
    )


@pytest.mark.book
def test_japanese_chapter_map_shows_the_japanese_reading_times(built_book):
    html, _ = built_book
    text = (html / "ja" / "book" / "intro.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", text, flags=re.S)
    rule = stated_japanese_rule()
    for page in CHAPTERS:
        name = page.split("/")[-1]
        row = next((r for r in rows if f"{name}.html" in r), None)
        assert row, f"{page}: no row in the Japanese chapter map"
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        assert f"{japanese_minutes(page, *rule)}分" in cells, (page, cells)


if __name__ == "__main__":
    paths = [Path(a).resolve() for a in sys.argv[1:]] or catalogue_paths()
    report = [line for p in paths for line in problems(p) + style_report(p)]
    print("\n".join(report) or f"{len(paths)} catalogue(s): no problems")
    sys.exit(1 if report else 0)
