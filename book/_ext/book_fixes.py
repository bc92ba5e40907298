"""Small fixes to the HTML the theme and extensions produce, applied at build time.

- Inline scripts registered after the builder starts are emitted twice (the
  ``THEBE_JS_URL`` console error): see :func:`drop_duplicate_inline_scripts`.
- The footer states the versions this build really used, read from the environment.
- A figure's alt text is its caption, not the image's file path.
- The PDF prints the cells the HTML hides behind a "Show" button (the cells that
  check the exercise solutions): see :class:`PrintHiddenCells`.
- The search scorer (``search_scorer.js`` next to this file) ranks a page whose
  title matches the query first; its path is made absolute here because Sphinx
  opens it relative to the current directory. For a query that names a glossary term
  in a translated edition's language, the search page also gets the page that
  introduces the term (:func:`search_topics`), for queries no title answers.
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import unicodedata
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.builders import Builder
from sphinx.config import Config
from sphinx.transforms.post_transforms import SphinxPostTransform

HERE = Path(__file__).resolve().parent

#: Packages named in the footer, in this order.
FOOTER_PACKAGES = ("jupyter-book", "torch", "nbval")


def drop_duplicate_inline_scripts(app: Sphinx, builder: Builder) -> None:
    """Make the builder's copy of late inline scripts equal to the registry's.

    Why each page had ``const THEBE_JS_URL = ...`` twice (Sphinx 7.4.7): sphinx-thebe
    calls ``app.add_js_file(None, body=...)`` in ``env-before-read-docs``, after
    ``Builder.init()``. ``Sphinx.add_js_file`` records it twice: in the registry and,
    as ``_JavaScript(None, body=...)``, in the builder. ``prepare_writing`` then re-adds
    every registry entry as ``_JavaScript(filename or '', ...)``; ``None != ''``, so
    the duplicate check misses it and the script is written twice, and declaring a
    ``const`` twice is a SyntaxError. (sphinx-togglebutton's ``togglebuttonSelector``,
    added in ``builder-inited``, was doubled the same way, silently, being a ``var``.)
    Renaming the builder's entries from ``None`` to ``''`` here, on ``write-started``,
    just before ``prepare_writing``, lets its duplicate check work.
    """
    files = getattr(builder, "_js_files", None)
    if files is None:
        return
    fixed = []
    for js in files:
        if js.filename is None:
            js = type(js)("", priority=js.priority, **js.attributes)
        if js not in fixed:
            fixed.append(js)
    files[:] = fixed


#: The footer line in each edition's language; ``{versions}`` is filled in at build time.
FOOTER = {
    "en": "Built with {versions} (read from the build environment). "
    "Every printed output is re-checked by nbval.",
    "ja": "{versions} でビルドしました（版はビルド環境から読み取ったものです）。"
    "印刷された出力はすべて nbval が再検証しています。",
}


def footer_html(language: str = "en") -> str:
    """The footer line: the versions of Python and the key packages in this environment."""
    parts = [f"Python {platform.python_version()}"]
    for name in FOOTER_PACKAGES:
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return f"<p>{FOOTER.get(language, FOOTER['en']).format(versions=', '.join(parts))}</p>"


def configure(app: Sphinx, config: Config) -> None:
    """Fill in the footer and the absolute path of the search scorer."""
    options = dict(config.html_theme_options or {})
    options["extra_footer"] = footer_html(config.language)
    config.html_theme_options = options
    config.html_search_scorer = str(HERE / "search_scorer.js")


def caption_alt_text(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Give each figure's image its caption as alt text (docutils falls back to the URI)."""
    for figure in doctree.findall(nodes.figure):
        captions = list(figure.findall(nodes.caption))
        if not captions:
            continue
        text = " ".join(captions[0].astext().split())
        for image in figure.findall(nodes.image):
            if not image.get("alt") or image.get("alt") == image.get("uri"):
                image["alt"] = text


class PrintHiddenCells(SphinxPostTransform):
    """In LaTeX, print cells tagged ``hide-cell``/``hide-input``/``hide-output``.

    sphinx-jupyterbook-latex's ``MystNbPostTransform`` (priority 400) drops them from the
    PDF, where no button can show them; on paper the checks of the solutions must be
    printed. Removing the tag classes first (priority 300) leaves ordinary cells.
    """

    default_priority = 300
    formats = ("latex",)
    HIDE_CLASSES = ("tag_hide-cell", "tag_hide-input", "tag_hide-output")

    def run(self, **kwargs) -> None:
        for node in self.document.findall(nodes.container):
            if any(c in node["classes"] for c in self.HIDE_CLASSES):
                node["classes"] = [c for c in node["classes"] if c not in self.HIDE_CLASSES]


