"""PyTorch's own dropout tests, ported to run on dropmini and torch side by side.

Sources, read in torch 2.13.0 (the release the bits are tested against):

- ``test/nn/test_dropout.py`` (``TestDropoutNN``, ``TestDropoutNNDeviceType``), ported test by
  test below; every port runs the torch module too and compares bits, strides and RNG state.
- the dropout OpInfos of ``torch/testing/_internal/common_methods_invocations.py``
  (``nn.functional.dropout``, ``dropout2d``, ``dropout3d``, ``alpha_dropout``,
  ``feature_alpha_dropout`` with and without train) and their ``sample_inputs_dropout``.
- the module-test harness: torch 2.13's ``common_modules.module_db`` and
  ``common_nn.new_module_tests`` hold no Dropout entry, so the module ports come from
  ``test_dropout.py`` alone.

Then one test per divergence found by running those ports on dropmini (issue 14): each
compares with torch and failed on the behaviour before the fix.

What stays different from torch, each shown by a test at the end of this file:

- Nested tensors are not supported (torch's dropout accepts them).
- TorchScript: ``torch.jit.script`` fails on dropmini's functions and modules (it stops at
  the first construct it cannot compile: the keyword-only arguments with defaults of
  ``_checks.check_call``; the checks also lean on ``isinstance`` with Python number
  types). ``torch.export.export`` works, in training and eval mode, and the exported
  program gives torch's bits.
- ``isinstance(m, torch.nn.modules.dropout._DropoutNd)`` is False for dropmini modules;
  ``isinstance(m, dropmini.DropoutNd)`` finds them.
- ``torch.fx.symbolic_trace`` traces *through* a dropmini module (torch's own dropout
  modules are leaf modules), so the graph holds a ``dropmini.dropout`` call with the
  ``training`` flag of tracing time: ``.eval()`` on the traced module does not turn it off.
- Stricter than torch, on purpose (tests in "Deliberately stricter"): ``p`` may be of
  the types torch's functions take (their argument parser's ``float``: int, float, numpy
  integer and floating scalars, 0-d tensors that do not require grad), except that a bool
  of any kind and a numpy complex scalar are a ``TypeError`` (torch reads a bool as 0 or 1
  and drops the imaginary part); a NaN ``p`` is a ``ValueError``; a module checks the type
  of ``p`` and NaN at construction (torch's checks only the range there, so
  ``nn.Dropout(Fraction(1, 2))`` builds and fails when called); a non-floating-point
  tensor is refused with a ``TypeError`` before any draw when a mask would be drawn
  (torch draws, then fails to cast, for integer and bool tensors; it raises
  ``NotImplementedError`` before drawing for complex ones); in place on a leaf that
  requires grad raises torch's error before drawing (torch draws first), and a failing
  in-place call never changes its input (torch's ``dropout3d`` unsqueezes a 0-d input in
  place, then raises).
"""

from __future__ import annotations

import itertools
import math
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import (
    ALL_DTYPES,
    BATCHED_SHAPE,
    FLOAT_DTYPES,
    FUNCTIONS,
    MODULES,
    Run,
    assert_same_run,
    copy_with_strides,
    make_input,
    name_of,
    run,
    run_both,
)
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.testing import make_tensor

import dropmini


def torch_release() -> tuple[int, ...]:
    """The installed torch's release as numbers: (2, 13, 0) for "2.13.0+cpu"."""
    return tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:3])


#: The six functions, plus seeded_dropout, whose torch twin is F.dropout (no inplace).
VARIANTS = [*FUNCTIONS, "seeded_dropout"]


def pair(name: str):
    """(dropmini callable, torch callable) taking ``(x, p, training, inplace)``."""
    if name in ("seeded_dropout", "packed_dropout"):
        ours = getattr(dropmini, name)
        return (
            lambda x, p, training, inplace=False: ours(x, p, training),
            lambda x, p, training, inplace=False: F.dropout(x, p, training),
        )
    return FUNCTIONS[name]


def shape_of(name: str) -> tuple[int, ...]:
    return BATCHED_SHAPE.get(name, (2, 3, 4))


# ---------------------------------------------------------------------------------------
# Divergence 1: where torch draws nothing, every dtype behaves as in torch.
# ---------------------------------------------------------------------------------------

PATHS = {  # path -> (p, training, inplace, empty input)
    "eval": (0.5, False, False, False),
    "p0": (0.0, True, False, False),
    "empty": (0.5, True, False, True),
    "p1": (1.0, True, False, False),
    "p1-inplace": (1.0, True, True, False),
}


def no_draw_cases():
    for name, dtype, path in itertools.product(VARIANTS, ALL_DTYPES, PATHS):
        if name == "seeded_dropout" and path == "p1-inplace":
            continue
        yield pytest.param(name, dtype, path, id=f"{name}-{name_of(dtype)}-{path}")


@pytest.mark.parametrize("name,dtype,path", list(no_draw_cases()))
def test_paths_that_draw_nothing_match_torch_for_every_dtype(name, dtype, path):
    """eval, p = 0 and empty return the input itself; p = 1 is ``input * zeros(())``.

    Before issue 14 dropmini raised for integer, bool and complex tensors here.
    """
    p, training, inplace, empty = PATHS[path]
    shape = shape_of(name)
    x = make_input((0, *shape[1:]) if empty else shape, dtype, seed=3, specials=True)
    ours_fn, torch_fn = pair(name)
    ours, theirs = run_both(
        lambda t: ours_fn(t, p, training, inplace),
        lambda t: torch_fn(t, p, training, inplace),
        x,
        seed=0,
    )
    assert_same_run(ours, theirs)
    assert theirs.returned_input == (path in ("eval", "p0", "empty", "p1-inplace"))


