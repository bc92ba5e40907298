"""dropmini.philox: Philox4x32-10 against Random123's known answers, masks against torch.compile.

The fast tests check the block function on published vectors, the seed against torch's own
``randint``, and the promises about the generator and bad input. The tests marked slow
compile ``F.dropout`` with Inductor (a C++ compiler is needed) and compare masks, output bits
and the generator state afterwards with dropmini's numpy rebuild.
"""

# The known-answer lines below are quoted verbatim, so they are longer than 100 characters.
# ruff: noqa: E501
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dropmini import mt19937
from dropmini.philox import (
    compiled_dropout,
    compiled_keep_mask,
    compiled_uniforms,
    inductor_seed,
    philox4x32,
    uniform_float,
)

# Known-answer vectors of Random123 for philox4x32 with 10 and 7 rounds, quoted verbatim from
# Random123's examples/kat_vectors as mirrored in github.com/girving/random123-manual, file
# examples/kat_vectors, commit 61e8479252c42f0f8c0490dec55237d7c01bf509. The file's header,
# "#nameNxW R CTR KEY EXPECTED", names the columns: counter words c0..c3, key words k0 k1,
# then the four output words.
KAT = """
philox4x32 10 00000001 00000000 00000000 00000000   00000001 00000000   ac08141b dfc5ccbe 79c07a47 a7f66093
philox4x32 10 00000000 00000001 00000000 00000000   00000001 00000000   833ff8dc 225c963c 232b88b3 0b334b07
philox4x32 10 00000000 00000000 00000001 00000000   00000001 00000000   07071c12 428264b6 3909104b 6da2bda2
philox4x32 10 00000000 00000000 00000000 00000001   00000001 00000000   127bee41 1e047488 48842b20 0a393496
philox4x32 10 243f6a88 85a308d3 13198a2e 03707344   00000001 00000000   38527b8f fad9a48c 20e675c0 f2fea26a
philox4x32 10 00000001 00000000 00000000 00000000   00000000 00000001   ccf3076a 6306f434 bea71965 d96fe48a
philox4x32 10 00000000 ffffffff 00000000 00000000   00000000 ffffffff   5f9c47aa 19861d86 ff2be81d 4c7db17e
philox4x32 10 a4093822 299f31d0 082efa98 ec4e6c89   00000000 ffffffff   9fcce05d 837d3f3c 5cdf3e61 db2544c0
philox4x32 10 452821e6 38d01377 be5466cf 34e90c6c   00000000 80000000   94ca5566 14924b2f 28214292 59faeaee
philox4x32  7 00000001 00000000 00000000 00000000   00000001 00000000   6b3257c3 820c5486 4de08b66 8771d665
philox4x32  7 243f6a88 85a308d3 13198a2e 03707344   00000001 00000000   64803f9b acd38b4b 5ea00643 770c3921
"""
#: (counter, key, expected, rounds) for each line.
VECTORS = [
    (
        [int(t, 16) for t in f[2:6]],
        [int(t, 16) for t in f[6:8]],
        [int(t, 16) for t in f[8:]],
        int(f[1]),
    )
    for f in (line.split() for line in KAT.strip().splitlines())
]


@pytest.mark.parametrize("counter, key, expected, rounds", VECTORS)
def test_known_answer_vectors(counter, key, expected, rounds):
    assert philox4x32(counter, key, rounds=rounds).tolist() == expected


def test_vectorised_equals_one_by_one():
    rng = np.random.default_rng(0)
    words = rng.integers(0, 2**32, size=(6, 50), dtype=np.uint64)
    together = philox4x32(words[:4], words[4:])
    for j in range(50):
        alone = philox4x32([int(w) for w in words[:4, j]], [int(w) for w in words[4:, j]])
        assert together[:, j].tolist() == alone.tolist()


