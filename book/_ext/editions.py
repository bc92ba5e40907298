"""The book's two editions: English (the source) and Japanese (``book/locale/ja``).

Both are built from the same pages; the Japanese one applies the catalogues in
``book/locale/ja/LC_MESSAGES`` and the settings in ``book/locale/ja/config.yml``. The
English edition is the site's root, the Japanese one its ``ja/`` folder. As a Sphinx
extension this module:

- links each page to the same page of the other edition (a button in the article header,
  ``book/_templates/edition-switch.html``) and declares both as ``hreflang`` alternates;
- translates the part captions of the table of contents, which sphinx-external-toc
  inserts after Sphinx's own translation step has run;
- gives the Japanese search page a query splitter that segments Japanese the way the
  index was segmented (Sphinx's ``DefaultSplitter``, a TinySegmenter port): the browser
  otherwise splits a query only at spaces, and 確率 inside 確率的 is never found;
- says, on the Japanese edition's notebook download button, that the notebook is English;
- shows, in the Japanese edition, the Japanese twin of each notebook figure
  (``book/_ext/figures_ja.py``, ``make figures-ja``) in place of the English one;
- fills the search page's result count message, which Sphinx's Japanese catalogue leaves empty;
- translates the page chrome the packages' catalogues miss. The messages live in
  ``book/_ext/locale/ja/LC_MESSAGES/sphinx.po`` (domain ``sphinx``), which the Japanese
  configuration lists in ``locale_dirs`` so that Sphinx compiles it at the start of the
  build and prefers it to its own and the themes' catalogues; templates that hard-code
  English are overridden in ``book/_templates`` with the same English as msgids. From
  that catalogue this module also hands ``book.js`` its messages
  (``window.BOOK_MESSAGES``), fills MyST-NB's hard-coded ``aria-label`` of hidden cells
  and titles the English-only API page in the page's language (it has no catalogue).

As a script it writes an edition's full configuration (``_config.yml`` with the edition's
settings merged in) for ``jupyter-book build --config``::

    python book/_ext/editions.py config ja _build/ja/_config.yml
"""

from __future__ import annotations

import gettext
import json
import sys
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform
from sphinx.util.i18n import docname_to_domain

ROOT = Path(__file__).resolve().parents[2]

#: Each edition: (folder under the site root, name of the language in that language).
EDITIONS = {"en": ("", "English"), "ja": ("ja/", "日本語")}
#: What the switch button's tooltip says, in the language of the page it is on (the
#: button's label is the other language's own name: English, 日本語).
SWITCH_TITLE = {"en": "Read this page in Japanese", "ja": "このページを英語で読む"}
NOTEBOOK_TOOLTIP = {
    "ja": "ノートブック（英語版）をダウンロード：コードと出力はこのページと同じです",
}


def edition_url(pagename: str, here: str, there: str) -> str:
    """Relative URL from ``pagename`` in edition ``here`` to the same page in ``there``.

    Examples
    --------
    >>> edition_url("notebooks/03_one_dimensional", "en", "ja")
    '../ja/notebooks/03_one_dimensional.html'
    >>> edition_url("book/intro", "ja", "en")
    '../../book/intro.html'
    """
    up = "../" * (pagename.count("/") + EDITIONS[here][0].count("/"))
    return f"{up}{EDITIONS[there][0]}{pagename}.html"


def other_edition(language: str) -> str:
    """The edition a page in ``language`` links to."""
    return "ja" if language == "en" else "en"