def test_eval_returns_an_integer_input_itself():
    x = torch.arange(4)
    assert F.dropout(x, 0.5, training=False) is x
    assert dropmini.dropout(x, 0.5, training=False) is x


# ---------------------------------------------------------------------------------------
# The dropout OpInfos: sample_inputs_dropout, run as the OpInfo tests run them.
# ---------------------------------------------------------------------------------------

S = 5  # common_methods_invocations.S
UPSTREAM_ALL_DTYPES = (
    torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.float32,
    torch.float64, torch.complex64, torch.complex128, torch.bool, torch.float16, torch.bfloat16,
)  # fmt: skip
OPINFOS = {  # OpInfo name -> (function name, train, valid_input_dim, dtypes)
    "dropout": ("dropout", None, None, FLOAT_DTYPES),
    "dropout2d": ("dropout2d", None, (3, 4), FLOAT_DTYPES),
    "dropout3d": ("dropout3d", None, (4, 5), FLOAT_DTYPES),
    "alpha_dropout": ("alpha_dropout", None, None, FLOAT_DTYPES),
    "feature_alpha_dropout-with_train": ("feature_alpha_dropout", True, (4, 5), FLOAT_DTYPES),
    "feature_alpha_dropout-without_train": (
        "feature_alpha_dropout", False, None, UPSTREAM_ALL_DTYPES
    ),
}  # fmt: skip


def sample_inputs_dropout(dtype, requires_grad, *, train=None, valid_input_dim=None):
    """Upstream's generator, plus a non-contiguous twin of every sample (test_noncontiguous)."""

    def make_arg(shape, noncontiguous=False):
        return make_tensor(shape, device="cpu", dtype=dtype, requires_grad=requires_grad,
                           noncontiguous=noncontiguous)  # fmt: skip

    cases = [(S,) * i for i in valid_input_dim] if valid_input_dim else [(S, S), (S,), ()]
    training_vals = [train] if train is not None else [True, False]
    for case, p, training in itertools.product(cases, [0.0, 0.5, 1.0], training_vals):
        yield make_arg(case), {"p": p, "training": training}
        yield make_arg(case, noncontiguous=True), {"p": p, "training": training}
    yield make_arg(case), {}  # upstream: the last case again, with default arguments


def forward_backward(fn, x, kwargs, inplace):
    """One OpInfo call from seed 42 (wrapper_set_seed); the gradient if there is one."""
    leaf = x.detach().clone().requires_grad_(x.requires_grad)
    # test_variant_consistency_eager runs the in-place variant on a clone (a non-leaf)
    target = leaf.clone() if inplace and leaf.requires_grad else leaf
    extra = {"inplace": True} if inplace else {}
    result = run(lambda t: fn(t, **kwargs, **extra), target, seed=42)
    grad = None
    if result.out is not None and result.out.requires_grad:
        result.out.backward(torch.ones_like(result.out))
        grad = leaf.grad
    return result, grad


def opinfo_cases():
    for opinfo, (_, _, _, dtypes) in OPINFOS.items():
        for dtype in dtypes:
            yield pytest.param(opinfo, dtype, id=f"{opinfo}-{name_of(dtype)}")


@pytest.mark.filterwarnings("ignore:dropout2d. Received a 3D input")
@pytest.mark.parametrize("opinfo,dtype", list(opinfo_cases()))
def test_opinfo_samples_match_torch(opinfo, dtype):
    name, train, dims, _ = OPINFOS[opinfo]
    ours_fn, torch_fn = FUNCTIONS[name]
    differentiable = dtype.is_floating_point or dtype.is_complex
    samples = list(sample_inputs_dropout(dtype, differentiable, train=train, valid_input_dim=dims))
    for x, kwargs in samples:
        for inplace in (False, True):
            ours, our_grad = forward_backward(ours_fn, x, kwargs, inplace)
            theirs, their_grad = forward_backward(torch_fn, x, kwargs, inplace)
            assert_same_run(ours, theirs)
            assert (our_grad is None) == (their_grad is None)
            if their_grad is not None:
                assert dropmini.same_bits(our_grad, their_grad)


# ---------------------------------------------------------------------------------------
# test/nn/test_dropout.py, test by test.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,shape",
    [
        pytest.param("AlphaDropout", (5000,), id="AlphaDropout"),
        # upstream: random b, w, h in 1..5 and d in 1..2; fixed here
        pytest.param("FeatureAlphaDropout", (1000, 3, 2, 4, 5), id="FeatureAlphaDropout"),
        # upstream: (50, 20, 64, 64); 16x16 maps keep the test under a second
        pytest.param("FeatureAlphaDropout", (50, 20, 16, 16), id="FeatureAlphaDropout-no_batch"),
    ],
)
def test_alpha_dropout_keeps_mean_and_std(name, shape):
    """TestDropoutNN._test_alpha_dropout, on both libraries, with the bits compared."""
    input = make_input(shape, torch.float32, seed=0)
    mean, std = input.mean(), input.std()
    for p in [0.2, 0.5, 0.8]:
        results = []
        for cls in MODULES[name]:
            module = cls(p)
            input_var = input.detach().clone().requires_grad_()
            torch.manual_seed(int(p * 10))
            output = module(input_var)
            assert abs(output.data.mean() - mean) < 0.1
            assert abs(output.data.std() - std) < 0.1
            output.backward(input)
            results.append((output.detach(), input_var.grad))
        (ours, our_grad), (theirs, their_grad) = results
        assert dropmini.same_bits(ours, theirs) and dropmini.same_bits(our_grad, their_grad)


