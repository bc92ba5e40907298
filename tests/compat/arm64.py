"""`make compat-arm64`: the pinned torch on aarch64 Linux, under emulation.

The same checks as ``run.py`` (nbval over every notebook with its sanitizer, dropmini's
equality tests and the canaries), for the release ``requirements.txt`` pins, run by an
aarch64 CPython with the registry's aarch64 wheels. There is no aarch64 machine here, so:

1. ``setup``: Debian's ``qemu-user-static``, ``binfmt-support`` and ``debootstrap`` (apt-get);
   binfmt_misc mounted and ``qemu-aarch64`` enabled; a Debian bookworm arm64 root in
   ``_build/arm64/root`` (``debootstrap --foreign``, then the second stage under qemu: 7
   minutes on 2026-12-02); the aarch64 wheels (``pip download --platform ...
   --python-version 3.11`` on the host: bookworm's python3 is 3.11; 2.9 GB, torch's aarch64
   wheel being a CUDA build) installed with ``pip install --target`` into ``/opt/site`` of
   the root, which is far faster than pip under emulation; then dropmini from a copy of the
   project, ``--no-deps``.
2. ``run``: a snapshot of ``notebooks/``, ``tests/`` and ``pyproject.toml`` in ``/project`` of
   the root; each notebook on its own (``chroot``, ``nice -n 10``, a timeout per notebook:
   chapters 1-7 first, then the others; chapters 11 and 10 have longer timeouts), and the
   equality tests and the canaries, ``--lanes`` of them at a time (``make compat-arm64``:
   two, one per core; the first lane starts with the long notebooks); one row into
   ``book/compat/results.csv`` through ``run.py --record`` (which replaces an older aarch64
   row of the same release). Each complete item's result goes into ``arm64-items.json``
   (committed) with a digest of its inputs; the next ``run`` reuses the items whose inputs
   are unchanged and runs the others (``--fresh`` runs all), so a full row can be made over
   several sessions shorter than a whole pass.

Emulation only (none of this changes what a notebook prints on a real aarch64 machine):

- ``QEMU_CPU=neoverse-n1``, and a small fake ``/sys/devices/system/cpu`` (two CPUs with a
  Neoverse-N1 ``MIDR_EL1``) and ``/proc/cpuinfo`` in the root: with the host's /sys, ``import
  torch`` crashed (cpuinfo read the x86 entries); with none, cpuinfo and xbyak printed errors to
  stderr, which nbval counts as output. ``torch.backends.cpu.get_cpu_capability()`` then says
  ``DEFAULT``, which on aarch64 is still the NEON code.
- ``EMULATION_RULES``: nbval sanitizer rules for output that only emulation makes, added to
  ``run.py``'s sanitizer (``nbval_sanitize.cfg``). It is empty: no such output was seen.
- Time (measured here on 2026-12-02, two lanes on two cores): importing torch takes about
  1.5 minutes; most notebooks 0.9-5 minutes, chapter 8 11, chapter 18 21, the equality tests
  9; chapters 10 (45) and 11 (22), which train networks, are the long ones (``LONG``).
  Timeouts, not the notebooks, absorb that; a notebook that times out is reported as such,
  with the cells that passed before it was stopped.

Usage (as root, from the repository root)::

    python3 tests/compat/arm64.py              # setup, then run, then record
    python3 tests/compat/arm64.py setup
    python3 tests/compat/arm64.py run --lanes 2 --deadline 05:30 --only 01 16
    python3 tests/compat/arm64.py record       # the last run's row again (after a crash)
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run as compat  # noqa: E402  (run.py: its lists of tests, its sanitizer, its --record)

ROOT = compat.ROOT
WORK = ROOT / "_build" / "arm64"
CHROOT = WORK / "root"
WHEELS = WORK / "wheels"
RESULTS = WORK / "results"
#: Each item's last result (a notebook, the equality tests, the canaries) with a digest of what
#: it ran: committed, so that a later run can reuse the items whose inputs have not changed
#: (``run`` does unless given ``--fresh``) and one session need not run all of them.
ITEMS = HERE / "arm64-items.json"
SITE = "/opt/site"  # inside the root
PROJECT = "/project"  # inside the root
CHROOT_BIN = shutil.which("chroot") or "/usr/sbin/chroot"  # QEMU_ENV has no sbin
APT = ("qemu-user-static", "binfmt-support", "debootstrap")
SUITE, MIRROR = "bookworm", "http://deb.debian.org/debian"
INCLUDE = "python3,python3-venv,python3-pip,python3-dev,g++"
PYTHON_VERSION = "3.11"  # bookworm's python3
#: Every manylinux tag that bookworm's glibc (2.36) accepts on aarch64.
PLATFORMS = ["linux_aarch64", "manylinux2014_aarch64"] + [
    f"manylinux_2_{minor}_aarch64" for minor in range(17, 37)
]
#: What the notebooks and the tests import (pins from requirements.txt); the rest of
#: requirements.txt (the book build, JupyterLab, Playwright) is not needed to run them.
NEEDED = [
    "torch",
    "numpy",
    "matplotlib",
    "scikit-learn",
    "numba",
    "nbval",
    "pytest",
    "ipykernel",
    "hypothesis",
    "pyyaml",  # tests/helpers.py
]
#: Chapter 20 reads these packages' files without importing them: no dependencies needed.
NO_DEPS = ["timm", "torchvision"]
#: Output that only emulation makes: (name, regex, replacement) nbval sanitizer rules.
EMULATION_RULES: list[tuple[str, str, str]] = []
#: The environment of every process in the root.
QEMU_ENV = {
    "QEMU_CPU": "neoverse-n1",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "PYTHONPATH": SITE,
    "PYTHONDONTWRITEBYTECODE": "1",
    "TMPDIR": "/tmp",
}
MIDR = "0x00000000413fd0c1"  # Arm Neoverse-N1 r3p1
CPUINFO_ENTRY = """processor\t: {n}
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm \
lrcpc dcpop asimddp ssbs
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x3
CPU part\t: 0xd0c
CPU revision\t: 1

