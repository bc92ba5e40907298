"""Helpers that run dropmini and torch side by side from the same RNG state."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import yaml

import dropmini

SPECIALS = (float("inf"), float("-inf"), float("nan"), -0.0, 0.0)


@dataclass
class Run:
    """What one call did: its result (or exception), warnings and RNG state after."""

    out: torch.Tensor | None
    error: type[BaseException] | None
    warnings: list[type[Warning]]
    rng_after: torch.Tensor
    returned_input: bool
    input_after: torch.Tensor


def make_input(
    shape: tuple[int, ...], dtype: torch.dtype, layout: str, seed: int, specials: bool
) -> torch.Tensor:
    """A tensor of ``shape`` in ``layout`` ('contiguous', 'transposed' or 'sliced')."""
    g = torch.Generator().manual_seed(seed)

    def randn(size: tuple[int, ...]) -> torch.Tensor:
        return torch.randn(size, generator=g, dtype=torch.float64).to(dtype)

    if layout == "sliced" and shape:
        x = randn((*shape[:-1], 2 * shape[-1] + 1))[..., 1::2]
    elif layout == "transposed" and len(shape) >= 2:
        x = randn((*shape[:-2], shape[-1], shape[-2])).transpose(-1, -2)
    else:
        x = randn(shape)
    assert x.shape == torch.Size(shape)
    if layout != "contiguous" and x.numel() > 1:
        assert not x.is_contiguous()
    if specials and x.numel() >= len(SPECIALS):
        flat = torch.randperm(x.numel(), generator=g)[: len(SPECIALS)]
        for value, index in zip(SPECIALS, flat.tolist(), strict=True):
            x[torch.unravel_index(torch.tensor(index), shape)] = value
    return x


def twin(x: torch.Tensor) -> torch.Tensor:
    """A copy of ``x`` with the same strides (so the same memory order)."""
    y = torch.empty_strided(x.shape, x.stride(), dtype=x.dtype)
    y.copy_(x)
    return y


def run(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, seed: int) -> Run:
    torch.manual_seed(seed)
    out, error = None, None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = fn(x)
        except Exception as e:  # noqa: BLE001 - the class is what we compare
            error = type(e)
    return Run(
        out=out,
        error=error,
        warnings=[w.category for w in caught],
        rng_after=torch.get_rng_state(),
        returned_input=out is x,
        input_after=x.detach().clone(),
    )


def assert_same_run(ours: Run, theirs: Run) -> None:
    assert ours.error == theirs.error
    assert ours.warnings == theirs.warnings
    if theirs.error is not None:
        return
    assert dropmini.same_bits(ours.out, theirs.out), (ours.out, theirs.out)
    assert ours.returned_input == theirs.returned_input
    assert dropmini.same_bits(ours.input_after, theirs.input_after)
    assert torch.equal(ours.rng_after, theirs.rng_after), "RNG consumption differs"


@pytest.fixture(autouse=True)
def _restore_rng():
    state = torch.get_rng_state()
    yield
    torch.set_rng_state(state)


ROOT = Path(__file__).resolve().parent.parent


def toc_pages() -> list[str]:
    """Every page listed in _toc.yml, as paths without suffix (e.g. 'notebooks/01_...')."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part["chapters"])
    return pages


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """Build the book from clean with -W -n into a temporary folder, once per session."""
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(out),
         "-W", "-n", "--keep-going", "--builder", "html"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return out / "_build" / "html", result


def pytest_collection_modifyitems(items):
    """Mark every nbval item (a notebook cell) with ``notebooks``."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebooks)
