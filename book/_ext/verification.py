"""The ``{verification-table}`` and ``{verification-conditions}`` directives.

They read the notebooks and the test configuration (``pyproject.toml``, ``Makefile``,
``requirements.txt``) when the book is built, so the Verification page states what nbval
checks today and cannot drift from it. The text they produce is Markdown, parsed by MyST.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

#: Tags that change what nbval does with a cell (nbval 0.11 ``plugin.py``).
IGNORE, RAISES, SKIP = "nbval-ignore-output", "raises-exception", "nbval-skip"
#: Output keys nbval never compares (``IPyNbFile.skip_compare``, without ``--nbdime``).
NOT_COMPARED = ("image/png", "image/jpeg", "traceback", "metadata", "execution_count")
#: Why a cell is exempt from some comparison, in the table's last column.
REASON_SKIP = f"not run (`{SKIP}`)"
REASON_IGNORE = f"run, output not compared (`{IGNORE}`, which the book reserves for timings)"
REASON_RAISES = f"raise on purpose (`{RAISES}`): error type and message compared, traceback not"


@dataclass
class Chapter:
    """What nbval does with one notebook."""

    docname: str
    title: str
    code_cells: int = 0
    checked: int = 0
    figures: int = 0
    errors: int = 0
    #: reason -> the cells (``In [n]``) it applies to
    exempt: dict[str, list[str]] = field(default_factory=dict)


def read_chapter(path: Path, root: Path) -> Chapter:
    """Count a notebook's code cells and outputs by what nbval does with them."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    title = path.stem
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    title = line[2:].strip()
                    break
            break
    chapter = Chapter(path.relative_to(root).with_suffix("").as_posix(), title)
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        chapter.code_cells += 1
        tags = set(cell.get("metadata", {}).get("tags", []))
        outputs = cell.get("outputs", [])
        label = f"In [{cell.get('execution_count')}]"
        if SKIP in tags:
            chapter.exempt.setdefault(REASON_SKIP, []).append(label)
            continue
        if IGNORE in tags:
            chapter.exempt.setdefault(REASON_IGNORE, []).append(label)
            continue
        for output in outputs:
            chapter.checked += 1
            if "image/png" in output.get("data", {}):
                chapter.figures += 1
            if output.get("output_type") == "error":
                chapter.errors += 1
        if RAISES in tags:
            chapter.exempt.setdefault(REASON_RAISES, []).append(label)
    return chapter


def toc_notebooks(root: Path) -> list[Path]:
    """Notebooks in ``notebooks/``, in file-name (= chapter) order."""
    return sorted((root / "notebooks").glob("*.ipynb"))


#: The table's header row and words in each edition.
TABLE_WORDS = {
    "en": {
        "header": "| Chapter | Code cells | Outputs nbval compares | of which figures | "
        "of which errors | Exempt, and why |",
        "total": "Total",
        "none": "none",
        "cells": "cell(s)",
    },
    "ja": {
        "header": "| 章 | コードセル | nbval が比較する出力 | うち図 | うちエラー | "
        "比較の対象外とその理由 |",
        "total": "合計",
        "none": "なし",
        "cells": "セル",
        "reasons": {
            REASON_SKIP: f"実行しない（`{SKIP}`）",
            REASON_IGNORE: f"実行するが出力は比較しない（`{IGNORE}`、本書では時間計測専用）",
            REASON_RAISES: f"意図的に例外を送出（`{RAISES}`）：エラーの型とメッセージは比較し、"
            "トレースバックは比較しない",
        },
    },
}


def chapter_table(chapters: list[Chapter], linkable: set[str], language: str = "en") -> list[str]:
    """A Markdown table, one row per chapter, in the edition's ``language``."""
    words = TABLE_WORDS.get(language, TABLE_WORDS["en"])
    lines = [words["header"], "|---|---:|---:|---:|---:|---|"]
    total = Chapter("", words["total"])
    exempt_cells = 0
    for ch in chapters:
        # {doc} without a text shows the page's own title (which may hold markup).
        name = f"{{doc}}`/{ch.docname}`" if ch.docname in linkable else ch.title
        reasons = words.get("reasons", {})
        exempt = "; ".join(
            f"{', '.join(cells)}: {reasons.get(why, why)}" for why, cells in ch.exempt.items()
        )
        lines.append(
            f"| {name} | {ch.code_cells} | {ch.checked} | {ch.figures} | {ch.errors} "
            f"| {exempt or words['none']} |"
        )
        total.code_cells += ch.code_cells
        total.checked += ch.checked
        total.figures += ch.figures
        total.errors += ch.errors
        exempt_cells += sum(len(cells) for cells in ch.exempt.values())
    lines.append(
        f"| **{words['total']}** | **{total.code_cells}** | **{total.checked}** | "
        f"**{total.figures}** | **{total.errors}** | {exempt_cells} {words['cells']} |"
    )
    return lines


