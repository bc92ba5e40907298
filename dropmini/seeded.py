"""Low-memory dropout: keep the random-number generator's state, not the mask.

PyTorch's dropout keeps its mask (as large as the input) for the backward
pass. :func:`seeded_dropout` keeps only the CPU generator's state from just
before the mask was drawn, about 5 KB, and draws the same mask again in
backward. The idea is that of Triton's low-memory dropout tutorial, on the CPU
and bit-compatible with ``torch.nn.functional.dropout``.
"""

from __future__ import annotations

from typing import Any

import torch

from dropmini._checks import check_call
from dropmini.functional import draw_noise

__all__ = ["seeded_dropout"]


class _SeededDropout(torch.autograd.Function):
    """Forward: torch's dropout. Backward: regenerate the mask from the saved RNG state."""

    @staticmethod
    def forward(ctx: Any, input: torch.Tensor, p: float) -> torch.Tensor:
        ctx.rng_state = torch.get_rng_state()
        # The memory layout torch gives its noise, learnt without allocating it.
        stride = torch.empty_like(input, device="meta").stride()
        ctx.geometry = (tuple(input.shape), stride, input.dtype, p)
        return input * draw_noise(*ctx.geometry)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        caller_state = torch.get_rng_state()
        try:
            torch.set_rng_state(ctx.rng_state)
            noise = draw_noise(*ctx.geometry)
        finally:
            torch.set_rng_state(caller_state)
        return grad_output * noise, None


def seeded_dropout(input: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    """Dropout that keeps a few kilobytes for backward instead of a full-size mask.

    The output and the gradient have the same bits as
    ``torch.nn.functional.dropout`` for the same seed, and the global RNG ends
    in the same state after the forward pass. Backward draws the mask again
    from the saved generator state and then restores the caller's state, so
    the random stream is left as it was. Double backward works (the mask is a
    constant of the backward pass).

    Parameters
    ----------
    input : torch.Tensor
        A floating-point tensor on the CPU.
    p : float, default 0.5
        Probability that an element is zeroed.
    training : bool, default True
        Apply dropout if true; otherwise return ``input``.

    Returns
    -------
    torch.Tensor
        The dropped tensor; ``input`` itself in eval mode, for ``p == 0`` or an
        empty input.

    Raises
    ------
    TypeError, ValueError
        As :func:`dropmini.dropout`, before any random number is drawn.
    NotImplementedError
        If ``input`` is not on the CPU (checked first, whatever ``p``).

    Examples
    --------
    >>> import dropmini
    >>> from dropmini.lab.memory import bytes_kept_for_backward
    >>> x = torch.ones(1_000_000, requires_grad=True)
    >>> bytes_kept_for_backward(lambda t: seeded_dropout(t, 0.5), x) < 8192
    True
    >>> bytes_kept_for_backward(lambda t: dropmini.dropout(t, 0.5), x)
    4000000
    """
    p = check_call("seeded_dropout", input, p, training, False)
    if input.device.type != "cpu":
        raise NotImplementedError(
            f"seeded_dropout restores the CPU generator; got a tensor on {input.device}"
        )
    if p == 0 or not training or input.numel() == 0:
        return input
    if p == 1:
        return input * torch.zeros((), dtype=input.dtype, device=input.device)
    return _SeededDropout.apply(input, p)
