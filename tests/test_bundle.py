"""The download bundle, installed the way a reader installs it, and its notebooks checked.

``book/_ext/bundle.py`` writes the zip that every HTML build offers. This test unpacks it,
creates a fresh virtual environment with nothing in it, runs the README's install command
in the bundle's folder, and then runs nbval over the bundled notebooks with that
environment's Python: the native nbval pass of ``make test`` (the other pass, under the
generic kernels, runs over ``notebooks/`` in the project's environment).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from helpers import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import bundle  # noqa: E402

pytestmark = pytest.mark.bundle


def test_bundle_holds_every_notebook_and_the_wheel(tmp_path):
    target = bundle.write_bundle(tmp_path / bundle.NAME)
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        stored = {
            Path(name).name: archive.read(name)
            for name in names
            if name.startswith(f"{bundle.FOLDER}/notebooks/")
        }
        requirements = archive.read(f"{bundle.FOLDER}/requirements.txt").decode()
    on_disk = {p.name: p.read_bytes() for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert stored == on_disk
    wheels = [n for n in names if n.endswith(".whl")]
    assert len(wheels) == 1 and f"./{Path(wheels[0]).name}" in requirements.splitlines()
    assert "torch==2.13.0" in requirements.splitlines()
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_bundle_installs_in_a_fresh_venv_and_its_notebooks_pass_nbval(tmp_path):
    target = bundle.write_bundle(tmp_path / bundle.NAME)
    with zipfile.ZipFile(target) as archive:
        archive.extractall(tmp_path)
    folder = tmp_path / bundle.FOLDER
    readme = (folder / "README.txt").read_text(encoding="utf-8")
    # The README's first command, which this test carries out step by step.
    command = "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt"
    assert f"    {command}\n" in readme

    venv.create(folder / ".venv", with_pip=True)
    python = folder / ".venv" / "bin" / "python"
    # A reader's shell, not this one's: no venv, no path, and Python may write its bytecode
    # cache (PYTHONDONTWRITEBYTECODE, set on some CI machines, would make every kernel compile
    # the 1,200 modules of torch and the lab again, about 6 s of CPU each on a 2-core machine).
    unset = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    # --no-compile: pip would byte-compile every module it installs (half the install's time
    # here, mostly torch's files); Python compiles the modules a notebook imports when it
    # first imports them and caches them, so the environment runs the same code either way.
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        + ["--no-compile", "-r", "requirements.txt"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    # The environment holds the wheel, not this checkout: dropmini imports from the venv.
    where = subprocess.run(
        [str(python), "-c", "import dropmini; print(dropmini.__file__)"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(folder / ".venv") in where

    check = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval"]
        + ["--nbval-current-env", "-n", "2", "--dist", "loadfile", "notebooks"]
        # make test's report reads the notebooks' times from here (tests/timed.py).
        + [f"--junitxml={ROOT / '_build' / 'test-times' / 'nbval-native.xml'}"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    summary = check.stdout.strip().splitlines()[-1] if check.stdout.strip() else ""
    print(f"bundled notebooks, native nbval: {summary}")
    assert check.returncode == 0, check.stdout[-5000:]
    # The kernels shared one bytecode cache of torch (see env above).
    assert list((folder / ".venv").glob("lib/python*/site-packages/torch/__pycache__/*.pyc"))
