"""The Japanese twin of a figure: the same figure with its words in Japanese.

The Japanese edition shows, in place of each English figure a notebook stores, its twin
(``make figures-ja``, ``book/_ext/figures_ja.py``): every text of the figure (suptitle,
titles, axis labels, tick labels that are words, legend texts, annotations, colourbar
labels) replaced through :data:`JA` and :data:`PATTERNS`, drawn with a Japanese font and
saved with the English figure's box and dpi, so that the twin has the English PNG's
pixel size. A text with a word in it (two Latin letters in a row outside ``$...$``) and
no entry is an error that names every such text, so a new English label cannot reach
the Japanese edition untranslated. Numbers, single letters (``p``, ``x``) and the code
names in :data:`KEEP` stay as they are.

Examples
--------
>>> translate("column")
'列'
>>> translate("seed 3: 150 zeros")
'シード 3：ゼロ150個'
>>> translate("p = 0.5")
'p = 0.5'
>>> translate("an English label")
Traceback (most recent call last):
...
dropmini.lab.figlang.MissingTranslations: no Japanese for 1 figure text: 'an English label'
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import matplotlib as mpl
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.text import Text
from matplotlib.ticker import FixedFormatter
from matplotlib.transforms import Bbox

__all__ = [
    "FONT",
    "JA",
    "KEEP",
    "PATTERNS",
    "MissingTranslations",
    "japanese_font",
    "needs_translation",
    "translate",
    "translate_figure",
    "twin_png",
]

#: The Japanese font (Debian's fonts-noto-cjk). Latin letters and digits stay in the
#: English figure's DejaVu Sans; matplotlib takes the glyphs DejaVu lacks from this font.
FONT = "Noto Sans CJK JP"

#: A Japanese text that would leave the picture or run into another text is set smaller,
#: down to this fraction of its size.
SMALLEST = 0.75

#: Code names, and the names of methods that printed outputs (which stay English) use:
#: the Japanese figure uses them as they are.
KEEP = frozenset(
    {
        "AlphaDropout",
        "Dropout",
        "Dropout2d",
        "DropPath",
        "DropBlock (3×3)",
        "nn.Dropout",
        "torch",
        # ch13's benchmark names, as its printed tables spell them
        "article",
        "bool mask",
        "dropmini",
        "dropmini.dropout",
        "fused",
        "packed",
        "packed_dropout",
        "seeded",
        "seeded_dropout",
        "torch again",
        "torch dropout",
    }
)

#: Figure texts and their Japanese, with the glossary's terms (保持 for kept, ドロップ for
#: dropped, シード for seed, 訓練モード for training mode, 評価モード for evaluation mode).
JA: dict[str, str] = {
    # ch01, ch05 and the other mask figures
    "full network": "完全なネットワーク",
    "input": "入力",
    "output": "出力",
    "column": "列",
    "row": "行",
    # ch03
    "number of zeros in the output": "出力に含まれるゼロの個数",
    "fraction of runs": "実行の割合",
    # ch08
    "no dropout": "ドロップアウトなし",
    "mean": "平均",
    "variance": "分散",
    "layer": "層",
    # ch09
    "input x": "入力 x",
    "scaled mask m / (1 − p)": "スケーリング済みマスク m / (1 − p)",
    "upstream gradient ∂L/∂y": "上流の勾配 ∂L/∂y",
    "gradient ∂L/∂x": "勾配 ∂L/∂x",
    "element index": "要素のインデックス",
    # ch10
    "epoch": "エポック",
    "cross-entropy loss": "交差エントロピー損失",
    "cross-entropy loss (eval mode)": "交差エントロピー損失（評価モード）",
    "training set, train mode": "訓練画像、訓練モード",
    "training set, eval mode": "訓練画像、評価モード",
    "validation set, eval mode": "検証画像、評価モード",
    "drop probability p": "ドロップアウト確率 p",
    "validation images correct\nbeyond p = 0 (same seed)": (
        "正しく分類された検証画像の\np = 0 からの増加（同じシード）"
    ),
    "logistic regression (median)": "ロジスティック回帰（中央値）",
    # ch11
    "training range": "訓練データの範囲",
    "mean ± 2σ": "平均 ± 2σ",
    "predictive mean": "予測平均",
    "true function": "真の関数",
    "training data": "訓練データ",
    # ch12
    "retention probability (the 2014 paper’s p)": "保持確率（2014年の論文の p）",
    "nn.Dropout(p): drop probability": "nn.Dropout(p)：ドロップアウト確率",
    "hidden units": "隠れユニット",
    "inputs": "入力",
    # ch13
    "elements (float32)": "要素数（float32）",
    "bytes kept for backward": "逆伝播のために保持するバイト数",
    "8 KiB": "8 KiB",
    "time / torch's time": "時間 / torch の時間",
    "within the resolution": "分解能の範囲内",
    "bytes kept for backward (log scale)": "逆伝播のために保持するバイト数（対数目盛）",
    "forward + backward (ms)": "順伝播 + 逆伝播（ms）",
    # ch14
    "element (order of drawing)": "要素（抽出の順）",
    "u = low 53 bits / 2**53": "u = 下位53ビット / 2**53",
    "u < q: kept": "u < q：保持",
    "u ≥ q: dropped": "u ≥ q：ドロップ",
    # ch15
    "number of dropout samples averaged": "平均したドロップアウトのサンプル数",
    "first output, running mean": "最初の出力の累積平均",
    "output, running mean": "出力の累積平均",
    "inverted (PyTorch), training": "逆ドロップアウト（PyTorch）、訓練時",
    "original (2014), training": "オリジナル（2014）、訓練時",
    "inverted, test time: W x + b": "逆ドロップアウト、テスト時：W x + b",
    "original, test time: (1-p) W x + b": "オリジナル、テスト時：(1-p) W x + b",
    "training outputs (inverted dropout)": "訓練時の出力（逆ドロップアウト）",
    "test-time output": "テスト時の出力",
    # ch16
    "prediction before the dropout": "ドロップアウトの前の予測値",
    "expected squared error": "二乗誤差の期待値",
    "no dropout on the output": "出力にドロップアウトなし",
    # ch17
    "key position": "キーの位置",
    "query position": "クエリの位置",
    "softmax weights": "ソフトマックスの重み",
    "after dropout": "ドロップアウト後",
    "weight": "重み",
    # ch18
    "running var / eval-time var": "running_var / 評価時の分散",
    "What BatchNorm stores vs what it sees at eval": "BatchNorm が保存する分散と評価時に見る分散",
    "N(0,1) input, formula": "N(0,1) の入力、式",
    "N(0,1) input, measured": "N(0,1) の入力、測定値",
    "ReLU(N(0,1)) input, formula": "ReLU(N(0,1)) の入力、式",
    "ReLU(N(0,1)) input, measured": "ReLU(N(0,1)) の入力、測定値",
    "BatchNorm layer": "BatchNorm 層",
    "variance (training: 1)": "分散（訓練時は 1）",
    "BatchNorm output variance, eval mode": "BatchNorm の出力の分散（評価モード）",
    "dropout before each BN": "各 BN の前にドロップアウト",
    "BN re-estimated, dropout off": "ドロップアウトを切って BN を再推定",
    "dropout after last BN only": "最後の BN の後にだけドロップアウト",
    # ch19
    "time step": "時間ステップ",
    "nn.LSTM(num_layers=2, dropout=p): dashed = dropped": (
        "nn.LSTM(num_layers=2, dropout=p)：破線 = ドロップ"
    ),
    "hidden unit (blue = kept)": "隠れユニット（青 = 保持）",
    "nn.LSTM between layers": "nn.LSTM の層間",
    "locked (variational)": "固定（変分）",
    # ch20
    "sample": "サンプル",
    "dropout": "ドロップアウト",
    "channel dropout": "チャネル単位のドロップアウト",
    "kept": "保持",
    "dropped": "ドロップ",
    # ch22
    "training set, as logged (train mode)": "訓練画像、ループの記録（訓練モード）",
    # ch23
    "element of the mask (blue = kept, grey = dropped)": (
        "マスクの要素（青 = 保持、灰色 = ドロップ）"
    ),
    # ch24
    "eager nn.Dropout(0.2)": "eager モードの nn.Dropout(0.2)",
    "torch.compile: Philox": "torch.compile：Philox",
    "torch.compile, fallback_random=True": "torch.compile、fallback_random=True",
}

#: Texts with numbers or names in them. Each entry is a pattern that must match the whole
#: text, and its Japanese (``re`` replacement syntax, ``\1`` for the first group, or a
#: function of the match).
PATTERNS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"seed (\d+)"), r"シード \1"),
    (re.compile(r"seed (\d+): (\d+) zeros"), r"シード \1：ゼロ\2個"),
    (re.compile(r"hidden (\d+)"), r"隠れ層 \1"),
    (re.compile(r"channel (\d+)"), r"チャネル \1"),
    (
        re.compile(r"dropout, p = ([\d.]+), on a (\d+) × (\d+) tensor"),
        r"\2 × \3 のテンソルにドロップアウト（p = \1）",
    ),
    (re.compile(r"Binomial\((\d+), ([\d.]+)\)"), r"二項分布 Binomial(\1, \2)"),
    (re.compile(r"observed \((\d+) runs\)"), r"観測値（\1回の実行）"),
    (re.compile(r"p = ([\d.]+): training"), r"p = \1：訓練"),
    (re.compile(r"p = ([\d.]+): validation"), r"p = \1：検証"),
    (re.compile(r"p = ([\d.]+), seed (\d+)"), r"p = \1、シード \2"),
    (re.compile(r"exact mean over the (\d+) masks"), r"\1通りのマスクにわたる厳密な平均"),
    (re.compile(r"dropout \(p = ([\d.]+)\) on the output"), r"出力にドロップアウト（p = \1）"),
    (re.compile(r"target = ([\d.]+)"), r"目標値 = \1"),
    (re.compile(r"\(1 - p\) · target = ([\d.]+)"), r"(1 - p) · 目標値 = \1"),
    (re.compile(r"layer (\d+)"), r"層 \1"),
    (re.compile(r"ch (\d+)"), r"チャネル \1"),
    (re.compile(r"rank (\d+)"), r"ランク \1"),
    (re.compile(r"(.+)\n(\d+)% dropped"), lambda m: f"{translate(m[1])}\n{m[2]}% をドロップ"),
    (re.compile(r"same seed: seeds (\d+) and (\d+)"), r"同じシード：シード \1 と \2"),
    (re.compile(r"seed \+ rank: seeds (\d+) and (\d+)"), r"シード + ランク：シード \1 と \2"),
    (
        re.compile(
            r"seed (\d+) → state words (.+), …\n"
            r"element (\d+) draws a = (\w+), b = (\w+)\n"
            r"→ u = ([\d.]+) → u < ([\d.]+)\? (kept|dropped)"
        ),
        lambda m: (
            f"シード {m[1]} → 状態のワード {m[2]}、…\n"
            f"要素 {m[3]} の乱数 a = {m[4]}、b = {m[5]}\n"
            f"→ u = {m[6]} → u < {m[7]}？ {translate(m[8])}"
        ),
    ),
]

_KANA_KANJI = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")
_MATH = re.compile(r"\$[^$]*\$")
_WORD = re.compile(r"[A-Za-z]{2}")


class MissingTranslations(LookupError):
    """Figure texts with words and no Japanese in :data:`JA` or :data:`PATTERNS`.

    Examples
    --------
    >>> print(MissingTranslations(["loss", "accuracy", "loss"]))
    no Japanese for 2 figure texts: 'accuracy', 'loss'
    """

    def __init__(self, texts: Iterable[str]) -> None:
        self.texts = sorted(set(texts))
        listed = ", ".join(repr(t) for t in self.texts)
        plural = "" if len(self.texts) == 1 else "s"
        super().__init__(f"no Japanese for {len(self.texts)} figure text{plural}: {listed}")


def needs_translation(text: str) -> bool:
    """Whether ``text`` has a word: two Latin letters in a row outside ``$...$`` math.

    Examples
    --------
    >>> needs_translation("0.25"), needs_translation("$10^{-2}$"), needs_translation("p = 0.2")
    (False, False, False)
    >>> needs_translation("kept")
    True
    """
    return bool(_WORD.search(_MATH.sub("", text)))


def translate(text: str) -> str:
    """The Japanese of one figure text; raise :class:`MissingTranslations` if there is none.

    Examples
    --------
    >>> translate("row"), translate("Dropout2d"), translate("1.0")
    ('行', 'Dropout2d', '1.0')
    """
    if text in JA:
        return JA[text]
    if text in KEEP or not needs_translation(text):
        return text
    for pattern, japanese in PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            return japanese(match) if callable(japanese) else match.expand(japanese)
    raise MissingTranslations([text])


def _tick_texts(fig: Figure) -> set[int]:
    ids = set()
    for axis in fig.findobj(Axis):
        for tick in axis.get_major_ticks() + axis.get_minor_ticks():
            ids.update({id(tick.label1), id(tick.label2)})
        ids.add(id(axis.offsetText))
    return ids


def _tick_labels(axis: Axis, minor: bool) -> list[str]:
    formatter = axis.get_minor_formatter() if minor else axis.get_major_formatter()
    if isinstance(formatter, FixedFormatter):
        return list(formatter.seq)
    return [t.get_text() for t in axis.get_ticklabels(minor=minor)]


def _translate_ticks(axis: Axis) -> None:
    """Translate the tick labels of ``axis`` that are words; leave numbers to the formatter."""
    for minor in (False, True):
        formatter = axis.get_minor_formatter() if minor else axis.get_major_formatter()
        labels = _tick_labels(axis, minor)
        japanese = [translate(label) for label in labels]
        if japanese == labels:
            continue  # numbers (or kept names): the formatter draws them again at every draw
        if isinstance(formatter, FixedFormatter):
            formatter.seq = japanese
        else:  # words from another formatter: fix the ticks where they are
            locations = axis.get_minorticklocs() if minor else axis.get_majorticklocs()
            axis.set_ticks(locations, japanese, minor=minor)


def translate_figure(fig: Figure) -> dict[int, float]:
    """Replace every text of ``fig`` by its Japanese, in place.

    Returns, for each visible text replaced, ``id(text)`` and the width in pixels of its
    English, for :func:`twin_png` to fit the Japanese into. Raises
    :class:`MissingTranslations`, naming every text without an entry, before changing
    anything.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.set_xlabel("column"), ax.set_title("seed 0: 3 zeros")
    >>> _ = translate_figure(fig)
    >>> ax.get_xlabel(), ax.get_title()
    ('列', 'シード 0：ゼロ3個')
    >>> plt.close(fig)
    """
    fig.canvas.draw()  # tick labels exist only once drawn
    renderer = fig.canvas.get_renderer()
    ticks = _tick_texts(fig)
    texts = [t for t in fig.findobj(Text) if id(t) not in ticks and t.get_text()]
    strings = [t.get_text() for t in texts]
    for axis in fig.findobj(Axis):
        strings += _tick_labels(axis, False) + _tick_labels(axis, True)
    missing = []
    for string in strings:
        try:
            translate(string)
        except MissingTranslations as error:
            missing += error.texts
    if missing:
        raise MissingTranslations(missing)
    widths = {}
    for text in texts:
        japanese = translate(text.get_text())
        if japanese != text.get_text():
            if text.get_visible():
                widths[id(text)] = text.get_window_extent(renderer).width
            text.set_text(japanese)
    for axis in fig.findobj(Axis):
        _translate_ticks(axis)
    return widths


def _boxes(fig: Figure) -> dict[int, tuple[Text, Bbox]]:
    """The box in pixels of every text the last draw drew."""
    renderer = fig.canvas.get_renderer()
    ticks, drawn = _tick_texts(fig), set()
    for axis in fig.findobj(Axis):
        for tick in axis._update_ticks():  # the ticks in view, the ones drawn
            drawn.update({id(tick.label1), id(tick.label2)})
    return {
        id(t): (t, t.get_window_extent(renderer))
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text() and (id(t) not in ticks or id(t) in drawn)
    }


def _overlap(a: Bbox, b: Bbox, gap: float = 5.0) -> bool:
    """Whether two boxes in pixels overlap or come closer than ``gap``."""
    return a.x0 - gap < b.x1 and b.x0 - gap < a.x1 and a.y0 - gap < b.y1 and b.y0 - gap < a.y1


def _within(a: Bbox, b: Bbox) -> bool:
    return b.x0 - 1 <= a.x0 and a.x1 <= b.x1 + 1 and b.y0 - 1 <= a.y0 and a.y1 <= b.y1 + 1


def _groups(fig: Figure) -> dict[int, list]:
    """Texts that change size together: the tick labels of an axis, the texts of a legend."""
    groups: dict[int, list] = {}
    for axis in fig.findobj(Axis):
        for which, ticks in (("major", axis.get_major_ticks()), ("minor", axis.get_minor_ticks())):
            for tick in ticks:
                for label in (tick.label1, tick.label2):
                    groups[id(label)] = ["ticks", axis, which]
    for legend in fig.findobj(Legend):
        for text in [*legend.texts, legend.get_title()]:
            groups[id(text)] = ["legend", legend]
    return groups


def _fit(fig: Figure, box: Bbox, english: dict[int, Bbox], overlaps: set) -> list[str]:
    """Set Japanese texts that leave the picture or run into another text smaller.

    ``box`` is the picture in pixels, ``english`` each text's box in English and
    ``overlaps`` the pairs of texts that overlap there already. A text placed inside an
    axes (an annotation) is also kept within its English width, so as not to cover the
    data. Each text shrinks, with the tick labels of its axis or the texts of its legend,
    down to :data:`SMALLEST` of its size. Returns what still does not fit.
    """
    sizes: dict[tuple, float] = {}
    inside_axes = {id(t) for ax in fig.findobj(Axes) for t in ax.texts}
    problems: list[str] = []
    for _ in range(12):  # constrained layout moves the texts after each change
        fig.canvas.draw()
        boxes, groups = _boxes(fig), _groups(fig)
        japanese = {k for k, (t, _) in boxes.items() if _KANA_KANJI.search(t.get_text())}
        culprits, problems = {}, []
        tight = fig.get_tightbbox(fig.canvas.get_renderer()).transformed(fig.dpi_scale_trans)
        outside = [t.get_text() for t, extent in boxes.values() if not _within(extent, box)]
        outside = outside or ([] if _within(tight, box) else ["the figure"])
        for key in japanese:
            text, extent = boxes[key]
            grown = key in english and (
                extent.width > english[key].width + 1 or extent.height > english[key].height + 1
            )
            if outside and grown:  # a larger text moved the layout: something is cut off
                culprits[key] = f"{outside[0]!r} leaves the picture"
            elif key in inside_axes and key in english and extent.width > english[key].width + 1:
                culprits[key] = f"{text.get_text()!r} is wider than its English"
            for other, (text2, extent2) in boxes.items():
                if other != key and (key, other) not in overlaps and _overlap(extent, extent2):
                    culprits[key] = f"{text.get_text()!r} runs into {text2.get_text()!r}"
        changed, done = False, set()
        for key, problem in culprits.items():
            text = boxes[key][0]
            kind, *owner = groups.get(key, ["text", text])
            group = (kind, id(owner[0]), *owner[1:])
            if group in done:
                continue
            done.add(group)
            size = text.get_fontsize()
            new = max(SMALLEST * sizes.setdefault(group, size), size * 0.92)
            if new >= size - 0.01:
                problems.append(problem)
                continue
            changed = True
            if kind == "ticks":
                owner[0].set_tick_params(which=owner[1], labelsize=new)
            elif kind == "legend":
                for member in [*owner[0].texts, owner[0].get_title()]:
                    member.set_fontsize(new)
            else:
                text.set_fontsize(new)
        if not changed:
            break
    if outside and not culprits:
        problems.append(f"{outside[0]!r} leaves the picture")
    return problems


def japanese_font() -> str:
    """The file of :data:`FONT`, registered with matplotlib if its font cache predates it.

    Raises ``LookupError`` if the font is not installed (Debian: ``fonts-noto-cjk``).

    Examples
    --------
    >>> Path(japanese_font()).name.startswith("NotoSansCJK")
    True
    """
    try:
        return font_manager.findfont(FONT, fallback_to_default=False)
    except ValueError:
        pass
    for path in font_manager.findSystemFonts():
        if Path(path).name.startswith("NotoSansCJK"):
            font_manager.fontManager.addfont(path)
    try:
        return font_manager.findfont(FONT, fallback_to_default=False)
    except ValueError:
        message = f"{FONT} is not installed (Debian: apt-get install fonts-noto-cjk)"
        raise LookupError(message) from None


def twin_png(fig: Figure, bbox_inches: str | Bbox | None = "tight", **kwargs) -> bytes:
    r"""The PNG of ``fig`` in Japanese, with the box and dpi of its English PNG.

    ``bbox_inches`` and ``kwargs`` are what the English PNG was saved with (IPython's
    inline backend: ``bbox_inches="tight"``). The figure is changed: translate a copy.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(3, 2))
    >>> _ = ax.set_xlabel("column")
    >>> twin_png(fig)[:8]
    b'\x89PNG\r\n\x1a\n'
    >>> plt.close(fig)
    """
    save = {
        "format": "png",
        "facecolor": fig.get_facecolor(),
        "edgecolor": fig.get_edgecolor(),
        "dpi": fig.dpi,
        **kwargs,
    }
    if bbox_inches == "tight":
        fig.canvas.draw()
        pad = kwargs.get("pad_inches", mpl.rcParams["savefig.pad_inches"])
        bbox_inches = fig.get_tightbbox(fig.canvas.get_renderer()).padded(pad)
    save.pop("pad_inches", None)
    japanese_font()
    english = {k: extent for k, (_, extent) in _boxes(fig).items()}
    overlaps = {
        (a, b) for a in english for b in english if a != b and _overlap(english[a], english[b])
    }
    translate_figure(fig)
    # A list of families is a fallback chain: each glyph from the first that has it.
    with mpl.rc_context({"font.family": [*mpl.rcParams["font.family"], FONT]}):
        for text in fig.findobj(Text):
            if FONT not in text.get_fontfamily():
                text.set_fontfamily([*text.get_fontfamily(), FONT])
        picture = bbox_inches if isinstance(bbox_inches, Bbox) else fig.bbox_inches
        problems = _fit(fig, picture.transformed(fig.dpi_scale_trans), english, overlaps)
        for problem in problems:
            warnings.warn(f"Japanese figure text does not fit: {problem}", stacklevel=2)
        out = io.BytesIO()
        fig.canvas.print_figure(out, bbox_inches=bbox_inches, **save)
    return out.getvalue()
