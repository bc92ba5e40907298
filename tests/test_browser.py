"""Open every page of the built book in headless Chromium, offline, the way a reader does.

Desktop (1280 px) and phone (390 x 844) passes, light and dark. Any console error,
HTTP error or network error fails; the one thing not counted is a request the browser
itself cancels when the test moves on to the next page. Screenshots go to ``_build/screenshots/``.

Needs Debian's chromium (``apt-get install chromium``). Without it the test is
skipped locally, but fails under ``CI=true``, where ``.ci/run`` installs it.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest
from conftest import ROOT, toc_pages

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Every host but 127.0.0.1 fails to resolve and no proxy is used (a proxy would resolve
#: the host for the browser), so a request for an outside address fails in the browser
#: without reaching the network; PageLog records it from the request event. (Intercepting
#: each request with ``page.route`` instead turns the browser's cache off and sends every
#: request through Python: 12 page loads took 1.5x as long and 1.7x the CPU.)
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--no-proxy-server",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SHOTS = ROOT / "_build" / "screenshots"
PAGES = toc_pages()
CHAPTERS = [p for p in PAGES if p.startswith("notebooks/")]
#: Chapters whose drawers the phone pass opens: first, middle and last of the TOC.
PHONE_CHAPTERS = sorted({CHAPTERS[0], CHAPTERS[len(CHAPTERS) // 2], CHAPTERS[-1]})
#: The editions' folders under the site root: English, Japanese.
EDITIONS = ["", "ja/"]
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _chromium_or_skip() -> None:
    if Path(CHROMIUM).exists():
        return
    message = "chromium not found: install it with 'apt-get install -y chromium' (.ci/run does)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the signature is the base class's
        pass


@pytest.fixture(scope="module")
def served_book(built_book):
    html, result = built_book
    assert result.returncode == 0, result.stderr[-2000:]
    handler = functools.partial(QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


class PageLog:
    """Everything a page did that a test may object to (see ``_request_failed``)."""

    def __init__(self, page, base: str) -> None:
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.failed: list[str] = []
        host = urlparse(base).hostname

        def request(r):
            if urlparse(r.url).hostname not in (host, None):  # None: data:, blob:, about:
                self.outside.append(r.url)

        page.on("request", request)
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("requestfailed", lambda r: self._request_failed(r))
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))

    def _request_failed(self, request) -> None:
        # Leaving a page cancels what it still had in flight (the favicon is fetched after
        # "load"): Chromium reports net::ERR_ABORTED for that. A file that is missing still
        # fails, as an HTTP 4xx response; any other network error is kept.
        if request.failure != "net::ERR_ABORTED":
            self.failed.append(f"{request.failure} {request.url}")

    def assert_clean(self) -> None:
        assert self.outside == [], f"requests leaving 127.0.0.1: {self.outside}"
        assert self.errors == [], f"console errors: {self.errors}"
        assert self.failed == [], f"failed requests: {self.failed}"


def _source(page_path: str) -> str:
    suffix = ".ipynb" if page_path.startswith("notebooks/") else ".md"
    return (ROOT / f"{page_path}{suffix}").read_text(encoding="utf-8")


def _shot(page, name: str) -> None:
    """Save what the reader sees first (the viewport: a whole-page shot of the API page
    alone was 9 MB and took 7 s)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.mark.parametrize("page_path", PAGES)
