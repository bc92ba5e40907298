"""The real timm and torchvision code that chapter 20 compares dropmini's relatives with.

Neither package can be imported next to the CPU build of torch 2.13.0:
``import torchvision`` fails with ``RuntimeError: operator torchvision::nms does not
exist``, because its compiled extension links CUDA libraries that the CPU build lacks,
and ``import timm`` imports torchvision first. The functions the chapter needs are
plain torch code in single files, so this module runs those installed files themselves,
found through the distributions' metadata, without the packages' ``__init__``.

Examples
--------
>>> drop_path = timm_drop_path()
>>> drop_path.__module__
'timm.layers.drop'
>>> _ = torch.manual_seed(4)
>>> drop_path(torch.ones(4, 2), 0.5, True)  # timm's own code: one draw per sample
tensor([[2., 2.],
        [0., 0.],
        [2., 2.],
        [0., 0.]])
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import torch

__all__ = [
    "PINNED",
    "installed_file",
    "load_installed_module",
    "timm_drop_path",
    "torchvision_drop_block2d",
    "torchvision_stochastic_depth",
]

#: The releases the chapter compares with (requirements.txt pins the same).
PINNED = {"timm": "1.0.31", "torchvision": "0.28.0"}


def installed_file(distribution: str, path: str) -> Path:
    """The absolute path of a file that an installed distribution ships.

    Parameters
    ----------
    distribution : str
        The distribution's name as pip knows it, e.g. ``"timm"``.
    path : str
        The file's path inside the installation, with ``/``, as the distribution's
        ``RECORD`` lists it, e.g. ``"timm/layers/drop.py"``.

    Returns
    -------
    ``pathlib.Path``
        Where the file is, resolved.

    Raises
    ------
    ImportError
        If the distribution is not installed (the message gives the pip command), or it
        does not ship ``path``.

    Examples
    --------
    >>> installed_file("timm", "timm/layers/drop.py").parts[-3:]
    ('timm', 'layers', 'drop.py')
    >>> installed_file("not-installed-xyz", "x.py")
    Traceback (most recent call last):
    ImportError: not-installed-xyz is not installed. Fix: pip install not-installed-xyz
    """
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        pin = f"=={PINNED[distribution]}" if distribution in PINNED else ""
        raise ImportError(
            f"{distribution} is not installed. Fix: pip install {distribution}{pin}"
        ) from None
    listed = dist.files
    file = Path(dist.locate_file(path)).resolve()
    if (listed is not None and path not in {str(f) for f in listed}) or not file.is_file():
        raise ImportError(f"{distribution} {dist.version} has no file {path}")
    return file


def load_installed_module(distribution: str, module: str) -> types.ModuleType:
    """Run one installed source file of a distribution as a module, without its packages.

    The file is ``module`` with dots turned into ``/`` plus ``.py``. Its parent packages
    are stand-ins while it runs, empty modules whose ``__path__`` is the installed folder,
    so a relative import inside it (``from ..utils import ...``) loads the installed
    sibling file, but no package's ``__init__`` runs. Afterwards ``sys.modules`` holds,
    under the top-level package's name, what it held before: the stand-ins, the module
    and anything imported through them are removed (the module keeps what it imported).

    Parameters
    ----------
    distribution : str
        The distribution that ships the file, e.g. ``"torchvision"``.
    module : str
        The module's dotted name, e.g. ``"torchvision.ops.stochastic_depth"``.

    Returns
    -------
    ``types.ModuleType``
        The executed module; ``__file__`` is the installed file.

    Raises
    ------
    ImportError
        As for :func:`installed_file`.

    Examples
    --------
    >>> drop = load_installed_module("timm", "timm.layers.drop")
    >>> drop.__doc__.split()[:2]
    ['DropBlock,', 'DropPath']
    >>> "timm.layers" in sys.modules
    False
    """
    parts = module.split(".")
    file = installed_file(distribution, "/".join(parts) + ".py")
    top = parts[0]
    saved = {n: m for n, m in sys.modules.items() if n == top or n.startswith(f"{top}.")}
    try:
        folder = file.parent
        for depth in range(len(parts) - 1, 0, -1):  # innermost package first
            name = ".".join(parts[:depth])
            stand_in = types.ModuleType(name, f"Stand-in for {name}, which is not imported.")
            stand_in.__path__ = [str(folder)]
            sys.modules[name] = stand_in
            folder = folder.parent
        spec = importlib.util.spec_from_file_location(module, file)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {file} as a module")
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[module] = loaded
        spec.loader.exec_module(loaded)
    finally:
        for name in [n for n in sys.modules if n == top or n.startswith(f"{top}.")]:
            if name not in saved:
                del sys.modules[name]
        sys.modules.update(saved)
    return loaded


def timm_drop_path() -> Callable[..., torch.Tensor]:
    """The ``drop_path(x, drop_prob=0.0, training=False, scale_by_keep=True)`` of timm.

    From the installed ``timm/layers/drop.py``, which imports only torch.

    Returns
    -------
    callable
        ``timm.layers.drop.drop_path`` as timm ships it.

    Raises
    ------
    ImportError
        If timm is not installed: ``pip install timm==1.0.31``.

    Examples
    --------
    >>> x = torch.ones(3, 2)
    >>> timm_drop_path()(x, 0.5) is x  # training defaults to False: the input itself
    True
    """
    return load_installed_module("timm", "timm.layers.drop").drop_path


def torchvision_stochastic_depth() -> Callable[..., torch.Tensor]:
    """The ``stochastic_depth(input, p, mode, training=True)`` of torchvision.

    From the installed ``torchvision/ops/stochastic_depth.py``, run with stand-ins for
    the packages ``torchvision`` and ``torchvision.ops`` (whose ``__init__`` loads the
    compiled extension); it imports the installed ``torchvision/utils.py`` for its usage
    logging. Afterwards no ``torchvision`` module is left in ``sys.modules``.

    Returns
    -------
    callable
        ``torchvision.ops.stochastic_depth`` as torchvision ships it.

    Raises
    ------
    ImportError
        If torchvision is not installed: ``pip install torchvision==0.28.0``.

    Examples
    --------
    >>> stochastic_depth = torchvision_stochastic_depth()
    >>> _ = torch.manual_seed(4)
    >>> stochastic_depth(torch.ones(4, 2), 0.5, "row")
    tensor([[2., 2.],
            [0., 0.],
            [2., 2.],
            [0., 0.]])
    >>> sorted(name for name in sys.modules if name.split(".")[0] == "torchvision")
    []
    """
    return load_installed_module("torchvision", "torchvision.ops.stochastic_depth").stochastic_depth


def torchvision_drop_block2d() -> Callable[..., torch.Tensor]:
    """The ``drop_block2d(input, p, block_size, inplace, eps, training)`` of torchvision.

    Its defaults are ``inplace=False, eps=1e-06, training=True``. From the installed
    ``torchvision/ops/drop_block.py``, loaded as :func:`torchvision_stochastic_depth`
    is: with stand-ins for the packages, and no ``torchvision`` module left in
    ``sys.modules`` afterwards.

    Returns
    -------
    callable
        ``torchvision.ops.drop_block2d`` as torchvision ships it.

    Raises
    ------
    ImportError
        If torchvision is not installed: ``pip install torchvision==0.28.0``.

    Examples
    --------
    >>> drop_block2d = torchvision_drop_block2d()
    >>> drop_block2d.__module__
    'torchvision.ops.drop_block'
    >>> x = torch.ones(1, 1, 4, 4)
    >>> drop_block2d(x, 0.5, 3, training=False) is x
    True
    """
    return load_installed_module("torchvision", "torchvision.ops.drop_block").drop_block2d
