"""fused_dropout: torch's bits, gradient and generator state, with a mask drawn by numba."""

from __future__ import annotations

import math
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import copy_with_strides, make_input, name_of
from hypothesis import given, settings
from hypothesis import strategies as st

import dropmini
from dropmini import fused
from dropmini.fused import CHUNK, FusedDropout, fused_dropout, keep_threshold
from dropmini.lab.memory import bytes_kept_for_backward
from dropmini.lab.ops import RecordOps

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
#: 0 and 1, their neighbours (1 - nextafter(0, 1) is 1.0: every element kept, yet a draw;
#: 1 - nextafter(1, 0) is 2**-53: only r == 0 kept), and three ordinary values.
PS = [0.0, math.nextafter(0.0, 1.0), 0.1, 0.5, 0.9, math.nextafter(1.0, 0.0), 1.0]
LAYOUTS = ["contiguous", "transposed", "sliced"]  # transposed is dense, sliced is not


def call(fn, x, p, training, inplace, *, grad, seed=5):
    """Run one dropout call after ``manual_seed(seed)``; return everything to compare.

    With ``grad`` the input is ``leaf * 1`` (in place needs a non-leaf) and the
    result is back-propagated with a fixed upstream gradient.
    """
    leaf = copy_with_strides(x).requires_grad_(grad)
    inp = leaf * 1 if grad else leaf
    torch.manual_seed(seed)
    out = fn(inp, p, training, inplace)
    state = torch.get_rng_state()
    result = {
        "out": out.detach().clone(),
        "stride": out.stride(),
        "is_input": out is inp,
        "input_after": inp.detach().clone(),
        "state": state,
    }
    if grad:
        upstream = make_input(tuple(out.shape), x.dtype, "contiguous", 9, specials=True)
        out.backward(upstream)
        result["grad"] = leaf.grad
    return result


def assert_same(ours, theirs):
    assert dropmini.same_bits(ours["out"], theirs["out"]), "output bits differ"
    assert ours["stride"] == theirs["stride"], "output layout differs"
    assert ours["is_input"] == theirs["is_input"]
    assert dropmini.same_bits(ours["input_after"], theirs["input_after"]), "input differs after"
    assert torch.equal(ours["state"], theirs["state"]), "generator state differs"
    if "grad" in theirs:
        assert dropmini.same_bits(ours["grad"], theirs["grad"]), "gradient bits differ"


@pytest.mark.parametrize("p", PS, ids=lambda p: f"p={p!r}")
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES, ids=name_of)
def test_grid_matches_torch(dtype, layout, p):
    x = make_input((6, 11), dtype, layout, seed=3, specials=True)
    for training in (True, False):
        for inplace in (False, True):
            for grad in (True, False):
                ours = call(fused_dropout, x, p, training, inplace, grad=grad)
                theirs = call(F.dropout, x, p, training, inplace, grad=grad)
                assert_same(ours, theirs)