def test_page_renders_offline_without_errors(browser, served_book, page_path):
    page = browser.new_page(viewport=DESKTOP)
    log = PageLog(page, served_book)
    page.goto(f"{served_book}/{page_path}.html", wait_until="load")

    source = _source(page_path)
    if "$" in source:
        page.wait_for_selector("mjx-container", state="attached", timeout=15_000)
        assert page.locator("mjx-container").count() > 0, "math not rendered by MathJax"
    images = page.eval_on_selector_all(
        "img", "els => els.map(e => [e.currentSrc, e.complete && e.naturalWidth > 0])"
    )
    broken = [src for src, ok in images if not ok]
    alts = page.eval_on_selector_all(
        "figure img", "els => els.map(e => [e.getAttribute('src'), e.alt])"
    )
    switch = page.eval_on_selector("a.edition-switch", "a => a.href")
    alternates = page.eval_on_selector_all(
        'link[rel="alternate"]', "ls => Object.fromEntries(ls.map(l => [l.hreflang, l.href]))"
    )
    icon = page.eval_on_selector('link[rel="icon"]', "e => e.href")
    icon_status = page.request.get(icon).status
    bundles = page.eval_on_selector_all(
        ".dropdown-download-buttons a.btn-download-bundle-button", "ls => ls.map(l => l.href)"
    )
    bundle_status = [page.request.head(href).status for href in bundles]
    _shot(page, page_path.replace("/", "__"))
    page.close()

    log.assert_clean()
    assert broken == [], f"images that did not load: {broken}"
    assert icon_status == 200, f"favicon {icon}: HTTP {icon_status}"
    if page_path.startswith("notebooks/"):
        zip_url = f"{served_book}/dropout-verified-notebooks.zip"
        assert bundles and set(bundles) == {zip_url}, f"download menu: {bundles}"
        assert set(bundle_status) == {200}, f"the notebook bundle: HTTP {bundle_status}"
    japanese = f"{served_book}/ja/{page_path}.html"
    assert switch == japanese, "the language button does not lead to the same page in Japanese"
    assert alternates == {"en": f"{served_book}/{page_path}.html", "ja": japanese}
    if page_path.startswith("notebooks/") and '"image/png"' in source:
        assert len(images) >= 2, "the chapter's figure is missing"  # logo + figure
    for src, alt in alts:
        assert len(alt) > 20 and not alt.endswith(".png"), f"alt text of {src}: {alt!r}"


def _open_drawer(page, toggle: str, modal: str) -> None:
    """Tap the visible ``toggle`` button; the ``modal`` drawer must open and be visible."""
    buttons = page.locator(f"button{toggle}:visible")
    assert buttons.count() == 1, f"expected one visible {toggle} at this width"
    buttons.first.click()
    page.wait_for_selector(f"dialog{modal}[open]", state="visible", timeout=5_000)
    box = page.locator(modal).bounding_box()
    assert box is not None and box["width"] > 200, f"{modal} is not on screen: {box}"


@pytest.mark.parametrize("edition", EDITIONS)
def test_phone_menus_open_and_nothing_scrolls_sideways(browser, served_book, edition):
    """At 390 px: both drawers open on several chapters; no page scrolls horizontally."""
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    log = PageLog(page, served_book)
    too_wide = {}
    for page_path in PAGES:
        page.goto(f"{served_book}/{edition}{page_path}.html", wait_until="load")
        if "$" in _source(page_path):  # displayed equations set their width when typeset
            page.wait_for_selector("mjx-container", state="attached", timeout=15_000)
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if widths[0] > widths[1]:
            too_wide[page_path] = widths
        if page_path not in PHONE_CHAPTERS:
            continue
        name = edition.replace("/", "-") + page_path.split("/")[-1]

        _open_drawer(page, ".primary-toggle", "#pst-primary-sidebar-modal")
        links = page.locator("#pst-primary-sidebar-modal a.reference.internal:visible")
        assert links.count() >= len(CHAPTERS), "the chapter list is not in the drawer"
        _shot(page, f"phone-{name}-chapters")
        page.keyboard.press("Escape")
        page.wait_for_selector("#pst-primary-sidebar-modal", state="hidden")

        _open_drawer(page, ".secondary-toggle", "#pst-secondary-sidebar-modal")
        toc = page.locator("#pst-secondary-sidebar-modal nav.page-toc a:visible")
        assert toc.count() >= 2, "the page contents are not in the drawer"
        _shot(page, f"phone-{name}-contents")
        page.keyboard.press("Escape")
        page.wait_for_selector("#pst-secondary-sidebar-modal", state="hidden")
    page.close()
    log.assert_clean()
    assert too_wide == {}, f"pages wider than the phone (scrollWidth, innerWidth): {too_wide}"


def test_desktop_toggle_collapses_the_chapter_list(browser, served_book):
    page = browser.new_page(viewport=DESKTOP)
    log = PageLog(page, served_book)
    page.goto(f"{served_book}/{CHAPTERS[0]}.html", wait_until="load")
    sidebar = page.locator("#pst-primary-sidebar")
    assert sidebar.is_visible()
    page.locator("button.primary-toggle:visible").click()
    page.wait_for_function(
        "() => document.querySelector('#pst-primary-sidebar')"
        ".classList.contains('pst-sidebar-hidden')"
    )
    page.close()
    log.assert_clean()


