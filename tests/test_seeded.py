"""seeded_dropout: torch's bits, a few KB for backward, the RNG stream left alone.

The paths that draw nothing (eval, p = 0, empty, p = 1), every dtype, are compared with
torch in test_torch_parity.py, as are ``p`` given as a numpy scalar or 0-d tensor and a
``training`` that is not a bool.
"""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from helpers import FLOAT_DTYPES, layouts_for, make_input, name_of, shape_id

import dropmini
from dropmini import seeded_dropout
from dropmini.lab.memory import bytes_kept_for_backward


def forward_backward(fn, x, p, seed, upstream_seed=5):
    leaf = x.detach().clone().requires_grad_()
    torch.manual_seed(seed)
    out = fn(leaf, p)
    state_after_forward = torch.get_rng_state()
    grad = make_input(tuple(out.shape), out.dtype, seed=upstream_seed)
    out.backward(grad)
    return out.detach(), leaf.grad, state_after_forward, torch.get_rng_state()


def grid():
    for dtype, shape, p in itertools.product(FLOAT_DTYPES, [(7,), (3, 5), (2, 3, 4)], [0.1, 0.5]):
        for layout in layouts_for(shape):
            yield pytest.param(
                dtype, shape, layout, p,
                id=f"seeded_dropout-{name_of(dtype)}-{shape_id(shape)}-{layout}-p{p}",
            )  # fmt: skip


@pytest.mark.parametrize("dtype,shape,layout,p", list(grid()))
def test_output_gradient_and_rng_match_torch(dtype, shape, layout, p):
    x = make_input(shape, dtype, layout, seed=1, specials=True)
    ours = forward_backward(seeded_dropout, x, p, seed=11)
    theirs = forward_backward(F.dropout, x, p, seed=11)
    assert dropmini.same_bits(ours[0], theirs[0])
    assert dropmini.same_bits(ours[1], theirs[1])
    assert torch.equal(ours[2], theirs[2]), "RNG state after forward differs"
    assert torch.equal(ours[3], ours[2]), "backward moved the caller's RNG stream"


def test_backward_does_not_disturb_draws_between_forward_and_backward():
    x = make_input((1000,), torch.float32, seed=0).requires_grad_()
    torch.manual_seed(3)
    out = seeded_dropout(x, 0.3)
    between = torch.rand(4)  # the caller keeps using the generator
    out.sum().backward()
    after = torch.rand(4)
    torch.manual_seed(3)
    expected = F.dropout(torch.ones(1000), 0.3)
    assert torch.equal(between, torch.rand(4)) and torch.equal(after, torch.rand(4))
    assert dropmini.same_bits(x.grad, expected)


@pytest.mark.parametrize("n", [2**12, 2**20], ids=["4K", "1M"])
def test_bytes_kept_for_backward_are_small_and_constant(n):
    x = torch.ones(n, requires_grad=True)
    kept = bytes_kept_for_backward(lambda t: seeded_dropout(t, 0.5), x)
    assert kept == torch.get_rng_state().numel() < 8 * 1024
    assert bytes_kept_for_backward(lambda t: F.dropout(t, 0.5), x) == 4 * n


def test_double_backward_matches_torch():
    x = make_input((50,), torch.float64, seed=0)
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
    x = make_input((3, 4), torch.float64, seed=0).requires_grad_()

    def f(t):
        torch.manual_seed(1)
        return seeded_dropout(t, 0.3)

    assert torch.autograd.gradcheck(f, (x,))
    assert torch.autograd.gradgradcheck(f, (x,))


@pytest.mark.parametrize("p,training", [(0.0, True), (0.5, False), (0.5, True)],
                         ids=["p0", "eval", "train"])  # fmt: skip
def test_device_is_checked_before_any_early_return(p, training):
    x = torch.ones(3, device="meta")
    with pytest.raises(NotImplementedError, match="CPU generator; got a tensor on meta"):
        seeded_dropout(x, p, training)


@pytest.mark.parametrize(
    "x,p,error",
    [
        (torch.ones(3), 1.5, ValueError),
        (torch.ones(3), float("nan"), ValueError),
        (torch.ones(3), "0.5", TypeError),
        (torch.ones(3, dtype=torch.int64), 0.5, TypeError),
        ([1.0, 2.0], 0.5, TypeError),
    ],
    ids=["p1.5", "nan", "str", "int64", "list"],
)
def test_bad_input_same_errors_as_dropout(x, p, error):
    rng = torch.get_rng_state()
    with pytest.raises(error) as ours:
        seeded_dropout(x, p)
    with pytest.raises(error) as reference:
        dropmini.dropout(x, p)
    assert str(ours.value) == str(reference.value).replace("dropout(", "seeded_dropout(")
    assert torch.equal(rng, torch.get_rng_state())