def test_broadcasting_and_shape():
    out = philox4x32([np.arange(6, dtype=np.uint32).reshape(2, 3), 0, 0, 0], [7, 0])
    assert out.shape == (4, 2, 3) and out.dtype == np.uint32
    assert out[:, 1, 2].tolist() == philox4x32([5, 0, 0, 0], [7, 0]).tolist()


@pytest.mark.parametrize(
    "counter, key, rounds",
    [([0, 0, 0], [0, 0], 10), ([0, 0, 0, 0], [0], 10), ([2**32, 0, 0, 0], [0, 0], 10),
     ([-1, 0, 0, 0], [0, 0], 10), ([0.5, 0, 0, 0], [0, 0], 10), ([0, 0, 0, 0], [0, 0], 0)],
)  # fmt: skip
def test_philox_refuses_bad_words(counter, key, rounds):
    with pytest.raises(ValueError):
        philox4x32(counter, key, rounds=rounds)


def test_uniform_float():
    words = np.array([0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x12345678], dtype=np.uint32)
    u = uniform_float(words)
    assert u.dtype == np.float32
    assert u[0] == 0 and u[3] == 0  # the top bit does not count
    assert u[2] == u[4] and u[2] < 1  # the largest word stays below 1
    assert u[1] == np.float32(4.6566127342e-10)
    assert u[5] == np.float32(np.float32(0x12345678) * np.float32(4.6566127342e-10))


EARLIER = {
    "nothing": lambda: None,
    "rand(5)": lambda: torch.rand(5),
    "randn(3)": lambda: torch.randn(3),
    "dropout(700)": lambda: F.dropout(torch.ones(700), 0.5),
}


@pytest.mark.parametrize("earlier", EARLIER, ids=str)
@pytest.mark.parametrize("seed", [0, 1, 42, 2**32 + 7])
def test_inductor_seed_is_torch_randint(seed, earlier):
    torch.manual_seed(seed)
    EARLIER[earlier]()
    theirs = torch.randint(-(2**63), 2**63 - 1, (1,)).item()
    state, after = torch.get_rng_state(), torch.rand(3)
    torch.manual_seed(seed)
    EARLIER[earlier]()
    assert inductor_seed() == theirs
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(torch.rand(3), after)


def test_seed_takes_two_words():
    torch.manual_seed(0)
    inductor_seed()
    assert mt19937.read_state(torch.get_rng_state()).next == 2


def test_compiled_uniforms_keys_on_low_32_bits():
    assert np.array_equal(compiled_uniforms(123, 40), compiled_uniforms(123 + 5 * 2**32, 40))
    assert not np.array_equal(compiled_uniforms(123, 40), compiled_uniforms(124, 40))
    first = philox4x32([3, 0, 0, 0], [123, 0])[0]
    assert compiled_uniforms(123, 4)[3] == uniform_float(first)


