"""dropmini's dropout functions under ``torch.func.vmap``, against torch's, bit for bit.

Under ``randomness="different"`` every sample draws its own mask, which needs the noise to
be made from the (batched) input, as ATen makes it; ``"same"`` draws one mask for all.
"""

import pytest
import torch
import torch.nn.functional as F
from torch.func import vmap

import dropmini

PAIRS = {
    "dropout": (lambda r: F.dropout(r, 0.3), lambda r: dropmini.dropout(r, 0.3)),
    "dropout1d": (lambda r: F.dropout1d(r, 0.3), lambda r: dropmini.dropout1d(r, 0.3)),
    "dropout2d": (lambda r: F.dropout2d(r, 0.3), lambda r: dropmini.dropout2d(r, 0.3)),
    "alpha_dropout": (
        lambda r: F.alpha_dropout(r, 0.3, True),
        lambda r: dropmini.alpha_dropout(r, 0.3, True),
    ),
    "feature_alpha_dropout": (
        lambda r: F.feature_alpha_dropout(r, 0.3, True),
        lambda r: dropmini.feature_alpha_dropout(r, 0.3, True),
    ),
}


def _run(function, x, randomness, seed):
    torch.manual_seed(seed)
    out = vmap(function, randomness=randomness)(x)
    return out, torch.get_rng_state()


# Each sample is 3-D: dropout2d warns that it treats it as (N, C, L), as torch's does.
@pytest.mark.filterwarnings("ignore:dropout2d. Received a 3D input")
@pytest.mark.parametrize("randomness", ["different", "same"])
@pytest.mark.parametrize("name", list(PAIRS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vmap_gives_torchs_bits_and_state(name, randomness, seed):
    # Two equal samples: their outputs are equal exactly when they share one mask.
    x = torch.linspace(-1, 1, 3 * 4 * 5, dtype=torch.float64).float().reshape(3, 4, 5)
    x = torch.stack([x, x])
    theirs, their_state = _run(PAIRS[name][0], x, randomness, seed)
    ours, our_state = _run(PAIRS[name][1], x, randomness, seed)
    assert dropmini.same_bits(ours, theirs)
    assert torch.equal(our_state, their_state)
    # The two modes really differ: "same" repeats one mask, "different" does not.
    assert torch.equal(theirs[0], theirs[1]) == (randomness == "same")


def test_vmap_error_mode_refuses_dropmini_as_it_refuses_torch():
    x = torch.ones(2, 8)
    for function in (PAIRS["dropout"][0], PAIRS["dropout"][1]):
        with pytest.raises(RuntimeError, match="randomness error mode"):
            vmap(function)(x)


def test_batch_along_another_dimension_draws_in_another_order():
    """Documented difference: torch's vmap rule fills a batch-first noise tensor."""
    x = torch.linspace(-1, 1, 4 * 6, dtype=torch.float64).float().reshape(4, 6)
    same = []
    for seed in range(5):
        torch.manual_seed(seed)
        theirs = vmap(PAIRS["dropout"][0], in_dims=1, randomness="different")(x)
        their_state = torch.get_rng_state()
        torch.manual_seed(seed)
        ours = vmap(PAIRS["dropout"][1], in_dims=1, randomness="different")(x)
        assert torch.equal(torch.get_rng_state(), their_state)
        same.append(dropmini.same_bits(ours, theirs))
    assert not any(same)


def test_unbatched_input_under_different_randomness_is_refused_by_dropmini_only():
    """Documented difference: torch draws one mask per sample; dropmini's in-place fill fails."""
    w = torch.ones(6)
    x = torch.ones(3, 6)
    torch.manual_seed(0)
    theirs = vmap(lambda r: F.dropout(w, 0.5) * r, randomness="different")(x)
    assert theirs.shape == (3, 6)
    with pytest.raises(RuntimeError, match="unbatched tensor"):
        vmap(lambda r: dropmini.dropout(w, 0.5) * r, randomness="different")(x)
