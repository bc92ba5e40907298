"""packed_dropout: torch's bits, gradient and RNG use, keeping one bit per element."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from helpers import copy_with_strides, make_input, name_of

import dropmini
from dropmini.lab.memory import bytes_kept_for_backward
from dropmini.packed import PackedDropout, _pack, _unpack, packed_dropout

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
LAYOUTS = {
    "contiguous": lambda dtype: make_input((5, 13), dtype, "contiguous", 1, specials=True),
    "transposed": lambda dtype: make_input((6, 11), dtype, "transposed", 2, specials=True),
    "sliced": lambda dtype: make_input((4, 9), dtype, "sliced", 3, specials=True),
    "0-d": lambda dtype: torch.tensor(-2.5, dtype=dtype),
    "channels_last": lambda dtype: make_input(
        (2, 3, 4, 5), dtype, "contiguous", 4, specials=False
    ).to(memory_format=torch.channels_last),
}
#: 0.15: float32's 1 / (1 - p) by division differs from a multiplication by the double
#: 1 / (1 - p); 0.5: the scale is exact; 0.9: most elements dropped.
PS = [0.15, 0.5, 0.9]


def forward_backward(fn, x, p, seed):
    leaf = copy_with_strides(x).requires_grad_()
    torch.manual_seed(seed)
    out = fn(leaf, p)
    state = torch.get_rng_state()
    upstream = torch.randn(
        out.shape, generator=torch.Generator().manual_seed(7), dtype=torch.float64
    )
    out.backward(upstream.to(out.dtype))
    return out.detach(), leaf.grad, state


@pytest.mark.parametrize("seed", [0, 11])
@pytest.mark.parametrize("p", PS, ids=lambda p: f"p={p:.3g}")
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", DTYPES, ids=name_of)
def test_bits_gradient_and_rng_equal_torch(dtype, layout, p, seed):
    x = LAYOUTS[layout](dtype)
    out, grad, state = forward_backward(packed_dropout, x, p, seed)
    t_out, t_grad, t_state = forward_backward(F.dropout, x, p, seed)
    assert dropmini.same_bits(out, t_out), "output differs from F.dropout"
    assert out.stride() == t_out.stride()
    assert dropmini.same_bits(grad, t_grad), "gradient differs from F.dropout"
    assert torch.equal(state, t_state), "RNG state after forward differs"


@pytest.mark.parametrize("n", [1, 7, 8, 9, 1000, 4097, 100_003])
def test_keeps_one_bit_per_element(n):
    x = torch.ones(n, requires_grad=True)
    assert bytes_kept_for_backward(lambda t: packed_dropout(t, 0.5), x) == math.ceil(n / 8)
    assert bytes_kept_for_backward(lambda t: F.dropout(t, 0.5), x) == 4 * n  # torch: float mask


def test_bool_draw_consumes_like_a_float_draw():
    """The premise of drawing straight into bool: same mask, same generator state after."""
    results = []
    for dtype in (torch.float32, torch.float16, torch.float64, torch.bool, torch.uint8):
        torch.manual_seed(5)
        mask = torch.empty(3001, dtype=dtype).bernoulli_(0.7).bool()
        results.append((mask, torch.get_rng_state()))
    for mask, state in results[1:]:
        assert torch.equal(mask, results[0][0]) and torch.equal(state, results[0][1])


@pytest.mark.parametrize("n", [1, 7, 8, 9, 8000])
def test_pack_unpack_round_trip(n):
    bits = torch.rand(n, generator=torch.Generator().manual_seed(n)) < 0.5
    packed = _pack(bits)
    assert packed.dtype == torch.uint8 and packed.untyped_storage().nbytes() == math.ceil(n / 8)
    assert torch.equal(_unpack(packed, n).bool(), bits)
    first = bits[:8].tolist()
    assert packed[0].item() == sum(1 << i for i, b in enumerate(first) if b)


def test_double_backward_matches_torch():
    x = torch.randn(50, dtype=torch.float64)
    results = []
    for fn in (packed_dropout, F.dropout):
        leaf = x.clone().requires_grad_()
        v = torch.ones(50, dtype=torch.float64, requires_grad=True)
        torch.manual_seed(2)
        out = fn(leaf, 0.3)
        (g,) = torch.autograd.grad(out, leaf, v, create_graph=True)
        (gg,) = torch.autograd.grad(g.sum(), v)
        results.append((g.detach(), gg))
    assert all(torch.equal(a, b) for a, b in zip(*results, strict=True))


def test_without_grad_same_bits_and_state():
    x = torch.randn(1000)
    torch.manual_seed(4)
    with torch.no_grad():
        ours = packed_dropout(x.requires_grad_(), 0.2)
    state = torch.get_rng_state()
    torch.manual_seed(4)
    assert dropmini.same_bits(ours, F.dropout(x.detach(), 0.2))
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize(
    "p,training,shape",
    [(0.0, True, (3,)), (0.5, False, (3,)), (0.5, True, (0,)), (0.5, True, (2, 0))],
    ids=["p=0", "eval", "empty", "empty-2d"],
)
def test_returns_input_itself_without_drawing(p, training, shape):
    x = torch.randn(shape)
    before = torch.get_rng_state()
    assert packed_dropout(x, p, training) is x
    assert torch.equal(before, torch.get_rng_state())


def test_p_one_multiplies_by_zero_like_torch():
    x = torch.tensor([1.0, -2.0, float("inf"), float("nan")])
    torch.manual_seed(0)
    ours = packed_dropout(x, 1.0)
    state = torch.get_rng_state()
    torch.manual_seed(0)
    assert dropmini.same_bits(ours, F.dropout(x, 1.0))
    assert torch.equal(state, torch.get_rng_state())


def test_input_is_not_modified():
    x = torch.randn(100, requires_grad=True)
    before = x.detach().clone()
    packed_dropout(x, 0.5).sum().backward()
    assert torch.equal(x.detach(), before)


@pytest.mark.parametrize(
    "args,error",
    [((1.5,), ValueError), ((float("nan"),), ValueError), (("0.5",), TypeError),
     ((0.5, 1), TypeError)],
    ids=["p>1", "p=nan", "p=str", "training=int"],
)  # fmt: skip
def test_bad_arguments_raise_before_drawing(args, error):
    x = torch.randn(10)
    before, x_before = torch.get_rng_state(), x.clone()
    with pytest.raises(error):
        packed_dropout(x, *args)
    assert torch.equal(before, torch.get_rng_state()) and torch.equal(x, x_before)


def test_integer_input_and_other_devices_are_refused():
    with pytest.raises(TypeError, match="floating-point"):
        packed_dropout(torch.arange(4), 0.5)
    with pytest.raises(NotImplementedError, match="CPU"):
        packed_dropout(torch.ones(4, device="meta"), 0.5)


def test_module_matches_nn_dropout():
    drop, theirs = PackedDropout(0.25), torch.nn.Dropout(0.25)
    assert isinstance(drop, dropmini.DropoutNd) and repr(drop) == "PackedDropout(p=0.25)"
    x = torch.randn(4, 6)
    for train in (True, False):
        drop.train(train), theirs.train(train)
        outs = []
        for module in (drop, theirs):
            torch.manual_seed(8)
            outs.append(module(x))
        assert dropmini.same_bits(*outs)
    assert drop(x) is x
    with pytest.raises(ValueError):
        PackedDropout(2.0)


@pytest.mark.parametrize(
    "dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16], ids=name_of
)
def test_gradient_bits_with_special_upstream_values_and_another_layout(dtype):
    """torch's backward is ``grad * noise``: with inf and NaN upstream, NaN bits follow it."""
    x = make_input((3, 7, 2), dtype, seed=0).permute(1, 0, 2)  # dense, strides (2, 14, 1)
    upstream = make_input((7, 3, 2), dtype, "contiguous", 9, specials=True)
    for p in (0.5, math.nextafter(0.0, 1.0)):
        grads = []
        for fn in (packed_dropout, F.dropout):
            leaf = x.clone().requires_grad_()
            torch.manual_seed(3)
            fn(leaf * 1, p).backward(upstream)
            grads.append(leaf.grad)
        assert bool(grads[1].isnan().any())
        assert dropmini.same_bits(*grads)