def test_no_torch_random_function_is_called(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a torch random function was called")

    for name in ("rand", "randint", "randn", "bernoulli", "rand_like"):
        monkeypatch.setattr(torch, name, refuse)
    monkeypatch.setattr(torch.Tensor, "bernoulli_", refuse)
    monkeypatch.setattr(torch.Tensor, "uniform_", refuse)
    monkeypatch.setattr(torch.Tensor, "random_", refuse)
    torch.manual_seed(0)
    compiled_keep_mask((3, 4), 0.3)
    compiled_dropout(torch.ones(5), 0.3)
    assert mt19937.read_state(torch.get_rng_state()).next == 4


def test_mask_given_seed_touches_no_state():
    torch.manual_seed(0)
    before = torch.get_rng_state()
    mask = compiled_keep_mask((2, 9), 0.4, seed=99)
    assert torch.equal(before, torch.get_rng_state())
    assert torch.equal(
        mask.flatten(), torch.from_numpy(compiled_uniforms(99, 18) > np.float32(0.4))
    )


@pytest.mark.parametrize("p", [0.0, 1.0])
@pytest.mark.parametrize("shape", [(3, 4), (0, 5)])
def test_nothing_drawn_without_a_choice(p, shape):
    torch.manual_seed(0)
    before = torch.get_rng_state()
    mask = compiled_keep_mask(shape, p)
    out = compiled_dropout(torch.ones(shape), p)
    assert torch.equal(before, torch.get_rng_state())
    assert mask.shape == shape and bool((mask == (p == 0)).all())
    assert bool((out == (p == 0)).all())


def test_empty_input_draws_nothing():
    torch.manual_seed(0)
    before = torch.get_rng_state()
    assert compiled_dropout(torch.ones(0, 3), 0.5).shape == (0, 3)
    assert torch.equal(before, torch.get_rng_state())


@pytest.mark.parametrize(
    "call",
    [lambda: compiled_keep_mask(4, 1.5), lambda: compiled_keep_mask(4, True),
     lambda: compiled_keep_mask((2, -1), 0.5), lambda: compiled_keep_mask(4, 0.5, torch.float16),
     lambda: compiled_keep_mask(4, 0.5, seed=1.5), lambda: compiled_dropout(torch.ones(4), -0.1),
     lambda: compiled_dropout(torch.ones(4, dtype=torch.float16), 0.5),
     lambda: compiled_dropout(torch.arange(4), 0.5), lambda: compiled_dropout([1.0, 2.0], 0.5),
     lambda: compiled_dropout(torch.ones(4), 0.5, training=1)],
)  # fmt: skip
def test_bad_input_raises_before_drawing(call):
    torch.manual_seed(0)
    before = torch.get_rng_state()
    with pytest.raises((TypeError, ValueError)):
        call()
    assert torch.equal(before, torch.get_rng_state())


def test_input_untouched_and_copy_returned():
    x = torch.linspace(-1, 1, 9)
    kept = x.clone()
    for kwargs in ({"p": 0.5}, {"p": 0.0}, {"p": 0.5, "training": False}, {"p": 1.0}):
        out = compiled_dropout(x, **kwargs)
        assert out is not x and torch.equal(x, kept)


# ---------------------------------------------------------------- against torch.compile

#: Each p compiles its own graphs; 0.15 is a p whose factor 1 / (1 - p) eager rounds otherwise.
PS = (0.15, 0.2, 0.5, 0.9)


@pytest.fixture(scope="module")
def inductor_settings():
    """Fresh graphs, each compiled here, and no silent fallback to eager code.

    Inductor's on-disk graph cache does not tell ATen's generic kernels
    (``ATEN_CPU_CAPABILITY=default``) from vectorised ones: a graph cached by a vectorised
    run fails to compile under generic kernels, so the cache is off. Dynamo keeps at most
    ``recompile_limit`` (8 by default) compiled versions of one function and runs inputs that
    would need another eagerly, after a logged warning; the comparisons below would then
    compare eager with eager, so the limit is raised and hitting it is an error instead.
    """
    torch._dynamo.reset()
    with (
        torch._inductor.config.patch(fx_graph_cache=False, compile_threads=1),
        torch._dynamo.config.patch(recompile_limit=64, fail_on_recompile_limit_hit=True),
    ):
        yield
    torch._dynamo.reset()


@pytest.fixture(scope="module")
def compiled(inductor_settings):
    """Compiled ``F.dropout`` with dynamic shapes; each new ``p`` compiles a new graph."""
    return torch.compile(lambda x, p: F.dropout(x, p), dynamic=True)


def _bits(t: torch.Tensor) -> np.ndarray:
    view = np.uint32 if t.dtype == torch.float32 else np.uint64
    return t.detach().contiguous().numpy().view(view)


def _input(shape, dtype=torch.float32) -> torch.Tensor:
    n = math.prod(shape)
    return torch.linspace(-3, 4, n, dtype=torch.float64).reshape(shape).to(dtype)


def _compare(compiled, x, p, seed, dropout=compiled_dropout):
    torch.manual_seed(seed)
    theirs = compiled(x, p)
    state_after, next_numbers = torch.get_rng_state(), torch.rand(3)
    torch.manual_seed(seed)
    ours = dropout(x, p)
    assert np.array_equal(_bits(ours), _bits(theirs)), (tuple(x.shape), p, seed)
    assert ours.stride() == theirs.stride()
    assert torch.equal(torch.get_rng_state(), state_after)
    assert torch.equal(torch.rand(3), next_numbers)
    return theirs


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(1,), (7,), (33,), (1000,), (4, 5), (3, 17), (2, 3, 5)])
def test_output_bits_and_state_match_compiled(compiled, shape):
    x = _input(shape)
    for p in PS:
        for seed in (0, 1, 2):
            theirs = _compare(compiled, x, p, seed)
            torch.manual_seed(seed)
            mask = compiled_keep_mask(shape, p)
            assert torch.equal(mask, theirs != 0)


