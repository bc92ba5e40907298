/* The query splitter of the Japanese edition's search (see editions.py).
 * A line-by-line port of sphinx.search.ja.DefaultSplitter.split; its tables,
 * JA_SPLITTER and JA_CTYPES, are written above this file from the Python class. */
const jaCtype = (ch) => {
  for (const [pattern, value] of JA_CTYPES) if (pattern.test(ch)) return value;
  return "O";
};
const jaScore = (table, key) => JA_SPLITTER[table][key] || 0;
const jaSegment = (input) => {
  if (!input) return [];
  const chars = Array.from(input);
  const seg = ["B3", "B2", "B1", ...chars, "E1", "E2", "E3"];
  const ctype = ["O", "O", "O", ...chars.map(jaCtype), "O", "O", "O"];
  const result = [];
  let word = seg[3];
  let [p1, p2, p3] = ["U", "U", "U"];
  for (let i = 4; i < seg.length - 3; i++) {
    const [w1, w2, w3, w4, w5, w6] = seg.slice(i - 3, i + 3);
    const [c1, c2, c3, c4, c5, c6] = ctype.slice(i - 3, i + 3);
    let score = JA_SPLITTER.BIAS__;
    score += jaScore("UP1__", p1) + jaScore("UP2__", p2) + jaScore("UP3__", p3);
    score += jaScore("BP1__", p1 + p2) + jaScore("BP2__", p2 + p3);
    score += jaScore("UW1__", w1) + jaScore("UW2__", w2) + jaScore("UW3__", w3);
    score += jaScore("UW4__", w4) + jaScore("UW5__", w5) + jaScore("UW6__", w6);
    score += jaScore("BW1__", w2 + w3) + jaScore("BW2__", w3 + w4) + jaScore("BW3__", w4 + w5);
    score += jaScore("TW1__", w1 + w2 + w3) + jaScore("TW2__", w2 + w3 + w4);
    score += jaScore("TW3__", w3 + w4 + w5) + jaScore("TW4__", w4 + w5 + w6);
    score += jaScore("UC1__", c1) + jaScore("UC2__", c2) + jaScore("UC3__", c3);
    score += jaScore("UC4__", c4) + jaScore("UC5__", c5) + jaScore("UC6__", c6);
    score += jaScore("BC1__", c2 + c3) + jaScore("BC2__", c3 + c4) + jaScore("BC3__", c4 + c5);
    score += jaScore("TC1__", c1 + c2 + c3) + jaScore("TC2__", c2 + c3 + c4);
    score += jaScore("TC3__", c3 + c4 + c5) + jaScore("TC4__", c4 + c5 + c6);
    // UQ1 twice, p3 with UQ1 included, as in the Python original
    score += jaScore("UQ1__", p1 + c1) + jaScore("UQ2__", p2 + c2) + jaScore("UQ1__", p3 + c3);
    score += jaScore("BQ1__", p2 + c2 + c3) + jaScore("BQ2__", p2 + c3 + c4);
    score += jaScore("BQ3__", p3 + c2 + c3) + jaScore("BQ4__", p3 + c3 + c4);
    score += jaScore("TQ1__", p2 + c1 + c2 + c3) + jaScore("TQ2__", p2 + c2 + c3 + c4);
    score += jaScore("TQ3__", p3 + c1 + c2 + c3) + jaScore("TQ4__", p3 + c2 + c3 + c4);
    let p = "O";
    if (score > 0) {
      result.push(word.trim());
      word = "";
      p = "B";
    }
    [p1, p2, p3] = [p2, p3, p];
    word += seg[i];
  }
  result.push(word.trim());
  return result;
};
// Words of one character are dropped, as SearchJapanese.word_filter drops them from
// the index (a required term the index cannot hold would make every search fail).
var splitQuery = (query) => query
  .split(/[^\p{Letter}\p{Number}_\p{Emoji_Presentation}]+/gu)
  .flatMap(jaSegment)
  .filter((term) => term.length > 1);
