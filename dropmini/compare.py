"""Bit-level comparison of tensors: the yardstick of every "same as torch" claim."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["TorchComparison", "same_bits", "ulp_distance", "versus_torch"]

_INT_OF_WIDTH = {2: torch.int16, 4: torch.int32, 8: torch.int64}


def _bits(t: torch.Tensor) -> torch.Tensor:
    """The raw bit patterns of ``t`` as a contiguous integer tensor."""
    width = t.element_size()
    if t.is_complex():
        t = torch.view_as_real(t)
        width //= 2
    if width not in _INT_OF_WIDTH or t.dtype == torch.bool:
        return t.detach().contiguous()
    return t.detach().contiguous().view(_INT_OF_WIDTH[width])


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """True when ``a`` and ``b`` have the same dtype, shape and bit pattern in every element.

    Unlike ``torch.equal``, NaN equals a NaN with the same bits, and ``-0.0``
    differs from ``0.0``. Strides and ``requires_grad`` are not compared.

    Parameters
    ----------
    a, b : torch.Tensor
        The tensors to compare.

    Returns
    -------
    bool
        Whether the two tensors hold exactly the same bits.

    Raises
    ------
    TypeError
        If either argument is not a tensor.

    Examples
    --------
    >>> nan = float("nan")
    >>> same_bits(torch.tensor([nan, 1.0]), torch.tensor([nan, 1.0]))
    True
    >>> torch.equal(torch.tensor([nan]), torch.tensor([nan]))
    False
    >>> same_bits(torch.tensor([-0.0]), torch.tensor([0.0]))
    False
    """
    for name, t in (("a", a), ("b", b)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"same_bits compares tensors, but {name} is {type(t).__name__}")
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return bool(torch.equal(_bits(a), _bits(b)))


def ulp_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Number of representable floats between ``a`` and ``b``, element by element.

    0 means identical bits (with ``0.0`` and ``-0.0`` one apart); 1 means
    neighbouring floats, the smallest difference rounding can make.

    Parameters
    ----------
    a, b : torch.Tensor
        Finite floating-point tensors of the same dtype and shape.

    Returns
    -------
    torch.Tensor
        An ``int64`` tensor of the distances.

    Examples
    --------
    >>> one = torch.tensor([1.0])
    >>> ulp_distance(one, torch.nextafter(one, torch.tensor([2.0])))
    tensor([1])
    """
    if a.dtype != b.dtype or a.shape != b.shape or not a.is_floating_point():
        raise TypeError(
            "ulp_distance needs two floating-point tensors of one dtype and shape, "
            f"got {a.dtype}{tuple(a.shape)} and {b.dtype}{tuple(b.shape)}"
        )

    def ordered(t: torch.Tensor) -> torch.Tensor:
        # Map sign-magnitude bit patterns onto a monotonic integer line.
        i = _bits(t).to(torch.int64)
        sign = torch.iinfo(_bits(t).dtype).min
        return torch.where(i < 0, sign - i - 1, i)

    return (ordered(a) - ordered(b)).abs()


@dataclass(frozen=True)
class TorchComparison:
    """The outcome of running a dropmini callable and a torch callable from one seed.

    Attributes
    ----------
    ours, theirs : torch.Tensor
        The two results.
    same_output : bool
        Whether the results have the same bits (see :func:`same_bits`).
    same_rng_state : bool
        Whether the global random-number generator ended in the same state,
        so that every later random number agrees too.
    same_grad : bool or None
        Whether the gradients with respect to the input have the same bits;
        ``None`` when no backward pass was run.

    Examples
    --------
    :func:`versus_torch` returns one; it is true only when everything compared agrees.

    >>> import dropmini
    >>> x = torch.arange(1.0, 6.0)
    >>> result = versus_torch(dropmini.Dropout(0.2), torch.nn.Dropout(0.2), x, seed=0)
    >>> result
    same bits as torch: True, same RNG state afterwards: True
    >>> bool(result), result.same_grad is None
    (True, True)
    >>> result.theirs
    tensor([0.0000, 2.5000, 3.7500, 0.0000, 6.2500])
    >>> wrong_p = versus_torch(dropmini.Dropout(0.2), torch.nn.Dropout(0.25), x, seed=0)
    >>> bool(wrong_p), wrong_p.same_output, wrong_p.same_rng_state
    (False, False, True)
    """

    ours: torch.Tensor
    theirs: torch.Tensor
    same_output: bool
    same_rng_state: bool
    same_grad: bool | None = None

    def __bool__(self) -> bool:
        return self.same_output and self.same_rng_state and self.same_grad is not False

    def __repr__(self) -> str:
        text = (
            f"same bits as torch: {self.same_output}, "
            f"same RNG state afterwards: {self.same_rng_state}"
        )
        if self.same_grad is not None:
            text += f", same gradient: {self.same_grad}"
        return text


def versus_torch(
    ours: Callable[[torch.Tensor], torch.Tensor],
    theirs: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    seed: int,
    backward: bool = False,
) -> TorchComparison:
    """Run ``ours`` and ``theirs`` on copies of ``x`` from the same seed and compare.

    Each callable gets its own copy of ``x`` (same strides), so in-place
    callables do not disturb the caller's tensor or each other.

    Parameters
    ----------
    ours, theirs : callable
        Functions or modules mapping a tensor to a tensor.
    x : torch.Tensor
        The input, floating point if ``backward`` is true.
    seed : int
        Passed to ``torch.manual_seed`` before each call.
    backward : bool, default False
        Also back-propagate a fixed upstream gradient (``1, 2, 3, ...`` in the
        output's shape) to the input and compare the gradients. The copy given to
        the callable is then a non-leaf (``leaf * 1``), so in-place callables work.

    Returns
    -------
    TorchComparison
        Both results and whether their bits, RNG states and gradients agree.

    Examples
    --------
    >>> import dropmini
    >>> x = torch.arange(1.0, 6.0)
    >>> versus_torch(dropmini.Dropout(0.2), torch.nn.Dropout(0.2), x, seed=0)
    same bits as torch: True, same RNG state afterwards: True
    >>> versus_torch(dropmini.Dropout(0.2), torch.nn.Dropout(0.2), x, seed=0, backward=True)
    same bits as torch: True, same RNG state afterwards: True, same gradient: True
    """
    results, states, grads = [], [], []
    for fn in (ours, theirs):
        leaf = x.detach().clone().requires_grad_(backward)
        torch.manual_seed(seed)
        out = fn(leaf * 1 if backward else leaf)
        states.append(torch.get_rng_state())
        if backward:
            upstream = torch.arange(1, out.numel() + 1, dtype=out.dtype).reshape(out.shape)
            out.backward(upstream)
            grads.append(leaf.grad)
            out = out.detach()
        results.append(out)
    return TorchComparison(
        ours=results[0],
        theirs=results[1],
        same_output=same_bits(results[0], results[1]),
        same_rng_state=bool(torch.equal(states[0], states[1])),
        same_grad=same_bits(grads[0], grads[1]) if backward else None,
    )