@st.composite
def tensors(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = tuple(draw(st.lists(st.integers(0, 7), min_size=0, max_size=4)))
    x = make_input(shape, dtype, seed=draw(st.integers(0, 2**16)), specials=draw(st.booleans()))
    if len(shape) >= 2 and draw(st.booleans()):
        x = x.permute(*draw(st.permutations(range(len(shape)))))
    if x.dim() >= 1 and x.shape[0] > 1 and draw(st.booleans()):
        x = x[:: draw(st.integers(2, 3))]
    return x


@settings(max_examples=40, deadline=None)
@given(
    x=tensors(),
    p=st.one_of(st.sampled_from(PS), st.floats(0.0, 1.0)),
    seed=st.integers(0, 2**31 - 1),
    inplace=st.booleans(),
    grad=st.booleans(),
)
def test_hypothesis_matches_torch(x, p, seed, inplace, grad):
    ours = call(fused_dropout, x, p, True, inplace, grad=grad, seed=seed)
    assert_same(ours, call(F.dropout, x, p, True, inplace, grad=grad, seed=seed))


#: Element counts and words already used that put the 624-word twist and the block of
#: CHUNK elements at every place: a pair of words split by the twist (odd start), a draw
#: ending just before, on and after a twist (623-625 and 1247-1249 words) or a block.
COUNTS = [1, 311, 312, 313, 623, 624, 625, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 3]
STARTS = [0, 1, 2, 310, 311, 312, 622, 623, 624, 625]


@pytest.mark.parametrize("start", STARTS, ids=lambda k: f"rand{k}")
def test_block_boundaries_and_starts_mid_block(start):
    """After ``torch.rand(start)`` (one word per float32) the draw starts mid-block."""
    for n in COUNTS:
        x = make_input((n,), torch.float32, seed=n)
        results = []
        for fn in (fused_dropout, F.dropout):
            torch.manual_seed(start)
            torch.rand(start)
            results.append((fn(x, 0.3), torch.get_rng_state(), torch.rand(3)))
        (out, state, after), (t_out, t_state, t_after) = results
        assert dropmini.same_bits(out, t_out), n
        assert torch.equal(state, t_state) and torch.equal(after, t_after), n


def test_words_used_reach_each_twist_boundary():
    """Totals of 623, 624, 625, 1247, 1248 and 1249 words (odd ones after one rand word)."""
    for words in (623, 624, 625, 1247, 1248, 1249):
        start = words % 2
        n = (words - start) // 2
        x = torch.ones(n, dtype=torch.float64)
        results = []
        for fn in (fused_dropout, F.dropout):
            torch.manual_seed(words)
            torch.rand(start)
            results.append((fn(x, 0.5), torch.get_rng_state()))
        assert dropmini.same_bits(results[0][0], results[1][0])
        assert torch.equal(results[0][1], results[1][1])
        left = dropmini.read_state(results[0][1]).left
        assert left == 625 - (words - 1) % 624 - 1  # the generator's own count agrees


@pytest.mark.parametrize("draw_first", ["randn", "normal", "bernoulli"])
def test_after_other_random_calls(draw_first):
    """A start mid-block after other draws, and the cached normal samples are kept."""
    before = {
        "randn": lambda: torch.randn(3),
        "normal": lambda: torch.empty(17, dtype=torch.float64).normal_(),
        "bernoulli": lambda: torch.empty(5).bernoulli_(0.2),
    }[draw_first]
    x = make_input((40, 9), torch.float32, seed=1)
    results = []
    for fn in (fused_dropout, F.dropout):
        torch.manual_seed(12)
        before()
        results.append((fn(x, 0.25), torch.get_rng_state(), torch.randn(2)))
    assert dropmini.same_bits(results[0][0], results[1][0])
    assert torch.equal(results[0][1], results[1][1]) and torch.equal(results[0][2], results[1][2])


def test_keep_threshold_is_torchs_double_compare():
    """``r < keep_threshold(p)`` exactly when ``r * 2**-53 < 1 - p``, at the edge r values."""
    rng = np.random.default_rng(0)
    ps = [0.0, 1.0, math.nextafter(0.0, 1.0), math.nextafter(1.0, 0.0), 0.5, 0.1, 1 / 3, 2**-60]
    ps += [float(v) for v in rng.random(200)]
    for p in ps:
        q = 1.0 - p
        t = keep_threshold(p)
        assert 0 <= t <= 2**53
        edge = math.floor(q * 2**53)
        for r in {0, 1, 2**53 - 1, edge - 1, edge, edge + 1, t - 1, t}:
            if 0 <= r < 2**53:
                assert (r < t) == (r * 2.0**-53 < q), (p, r)


@settings(max_examples=30, deadline=None)
@given(
    p=st.floats(0.0, 1.0),
    n=st.integers(1, 1500),
    words=st.integers(0, 700),
    seed=st.integers(0, 2**32 - 1),
)
def test_kernel_equals_numpy_mt19937(p, n, words, seed):
    """The numba generator and threshold against dropmini.keep_mask (numpy's MT19937)."""
    torch.manual_seed(seed)
    torch.rand(words)
    start = torch.get_rng_state()
    expected = dropmini.keep_mask(n, p)
    after = torch.get_rng_state()
    torch.set_rng_state(start)
    bits, _ = fused._draw(torch.empty(n), p)
    assert np.array_equal(np.unpackbits(bits, count=n, bitorder="little"), expected.numpy())
    assert not np.unpackbits(bits, bitorder="little")[n:].any()  # padding bits are zero
    assert torch.equal(torch.get_rng_state(), after)


def test_calls_no_torch_random_function():
    x = torch.randn(100, requires_grad=True)
    with RecordOps() as record:
        fused_dropout(x, 0.5).sum().backward()
        fused_dropout(x.detach().to(torch.float16), 0.5)
    assert not [op for op in record.ops if "bernoulli" in op or "rand" in op or "uniform" in op]


@pytest.mark.parametrize("n", [1, 7, 8, 9, 1000, 100_003])
def test_keeps_one_bit_per_element(n):
    x = torch.ones(n, requires_grad=True)
    assert bytes_kept_for_backward(lambda t: fused_dropout(t, 0.5), x) == math.ceil(n / 8)
    x16 = torch.ones(n, dtype=torch.bfloat16, requires_grad=True)
    assert bytes_kept_for_backward(lambda t: fused_dropout(t, 0.5), x16) == math.ceil(n / 8)


def test_double_backward_matches_torch():
    x = torch.randn(50, dtype=torch.float64)
    results = []
    for fn in (fused_dropout, F.dropout):
        leaf = x.clone().requires_grad_()
        v = torch.ones(50, dtype=torch.float64, requires_grad=True)
        torch.manual_seed(2)
        out = fn(leaf, 0.3)
        (g,) = torch.autograd.grad(out, leaf, v, create_graph=True)
        (gg,) = torch.autograd.grad(g.sum(), v)
        results.append((g.detach(), gg))
    assert all(torch.equal(a, b) for a, b in zip(*results, strict=True))


@pytest.mark.parametrize("dtype", DTYPES, ids=name_of)
def test_nan_bits_of_the_gradient_for_a_permuted_input(dtype):
    """The upstream gradient's layout differs from the noise's: -inf * 0 must give torch's NaN."""
    x = make_input((3, 7, 2), dtype, seed=0).permute(1, 0, 2)  # dense, strides (2, 14, 1)
    for p in (0.5, math.nextafter(0.0, 1.0)):
        assert_same(call(fused_dropout, x, p, True, False, grad=True),
                    call(F.dropout, x, p, True, False, grad=True))  # fmt: skip


def test_gradient_with_other_upstream_layout():
    """An upstream gradient whose strides are not the noise's takes torch's path: same bits."""
    x = make_input((8, 5), torch.float32, seed=4)
    upstream = make_input((5, 8), torch.float32, seed=5).t()
    grads = []
    for fn in (fused_dropout, F.dropout):
        leaf = x.clone().requires_grad_()
        torch.manual_seed(1)
        fn(leaf, 0.4).backward(upstream)
        grads.append(leaf.grad)
    assert dropmini.same_bits(*grads)


def test_in_place_on_views_of_a_non_leaf_matches_torch():
    """Dense and strided views overwritten in turn: values and gradient through the views."""
    results = []
    for fn in (fused_dropout, F.dropout):
        leaf = make_input((6, 5), torch.float64, seed=1).requires_grad_()
        y = leaf * 1
        for view in (y[::2], y[:, 1:3].t(), y[1]):  # strided, strided, dense
            torch.manual_seed(0)
            fn(view, 0.4, True, True)
        (y * torch.arange(30.0).reshape(6, 5)).sum().backward()
        results.append((y.detach(), leaf.grad, torch.get_rng_state()))
    (y, grad, state), (t_y, t_grad, t_state) = results
    assert dropmini.same_bits(y, t_y) and dropmini.same_bits(grad, t_grad)
    assert torch.equal(state, t_state)


def test_in_place_after_an_op_that_saved_its_output_fails_as_torchs():
    """Both bump the version counter, so autograd sees the overwritten sigmoid output."""
    for fn in (fused_dropout, F.dropout):
        y = torch.sigmoid(torch.randn(10, requires_grad=True))
        with torch.no_grad():
            fn(y, 0.5, True, True)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


BAD_CALLS = {
    "p>1": (lambda: torch.randn(10), (1.5,)),
    "p<0": (lambda: torch.randn(10), (-0.1,)),
    "p=nan": (lambda: torch.randn(10), (float("nan"),)),
    "p=str": (lambda: torch.randn(10), ("0.5",)),
    "p=bool": (lambda: torch.randn(10), (True,)),
    "training=int": (lambda: torch.randn(10), (0.5, 1)),
    "integer tensor": (lambda: torch.arange(10), (0.5,)),
    "complex tensor": (lambda: torch.randn(10, dtype=torch.complex64), (0.5,)),
    "in place on a leaf": (lambda: torch.randn(10, requires_grad=True), (0.5, True, True)),
    "not a tensor": (lambda: [1.0, 2.0], (0.5,)),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_arguments_raise_as_dropmini_dropout_before_drawing(case):
    make, args = BAD_CALLS[case]
    x = make()
    copy = x.detach().clone() if isinstance(x, torch.Tensor) else list(x)
    before = torch.get_rng_state()
    with pytest.raises(Exception) as ours:
        fused_dropout(x, *args)
    assert torch.equal(before, torch.get_rng_state())
    same = torch.equal(x.detach(), copy) if isinstance(x, torch.Tensor) else x == copy
    assert same, "input changed"
    with pytest.raises(Exception) as theirs:
        dropmini.dropout(make(), *args)
    assert ours.type is theirs.type
    assert str(ours.value) == str(theirs.value).replace("dropout(", "fused_dropout(")


def test_other_devices_are_refused():
    with pytest.raises(NotImplementedError, match="CPU"):
        fused_dropout(torch.ones(4, device="meta"), 0.5)


def test_module_matches_nn_dropout():
    drop, theirs = FusedDropout(0.25), torch.nn.Dropout(0.25)
    assert (
        isinstance(drop, dropmini.DropoutNd) and repr(drop) == "FusedDropout(p=0.25, inplace=False)"
    )
    x = torch.randn(4, 6)
    for train in (True, False):
        drop.train(train), theirs.train(train)
        outs = []
        for module in (drop, theirs):
            torch.manual_seed(8)
            outs.append((module(x), torch.get_rng_state()))
        assert dropmini.same_bits(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])
    assert drop(x) is x
    inplace = FusedDropout(0.5, inplace=True)
    y = x.clone()
    assert inplace(y) is y
    with pytest.raises(ValueError):
        FusedDropout(2.0)


@pytest.mark.slow  # starts numba's threads: seconds on a loaded machine
def test_threads_give_the_same_bits():
    """The multiply pass on numba's threads (from PARALLEL_MIN elements) changes no bit."""
    numba = fused._kernels().numba
    x = make_input((fused.PARALLEL_MIN + 13,), torch.float32, seed=2)
    threads = numba.get_num_threads()
    outs = []
    try:
        for count in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(count)
            torch.manual_seed(3)
            outs.append(fused_dropout(x, 0.5))
    finally:
        numba.set_num_threads(threads)
    torch.manual_seed(3)
    expected = F.dropout(x, 0.5)
    assert all(dropmini.same_bits(out, expected) for out in outs)


@pytest.mark.slow  # a fresh Python process that imports torch: 2 s or more
def test_import_does_not_import_numba():
    code = "import sys, dropmini; print('numba' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_missing_numba_is_an_import_error_that_says_what_to_install(monkeypatch):
    fused._kernels.cache_clear()
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` now raises ImportError
    try:
        before = torch.get_rng_state()
        with pytest.raises(ImportError, match=r"pip install numba") as error:
            fused_dropout(torch.ones(3), 0.5)
        assert "dropmini[fused]" in str(error.value)
        assert torch.equal(before, torch.get_rng_state())
    finally:
        monkeypatch.undo()
        fused._kernels.cache_clear()
    assert fused_dropout(torch.ones(3), 0.0).tolist() == [1.0, 1.0, 1.0]  # numba is back


def test_compiles_without_the_disk_cache_when_numba_finds_nowhere_to_write():
    calls = []

    def njit(**options):
        calls.append(options)
        if options.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file 'x'")
        return lambda fn: fn

    compiled = fused._compile(SimpleNamespace(njit=njit), len, parallel=True)
    assert compiled is len
    assert calls == [{"cache": True, "parallel": True}, {"parallel": True}]


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(
    x=tensors(),
    p=st.one_of(st.sampled_from(PS), st.floats(0.0, 1.0)),
    seed=st.integers(0, 2**31 - 1),
    training=st.booleans(),
    inplace=st.booleans(),
    grad=st.booleans(),
)
def test_hypothesis_matches_torch_long(x, p, seed, training, inplace, grad):
    ours = call(fused_dropout, x, p, training, inplace, grad=grad, seed=seed)
    assert_same(ours, call(F.dropout, x, p, training, inplace, grad=grad, seed=seed))


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES, ids=name_of)
@pytest.mark.parametrize("n", [2**18 - 1, 2**18 + 5, 10**6 + 3])
def test_large_inputs_match_torch(dtype, n):
    x = make_input((n,), dtype, seed=n % 97, specials=True)
    ours = call(fused_dropout, x, 0.37, True, False, grad=True)
    assert_same(ours, call(F.dropout, x, 0.37, True, False, grad=True))
