"""mc_predict is the visible loop and leaves the caller's generator alone; preserved_state gives a
model back whole; changed_entries names what a forward pass changed."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import dropmini
from dropmini.lab import mc, training


def _model() -> nn.Sequential:
    torch.manual_seed(0)
    return training.make_mlp(1, 16, 0.3, batch_norm=True)


def _batch_norm_buffers(model: nn.Module) -> list[str]:
    return [
        f"{name}.{buffer}"
        for name, module in model.named_modules()
        if isinstance(module, nn.BatchNorm1d)
        for buffer in ("running_mean", "running_var", "num_batches_tracked")
    ]


def _same_state(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_a_train_mode_forward_changes_every_batch_norm_buffer_and_is_undone():
    model = _model().eval()
    reference = copy.deepcopy(model)
    x = torch.linspace(-3, 3, 32, dtype=torch.float64).unsqueeze(1)
    with mc.preserved_state(model) as before:
        model.train()
        with torch.no_grad():
            model(x)
        assert mc.changed_entries(before, model.state_dict()) == _batch_norm_buffers(model)
        assert not _same_state(model, reference)
    assert _same_state(model, reference)
    assert not model.training and not any(m.training for m in model.modules())
    with torch.no_grad():
        assert torch.equal(model(x), reference(x))


def test_parameters_keep_their_identity_and_an_optimiser_step_is_undone():
    model = _model()
    reference = copy.deepcopy(model)
    weight = model[0].weight
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.ones(4, 1, dtype=torch.float64)
    with mc.preserved_state(model):
        model(x).sum().backward()
        optimiser.step()
        assert not torch.equal(model[0].weight, reference[0].weight)
    assert model[0].weight is weight
    assert _same_state(model, reference)


def test_state_and_modes_come_back_after_an_exception():
    model = _model()
    model.train()
    model[1].eval()  # a mixed state that must come back as it was
    modes = [m.training for m in model.modules()]
    reference = copy.deepcopy(model)
    with pytest.raises(RuntimeError), mc.preserved_state(model):
        model.eval()
        with torch.no_grad():
            model[0].weight.add_(1.0)
        raise RuntimeError("stop")
    assert [m.training for m in model.modules()] == modes
    assert _same_state(model, reference)


def test_changed_entries_is_empty_for_equal_states_and_keeps_order():
    model = _model()
    state = model.state_dict()
    assert mc.changed_entries(state, copy.deepcopy(state)) == []
    altered = {k: v.clone() for k, v in state.items()}
    names = list(state)
    for name in (names[-1], names[0]):
        altered[name] = altered[name] + 1
    assert mc.changed_entries(state, altered) == [names[0], names[-1]]


# mc_predict: the visible loop, written out here as a reader would write it.


def _loop(model: nn.Module, x: torch.Tensor, samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    model.eval()
    for module in model.modules():
        if isinstance(module, (nn.Dropout, dropmini.Dropout)):
            module.train()
    with torch.no_grad():
        draws = torch.stack([model(x) for _ in range(samples)])
    model.eval()
    return draws.mean(dim=0), draws.std(dim=0)


_X = torch.linspace(-2, 2, 9, dtype=torch.float64).unsqueeze(1)


def test_a_seeded_call_leaves_the_callers_generator_alone():
    model = _model()
    torch.manual_seed(123)
    torch.rand(3)  # somewhere in the middle of a stream
    state = torch.get_rng_state()
    mean, std = mc.mc_predict(model, _X, samples=20, seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    # ...and the masks are those of that seed
    torch.manual_seed(7)
    by_hand = _loop(model, _X, 20)
    assert dropmini.same_bits(mean, by_hand[0]) and dropmini.same_bits(std, by_hand[1])


def test_a_seeded_call_does_not_reset_a_training_stream():
    model = _model()
    torch.manual_seed(0)
    first = torch.rand(5)
    mc.mc_predict(model, _X, samples=3, seed=0)
    after = torch.rand(5)
    torch.manual_seed(0)
    assert torch.equal(torch.rand(5), first)
    assert torch.equal(torch.rand(5), after)  # the stream went on as if nothing had been drawn


def test_without_a_seed_it_is_the_loop_from_the_same_state():
    model = _model()
    torch.manual_seed(42)
    ours = mc.mc_predict(model, _X, samples=30)
    state_after_ours = torch.get_rng_state()
    torch.manual_seed(42)
    theirs = _loop(model, _X, 30)
    assert dropmini.same_bits(ours[0], theirs[0]) and dropmini.same_bits(ours[1], theirs[1])
    assert torch.equal(state_after_ours, torch.get_rng_state())  # advanced by as much


def test_without_a_seed_two_calls_in_a_row_differ():
    model = _model()
    torch.manual_seed(0)
    _, first = mc.mc_predict(model, _X, samples=10)
    _, second = mc.mc_predict(model, _X, samples=10)
    assert not torch.equal(first, second)


def test_modes_come_back_mixed_as_they_were_and_after_an_exception():
    model = _model()
    model.train()
    model[1].eval()
    model[3].eval()  # a dropout layer left in eval mode by the caller
    modes = [m.training for m in model.modules()]
    mc.mc_predict(model, _X, samples=4, seed=1)
    assert [m.training for m in model.modules()] == modes
    wrong_width = torch.ones(2, 3, dtype=torch.float64)
    with pytest.raises(RuntimeError):
        mc.mc_predict(model, wrong_width, samples=4, seed=1)
    assert [m.training for m in model.modules()] == modes


def test_batch_norm_statistics_are_used_not_changed():
    model = _model()
    model.train()
    with torch.no_grad():
        model(torch.randn(64, 1, dtype=torch.float64))  # running statistics away from the defaults
    before = copy.deepcopy(model.state_dict())
    mc.mc_predict(model, _X, samples=5, seed=0)
    assert mc.changed_entries(before, model.state_dict()) == []


@pytest.mark.parametrize("samples", [0, 1, 2.0, True, "10"])
def test_bad_samples_raise_before_anything_is_drawn_or_switched(samples):
    model = _model().train()
    state = torch.get_rng_state()
    with pytest.raises(ValueError, match="samples >= 2"):
        mc.mc_predict(model, _X, samples=samples)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(m.training for m in model.modules())


@pytest.mark.parametrize("seed", [1.5, "0", True])
def test_bad_seeds_raise_before_anything_is_drawn_or_switched(seed):
    model = _model().train()
    state = torch.get_rng_state()
    with pytest.raises(TypeError, match="integer seed or None"):
        mc.mc_predict(model, _X, samples=3, seed=seed)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(m.training for m in model.modules())
