"""preserved_state gives a model back whole; changed_entries names what a forward pass changed."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

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
