"""Open every page of the built book in headless Chromium, offline, the way a reader does.

Needs Debian's chromium (``apt-get install chromium``). Without it the test is
skipped locally, but fails under ``CI=true``, where ``.ci/run`` installs it.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import ROOT, toc_pages

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# sphinx-thebe's script declares this constant twice on every page; a known, harmless error.
KNOWN_THEBE_ERROR = "THEBE_JS_URL"


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
    """Everything a page did that a test may object to."""

    def __init__(self, page, base: str) -> None:
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.failed: list[str] = []
        host = urlparse(base).hostname

        def route(r):
            if urlparse(r.request.url).hostname in (host, None) or r.request.url.startswith(
                ("data:", "blob:", "about:")
            ):
                r.continue_()
            else:
                self.outside.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("requestfailed", lambda r: self.failed.append(r.url))
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if KNOWN_THEBE_ERROR not in e]


PAGES = toc_pages()


@pytest.mark.parametrize("page_path", PAGES)
def test_page_renders_offline_without_errors(browser, served_book, page_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log = PageLog(page, served_book)
    page.goto(f"{served_book}/{page_path}.html", wait_until="load")
    page.wait_for_load_state("networkidle")

    source = (
        (ROOT / f"{page_path}.ipynb").read_text()
        if page_path.startswith("notebooks/")
        else (ROOT / f"{page_path}.md").read_text()
    )
    if "$" in source:
        page.wait_for_selector("mjx-container", state="attached", timeout=15_000)
        assert page.locator("mjx-container").count() > 0, "math not rendered by MathJax"
    images = page.eval_on_selector_all(
        "img", "els => els.map(e => [e.currentSrc, e.complete && e.naturalWidth > 0])"
    )
    broken = [src for src, ok in images if not ok]

    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"{page_path.replace('/', '__')}.png"), full_page=True)
    page.close()

    assert log.outside == [], f"requests leaving 127.0.0.1: {log.outside}"
    assert log.unexpected_errors() == [], log.unexpected_errors()
    assert log.failed == [], f"failed requests: {log.failed}"
    assert broken == [], f"images that did not load: {broken}"
    if page_path.startswith("notebooks/") and '"image/png"' in source:
        assert len(images) >= 2, "the chapter's figure is missing"  # logo + figure


def test_search_finds_inplace(browser, served_book):
    page = browser.new_page()
    log = PageLog(page, served_book)
    page.goto(f"{served_book}/search.html?q=inplace", wait_until="load")
    page.wait_for_function(
        "() => /found \\d+ page/i.test(document.querySelector('#search-results')?.innerText || '')",
        timeout=30_000,
    )
    hits = page.locator("#search-results ul.search li a").all_inner_texts()
    page.close()
    assert any("In-place dropout" in h for h in hits), hits
    assert log.outside == [] and log.unexpected_errors() == []


def test_the_checks_catch_outside_requests_errors_and_broken_images(browser, served_book):
    """The same PageLog on a deliberately bad page: every problem must be reported."""
    page = browser.new_page()
    log = PageLog(page, served_book)
    page.goto(f"{served_book}/search.html", wait_until="load")
    page.evaluate(
        """() => {
            const outside = document.createElement('img');
            outside.src = 'http://example.invalid/tracker.png';
            document.body.appendChild(outside);
            const missing = document.createElement('img');
            missing.src = '/_static/no-such-image.png';
            document.body.appendChild(missing);
            console.error('deliberate error');
        }"""
    )
    page.wait_for_load_state("networkidle")
    page.close()
    assert log.outside == ["http://example.invalid/tracker.png"]
    assert "deliberate error" in log.unexpected_errors()
    assert any("no-such-image.png" in f for f in log.failed)
