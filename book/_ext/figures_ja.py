"""The Japanese edition's figures: a Japanese twin of every figure the notebooks store.

``make figures-ja`` (``python book/_ext/figures_ja.py``) executes a copy of each notebook
that stores an image (the notebooks themselves are only read) in a fresh kernel whose
IPython figure formatter also keeps, for every PNG it renders, the figure itself (pickled,
with the matplotlib settings of that moment) under the PNG's sha256. Back in this process,
each figure is rendered again in English, which must give the PNG the notebook stores,
then translated by :mod:`dropmini.lab.figlang` and rendered with the same box and dpi.
The twins go to ``book/locale/ja/figures/<notebook>/<cell id>-<output>.png``, with
``manifest.json`` recording for each the sha256 of the English PNG it twins.

A figure whose English PNG does not come out again (a benchmark's timings) gets a twin of
this run's data, marked ``"same_data": false`` in the manifest; ``VARIES`` lists the
figures for which that is expected. ``figures_ja.py --in-place 13_performance`` instead
re-executes the notebook itself (written back as ``jupyter execute --inplace`` writes it)
and twins the figures of that one run. Figures already collected (a kept figure for the
stored PNG's hash in ``_build/figures-ja``) are not executed again: after a translation
change, ``make figures-ja`` only renders.

As a Sphinx helper (:func:`swap_images`, called by ``editions.py`` in the Japanese build)
it puts the twins in place of the English PNGs when a notebook is read, after checking
that the English PNG is the one the twin was made from.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
FIGURES = ROOT / "book" / "locale" / "ja" / "figures"
MANIFEST = FIGURES / "manifest.json"
CACHE = ROOT / "_build" / "figures-ja"

#: Figures drawn from timings: executed again they show another run's numbers, so their
#: twins cannot show the data of the stored English figure (notebook -> cell ids).
VARIES = {"13_performance": {"8fb77379", "c13-frontier-figure"}}

#: Run in the kernel before the first cell (``IPKernelApp.exec_lines``: no cell, no
#: execution count). Wraps IPython's ``print_figure``, which the inline backend's PNG
#: formatter calls for every figure a cell displays, to keep each figure it renders.
KERNEL_HOOK = r"""
def _figures_ja_hook():
    import hashlib, os, pickle
    from binascii import a2b_base64
    import IPython.core.pylabtools as pylabtools
    original = pylabtools.print_figure
    folder = os.environ["FIGURES_JA_CACHE"]

    def print_figure(fig, fmt="png", bbox_inches="tight", base64=False, **kwargs):
        import matplotlib as mpl
        # Kept as the PNG starts from: a second draw of a constrained layout can differ.
        kept = {"rc": dict(mpl.rcParams), "bbox_inches": bbox_inches, "kwargs": kwargs}
        try:
            kept["figure"] = pickle.dumps(fig)
        except Exception as error:
            kept["error"] = f"{type(error).__name__}: {error}"
        data = original(fig, fmt, bbox_inches, base64, **kwargs)
        if fmt == "png" and data:
            raw = a2b_base64(data) if base64 else data
            digest = hashlib.sha256(raw).hexdigest()
            with open(os.path.join(folder, digest + ".pickle"), "wb") as file:
                pickle.dump(kept, file)
        return data

    pylabtools.print_figure = print_figure

_figures_ja_hook()
del _figures_ja_hook
"""


def png_outputs(notebook: dict):
    """``(cell id, output index, PNG bytes)`` of each stored image output, in order."""
    for cell in notebook["cells"]:
        for n, output in enumerate(cell.get("outputs", [])):
            data = output.get("data", {})
            if "image/png" in data:
                png = data["image/png"]
                png = "".join(png) if isinstance(png, list) else png
                yield cell["id"], n, base64.b64decode(png)


def sha256(data: bytes) -> str:
    """The hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def execute(path: Path, timeout: int = 3600) -> dict:
    """Execute a copy of the notebook at ``path`` with the kernel hook; return the copy."""
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    hook = "exec(" + repr(KERNEL_HOOK) + ")"
    client = nbclient.NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        extra_arguments=[f"--IPKernelApp.exec_lines={json.dumps([hook])}"],
    )
    client.execute()
    return notebook


