"""DropConnect, DropBlock and the grouping figure of chapter 20, against independent formulas."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from dropmini.compare import same_bits  # noqa: E402
from dropmini.lab import relatives  # noqa: E402
from dropmini.lab.references import torchvision_drop_block2d  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _inputs(seed: int, n: int = 5, d_in: int = 4, d_out: int = 3):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d_in, generator=g, dtype=torch.float64)
    w = torch.randn(d_out, d_in, generator=g, dtype=torch.float64)
    b = torch.randn(d_out, generator=g, dtype=torch.float64)
    return x, w, b


# DropConnect ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_drop_connect_is_one_masked_linear_per_example(seed, p):
    x, w, b = _inputs(seed)
    torch.manual_seed(seed)
    ours = relatives.drop_connect_linear(x, w, b, p)
    after = torch.get_rng_state()
    # Reference: torch's own dropout draws the masks in the same order (weights, then bias),
    # and each example goes through F.linear with its own masked weights.
    torch.manual_seed(seed)
    masked_w = F.dropout(w.expand(len(x), *w.shape), p)
    masked_b = F.dropout(b.expand(len(x), *b.shape), p)
    reference = torch.stack([F.linear(x[i], masked_w[i], masked_b[i]) for i in range(len(x))])
    torch.testing.assert_close(ours, reference, rtol=1e-12, atol=1e-12)
    assert torch.equal(torch.get_rng_state(), after)


def test_drop_connect_masks_differ_between_examples():
    x = torch.ones(50, 6, dtype=torch.float64)
    w = torch.ones(1, 6, dtype=torch.float64)
    torch.manual_seed(0)
    out = relatives.drop_connect_linear(x, w, p=0.5).flatten()
    # Identical inputs: any spread comes from per-example masks; values are 2 * (weights kept).
    assert len(set(out.tolist())) > 2
    assert torch.equal(out, 2 * (out / 2).round())


def test_drop_connect_gradient_reaches_only_kept_weights():
    x, w, _ = _inputs(3, n=1)
    w = w.clone().requires_grad_()
    torch.manual_seed(4)
    relatives.drop_connect_linear(x, w, None, 0.5).sum().backward()
    torch.manual_seed(4)
    keep = F.dropout(torch.ones(1, *w.shape, dtype=torch.float64), 0.5)[0]
    torch.testing.assert_close(w.grad, keep * x[0].expand_as(w), rtol=1e-12, atol=0)


def test_drop_connect_mean_is_the_plain_linear_layer():
    x, w, b = _inputs(5, n=1)
    many = x.expand(200_000, -1)
    torch.manual_seed(0)
    out = relatives.drop_connect_linear(many, w, b, 0.3)
    stderr = out.std(0) / len(out) ** 0.5
    assert ((out.mean(0) - F.linear(x[0], w, b)).abs() < 4 * stderr).all()


@pytest.mark.parametrize("p,training", [(0.5, False), (0.0, True)])
def test_drop_connect_eval_or_p0_is_linear_without_drawing(p, training):
    x, w, b = _inputs(6)
    state = torch.get_rng_state()
    out = relatives.drop_connect_linear(x, w, b, p, training=training)
    assert torch.equal(out, F.linear(x, w, b))
    assert torch.equal(torch.get_rng_state(), state)


def test_drop_connect_rejects_bad_arguments():
    x, w, b = _inputs(7)
    with pytest.raises(ValueError, match="between 0 and 1"):
        relatives.drop_connect_linear(x, w, b, 1.5)
    with pytest.raises(ValueError, match=r"\(N, in_features\)"):
        relatives.drop_connect_linear(x[0], w, b, 0.5)


def test_drop_connect_module_follows_training_flag():
    layer = relatives.DropConnectLinear(4, 3, p=0.4).double()
    x, _, _ = _inputs(8)
    torch.manual_seed(1)
    ours = layer(x)
    torch.manual_seed(1)
    expected = relatives.drop_connect_linear(x, layer.weight, layer.bias, 0.4)
    assert torch.equal(ours, expected)
    assert torch.equal(layer.eval()(x), F.linear(x, layer.weight, layer.bias))
    with pytest.raises(ValueError):
        relatives.DropConnectLinear(2, 2, p=-1)


# DropBlock -----------------------------------------------------------------------------


def _reference_mask(shape, p, block_size, seed):
    """Loops over the seeds: every dropped seed zeroes the square whose top-left corner it is."""
    n, c, h, w = shape
    gamma = p * h * w / (block_size**2 * (h - block_size + 1) * (w - block_size + 1))
    torch.manual_seed(seed)
    seeds = torch.empty(n, c, h - block_size + 1, w - block_size + 1).bernoulli_(1 - gamma)
    mask = torch.ones(shape)
    for i, j, r, s in (seeds == 0).nonzero().tolist():
        mask[i, j, r : r + block_size, s : s + block_size] = 0
    return mask


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("shape,p,block_size", [
    ((2, 3, 8, 8), 0.2, 3), ((1, 2, 7, 5), 0.3, 2), ((3, 1, 6, 6), 0.1, 5), ((2, 2, 4, 9), 0.2, 4),
])  # fmt: skip
def test_mask_matches_the_loop_reference(shape, p, block_size, seed):
    torch.manual_seed(seed)
    ours = relatives.dropblock_mask(shape, p, block_size)
    assert torch.equal(ours, _reference_mask(shape, p, block_size, seed))


def test_gamma_never_exceeds_p():
    for p in (0.07, 0.21, 0.3, 1.0):
        for h in range(1, 12):
            for w in range(1, 12):
                for b in range(1, min(h, w) + 1):
                    assert relatives.dropblock_gamma(p, b, h, w) <= p


def test_gamma_is_exactly_p_at_both_ends():
    # block_size 1 (every unit its own seed) and a square as large as the map (one seed
    # position): the correction is 1, so gamma must be p itself, bit for bit, as dropout's
    # and channel dropout's probability is. p / b**2 * H * W / seeds misses it, e.g. at
    # (0.21, b=3, 3 x 3), where it gives 0.20999999999999996.
    ps = [k / 100 for k in range(101)] + [1 / 3, 0.1 + 0.2]
    for side in range(1, 33):
        for p in ps:
            assert relatives.dropblock_gamma(p, 1, side, side) == p
            assert relatives.dropblock_gamma(p, side, side, side) == p
            assert relatives.dropblock_gamma(p, 1, side, side + 3) == p


def test_gamma_is_the_papers_formula():
    # Ghiasi et al. (2018), eq. (1), with p = 1 - keep_prob and a square map of side f.
    for p, b, f in [(0.1, 7, 14), (0.25, 3, 8), (0.05, 5, 28)]:
        expected = (1 - (1 - p)) / b**2 * f**2 / (f - b + 1) ** 2
        assert relatives.dropblock_gamma(p, b, f, f) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("seed", [0, 9])
@pytest.mark.parametrize(
    "shape,p", [((3, 4, 6, 6), 0.3), ((2, 3, 3, 3), 0.21), ((1, 5, 7, 7), 0.9)]
)
def test_block_size_one_is_dropout_and_full_size_is_dropout2d(shape, p, seed):
    torch.manual_seed(seed)
    mask = relatives.dropblock_mask(shape, p, 1)
    after = torch.get_rng_state()
    torch.manual_seed(seed)
    assert torch.equal(mask, (F.dropout(torch.ones(shape), p) != 0).float())
    assert torch.equal(after, torch.get_rng_state())
    torch.manual_seed(seed)
    mask = relatives.dropblock_mask(shape, p, shape[-1])
    after = torch.get_rng_state()
    torch.manual_seed(seed)
    assert torch.equal(mask, (F.dropout2d(torch.ones(shape), p) != 0).float())
    assert torch.equal(after, torch.get_rng_state())


def test_dropped_fraction_is_near_p_but_below_it():
    torch.manual_seed(0)
    mask = relatives.dropblock_mask((64, 16, 16, 16), 0.2, 3)
    dropped = 1 - mask.mean().item()
    assert 0.15 < dropped < 0.2  # overlapping squares drop less than p


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_drop_block_rescales_by_the_fraction_kept(dtype):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, 8, 8, generator=g, dtype=torch.float64).to(dtype)
    torch.manual_seed(5)
    out = relatives.drop_block(x, 0.2, 3)
    mask = _reference_mask(x.shape, 0.2, 3, 5).to(dtype)
    expected = x * (mask * (mask.numel() / mask.sum().item()))
    assert same_bits(out, expected)


@pytest.mark.parametrize("seed", [0, 3, 7])
@pytest.mark.parametrize("shape,p,block_size", [
    ((1, 1, 6, 6), 0.2, 3), ((2, 3, 8, 8), 0.25, 3), ((3, 2, 7, 9), 0.3, 5), ((2, 2, 5, 5), 0.2, 1),
])  # fmt: skip
def test_torchvision_drop_block2d_marks_dropped_seeds_where_relatives_marks_kept(
    shape, p, block_size, seed
):
    # What chapter 20 says of torchvision's code: it draws bernoulli_(gamma) over the
    # positions where a square fits and drops the square at each draw of 1 (top-left corner
    # there), then divides by the fraction kept (eps 1e-6 in the denominator).
    # relatives draws bernoulli_(1 - gamma) and drops where the draw is 0.
    n, c, h, w = shape
    x = torch.ones(shape)
    torch.manual_seed(seed)
    theirs = torchvision_drop_block2d()(x, p, block_size)
    after = torch.get_rng_state()
    gamma = p * h * w / (block_size**2 * (h - block_size + 1) * (w - block_size + 1))
    torch.manual_seed(seed)
    seeds = torch.empty(n, c, h - block_size + 1, w - block_size + 1).bernoulli_(gamma)
    mask = torch.ones(shape)
    for i, j, r, s in (seeds == 1).nonzero().tolist():
        mask[i, j, r : r + block_size, s : s + block_size] = 0
    assert torch.equal(torch.get_rng_state(), after)
    torch.testing.assert_close(theirs, mask * (mask.numel() / (1e-6 + mask.sum())))
    # Same generator use as relatives.dropblock_mask, from the other end of the draws.
    torch.manual_seed(seed)
    relatives.dropblock_mask(shape, p, block_size)
    assert torch.equal(torch.get_rng_state(), after)


def test_drop_block_everything_dropped_gives_zeros():
    torch.manual_seed(0)
    out = relatives.drop_block(torch.ones(1, 1, 3, 3), 1.0, 1)
    assert torch.equal(out, torch.zeros(1, 1, 3, 3))


def test_drop_block_eval_and_checks():
    x = torch.ones(1, 2, 5, 5)
    state = torch.get_rng_state()
    assert relatives.drop_block(x, 0.2, 3, training=False) is x
    assert relatives.drop_block(x, 0.0, 3) is x
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        relatives.drop_block(torch.ones(2, 5, 5), 0.2, 3)
    with pytest.raises(ValueError, match="block_size must be between 1 and"):
        relatives.drop_block(x, 0.2, 6)
    assert torch.equal(torch.get_rng_state(), state)


# Figure --------------------------------------------------------------------------------


def test_grouping_figure_one_panel_per_method_with_fraction():
    kept = np.ones((2, 3, 4, 4))
    half = kept.copy()
    half[0] = 0
    fig = relatives.grouping_figure({"a": kept, "b": half, "c": kept})
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["a\n0% dropped", "b\n50% dropped", "c\n0% dropped"]
    image = fig.axes[1].images[0].get_array()
    assert image.shape == (2 * 5 - 1, 3 * 5 - 1)
    assert image[:4, :4].sum() == 0 and image[5:, :4].all()
    assert np.ma.getmaskarray(image)[4].all()  # the gap between samples
