"""seeded_dropout: torch's bits, a few KB for backward, the RNG stream left alone."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from conftest import make_input

import dropmini
from dropmini import seeded_dropout

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


def forward_backward(fn, x, p, seed, upstream_seed=5):
    leaf = x.detach().clone().requires_grad_()
    torch.manual_seed(seed)
    out = fn(leaf, p)
    state_after_forward = torch.get_rng_state()
    grad = torch.randn(out.shape, generator=torch.Generator().manual_seed(upstream_seed))
    out.backward(grad.to(out.dtype))
    return out.detach(), leaf.grad, state_after_forward, torch.get_rng_state()


GRID = [
    (dtype, shape, layout, p)
    for dtype, shape, layout, p in itertools.product(
        DTYPES, [(7,), (3, 5), (2, 3, 4)], ["contiguous", "transposed", "sliced"], [0.1, 0.5, 0.9]
    )
    if not (layout == "transposed" and len(shape) < 2)
]


@pytest.mark.parametrize("dtype,shape,layout,p", GRID)
def test_output_gradient_and_rng_match_torch(dtype, shape, layout, p):
    x = make_input(shape, dtype, layout, seed=1, specials=False)
    ours = forward_backward(seeded_dropout, x, p, seed=11)
    theirs = forward_backward(F.dropout, x, p, seed=11)
    assert dropmini.same_bits(ours[0], theirs[0])
    assert dropmini.same_bits(ours[1], theirs[1])
    assert torch.equal(ours[2], theirs[2]), "RNG state after forward differs"
    assert torch.equal(ours[3], ours[2]), "backward moved the caller's RNG stream"


def test_backward_does_not_disturb_draws_between_forward_and_backward():
    x = torch.randn(1000, requires_grad=True)
    torch.manual_seed(3)
    out = seeded_dropout(x, 0.3)
    between = torch.rand(4)  # the caller keeps using the generator
    out.sum().backward()
    after = torch.rand(4)
    torch.manual_seed(3)
    F.dropout(x, 0.3)
    assert torch.equal(between, torch.rand(4)) and torch.equal(after, torch.rand(4))
    torch.manual_seed(3)
    expected = F.dropout(torch.ones(1000), 0.3)
    assert dropmini.same_bits(x.grad, expected)


@pytest.mark.parametrize("n", [2**12, 2**16, 2**20])
def test_bytes_kept_for_backward_are_small_and_constant(n):
    x = torch.ones(n, requires_grad=True)
    kept = dropmini.lab.memory.bytes_kept_for_backward(lambda t: seeded_dropout(t, 0.5), x)
    assert kept < 8 * 1024
    assert kept == torch.get_rng_state().numel()
    torch_kept = dropmini.lab.memory.bytes_kept_for_backward(lambda t: F.dropout(t, 0.5), x)
    assert torch_kept == 4 * n


def test_double_backward_matches_torch():
    x = torch.randn(50, dtype=torch.float64)
    results = []
    for fn in (seeded_dropout, F.dropout):
        leaf = x.clone().requires_grad_()
        torch.manual_seed(0)
        out = fn(leaf, 0.4)
        upstream = torch.ones_like(out, requires_grad=True)
        (g,) = torch.autograd.grad(out, leaf, upstream, create_graph=True)
        (gg,) = torch.autograd.grad(g.pow(2).sum(), upstream)
        results.append((g.detach(), gg))
    assert dropmini.same_bits(results[0][0], results[1][0])
    assert dropmini.same_bits(results[0][1], results[1][1])


def test_gradcheck_with_fixed_seed():
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)

    def f(t):
        torch.manual_seed(1)
        return seeded_dropout(t, 0.3)

    assert torch.autograd.gradcheck(f, (x,))
    assert torch.autograd.gradgradcheck(f, (x,))


def test_trivial_cases_follow_torch():
    x = torch.randn(5)
    assert seeded_dropout(x, 0.0) is x
    assert seeded_dropout(x, 0.5, training=False) is x
    empty = torch.empty(0, 3)
    assert seeded_dropout(empty, 0.5) is empty
    special = torch.tensor([float("inf"), -1.0, 2.0])
    assert dropmini.same_bits(seeded_dropout(special, 1.0), F.dropout(special, 1.0))


@pytest.mark.parametrize(
    "x,p,error",
    [
        (torch.ones(3), 1.5, ValueError),
        (torch.ones(3), float("nan"), ValueError),
        (torch.ones(3), "0.5", TypeError),
        (torch.ones(3, dtype=torch.int64), 0.5, TypeError),
        ([1.0, 2.0], 0.5, TypeError),
    ],
)
def test_bad_input_same_errors_as_dropout(x, p, error):
    rng = torch.get_rng_state()
    with pytest.raises(error) as ours:
        seeded_dropout(x, p)
    with pytest.raises(error) as reference:
        dropmini.dropout(x, p)
    assert str(ours.value) == str(reference.value)
    assert torch.equal(rng, torch.get_rng_state())
