"""The Japanese edition's figures: a current Japanese twin of every stored figure.

``make figures-ja`` (book/_ext/figures_ja.py) writes the twins; dropmini.lab.figlang
translates a figure; book/_ext/editions.py puts the twins in the Japanese build.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import sys

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from helpers import ROOT  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from dropmini.lab import figlang  # noqa: E402

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import figures_ja  # noqa: E402

RUN = "run `make figures-ja` (the notebook's figures changed since its twins were made)"


def stored_images():
    """(notebook stem, 'cell-output' key, English PNG bytes) of every stored image output."""
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            for n, output in enumerate(cell.get("outputs", [])):
                png = output.get("data", {}).get("image/png")
                if png is not None:
                    png = "".join(png) if isinstance(png, list) else png
                    yield path.stem, f"{cell['id']}-{n}", base64.b64decode(png)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    return struct.unpack(">II", data[16:24])


def manifest() -> dict:
    return json.loads((ROOT / "book/locale/ja/figures/manifest.json").read_text(encoding="utf-8"))


def test_every_stored_figure_has_a_current_twin_of_the_same_pixel_size():
    entries, images = manifest(), list(stored_images())
    assert len(images) >= 20  # the notebooks store their figures as image/png outputs
    stale = []
    for stem, key, english in images:
        entry = entries.get(stem, {}).get(key)
        twin = ROOT / "book/locale/ja/figures" / stem / f"{key}.png"
        if entry is None or not twin.is_file():
            stale.append(f"{stem} {key}: no twin")
        elif entry["english_sha256"] != hashlib.sha256(english).hexdigest():
            stale.append(f"{stem} {key}: the twin is of another English PNG")
        else:
            assert png_size(twin.read_bytes()) == png_size(english), (stem, key)
            assert twin.read_bytes() != english, (stem, key)
    assert not stale, f"{RUN}:\n" + "\n".join(stale)


def test_no_twin_without_a_stored_figure():
    keys = {(stem, key) for stem, key, _ in stored_images()}
    listed = {(stem, key) for stem, entries in manifest().items() for key in entries}
    files = {(p.parent.name, p.stem) for p in (ROOT / "book/locale/ja/figures").glob("*/*.png")}
    assert listed == keys and files == keys, RUN


def test_twins_show_the_data_of_the_english_figure_unless_drawn_from_timings():
    changed = {
        (stem, key.rsplit("-", 1)[0])
        for stem, entries in manifest().items()
        for key, entry in entries.items()
        if not entry["same_data"]
    }
    allowed = {(stem, cell) for stem, cells in figures_ja.VARIES.items() for cell in cells}
    assert changed <= allowed


def test_the_japanese_font_is_installed():
    path = figlang.japanese_font()
    assert "NotoSansCJK" in path
    assert font_manager.findfont(figlang.FONT, fallback_to_default=False) == path


def test_figure_texts_use_the_term_list_renderings():
    samples = [
        "dropout\n23% dropped",
        "seed 42 → state words 0x0000002a, 0xb93c8a93, …\n"
        "element 0 draws a = 0x5fe1dc66, b = 0xcbea3db3\n→ u = 0.058154 → u < 0.8? kept",
    ]
    japanese = list(figlang.JA.values()) + [figlang.translate(s) for s in samples]
    japanese += [t for _, t in figlang.PATTERNS if isinstance(t, str)]
    rows = (ROOT / "book/locale/ja/terms.tsv").read_text(encoding="utf-8").splitlines()
    found = []
    for row in rows:
        fields = row.split("\t")
        if row.startswith("#") or len(fields) < 3:
            continue
        for variant in filter(None, fields[2].split("|")):
            found += [(variant, text) for text in japanese if variant in text]
    assert not found, f"forbidden variants (book/locale/ja/terms.tsv) in figure texts: {found}"


def planted_figure():
    fig, (left, right) = plt.subplots(1, 2, figsize=(6, 3), layout="constrained")
    fig.suptitle("full network")
    left.plot([0, 1], [0, 1], label="training data")
    left.plot([0, 1], [1, 0], label="true function")
    left.legend()
    left.set_title("seed 3: 150 zeros")
    left.set_xlabel("epoch")
    left.set_ylabel("variance")
    right.set_xticks([0, 1], ["input", "output"])
    right.set_xlabel("p = 0.5")
    right.annotate("mean", (0.5, 0.5))
    return fig, left, right


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # drawn without FONT here
def test_translate_figure_translates_every_word_and_keeps_numbers():
    fig, left, right = planted_figure()
    figlang.translate_figure(fig)
    assert fig.get_suptitle() == "完全なネットワーク"
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["訓練データ", "真の関数"]
    assert left.get_title() == "シード 3：ゼロ150個"
    assert (left.get_xlabel(), left.get_ylabel()) == ("エポック", "分散")
    fig.canvas.draw()  # tick labels are drawn again: the Japanese must survive a draw
    assert [t.get_text() for t in right.get_xticklabels()] == ["入力", "出力"]
    assert right.get_xlabel() == "p = 0.5"
    assert right.texts[0].get_text() == "平均"
    assert all(re.fullmatch(r"[−\d.]+", t.get_text()) for t in left.get_yticklabels())
    plt.close(fig)


def test_a_text_without_japanese_is_refused_by_name_and_nothing_changes():
    fig, left, right = planted_figure()
    left.set_xlabel("a label nobody translated")
    right.set_xticks([0, 1], ["input", "another new label"])
    with pytest.raises(figlang.MissingTranslations) as error:
        figlang.translate_figure(fig)
    assert error.value.texts == ["a label nobody translated", "another new label"]
    assert "a label nobody translated" in str(error.value)
    assert left.get_title() == "seed 3: 150 zeros"
    plt.close(fig)


@pytest.mark.slow  # renders a figure twice
def test_twin_png_has_the_english_size_and_dpi_and_japanese_glyphs():
    import io

    fig, _, _ = planted_figure()
    english = io.BytesIO()
    fig.savefig(english, format="png", bbox_inches="tight")
    twin = figlang.twin_png(fig, "tight")
    assert png_size(twin) == png_size(english.getvalue())
    assert twin != english.getvalue()
    assert any(figlang.FONT in t.get_fontfamily() for t in fig.texts)
    plt.close(fig)


def notebook_with(png: bytes) -> str:
    output = {"output_type": "display_data", "metadata": {}, "data": {}}
    output["data"]["image/png"] = base64.b64encode(png).decode()
    cell = {"cell_type": "code", "id": "c1", "metadata": {}, "source": "", "outputs": [output]}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def test_swap_images_puts_the_twin_in_place_only_for_the_png_it_twins(tmp_path, monkeypatch):
    english, twin = b"\x89PNG english", b"\x89PNG japanese"
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "c1-0.png").write_bytes(twin)
    entry = {"english_sha256": hashlib.sha256(english).hexdigest(), "same_data": True}
    (tmp_path / "manifest.json").write_text(json.dumps({"nb": {"c1-0": entry}}))
    monkeypatch.setattr(figures_ja, "FIGURES", tmp_path)
    monkeypatch.setattr(figures_ja, "MANIFEST", tmp_path / "manifest.json")

    text, used, problems = figures_ja.swap_images(notebook_with(english), "nb")
    data = json.loads(text)["cells"][0]["outputs"][0]["data"]["image/png"]
    assert base64.b64decode(data) == twin and not problems and used

    text, used, problems = figures_ja.swap_images(notebook_with(b"\x89PNG re-run"), "nb")
    data = json.loads(text)["cells"][0]["outputs"][0]["data"]["image/png"]
    assert base64.b64decode(data) == b"\x89PNG re-run" and not used
    assert problems and "make figures-ja" in problems[0]


@pytest.mark.book
def test_the_japanese_page_shows_the_twin_and_the_english_page_the_english(built_book):
    html, _ = built_book
    stem, key = "05_two_dimensional", "ch05-11-0"
    english = next(png for s, k, png in stored_images() if (s, k) == (stem, key))
    twin = (ROOT / "book/locale/ja/figures" / stem / f"{key}.png").read_bytes()
    for edition, expected in (("", english), ("ja/", twin)):
        page = (html / edition / "notebooks" / f"{stem}.html").read_text(encoding="utf-8")
        images = re.findall(r'<img[^>]+src="([^"]+\.png)"', page)
        found = [(html / edition / "notebooks" / src).read_bytes() for src in images]
        assert expected in found, edition
