"""Under each glossary term, a "Used in" line linking the pages that cite it.

Collected at build time from the ``{term}`` references in every page, so the list
cannot drift from the chapters. Configuration: ``glossary_uses_page`` (the docname of
the glossary, default ``book/glossary``).
"""

from __future__ import annotations

from collections.abc import Iterable

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

#: env attribute: {docname: set of lower-cased term names that page references}.
ATTR = "glossary_term_uses"


def _uses(env: BuildEnvironment) -> dict[str, set[str]]:
    if not hasattr(env, ATTR):
        setattr(env, ATTR, {})
    return getattr(env, ATTR)


def collect(app: Sphinx, doctree: nodes.document) -> None:
    """Record the terms a page references (before the references are resolved)."""
    terms = {
        node["reftarget"].lower()
        for node in doctree.findall(addnodes.pending_xref)
        if node.get("refdomain") == "std" and node.get("reftype") == "term"
    }
    docname = app.env.docname
    if docname != app.config.glossary_uses_page:
        _uses(app.env)[docname] = terms


def purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    """Forget a page that is re-read or removed."""
    _uses(env).pop(docname, None)


def merge(app: Sphinx, env: BuildEnvironment, docnames: Iterable[str], other) -> None:
    """Take over what parallel readers collected."""
    for docname in docnames:
        if docname in _uses(other):
            _uses(env)[docname] = _uses(other)[docname]


def reread_glossary(app: Sphinx, env: BuildEnvironment, added, changed, removed) -> list[str]:
    """Rebuild the glossary whenever another page changes (its uses may have changed)."""
    page = app.config.glossary_uses_page
    if (added | changed | removed) - {page} and page in env.found_docs:
        return [page]
    return []


def _page_order(env: BuildEnvironment) -> list[str]:
    """Docnames in reading order (the TOC's), then any others alphabetically."""
    ordered = list(env.toctree_includes.get(env.config.root_doc, []))
    seen = set(ordered)
    for parent in list(ordered):
        for child in env.toctree_includes.get(parent, []):
            if child not in seen:
                ordered.append(child)
                seen.add(child)
    return ordered + sorted(set(env.all_docs) - seen)


def mark_glossary(app: Sphinx, doctree: nodes.document) -> None:
    """Mark the glossary page's glossaries, so they are found in the PDF's single tree too."""
    if app.env.docname == app.config.glossary_uses_page:
        for glossary in doctree.findall(addnodes.glossary):
            glossary["used_in"] = True


#: The line's words in each edition: label, separator, full stop.
USED_IN = {"en": ("Used in: ", ", ", "."), "ja": ("使用箇所：", "、", "。")}


def add_used_in(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Append "Used in: ..." to each term's definition in the marked glossaries.

    In HTML ``docname`` is the glossary page; in LaTeX it is the root document, into
    which every page has been inlined, and ``get_relative_uri`` gives a PDF-internal link.
    """
    env = app.env
    uses = _uses(env)
    order = _page_order(env)
    items = [
        item
        for glossary in doctree.findall(addnodes.glossary)
        if glossary.get("used_in")
        for item in glossary.findall(nodes.definition_list_item)
    ]
    for item in items:
        terms = [t.astext().lower() for t in item.findall(nodes.term)]
        pages = [doc for doc in order if any(t in uses.get(doc, ()) for t in terms)]
        definition = next(item.findall(nodes.definition), None)
        if definition is None or not pages:
            continue
        para = nodes.paragraph(classes=["glossary-used-in"])
        label, comma, stop = USED_IN.get(app.config.language, USED_IN["en"])
        para += nodes.emphasis(text=label)
        for i, doc in enumerate(pages):
            if i:
                para += nodes.Text(comma)
            title = env.titles[doc].astext() if doc in env.titles else doc
            ref = nodes.reference("", "", internal=True)
            ref["refuri"] = app.builder.get_relative_uri(docname, doc)
            ref += nodes.inline(text=title)
            para += ref
        para += nodes.Text(stop)
        definition += para


def setup(app: Sphinx) -> dict:
    """Register the collector and the "Used in" writer with Sphinx."""
    app.add_config_value("glossary_uses_page", "book/glossary", "env")
    app.connect("doctree-read", collect)
    app.connect("doctree-read", mark_glossary)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("env-get-outdated", reread_glossary)
    app.connect("doctree-resolved", add_used_in)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
