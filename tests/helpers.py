"""Test helpers: inputs in every layout, and running dropmini and torch side by side.

Imported as ``helpers`` (pytest puts ``tests/`` on ``sys.path``, as for ``conftest``).
Fixtures and hooks live in ``conftest.py``; plain functions and tables live here.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml

import dropmini

ROOT = Path(__file__).resolve().parent.parent

SPECIALS = (float("inf"), float("-inf"), float("nan"), -0.0, 0.0)

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
#: Every dtype the paths that draw nothing must accept, as torch does.
ALL_DTYPES = (*FLOAT_DTYPES, torch.int64, torch.int32, torch.uint8, torch.bool, torch.complex64)

#: dropmini function -> its torch twin, by name.
FUNCTIONS: dict[str, tuple[Callable, Callable]] = {
    "dropout": (dropmini.dropout, F.dropout),
    "dropout1d": (dropmini.dropout1d, F.dropout1d),
    "dropout2d": (dropmini.dropout2d, F.dropout2d),
    "dropout3d": (dropmini.dropout3d, F.dropout3d),
    "alpha_dropout": (dropmini.alpha_dropout, F.alpha_dropout),
    "feature_alpha_dropout": (dropmini.feature_alpha_dropout, F.feature_alpha_dropout),
}
#: dropmini module -> its torch twin, by name.
MODULES: dict[str, tuple[type, type]] = {
    "Dropout": (dropmini.Dropout, torch.nn.Dropout),
    "Dropout1d": (dropmini.Dropout1d, torch.nn.Dropout1d),
    "Dropout2d": (dropmini.Dropout2d, torch.nn.Dropout2d),
    "Dropout3d": (dropmini.Dropout3d, torch.nn.Dropout3d),
    "AlphaDropout": (dropmini.AlphaDropout, torch.nn.AlphaDropout),
    "FeatureAlphaDropout": (dropmini.FeatureAlphaDropout, torch.nn.FeatureAlphaDropout),
}
#: A batched input shape each function expects without a warning.
BATCHED_SHAPE = {
    "dropout": (2, 3, 4),
    "dropout1d": (2, 3, 4),
    "dropout2d": (2, 3, 2, 2),
    "dropout3d": (2, 3, 2, 2, 2),
    "alpha_dropout": (2, 3, 4),
    "feature_alpha_dropout": (2, 3, 2, 2),
}


def name_of(dtype: torch.dtype) -> str:
    """``torch.float32`` -> ``'float32'``, for test ids."""
    return str(dtype).removeprefix("torch.")


def shape_id(shape: tuple[int, ...]) -> str:
    """``(3, 5)`` -> ``'3x5'``; ``()`` -> ``'0d'``, for test ids."""
    return "x".join(map(str, shape)) if shape else "0d"


def make_input(
    shape: tuple[int, ...],
    dtype: torch.dtype,
    layout: str = "contiguous",
    seed: int = 0,
    specials: bool = False,
) -> torch.Tensor:
    """A tensor of ``shape`` and ``dtype`` in ``layout`` ('contiguous', 'transposed' or 'sliced').

    Values are drawn in float64 from a private generator and cast, so they do not
    depend on the CPU's vector kernels. Integer dtypes get small integers, bool
    gets a random pattern, complex gets random real and imaginary parts. With
    ``specials`` (floating and complex only) five elements become inf, -inf,
    NaN, -0.0 and 0.0.
    """
    g = torch.Generator().manual_seed(seed)

    def draw(size: tuple[int, ...]) -> torch.Tensor:
        x = torch.randn(size, generator=g, dtype=torch.float64)
        if dtype == torch.bool:
            return x > 0
        if dtype.is_complex:
            return torch.complex(x, torch.randn(size, generator=g, dtype=torch.float64)).to(dtype)
        if not dtype.is_floating_point:
            return (x * 10).abs().round().to(dtype)
        return x.to(dtype)

    if layout == "sliced" and shape:
        x = draw((*shape[:-1], 2 * shape[-1] + 1))[..., 1::2]
    elif layout == "transposed" and len(shape) >= 2:
        x = draw((*shape[:-2], shape[-1], shape[-2])).transpose(-1, -2)
    elif layout == "contiguous":
        x = draw(shape)
    else:
        raise ValueError(f"layout {layout!r} does not apply to shape {shape}")
    assert x.shape == torch.Size(shape)
    if layout != "contiguous" and x.numel() > 1:
        assert not x.is_contiguous()
    can_hold_specials = dtype.is_floating_point or dtype.is_complex
    if specials and can_hold_specials and x.numel() >= len(SPECIALS):
        flat = torch.randperm(x.numel(), generator=g)[: len(SPECIALS)]
        for value, index in zip(SPECIALS, flat.tolist(), strict=True):
            x[torch.unravel_index(torch.tensor(index), shape)] = value
    return x


def layouts_for(shape: tuple[int, ...]) -> list[str]:
    """The layouts that are distinct for ``shape`` (no transposing a vector)."""
    if not shape:
        return ["contiguous"]
    if len(shape) == 1:
        return ["contiguous", "sliced"]
    return ["contiguous", "transposed", "sliced"]


def copy_with_strides(x: torch.Tensor) -> torch.Tensor:
    """A copy of ``x`` with the same strides (so the same memory order)."""
    y = torch.empty_strided(x.shape, x.stride(), dtype=x.dtype)
    y.copy_(x)
    return y


@dataclass
class Run:
    """What one call did: its result (or exception), warnings, RNG state and input after."""

    out: torch.Tensor | None
    error: type[BaseException] | None
    message: str
    warnings: list[tuple[type[Warning], str]]
    rng_after: torch.Tensor
    returned_input: bool
    input_after: torch.Tensor
    stride: tuple[int, ...] | None = field(default=None)


def run(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, seed: int) -> Run:
    """Call ``fn(x)`` after ``torch.manual_seed(seed)`` and record everything it did."""
    torch.manual_seed(seed)
    out, error, message = None, None, ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = fn(x)
        except Exception as e:  # noqa: BLE001 - the class and text are what we compare
            error, message = type(e), str(e)
    return Run(
        out=out,
        error=error,
        message=message,
        warnings=[(w.category, str(w.message)) for w in caught],
        rng_after=torch.get_rng_state(),
        returned_input=out is x,
        input_after=x.detach().clone(),
        stride=out.stride() if isinstance(out, torch.Tensor) else None,
    )


def assert_same_run(ours: Run, theirs: Run, *, same_message: bool = True) -> None:
    """Same error (class and text), warnings, bits, strides, identity, input and RNG state."""
    assert ours.error == theirs.error, (ours.message, theirs.message)
    if same_message:
        assert ours.message == theirs.message
    assert ours.warnings == theirs.warnings
    assert dropmini.same_bits(ours.input_after, theirs.input_after), "input changed differently"
    assert torch.equal(ours.rng_after, theirs.rng_after), "RNG consumption differs"
    if theirs.error is not None:
        return
    assert dropmini.same_bits(ours.out.detach(), theirs.out.detach()), (ours.out, theirs.out)
    assert ours.stride == theirs.stride, "output memory layout differs"
    assert ours.returned_input == theirs.returned_input


def run_both(
    ours: Callable[[torch.Tensor], torch.Tensor],
    theirs: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    seed: int,
) -> tuple[Run, Run]:
    """:func:`run` each callable on its own :func:`copy_with_strides` of ``x``."""
    return run(ours, copy_with_strides(x), seed), run(theirs, copy_with_strides(x), seed)


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


#: The book's editions: English (``_config.yml``) and Japanese (plus ``book/locale/ja``).
EDITIONS = ("en", "ja")


def build_editions(out: Path, builder: str) -> dict[str, subprocess.CompletedProcess]:
    """Build every edition from clean with -W -n under ``out/<edition>``, side by side.

    Each build uses about one core, so the two run at once. The Japanese configuration is
    written by ``book/_ext/editions.py`` as ``make book`` writes it. Returns each build's
    completed process (return code, stdout, stderr) by edition.
    """
    jupyter_book = str(Path(sys.executable).parent / "jupyter-book")
    flags = ["-W", "-n", "--keep-going", "--builder", builder]
    commands = {}
    for edition in EDITIONS:
        config = []
        if edition != "en":
            target = out / edition / "_config.yml"
            editions = str(ROOT / "book" / "_ext" / "editions.py")
            subprocess.run([sys.executable, editions, "config", edition, str(target)], check=True)
            config = ["--config", str(target)]
        commands[edition] = [
            jupyter_book, "build", str(ROOT), *config, "--path-output", str(out / edition), *flags
        ]  # fmt: skip
    running = {
        edition: subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for edition, cmd in commands.items()
    }
    done = {}
    for edition, process in running.items():
        stdout, stderr = process.communicate()
        done[edition] = subprocess.CompletedProcess(
            commands[edition], process.returncode, stdout, stderr
        )
    return done