"""
CPUS = 2
DEFAULT_TIMEOUT = 30 * 60
GROUPS = ("notebooks", "equality", "canaries")  # run.py --record's three counts, in order
#: Notebooks that train networks: run last, with longer timeouts. Chapter 11 had not finished
#: its eighth code cell after 20 minutes; chapter 10 did not finish in 20 (none measured beyond).
LONG = {"11_mc_dropout": 60 * 60, "10_does_it_help": 150 * 60}


def say(message: str) -> None:
    """One progress line, with the UTC time."""
    now = datetime.datetime.now(datetime.UTC).strftime("%H:%M:%S")
    print(f"[arm64 {now}] {message}", flush=True)


def sh(cmd: list[str], log: Path | None = None, **kwargs) -> int:
    """Run ``cmd`` (niced), its output appended to ``log`` (or shown); return its code."""
    cmd = ["nice", "-n", "10", *map(str, cmd)]
    if log is None:
        return subprocess.run(cmd, **kwargs).returncode
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        return subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, **kwargs).returncode


def pins() -> dict[str, str]:
    """Name (lower case) to pinned version, from requirements.txt."""
    found = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        m = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s#;]+)", line)
        if m:
            found[m.group(1).lower()] = m.group(2)
    return found


# --- setup ------------------------------------------------------------------------------


def ensure_apt() -> None:
    """qemu-user-static, binfmt-support and debootstrap, from Debian's packages."""
    missing = [p for p in APT if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode]
    if missing:
        say(f"apt-get install {' '.join(missing)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True, env=env)


def ensure_binfmt() -> None:
    """binfmt_misc mounted and qemu-aarch64 registered (flag F: works inside a chroot)."""
    fs = Path("/proc/sys/fs/binfmt_misc")
    if not (fs / "register").exists():
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(fs)], check=True)
    if not (fs / "qemu-aarch64").exists():
        subprocess.run(["update-binfmts", "--enable", "qemu-aarch64"], check=True)
    if "enabled" not in (fs / "qemu-aarch64").read_text():
        raise RuntimeError("qemu-aarch64 is registered with binfmt_misc but disabled")


