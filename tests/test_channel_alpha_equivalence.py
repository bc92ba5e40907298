"""Channel-wise and alpha dropout: same bits, warnings and errors as torch."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from conftest import assert_same_run, make_input, run, twin

import dropmini

FUNCTION_PAIRS = {
    "dropout1d": (dropmini.dropout1d, F.dropout1d),
    "dropout2d": (dropmini.dropout2d, F.dropout2d),
    "dropout3d": (dropmini.dropout3d, F.dropout3d),
    "alpha_dropout": (dropmini.alpha_dropout, F.alpha_dropout),
    "feature_alpha_dropout": (dropmini.feature_alpha_dropout, F.feature_alpha_dropout),
}
MODULE_PAIRS = {
    "Dropout1d": (dropmini.Dropout1d, torch.nn.Dropout1d),
    "Dropout2d": (dropmini.Dropout2d, torch.nn.Dropout2d),
    "Dropout3d": (dropmini.Dropout3d, torch.nn.Dropout3d),
    "AlphaDropout": (dropmini.AlphaDropout, torch.nn.AlphaDropout),
    "FeatureAlphaDropout": (dropmini.FeatureAlphaDropout, torch.nn.FeatureAlphaDropout),
}
SHAPES = [(), (5,), (3, 4), (2, 3, 4), (2, 3, 4, 2), (2, 3, 2, 2, 2), (0, 3, 4), (0, 3, 2, 2)]
PS = [0.0, 0.2, 0.5, 1.0]
DTYPES = [torch.float32, torch.float64]


@pytest.mark.parametrize(
    "name,shape,p,training,inplace,dtype",
    list(itertools.product(FUNCTION_PAIRS, SHAPES, PS, [True, False], [False, True], DTYPES)),
)
def test_functional_grid_matches_torch(name, shape, p, training, inplace, dtype):
    ours_fn, torch_fn = FUNCTION_PAIRS[name]
    x = make_input(shape, dtype, "contiguous", seed=len(shape), specials=False)
    for seed in (0, 31):
        ours = run(lambda t: ours_fn(t, p, training, inplace), twin(x), seed)
        theirs = run(lambda t: torch_fn(t, p, training, inplace), twin(x), seed)
        assert_same_run(ours, theirs)


@pytest.mark.parametrize("name", list(MODULE_PAIRS))
@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 3, 4, 2), (2, 3, 2, 2, 2), (4, 5)])
@pytest.mark.parametrize("inplace", [False, True])
def test_modules_match_torch(name, shape, inplace):
    ours_cls, torch_cls = MODULE_PAIRS[name]
    ours_m, torch_m = ours_cls(0.3, inplace), torch_cls(0.3, inplace)
    assert repr(ours_m) == repr(torch_m)
    x = make_input(shape, torch.float32, "contiguous", seed=1, specials=False)
    for mode in (True, False):
        ours_m.train(mode)
        torch_m.train(mode)
        assert_same_run(run(ours_m, twin(x), 8), run(torch_m, twin(x), 8))


@pytest.mark.parametrize("name", ["dropout1d", "dropout2d", "dropout3d", "feature_alpha_dropout"])
def test_whole_channels_are_dropped(name):
    fn = FUNCTION_PAIRS[name][0]
    shape = {"dropout1d": (8, 6, 5), "dropout2d": (8, 6, 3, 3)}.get(name, (8, 6, 2, 2, 2))
    torch.manual_seed(0)
    out = fn(torch.ones(shape), 0.5, True)
    per_channel = out.flatten(2)
    assert (per_channel == per_channel[..., :1]).all(), "a channel holds more than one value"
    assert len(per_channel[..., 0].unique()) == 2, "expected both kept and dropped channels"


def test_alpha_dropout_keeps_mean_and_variance_of_standard_normal():
    torch.manual_seed(0)
    x = torch.randn(2_000_000, dtype=torch.float64)
    out = dropmini.alpha_dropout(x, 0.2, training=True)
    assert abs(out.mean().item()) < 0.01
    assert abs(out.var().item() - 1) < 0.01
    a = (((dropmini.SELU_ALPHA**2) * 0.2 + 1) * 0.8) ** -0.5
    dropped_value = dropmini.SELU_ALPHA * a * (0.2 - 1)  # a * (-alpha) + b for a dropped unit
    dropped_fraction = (out == dropped_value).double().mean().item()
    assert abs(dropped_fraction - 0.2) < 0.002


def test_rank_messages_say_what_shape_was_expected():
    with pytest.raises(RuntimeError, match=r"2-D \(C, L\) or 3-D \(N, C, L\).*4-D"):
        dropmini.dropout1d(torch.ones(1, 2, 3, 4))
    with pytest.warns(UserWarning, match=r"expected a 4-D \(N, C, H, W\)"):
        dropmini.dropout2d(torch.ones(2, 3), 0.5, training=False)
    with pytest.warns(UserWarning, match="reads it as \\(N, C, L\\)"):
        dropmini.dropout2d(torch.ones(2, 3, 4), 0.5, training=False)
    with pytest.raises(RuntimeError, match=r"\(N, C, ...\) with at least 2 dimensions"):
        dropmini.feature_alpha_dropout(torch.ones(4), 0.5, training=True)
