"""Which ATen operators a call runs: the profiler's and the dispatcher's view.

Two chapters look below ``nn.Dropout`` at the operators PyTorch actually runs:
chapter 13 compares torch's dropout with the article's module, chapter 19 finds
the dropout between the layers of ``nn.LSTM``. :func:`aten_calls` asks the
profiler, which also sees composite operators such as ``aten::dropout``;
:class:`RecordOps` records what reaches the dispatcher below autograd, the
kernels that do the work, forward and backward.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable, Collection

import torch
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["RecordOps", "aten_calls"]


def aten_calls(fn: Callable[[], object], names: Collection[str]) -> list[str]:
    """The ATen operators among ``names`` that ``fn()`` calls, in call order.

    Runs ``fn`` once under ``torch.profiler`` (CPU activity only) and keeps the
    recorded events whose name is in ``names``. While the profiler runs and its
    events are read, file descriptor 2 is pointed at the null device (some builds
    write the profiler's start and stop lines, with a time stamp, straight to it)
    and ``sys.stderr`` is a buffer that is thrown away (in a notebook,
    ``sys.stderr`` is the kernel's stream, not file descriptor 2, and torch 2.10
    printed a profiler warning there). Whatever ``fn`` itself writes to standard
    error is discarded too.

    Parameters
    ----------
    fn : callable
        Called once, without arguments; its return value is discarded.
    names : collection of str
        Operator names to keep, as the profiler spells them (``"aten::dropout"``).

    Returns
    -------
    list of str
        The kept names, one per call, ordered by start time.

    Examples
    --------
    >>> x, names = torch.ones(4), {"aten::dropout", "aten::bernoulli_"}
    >>> aten_calls(lambda: torch.nn.functional.dropout(x, 0.5), names)
    ['aten::dropout', 'aten::bernoulli_']
    >>> aten_calls(lambda: torch.nn.functional.dropout(x, 0.5, training=False), names)
    ['aten::dropout']
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stderr(io.StringIO()):
            os.dup2(null.fileno(), 2)
            with torch.profiler.profile(
                activities=[torch.profiler.ProfilerActivity.CPU]
            ) as profiler:
                fn()
            events = sorted(profiler.events(), key=lambda event: event.time_range.start)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return [event.name for event in events if event.name in names]


class RecordOps(TorchDispatchMode):
    """Record the name of every ATen operator dispatched inside the ``with`` block.

    Composite operators such as ``aten::dropout`` are decomposed before they
    reach this level, so the record lists the operators that do the work.
    Under ``torch._subclasses.fake_tensor.FakeTensorMode`` it also shows where
    a call on a (fake) CUDA tensor would go, on a machine without a GPU.

    Parameters
    ----------
    dtypes : bool, default False
        Also record the dtypes of what each operator returns: ``"mul (float32)"``.

    Attributes
    ----------
    ops : list of str
        Operator names (``"bernoulli_"``, ``"mul"``), in call order.

    Examples
    --------
    >>> x = torch.ones(4, requires_grad=True)
    >>> with RecordOps() as record:
    ...     out = torch.nn.functional.dropout(x, 0.5)
    >>> record.ops
    ['empty_like', 'bernoulli_', 'div_', 'mul']
    >>> with RecordOps(dtypes=True) as record:
    ...     out = torch.native_dropout(x, 0.5, True)
    >>> record.ops
    ['native_dropout (float32, bool)']
    """

    def __init__(self, dtypes: bool = False) -> None:
        super().__init__()
        self.dtypes = dtypes
        self.ops: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: D105
        out = func(*args, **(kwargs or {}))
        if func.namespace == "aten":
            name = func.overloadpacket.__name__
            if self.dtypes:
                outs = out if isinstance(out, tuple) else (out,)
                name += f" ({', '.join(str(t.dtype).removeprefix('torch.') for t in outs)})"
            self.ops.append(name)
        return out
