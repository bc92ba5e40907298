// Search scorer for the book (Sphinx's html_search_scorer; set by book/_ext/book_fixes.py).
// Sphinx ranks a page by its best single-word match, so "inplace" put the in-place chapter
// (title "In-place dropout": words "place", "dropout") behind every page that uses the
// argument `inplace` in its text. Here, the first rule that applies:
// 1. a result whose page title, normalised (markup, case, spaces and punctuation removed,
//    letters of every script kept), contains every query word (also normalised; 4 letters
//    or more, or 2 characters or more in a script other than Latin) gets a large bonus that
//    grows with the share of the title the query covers; a whole-page hit ranks above a
//    section of the same page;
// 2. when no page title contains the query, the page that the build names for it in
//    window.SEARCH_TOPICS (a glossary term's Japanese name -> the page that introduces the
//    term; book/_ext/book_fixes.py) ranks first;
// 3. for a query that is a glossary term's name, the glossary (window.SEARCH_GLOSSARY);
// 4. a section whose own title contains every query word gets a smaller bonus.
// Why (Japanese edition): the index is segmented into words, and a compound such as
// 逆ドロップアウト or ドロップアウト確率 is cut into pieces (逆, one character, is not indexed
// at all) that every page contains; normalising with [^a-z0-9] also removed all Japanese.
// API objects (results with a description, such as "Python module, in API reference")
// get no bonus, so a chapter titled "Gradients through dropout" ranks above the module
// dropmini.lab.gradients.
var Scorer = {
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: { 0: 15, 1: 5, 2: -5 },
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,

  // Markup (titles such as "The arguments <code>p</code> and ...") and every character
  // that is not a letter or a digit, in any script, removed; width and case folded.
  squash: (s) =>
    String(s || "")
      .replace(/<[^>]*>/g, "")
      .normalize("NFKC")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}]+/gu, ""),

  // A query word that can name a title: 4 Latin letters, or 2 characters of Japanese
  // (whose words are short: 確率, 勾配).
  significant: (w) => w.length >= 4 || (w.length >= 2 && /[^\x00-\x7f]/.test(w)),

  // The query's words, the term's page (if no page title has the words) and the
  // glossary (if the query is a term), worked out once per query.
  _query: null,
  query: () => {
    const q = new URLSearchParams(window.location.search).get("q") || "";
    if (Scorer._query && Scorer._query.q === q) return Scorer._query;
    const words = q.split(/\s+/).map(Scorer.squash).filter(Scorer.significant);
    const titles = (typeof Search !== "undefined" && Search._index && Search._index.titles) || [];
    const anyTitle = titles.some((t) => Scorer.covers(words, Scorer.squash(t)));
    const term = (window.SEARCH_TOPICS || {})[Scorer.squash(q)];
    const topic = anyTitle ? undefined : term;
    const glossary = term ? window.SEARCH_GLOSSARY : undefined;
    Scorer._query = { q, words, topic, glossary };
    return Scorer._query;
  },

  covers: (words, title) => words.length > 0 && words.every((w) => title.includes(w)),

  // The share of the title the query covers: "inplace" ranks "In-place dropout"
  // (7 of 14 letters) above "The arguments p and inplace" (7 of 23).
  share: (words, title) => words.reduce((n, w) => n + w.length, 0) / title.length,

  score: (result) => {
    const [docname, title, anchor, descr, score] = result;
    if (descr) return score; // an API object, not a page or section
    const { words, topic, glossary } = Scorer.query();
    const [page, ...section] = String(title || "").split(" > ");
    const pageTitle = Scorer.squash(page);
    if (Scorer.covers(words, pageTitle)) {
      return score + 2000 + Math.round(1000 * Scorer.share(words, pageTitle)) + (anchor ? 0 : 10);
    }
    if (topic && docname === topic) return score + 1500 + (anchor ? 0 : 10);
    if (glossary && docname === glossary) return score + 1200;
    const sectionTitle = Scorer.squash(section.join(" "));
    if (anchor && Scorer.covers(words, sectionTitle)) {
      return score + 500 + Math.round(500 * Scorer.share(words, sectionTitle));
    }
    return score;
  },
};
