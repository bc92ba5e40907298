"""The modules behave as torch.nn's: repr, state, modes, Sequential."""

from __future__ import annotations

import inspect

import pytest
import torch
from conftest import assert_same_run, run, twin

import dropmini

PAIRS = [
    (dropmini.Dropout, torch.nn.Dropout),
    (dropmini.Dropout1d, torch.nn.Dropout1d),
    (dropmini.Dropout2d, torch.nn.Dropout2d),
    (dropmini.Dropout3d, torch.nn.Dropout3d),
    (dropmini.AlphaDropout, torch.nn.AlphaDropout),
    (dropmini.FeatureAlphaDropout, torch.nn.FeatureAlphaDropout),
]


@pytest.mark.parametrize("ours,theirs", PAIRS)
@pytest.mark.parametrize("args", [(), (0.2,), (0.1, True), (1,), (0,)])
def test_repr_and_state_match(ours, theirs, args):
    a, b = ours(*args), theirs(*args)
    assert repr(a) == repr(b)
    assert a.state_dict().keys() == b.state_dict().keys()
    assert (a.p, a.inplace, a.training) == (b.p, b.inplace, b.training)
    assert a.eval().training is False and a.train().training is True


@pytest.mark.parametrize("ours,theirs", PAIRS)
def test_defaults_match_torch(ours, theirs):
    assert (ours().p, ours().inplace) == (theirs().p, theirs().inplace)


@pytest.mark.parametrize(
    "name", ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
             "feature_alpha_dropout"],
)  # fmt: skip
def test_functional_signatures_match_torch(name):
    def defaults(fn):
        return {k: v.default for k, v in inspect.signature(fn).parameters.items()}

    assert defaults(getattr(dropmini, name)) == defaults(getattr(torch.nn.functional, name))


def test_in_sequential():
    def build(drop):
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), drop(0.3),
                                   torch.nn.Linear(8, 2))  # fmt: skip

    ours, theirs = build(dropmini.Dropout), build(torch.nn.Dropout)
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(1))
    for mode in (True, False):
        ours.train(mode)
        theirs.train(mode)
        assert_same_run(run(ours, twin(x), 5), run(theirs, twin(x), 5))
    assert repr(ours) == repr(theirs)
    assert ours.state_dict().keys() == theirs.state_dict().keys()


def test_eval_module_returns_input_itself():
    drop = dropmini.Dropout(0.5).eval()
    x = torch.randn(3)
    assert drop(x) is x
