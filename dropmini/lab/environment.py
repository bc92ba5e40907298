"""The set-up check that opens every chapter.

A reader who downloaded the notebooks runs them with their own Python and packages. The
first code cell of each chapter calls :func:`check_environment`, which prints one line: that
the set-up is one the stored outputs were verified with, or what differs, what to expect
from it and the exact command that fixes it. (If ``dropmini`` itself is missing, the cell
cannot import this module; it then prints the install command itself.)

The verified releases are the rows of the book's compatibility table
(``book/compat/results.csv``, written by ``make compat``) in which every seeded canary passed:
the same masks as the pinned release. ``tests/test_compat_table.py`` checks that
:data:`VERIFIED_RELEASES` and that table agree.

Examples
--------
>>> from dropmini.lab.environment import advice
>>> advice({"torch": "2.13.0", "dropmini": "0.1.0", "matplotlib": "3.11.2"})
'Set-up OK: torch 2.13.0, the release these outputs were checked with.'
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from importlib import metadata

#: The torch release every stored output was made with (requirements.txt pins it).
VERIFIED_TORCH = "2.13.0"

#: The torch releases from :data:`OLDEST_SUPPORTED` on whose compatibility run passed every
#: seeded canary (the masks of torch 2.13.0), on the CPU, by the platform
#: (``platform.machine()``) it ran on. Which notebook cells and equality tests printed or
#: expected something else under each (a version number, a reworded message, torch's handling
#: of complex tensors) is in the table's notes.
VERIFIED_RELEASES: dict[str, tuple[str, ...]] = {
    "x86_64": ("2.7.0", "2.10.0", "2.13.0", "2.15.0"),
    "aarch64": ("2.13.0",),
}

#: The oldest release that draws the book's masks (pyproject.toml's ``torch>=``).
OLDEST_SUPPORTED = "2.7.0"

#: What the chapters import besides torch and dropmini.
NEEDED = ("matplotlib", "numba", "numpy", "scikit-learn", "timm", "torchvision")

#: The command that installs the checked set-up, run in the download bundle's folder.
INSTALL = "pip install -r requirements.txt"


def _release(version: str) -> tuple[int, ...]:
    """``"2.10.0+cpu"`` as ``(2, 10, 0)``, for ordering releases."""
    return tuple(int(part) for part in version.split("+")[0].split(".")[:3] if part.isdigit())


def _listed(versions: tuple[str, ...]) -> str:
    """``("a", "b", "c")`` as ``"a, b and c"``."""
    return versions[0] if len(versions) == 1 else f"{', '.join(versions[:-1])} and {versions[-1]}"


def verified_summary() -> str:
    """The verified releases and platforms in a phrase.

    Returns
    -------
    str
        For example ``"torch 2.10.0, 2.13.0 and 2.15.0 on x86_64"``.

    Examples
    --------
    >>> verified_summary().startswith("torch ")
    True
    """
    return "; ".join(
        f"torch {_listed(versions)} on {machine}" for machine, versions in VERIFIED_RELEASES.items()
    )


def installed_versions(names: tuple[str, ...] = ("torch", "dropmini", *NEEDED)) -> dict[str, str]:
    """The installed version of each distribution, ``""`` for one that is missing.

    Parameters
    ----------
    names : tuple of str
        Distribution names as pip knows them.

    Returns
    -------
    dict
        Name to version string.

    Examples
    --------
    >>> installed_versions(("torch", "no-such-distribution-xyz"))["no-such-distribution-xyz"]
    ''
    """
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = ""
    return versions


def advice(versions: Mapping[str, str], machine: str = "x86_64") -> str:
    """One line on a set-up: OK, or what is missing or different and what to expect.

    Parameters
    ----------
    versions : mapping
        Distribution name to installed version (``""`` for missing), as from
        :func:`installed_versions`.
    machine : str, default "x86_64"
        The processor architecture, as ``platform.machine()`` names it.

    Returns
    -------
    str
        The line to print (two or three lines when the set-up was not verified).

    Examples
    --------
    >>> advice({"torch": "2.13.0", "dropmini": "0.1.0", "matplotlib": ""})
    'Missing: matplotlib. Fix: pip install -r requirements.txt (in the download bundle folder).'
    >>> print(advice({"torch": "2.10.0", "dropmini": "0.1.0"}))  # doctest: +NORMALIZE_WHITESPACE
    Set-up OK: torch 2.10.0 on x86_64, checked to draw the same masks and give the same bits as
    2.13.0; a few cells print other versions or messages (see the verification page).
    >>> print(advice({"torch": "2.6.0", "dropmini": "0.1.0"}))  # doctest: +ELLIPSIS
    torch 2.6.0 on x86_64 is installed; these outputs were verified with torch ... on aarch64.
    Releases before 2.7.0 draw other dropout masks: expect other masks and numbers.
    For the checked release: pip install torch==2.13.0
    """
    missing = [name for name, version in versions.items() if not version]
    if missing:
        return f"Missing: {', '.join(missing)}. Fix: {INSTALL} (in the download bundle folder)."
    torch_version = versions.get("torch", VERIFIED_TORCH).split("+")[0]
    verified_here = VERIFIED_RELEASES.get(machine, ())
    if torch_version == VERIFIED_TORCH and torch_version in verified_here:
        return f"Set-up OK: torch {torch_version}, the release these outputs were checked with."
    if torch_version in verified_here:
        return (
            f"Set-up OK: torch {torch_version} on {machine}, checked to draw the same masks and "
            f"give the same bits as {VERIFIED_TORCH}; a few cells print other versions or "
            "messages (see the verification page)."
        )
    release = _release(torch_version)
    if release < _release(OLDEST_SUPPORTED):
        expect = (
            f"Releases before {OLDEST_SUPPORTED} draw other dropout masks: expect other masks "
            "and numbers."
        )
    elif not verified_here:
        expect = (
            f"On {machine} the masks should be the same, but kernels differ: a few values "
            "(the sign of a zero, the last bits of a sum) and messages may differ."
        )
    else:
        expect = (
            "Expect the same masks and values on the CPU (CUDA draws other masks); messages "
            "and reprs may be worded differently."
        )
    return (
        f"torch {torch_version} on {machine} is installed; these outputs were verified with "
        f"{verified_summary()}.\n{expect}\nFor the checked release: pip install "
        f"torch=={VERIFIED_TORCH}"
    )


def check_environment() -> None:
    """Print :func:`advice` for this Python's installed packages and this machine.

    Examples
    --------
    >>> check_environment()  # doctest: +ELLIPSIS
    Set-up OK: torch 2.13.0, ...
    """
    machine = platform.machine()
    print(
        advice(installed_versions(), {"AMD64": "x86_64", "arm64": "aarch64"}.get(machine, machine))
    )
