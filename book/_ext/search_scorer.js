// Search scorer for the book (Sphinx's html_search_scorer; set by book/_ext/book_fixes.py).
// Sphinx ranks a page by its best single-word match, so "inplace" put the in-place chapter
// (title "In-place dropout": words "place", "dropout") behind every page that uses the
// argument `inplace` in its text. Here a result whose page title, with case, spaces and
// hyphens removed, contains every query word (also normalised, 4 letters or more) gets a
// large bonus that grows with the share of the title the query covers, and a whole-page
// hit ranks above a section of the same page. API objects (results with a description,
// such as "Python module, in API reference") get no bonus, so a chapter titled
// "Gradients through dropout" ranks above the module dropmini.lab.gradients.
var Scorer = {
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: { 0: 15, 1: 5, 2: -5 },
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,

  score: (result) => {
    const [, title, anchor, descr, score] = result;
    if (descr) return score; // an API object, not a page or section
    const squash = (s) => String(s || "").toLowerCase().replace(/[^a-z0-9]+/g, "");
    const query = new URLSearchParams(window.location.search).get("q") || "";
    const words = query.split(/\s+/).map(squash).filter((w) => w.length >= 4);
    const pageTitle = squash(String(title || "").split(" > ")[0]);
    if (words.length && words.every((w) => pageTitle.includes(w))) {
      // The more of the title the query covers, the higher: "inplace" ranks
      // "In-place dropout" (7 of 14 letters) above "The arguments p and inplace".
      const covered = words.reduce((n, w) => n + w.length, 0) / pageTitle.length;
      return score + Math.round(1000 * covered) + (anchor ? 0 : 10);
    }
    return score;
  },
};
