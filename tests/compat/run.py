"""`make compat`: the notebooks and dropmini's equality tests under other torch releases.

For one torch release at a time (or each release in ``versions.txt``), this script

1. makes a virtual environment ``_build/compat/torch-VERSION`` with ``torch==VERSION`` and the
   torchvision pip pairs with it, then the rest of ``requirements.txt`` with torch,
   torchvision and what torch pins exactly held by a constraints file, then dropmini from a
   copy of the project (``--no-deps``, so pip keeps the torch chosen);
2. runs nbval over a snapshot of every chapter notebook (those ``_toc.yml`` lists, copied
   from ``notebooks/`` when the run starts),
   with ``--nbval-current-env`` and the one sanitizer rule of ``nbval_sanitize.cfg`` (the
   set-up line names the installed release);
3. runs dropmini's equality tests (the files in ``EQUALITY``) and the seeded canaries
   (``CANARIES``) with that environment's Python;
4. reads the JUnit XML of both and writes one row into ``book/compat/results.csv``,
   replacing an older row for the same torch release and platform;
5. deletes the environment (about 5 GB: the registry's Linux wheels are CUDA builds) unless
   ``--keep``.

Usage (from the repository root)::

    python3 tests/compat/run.py 2.15.0            # one release
    python3 tests/compat/run.py --all              # every release in versions.txt
    python3 tests/compat/run.py 2.13.0 --python .venv/bin/python   # an existing environment
    python3 tests/compat/run.py --bisect 2.8.0 2.9.1                # masks only, torch only
    python3 tests/compat/run.py 2.15.0 --install-only   # then: 2.15.0 --python _build/...
    python3 tests/compat/run.py --record --torch 2.9.1 --platform aarch64 --python-version \\
        3.11.2 --notebooks-junit nb.xml --tests-junit tests.xml --notes "..."

``--record`` writes a row from JUnit files (or counts) produced elsewhere, for example in an
emulated aarch64 root; its options are a stable interface. A row's columns: torch, platform,
python, notebook_cells_passed, notebook_cells_total, equality_tests_passed,
equality_tests_total, canaries (passed/total), date (UTC, ISO), notes (the failed items,
shortened).

Releases on this machine's pip cap (``/etc/xdg/pip``, torch 2.14.1) install as usual; for a
newer release the pip command gets ``PIP_CONSTRAINT=/dev/null``. Runs use ``nice -n 10``.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WORK = ROOT / "_build" / "compat"
TABLE = ROOT / "book" / "compat" / "results.csv"
VERSIONS = HERE / "versions.txt"
SANITIZER = HERE / "nbval_sanitize.cfg"
COLUMNS = [
    "torch",
    "platform",
    "python",
    "notebook_cells_passed",
    "notebook_cells_total",
    "equality_tests_passed",
    "equality_tests_total",
    "canaries",
    "date",
    "notes",
]
#: dropmini against torch, bit for bit (tests/).
EQUALITY = [
    "tests/test_dropout_equivalence.py",
    "tests/test_channel_alpha_equivalence.py",
    "tests/test_torch_parity.py",
]
#: Seeded draws whose exact masks the book's stored outputs rest on.
CANARIES = [
    "tests/test_canaries.py",
    "tests/test_mt19937.py::test_canary_torch_cpu_dropout_still_draws_this_way",
]
#: The part of the pip cap this machine has (see /etc/xdg/pip/constraints.txt).
CAPPED_ABOVE = (2, 14, 1)
_START = time.monotonic()


def say(message: str) -> None:
    """Print one progress line with the elapsed time."""
    elapsed = int(time.monotonic() - _START)
    print(f"[compat {elapsed // 60:3d}:{elapsed % 60:02d}] {message}", flush=True)


def release(version: str) -> tuple[int, ...]:
    """``"2.10.0+cpu"`` as ``(2, 10, 0)``."""
    return tuple(int(p) for p in version.split("+")[0].split(".")[:3])


def read_versions(path: Path = VERSIONS) -> list[tuple[str, str]]:
    """The (version, role) pairs of ``versions.txt``; a role is the text after ``#``."""
    pairs = []
    for line in path.read_text().splitlines():
        body, _, comment = line.partition("#")
        if body.strip():
            pairs.append((body.strip(), comment.strip()))
    return pairs


def pip_env(version: str) -> dict[str, str]:
    """The environment for pip: the machine's cap lifted for releases above it."""
    env = dict(os.environ)
    if release(version) > CAPPED_ABOVE:
        env["PIP_CONSTRAINT"] = "/dev/null"
    return env


def run(cmd: list[str], log: Path, **kwargs) -> int:
    """Run ``cmd`` under ``nice -n 10``, appending its output to ``log``; return its code."""
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(map(str, cmd))}\n")
        out.flush()
        return subprocess.run(
            ["nice", "-n", "10", *map(str, cmd)], stdout=out, stderr=subprocess.STDOUT, **kwargs
        ).returncode


