"""dropmini.drop_path / DropPath against timm's and torchvision's installed code.

Both packages fail to import next to the CPU build of torch (torchvision's extension does
not load, and timm imports torchvision), so ``dropmini.lab.references`` runs the two
installed source files themselves.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from helpers import FLOAT_DTYPES, assert_same_run, layouts_for, make_input, name_of, run_both
from hypothesis import given, settings
from hypothesis import strategies as st

from dropmini._checks import OUT_OF_RANGE
from dropmini.compare import same_bits
from dropmini.droppath import DropPath, drop_path
from dropmini.lab import references

# The installed releases' own code (timm and torchvision pinned in requirements.txt), run
# from their files: neither package can be imported next to the CPU build of torch.
timm_drop_path = references.timm_drop_path()
torchvision_stochastic_depth = references.torchvision_stochastic_depth()


SHAPES = [(1,), (7,), (5, 3), (4, 3, 2), (6, 2, 3, 3)]
PS = [0.0, 0.1, 0.5, 1.0]
SEEDS = [0, 7, 2024]


def grid():
    for dtype, shape, p, seed in itertools.product(FLOAT_DTYPES, SHAPES, PS, SEEDS):
        for layout in layouts_for(shape):
            yield pytest.param(
                dtype, shape, layout, p, seed,
                id=f"{name_of(dtype)}-{'x'.join(map(str, shape))}-{layout}-p{p}-seed{seed}",
            )  # fmt: skip


@pytest.mark.grid
@pytest.mark.parametrize("dtype,shape,layout,p,seed", list(grid()))
def test_same_run_as_both_references(dtype, shape, layout, p, seed):
    x = make_input(shape, dtype, layout, seed=seed, specials=True)
    ours, timm = run_both(lambda t: drop_path(t, p), lambda t: timm_drop_path(t, p, True), x, seed)
    assert_same_run(ours, timm)
    ours, tv = run_both(
        lambda t: drop_path(t, p), lambda t: torchvision_stochastic_depth(t, p, "row"), x, seed
    )
    assert_same_run(ours, tv)


@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("seed", SEEDS)
def test_without_scaling_matches_timm(p, seed):
    x = make_input((9, 4), torch.float32, seed=seed)
    ours, timm = run_both(
        lambda t: drop_path(t, p, scale_by_keep=False),
        lambda t: timm_drop_path(t, p, True, scale_by_keep=False),
        x,
        seed,
    )
    assert_same_run(ours, timm)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("p", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("seed", SEEDS)
def test_gradient_matches_timm(dtype, p, seed):
    x = make_input((8, 3, 2), dtype, seed=seed)
    grad_out = make_input((8, 3, 2), dtype, seed=seed + 1)
    grads = []
    for fn in (lambda t: drop_path(t, p), lambda t: timm_drop_path(t, p, True)):
        leaf = x.clone().requires_grad_()
        torch.manual_seed(seed)
        fn(leaf).backward(grad_out)
        grads.append(leaf.grad)
    assert same_bits(grads[0], grads[1])
    assert not torch.equal(grads[0], grad_out)


def test_whole_samples_go_together():
    x = torch.ones(200, 3, 4)
    torch.manual_seed(3)
    out = drop_path(x, 0.3)
    per_sample = out.flatten(1)
    assert ((per_sample == 0).all(1) | (per_sample == 1 / 0.7).all(1)).all()
    dropped = int((per_sample == 0).all(1).sum())
    assert 0 < dropped < 200


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(0, 6),
    rest=st.lists(st.integers(0, 3), max_size=3),
    p=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**31 - 1),
    training=st.booleans(),
)
def test_any_shape_and_p_match_torchvision(n, rest, p, seed, training):
    x = make_input((n, *rest), torch.float32, seed=seed % 1000)
    ours, tv = run_both(
        lambda t: drop_path(t, p, training),
        lambda t: torchvision_stochastic_depth(t, p, "row", training),
        x,
        seed,
    )
    assert_same_run(ours, tv)


@pytest.mark.parametrize("p", PS)
def test_eval_is_identity(p):
    x = torch.randn(3, 2, dtype=torch.float64)
    state = torch.get_rng_state()
    assert drop_path(x, p, training=False) is x
    module = DropPath(p).eval()
    assert module(x) is x
    assert torch.equal(torch.get_rng_state(), state)


def test_p_zero_returns_input_without_drawing():
    x = torch.ones(4, 2)
    state = torch.get_rng_state()
    assert drop_path(x, 0.0) is x
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize(
    "kwargs,error,fragment",
    [
        ({"p": 1.5}, ValueError, OUT_OF_RANGE.format(p=1.5)),
        ({"p": -0.1}, ValueError, OUT_OF_RANGE.format(p=-0.1)),
        ({"p": float("nan")}, ValueError, "between 0 and 1"),
        ({"p": "0.5"}, TypeError, "must be a real number"),
        ({"p": True}, TypeError, "must be a real number"),
        ({"p": 0.5, "training": 1}, TypeError, "argument 'training' must be bool"),
    ],
)
def test_bad_arguments_raise_before_drawing(kwargs, error, fragment):
    x = torch.ones(3, 2)
    before = x.clone()
    state = torch.get_rng_state()
    with pytest.raises(error) as info:
        drop_path(x, **kwargs)
    assert fragment in str(info.value)
    assert torch.equal(x, before)
    assert torch.equal(torch.get_rng_state(), state)


def test_integer_input_raises_before_drawing():
    state = torch.get_rng_state()
    with pytest.raises(TypeError, match="floating-point"):
        drop_path(torch.ones(3, 2, dtype=torch.int64), 0.5)
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("p", [0.5, 1.0])
def test_zero_dim_input_names_the_batch_dimension(p):
    x = torch.tensor(2.0)
    state = torch.get_rng_state()
    with pytest.raises(RuntimeError, match="needs a batch dimension.*0-d"):
        drop_path(x, p)
    assert torch.equal(torch.get_rng_state(), state)
    with pytest.raises(IndexError):  # what the reference gives: an index error, no hint
        timm_drop_path(x, p, True)


def test_zero_dim_input_passes_where_nothing_is_drawn():
    x = torch.tensor(2.0)
    assert drop_path(x, 0.5, training=False) is x
    assert drop_path(x, 0.0) is x


def test_module_checks_p_and_follows_training_flag():
    with pytest.raises(ValueError, match="between 0 and 1"):
        DropPath(2.0)
    module = DropPath(0.5)
    assert repr(module) == "DropPath(p=0.5, scale_by_keep=True)"
    x = make_input((10, 3), torch.float32)
    ours, theirs = run_both(module, lambda t: timm_drop_path(t, 0.5, True), x, 5)
    assert_same_run(ours, theirs)


class Tagged(torch.Tensor):
    pass


def test_torch_function_subclass_is_dispatched():
    x = torch.ones(4, 2).as_subclass(Tagged)
    torch.manual_seed(0)
    out = drop_path(x, 0.5)
    assert type(out) is Tagged
