// The book's own script: menus at every width, the whole-book PDF and the notebook
// bundle in the download menu, figures a phone can read, and search snippets of the
// page's own text (no page chrome, raw TeX or tracebacks); the link to the other edition
// keeps the place on the page. No network, no dependencies.
"use strict";

const onReady = (fn) =>
  document.readyState === "loading" ? document.addEventListener("DOMContentLoaded", fn) : fn();

// 0. Messages. The English ones are written below; a translated edition's build gives
// their translations as window.BOOK_MESSAGES (book/_ext/editions.py, from the chrome
// catalogue book/_ext/locale/<language>/LC_MESSAGES/sphinx.po).
const MESSAGES = window.BOOK_MESSAGES || {};
const t = (english) => MESSAGES[english] ?? english;

// sphinx-copybutton (loaded before this script) knows no Japanese and falls back to its
// English tooltips; give it the page's language before it adds its buttons (on load).
if (typeof messages === "object" && typeof locale === "string" && messages.en) {
  const lang = document.documentElement.lang;
  const en = { copy: "Copy", copy_to_clipboard: "Copy to clipboard",
    copy_success: "Copied!", copy_failure: "Failed to copy" };
  if (lang && !messages[lang] && t("Copy") !== "Copy") {
    messages[lang] = Object.fromEntries(Object.entries(en).map(([k, v]) => [k, t(v)]));
    locale = lang; // copybutton.js's own global
  }
}

// 1. Sidebar toggles that work at every width.
// pydata-sphinx-theme 0.17.1 binds its "open the drawer" handler with
// document.querySelector(".primary-toggle") / (".secondary-toggle"): the FIRST match
// only. 0.17 added its own toggles inside the top navbar, so with sphinx-book-theme 1.3
// (which renders a second pair in the article header) the first match is the navbar's,
// hidden by the book theme's CSS, and the buttons a reader can see get no handler: the
// menus never open (pydata/pydata-sphinx-theme#2451, executablebooks/sphinx-book-theme#988).
// sphinx-book-theme's desktop "collapse the sidebar" handler has the same first-match
// bug. Rather than re-implement either handler, every other toggle forwards its click
// to the first one, so all of the themes' own behaviour (drawer on phones, collapse on
// desktop, focus return, Escape) applies to every button. Remove this once a fixed
// theme is pinned (proposed upstream fix: executablebooks/sphinx-book-theme#991).
onReady(() => {
  for (const selector of [".primary-toggle", ".secondary-toggle"]) {
    const [bound, ...others] = document.querySelectorAll(selector);
    for (const button of others) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        bound.click();
      });
    }
  }
});

// 2. The ".pdf" download button offers the whole-book PDF when the build found one
// (`make pdf`, then the HTML build copies book.pdf next to index.html); otherwise it
// keeps the theme's print-this-page behaviour.
onReady(() => {
  if (!window.DROPOUT_BOOK_PDF) return;
  const root = document.documentElement.dataset.content_root || "";
  for (const button of document.querySelectorAll(".btn-download-pdf-button")) {
    const link = document.createElement("a");
    link.className = button.className;
    link.href = root + window.DROPOUT_BOOK_PDF;
    link.title = t("Download the whole book as a PDF");
    link.setAttribute("download", "dropout-verified.pdf");
    link.innerHTML = button.innerHTML;
    link.querySelector(".btn__text-container").textContent = t(".pdf (whole book)");
    button.replaceWith(link);
  }
});

// 2b. Every page's download menu also offers the notebook bundle that the build writes
// next to index.html (book/_ext/bundle.py): all chapters, dropmini's wheel, the set-up.
onReady(() => {
  const root = document.documentElement.dataset.content_root || "";
  for (const menu of document.querySelectorAll(".dropdown-download-buttons .dropdown-menu")) {
    const source = menu.querySelector("a.btn-download-source-button");
    if (!source) continue;
    const item = source.closest("li").cloneNode(true);
    const link = item.querySelector("a");
    link.href = root + "dropout-verified-notebooks.zip";
    link.removeAttribute("target");
    link.setAttribute("download", "");
    link.classList.replace("btn-download-source-button", "btn-download-bundle-button");
    link.title = t("All notebooks, dropmini and the exact set-up, in one zip");
    link.querySelector(".btn__text-container").textContent = t("all notebooks (.zip)");
    const icon = link.querySelector(".btn__icon-container i");
    if (icon) icon.className = "fas fa-file-zipper";
    menu.append(item);
  }
});

// 3. Figures: tap or click (or Enter) to see one at full size in a scrollable dialog.
onReady(() => {
  const images = document.querySelectorAll("figure img, .cell_output img");
  if (!images.length) return;
  const dialog = document.createElement("dialog");
  dialog.className = "figure-zoom";
  dialog.setAttribute("aria-label", t("Enlarged figure"));
  const big = document.createElement("img");
  const close = document.createElement("button");
  close.type = "button";
  close.className = "figure-zoom__close";
  close.textContent = t("Close");
  dialog.append(close); // the image joins on first use: an <img> without src counts as broken
  document.body.append(dialog);
  close.addEventListener("click", () => dialog.close());
  big.addEventListener("click", () => dialog.close());
  for (const img of images) {
    img.classList.add("zoomable");
    img.tabIndex = 0;
    img.setAttribute("role", "button");
    img.title = t("Enlarge the figure");
    const open = () => {
      big.src = img.currentSrc || img.src;
      big.alt = img.alt;
      if (!big.isConnected) dialog.append(big);
      dialog.showModal();
    };
    img.addEventListener("click", open);
    img.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        open();
      }
    });
  }
});

