"""dropmini.dropout and torch.nn.functional.dropout give the same bits on a wide grid."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from conftest import assert_same_run, make_input, run, twin
from hypothesis import given, settings
from hypothesis import strategies as st

import dropmini

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
SHAPES = [(), (0,), (0, 3), (7,), (3, 5), (2, 3, 4), (2, 3, 4, 5)]
LAYOUTS = ["contiguous", "transposed", "sliced"]
PS = [0.0, 0.1, 0.2, 0.5, 0.9, 1.0]


def grid():
    for dtype, shape, layout, p, training, inplace in itertools.product(
        DTYPES, SHAPES, LAYOUTS, PS, [True, False], [False, True]
    ):
        if layout == "transposed" and len(shape) < 2:
            continue
        yield pytest.param(
            dtype, shape, layout, p, training, inplace,
            id=f"{str(dtype)[6:]}-{shape}-{layout}-p{p}-{'train' if training else 'eval'}"
            f"{'-inplace' if inplace else ''}",
        )  # fmt: skip


@pytest.mark.parametrize("dtype,shape,layout,p,training,inplace", list(grid()))
def test_grid_matches_torch(dtype, shape, layout, p, training, inplace):
    x = make_input(shape, dtype, layout, seed=len(shape) + 10 * PS.index(p), specials=True)
    for seed in (0, 12345):
        a, b = twin(x), twin(x)
        ours = run(lambda t: dropmini.dropout(t, p, training, inplace), a, seed)
        theirs = run(lambda t: F.dropout(t, p, training, inplace), b, seed)
        assert_same_run(ours, theirs)
        if inplace or not training or p == 0 or x.numel() == 0:
            assert ours.returned_input


@pytest.mark.parametrize("p", [0.2, 0.5])
@pytest.mark.parametrize("training", [True, False])
def test_module_matches_torch(p, training):
    x = make_input((4, 6), torch.float32, "contiguous", 3, specials=True)
    ours_m, theirs_m = dropmini.Dropout(p), torch.nn.Dropout(p)
    ours_m.train(training)
    theirs_m.train(training)
    for seed in range(5):
        assert_same_run(run(ours_m, twin(x), seed), run(theirs_m, twin(x), seed))


def test_later_random_numbers_match():
    """After a call the stream continues where torch's does: the next draws agree."""
    x = torch.randn(1000)
    torch.manual_seed(7)
    dropmini.dropout(x, 0.3)
    ours = torch.rand(5)
    torch.manual_seed(7)
    F.dropout(x, 0.3)
    theirs = torch.rand(5)
    assert dropmini.same_bits(ours, theirs)


def test_p_one_turns_inf_and_nan_into_nan_and_negatives_into_minus_zero():
    x = torch.tensor([float("inf"), float("-inf"), float("nan"), -2.0, 3.0])
    out = dropmini.dropout(x, 1.0)
    assert out[:3].isnan().all()
    assert torch.signbit(out[3]) and out[3] == 0
    assert not torch.signbit(out[4]) and out[4] == 0


@st.composite
def tensors(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = tuple(draw(st.lists(st.integers(0, 6), min_size=0, max_size=4)))
    seed = draw(st.integers(0, 2**16))
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed)).to(dtype)
    if len(shape) >= 2 and draw(st.booleans()):
        dims = draw(st.permutations(range(len(shape))))
        x = x.permute(*dims)
    if x.dim() >= 1 and x.shape[0] > 1 and draw(st.booleans()):
        x = x[:: draw(st.integers(1, 3))]
    return x


@settings(max_examples=300, deadline=None)
@given(
    x=tensors(),
    p=st.one_of(st.sampled_from([0.0, 1.0, 0.5]), st.floats(0.0, 1.0)),
    seed=st.integers(0, 2**31 - 1),
    training=st.booleans(),
    inplace=st.booleans(),
)
def test_hypothesis_matches_torch(x, p, seed, training, inplace):
    ours = run(lambda t: dropmini.dropout(t, p, training, inplace), twin(x), seed)
    theirs = run(lambda t: F.dropout(t, p, training, inplace), twin(x), seed)
    assert_same_run(ours, theirs)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
@pytest.mark.parametrize("inplace", [False, True])
def test_gradients_match_torch(dtype, p, inplace):
    base = torch.randn(5, 7, generator=torch.Generator().manual_seed(1)).to(dtype)
    upstream = torch.randn(5, 7, generator=torch.Generator().manual_seed(2)).to(dtype)
    grads = []
    for fn in (dropmini.dropout, F.dropout):
        leaf = base.clone().requires_grad_()
        torch.manual_seed(99)
        # in place needs a non-leaf: dropout after another op, as in a network
        out = fn(leaf * 1.0 if inplace else leaf, p, True, inplace)
        out.backward(upstream)
        grads.append(leaf.grad)
    assert dropmini.same_bits(grads[0], grads[1])


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_kept_fraction_is_binomial(p):
    """Kept count over n elements: Binomial(n, 1-p); |z| < 5 for fixed seeds."""
    n = 200_000
    for seed in range(3):
        torch.manual_seed(seed)
        kept = int((dropmini.dropout(torch.ones(n), p) != 0).sum())
        mean, sd = n * (1 - p), (n * p * (1 - p)) ** 0.5
        assert abs(kept - mean) < 5 * sd, (kept, mean, sd)


def test_each_element_is_dropped_independently():
    """Over many draws of a 2x2 tensor, the four kept/dropped patterns are equally likely."""
    torch.manual_seed(0)
    masks = dropmini.dropout(torch.ones(40_000, 2), 0.5) != 0
    codes = masks[:, 0].long() * 2 + masks[:, 1].long()
    counts = torch.bincount(codes, minlength=4).double()
    chi2 = float(((counts - 10_000) ** 2 / 10_000).sum())
    assert chi2 < 16.27  # 99.9th percentile of chi-square with 3 degrees of freedom