def ensure_root(log: Path) -> None:
    """The Debian arm64 root: debootstrap's first stage on the host, the second under qemu."""
    # The second stage deletes /debootstrap when it succeeds.
    if (CHROOT / "usr" / "bin" / "python3").exists() and not (CHROOT / "debootstrap").exists():
        return
    if not (CHROOT / "debootstrap" / "debootstrap").exists():
        say(f"debootstrap --foreign {SUITE} arm64 into {CHROOT.relative_to(ROOT)} (first stage)")
        first = [
            "debootstrap",
            "--arch=arm64",
            "--foreign",
            "--variant=minbase",
            f"--include={INCLUDE}",
            SUITE,
            CHROOT,
            MIRROR,
        ]
        if sh(first, log):
            raise RuntimeError(f"debootstrap failed; see {log}")
    say("debootstrap --second-stage under qemu (7 minutes on 2026-12-02)")
    if sh(["chroot", CHROOT, "/debootstrap/debootstrap", "--second-stage"], log):
        raise RuntimeError(f"debootstrap's second stage failed; see {log}")


def fake_cpu() -> None:
    """The fake /sys CPU entries and /proc/cpuinfo of a two-CPU Neoverse-N1 (see above)."""
    cpu = CHROOT / "sys" / "devices" / "system" / "cpu"
    cpu.mkdir(parents=True, exist_ok=True)
    for name in ("online", "possible", "present"):
        (cpu / name).write_text(f"0-{CPUS - 1}\n")
    for n in range(CPUS):
        regs = cpu / f"cpu{n}" / "regs" / "identification"
        regs.mkdir(parents=True, exist_ok=True)
        (regs / "midr_el1").write_text(MIDR + "\n")
        (regs / "revidr_el1").write_text("0x0000000000000000\n")
    (CHROOT / "proc").mkdir(exist_ok=True)
    (CHROOT / "proc" / "cpuinfo").write_text(
        "".join(CPUINFO_ENTRY.format(n=n) for n in range(CPUS))
    )


def pip_platform_args() -> list[str]:
    """pip's options for aarch64 CPython 3.11 binary wheels."""
    args = ["--only-binary=:all:", "--python-version", PYTHON_VERSION, "--implementation", "cp"]
    for abi in ("cp311", "abi3", "none"):
        args += ["--abi", abi]
    for tag in PLATFORMS:
        args += ["--platform", tag]
    return args


def ensure_site(log: Path) -> None:
    """Download the aarch64 wheels on the host and install them into the root's /opt/site."""
    versions = pins()
    WHEELS.mkdir(parents=True, exist_ok=True)
    constraints = WORK / "constraints.txt"
    constraints.write_text(
        "\n".join(
            line
            for line in (ROOT / "requirements.txt").read_text().splitlines()
            if re.match(r"\s*[A-Za-z0-9]", line)
        )
        + "\n"
    )
    wanted = WORK / "requirements-arm64.txt"
    wanted.write_text("".join(f"{n}=={versions[n.lower()]}\n" for n in NEEDED))
    loose = WORK / "requirements-arm64-no-deps.txt"
    loose.write_text("".join(f"{n}=={versions[n.lower()]}\n" for n in NO_DEPS))
    stamp = CHROOT / SITE.lstrip("/") / ".arm64-site"
    key = wanted.read_text() + loose.read_text() + constraints.read_text()
    if stamp.exists() and stamp.read_text() == key:
        return
    # The machine's pip constraint file caps torch; the pins here come from requirements.txt.
    env = dict(os.environ, PIP_CONSTRAINT="")
    pip = [sys.executable, "-m", "pip"]
    plat = pip_platform_args()
    say(f"pip download the aarch64 wheels into {WHEELS.relative_to(ROOT)} (about 2.9 GB)")
    for args in (["-c", constraints, "-r", wanted], ["--no-deps", "-r", loose]):
        if sh([*pip, "download", "--quiet", "--dest", WHEELS, *plat, *args], log, env=env):
            raise RuntimeError(f"pip download failed; see {log}")
    site = CHROOT / SITE.lstrip("/")
    if site.exists():
        shutil.rmtree(site)
    say(f"pip install --target {SITE} in the root (from the downloaded wheels)")
    install = [*pip, "install", "--quiet", "--no-index", "--find-links", WHEELS, *plat]
    for args in (["-c", constraints, "-r", wanted], ["--no-deps", "--upgrade", "-r", loose]):
        if sh([*install, "--target", site, *args], log, env=env):
            raise RuntimeError(f"pip install --target failed; see {log}")
    stamp.write_text(key)


