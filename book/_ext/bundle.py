"""The download bundle: the notebooks, dropmini as a wheel, and how to run them.

Every HTML build writes ``dropout-verified-notebooks.zip`` next to ``index.html``. It holds,
under one folder ``dropout-verified/``:

- ``notebooks/``: the chapter notebooks, byte for byte as stored (with their outputs);
- ``dropmini-<version>-py3-none-any.whl``: the package, built from this checkout;
- ``requirements.txt``: the wheel and the packages a reader needs to run and check the
  notebooks, at the versions CI checked, with ``constraints.txt`` pinning everything they
  pull in (both read from the repository's ``requirements.txt``);
- ``README.txt``: the two commands that install and open them.

The landing page links the zip, and ``book.js`` adds it to every page's download menu.
``tests/test_bundle.py`` installs it into a fresh virtual environment and runs nbval over
its notebooks. Run as a script to write a bundle anywhere::

    python book/_ext/bundle.py /tmp/bundle.zip
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: The zip's file name, next to index.html.
NAME = "dropout-verified-notebooks.zip"

#: The folder the zip unpacks to.
FOLDER = "dropout-verified"

#: What a reader installs besides the wheel: to run the notebooks, and to check them.
READER_PACKAGES = (
    "torch",
    "numpy",
    "matplotlib",
    "scikit-learn",
    "numba",
    "timm",
    "torchvision",
    "jupyterlab",
    "ipykernel",
    "nbval",
    "pytest",
    "pytest-xdist",
)

README = """\
Dropout, verified: the notebooks
================================

notebooks/        the book's chapters, with the outputs the book shows
dropmini-*.whl    the book's package (it reproduces torch.nn.Dropout bit for bit)
requirements.txt  the versions the outputs were checked with (constraints.txt pins
                  everything they pull in)

With Python 3.11, in this folder:

    python3 -m venv .venv && .venv/bin/pip install -r requirements.txt
    .venv/bin/jupyter lab notebooks

On Windows the two commands are:

    py -3.11 -m venv .venv && .venv\\Scripts\\pip install -r requirements.txt
    .venv\\Scripts\\jupyter lab notebooks

Notes
- On Linux, pip's torch {torch} is the CUDA build (several GB). The CPU-only build is
  smaller; install it first:
      .venv/bin/pip install torch=={torch} --index-url https://download.pytorch.org/whl/cpu
- As root (a Docker container, many cloud notebooks), Jupyter needs --allow-root:
      .venv/bin/jupyter lab notebooks --allow-root
- The first cell of every notebook checks the set-up and prints the command that fixes
  what is missing.
- To check that your machine prints what the book prints (a few minutes):
      .venv/bin/pytest --nbval --nbval-current-env -n 2 notebooks
"""


def pinned(requirements: str) -> dict[str, str]:
    r"""The ``name==version`` pins of a requirements file, by lower-case name.

    Examples
    --------
    >>> pinned("# c\n-e .[lab]\ntorch==2.13.0\nJinja2==3.1.6\n")
    {'torch': 'torch==2.13.0', 'jinja2': 'Jinja2==3.1.6'}
    """
    pins = {}
    for line in requirements.splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==\S+", line.strip())
        if match:
            pins[match.group(1).lower()] = line.strip()
    return pins


def build_wheel(out: Path) -> Path:
    """Build dropmini's wheel into ``out`` from a copy of the package sources.

    A copy, so that the build leaves no ``build/`` folder in the checkout. Uses the
    current environment's setuptools (no download).
    """
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(ROOT / name, src / name)
        shutil.copytree(
            ROOT / "dropmini", src / "dropmini", ignore=shutil.ignore_patterns("__pycache__")
        )
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
            + ["--no-build-isolation", "--wheel-dir", str(out), str(src)],
            check=True,
            capture_output=True,
        )
    (wheel,) = out.glob("dropmini-*.whl")
    return wheel


def write_bundle(target: Path) -> Path:
    """Write the download bundle to ``target`` (a ``.zip`` path) and return it."""
    pins = pinned((ROOT / "requirements.txt").read_text(encoding="utf-8"))
    torch_version = pins["torch"].split("==")[1]
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp))
        requirements = [
            "# The versions this book's outputs were checked with (Python 3.11, CPU).",
            "# Install from this folder: pip install -r requirements.txt",
            "-c constraints.txt",
            f"./{wheel.name}",
            *(pins[name] for name in READER_PACKAGES),
        ]
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as bundle:
            bundle.writestr(f"{FOLDER}/README.txt", README.format(torch=torch_version))
            bundle.writestr(f"{FOLDER}/requirements.txt", "\n".join(requirements) + "\n")
            bundle.writestr(
                f"{FOLDER}/constraints.txt",
                "# Every package the book's environment pins, for what requirements.txt pulls in.\n"
                + "\n".join(pins.values())
                + "\n",
            )
            bundle.write(wheel, f"{FOLDER}/{wheel.name}")
            for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
                bundle.write(notebook, f"{FOLDER}/notebooks/{notebook.name}")
    return target


def add_bundle(app, exception: Exception | None) -> None:
    """Write the bundle next to ``index.html`` after a successful HTML build."""
    if exception is None and app.builder.format == "html":
        write_bundle(Path(app.outdir) / NAME)


def setup(app) -> dict:
    """Register the build-finished hook."""
    app.connect("build-finished", add_bundle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    print(write_bundle(Path(sys.argv[1])))
