"""The committed compatibility table (book/compat/results.csv) and what rests on it.

``make compat`` (tests/compat/run.py) writes the table; it is not run by ``make test``. These
tests check that the table covers every release in tests/compat/versions.txt, that each
supported release passed everything, that no row is older than the pinned release's, and that
pyproject.toml's ``torch>=``, requirements.txt's pin and the set-up check's list of verified
releases all say what the table says. They also test the harness's parsing and the one nbval
sanitizer rule it uses.
"""

from __future__ import annotations

import csv
import importlib.util
import re
import subprocess
import tomllib

import pytest
from helpers import ROOT

from dropmini.lab import environment

COMPAT = ROOT / "tests" / "compat"
_spec = importlib.util.spec_from_file_location("compat_run", COMPAT / "run.py")
harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harness)

VERSIONS = harness.read_versions()
ROWS = harness.read_table()
X86 = {row["torch"]: row for row in ROWS if row["platform"] == "x86_64"}


def _role(word: str) -> list[str]:
    return [version for version, role in VERSIONS if word in role]


PINNED = _role("pinned")
FLOOR = _role("oldest supported")
BELOW = _role("below the floor")
SUPPORTED = [version for version, _ in VERSIONS if version not in BELOW]


def _passed_everything(row: dict[str, str]) -> bool:
    canaries_passed, canaries_total = row["canaries"].split("/")
    return (
        0 < int(row["notebook_cells_total"]) == int(row["notebook_cells_passed"])
        and 0 < int(row["equality_tests_total"]) == int(row["equality_tests_passed"])
        and 0 < int(canaries_total) == int(canaries_passed)
    )