def test_phone_figure_enlarges_and_dark_mode(browser, served_book):
    """A tapped figure opens full size; the dark theme follows the system setting."""
    chapter = next(p for p in CHAPTERS if '"image/png"' in _source(p))
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True, color_scheme="dark")
    log = PageLog(page, served_book)
    page.goto(f"{served_book}/{chapter}.html", wait_until="load")
    assert page.evaluate("() => document.documentElement.dataset.theme") == "dark"
    background = page.evaluate(
        "() => getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number)"
    )
    assert sum(background[:3]) < 3 * 80, f"dark mode background is light: {background}"
    figure = page.locator("figure img").first
    figure.scroll_into_view_if_needed()
    _shot(page, f"phone-dark-{chapter.split('/')[-1]}")
    figure.click()
    page.wait_for_selector("dialog.figure-zoom[open]", state="visible")
    width = page.evaluate("() => document.querySelector('dialog.figure-zoom img').clientWidth")
    assert width > PHONE["width"], f"the enlarged figure is only {width} px wide"
    page.keyboard.press("Escape")
    page.close()
    log.assert_clean()


#: Every result listed (the status line says how many) and every page result's snippet
#: loaded: Sphinx fetches the pages for their snippets one by one after the list is shown;
#: API objects (a description in a <span>) have no snippet.
SEARCH_SETTLED = """() => {
    const summary = document.querySelector('#search-results .search-summary');
    const items = [...document.querySelectorAll('#search-results ul.search li')];
    return /\\d/.test(summary?.innerText || '')
        && items.every(li => li.querySelector(':scope > span, :scope > p.context'));
}"""

#: Each result: the link's path under the edition's folder (with its #anchor), its text,
#: whether it is an API object and its snippet (null for API objects).
SEARCH_RESULTS = """() => [...document.querySelectorAll('#search-results ul.search li')]
    .map(li => ({
        href: li.querySelector('a').getAttribute('href'),
        title: li.querySelector('a').innerText,
        object: li.querySelector(':scope > span') !== null,
        snippet: li.querySelector(':scope > p.context')?.innerText ?? null,
    }))"""


def _search_results(page, base: str, edition: str, query: str) -> list[dict]:
    """Search ``query`` in ``edition`` (``""`` or ``"ja/"``): its results once settled."""
    page.goto(f"{base}/{edition}search.html?q={quote(query)}", wait_until="load")
    page.wait_for_function(SEARCH_SETTLED, timeout=30_000)
    return page.evaluate(SEARCH_RESULTS)


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("inplace", "In-place dropout"),
        ("misconceptions", "Common misconceptions"),
        ("gradients", "Gradients through dropout"),
        ("inverted dropout", "Original versus inverted dropout"),
    ],
)
def test_search_ranks_the_matching_chapter_first(browser, served_book, query, title):
    page = browser.new_page(viewport=DESKTOP)
    log = PageLog(page, served_book)
    results = _search_results(page, served_book, "", query)
    hits = [r["title"] for r in results]
    snippets = [r["snippet"] for r in results if r["snippet"] is not None]
    page.close()
    log.assert_clean()
    assert hits and hits[0] == title, hits
    assert snippets, "no search snippets"
    for text in snippets:
        assert "\\(" not in text and "\\)" not in text, f"raw TeX in snippet: {text}"
        assert "Traceback" not in text and "---->" not in text, f"traceback in snippet: {text}"


def test_pdf_button_offers_the_whole_book_when_built(browser, served_book, built_book):
    html, _ = built_book
    page = browser.new_page(viewport=DESKTOP)
    log = PageLog(page, served_book)
    page.goto(f"{served_book}/{CHAPTERS[0]}.html", wait_until="load")
    kind, href = page.evaluate(
        "() => { const b = document.querySelector('.btn-download-pdf-button');"
        " return [b.tagName, b.getAttribute('href')]; }"
    )
    if (html / "book.pdf").is_file():
        assert (kind, href) == ("A", "../book.pdf")
        response = page.request.get(f"{served_book}/book.pdf")
        assert response.ok and response.headers["content-type"] == "application/pdf"
    else:  # no `make pdf` before this build: the theme's print button stays
        assert kind == "BUTTON"
    page.close()
    log.assert_clean()


