"""Bad input: the right error, the input untouched, no random number drawn.

Where dropmini is stricter than torch on purpose (a NaN, bool or numpy complex p, a p whose
type torch's module takes but its functions refuse, non-floating-point input in training,
in place on a leaf), the test sits next to torch's behaviour in test_torch_parity.py.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import torch
from helpers import BATCHED_SHAPE, FUNCTIONS, MODULES

import dropmini

NAMES = list(FUNCTIONS)


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


OUT_OF_RANGE = {"-0.1": -0.1, "1.5": 1.5, "2": 2, "inf": float("inf"), "-inf": float("-inf"),
                "np.float32-1.5": np.float32(1.5), "tensor-1.5": torch.tensor(1.5)}  # fmt: skip


@pytest.mark.parametrize("kind", list(OUT_OF_RANGE))
@pytest.mark.parametrize("name", NAMES)
def test_p_out_of_range_uses_torch_wording(name, kind):
    p = OUT_OF_RANGE[kind]
    ours_fn, torch_fn = FUNCTIONS[name]
    x = torch.ones(BATCHED_SHAPE[name])
    info = call_and_check_untouched(ours_fn, x, p, True, True)
    assert info.type is ValueError
    with pytest.raises(ValueError) as theirs:
        torch_fn(x, p, True)
    assert str(info.value) == str(theirs.value)


NOT_REAL = {"list": [0.5], "complex": 0.5j, "1d-tensor": torch.tensor([0.5]),
            "complex-tensor": torch.tensor(0.5j), "ndarray": np.array([0.5]),
            "0d-ndarray": np.array(0.5), "Fraction": Fraction(1, 2), "Decimal": Decimal("0.5"),
            "tensor-requires-grad": torch.tensor(0.5, requires_grad=True),
            "np.complex128": np.complex128(0.5)}  # fmt: skip


@pytest.mark.parametrize("kind", list(NOT_REAL))
@pytest.mark.parametrize("name", NAMES)
def test_p_not_a_real_number_is_a_type_error(name, kind):
    p = NOT_REAL[kind]
    info = call_and_check_untouched(FUNCTIONS[name][0], torch.ones(BATCHED_SHAPE[name]), p, True)
    assert info.type is TypeError
    assert "real number" in str(info.value) and type(p).__name__ in str(info.value)


BOOLS = {"True": True, "False": False, "np.True_": np.True_, "tensor-True": torch.tensor(True)}


@pytest.mark.parametrize("kind", list(BOOLS))
@pytest.mark.parametrize("name", NAMES)
def test_p_that_is_a_bool_is_a_type_error_that_says_why(name, kind):
    p = BOOLS[kind]
    info = call_and_check_untouched(FUNCTIONS[name][0], torch.ones(BATCHED_SHAPE[name]), p, True)
    assert info.type is TypeError
    assert "not a bool" in str(info.value) and "misplaced training or inplace" in str(info.value)


@pytest.mark.parametrize("kind", [*NOT_REAL, *BOOLS])
@pytest.mark.parametrize("name", list(MODULES))
def test_module_refuses_a_p_of_the_wrong_type_at_construction(name, kind):
    p = NOT_REAL.get(kind, BOOLS.get(kind))
    rng = torch.get_rng_state()
    with pytest.raises(TypeError, match="real number"):
        MODULES[name][0](p)
    assert torch.equal(torch.get_rng_state(), rng)


@pytest.mark.parametrize(
    "x", [[1.0, 2.0], 3.0, None, "tensor"], ids=["list", "float", "None", "str"]
)
@pytest.mark.parametrize("name", [*NAMES, "seeded_dropout"])
def test_input_not_a_tensor_is_a_type_error(name, x):
    fn = getattr(dropmini, name)
    info = call_and_check_untouched(fn, x, 0.5, True)
    assert info.type is TypeError
    # torch's wording, without its "(position 1)"
    assert str(info.value) == f"{name}(): argument 'input' must be Tensor, not {type(x).__name__}"


def test_inplace_on_leaf_is_fine_without_grad_mode():
    leaf = torch.ones(4, requires_grad=True)
    with torch.no_grad():
        assert dropmini.dropout(leaf, 0.5, True, True) is leaf


@pytest.mark.parametrize("p", [-0.5, 1.01], ids=["-0.5", "1.01"])
@pytest.mark.parametrize("name", list(MODULES))
def test_module_rejects_bad_p_at_construction_with_torch_wording(name, p):
    ours_cls, torch_cls = MODULES[name]
    with pytest.raises(ValueError) as ours:
        ours_cls(p)
    with pytest.raises(ValueError) as theirs:
        torch_cls(p)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name", list(MODULES))
def test_module_rejects_non_number_p_at_construction(name):
    with pytest.raises(TypeError, match="real number"):
        MODULES[name][0]("0.1")