@pytest.mark.slow
def test_float64_matches_compiled(compiled):
    for p in (0.2, 0.15):
        for seed in (0, 3):
            _compare(compiled, _input((5, 7), torch.float64), p, seed)


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["transposed", "sliced", "permuted 3-d"])
def test_layouts_match_compiled(compiled, layout):
    base = _input((6, 10))
    x = {"transposed": base.t(), "sliced": base[:, ::2],
         "permuted 3-d": _input((2, 3, 5)).permute(2, 0, 1)}[layout]  # fmt: skip
    for seed in (0, 1):
        _compare(compiled, x, 0.3, seed)


@pytest.mark.slow
def test_calls_in_a_row_draw_new_seeds(compiled):
    x = _input((4, 6))
    torch.manual_seed(5)
    theirs = [compiled(x, 0.5) for _ in range(3)]
    state = torch.get_rng_state()
    torch.manual_seed(5)
    ours = [compiled_dropout(x, 0.5) for _ in range(3)]
    assert all(np.array_equal(_bits(a), _bits(b)) for a, b in zip(ours, theirs, strict=True))
    assert not torch.equal(theirs[0], theirs[1])
    assert torch.equal(state, torch.get_rng_state())
    assert mt19937.read_state(state).next == 6


@pytest.mark.slow
def test_requires_grad_input_gives_same_forward(compiled):
    x = _input((3, 7)).requires_grad_()
    torch.manual_seed(4)
    theirs = compiled(x, 0.2)
    state = torch.get_rng_state()
    theirs.sum().backward()
    torch.manual_seed(4)
    ours = compiled_dropout(x.detach(), 0.2)
    assert np.array_equal(_bits(ours), _bits(theirs)) and torch.equal(state, torch.get_rng_state())
    assert torch.equal(x.grad, (ours != 0).float() * np.float32(1 / 0.8))


@pytest.mark.slow
def test_edge_cases_match_compiled(inductor_settings):
    x = torch.tensor([-1.0, float("inf"), float("nan"), 2.0])
    calls = {
        "p = 1": (torch.compile(lambda t: F.dropout(t, 1.0)), {"p": 1.0}),
        "p = 0": (torch.compile(lambda t: F.dropout(t, 0.0)), {"p": 0.0}),
        "eval": (torch.compile(lambda t: F.dropout(t, 0.5, training=False)), {"training": False}),
    }
    for name, (fn, kwargs) in calls.items():
        torch.manual_seed(0)
        before = torch.get_rng_state()
        theirs = fn(x)
        assert torch.equal(before, torch.get_rng_state()), name
        ours = compiled_dropout(x, **kwargs)
        assert np.array_equal(_bits(ours), _bits(theirs)), name
        assert theirs is not x, name
    empty = torch.ones(0, 3)
    torch.manual_seed(0)
    before = torch.get_rng_state()
    theirs = torch.compile(lambda t: F.dropout(t, 0.5))(empty)
    assert torch.equal(before, torch.get_rng_state()), "empty input"
    ours = compiled_dropout(empty, 0.5)
    assert ours.shape == theirs.shape and torch.equal(before, torch.get_rng_state())