def test_table_has_exactly_the_documented_columns():
    with harness.TABLE.open(newline="") as f:
        header = next(csv.reader(f))
    assert (
        header
        == harness.COLUMNS
        == [
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
    )


def test_versions_list_names_one_pinned_release_and_one_floor():
    assert len(PINNED) == 1 and len(FLOOR) == 1
    assert len(SUPPORTED) >= 4


def test_pinned_release_is_the_one_requirements_txt_pins():
    pins = re.findall(r"^torch==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert pins == PINNED == [environment.VERIFIED_TORCH]


def test_pyproject_torch_floor_is_the_oldest_supported_release():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    torch_spec = next(d for d in project["dependencies"] if re.match(r"torch\b", d))
    floor = re.search(r">=\s*([\d.]+)", torch_spec).group(1)
    assert floor == FLOOR[0] == environment.OLDEST_SUPPORTED
    assert all(harness.release(v) >= harness.release(floor) for v in SUPPORTED)
    assert all(harness.release(v) < harness.release(floor) for v in BELOW)
    upper = re.search(r"<\s*([\d.]+)", torch_spec)
    if upper:
        assert all(harness.release(v) < harness.release(upper.group(1) + ".0") for v in SUPPORTED)


@pytest.mark.parametrize("version", [v for v, _ in VERSIONS])
def test_table_has_an_x86_64_row_for_every_listed_release(version):
    assert version in X86, (
        f"torch {version} is in versions.txt; run: make compat VERSIONS={version}"
    )


def _passed(field_passed: str, field_total: str) -> bool:
    return 0 < int(field_total) == int(field_passed)


@pytest.mark.parametrize("version", SUPPORTED)
def test_every_supported_release_draws_the_pinned_masks(version):
    passed, total = X86[version]["canaries"].split("/")
    assert _passed(passed, total), X86[version]


@pytest.mark.parametrize("version", SUPPORTED)
def test_every_supported_release_passes_every_cell_and_every_equality_test(version):
    # The book's outputs hold under every supported release: where torch rewords a message or
    # changes a repr, the chapters print what stays the same (issue 23).
    assert _passed_everything(X86[version]), X86[version]["notes"]


def test_the_pinned_release_passes_everything():
    assert _passed_everything(X86[PINNED[0]])


@pytest.mark.parametrize("version", BELOW)
def test_a_release_below_the_floor_is_shown_failing_the_canaries(version):
    passed, total = map(int, X86[version]["canaries"].split("/"))
    assert total > 0 and passed < total


@pytest.mark.parametrize("version", [v for v, _ in VERSIONS])
def test_no_listed_row_is_older_than_the_pinned_releases(version):
    assert X86[version]["date"] >= X86[PINNED[0]]["date"], (
        f"torch {version}'s row predates the pinned release's: re-run make compat"
    )


def test_supported_rows_ran_the_same_equality_tests():
    assert len({X86[v]["equality_tests_total"] for v in SUPPORTED}) == 1


def test_set_up_check_names_exactly_the_verified_releases():
    # Verified: from the floor on, every seeded canary passed (the pinned release's masks).
    verified: dict[str, set[str]] = {}
    for row in ROWS:
        passed, total = row["canaries"].split("/")
        if harness.release(row["torch"]) >= harness.release(FLOOR[0]) and _passed(passed, total):
            verified.setdefault(row["platform"], set()).add(row["torch"])
    assert {m: set(v) for m, v in environment.VERIFIED_RELEASES.items()} == verified
    for versions in environment.VERIFIED_RELEASES.values():
        assert list(versions) == sorted(versions, key=harness.release)


def test_set_up_check_tells_a_verified_release_from_others(monkeypatch):
    monkeypatch.setitem(environment.VERIFIED_RELEASES, "x86_64", ("2.10.0", "2.13.0"))
    ok = environment.advice({"torch": "2.10.0+cu128", "dropmini": "0.1.0"}, "x86_64")
    assert ok.startswith("Set-up OK: torch 2.10.0 on x86_64, checked to draw the same masks")
    below = environment.advice({"torch": "2.6.0", "dropmini": "0.1.0"}, "x86_64")
    assert "other dropout masks" in below and "pip install torch==2.13.0" in below
    between = environment.advice({"torch": "2.11.0", "dropmini": "0.1.0"}, "x86_64")
    assert "same masks" in between and "CUDA draws other masks" in between
    other = environment.advice({"torch": "2.13.0", "dropmini": "0.1.0"}, "riscv64")
    assert not other.startswith("Set-up OK") and "riscv64" in other


# --- the nbval sanitizer rule (tests/compat/nbval_sanitize.cfg) ---

PATTERNS = re.findall(
    r"^regex: (.*)$\n^replace: (.*)$", (COMPAT / "nbval_sanitize.cfg").read_text(), re.M
)


def _sanitize(text: str) -> str:
    for regex, replace in PATTERNS:
        text = re.sub(regex, replace, text)
    return text


def test_sanitizer_has_one_rule():
    assert len(PATTERNS) == 1


def test_sanitizer_makes_the_pinned_and_a_verified_set_up_line_equal(monkeypatch):
    monkeypatch.setitem(environment.VERIFIED_RELEASES, "x86_64", ("2.10.0", "2.13.0"))
    pinned = environment.advice({"torch": "2.13.0", "dropmini": "0.1.0"}) + "\n"
    other = environment.advice({"torch": "2.10.0", "dropmini": "0.1.0"}) + "\n"
    assert pinned != other and _sanitize(pinned) == _sanitize(other)


@pytest.mark.parametrize(
    "text",
    [
        "Missing: matplotlib. Fix: pip install -r requirements.txt (in the download bundle).",
        environment.advice({"torch": "2.6.0", "dropmini": "0.1.0"}),
        "Set-up OK: torch 2.10.0 on x86_64, checked to draw the same masks and give the same "
        "bits as 2.13.0; a few cells print other versions or messages (see the verification "
        "page). p=0.5",
        "Set-up OK: torch 2.10.0 on x86_64, checked to draw the same masks and give the same "
        "bits as 2.12.0; a few cells print other versions or messages (see the verification "
        "page).",
        "mean 0.5012, Set-up OK: torch 2.13.0, the release these outputs were checked with.",
        "tensor([2., 4., 6., 8.])\nRuntimeError: Sigmoid is at version 1",
    ],
)
def test_sanitizer_leaves_every_other_text_alone(text):
    assert _sanitize(text) == text


# --- the harness (tests/compat/run.py) ---

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="notebooks.04_inplace.ipynb" name="Cell 0"/>
<testcase classname="notebooks.04_inplace.ipynb" name="Cell 1"><failure message="x"/></testcase>
<testcase classname="notebooks.13_performance.ipynb" name="Cell 2"><skipped/></testcase>
<testcase classname="notebooks.21_rng.ipynb" name="Cell 3"><error message="y"/></testcase>
</testsuite></testsuites>"""


def test_junit_counts_a_failure_a_skip_and_an_error_as_not_passed(tmp_path):
    path = tmp_path / "r.xml"
    path.write_text(JUNIT)
    passed, total, failed = harness.junit_counts(path)
    assert (passed, total) == (1, 4)
    assert len(failed) == 3 and "Cell 1" in failed[0]


def test_record_replaces_the_row_of_the_same_release_and_platform(tmp_path):
    table = tmp_path / "results.csv"
    counts = (3, 3, []), (2, 2, []), (1, 1, [])
    harness.record(
        harness.make_row("2.10.0", "x86_64", "3.11.7", *counts, date="2026-01-01"), table
    )
    harness.record(harness.make_row("2.9.1", "aarch64", "3.11.2", *counts), table)
    failing = (2, 3, ["04_inplace Cell 1"]), (2, 2, []), (0, 1, ["canary"])
    harness.record(harness.make_row("2.10.0", "x86_64", "3.11.7", *failing), table)
    rows = harness.read_table(table)
    assert [(r["torch"], r["platform"]) for r in rows] == [
        ("2.9.1", "aarch64"),
        ("2.10.0", "x86_64"),
    ]
    assert rows[1]["notebook_cells_passed"] == "2" and rows[1]["canaries"] == "0/1"
    assert "04_inplace Cell 1" in rows[1]["notes"]


def test_record_command_line_writes_a_row_from_counts(tmp_path, monkeypatch):
    table = tmp_path / "results.csv"
    monkeypatch.setattr(harness, "TABLE", table)
    monkeypatch.setattr(harness.record, "__defaults__", (table,))
    harness.main(
        "--record --torch 2.9.1 --platform aarch64 --python-version 3.11.2 "
        "--counts 5,6,7,7,2,2 --date 2026-12-02".split()
        + ["--notes", "under qemu"]
    )
    (row,) = harness.read_table(table)
    assert row["notebook_cells_passed"] == "5" and row["notebook_cells_total"] == "6"
    assert row["canaries"] == "2/2" and row["notes"] == "under qemu"


def test_make_compat_runs_the_harness_over_the_list():
    out = subprocess.run(["make", "-n", "compat"], cwd=ROOT, capture_output=True, text=True)
    assert "tests/compat/run.py --all" in out.stdout


def test_verification_page_renders_the_table_and_names_the_verified_releases():
    page = (ROOT / "book" / "verification.md").read_text()
    assert ":file: compat/results.csv" in page
    section = page.split("## Other torch releases", 1)[1]
    for machine, versions in environment.VERIFIED_RELEASES.items():
        assert environment.verified_summary() in section or all(v in section for v in versions)
        assert machine in section


# ---------------------------------------------------------------- arm64.py's saved items
_arm_spec = importlib.util.spec_from_file_location("compat_arm64", COMPAT / "arm64.py")
arm64 = importlib.util.module_from_spec(_arm_spec)
_arm_spec.loader.exec_module(arm64)


def _project(tmp_path):
    """A snapshot as arm64.snapshot() lays it out, with two notebooks and one test file."""
    project = tmp_path / "project"
    for path, text in {
        "notebooks/01_a.ipynb": "{}",
        "notebooks/02_b.ipynb": "{}",
        **{
            f: "def test(): pass\n" for f in ("tests/test_torch_parity.py", "tests/test_browser.py")
        },
        **{f: "" for f in ("tests/helpers.py", "tests/conftest.py", "tests/compat/fingerprint.py")},
        **{
            i.split("::")[0]: ""
            for i in arm64.compat.EQUALITY + arm64.compat.CANARIES
            if "test_torch_parity" not in i
        },
        "dropmini/__init__.py": "",
        "pyproject.toml": "[project]\n",
        "sanitize.cfg": "",
    }.items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text)
    return project


def test_digest_follows_the_notebook_dropmini_and_the_tests(tmp_path, monkeypatch):
    monkeypatch.setattr(arm64, "WORK", tmp_path)
    (tmp_path / "requirements-arm64.txt").write_text("torch==2.13.0\n")
    project = _project(tmp_path)
    items = ("01_a", "02_b", "equality", "canaries")
    before = {item: arm64.digest(project, item) for item in items}
    (project / "notebooks" / "01_a.ipynb").write_text('{"cells": []}')
    assert arm64.digest(project, "01_a") != before["01_a"]
    assert arm64.digest(project, "02_b") == before["02_b"]
    assert arm64.digest(project, "equality") == before["equality"]
    (project / "tests" / "test_browser.py").write_text("def test(): assert 0\n")  # not run
    assert arm64.digest(project, "equality") == before["equality"]
    (project / "tests" / "test_torch_parity.py").write_text("def test(): assert 0\n")
    assert arm64.digest(project, "equality") != before["equality"]
    (project / "tests" / "compat" / "fingerprint.py").write_text("x = 1\n")
    assert arm64.digest(project, "canaries") != before["canaries"]
    (project / "dropmini" / "__init__.py").write_text("x = 1\n")
    assert arm64.digest(project, "02_b") != before["02_b"]
    (tmp_path / "requirements-arm64.txt").write_text("torch==2.15.0\n")
    changed = arm64.digest(project, "02_b")
    (tmp_path / "requirements-arm64.txt").write_text("torch==2.13.0\n")
    assert arm64.digest(project, "02_b") != changed


def test_saved_items_round_trip_and_a_stopped_notebook_is_not_saved(tmp_path, monkeypatch):
    monkeypatch.setattr(arm64, "WORK", tmp_path)
    monkeypatch.setattr(arm64, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(arm64, "ITEMS", tmp_path / "items.json")
    monkeypatch.setattr(arm64, "ROOT", tmp_path)
    (tmp_path / "requirements-arm64.txt").write_text("torch==2.13.0\n")
    project = _project(tmp_path)
    results = tmp_path / "results"
    results.mkdir()

    def case(where, name, ok=True):
        element = arm64.ET.Element("testcase", classname=where, name=name)
        if not ok:
            arm64.ET.SubElement(element, "failure", message="x")
        return element

    done = [case("notebooks.01_a", "Cell 0"), case("notebooks.01_a", "Cell 1", ok=False)]
    stopped = [case("notebooks.02_b", "Cell 0"), case("notebooks.02_b", "Cell 1", ok=False)]
    arm64.write_junit(done + stopped, results / "notebooks.xml")
    arm64.write_junit(done, results / "01_a.xml")  # only a notebook that ended has its file
    arm64.write_junit([case("test_torch_parity", "test")] * 3, results / "equality.xml")
    arm64.write_junit([], results / "canaries.xml")  # not run
    (results / "run.json").write_text(
        '{"notes": ["02_b stopped after 9 min"], "date": "2026-12-02"}'
    )
    arm64.save_items(project)
    items = arm64.saved_items()
    assert sorted(items) == ["01_a", "equality"]
    assert items["01_a"]["passed"] == 1 and items["01_a"]["failed"] == ["01_a Cell 1"]
    assert items["equality"]["total"] == 3 and items["equality"]["digest"] == arm64.digest(
        project, "equality"
    )
    passed, total, failed = arm64._counts(arm64.item_cases("01_a", items["01_a"]))
    assert (passed, total, failed) == (1, 2, ["01_a Cell 1"])