def install_dropmini(log: Path) -> None:
    """dropmini (pure Python) from a copy of the project into /opt/site, without deps."""
    source = WORK / "dropmini-src"
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "dropmini", source / "dropmini", ignore=shutil.ignore_patterns("__py*"))
    site = CHROOT / SITE.lstrip("/")
    for old in site.glob("dropmini*"):
        shutil.rmtree(old)
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile"]
    if sh([*pip, "--target", site, source], log, env=dict(os.environ, PIP_CONSTRAINT="")):
        raise RuntimeError(f"installing dropmini failed; see {log}")
    shutil.rmtree(source)


def setup() -> None:
    """Everything ``run`` needs; each step is skipped when it is already done."""
    WORK.mkdir(parents=True, exist_ok=True)
    log = WORK / "setup.log"
    ensure_apt()
    ensure_binfmt()
    ensure_root(log)
    fake_cpu()
    ensure_site(log)
    install_dropmini(log)
    out = in_root(
        ["python3", "-c", "import platform, torch; print(platform.machine(), torch.__version__)"]
    )
    say(f"in the root: {out.strip()}")


# --- run --------------------------------------------------------------------------------


class Mounts:
    """/dev bind-mounted into the root while tests run (its /sys and /proc stay fake)."""

    def __enter__(self) -> Mounts:
        self.dev = CHROOT / "dev"
        if not os.path.ismount(self.dev):
            subprocess.run(["mount", "--bind", "/dev", str(self.dev)], check=True)
            self.mounted = True
        else:
            self.mounted = False
        return self

    def __exit__(self, *exc) -> None:
        kill_root_processes()
        if self.mounted:
            subprocess.run(["umount", str(self.dev)], check=False)


def in_root(cmd: list[str]) -> str:
    """Run ``cmd`` in the root and return its stdout (raises if it fails)."""
    with Mounts():
        return subprocess.run(
            [CHROOT_BIN, str(CHROOT), *cmd],
            env=QEMU_ENV,
            capture_output=True,
            text=True,
            check=True,
        ).stdout