def copy_pdf(app: Sphinx, exception: Exception | None) -> None:
    """Copy the whole-book PDF next to the HTML when ``make pdf`` has built one."""
    if exception is not None or app.builder.format != "html":
        return
    pdf = book_pdf(app)
    if pdf is not None:
        shutil.copyfile(pdf, Path(app.outdir) / "book.pdf")


def book_pdf(app: Sphinx) -> Path | None:
    """The PDF of this edition that ``make pdf`` writes, if it exists.

    ``_build/pdf/book.pdf`` for English, ``_build/pdf/book-ja.pdf`` for Japanese.
    """
    language = app.config.language
    name = "book.pdf" if language == "en" else f"book-{language}.pdf"
    pdf = Path(app.srcdir) / "_build" / "pdf" / name
    return pdf if pdf.is_file() else None


def pdf_flag(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Tell book.js whether ``book.pdf`` sits next to the pages (else the button prints)."""
    if book_pdf(app) is not None:
        # The builder's list is reset before each page, so this is for this page only.
        app.builder.add_js_file(None, body="window.DROPOUT_BOOK_PDF = 'book.pdf';")


#: A glossary entry's name in the Japanese edition: ``*Japanese:* ドロップアウト確率 (as in
#: the articles). ...`` under the English term (book/glossary.md).
GLOSSARY_RENDERING = {"ja": re.compile(r"^(\S.*)\n[ \t]+\*Japanese:\*\s*([^\s(（.。]+)", re.M)}


def reading_order(env) -> list[str]:
    """Docnames in reading order: the root document, then its toctrees depth first."""
    order: list[str] = []

    def visit(docname: str) -> None:
        if docname in order:
            return
        order.append(docname)
        for child in env.toctree_includes.get(docname, []):
            visit(child)

    visit(env.config.root_doc)
    return order


def search_topics(app: Sphinx) -> dict[str, str]:
    """For each glossary term, its name in this edition's language -> the page about it.

    Japanese compounds such as ドロップアウト確率 are indexed as pieces (ドロップアウト, 確率)
    that nearly every page contains, so the index cannot tell which page is about one.
    The page taken to be about a term is the one that introduces it: the first page, in
    reading order, that links to the term (``{term}``; collected by glossary_uses.py).
    Keys are normalised as the scorer normalises a query (NFKC, lower case, letters and
    digits only). Empty for the English edition, whose terms are words the index holds.
    """
    pattern = GLOSSARY_RENDERING.get(app.config.language)
    glossary = getattr(app.config, "glossary_uses_page", None)
    uses = getattr(app.env, "glossary_term_uses", None)
    if pattern is None or glossary is None or uses is None:
        return {}
    source = Path(app.env.doc2path(glossary))
    if not source.is_file():
        return {}
    order = [d for d in reading_order(app.env) if d != glossary]
    topics = {}
    for term, rendering in pattern.findall(source.read_text(encoding="utf-8")):
        page = next((d for d in order if term.strip().lower() in uses.get(d, ())), None)
        key = re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", rendering).lower())
        if page and key:
            topics[key] = page
    return topics


def search_topics_script(app: Sphinx, pagename: str, templatename: str, context, doctree):
    """Give the search page the terms' pages and the glossary's docname (search_scorer.js)."""
    if pagename != "search":
        return
    topics = search_topics(app)
    if topics:
        glossary = json.dumps(app.config.glossary_uses_page)
        body = (
            f"window.SEARCH_TOPICS = {json.dumps(topics, ensure_ascii=False)};"
            f" window.SEARCH_GLOSSARY = {glossary};"
        )
        app.builder.add_js_file(None, body=body)


def setup(app: Sphinx) -> dict:
    """Register the fixes with Sphinx."""
    app.connect("config-inited", configure)
    app.add_post_transform(PrintHiddenCells)
    app.connect("write-started", drop_duplicate_inline_scripts)
    app.connect("doctree-resolved", caption_alt_text)
    app.connect("html-page-context", pdf_flag)
    app.connect("html-page-context", search_topics_script)
    app.connect("build-finished", copy_pdf)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
