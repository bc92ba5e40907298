"""The set-up check that opens every chapter.

A reader who downloaded the notebooks runs them with their own Python and packages. The
first code cell of each chapter calls :func:`check_environment`, which prints one line: that
the set-up is the one the stored outputs were checked with, or what differs and the exact
command that fixes it. (If ``dropmini`` itself is missing, the cell cannot import this
module; it then prints the install command itself.)

Examples
--------
>>> from dropmini.lab.environment import advice
>>> advice({"torch": "2.13.0", "dropmini": "0.1.0", "matplotlib": "3.11.2"})
'Set-up OK: torch 2.13.0, the release these outputs were checked with.'
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata

#: The torch release every stored output was checked with (requirements.txt pins it).
VERIFIED_TORCH = "2.13.0"

#: What the chapters import besides torch and dropmini.
NEEDED = ("matplotlib", "numba", "numpy", "scikit-learn", "timm", "torchvision")

#: The command that installs the checked set-up, run in the download bundle's folder.
INSTALL = "pip install -r requirements.txt"


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


def advice(versions: Mapping[str, str]) -> str:
    """One line on a set-up: OK, or what is missing or different and the command that fixes it.

    Parameters
    ----------
    versions : mapping
        Distribution name to installed version (``""`` for missing), as from
        :func:`installed_versions`.

    Returns
    -------
    str
        The line to print.

    Examples
    --------
    >>> advice({"torch": "2.13.0", "dropmini": "0.1.0", "matplotlib": ""})
    'Missing: matplotlib. Fix: pip install -r requirements.txt (in the download bundle folder).'
    >>> print(advice({"torch": "2.12.1", "dropmini": "0.1.0"}))
    torch 2.12.1 is installed; these outputs were checked with 2.13.0. Masks and numbers may
    still agree, messages and reprs may not. For the checked release: pip install torch==2.13.0
    """
    missing = [name for name, version in versions.items() if not version]
    if missing:
        return f"Missing: {', '.join(missing)}. Fix: {INSTALL} (in the download bundle folder)."
    torch_version = versions.get("torch", VERIFIED_TORCH).split("+")[0]
    if torch_version != VERIFIED_TORCH:
        return (
            f"torch {torch_version} is installed; these outputs were checked with "
            f"{VERIFIED_TORCH}. Masks and numbers may\nstill agree, messages and reprs may not. "
            f"For the checked release: pip install torch=={VERIFIED_TORCH}"
        )
    return f"Set-up OK: torch {torch_version}, the release these outputs were checked with."


def check_environment() -> None:
    """Print :func:`advice` for this Python's installed packages.

    Examples
    --------
    >>> check_environment()  # doctest: +ELLIPSIS
    Set-up OK: torch 2.13.0, ...
    """
    print(advice(installed_versions()))