def root_processes() -> list[int]:
    """Ids of the processes whose root directory is the arm64 root (all started here)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "root") == str(CHROOT):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def descendants(pid: int) -> list[int]:
    """Ids of the processes below ``pid`` (children, their children, ...)."""
    parent = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = [], [pid]
    while todo:
        below = [child for child, up in parent.items() if up == todo.pop()]
        found += below
        todo += below
    return found


def end(pids: list[int]) -> None:
    """SIGKILL each of ``pids`` that is still there."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def kill_root_processes() -> None:
    """End what is left in the root (a kernel whose nbval was stopped), by process id."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = root_processes()
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        if pids:
            time.sleep(3)


def timed(cmd: list[str], log: Path, timeout: float) -> tuple[int | None, float]:
    """Run ``cmd`` in the root in its own process group; (code or None on timeout, seconds)."""
    start = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["nice", "-n", "10", CHROOT_BIN, str(CHROOT), *cmd],
            env=QEMU_ENV,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        code: int | None = None
        try:
            code = proc.wait(timeout=max(timeout, 1))
        except subprocess.TimeoutExpired:
            pass
        finally:  # a timeout, or this script stopped (SIGTERM, Ctrl-C): end the group too
            if code is None:
                # The kernel runs in a session of its own: find it before its parent goes.
                left = descendants(proc.pid)
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                end(left)
    return code, time.monotonic() - start


def snapshot() -> Path:
    """Copy notebooks/, tests/, dropmini/ and pyproject.toml into /project of the root."""
    project = CHROOT / PROJECT.lstrip("/")
    if project.exists():
        shutil.rmtree(project)
    project.mkdir()
    skip = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", ".hypothesis")
    for name in ("notebooks", "tests", "dropmini"):
        shutil.copytree(ROOT / name, project / name, ignore=skip)
    shutil.copy2(ROOT / "pyproject.toml", project / "pyproject.toml")
    rules = compat.SANITIZER.read_text()
    for name, regex, replace in EMULATION_RULES:
        rules += f"\n[{name}]\nregex: {regex}\nreplace: {replace}\n"
    (project / "sanitize.cfg").write_text(rules)
    return project


def order(notebooks: list[str]) -> list[str]:
    """Chapters 1-7 (the articles) first, then the others, the long ones last (as in LONG)."""
    long = list(LONG)
    return sorted(notebooks, key=lambda n: (long.index(n) if n in LONG else -1, n[:2] > "07", n))


def pytest_cmd(junit: str, *items: str) -> list[str]:
    """pytest in the root, as run.py calls it, with one worker and per-item lines."""
    return [
        "python3",
        "-m",
        "pytest",
        "-v",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "-p",
        "no:xdist",
        f"--rootdir={PROJECT}",
        f"--junitxml={junit}",
        *items,
    ]


def notebook_cmd(name: str, timeout: float) -> list[str]:
    """nbval over one notebook (``cd /project`` first: nbval runs it from notebooks/)."""
    cmd = pytest_cmd(
        f"{PROJECT}/results/{name}.xml",
        "--nbval",
        "--nbval-current-env",
        f"--nbval-sanitize-with={PROJECT}/sanitize.cfg",
        "--nbval-kernel-startup-timeout=900",
        f"--nbval-cell-timeout={int(timeout)}",
        f"notebooks/{name}.ipynb",
    )
    return ["/bin/sh", "-c", f"cd {PROJECT} && exec " + " ".join(cmd)]


def cases_from_log(log: Path, name: str, why: str) -> list[ET.Element]:
    """Test cases of a stopped run from pytest's -v lines; the items not reached fail."""
    text = log.read_text(errors="replace") if log.exists() else ""
    m = re.search(r"collected (\d+) items?", text)
    total = int(m.group(1)) if m else 0
    done = re.findall(r"(?m)^\S*::(.+?) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b", text)
    cases = []
    for item, outcome in done:
        case = ET.Element("testcase", classname=f"notebooks.{name}", name=item)
        if outcome not in ("PASSED", "XFAIL", "XPASS"):
            ET.SubElement(case, "failure", message=outcome.lower())
        cases.append(case)
    for k in range(len(done), total):
        label = f"Cell {k}" if re.search(r"::Cell \d+ ", text) or not done else f"item {k}"
        case = ET.Element("testcase", classname=f"notebooks.{name}", name=label)
        ET.SubElement(case, "error", message=why)
        cases.append(case)
    return cases


def write_junit(cases: list[ET.Element], path: Path) -> None:
    """One JUnit file holding ``cases``."""
    suite = ET.Element("testsuite", name="arm64", tests=str(len(cases)))
    suite.extend(cases)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(path, encoding="unicode")


def junit_cases(path: Path) -> list[ET.Element]:
    """The test cases of a JUnit file."""
    return list(ET.parse(path).getroot().iter("testcase"))


def digest(project: Path, item: str) -> str:
    """A digest of what ``item``'s result depends on, from the snapshot in ``project``.

    The notebook (or, for the two test groups, their test files, ``tests/helpers.py``,
    ``tests/conftest.py`` and the canaries' ``tests/compat/fingerprint.py``), ``dropmini/``,
    ``pyproject.toml``, the sanitizer and the pinned versions installed in the root.
    """
    if item in ("equality", "canaries"):
        files = {
            i.split("::")[0]
            for i in {"equality": compat.EQUALITY, "canaries": compat.CANARIES}[item]
        }
        files |= {"tests/helpers.py", "tests/conftest.py", "tests/compat/fingerprint.py"}
        paths = sorted(project / f for f in files)
    else:
        paths = [project / "notebooks" / f"{item}.ipynb"]
    paths += sorted((project / "dropmini").rglob("*.py"))
    paths += [project / "pyproject.toml", project / "sanitize.cfg"]
    h = hashlib.sha256((WORK / "requirements-arm64.txt").read_bytes())
    for path in paths:
        h.update(path.relative_to(project).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:20]