// 4. Search snippets: Sphinx cuts the snippet from the text of the page's whole main
// region ([role="main"]), which with sphinx-book-theme also holds the header's download
// buttons (".pdf", ".ipynb"), the print-only and the sidebar's table of contents
// ("Contents", 「目次」), the previous/next links and the footer; it keeps the HTML's
// runs of blank lines, which can fill the 240 characters it shows; and it shows TeX
// source such as \(1/(1-p)\) and traceback lines. Here the text is the article alone,
// without tracebacks, with math written as plain text and white space collapsed. The
// snippet starts near the whole query where the page has it (逆ドロップアウト, not only
// its piece ドロップアウト), else near the first search word found, else at the top.
const TEX_SYMBOLS = {
  alpha: "α", beta: "β", sigma: "σ", mu: "μ", lambda: "λ", epsilon: "ε", theta: "θ",
  cdot: "·", times: "×", le: "≤", leq: "≤", ge: "≥", geq: "≥", approx: "≈", neq: "≠",
  sim: "~", infty: "∞", partial: "∂", sum: "Σ", ldots: "…", dots: "…", to: "→",
};

const texToText = (tex) =>
  tex
    .replace(/^\s*(\\\(|\\\[|\$\$?)|(\\\)|\\\]|\$\$?)\s*$/g, "")
    .replace(/\\frac\{([^{}]*)\}\{([^{}]*)\}/g, "($1)/($2)")
    .replace(/\\(?:mathbb|mathrm|mathbf|operatorname|text|texttt)\{([^{}]*)\}/g, "$1")
    .replace(/\\([A-Za-z]+)/g, (m, name) => TEX_SYMBOLS[name] ?? "")
    .replace(/\\[,;:! ]/g, " ")
    .replace(/[{}]/g, "")
    .replace(/\s+/g, " ")
    .trim();

const SNIPPET_LENGTH = 240;
const SNIPPET_BEFORE = 80; // characters shown before the match

onReady(() => {
  if (typeof Search === "undefined" || !Search.htmlToText) return;
  const original = Search.htmlToText;
  Search.htmlToText = (htmlString, anchor) => {
    const doc = new DOMParser().parseFromString(htmlString, "text/html");
    const main = doc.querySelector('[role="main"]');
    const article = main && main.querySelector("article");
    if (article) main.replaceChildren(article); // only the page's own text
    doc.querySelectorAll(".traceback, .output.error").forEach((el) => el.remove());
    doc.querySelectorAll(".math").forEach((el) => {
      el.textContent = ` ${texToText(el.textContent)} `;
    });
    return original(doc.documentElement.outerHTML, anchor).replace(/\s+/g, " ").trim();
  };
  Search.makeSearchSummary = (htmlText, keywords, anchor) => {
    const text = Search.htmlToText(htmlText, anchor);
    if (text === "") return null;
    const lower = text.toLowerCase();
    const query = (new URLSearchParams(window.location.search).get("q") || "")
      .toLowerCase().trim();
    const phrases = [query, query.replace(/\s+/g, "")].filter((p) => p.length > 1);
    const words = [...keywords].map((k) => k.toLowerCase());
    const found = (list) => list.map((w) => lower.indexOf(w)).filter((i) => i > -1);
    const at = found(phrases)[0] ?? Math.min(...found(words), text.length);
    let start = at < text.length ? Math.max(at - SNIPPET_BEFORE, 0) : 0;
    const space = text.indexOf(" ", start); // start at a word, where there are spaces
    if (start > 0 && space > -1 && space < at) start = space + 1;
    const summary = document.createElement("p");
    summary.classList.add("context");
    summary.textContent = (start > 0 ? "..." : "") + text.substr(start, SNIPPET_LENGTH).trim()
      + (start + SNIPPET_LENGTH < text.length ? "..." : "");
    return summary;
  };
});

// 5. The link to the other edition (book/_templates/edition-switch.html) leads to the
// same place: the section ids are the same in both editions, so the #fragment is kept,
// and so is the query (?q= on the search page, ?highlight= after a search). Updated on
// load, on each change of the fragment and at the click itself.
onReady(() => {
  const link = document.querySelector("a.edition-switch");
  if (!link) return;
  const target = link.getAttribute("href");
  const follow = () => {
    link.setAttribute("href", target + window.location.search + window.location.hash);
  };
  follow();
  window.addEventListener("hashchange", follow);
  link.addEventListener("click", follow);
});

// 6. Labels that other extensions write from JavaScript in English: sphinx-togglebutton's
// button on collapsed admonitions (its hint text is translated, its aria-label not) and
// the icon of sphinx-copybutton's buttons (its <title>, made before the step above).
onReady(() => {
  const english = "Toggle hidden content";
  for (const el of document.querySelectorAll(`[aria-label="${english}"]`)) {
    el.setAttribute("aria-label", t(english));
  }
  for (const title of document.querySelectorAll(".copybtn svg title")) {
    title.textContent = t(title.textContent);
  }
});
