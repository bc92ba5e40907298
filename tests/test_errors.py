"""Bad input: the right error, the input untouched, no random number drawn."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import dropmini

pytestmark = pytest.mark.filterwarnings("ignore:dropout.d:UserWarning")

FUNCTIONS = [
    dropmini.dropout,
    dropmini.dropout1d,
    dropmini.dropout2d,
    dropmini.dropout3d,
    dropmini.alpha_dropout,
    dropmini.feature_alpha_dropout,
]
MODULES = [
    dropmini.Dropout,
    dropmini.Dropout1d,
    dropmini.Dropout2d,
    dropmini.Dropout3d,
    dropmini.AlphaDropout,
    dropmini.FeatureAlphaDropout,
]


def call_and_check_untouched(fn, x, *args, **kwargs):
    """Call ``fn`` expecting it to raise; check ``x`` and the RNG did not change."""
    before = x.clone() if isinstance(x, torch.Tensor) else None
    rng = torch.get_rng_state()
    with pytest.raises(Exception) as info:
        fn(x, *args, **kwargs)
    assert torch.equal(torch.get_rng_state(), rng), "a failing call drew random numbers"
    if before is not None:
        assert dropmini.same_bits(x.detach(), before.detach())
    return info


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize("p", [-0.1, 1.5, -1, 2, float("inf"), float("-inf")])
def test_p_out_of_range_uses_torch_wording(fn, p):
    info = call_and_check_untouched(fn, torch.ones(2, 3, 4), p, True)
    assert info.type is ValueError
    assert str(info.value) == f"dropout probability has to be between 0 and 1, but got {p}"
    with pytest.raises(ValueError, match="between 0 and 1") as theirs:
        F.dropout(torch.ones(3), p)
    assert str(theirs.value) == str(info.value)


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_nan_p_is_a_value_error(fn):
    info = call_and_check_untouched(fn, torch.ones(2, 3, 4), float("nan"), True)
    assert info.type is ValueError
    assert "but got nan" in str(info.value)


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize("p", ["0.5", None, [0.5], True, torch.tensor(0.5), 0.5j])
def test_p_not_a_real_number_is_a_type_error(fn, p):
    info = call_and_check_untouched(fn, torch.ones(2, 3, 4), p, True)
    assert info.type is TypeError
    assert type(p).__name__ in str(info.value)
    assert "real number" in str(info.value)


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize("x", [[1.0, 2.0], 3.0, None, "tensor"])
def test_input_not_a_tensor_is_a_type_error(fn, x):
    info = call_and_check_untouched(fn, x, 0.5, True)
    assert info.type is TypeError
    assert "torch.Tensor" in str(info.value) and type(x).__name__ in str(info.value)


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.bool,
                                   torch.complex64])  # fmt: skip
@pytest.mark.parametrize("inplace", [False, True])
def test_non_float_tensor_is_a_type_error(fn, dtype, inplace):
    x = torch.ones(2, 3, 4).to(dtype)
    info = call_and_check_untouched(fn, x, 0.5, True, inplace)
    assert info.type is TypeError
    assert "floating-point" in str(info.value) and str(dtype) in str(info.value)


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize("view", [False, True])
def test_inplace_on_leaf_that_requires_grad(fn, view):
    leaf = torch.ones(2, 3, 4, requires_grad=True)
    x = leaf[:1] if view else leaf
    info = call_and_check_untouched(fn, x, 0.5, True, True)
    assert info.type is RuntimeError
    assert "leaf Variable that requires grad" in str(info.value)
    torch_fn = getattr(F, fn.__name__)
    with pytest.raises(RuntimeError) as theirs:
        torch_fn(x, 0.5, True, True)
    assert str(theirs.value) == str(info.value)


def test_inplace_on_leaf_is_fine_without_grad_mode():
    leaf = torch.ones(4, requires_grad=True)
    with torch.no_grad():
        assert dropmini.dropout(leaf, 0.5, True, True) is leaf


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("p", [-0.5, 1.01, float("nan")])
def test_module_rejects_bad_p_at_construction(module, p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        module(p)


@pytest.mark.parametrize("module", MODULES)
def test_module_rejects_non_number_p_at_construction(module):
    with pytest.raises(TypeError, match="real number"):
        module("0.1")


def test_torch_itself_is_looser_or_obscurer():
    """Where dropmini is stricter: torch's own errors for the same inputs."""
    with pytest.raises(RuntimeError):  # nan p: a RuntimeError from C++, not a ValueError
        F.dropout(torch.ones(3), float("nan"))
    with pytest.raises(RuntimeError, match="can't be cast"):  # integer input: a casting error
        F.dropout(torch.ones(3, dtype=torch.long), 0.5)
    with pytest.raises(TypeError):  # a string p: Python's comparison error
        F.dropout(torch.ones(3), "0.5")