def saved_items() -> dict[str, dict]:
    """The committed results of earlier runs (``ITEMS``), by item."""
    return json.loads(ITEMS.read_text()) if ITEMS.exists() else {}


def item_cases(item: str, saved: dict) -> list[ET.Element]:
    """JUnit test cases standing for a saved result: its failures by name, the rest passed."""
    classname = f"notebooks.{item}" if item not in ("equality", "canaries") else item
    cases = []
    for failed in saved["failed"]:  # "<notebook or test module> <cell or test>"
        where, name = failed.split(" ", 1)
        case = ET.Element("testcase", classname=where, name=name)
        ET.SubElement(case, "failure", message="failed (an earlier run)")
        cases.append(case)
    for k in range(saved["total"] - len(saved["failed"])):
        cases.append(ET.Element("testcase", classname=classname, name=f"passed {k}"))
    return cases


def run_all(
    only: list[str],
    deadline: datetime.datetime | None,
    timeout: float,
    lanes: int = 1,
    reuse: bool = True,
) -> None:
    """The notebooks, the equality tests and canaries, ``lanes`` at a time; record the row.

    With one lane the tests run after the short notebooks and before the long ones
    (``LONG``), so that a deadline cuts chapter 10, not the tests; with more, the first lane
    starts with the long ones, which emulation makes the longest. With ``reuse``, an item
    whose complete result ``ITEMS`` holds for the same inputs (:func:`digest`) is not run
    again: its saved result counts, and the row's notes name it.
    """
    project = snapshot()
    (project / "results").mkdir()
    if RESULTS.exists():
        shutil.rmtree(RESULTS)
    RESULTS.mkdir(parents=True)
    every = order([p.stem for p in (ROOT / "notebooks").glob("*.ipynb")])
    names = [n for n in every if not only or any(n.startswith(o) for o in only)]
    cases: list[ET.Element] = []
    notes: list[str] = []
    times: list[str] = []
    not_run: list[str] = []

    def left() -> float:
        if deadline is None:
            return float("inf")
        return (deadline - datetime.datetime.now(datetime.UTC)).total_seconds()

    def notebook(name: str) -> None:
        limit = min(LONG.get(name, timeout), left())
        if limit < 60:
            not_run.append(name)
            return
        say(f"{name}: nbval (timeout {limit / 60:.0f} min)")
        log = RESULTS / f"{name}.log"
        code, seconds = timed(notebook_cmd(name, limit), log, limit)
        xml = project / "results" / f"{name}.xml"
        if code is not None and xml.exists():
            got = junit_cases(xml)
            shutil.copy2(xml, RESULTS / xml.name)
        else:
            why = f"stopped after {seconds / 60:.0f} min"
            got = cases_from_log(log, name, why)
            notes.append(f"{name} {why}")
        cases.extend(got)
        passed, total, _ = _counts(got)
        times.append(f"{name} {seconds / 60:.1f} min {passed}/{total}")
        say(f"{name}: {passed} of {total} cells passed in {seconds / 60:.1f} min")

    def tests(group: str, items: list[str]) -> None:
        present = [i for i in items if (ROOT / i.split("::")[0]).exists()]
        absent = [i for i in items if i not in present]
        if absent:
            notes.append(f"{group}: not in tests/: {', '.join(absent)}")
        junit = RESULTS / f"{group}.xml"
        limit = min(timeout, left())
        if not present or limit < 60:
            if present:
                notes.append(f"{group}: not run (deadline)")
            write_junit([], junit)
            return
        say(f"{group}: {' '.join(present)}")
        command = " ".join(pytest_cmd(f"{PROJECT}/results/{group}.xml", *present))
        log = RESULTS / f"{group}.log"
        code, seconds = timed(["/bin/sh", "-c", f"cd {PROJECT} && exec {command}"], log, limit)
        if code is not None and (project / "results" / f"{group}.xml").exists():
            shutil.copy2(project / "results" / f"{group}.xml", junit)
        else:
            notes.append(f"{group} stopped after {seconds / 60:.0f} min")
            write_junit(cases_from_log(log, group, "stopped"), junit)
        passed, total, _ = _counts(junit_cases(junit))
        times.append(f"{group} {seconds / 60:.1f} min {passed}/{total}")
        say(f"{group}: {passed} of {total} passed in {seconds / 60:.1f} min")

    groups = {"equality": compat.EQUALITY, "canaries": compat.CANARIES}
    saved = saved_items() if reuse else {}
    reused = {
        item: saved[item]
        for item in [*every, *groups]
        if item in saved and saved[item]["digest"] == digest(project, item)
    }
    for item, result in reused.items():
        if item in groups:
            write_junit(item_cases(item, result), RESULTS / f"{item}.xml")
        else:
            cases.extend(item_cases(item, result))
            write_junit(item_cases(item, result), RESULTS / f"{item}.xml")
    if reused:
        dates = sorted({r["date"] for r in reused.values()})
        notes.append(
            f"{len(reused)} items from an earlier run of the same inputs ({', '.join(dates)}): "
            + ", ".join(reused)
        )
        say(notes[-1])
    short = [n for n in names if n not in LONG and n not in reused]
    short += [g for g in groups if g not in reused]
    long = [n for n in names if n in LONG and n not in reused]
    # One lane: the short notebooks, the tests, the long ones. More lanes: the first starts
    # with the long notebooks, the others take the short items; each then takes what is left.
    queue = short + long if lanes == 1 else short
    first = [] if lanes == 1 else long
    lock = threading.Lock()

    def lane(mine: list[str]) -> None:
        while True:
            with lock:
                if not mine and not queue:
                    return
                item = mine.pop(0) if mine else queue.pop(0)
            if item in groups:
                tests(item, groups[item])
            else:
                notebook(item)

    with Mounts():
        threads = [
            threading.Thread(target=lane, args=(first if k == 0 else [],)) for k in range(lanes)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if not_run:
            notes.append("not run (deadline): " + ", ".join(not_run))
        write_junit(cases, RESULTS / "notebooks.xml")
        info = subprocess.run(
            [
                CHROOT_BIN,
                str(CHROOT),
                "python3",
                "-c",
                "import platform, torch;"
                "print(torch.__version__, platform.python_version(), platform.machine())",
            ],
            env=QEMU_ENV,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    run_info = {
        "torch": info[0].split("+")[0],
        "python": info[1],
        "platform": info[2],
        "notes": notes,
        "times": times,
        "date": datetime.date.today().isoformat(),
    }
    (RESULTS / "run.json").write_text(json.dumps(run_info, indent=1) + "\n")
    say("times: " + "; ".join(times))
    record_row()
    save_items(project)


def save_items(project: Path) -> None:
    """Add the last run's complete items, with their digests, to ``ITEMS``.

    A notebook is complete when nbval ended by itself (its JUnit file was copied into
    ``RESULTS``); a test group when it has results and did not time out. An item already
    saved with the same digest and the same result keeps its entry (and date).
    """
    run_info = json.loads((RESULTS / "run.json").read_text())
    date = run_info.get("date", datetime.date.today().isoformat())
    stopped = " ".join(run_info["notes"])
    items = saved_items()
    found = {}
    for case in junit_cases(RESULTS / "notebooks.xml"):
        found.setdefault(_where(case), []).append(case)
    for group in ("equality", "canaries"):
        found[group] = junit_cases(RESULTS / f"{group}.xml")
    for item, cases in found.items():
        group = item in ("equality", "canaries")
        complete = bool(cases) and f"{item} stopped" not in stopped
        if not group:
            complete = complete and (RESULTS / f"{item}.xml").exists()
        if not complete:
            continue
        passed, total, failed = _counts(cases)
        entry = {
            "digest": digest(project, item),
            "date": date,
            "passed": passed,
            "total": total,
            "failed": failed,
        }
        old = items.get(item)
        if old and {k: v for k, v in old.items() if k != "date"} == {
            k: v for k, v in entry.items() if k != "date"
        }:
            continue
        items[item] = entry
    ITEMS.write_text(json.dumps(dict(sorted(items.items())), indent=1) + "\n")
    say(f"{ITEMS.relative_to(ROOT)}: {len(items)} items")


def record_row() -> None:
    """Write the row of the last run (``_build/arm64/results``) with ``run.py --record``.

    The notes name the emulation, what timed out or did not run, and the failed cells; the
    set-up check's cell (which names an unverified platform) is summarised in one phrase.
    """
    run_info = json.loads((RESULTS / "run.json").read_text())
    groups = {g: _counts(junit_cases(RESULTS / f"{g}.xml")) for g in GROUPS}
    notebooks = groups["notebooks"]
    setup_cells = [n for n in notebooks[2] if n.endswith(" Cell 0")]
    other = [n for n in notebooks[2] if not n.endswith(" Cell 0")]
    notes = ["qemu-user emulation (Neoverse-N1), Debian bookworm arm64", *run_info["notes"]]
    ran = {_where(c) for c in junit_cases(RESULTS / "notebooks.xml")}
    if setup_cells:
        notes.append(
            f"set-up check (Cell 0) fails in {len(setup_cells)} of {len(ran)} notebooks: "
            "it says aarch64 is not a verified platform"
        )
    stopped = {n.split()[0] for n in run_info["notes"] if " stopped after " in n}
    other = [n for n in other if n.split()[0] not in stopped]
    if other:
        notes.append("failed: " + ", ".join(other))
    for group in ("equality", "canaries"):
        if groups[group][2]:
            notes.append(f"{group} failed: " + ", ".join(groups[group][2]))
    counts = ",".join(str(n) for g in GROUPS for n in groups[g][:2])
    record = [
        sys.executable,
        str(HERE / "run.py"),
        "--record",
        "--torch",
        run_info["torch"],
        "--platform",
        run_info["platform"],
        "--python-version",
        run_info["python"],
        "--counts",
        counts,
        "--notes",
        "; ".join(notes),
    ]
    subprocess.run(record, check=True)


def _where(case: ET.Element) -> str:
    """A test case's notebook or test module: ``01_what_dropout_does``, ``test_mt19937``."""
    return case.get("classname", "").removesuffix(".ipynb").split(".")[-1]


def _counts(cases: list[ET.Element]) -> tuple[int, int, list[str]]:
    """(passed, total, failed names) of JUnit test cases, as run.junit_counts counts them."""
    failed = [
        f"{_where(c)} {c.get('name', '')}"
        for c in cases
        if any(c.find(tag) is not None for tag in ("failure", "error", "skipped"))
    ]
    return len(cases) - len(failed), len(cases), failed


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", nargs="?", choices=["setup", "run", "record", "all"], default="all")
    parser.add_argument("--only", nargs="*", default=[], help="notebook name prefixes, e.g. 01 16")
    parser.add_argument("--deadline", help="UTC HH:MM: stop what runs then and record what ran")
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT / 60, help="minutes per notebook"
    )
    parser.add_argument(
        "--lanes", type=int, default=1, help="items run at once (one per core: 2 here)"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="run every item, even those saved in ITEMS"
    )
    args = parser.parse_args(argv)
    # Stopped with SIGTERM, still unmount /dev and end what runs in the root (Mounts.__exit__).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    if os.geteuid() != 0:
        parser.error("needs root (apt-get, mount, chroot)")
    deadline = None
    if args.deadline:
        hour, minute = map(int, args.deadline.split(":"))
        now = datetime.datetime.now(datetime.UTC)
        deadline = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if deadline < now:
            deadline += datetime.timedelta(days=1)
    if args.step in ("setup", "all"):
        setup()
    if args.step in ("run", "all"):
        install_dropmini(WORK / "setup.log")
        run_all(args.only, deadline, args.timeout * 60, args.lanes, reuse=not args.fresh)
    if args.step == "record":
        record_row()
        save_items(CHROOT / PROJECT.lstrip("/"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