@pytest.mark.parametrize("p", [-0.1, 1.1])
@pytest.mark.parametrize("name", ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d"])
def test_invalid_dropout_p(name, p):
    """TestDropoutNN.test_invalid_dropout_p: modules and F.dropout, same message as torch."""
    messages = []
    for cls in MODULES[name]:
        with pytest.raises(ValueError) as info:
            cls(p)
        messages.append(str(info.value))
    for fn in (dropmini.dropout, F.dropout):
        with pytest.raises(ValueError) as info:
            fn(torch.ones(1), p)
        messages.append(str(info.value))
    assert len(set(messages)) == 1


def check_dropout(name, input, memory_format=torch.contiguous_format):
    """TestDropoutNNDeviceType._test_dropout on both libraries; returns their results."""
    p = 0.2
    input = input.fill_(1 - p)
    results = []
    for cls in MODULES[name]:
        # upstream leaves the seed to chance; its mean checks are statistical (about 150
        # channels for Dropout1d) and fail for some seeds, in both libraries alike
        torch.manual_seed(1)
        module = cls(p)
        input_var = input.clone(memory_format=memory_format).requires_grad_()
        output = module(input_var)
        assert output.is_contiguous(memory_format=memory_format)
        assert abs(output.data.mean() - (1 - p)) < 0.05
        output.backward(input)
        assert input_var.grad.is_contiguous(memory_format=memory_format)
        assert abs(input_var.grad.data.mean() - (1 - p)) < 0.05
        first = (output.detach(), input_var.grad)

        module = cls(p, True)
        input_var = input.clone(memory_format=memory_format).requires_grad_()
        output = module(input_var + 0)
        assert output.is_contiguous(memory_format=memory_format)
        assert abs(output.data.mean() - (1 - p)) < 0.05
        output.backward(input)
        assert input_var.grad.is_contiguous(memory_format=memory_format)
        assert abs(input_var.grad.data.mean() - (1 - p)) < 0.05
        second = (output.detach(), input_var.grad)

        # check eval mode doesn't change anything
        for inplace in [True, False]:
            module = cls(p, inplace).eval()
            assert torch.equal(input, module(input))
        results.append((*first, *second, torch.get_rng_state()))
    for ours, theirs in zip(*results, strict=True):
        assert dropmini.same_bits(ours, theirs)


@pytest.mark.parametrize(
    "name,shape,dtype,memory_format",
    [
        pytest.param("Dropout", (1000,), torch.float32, torch.contiguous_format, id="Dropout"),
        pytest.param("Dropout", (1000,), torch.bfloat16, torch.contiguous_format,
                     id="Dropout-bfloat16"),
        # upstream: N, C, L random in 10..15, default dtype double
        pytest.param("Dropout1d", (12, 13, 14), torch.float64, torch.contiguous_format,
                     id="Dropout1d"),
        # upstream: (1000, b, w, h) and (1000, b, d, w, h) with b, w, h, d random
        pytest.param("Dropout2d", (1000, 2, 3, 4), torch.float32, torch.contiguous_format,
                     id="Dropout2d"),
        pytest.param("Dropout2d", (1000, 2, 3, 4), torch.float32, torch.channels_last,
                     id="Dropout2d-channels_last"),
        pytest.param("Dropout3d", (1000, 2, 2, 3, 4), torch.float32, torch.contiguous_format,
                     id="Dropout3d"),
    ],
)  # fmt: skip
def test_dropout_module(name, shape, dtype, memory_format):
    check_dropout(name, torch.empty(shape, dtype=dtype), memory_format)


@pytest.mark.parametrize(
    "memory_format", [torch.contiguous_format, torch.channels_last], ids=["contiguous", "nhwc"]
)
@pytest.mark.parametrize("name", ["Dropout", "Dropout2d", "Dropout3d"])
def test_dropout_discontiguous(name, memory_format):
    """_test_dropout_discontiguous (pytorch#47176): layout and values kept for p ~ 0."""
    for p in [0, 1e-10]:  # 1e-10: almost zero, but takes the drawing path
        inp = torch.ones(2, 3, 3, 3)
        inp_discontiguous = torch.empty(2, 3, 3, 6, memory_format=memory_format)[..., ::2]
        inp_discontiguous.copy_(inp)
        runs = []
        for cls in MODULES[name]:
            runs.append(run(cls(p=p), inp_discontiguous, seed=0))
            out = runs[-1].out
            if p != 0:
                assert out.is_contiguous(memory_format=memory_format)
            assert torch.equal(inp_discontiguous, out)
        assert_same_run(*runs)


@pytest.mark.parametrize("p", [1e-10, 0.3, 0.5, 0.7], ids=lambda p: f"p{p}")
def test_dropout_stride_mean_preserve(p):
    """_test_dropout_stride_mean_preserve: 24 permutations x 4 shifts, strides as torch."""

    def invert_perm(perm):
        d = {x: i for i, x in enumerate(perm)}
        return (d[0], d[1], d[2], d[3])

    inp = torch.ones(2, 3, 4, 5)
    for perm in itertools.permutations((0, 1, 2, 3), r=4):
        for shift in [(0, 0), (1, 0), (0, 1), (1, 1)]:
            permuted = inp.permute(perm).contiguous().permute(invert_perm(perm))
            permuted = permuted[shift[0] :, shift[1] :, :, :]
            runs = [run(cls(p=p), permuted, seed=sum(perm)) for cls in MODULES["Dropout"]]
            assert_same_run(*runs)
            out = runs[0].out
            assert out.permute(perm).is_contiguous()
            assert abs(inp.mean() - out.mean()) <= 0.5 + 0.5 * abs(out.mean())
            assert torch.equal(permuted, out) == (p == 1e-10)


@pytest.mark.parametrize("lib", ["dropmini", "torch"])
def test_dropout1d_rank_errors(lib):
    cls = MODULES["Dropout1d"][lib == "torch"]
    with pytest.raises(RuntimeError, match="Expected 2D or 3D input, but received a 4D input"):
        cls(p=0.5)(torch.rand(1, 2, 2, 2))
    with pytest.raises(RuntimeError, match="Expected 2D or 3D input, but received a 1D input"):
        cls(p=0.5)(torch.rand(2))


@pytest.mark.parametrize("inplace", [False, True], ids=["copy", "inplace"])
@pytest.mark.parametrize(
    "name,shape",
    [("Dropout1d", (50, 2)), ("Dropout3d", (50, 2, 2, 2))],
    ids=["Dropout1d", "Dropout3d"],
)
def test_dropout_nd_no_batch(name, shape, inplace):
    """_test_dropoutNd_no_batch: an unbatched input is dropped as a batch of one."""
    input = make_input(shape, torch.float64, seed=4).abs()  # upstream: torch.rand
    results = []
    for cls in MODULES[name]:
        dropout = cls(p=0.5, inplace=inplace)
        torch.manual_seed(8)
        res_no_batch = dropout(input.clone())
        torch.manual_seed(8)
        res_batched = dropout(input.clone().unsqueeze(0)).squeeze(0)
        assert torch.equal(res_no_batch, res_batched)
        results.append(res_no_batch)
    assert dropmini.same_bits(*results)


@pytest.mark.parametrize("inplace", [False, True], ids=["copy", "inplace"])
@pytest.mark.parametrize("name", ["Dropout1d", "Dropout2d", "Dropout3d"])
def test_dropout_nd_channel_zero(name, inplace):
    """_test_dropoutNd_channel_zero: a channel is all zero or all kept."""
    shape = {"Dropout1d": (10, 4, 2), "Dropout2d": (10, 4, 2, 2)}.get(name, (10, 4, 2, 2, 2))
    channel_numel = math.prod(shape[2:])
    results = []
    for cls in MODULES[name]:
        torch.manual_seed(1)
        result = cls(p=0.5, inplace=inplace)(torch.ones(shape))
        for b, c in itertools.product(range(shape[0]), range(shape[1])):
            assert result[b, c].count_nonzero() in (0, channel_numel)
        results.append(result)
    assert dropmini.same_bits(*results)


RANK_WARNINGS = [
    ("Dropout2d", (1, 2, 2, 2, 2), "Received a 5-D input to dropout2d"),
    ("Dropout2d", (1, 2), "Received a 2-D input to dropout2d"),
    ("Dropout2d", (1, 2, 2), "assuming that channel-wise 1D dropout behavior is desired"),
    ("Dropout3d", (1, 2, 2, 2, 2, 2), "Received a 6-D input to dropout3d"),
    ("Dropout3d", (1, 2, 2), "Received a 3-D input to dropout3d"),
]


@pytest.mark.parametrize(
    "name,shape,regex", RANK_WARNINGS, ids=[f"{n}-{len(s)}d" for n, s, _ in RANK_WARNINGS]
)
def test_rank_warnings_match_torch_regex(name, shape, regex):
    """test_Dropout2d / test_Dropout3d's assertWarnsRegex, and the full texts are torch's."""
    runs = []
    for cls in MODULES[name]:
        with pytest.warns(UserWarning, match=regex):
            cls(p=0.5)(torch.rand(shape))
        runs.append(run(cls(p=0.5), torch.rand(shape), seed=0))
    assert runs[0].warnings == runs[1].warnings


@pytest.mark.parametrize(
    "name,shape",
    [("dropout2d", (1, 2, 2)), ("dropout2d", (1, 2)), ("dropout3d", (1, 2, 2))],
    ids=["dropout2d-3d", "dropout2d-2d", "dropout3d-3d"],
)
def test_rank_warnings_point_at_the_caller(name, shape):
    """The warning names the line that called dropout2d (stacklevel=2), as torch's does.

    torch 2.7 named a line of its own torch/nn/functional.py; 2.10 and later name the caller.
    """
    places = []
    for fn in FUNCTIONS[name]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn(torch.ones(shape), 0.5, False)
        places.append([w.filename for w in caught])
    ours, theirs = places
    assert ours and ours == [__file__] * len(ours)
    if torch_release() >= (2, 10):
        assert theirs == ours
    else:
        assert len(theirs) == len(ours) and all(p.endswith("functional.py") for p in theirs)


def test_empty_dropout():
    for fn in (dropmini.dropout, F.dropout):
        x = torch.tensor([])
        assert fn(x).size() == x.size()


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("p", [0.0, 1.0], ids=["p0", "p1"])
def test_native_dropout_corner_case(train, p):
    """test_native_dropout_corner_case (upstream: CUDA vs CPU), here dropmini vs torch."""
    x = make_input((5,), torch.float32, seed=6)
    results = []
    for fn in (dropmini.dropout, F.dropout):
        leaf = x.clone().requires_grad_()
        out = fn(leaf, p, train)
        out.sum().backward()
        results.append((out.detach(), leaf.grad))
    assert dropmini.same_bits(results[0][0], results[1][0])
    assert dropmini.same_bits(results[0][1], results[1][1])


# ---------------------------------------------------------------------------------------
# Divergence 2: p as a numpy scalar or a 0-d tensor; torch computes 1 - p in double.
# ---------------------------------------------------------------------------------------

P_SCALARS = {
    "np.float32": np.float32(0.1),
    "np.float16": np.float16(0.1),
    "np.float64": np.float64(0.3),
    "tensor-float32": torch.tensor(0.1),
    "tensor-float16": torch.tensor(0.1, dtype=torch.float16),
    "tensor-float64": torch.tensor(0.3, dtype=torch.float64),
}


@pytest.mark.parametrize("kind", list(P_SCALARS))
@pytest.mark.parametrize("name", VARIANTS)
def test_p_as_numpy_scalar_or_0d_tensor_gives_torch_bits(name, kind):
    p = P_SCALARS[kind]
    x = make_input(shape_of(name), torch.float32, seed=7)
    ours_fn, torch_fn = pair(name)
    ours, theirs = run_both(lambda t: ours_fn(t, p, True), lambda t: torch_fn(t, p, True), x, 2)
    assert_same_run(ours, theirs)


def test_alpha_dropout_with_float32_p_example_from_the_issue():
    x = torch.linspace(-2, 2, 64, dtype=torch.float64).float()
    torch.manual_seed(0)
    theirs = F.alpha_dropout(x, np.float32(0.1), True)
    torch.manual_seed(0)
    ours = dropmini.alpha_dropout(x, np.float32(0.1), True)
    assert dropmini.same_bits(ours, theirs)
    module = dropmini.AlphaDropout(np.float32(0.1))
    torch.manual_seed(0)
    assert dropmini.same_bits(module(x), theirs)


# ---------------------------------------------------------------------------------------
# Divergence 3: training must be a bool, as torch's argument parser demands.
# ---------------------------------------------------------------------------------------

NOT_BOOLS = {"1": 1, "0": 0, "None": None, "tensor-True": torch.tensor(True),
             "numpy-True": np.True_}  # fmt: skip


@pytest.mark.parametrize("kind", list(NOT_BOOLS))
@pytest.mark.parametrize("name", VARIANTS)
def test_training_that_is_not_a_bool_is_a_type_error(name, kind):
    training = NOT_BOOLS[kind]
    x = make_input(shape_of(name), torch.float32, seed=1)
    ours_fn, torch_fn = pair(name)
    ours, theirs = run_both(
        lambda t: ours_fn(t, 0.5, training), lambda t: torch_fn(t, 0.5, training), x, 0
    )
    assert theirs.error is TypeError
    # torch names its C++ argument 'train' and its position; the type named is the same
    assert_same_run(ours, theirs, same_message=False)
    assert ours.message.split("must be bool")[1] == theirs.message.split("must be bool")[1]


# ---------------------------------------------------------------------------------------
# Divergence 4: torch's error texts, so upstream's regexes match.
# ---------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:dropout.d. Received a .-D input")
@pytest.mark.parametrize("name", ["dropout2d", "dropout3d", "feature_alpha_dropout"])
def test_feature_dropout_needs_two_dimensions(name):
    x = torch.ones(4) if name != "dropout3d" else torch.tensor(1.0)
    for fn in FUNCTIONS[name]:
        with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"):
            fn(x.clone(), 0.5, True)


# ---------------------------------------------------------------------------------------
# Divergence 5: dispatch through __torch_function__ (subclasses, modes, torch.fx).
# ---------------------------------------------------------------------------------------


class LoggingTensor(torch.Tensor):
    """A subclass that records the functions torch hands to its __torch_function__."""

    calls: list[str] = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        cls.calls.append(getattr(func, "__name__", repr(func)))
        return super().__torch_function__(func, types, args, kwargs or {})


class RecordingMode(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls.append(func)
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_tensor_subclass_sees_one_call(name, training):
    results = []
    for fn in FUNCTIONS[name]:
        x = torch.ones(shape_of(name)).as_subclass(LoggingTensor)
        LoggingTensor.calls = []
        torch.manual_seed(0)
        out = fn(x, 0.5, training)
        assert LoggingTensor.calls == [name]
        assert type(out) is LoggingTensor and (out is x) == (not training)
        results.append(out.as_subclass(torch.Tensor))
    assert dropmini.same_bits(*results)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_torch_function_mode_sees_the_call(name):
    for fn in FUNCTIONS[name]:
        x = torch.ones(shape_of(name))
        with RecordingMode() as mode:
            fn(x, 0.5, True)
        assert mode.calls == [fn]

    class Replace(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            return "replaced" if func is FUNCTIONS[name][0] else func(*args, **(kwargs or {}))

    x = torch.ones(shape_of(name))
    with Replace():
        assert FUNCTIONS[name][0](x, 0.5, True) == "replaced"


def test_fx_symbolic_trace_gives_the_same_bits():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), dropmini.Dropout(0.5))
    traced = torch.fx.symbolic_trace(model)
    assert dropmini.dropout in [node.target for node in traced.graph.nodes]
    x = make_input((3, 4), torch.float32, seed=2)
    outs = []
    for m in (model, traced, dropmini.to_torch(model)):
        torch.manual_seed(11)
        outs.append(m(x))
    assert dropmini.same_bits(outs[0], outs[1]) and dropmini.same_bits(outs[0], outs[2])


# ---------------------------------------------------------------------------------------
# Divergence 6: a 0-d input in place, every variant: one check before any change.
# ---------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:dropout.d. Received a 0-D input")
@pytest.mark.parametrize("mode", ["train", "p1", "eval"])
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_zero_dim_input_in_place(name, mode):
    p, training = {"train": (0.5, True), "p1": (1.0, True), "eval": (0.5, False)}[mode]
    ours_fn, torch_fn = FUNCTIONS[name]
    x = torch.tensor(1.5)
    ours, theirs = run_both(
        lambda t: ours_fn(t, p, training, True), lambda t: torch_fn(t, p, training, True), x, 0
    )
    if name == "dropout3d" and theirs.error is not None:
        # torch unsqueezes the input in place, then raises: its input ends 1-d. dropmini
        # checks first, so the input keeps its shape and value.
        assert theirs.input_after.shape == (1,)
        assert (ours.error, ours.message) == (theirs.error, theirs.message)
        assert dropmini.same_bits(ours.input_after, x)
        assert torch.equal(ours.rng_after, theirs.rng_after)
        return
    assert_same_run(ours, theirs)
    if ours.error is not None:
        assert dropmini.same_bits(ours.input_after, x)


# ---------------------------------------------------------------------------------------
# Deliberately stricter than torch. Each test shows torch's behaviour next to dropmini's.
# ---------------------------------------------------------------------------------------


def rng_moved(fn) -> tuple[type[BaseException] | None, bool]:
    before = torch.get_rng_state()
    try:
        fn()
        error = None
    except Exception as e:  # noqa: BLE001 - the class is what we report
        error = type(e)
    return error, not torch.equal(before, torch.get_rng_state())


@pytest.mark.parametrize("name", VARIANTS)
def test_nan_p_is_a_value_error_before_drawing(name):
    # torch raises a RuntimeError from C++ with the same text (and its modules accept NaN
    # at construction). NaN fails every comparison, so a range check written as
    # ``p < 0 or p > 1`` lets it through: dropmini names the value and raises ValueError.
    ours_fn, torch_fn = pair(name)
    x = torch.ones(shape_of(name))
    with pytest.raises(ValueError, match="between 0 and 1, but got nan"):
        ours_fn(x, float("nan"), True)
    with pytest.raises(RuntimeError, match="between 0 and 1, but got nan"):
        torch_fn(x, float("nan"), True)


@pytest.mark.parametrize("name", list(MODULES))
def test_nan_p_fails_at_module_construction(name):
    # torch's module stores NaN and fails on its first forward; dropmini fails at once.
    ours_cls, torch_cls = MODULES[name]
    torch_cls(float("nan"))
    with pytest.raises(ValueError, match="but got nan"):
        ours_cls(float("nan"))


class HalfFloat(float):
    """A float subclass: torch's parser takes it as a float (PyFloat_Check)."""


#: p of every kind: the ones torch's parser takes, the ones it refuses, the NaNs.
P_KINDS = {
    "int-0": 0, "int-1": 1, "float": 0.3, "float-subclass": HalfFloat(0.5),
    "np.float16": np.float16(0.1), "np.float32": np.float32(0.1), "np.float64": np.float64(0.3),
    "np.longdouble": np.longdouble(0.25), "np.int64-1": np.int64(1), "np.uint8-0": np.uint8(0),
    "tensor-float32": torch.tensor(0.1), "tensor-float64": torch.tensor(0.3, dtype=torch.float64),
    "tensor-bfloat16": torch.tensor(0.25, dtype=torch.bfloat16),
    "tensor-int64-1": torch.tensor(1), "tensor-uint8-0": torch.tensor(0, dtype=torch.uint8),
    "Fraction": Fraction(1, 2), "Fraction-0": Fraction(0), "Fraction-3/2": Fraction(3, 2),
    "Decimal": Decimal("0.5"), "Decimal-1": Decimal("1"),
    "ndarray-0d": np.array(0.5), "ndarray-1d": np.array([0.5]),
    "tensor-1d": torch.tensor([0.5]), "tensor-requires-grad": torch.tensor(0.5, requires_grad=True),
    "tensor-complex": torch.tensor(0.5 + 0j), "complex": 0.5 + 0j, "str": "0.5", "None": None,
    "list": [0.5],
    "True": True, "False": False, "np.True_": np.True_, "tensor-bool": torch.tensor(True),
    "np.complex128": np.complex128(0.5), "np.complex64-imag": np.complex64(0.5 + 0.5j),
    "nan": float("nan"), "np.float32-nan": np.float32("nan"), "tensor-nan": torch.tensor(math.nan),
}  # fmt: skip
#: Kinds torch takes and dropmini refuses on purpose (a TypeError): bools, numpy complex.
REFUSED_ON_PURPOSE = {"True", "False", "np.True_", "tensor-bool", "np.complex128",
                      "np.complex64-imag"}  # fmt: skip
#: Every dropmini function whose torch twin takes the same (x, p, training[, inplace]).
P_CALLERS = [*VARIANTS, "packed_dropout"]


#: The function each module calls, for its input shape.
MODULE_SHAPES = {"Dropout": "dropout", "Dropout1d": "dropout1d", "Dropout2d": "dropout2d",
                 "Dropout3d": "dropout3d", "AlphaDropout": "alpha_dropout",
                 "FeatureAlphaDropout": "feature_alpha_dropout"}  # fmt: skip


def assert_refused_before_drawing(ours: Run, x: torch.Tensor, p: object) -> None:
    """dropmini raised a TypeError (ValueError for a NaN), drew nothing and left ``x`` alone."""
    real = isinstance(p, (float, np.floating)) or (
        isinstance(p, torch.Tensor) and p.dim() == 0 and p.dtype.is_floating_point
    )
    is_nan = real and bool(np.isnan(float(p.detach() if isinstance(p, torch.Tensor) else p)))
    assert ours.error is (ValueError if is_nan else TypeError), ours.message
    torch.manual_seed(1)  # run() seeded the generator with 1 before the call
    assert torch.equal(ours.rng_after, torch.get_rng_state()), "a refused call drew"
    assert dropmini.same_bits(ours.input_after, x), "a refused call changed its input"


@pytest.mark.grid
@pytest.mark.filterwarnings("ignore:Casting complex values to real")
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("kind", list(P_KINDS))
@pytest.mark.parametrize("name", P_CALLERS)
def test_p_types_are_torch_s_types(name, kind, training):
    # What torch does with this p is computed here, not written down: where it computes,
    # dropmini gives its bits, warnings and generator state (except for the kinds refused
    # on purpose); where it refuses, dropmini refuses too, in place, before drawing.
    p = P_KINDS[kind]
    ours_fn, torch_fn = pair(name)
    x = make_input(shape_of(name), torch.float32, seed=4)
    inplace = name not in ("seeded_dropout", "packed_dropout")
    ours, theirs = run_both(
        lambda t: ours_fn(t, p, training, inplace), lambda t: torch_fn(t, p, training, inplace),
        x, seed=1,
    )  # fmt: skip
    if theirs.error is None and kind not in REFUSED_ON_PURPOSE:
        assert_same_run(ours, theirs)
        return
    if kind in REFUSED_ON_PURPOSE:
        assert theirs.error is None, "torch now refuses this p: the exception is no longer needed"
    assert_refused_before_drawing(ours, x, p)
    if ours.error is TypeError:
        assert "real number" in ours.message and type(p).__name__ in ours.message
    else:
        assert ours.message == "dropout probability has to be between 0 and 1, but got nan"


@pytest.mark.grid
@pytest.mark.filterwarnings("ignore:Casting complex values to real")
@pytest.mark.parametrize("kind", list(P_KINDS))
@pytest.mark.parametrize("name", list(MODULES))
def test_module_p_types_are_checked_at_construction(name, kind):
    # torch's modules check only the range when built and leave the type to F.dropout at
    # the first call; dropmini's check the whole p when built. A p every forward of torch's
    # module takes gives a dropmini module with the same repr and the same bits.
    p = P_KINDS[kind]
    ours_cls, torch_cls = MODULES[name]
    x = make_input(shape_of(MODULE_SHAPES[name]), torch.float32, seed=4)
    try:
        theirs = torch_cls(p)
    except Exception:  # noqa: BLE001 - torch refused it when built: dropmini must too
        theirs = None
    forwards = {}
    if theirs is not None:
        for training in (True, False):
            module = theirs.train(training)
            forwards[training] = run(module, copy_with_strides(x), seed=1)
    torch_takes_it = theirs is not None and all(r.error is None for r in forwards.values())
    if not torch_takes_it or kind in REFUSED_ON_PURPOSE:
        if kind in REFUSED_ON_PURPOSE:
            assert torch_takes_it, "torch now refuses this p: the exception is no longer needed"
        ours = run(lambda _: ours_cls(p), x, seed=1)
        assert_refused_before_drawing(ours, x, p)
        return
    ours = ours_cls(p)
    assert repr(ours) == repr(theirs)
    for training, their_run in forwards.items():
        assert_same_run(run(ours.train(training), copy_with_strides(x), seed=1), their_run)


#: Every dtype for which no mask can be drawn: bool, the integers, complex.
NON_FLOAT_DTYPES = (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
                    torch.complex64, torch.complex128)  # fmt: skip
#: Callers for the dtype grid: each function, and each module (training set on the module).
DTYPE_CALLERS = {
    **{name: pair(name) for name in VARIANTS},
    **{
        f"{name}-module": tuple(
            (lambda cls: lambda x, p, training, inplace=False: cls(p, inplace).train(training)(x))(
                c
            )
            for c in MODULES[name]
        )
        for name in MODULES
    },
}


def dtype_cases():
    for caller, dtype, p, training, inplace in itertools.product(
        DTYPE_CALLERS, NON_FLOAT_DTYPES, (0.0, 0.5, 1.0), (True, False), (False, True)
    ):
        if inplace and caller == "seeded_dropout":
            continue
        mode = f"p{p:g}-{'train' if training else 'eval'}{'-inplace' if inplace else ''}"
        yield pytest.param(
            caller, dtype, p, training, inplace, id=f"{caller}-{name_of(dtype)}-{mode}"
        )


@pytest.mark.grid
@pytest.mark.parametrize("caller,dtype,p,training,inplace", list(dtype_cases()))
def test_non_float_input_does_what_torch_does_or_says_what_torch_does(
    caller, dtype, p, training, inplace
):
    # Where torch computes (eval, p = 0, p = 1), dropmini gives the same result, identity and
    # generator state. Where a mask would be drawn, torch fails and dropmini refuses with a
    # TypeError, before drawing and with its input untouched, and its message says what
    # torch does: torch's run below decides which of the two sentences must be there.
    ours_fn, torch_fn = DTYPE_CALLERS[caller]
    base = caller.removesuffix("-module")
    x = make_input(shape_of(MODULE_SHAPES.get(base, base)), dtype, seed=5)
    ours, theirs = run_both(
        lambda t: ours_fn(t, p, training, inplace), lambda t: torch_fn(t, p, training, inplace),
        x, seed=1,
    )  # fmt: skip
    torch.manual_seed(1)
    torch_drew = not torch.equal(theirs.rng_after, torch.get_rng_state())
    if dtype.is_complex and ours.error is not None:
        # dropmini refuses complex tensors on every release. torch's answer changed: 2.7-2.13
        # refuse before drawing (NotImplementedError or RuntimeError from bernoulli_); 2.15
        # draws and computes (book/api.md, the compatibility table).
        assert_refused_before_drawing(ours, x, p)
        assert ours.message.endswith(
            f"floating-point tensor, but got dtype {dtype}; complex tensors are not supported"
        )
        if theirs.error is not None:
            assert not torch_drew and "bernoulli_" in theirs.message
        else:
            assert torch_release() >= (2, 15), "torch computed complex dropout before 2.15"
        return
    if theirs.error is None:
        assert_same_run(ours, theirs)
        return
    assert_refused_before_drawing(ours, x, p)
    assert f"floating-point tensor, but got dtype {dtype}" in ours.message
    # What book/api.md says of torch: bool and integer tensors fail after drawing with a
    # RuntimeError.
    assert torch_drew
    assert theirs.error is RuntimeError
    assert "torch's dropout draws the mask, then fails" in ours.message


@pytest.mark.filterwarnings("ignore:dropout2d. Received a 3D input")
@pytest.mark.parametrize("view", [False, True], ids=["leaf", "view_of_leaf"])
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_inplace_on_a_leaf_raises_torch_error_before_drawing(name, view):
    # torch draws the mask, then autograd refuses to write into the leaf: same message,
    # but the random stream has moved. dropmini checks first.
    ours_fn, torch_fn = FUNCTIONS[name]
    messages = []
    for fn, should_move in ((ours_fn, False), (torch_fn, True)):
        leaf = torch.ones(shape_of(name), requires_grad=True)
        x = leaf[:1] if view else leaf
        before = torch.get_rng_state()
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad") as info:
            fn(x, 0.5, True, True)
        assert (not torch.equal(before, torch.get_rng_state())) == should_move
        assert torch.equal(leaf, torch.ones_like(leaf))
        messages.append(str(info.value))
    assert messages[0] == messages[1]


# ---------------------------------------------------------------------------------------
# What stays different (see the module docstring).
# ---------------------------------------------------------------------------------------


def test_nested_tensors_are_refused_clearly():
    nested = torch.nested.nested_tensor([torch.ones(2), torch.ones(3)], layout=torch.jagged)
    torch.manual_seed(0)
    F.dropout(nested, 0.5, True)  # torch supports them
    before = torch.get_rng_state()
    with pytest.raises(NotImplementedError, match="nested"):
        dropmini.dropout(nested, 0.5, True)
    assert torch.equal(before, torch.get_rng_state())


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_torchscript_scripting_fails():
    torch.jit.script(nn.Dropout(0.5))
    with pytest.raises(torch.jit.frontend.NotSupportedError):
        torch.jit.script(dropmini.Dropout(0.5))


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_torch_export_gives_torch_bits(training):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), dropmini.Dropout(0.5)).train(training)
    reference = dropmini.to_torch(model)
    x = make_input((3, 4), torch.float32, seed=3)
    exported = torch.export.export(model, (x,)).module()
    outs = []
    for m in (exported, reference):
        torch.manual_seed(9)
        outs.append(m(x))
    assert dropmini.same_bits(*outs)


