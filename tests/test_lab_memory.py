"""dropmini.lab.memory.forward_memory: buffers alive after a call, kept for backward, at peak.

Every expected value is counted by hand from the buffers each pattern allocates
(n float32 elements are 4n bytes, a bool mask is n bytes), not taken from the code.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dropmini
from dropmini.lab.memory import ForwardMemory, bytes_kept_for_backward, forward_memory

N = 64 * 32  # elements of the linear layer's output below


@pytest.fixture
def layer_and_input() -> tuple[nn.Linear, torch.Tensor]:
    torch.manual_seed(0)
    return nn.Linear(32, 32), torch.ones(64, 32)


def temporary(fc, x, drop):
    """The usual pattern: only the dropout call refers to fc's output."""
    return lambda: drop(fc(x))


def referenced(fc, x, drop):
    """The caller also holds fc's output."""

    def run():
        h = fc(x)
        return h, drop(h)

    return run


OUT_OF_PLACE = {
    "torch": lambda h: F.dropout(h, 0.5),
    "dropmini": lambda h: dropmini.dropout(h, 0.5),
}
IN_PLACE = {
    "torch": lambda h: F.dropout(h, 0.5, inplace=True),
    "dropmini": lambda h: dropmini.dropout(h, 0.5, inplace=True),
}


@pytest.mark.parametrize("impl", ["torch", "dropmini"])
def test_temporary_input_in_place_saves_nothing_after_the_call(layer_and_input, impl):
    fc, x = layer_and_input
    out_of_place = forward_memory(temporary(fc, x, OUT_OF_PLACE[impl]))
    in_place = forward_memory(temporary(fc, x, IN_PLACE[impl]))
    # fc's output is freed when dropout returns: output + float32 mask remain either way.
    assert out_of_place == ForwardMemory(alive=2 * 4 * N, saved=4 * N, peak=3 * 4 * N)
    # In place, fc's output is the output: one buffer fewer only at the peak.
    assert in_place == ForwardMemory(alive=2 * 4 * N, saved=4 * N, peak=2 * 4 * N)


@pytest.mark.parametrize("impl", ["torch", "dropmini"])
def test_referenced_input_in_place_saves_one_buffer(layer_and_input, impl):
    fc, x = layer_and_input
    out_of_place = forward_memory(referenced(fc, x, OUT_OF_PLACE[impl]))
    in_place = forward_memory(referenced(fc, x, IN_PLACE[impl]))
    assert out_of_place == ForwardMemory(alive=3 * 4 * N, saved=4 * N, peak=3 * 4 * N)
    assert in_place == ForwardMemory(alive=2 * 4 * N, saved=4 * N, peak=2 * 4 * N)


def test_native_dropout_keeps_a_bool_mask(layer_and_input):
    fc, x = layer_and_input
    fused = lambda h: torch.native_dropout(h, 0.5, True)[0]  # noqa: E731
    assert forward_memory(temporary(fc, x, fused)) == ForwardMemory(
        alive=4 * N + N, saved=N, peak=2 * 4 * N + N
    )
    assert forward_memory(referenced(fc, x, fused)) == ForwardMemory(
        alive=2 * 4 * N + N, saved=N, peak=2 * 4 * N + N
    )


def test_without_grad_the_mask_is_freed(layer_and_input):
    fc, x = layer_and_input
    with torch.no_grad():
        memory = forward_memory(temporary(fc, x, OUT_OF_PLACE["torch"]))
    assert memory == ForwardMemory(alive=4 * N, saved=0, peak=3 * 4 * N)


def test_intermediates_count_at_the_peak_only():
    x = torch.ones(100, dtype=torch.float64)
    assert forward_memory(lambda: (x + 1) * 2) == ForwardMemory(alive=800, saved=0, peak=1600)


def test_tensors_that_existed_before_are_not_counted():
    x = torch.ones(100, requires_grad=True)
    w = torch.ones(100, requires_grad=True)
    # x * w saves both inputs, which existed before the call: nothing new is saved.
    assert forward_memory(lambda: x * w) == ForwardMemory(alive=400, saved=0, peak=400)
    assert forward_memory(lambda: (x, x.view(10, 10), x[:50])) == (
        ForwardMemory(alive=0, saved=0, peak=0)
    )


def test_a_new_tensor_saved_for_backward_counts_as_saved():
    x = torch.ones(100, requires_grad=True)
    # t = x + 1 is new; t * t saves t (once) and returns a new product.
    assert forward_memory(lambda: (lambda t: t * t)(x + 1)) == ForwardMemory(
        alive=800, saved=400, peak=800
    )


def test_agrees_with_bytes_kept_for_backward_on_the_mask():
    x = torch.ones(1000, requires_grad=True)
    kept = bytes_kept_for_backward(lambda t: F.dropout(t * 1.0, 0.3), x)
    assert forward_memory(lambda: F.dropout(x * 1.0, 0.3)).saved == kept == 4 * 1000


def test_leaves_the_random_stream_alone():
    x = torch.ones(1000)
    torch.manual_seed(5)
    expected = F.dropout(x, 0.5)
    after_plain = torch.get_rng_state()
    torch.manual_seed(5)
    box = []
    forward_memory(lambda: box.append(F.dropout(x, 0.5)))
    assert torch.equal(torch.get_rng_state(), after_plain)
    assert torch.equal(box[0], expected)
    state = torch.get_rng_state()
    forward_memory(lambda: x + 1)
    assert torch.equal(torch.get_rng_state(), state)


def test_rejects_a_non_callable():
    with pytest.raises(TypeError, match="callable"):
        forward_memory(torch.ones(3))  # type: ignore[arg-type]
