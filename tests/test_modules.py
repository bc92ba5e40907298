"""The modules against torch.nn's: what their own code decides (repr, mode, inplace)."""

from __future__ import annotations

import inspect

import pytest
import torch
from helpers import BATCHED_SHAPE, FUNCTIONS, MODULES, assert_same_run, make_input, run_both

#: The function each module calls, for its input shape.
FUNCTION_OF = dict(zip(MODULES, FUNCTIONS, strict=True))


@pytest.mark.parametrize("name", list(MODULES))
def test_repr_matches_torch(name):
    ours_cls, torch_cls = MODULES[name]
    for args in [(), (0.2,), (0.1, True), (1,), (0,)]:
        assert repr(ours_cls(*args)) == repr(torch_cls(*args))


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_functional_defaults_match_torch(name):
    def defaults(fn):
        return {k: v.default for k, v in inspect.signature(fn).parameters.items()}

    assert defaults(FUNCTIONS[name][0]) == defaults(FUNCTIONS[name][1])


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("inplace", [False, True], ids=["copy", "inplace"])
@pytest.mark.parametrize("name", list(MODULES))
def test_forward_passes_mode_and_inplace_as_torch(name, inplace, training):
    """forward hands ``self.training`` and (except the alpha modules) ``self.inplace`` on."""
    ours_cls, torch_cls = MODULES[name]
    ours_m, torch_m = ours_cls(0.3, inplace).train(training), torch_cls(0.3, inplace)
    torch_m.train(training)
    x = make_input(BATCHED_SHAPE[FUNCTION_OF[name]], torch.float32, seed=1)
    assert_same_run(*run_both(ours_m, torch_m, x, seed=8))
