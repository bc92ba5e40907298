"""Channel-wise and alpha dropout against torch on the path that draws a mask.

Every case trains with 0 < p < 1 on a non-empty input; the paths that draw nothing
are tested once per dtype and variant in test_torch_parity.py. The grid covers the
batched and unbatched ranks of each function, the ranks torch only warns about, the
ranks it refuses, three layouts, two values of p and in place.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from helpers import (
    FUNCTIONS,
    assert_same_run,
    layouts_for,
    make_input,
    name_of,
    run_both,
    shape_id,
)

VARIANTS = ["dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]
#: Unbatched, batched, and ranks torch warns about or refuses (compared like the rest).
SHAPES = {
    "dropout1d": [(3, 4), (2, 3, 4), (2, 3, 2, 2)],
    "dropout2d": [(2, 3, 4), (2, 3, 2, 2), (3, 4), (2, 3, 2, 2, 2)],
    "dropout3d": [(3, 2, 2, 2), (2, 3, 2, 2, 2), (2, 3, 4)],
    "alpha_dropout": [(), (7,), (3, 5), (2, 3, 2, 2)],
    "feature_alpha_dropout": [(4,), (3, 5), (2, 3, 4), (2, 3, 2, 2, 2)],
}
PS = [0.2, 0.5]
SEEDS = [31]  # dropout's grid varies the seed; one is enough for the shared noise code
DTYPES = [torch.float32, torch.float64, torch.bfloat16]


def grid():
    for name in VARIANTS:
        for shape, dtype, p, seed, inplace in itertools.product(
            SHAPES[name], DTYPES, PS, SEEDS, [False, True]
        ):
            for layout in layouts_for(shape):
                yield pytest.param(
                    name, shape, layout, dtype, p, seed, inplace,
                    id=f"{name}-{name_of(dtype)}-{shape_id(shape)}-{layout}-p{p}-seed{seed}"
                    + ("-inplace" if inplace else ""),
                )  # fmt: skip


@pytest.mark.parametrize("name,shape,layout,dtype,p,seed,inplace", list(grid()))
def test_bernoulli_path_matches_torch(name, shape, layout, dtype, p, seed, inplace):
    ours_fn, torch_fn = FUNCTIONS[name]
    x = make_input(shape, dtype, layout, seed=len(shape), specials=True)
    ours, theirs = run_both(
        lambda t: ours_fn(t, p, True, inplace), lambda t: torch_fn(t, p, True, inplace), x, seed
    )
    assert_same_run(ours, theirs)