def test_modules_are_not_torch_dropout_nd():
    for ours_cls, torch_cls in MODULES.values():
        assert isinstance(torch_cls(), nn.modules.dropout._DropoutNd)
        assert not isinstance(ours_cls(), nn.modules.dropout._DropoutNd)
        assert isinstance(ours_cls(), dropmini.DropoutNd)


def test_fx_traces_through_dropmini_modules_with_the_training_flag_baked_in():
    x = make_input((3, 4), torch.float32, seed=2)
    ours = torch.fx.symbolic_trace(nn.Sequential(nn.Linear(4, 4), dropmini.Dropout(0.5)))
    theirs = torch.fx.symbolic_trace(nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5)))
    ours.eval()
    theirs.eval()
    assert theirs(x) is not None and not torch.equal(ours(x), ours(x))  # still dropping
    assert torch.equal(theirs(x), theirs(x))  # torch's Dropout is a leaf: eval() applies

    class DropoutAsLeaf(torch.fx.Tracer):
        """The workaround: make dropmini's modules leaves, as torch's are."""

        def is_leaf_module(self, m, qualname):
            return isinstance(m, dropmini.DropoutNd) or super().is_leaf_module(m, qualname)

    root = nn.Sequential(nn.Linear(4, 4), dropmini.Dropout(0.5))
    leafy = torch.fx.GraphModule(root, DropoutAsLeaf().trace(root)).eval()
    assert torch.equal(leafy(x), leafy(x))