def collect(paths: list[Path], force: bool = False, in_place: bool = False) -> None:
    """Execute the notebooks whose stored figures are not all kept in ``CACHE`` yet.

    ``in_place`` (``--in-place``, with ``--force`` implied) writes each executed copy back
    over its notebook, as ``jupyter execute --inplace`` would: the way to re-execute a
    notebook whose figures show timings (``VARIES``) so that its English and Japanese
    figures come from one run. Check it with nbval afterwards, as after any execution.
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    os.environ["FIGURES_JA_CACHE"] = str(CACHE)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    for path in paths:
        stored = {f"{c}-{n}": sha256(png) for c, n, png in png_outputs(read(path))}
        if not stored or (not (force or in_place) and kept_run(path.stem, stored) is not None):
            continue
        start = time.monotonic()
        what = path.name if in_place else f"a copy of {path.name}"
        print(f"executing {what} ({len(stored)} figures)", flush=True)
        executed = execute(path)
        ran = {f"{c}-{n}": sha256(png) for c, n, png in png_outputs(executed)}
        if in_place:
            import nbformat

            nbformat.write(executed, path)
            stored = ran
        record = {"stored": stored, "ran": ran}
        (CACHE / f"{path.stem}.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
        print(f"  {time.monotonic() - start:.0f} s", flush=True)


def read(path: Path) -> dict:
    """The notebook at ``path``, as JSON."""
    return json.loads(path.read_text(encoding="utf-8"))


def kept_run(stem: str, stored: dict[str, str]) -> dict[str, str] | None:
    """Hash of the PNG the executed copy drew for each stored figure, if every one is kept.

    None if the notebook was not executed since its figures were last stored, or a kept
    figure is missing.
    """
    path = CACHE / f"{stem}.json"
    record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    ran = record.get("ran", {})
    if record.get("stored") != stored or set(ran) != set(stored):
        return None
    if not all((CACHE / f"{digest}.pickle").is_file() for digest in ran.values()):
        return None
    return ran


def swap_images(text: str, stem: str) -> tuple[str, list[Path], list[str]]:
    """The notebook ``text`` with the Japanese twins in place of its English PNGs.

    Returns the new text, the twin files used and the problems: an image output with no
    twin, or whose PNG is not the one its twin was made from (the notebook was executed
    again after ``make figures-ja``); such an output keeps its English PNG.
    """
    entries = json.loads(MANIFEST.read_text(encoding="utf-8")).get(stem, {})
    notebook = json.loads(text)
    used, problems = [], []
    for cell in notebook["cells"]:
        for n, output in enumerate(cell.get("outputs", [])):
            data = output.get("data", {})
            if "image/png" not in data:
                continue
            key = f"{cell['id']}-{n}"
            png = data["image/png"]
            png = "".join(png) if isinstance(png, list) else png
            entry, twin = entries.get(key), FIGURES / stem / f"{key}.png"
            if entry is None or not twin.is_file():
                problems.append(f"cell {key} has no Japanese figure: run make figures-ja")
            elif entry["english_sha256"] != sha256(base64.b64decode(png)):
                problems.append(
                    f"cell {key}: the Japanese figure twins another PNG: run make figures-ja"
                )
            else:
                data["image/png"] = base64.b64encode(twin.read_bytes()).decode("ascii")
                used.append(twin)
    return json.dumps(notebook, ensure_ascii=False), used, problems


def render(paths: list[Path]) -> int:
    """Render the twin of every stored figure of ``paths``; write them and the manifest."""
    import pickle

    import matplotlib as mpl

    mpl.use("agg")
    import matplotlib.pyplot as plt
    from IPython.core import pylabtools

    from dropmini.lab import figlang

    manifest = json.loads(MANIFEST.read_text(encoding="utf-8")) if MANIFEST.is_file() else {}
    missing: set[str] = set()
    problems: list[str] = []
    count = 0
    for path in paths:
        stored = list(png_outputs(read(path)))
        manifest.pop(path.stem, None)
        if not stored:
            continue
        ran = kept_run(path.stem, {f"{c}-{n}": sha256(png) for c, n, png in stored})
        if ran is None:
            problems.append(f"{path.stem}: not executed since its figures changed")
            continue
        entries = {}
        for cell, n, png in stored:
            key, digest = f"{cell}-{n}", sha256(png)
            source = ran[key]
            same = source == digest
            kept = pickle.loads((CACHE / f"{source}.pickle").read_bytes())
            if "error" in kept:
                problems.append(f"{path.stem} {key}: the figure could not be kept: {kept['error']}")
                continue
            rc = {k: v for k, v in kept["rc"].items() if k != "backend"}
            with mpl.rc_context(rc):
                fig = pickle.loads(kept["figure"])
                english = pylabtools.print_figure(fig, "png", kept["bbox_inches"], **kept["kwargs"])
                plt.close(fig)
                if sha256(english) != source:
                    problems.append(f"{path.stem} {key}: the kept figure draws another PNG")
                    continue
                fig = pickle.loads(kept["figure"])
                try:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        twin = figlang.twin_png(fig, kept["bbox_inches"], **kept["kwargs"])
                    for warning in caught:
                        problems.append(f"{path.stem} {key}: {warning.message}")
                except figlang.MissingTranslations as error:
                    missing.update(error.texts)
                    continue
                finally:
                    plt.close(fig)
            target = FIGURES / path.stem / f"{key}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(twin)
            entries[key] = {"english_sha256": digest, "same_data": same}
            if not same and cell not in VARIES.get(path.stem, ()):
                problems.append(f"{path.stem} {key}: executed again, the figure changed")
            count += 1
        for old in (FIGURES / path.stem).glob("*.png"):
            if old.stem not in entries:
                old.unlink()
        manifest[path.stem] = entries
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(dict(sorted(manifest.items())), indent=1, sort_keys=True) + "\n"
    MANIFEST.write_text(text, encoding="utf-8")
    print(f"{count} Japanese figures written to {FIGURES.relative_to(ROOT)}")
    for problem in problems:
        print(f"  problem: {problem}")
    if missing:
        print(f"{len(missing)} figure texts have no Japanese (dropmini/lab/figlang.py):")
        for text in sorted(missing):
            print(f"  {text!r}")
    return 1 if missing or problems else 0


def main(argv: list[str]) -> int:
    """``figures_ja.py [--collect-only] [--force] [--in-place] [NOTEBOOK ...]``.

    Without notebooks, every notebook; ``--force`` executes them even if their figures are
    kept; ``--collect-only`` does not render.
    """
    force = "--force" in argv
    names = [a for a in argv if not a.startswith("--")]
    paths = [NOTEBOOKS / f"{Path(n).stem}.ipynb" for n in names] or sorted(
        NOTEBOOKS.glob("*.ipynb")
    )
    if "--in-place" in argv and not names:
        sys.exit("--in-place re-executes the notebooks named, and only those")
    collect(paths, force=force, in_place="--in-place" in argv)
    if "--collect-only" in argv:
        return 0
    return render(paths)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
