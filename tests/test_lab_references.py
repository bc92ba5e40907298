"""The real timm and torchvision code, loaded from their installed files, against drop_path."""

from __future__ import annotations

import base64
import hashlib
import inspect
import itertools
import re
import sys
import types
from importlib import metadata
from pathlib import Path

import pytest
import torch
from helpers import ROOT

from dropmini.compare import same_bits
from dropmini.droppath import drop_path
from dropmini.lab import references

# The two drop_path references.
LOADERS = {
    "timm": references.timm_drop_path,
    "torchvision": references.torchvision_stochastic_depth,
}
# Every loader: (distribution, the file it must run, loader).
ALL_LOADED = [
    ("timm", "timm/layers/drop.py", references.timm_drop_path),
    ("torchvision", "torchvision/ops/stochastic_depth.py", references.torchvision_stochastic_depth),
    ("torchvision", "torchvision/ops/drop_block.py", references.torchvision_drop_block2d),
]


def requirement_pins() -> dict[str, str]:
    """Name -> version for every ``name==version`` line of requirements.txt."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def family(top: str) -> dict[str, types.ModuleType]:
    return {n: m for n, m in sys.modules.items() if n == top or n.startswith(f"{top}.")}


# Where the code comes from ------------------------------------------------------------


@pytest.mark.parametrize("name", ["timm", "torchvision"])
def test_installed_release_is_the_pinned_one(name):
    pins = requirement_pins()
    assert metadata.version(name) == pins[name]
    assert references.PINNED[name] == pins[name]


@pytest.mark.parametrize("name,file,loader", ALL_LOADED, ids=[f for _, f, _ in ALL_LOADED])
def test_loaded_function_is_the_distributions_own_unmodified_file(name, file, loader):
    function = loader()
    source = Path(inspect.getsourcefile(function)).resolve()
    dist = metadata.distribution(name)
    (record,) = [f for f in dist.files if str(f) == file]
    assert source == Path(dist.locate_file(record)).resolve()
    assert "site-packages" in source.parts
    # The file's bytes are the ones pip recorded when it installed the wheel.
    assert record.hash.mode == "sha256"
    digest = base64.urlsafe_b64encode(hashlib.sha256(source.read_bytes()).digest())
    assert digest.rstrip(b"=").decode() == record.hash.value
    assert function.__code__.co_filename == str(source)


def test_torchvision_function_is_its_public_stochastic_depth():
    function = references.torchvision_stochastic_depth()
    assert function.__name__ == "stochastic_depth"
    assert function.__module__ == "torchvision.ops.stochastic_depth"
    assert list(inspect.signature(function).parameters) == ["input", "p", "mode", "training"]
    with pytest.raises(ValueError, match="mode has to be either"):
        function(torch.ones(2, 2), 0.5, "column")


def test_torchvision_drop_block_is_its_public_drop_block2d():
    function = references.torchvision_drop_block2d()
    assert function.__name__ == "drop_block2d"
    assert function.__module__ == "torchvision.ops.drop_block"
    assert list(inspect.signature(function).parameters) == [
        "input", "p", "block_size", "inplace", "eps", "training",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="block size should be odd"):
        function(torch.ones(1, 1, 4, 4), 0.5, 2)
    torch.manual_seed(0)
    before = torch.get_rng_state()
    out = function(torch.ones(8, 2, 6, 6), 0.3, 3)
    # It drops some units, keeps others, and moves the generator: the chapter's
    # comparisons with it are not vacuous.
    assert 0 < int((out == 0).sum()) < out.numel()
    assert not torch.equal(before, torch.get_rng_state())


# Same bits and same generator state ---------------------------------------------------

DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
GRID = list(
    itertools.product(DTYPES, (0.0, 0.1, 0.5, 1.0), (0, 3), ((6, 3, 4), (5,), (4, 2, 3, 3)))
)


@pytest.fixture(scope="module")
def real():
    return {name: loader() for name, loader in LOADERS.items()}


@pytest.mark.parametrize("training", [True, False])
def test_drop_path_matches_the_real_code_in_bits_and_generator_state(real, training):
    mismatches = []
    for dtype, p, seed, shape in GRID:
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(shape, dtype=torch.float64, generator=g).to(dtype)
        calls = {
            "timm": lambda t, p=p: real["timm"](t, p, training),
            "torchvision": lambda t, p=p: real["torchvision"](t, p, "row", training),
        }
        torch.manual_seed(seed)
        ours = drop_path(x, p, training=training)
        state = torch.get_rng_state()
        for name, call in calls.items():
            torch.manual_seed(seed)
            theirs = call(x)
            if not (same_bits(ours, theirs) and torch.equal(state, torch.get_rng_state())):
                mismatches.append((name, dtype, p, seed, shape))
    assert mismatches == []


def test_the_grid_draws_and_drops():
    # The comparison above is not vacuous: with p = 0.5 the real code zeroes some samples,
    # keeps others, and moves the generator.
    function = references.timm_drop_path()
    torch.manual_seed(0)
    before = torch.get_rng_state()
    out = function(torch.ones(64, 3), 0.5, True)
    assert 0 < int((out[:, 0] == 0).sum()) < 64
    assert not torch.equal(before, torch.get_rng_state())


# sys.modules afterwards ---------------------------------------------------------------


def test_no_stand_in_is_left_in_sys_modules():
    before = set(sys.modules)
    references.torchvision_stochastic_depth()
    references.torchvision_drop_block2d()
    references.timm_drop_path()
    assert family("torchvision") == {}
    assert not [n for n in set(sys.modules) - before if n.split(".")[0] in ("timm", "torchvision")]
    assert not [
        n
        for n, m in sys.modules.items()
        if isinstance(m, types.ModuleType) and (m.__doc__ or "").startswith("Stand-in for")
    ]


def test_modules_present_before_are_restored(monkeypatch):
    mine = types.ModuleType("torchvision")
    monkeypatch.setitem(sys.modules, "torchvision", mine)
    function = references.torchvision_stochastic_depth()
    assert sys.modules["torchvision"] is mine
    assert family("torchvision") == {"torchvision": mine}
    torch.manual_seed(1)
    assert function(torch.ones(3, 2), 0.0, "row").sum() == 6


def _fake_distribution(root: Path, init: str, module: str, sibling: str = "") -> None:
    """A distribution 'fakedist' with package fakepkg/sub, listed in its RECORD."""
    files = {
        "fakepkg/__init__.py": init,
        "fakepkg/sub/__init__.py": init,
        "fakepkg/sub/mod.py": module,
        "fakepkg/sibling.py": sibling,
    }
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    info = root / "fakedist-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakedist\nVersion: 1.0\n")
    (info / "RECORD").write_text("".join(f"{path},,\n" for path in files))


def test_relative_import_loads_the_installed_sibling_without_any_init(tmp_path, monkeypatch):
    _fake_distribution(
        tmp_path,
        init="raise RuntimeError('a package __init__ ran')\n",
        module="from ..sibling import VALUE\n",
        sibling="VALUE = 42\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded = references.load_installed_module("fakedist", "fakepkg.sub.mod")
    assert loaded.VALUE == 42
    assert Path(loaded.__file__) == (tmp_path / "fakepkg/sub/mod.py").resolve()
    assert family("fakepkg") == {}


def test_a_failing_file_leaves_sys_modules_clean(tmp_path, monkeypatch):
    _fake_distribution(tmp_path, init="", module="raise ZeroDivisionError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ZeroDivisionError, match="boom"):
        references.load_installed_module("fakedist", "fakepkg.sub.mod")
    assert family("fakepkg") == {}


# Errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name,file,loader", ALL_LOADED, ids=[f for _, f, _ in ALL_LOADED])
def test_missing_distribution_names_the_pip_command(name, file, loader, monkeypatch):
    real_distribution = metadata.distribution

    def distribution(wanted):
        if wanted == name:
            raise metadata.PackageNotFoundError(wanted)
        return real_distribution(wanted)

    monkeypatch.setattr(metadata, "distribution", distribution)
    message = f"{name} is not installed. Fix: pip install {name}=={requirement_pins()[name]}"
    with pytest.raises(ImportError, match=re.escape(message) + "$"):
        loader()
    assert family(name) == {}


def test_a_file_the_distribution_does_not_ship_is_refused():
    expected = f"timm {metadata.version('timm')} has no file timm/layers/nope.py"
    with pytest.raises(ImportError, match=re.escape(expected)):
        references.load_installed_module("timm", "timm.layers.nope")
    with pytest.raises(ImportError, match="has no file"):
        references.installed_file("timm", "../../../etc/passwd")