def link_editions(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """The switch button's target and the ``hreflang`` alternates of this page."""
    here = app.config.language
    if here not in EDITIONS:
        return
    there = other_edition(here)
    name = EDITIONS[there][1]
    context["edition_switch"] = {
        "href": edition_url(pagename, here, there),
        "lang": there,
        "name": name,
        "title": SWITCH_TITLE[here],
    }
    alternates = "".join(
        f'\n<link rel="alternate" hreflang="{lang}" href="{edition_url(pagename, here, lang)}">'
        for lang in EDITIONS
    )
    context["metatags"] = context.get("metatags", "") + alternates


def notebook_download_note(app: Sphinx, pagename: str, templatename: str, context, doctree):
    """Tell readers of a translated edition that the notebook they download is English."""
    tooltip = NOTEBOOK_TOOLTIP.get(app.config.language)
    for group in context.get("header_buttons", []) if tooltip else []:
        for button in group.get("buttons", []):
            if button.get("label") == "download-notebook-button":
                button["tooltip"] = tooltip


class TranslateTocCaptions(SphinxTransform):
    """Translate the captions of the toctrees sphinx-external-toc inserts.

    ``InsertToctrees`` runs at priority 100, after Sphinx's ``Locale`` transform (20),
    so the part captions are extracted into the catalogues but never applied. This runs
    next, before the toctrees are collected for the navigation (``doctree-read``).
    """

    default_priority = 101

    def apply(self, **kwargs) -> None:
        language = self.config.language
        if language == "en":
            return
        domain = docname_to_domain(self.env.docname, self.config.gettext_compact)
        catalogues = [
            gettext.translation(domain, Path(self.env.srcdir) / d, [language], fallback=True)
            for d in self.config.locale_dirs
        ]
        for node in self.document.findall(addnodes.toctree):
            caption = node.get("caption")
            for catalogue in catalogues if caption else []:
                caption = catalogue.gettext(caption)
            if caption:
                node["caption"] = node["rawcaption"] = caption


def query_splitter_js() -> str:
    """JavaScript ``splitQuery`` using the tables of Sphinx's Japanese ``DefaultSplitter``.

    The query is first cut where the default splitter cuts (any run of characters that
    are not letters, digits or ``_``); each piece is then segmented exactly as
    ``DefaultSplitter.split`` segments the pages for the index.
    """
    from sphinx.search.ja import DefaultSplitter

    tables = {
        name: value
        for name, value in vars(DefaultSplitter).items()
        if name.endswith("__") and not name.startswith("_")
    }
    patterns = [[p.pattern, v] for p, v in DefaultSplitter.patterns_.items()]
    port = (Path(__file__).parent / "ja_splitter.js").read_text(encoding="utf-8")
    return (
        f"const JA_SPLITTER = {json.dumps(tables, ensure_ascii=False)};\n"
        f"const JA_CTYPES = {json.dumps(patterns, ensure_ascii=False)}"
        ".map(([p, v]) => [new RegExp('^' + p, 'u'), v]);\n" + port
    )


def japanese_query_splitter(app: Sphinx) -> None:
    """Install the query splitter for the Japanese search page (``language_data.js``)."""
    if app.config.language != "ja":
        return
    from sphinx.search import languages
    from sphinx.search.ja import SearchJapanese

    class SearchJapaneseQuery(SearchJapanese):
        js_splitter_code = query_splitter_js()

    languages["ja"] = SearchJapaneseQuery


#: Messages of the search page that Sphinx 7.4.7's own catalogue leaves empty (the page
#: then shows an empty line where the number of results belongs): filled in the built
#: ``_static/translations.js``.
UI_MESSAGES = {
    "ja": {
        "Search finished, found ${resultCount} page(s) matching the search query.": (
            "検索が完了しました。${resultCount} ページが見つかりました。"
        ),
    },
}


def fill_ui_messages(app: Sphinx, exception: Exception | None) -> None:
    """Fill the search page's messages that Sphinx's catalogue leaves empty."""
    fills = UI_MESSAGES.get(app.config.language)
    path = Path(app.outdir) / "_static" / "translations.js"
    if exception is not None or not fills or not path.is_file():
        return
    text = path.read_text(encoding="utf-8")
    for english, translated in fills.items():
        key = json.dumps(english)
        text = text.replace(f'{key}: ""', f"{key}: {json.dumps(translated)}")
    path.write_text(text, encoding="utf-8")


#: Messages of ``book/_static/book.js`` (its own and sphinx-copybutton's), translated from
#: the chrome catalogue and handed to the script as ``window.BOOK_MESSAGES``.
BOOK_JS_MESSAGES = (
    "Download the whole book as a PDF",
    ".pdf (whole book)",
    "All notebooks, dropmini and the exact set-up, in one zip",
    "all notebooks (.zip)",
    "Enlarged figure",
    "Close",
    "Enlarge the figure",
    "Toggle hidden content",
    "Copy",
    "Copy to clipboard",
    "Copied!",
    "Failed to copy",
)

#: Titles of the pages that stay English (no catalogue), in each translated edition: the
#: sidebar, the page's heading and every ``{doc}`` link to it use the title.
PAGE_TITLES = {"ja": {"book/api": "API リファレンス"}}


def chrome_messages(app: Sphinx, config) -> None:
    """Give ``book.js`` its messages in this edition's language (none in English)."""
    if config.language == "en":
        return
    from sphinx.locale import _

    table = {m: str(_(m)) for m in BOOK_JS_MESSAGES}
    table = {m: t for m, t in table.items() if t != m}
    body = f"window.BOOK_MESSAGES = {json.dumps(table, ensure_ascii=False)};"
    app.add_js_file(None, body=body, priority=200)


class TitleEnglishOnlyPages(SphinxTransform):
    """Title a page that stays English (``PAGE_TITLES``) in the edition's language."""

    default_priority = 101

    def apply(self, **kwargs) -> None:
        title = PAGE_TITLES.get(self.config.language, {}).get(self.env.docname)
        for node in list(self.document.findall(nodes.title))[:1] if title else []:
            node.children = [nodes.Text(title)]


def hidden_cell_label(app: Sphinx, pagename: str, templatename: str, context, doctree):
    """MyST-NB writes ``aria-label="Toggle hidden content"`` into the page: translate it."""
    from sphinx.locale import _

    english = "Toggle hidden content"
    label = str(_(english))
    body = context.get("body")
    if app.config.language != "en" and label != english and body:
        context["body"] = body.replace(f'aria-label="{english}"', f'aria-label="{label}"')


def japanese_figures(app: Sphinx, docname: str, source: list[str]) -> None:
    """In the Japanese edition, read each notebook with its figures' Japanese twins.

    The twins (``book/locale/ja/figures``, ``make figures-ja``) replace the English PNGs
    of the outputs they were made from; ``book/_ext/figures_ja.py`` has the rest.
    """
    if app.config.language != "ja" or not docname.startswith("notebooks/"):
        return
    if str(Path(__file__).parent) not in sys.path:
        sys.path.insert(0, str(Path(__file__).parent))
    from figures_ja import MANIFEST, swap_images
    from sphinx.util import logging

    source[0], used, problems = swap_images(source[0], docname.split("/")[-1])
    for path in [MANIFEST, *used]:
        app.env.note_dependency(str(path))
    for problem in problems:
        logging.getLogger(__name__).warning(problem, location=docname)


def setup(app: Sphinx) -> dict:
    """Register the editions' links, caption translation and Japanese query splitter."""
    app.add_transform(TranslateTocCaptions)
    app.add_transform(TitleEnglishOnlyPages)
    app.connect("config-inited", chrome_messages)
    app.connect("html-page-context", hidden_cell_label)
    app.connect("builder-inited", japanese_query_splitter)
    app.connect("html-page-context", link_editions)
    app.connect("html-page-context", notebook_download_note, priority=600)
    app.connect("build-finished", fill_ui_messages)
    app.connect("source-read", japanese_figures)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def merged(base: dict, changes: dict) -> dict:
    """``base`` with ``changes`` applied: mappings are merged key by key, others replaced.

    Examples
    --------
    >>> merged({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"c": 3}, "d": [2]})
    {'a': {'b': 1, 'c': 3}, 'd': [2]}
    """
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def write_config(language: str, target: Path) -> None:
    """Write ``_config.yml`` merged with ``book/locale/<language>/config.yml`` to ``target``."""
    import yaml

    base = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    changes = yaml.safe_load(
        (ROOT / "book" / "locale" / language / "config.yml").read_text(encoding="utf-8")
    )
    config = merged(base, changes)
    # jupyter-book finds local extensions relative to the configuration file, not the book.
    extensions = config["sphinx"]["local_extensions"]
    for name, folder in extensions.items():
        extensions[name] = str(ROOT / folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    target.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "config":
        sys.exit("usage: python book/_ext/editions.py config LANGUAGE TARGET.yml")
    write_config(sys.argv[2], Path(sys.argv[3]))