def test_the_checks_catch_outside_requests_errors_and_broken_images(browser, served_book):
    """The same PageLog on a deliberately bad page: every problem must be reported."""
    page = browser.new_page()
    log = PageLog(page, served_book)
    page.goto(f"{served_book}/search.html", wait_until="load")
    # The same server by another name: it would load if the browser resolved "localhost".
    by_name = served_book.replace("127.0.0.1", "localhost") + "/_static/book.css"
    page.evaluate(
        """(byName) => {
            const outside = document.createElement('img');
            outside.src = 'http://example.com/tracker.png';
            document.body.appendChild(outside);
            const local = document.createElement('link');
            local.rel = 'stylesheet';
            local.href = byName;
            document.head.appendChild(local);
            const missing = document.createElement('img');
            missing.src = '/_static/no-such-image.png';
            document.body.appendChild(missing);
            console.error('deliberate error');
        }""",
        by_name,
    )
    page.wait_for_load_state("networkidle")
    page.close()
    assert sorted(log.outside) == sorted(["http://example.com/tracker.png", by_name])
    # Neither left the browser: it resolves no name but 127.0.0.1 (LAUNCH_ARGS), not even
    # "localhost", which needs no DNS and so shows the rule even on a machine offline.
    for url in ("http://example.com/tracker.png", by_name):
        assert f"net::ERR_NAME_NOT_RESOLVED {url}" in log.failed, log.failed
    assert "deliberate error" in log.errors
    assert any("no-such-image.png" in f for f in log.failed)
    with pytest.raises(AssertionError):
        log.assert_clean()


def test_japanese_edition_renders_offline_in_japanese_and_links_back(browser, served_book):
    """Every page of the Japanese edition: lang="ja", Japanese headings, the switch button
    and ``hreflang`` alternates pointing at the same page in English, which exists."""
    page = browser.new_page(viewport=DESKTOP)
    log = PageLog(page, served_book)
    problems = {}
    for page_path in PAGES:
        page.goto(f"{served_book}/ja/{page_path}.html", wait_until="load")
        if "$" in _source(page_path):
            page.wait_for_selector("mjx-container", state="attached", timeout=15_000)
        english = f"{served_book}/{page_path}.html"
        found = page.evaluate(
            """() => ({
                lang: document.documentElement.lang,
                title: document.querySelector('article h1')?.innerText || '',
                nav: [...document.querySelectorAll('.bd-sidebar-primary p.caption')]
                    .map(p => p.innerText),
                sw: document.querySelector('a.edition-switch')?.href,
                alt: Object.fromEntries([...document.querySelectorAll('link[rel=alternate]')]
                    .map(l => [l.hreflang, l.href])),
                broken: [...document.images].filter(i => !(i.complete && i.naturalWidth))
                    .map(i => i.src),
            })"""
        )
        wrong = []
        if found["lang"] != "ja":
            wrong.append(f"lang={found['lang']!r}")
        if page_path != "book/api" and not JAPANESE.search(found["title"]):
            wrong.append(f"English title {found['title']!r}")
        if not found["nav"] or not all(JAPANESE.search(c) for c in found["nav"]):
            wrong.append(f"part captions {found['nav']}")
        if found["sw"] != english or found["alt"] != {"en": english, "ja": page.url}:
            wrong.append(f"links to the English page: {found['sw']}, {found['alt']}")
        if found["broken"]:
            wrong.append(f"broken images {found['broken']}")
        if page.request.get(english).status != 200:
            wrong.append("the English page is missing")
        if wrong:
            problems[page_path] = wrong
    _shot(page, "ja-last-page")
    page.close()
    log.assert_clean()
    assert problems == {}, problems


#: Sentences for comparing the page's query splitter with the index's (Python) splitter.
SPLITTER_SAMPLES = [
    "ドロップアウト確率",
    "確率的な正則化",
    "乱数生成器の状態を保存する",
    "保持された要素はスケーリングされます",
    "mask と seed、そして p=0.5",
]


def test_japanese_search_splits_queries_like_the_index(browser, served_book):
    """The query is segmented as the index was (Sphinx's DefaultSplitter), so a word
    inside a compound is found; the compound itself is not an index term."""
    from sphinx.search.ja import DefaultSplitter

    splitter = DefaultSplitter({})
    page = browser.new_page(viewport=DESKTOP)
    log = PageLog(page, served_book)
    page.goto(f"{served_book}/ja/search.html?q=確率", wait_until="load")
    page.wait_for_function(
        "() => /\\d/.test(document.querySelector('#search-results .search-summary')?.innerText"
        " || '')",
        timeout=30_000,
    )
    hits = page.locator("#search-results ul.search li > a").all_inner_texts()
    in_page = page.evaluate("samples => samples.map(s => splitQuery(s))", SPLITTER_SAMPLES)
    terms = page.evaluate("() => Object.keys(Search._index.terms)")
    page.close()
    log.assert_clean()
    expected = [
        [w for piece in re.split(r"\W+", s) for w in splitter.split(piece) if len(w) > 1]
        for s in SPLITTER_SAMPLES
    ]
    assert in_page == expected
    assert "ドロップアウト確率" not in terms and {"ドロップアウト", "確率"} <= set(terms)
    assert len(hits) >= 3, f"確率 (inside compounds such as 確率的) found only {hits}"