_HELD_SCRIPT = """
import importlib.metadata as m, json, re
pinned = [r for r in m.requires("torch") or [] if "==" in r.split(";")[0] and "extra" not in r]
names = ["torch", "torchvision"] + [re.match(r"[A-Za-z0-9_.-]+", r).group() for r in pinned]
out = {}
for name in names:
    try:
        out[name] = m.version(name)
    except m.PackageNotFoundError:
        pass
print(json.dumps(out))
"""


def _normal(name: str) -> str:
    """A distribution name as pip compares them: ``Jinja2`` and ``jinja2`` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


def make_venv(version: str, venv: Path, log: Path) -> Path:
    """Create ``venv`` with torch ``version``, the rest of requirements.txt and dropmini."""
    if venv.exists():
        shutil.rmtree(venv)
    say(f"torch {version}: creating {venv.relative_to(ROOT)}")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    say(f"torch {version}: pip install torch=={version} torchvision (a CUDA build, ~5 GB)")
    if run([*pip, f"torch=={version}", "torchvision"], log, env=pip_env(version)):
        raise RuntimeError(f"installing torch {version} failed; see {log}")
    # Hold torch, torchvision and what torch pins exactly (torch 2.6.0: sympy==1.13.1, where
    # requirements.txt has 1.14.0) at the versions pip just installed.
    held_versions = json.loads(
        subprocess.run(
            [python, "-c", _HELD_SCRIPT], capture_output=True, text=True, check=True
        ).stdout
    )
    vision = held_versions["torchvision"]
    held = WORK / f"constraints-{version}.txt"
    held.write_text("".join(f"{name}=={v}\n" for name, v in held_versions.items()))
    rest = WORK / f"requirements-{version}.txt"
    names = {_normal(name) for name in held_versions}
    kept = [
        line
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if not re.match(r"\s*-e\s", line) and _normal(line.split("==")[0].strip()) not in names
    ]
    rest.write_text("\n".join(kept) + "\n")
    say(f"torch {version}: pip install the rest of requirements.txt (torchvision {vision} held)")
    env = pip_env(version)
    env["PIP_CONSTRAINT"] = str(held)  # replaces the machine's cap: torch is pinned here
    if run([*pip, "-r", rest], log, env=env):
        raise RuntimeError(f"installing requirements.txt failed; see {log}")
    source = WORK / f"src-{version}"
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "dropmini", source / "dropmini", ignore=shutil.ignore_patterns("__py*"))
    say(f"torch {version}: pip install --no-deps dropmini (from a copy of the project)")
    if run([*pip, "--no-deps", source], log, env=env):
        raise RuntimeError(f"installing dropmini failed; see {log}")
    shutil.rmtree(source)
    return python


def junit_counts(path: Path) -> tuple[int, int, list[str]]:
    """(passed, total, failed test names) from a JUnit XML file; skips count as not passed."""
    if not path.exists():
        return 0, 0, ["no JUnit report"]
    root = ET.parse(path).getroot()
    total, failed = 0, []
    for case in root.iter("testcase"):
        total += 1
        if any(case.find(tag) is not None for tag in ("failure", "error", "skipped")):
            classname = case.get("classname", "")
            notebook = re.search(r"([^.]+)\.ipynb$", classname)
            where = notebook.group(1) if notebook else classname.split(".")[-1]
            failed.append(f"{where} {case.get('name', '')}".strip())
    return total - len(failed), total, failed


def _short(names: list[str], limit: int = 20) -> str:
    """Failed items as one short field: ``04_inplace Cell 10; ...``.

    Parametrized tests of one function are counted together: ``test_x (4 cases)``.
    """
    groups: dict[str, int] = {}
    for name in names:
        groups[re.sub(r"\[.*\]$", "", name)] = groups.get(re.sub(r"\[.*\]$", "", name), 0) + 1
    shown = [f"{key} ({count} cases)" if count > 1 else key for key, count in groups.items()]
    more = f"; and {len(shown) - limit} more" if len(shown) > limit else ""
    return "; ".join(shown[:limit]) + more


def chapters() -> list[str]:
    """The notebooks the book's table of contents lists (``_toc.yml``), as file names.

    A notebook in ``notebooks/`` that the book does not list yet (a chapter being written)
    is not run.
    """
    listed = re.findall(r"file:\s*notebooks/(\S+)", (ROOT / "_toc.yml").read_text())
    return [f"{name.removesuffix('.ipynb')}.ipynb" for name in listed]


#: This machine has a CUDA toolkit (nvcc) and no GPU. The registry's wheels are CUDA builds,
#: and at torch.compile's first C++ build ``torch.utils.cpp_extension`` finds the toolkit and
#: logs "No CUDA runtime is found, using CUDA_HOME=..." to the cell's stderr, an output the
#: pinned CPU build never makes. Empty CUDA_HOME and CUDA_PATH hide the toolkit from it (noise
#: of this machine, so it is filtered here and not in the notebooks).
NO_CUDA_TOOLKIT = dict(os.environ, CUDA_HOME="", CUDA_PATH="")


def run_tests(python: Path, version: str, log: Path, notebooks: bool = True) -> dict[str, str]:
    """nbval over a snapshot of notebooks/, then the equality tests and canaries: one row."""
    out = WORK / f"results-{version}"
    if out.exists():
        shutil.rmtree(out)
    (out / "notebooks").parent.mkdir(parents=True)
    (out / "notebooks").mkdir()
    for chapter in chapters():
        shutil.copy2(ROOT / "notebooks" / chapter, out / "notebooks" / chapter)
    common = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    say(f"torch {version}: nbval over {len(list((out / 'notebooks').glob('*.ipynb')))} notebooks")
    if not notebooks:
        say(f"torch {version}: notebooks skipped (--skip-notebooks)")
    run_nbval = run if notebooks else (lambda *args, **kwargs: 0)
    run_nbval(
        [
            *common,
            "--nbval",
            "--nbval-current-env",
            f"--nbval-sanitize-with={SANITIZER}",
            "-n",
            "2",
            "--dist",
            "loadfile",
            f"--junitxml={out / 'notebooks.xml'}",
            "notebooks",
        ],
        log,
        cwd=out,
        env=NO_CUDA_TOOLKIT,
    )
    say(f"torch {version}: equality tests and canaries")
    run([*common, "-n", "2", f"--junitxml={out / 'equality.xml'}", *EQUALITY], log, cwd=ROOT)
    run([*common, "-p", "no:xdist", f"--junitxml={out / 'canaries.xml'}", *CANARIES], log, cwd=ROOT)
    info = subprocess.run(
        [
            python,
            "-c",
            "import platform, torch; print(torch.__version__, platform.python_version())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return make_row(
        torch_version=info[0].split("+")[0],
        machine=platform.machine(),
        python_version=info[1],
        notebooks=junit_counts(out / "notebooks.xml") if notebooks else (0, 0, []),
        equality=junit_counts(out / "equality.xml"),
        canaries=junit_counts(out / "canaries.xml"),
    )


def make_row(
    torch_version: str,
    machine: str,
    python_version: str,
    notebooks: tuple[int, int, list[str]],
    equality: tuple[int, int, list[str]],
    canaries: tuple[int, int, list[str]],
    notes: str = "",
    date: str | None = None,
) -> dict[str, str]:
    """One table row from the (passed, total, failed names) of each group."""
    failed = [
        f"{group}: {_short(names)}"
        for group, names in (
            ("notebooks", notebooks[2]),
            ("equality", equality[2]),
            ("canaries", canaries[2]),
        )
        if names
    ]
    return {
        "torch": torch_version,
        "platform": machine,
        "python": python_version,
        "notebook_cells_passed": str(notebooks[0]),
        "notebook_cells_total": str(notebooks[1]),
        "equality_tests_passed": str(equality[0]),
        "equality_tests_total": str(equality[1]),
        "canaries": f"{canaries[0]}/{canaries[1]}",
        "date": date or datetime.datetime.now(datetime.UTC).date().isoformat(),
        "notes": " | ".join(filter(None, [notes, *failed])) or "all passed",
    }


def read_table(path: Path = TABLE) -> list[dict[str, str]]:
    """The rows of the results table (empty if there is none yet)."""
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def record(row: dict[str, str], path: Path = TABLE) -> None:
    """Write ``row`` into the table, replacing the row of the same torch and platform.

    Rows are kept sorted by platform, then by torch release, newest first.
    """
    if list(row) != COLUMNS:
        raise ValueError(f"a row has exactly the columns {COLUMNS}")
    rows = [
        r
        for r in read_table(path)
        if (r["torch"], r["platform"]) != (row["torch"], row["platform"])
    ]
    rows.append(row)
    rows.sort(key=lambda r: (r["platform"], [-n for n in release(r["torch"])]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    say(f"recorded torch {row['torch']} on {row['platform']} in {path}")


def one_release(
    version: str, python: Path | None, keep: bool, notes: str, notebooks: bool = True
) -> dict[str, str]:
    """Install (unless ``python`` is given), test and record one release."""
    WORK.mkdir(parents=True, exist_ok=True)
    log = WORK / f"torch-{version}.log"
    log.write_text("")
    venv = WORK / f"torch-{version}"
    start = time.monotonic()
    try:
        if python is None:
            python = make_venv(version, venv, log)
        python = Path(python).absolute()
        installed = time.monotonic()
        row = run_tests(python, version, log, notebooks)
        if not notebooks:
            notes = " | ".join(filter(None, [notes, "notebooks not run"]))
        if row["torch"] != version:
            raise RuntimeError(f"asked for torch {version}, the environment has {row['torch']}")
        minutes = (time.monotonic() - installed) / 60
        say(f"torch {version}: install {(installed - start) / 60:.1f} min, tests {minutes:.1f} min")
        row["notes"] = " | ".join(filter(None, [notes, row["notes"]]))
        record(row)
        return row
    finally:
        if venv.exists() and not keep:
            say(f"torch {version}: deleting {venv.relative_to(ROOT)}")
            shutil.rmtree(venv)


def bisect(versions: list[str], keep: bool) -> None:
    """For each release: torch alone in a venv, then fingerprint.py against the pinned masks."""
    WORK.mkdir(parents=True, exist_ok=True)
    reference = subprocess.run(
        [ROOT / ".venv" / "bin" / "python", HERE / "fingerprint.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for version in versions:
        venv, log = WORK / f"bisect-{version}", WORK / f"bisect-{version}.log"
        log.write_text("")
        try:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            say(f"torch {version}: pip install torch=={version} numpy")
            pip = [venv / "bin" / "python", "-m", "pip", "install", "--quiet"]
            if run([*pip, f"torch=={version}", "numpy"], log, env=pip_env(version)):
                say(f"torch {version}: install failed, see {log}")
                continue
            lines = subprocess.run(
                [venv / "bin" / "python", HERE / "fingerprint.py"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.splitlines()
            differ = [b for a, b in zip(reference[1:], lines[1:], strict=True) if a != b]
            verdict = "same masks" if not differ else f"{len(differ)} recipes differ: {differ[:3]}"
            say(f"torch {version}: {verdict}")
        finally:
            if venv.exists() and not keep:
                shutil.rmtree(venv)


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("versions", nargs="*", help="torch releases, e.g. 2.15.0")
    parser.add_argument("--all", action="store_true", help="every release in versions.txt")
    parser.add_argument("--python", type=Path, help="test this Python's environment, no install")
    parser.add_argument("--keep", action="store_true", help="keep the virtual environment")
    parser.add_argument(
        "--install-only", action="store_true", help="make the environment, keep it, run nothing"
    )
    parser.add_argument("--bisect", action="store_true", help="masks only (fingerprint.py)")
    parser.add_argument(
        "--skip-notebooks", action="store_true", help="equality tests and canaries only"
    )
    parser.add_argument("--notes", default="", help="text for the row's notes column")
    group = parser.add_argument_group("--record: write a row measured elsewhere")
    group.add_argument("--record", action="store_true")
    group.add_argument("--torch", dest="torch_version")
    group.add_argument("--platform", dest="machine")
    group.add_argument("--python-version")
    group.add_argument("--notebooks-junit", type=Path)
    group.add_argument("--tests-junit", type=Path, help="equality tests")
    group.add_argument("--canaries-junit", type=Path)
    group.add_argument(
        "--counts",
        help="instead of JUnit files: NB_PASSED,NB_TOTAL,EQ_PASSED,"
        "EQ_TOTAL,CANARIES_PASSED,CANARIES_TOTAL",
    )
    group.add_argument("--date", help="UTC date of the run, default today")
    args = parser.parse_args(argv)
    if args.record:
        if not (args.torch_version and args.machine and args.python_version):
            parser.error("--record needs --torch, --platform and --python-version")
        if args.counts:
            n = [int(x) for x in args.counts.split(",")]
            groups = [(n[0], n[1], []), (n[2], n[3], []), (n[4], n[5], [])]
        else:
            if not (args.notebooks_junit and args.tests_junit and args.canaries_junit):
                parser.error("--record needs --counts or the three --*-junit files")
            groups = [
                junit_counts(args.notebooks_junit),
                junit_counts(args.tests_junit),
                junit_counts(args.canaries_junit),
            ]
        record(
            make_row(
                args.torch_version,
                args.machine,
                args.python_version,
                *groups,
                notes=args.notes,
                date=args.date,
            )
        )
        return 0
    versions = [v for v, _ in read_versions()] if args.all else args.versions
    if not versions:
        parser.error("name a torch release, or --all")
    if args.bisect:
        bisect(versions, args.keep)
        return 0
    if args.install_only:
        for version in versions:
            WORK.mkdir(parents=True, exist_ok=True)
            log = WORK / f"torch-{version}.log"
            log.write_text("")
            make_venv(version, WORK / f"torch-{version}", log)
            say(f"torch {version}: installed in {WORK.relative_to(ROOT)}/torch-{version}")
        return 0
    for version in versions:
        row = one_release(version, args.python, args.keep, args.notes, not args.skip_notebooks)
        say(f"torch {version}: {row}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