#: A pytest command in a recipe line, with its environment variables, without the shell
#: around it (redirections, ``&``, ``;``).
#: A pytest command of the recipe; it ends at a shell operator, a line continuation or the
#: `` :: `` between two stages of ``timed.py --together``.
PYTEST_COMMAND = re.compile(r"((?:[A-Z_]+=\S+ )*\$\(BIN\)/python -m pytest(?:(?! ::)[^;&>\\])*)")


def make_test_commands(makefile: str) -> list[str]:
    """The commands of the Makefile's ``test`` recipe that run pytest."""
    commands, in_test = [], False
    for line in makefile.splitlines():
        if re.match(r"^test\s*:", line):
            in_test = True
            continue
        if in_test:
            if not line.startswith("\t"):
                if line.strip():
                    break
                continue
            for command in PYTEST_COMMAND.findall(line):
                commands.append(command.strip().replace("$(BIN)/", ".venv/bin/"))
    return commands


#: The bullets' words in each edition; ``{...}`` are filled from the project's files.
CONDITION_WORDS = {
    "en": {
        "pins": "- Packages pinned in `requirements.txt`: {pins} ({count} pins in all).",
        "pytest": "- pytest options from `pyproject.toml`: `{addopts}`; test paths: {paths}.",
        "make": "- `make test` (which `.ci/run` calls on a fresh clone) runs:",
        "compare": "- nbval compares every output's text (`text/plain`, `text/html`, stdout, "
        "stderr, and an error's type and message) exactly; it does not compare {keys}: a "
        "figure's pixels are not compared, the text printed with it is.",
    },
    "ja": {
        "pins": "- `requirements.txt` で固定したパッケージ：{pins}（固定は全部で {count} 個）。",
        "pytest": "- `pyproject.toml` の pytest オプション：`{addopts}`。テストのパス：{paths}。",
        "make": "- `make test`（`.ci/run` が新しいクローンで呼び出します）が実行するコマンド：",
        "compare": "- nbval はすべての出力のテキスト（`text/plain`、`text/html`、stdout、stderr、"
        "エラーの型とメッセージ）を完全に比較します。{keys} は比較しません。図のピクセルは"
        "比較されず、図と一緒に表示されるテキストが比較されます。",
    },
}


def conditions(root: Path, language: str = "en") -> list[str]:
    """Markdown bullets: the environment and the commands CI verifies the outputs with."""
    words = CONDITION_WORDS.get(language, CONDITION_WORDS["en"])
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    pytest_ini = pyproject.get("tool", {}).get("pytest", {}).get("ini_options", {})
    pins = {}
    for line in (root / "requirements.txt").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    named = ", ".join(
        f"`{name}=={pins[name]}`"
        for name in ("torch", "numpy", "matplotlib", "nbval", "jupyter-book")
        if name in pins
    )
    paths = ", ".join(f"`{p}`" for p in pytest_ini.get("testpaths", []))
    lines = [
        words["pins"].format(pins=named, count=len(pins)),
        words["pytest"].format(addopts=pytest_ini.get("addopts", ""), paths=paths),
        words["make"],
    ]
    for command in make_test_commands((root / "Makefile").read_text(encoding="utf-8")):
        lines.append(f"  - `{command}`")
    lines.append(words["compare"].format(keys=", ".join(f"`{k}`" for k in NOT_COMPARED)))
    return lines


class _MarkdownDirective(SphinxDirective):
    has_content = False

    def markdown(self, root: Path) -> list[str]:
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        root = Path(self.env.srcdir)
        container = nodes.container(classes=["verification"])
        self.state.nested_parse(StringList(self.markdown(root)), self.content_offset, container)
        return container.children


class VerificationTable(_MarkdownDirective):
    """One row per notebook: cells, compared outputs, figures, exemptions."""

    def markdown(self, root: Path) -> list[str]:
        chapters = []
        for path in toc_notebooks(root):
            self.env.note_dependency(str(path))
            chapters.append(read_chapter(path, root))
        return chapter_table(chapters, set(self.env.found_docs), self.config.language)


class VerificationConditions(_MarkdownDirective):
    """The pinned versions and the commands CI checks the outputs with."""

    def markdown(self, root: Path) -> list[str]:
        for name in ("pyproject.toml", "Makefile", "requirements.txt"):
            self.env.note_dependency(str(root / name))
        return conditions(root, self.config.language)


def setup(app: Sphinx) -> dict:
    """Register the directives with Sphinx."""
    app.add_directive("verification-table", VerificationTable)
    app.add_directive("verification-conditions", VerificationConditions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