#: Japanese queries that name a glossary term (a compound the index holds only in pieces,
#: which nearly every page contains) and the page about the term. 逆ドロップアウト: the
#: chapter whose title names it. ドロップアウト確率 (the glossary's "Drop probability",
#: "PyTorch's `p`"): the chapter on the arguments p and inplace, which is about `p` (its
#: default, allowed and extreme values) and introduces the term ("p ... すなわち
#: ドロップアウト確率です"; inplace is left to the in-place chapter). 評価モード: the first
#: chapter, whose section 訓練モードと評価モード explains the two modes. インプレース操作:
#: the in-place chapter.
JA_TERM_QUERIES = [
    ("逆ドロップアウト", "notebooks/15_original_vs_inverted"),
    ("ドロップアウト確率", "notebooks/02_arguments"),
    ("評価モード", "notebooks/01_what_dropout_does"),
    ("インプレース操作", "notebooks/04_inplace"),
]


@pytest.mark.parametrize(("query", "docname"), JA_TERM_QUERIES)
def test_japanese_search_ranks_the_page_about_a_compound_first(
    browser, served_book, query, docname
):
    page = browser.new_page(viewport=DESKTOP)
    log = PageLog(page, served_book)
    results = _search_results(page, served_book, "ja/", query)
    page.close()
    log.assert_clean()
    top = [r["href"].split("#")[0] for r in results[:3]]
    assert top and top[0] == f"{docname}.html", f"{query}: top three {top}"


#: What the page chrome puts into a snippet taken from the whole main region: the
#: header's download buttons (.pdf, .ipynb) and the heading of the page's contents. As
#: words on their own (between spaces, the ends or the snippet's "..."): a URL's
#: "paper.pdf" or prose's 「このページの目次も」 are text.
SNIPPET_CHROME = re.compile(r"(?:^|[\s.…])(?:\.pdf|\.ipynb|目次|Contents)(?=[\s.…]|$)")


def _bad_snippet(text: str | None, href: str) -> str | None:
    """Why a page result's snippet is not text from the page, or None if it is."""
    if text is None:
        return "no snippet"
    if SNIPPET_CHROME.search(text):
        return f"page chrome: {SNIPPET_CHROME.search(text).group().strip()!r}"
    visible = re.sub(r"[\s.…]", "", text)
    # A glossary term's snippet is the term itself (its anchor holds only the term).
    if len(visible) < (4 if "#term-" in href else 40):
        return f"blank or nearly ({len(visible)} characters)"
    return None


@pytest.mark.parametrize(
    ("edition", "query"),
    [("", "inverted dropout"), ("", "inplace"), ("ja/", "逆ドロップアウト"),
     ("ja/", "ドロップアウト確率"), ("ja/", "評価モード"), ("ja/", "inplace")],
)  # fmt: skip
def test_search_snippets_show_the_pages_text(browser, served_book, edition, query):
    """Every page result's snippet is text of the page: no download buttons, no table of
    contents, not blank. The same check flags the text Sphinx would cut snippets from
    (the whole main region), so it can see the chrome."""
    page = browser.new_page(viewport=DESKTOP)
    log = PageLog(page, served_book)
    results = _search_results(page, served_book, edition, query)
    raw = page.evaluate(
        """async (href) => {
            const html = await (await fetch(href)).text();
            const doc = new DOMParser().parseFromString(html, 'text/html');
            return doc.querySelector('[role="main"]').textContent.replace(/\\s+/g, ' ');
        }""",
        CHAPTERS[0] + ".html",
    )
    page.close()
    log.assert_clean()
    assert _bad_snippet(raw[:240], "") is not None, f"the check misses the chrome in {raw[:240]}"
    pages = [r for r in results if not r["object"]]
    assert pages, f"{query}: no page results"
    bad = {r["href"]: (_bad_snippet(r["snippet"], r["href"]), r["snippet"]) for r in pages}
    assert {href: why for href, why in bad.items() if why[0]} == {}


#: The page chrome a Japanese page may keep in Latin letters, on purpose: the switch's
#: label "English" (the language's own name, marked lang="en", excluded below), the
#: download buttons' file types, the search shortcut's key and names that are not English.
CHROME_KEPT = re.compile(r"^(\.(pdf|ipynb|md|zip)|Ctrl|K|dropmini|Python|PyTorch|nbval)$")

#: Collects the page chrome's strings: the tooltips and labels (title, aria-label,
#: data-bs-title, data-tooltip, placeholder, alt, an icon's <title>) of every element and
#: the visible text of the header, sidebars, footer, figure dialog and previous/next links.
#: Not chrome, so not collected (English on purpose or the catalogues' business, checked
#: by tests/test_translations.py): the article's own text; the titles of pages and
#: sections in the navigation and the previous/next links; code and outputs; the API
#: page's docstrings (dl.py); citations (paper titles); anything marked lang="en" (the
#: switch's label "English"); the print-only contents (its aria-label "Page").
CHROME_JS = """() => {
    const content = 'pre, code, .highlight, .cell_output, dl.py, .citation, a.footnote-reference,'
        + ' a.reference.internal, .caption-text, .prev-next-title, [lang="en"], .onlyprint';
    // Controls inside content are chrome: copy buttons on code, the ¶ links of headings.
    const skip = (el) => el.closest(content) !== null
        && el.closest('.copybtn, a.headerlink, button') === null;
    const out = [];
    for (const el of document.querySelectorAll('body *')) {
        // Bootstrap moves a tooltip's title to data-bs-original-title when it sets it up.
        for (const a of ['title', 'aria-label', 'data-bs-title', 'data-bs-original-title',
                         'data-tooltip', 'placeholder', 'alt']) {
            const v = el.getAttribute(a);
            const pageTitle = a === 'title' && el.matches('.prev-next-area a');
            if (v && !skip(el) && !pageTitle) out.push(`${a}: ${v}`);
        }
    }
    for (const title of document.querySelectorAll('svg title')) {  // an icon's tooltip
        if (!skip(title)) out.push(`svg title: ${title.textContent}`);
    }
    const regions = '.bd-header-article, .bd-sidebar-primary, .bd-sidebar-secondary,'
        + ' .bd-footer-content, .bd-footer, .bd-header, dialog.figure-zoom button,'
        + ' .prev-next-area';
    for (const region of document.querySelectorAll(regions)) {
        const walker = document.createTreeWalker(region, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const text = n.textContent.trim();
            if (text && !skip(n.parentElement)) out.push(`text: ${text}`);
        }
    }
    return out;
}"""


def _english_chrome(strings: list[str]) -> list[str]:
    """The strings with an English word and no Japanese."""
    found = []
    for item in strings:
        value = item.split(": ", 1)[1]
        words = [
            w for w in re.findall(r"\.?[A-Za-z][A-Za-z.+-]*", value) if not CHROME_KEPT.match(w)
        ]
        if not JAPANESE.search(value) and any(len(w) > 1 for w in words):
            found.append(item)
    return sorted(set(found))


#: Pages with every kind of chrome: figures (zoom), hidden cells, the glossary's terms,
#: the search page, the English-only API page.
CHROME_PAGES = ["book/intro", CHAPTERS[0], "notebooks/03_one_dimensional", "book/glossary",
                "book/api", "search"]  # fmt: skip


def test_japanese_page_chrome_has_no_english(browser, served_book):
    """On Japanese pages every tooltip, label and button of the chrome is Japanese; the
    same collector finds the English chrome on the English pages (so it sees them) and a
    string planted into a Japanese page."""
    page = browser.new_page(viewport=DESKTOP)
    log = PageLog(page, served_book)
    english, japanese = {}, {}
    for edition, found in (("", english), ("ja/", japanese)):
        for page_path in CHROME_PAGES:
            page.goto(f"{served_book}/{edition}{page_path}.html", wait_until="load")
            page.wait_for_load_state("networkidle")
            found[page_path] = _english_chrome(page.evaluate(CHROME_JS))
    page.evaluate(
        """() => {
            const b = document.createElement('button');
            b.title = 'Toggle primary sidebar';
            b.textContent = 'Close';
            document.querySelector('.bd-header-article').append(b);
        }"""
    )
    planted = _english_chrome(page.evaluate(CHROME_JS))
    page.close()
    log.assert_clean()
    assert {"title: Toggle primary sidebar", "text: Close"} <= set(planted), planted
    seen = {item.split(": ", 1)[1] for item in set().union(*english.values())}
    for expected in ("Link to this heading", "Toggle primary sidebar", "Color mode",
                     "System Settings", "Copy to clipboard", "Close"):  # fmt: skip
        assert expected in seen, f"the collector missed {expected!r} on English pages"
    assert {p: f for p, f in japanese.items() if f} == {}, "English chrome on Japanese pages"


def test_japanese_typography(browser, served_book):
    """No slanted (synthetic italic) emphasis and captions at the text's weight in the
    Japanese edition, the English edition's italics kept; the chapter map's reading times
    on one line at 1280 and 390 px."""
    measure = """() => {
        const em = document.querySelector('.bd-article p em');
        const cap = document.querySelector('figure figcaption');
        const map = [...document.querySelectorAll('#chapter-map table tbody tr')]
            .map(tr => tr.children[2]).filter(td => td && td.innerText.trim());
        const lines = map.map(td => td.querySelector('p') || td).map(p => Math.round(
            p.getBoundingClientRect().height / parseFloat(getComputedStyle(p).lineHeight)));
        return {
            em: em && getComputedStyle(em).fontStyle,
            caption: cap && getComputedStyle(cap).fontWeight,
            mapLines: lines,
        };
    }"""
    results = {}
    for viewport in (DESKTOP, PHONE):
        page = browser.new_page(viewport=viewport)
        log = PageLog(page, served_book)
        for edition in EDITIONS:
            found = {}
            for page_path in ("book/intro", *CHAPTERS):
                page.goto(f"{served_book}/{edition}{page_path}.html", wait_until="load")
                got = page.evaluate(measure)
                for key, value in got.items():
                    if value and key not in found:
                        found[key] = value
                if page_path == "book/intro":
                    page.locator("#chapter-map").scroll_into_view_if_needed()
                    _shot(page, f"chapter-map-{edition.strip('/') or 'en'}-{viewport['width']}")
                if {"em", "caption", "mapLines"} <= set(found):
                    break
            results[(edition, viewport["width"])] = found
        page.close()
        log.assert_clean()
    for (edition, width), found in results.items():
        assert found["mapLines"] and max(found["mapLines"]) == 1, (edition, width, found)
        if edition == "ja/":
            assert found["em"] == "normal", f"slanted Japanese emphasis at {width} px"
            assert int(found["caption"]) >= 400, f"caption weight {found['caption']}"
        else:
            assert found["em"] == "italic", "the English edition's emphasis changed"


def test_edition_switch_keeps_the_fragment_and_the_query(browser, served_book):
    """Section ids are the same in both editions: the switch leads to the same section,
    and from the search page to the same search."""
    page = browser.new_page(viewport=DESKTOP)
    log = PageLog(page, served_book)
    chapter = "notebooks/03_one_dimensional"
    page.goto(f"{served_book}/ja/{chapter}.html", wait_until="load")
    section = page.evaluate("() => document.querySelectorAll('article section[id]')[1].id")
    page.goto(f"{served_book}/ja/{chapter}.html#{section}", wait_until="load")
    href = page.eval_on_selector("a.edition-switch", "a => a.href")
    page.locator("a.edition-switch").click()
    page.wait_for_url(f"{served_book}/{chapter}.html#{section}")
    landed = page.evaluate("id => document.getElementById(id) !== null", section)
    # A fragment set after load (a click in the page's contents) is followed too.
    page.evaluate("id => { window.location.hash = id; }", "top-of-nothing")
    page.wait_for_function(
        "() => document.querySelector('a.edition-switch').href.endsWith('#top-of-nothing')",
        timeout=5_000,
    )
    after = page.eval_on_selector("a.edition-switch", "a => a.href")
    page.goto(f"{served_book}/search.html?q=inplace", wait_until="load")
    search = page.eval_on_selector("a.edition-switch", "a => a.href")
    page.close()
    log.assert_clean()
    assert href == f"{served_book}/{chapter}.html#{section}"
    assert landed, f"#{section} is not on the English page"
    assert after == f"{served_book}/ja/{chapter}.html#top-of-nothing"
    assert search == f"{served_book}/ja/search.html?q=inplace"
