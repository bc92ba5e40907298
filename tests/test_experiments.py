"""Experiment helpers: seeded data, reproducible training, MC dropout that touches only dropout."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import dropmini
from dropmini.lab import data, experiments, mc, training


def test_sine_gap_data_stays_in_its_range():
    d = data.make_sine_gap_data(n_train=50)
    assert d.x_train.abs().max() <= 2 and d.x_val.min() == -5 and d.x_val.max() == 5
    assert torch.allclose(d.y_val, torch.sin(2 * d.x_val))


@pytest.mark.slow  # trains three networks
def test_fit_is_reproducible_and_learns():
    reg = data.make_sine_gap_data(n_train=64)
    histories = []
    for _ in range(2):
        torch.manual_seed(0)
        histories.append(training.fit(training.make_mlp(1, 32, 0.2), reg, epochs=20, seed=1))
    assert histories[0] == histories[1]
    assert histories[0].train_loss[-1] < histories[0].train_loss[0]
    torch.manual_seed(0)
    other_seed = training.fit(training.make_mlp(1, 32, 0.2), reg, epochs=20, seed=2)
    assert other_seed != histories[0]  # the seed drives shuffling and masks


@pytest.mark.parametrize("p,seed", [(0.1, 0), (0.3, 4)])
def test_fit_gives_the_bits_of_adams_default_loop(monkeypatch, p, seed):
    # fit runs Adam with foreach=True; the default on the CPU is a loop over the parameters.
    # Chapter 11's networks (128 units, batch norm, batches of 8) trained both ways.
    reg = data.make_sine_gap_data(n_train=40, noise=0.1, seed=0)
    adam = torch.optim.Adam
    trained = []
    for foreach in (True, False):
        monkeypatch.setattr(
            training.torch.optim,
            "Adam",
            lambda params, lr, _foreach=foreach, **_: adam(params, lr=lr, foreach=_foreach),
        )
        torch.manual_seed(seed)
        model = training.make_mlp(1, 128, p=p, depth=2, batch_norm=True)
        history = training.fit(model, reg, epochs=30, batch_size=8, lr=3e-3, seed=seed)
        monkeypatch.undo()
        trained.append((history, [t.clone() for t in model.state_dict().values()]))
    (history_a, state_a), (history_b, state_b) = trained
    assert history_a == history_b
    assert all(dropmini.same_bits(a, b) for a, b in zip(state_a, state_b, strict=True))


def test_fit_asks_for_adams_foreach_code(monkeypatch):
    seen = {}
    adam = torch.optim.Adam

    def spy(params, **kwargs):
        seen.update(kwargs)
        return adam(params, **kwargs)

    monkeypatch.setattr(training.torch.optim, "Adam", spy)
    training.fit(training.make_mlp(1, 8, 0.1), data.make_sine_gap_data(n_train=8), epochs=1)
    assert seen.get("foreach") is True


def test_single_thread_restores_the_thread_count():
    before = torch.get_num_threads()
    with training.single_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_mc_predict_switches_only_dropout_and_restores_modes():
    torch.manual_seed(0)
    model = training.make_mlp(1, 16, 0.3, batch_norm=True)
    model.train()
    model[1].eval()  # a mixed state that must come back as it was
    modes = [m.training for m in model.modules()]
    stats = model[1].running_mean.clone()
    x = torch.linspace(-1, 1, 7, dtype=torch.float64).unsqueeze(1)
    mean, std = mc.mc_predict(model, x, samples=50, seed=2)
    assert [m.training for m in model.modules()] == modes
    assert torch.equal(model[1].running_mean, stats)
    assert (std > 0).all()
    # the same as averaging by hand with dropout on and batch norm in eval mode
    model.eval()
    for m in model.modules():
        if isinstance(m, dropmini.Dropout):
            m.train()
    torch.manual_seed(2)
    with torch.no_grad():
        draws = torch.stack([model(x) for _ in range(50)])
    assert dropmini.same_bits(mean, draws.mean(0)) and dropmini.same_bits(std, draws.std(0))


def test_mc_predict_handles_torch_dropout_and_no_dropout():
    torch.manual_seed(0)
    with_torch = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.5), nn.Linear(8, 1))
    _, std = mc.mc_predict(with_torch, torch.ones(3, 2), samples=20)
    assert (std > 0).all()
    plain = nn.Sequential(nn.Linear(2, 1))
    mean, std = mc.mc_predict(plain, torch.ones(3, 2), samples=5)
    assert torch.equal(std, torch.zeros_like(std))
    assert torch.allclose(mean, plain(torch.ones(3, 2)))


def test_selu_stack_alpha_keeps_statistics_plain_dropout_does_not():
    m_a, v_a = experiments.selu_stack_statistics(dropmini.AlphaDropout, 0.2, depth=12, width=128)
    m_d, v_d = experiments.selu_stack_statistics(dropmini.Dropout, 0.2, depth=12, width=128)
    assert max(abs(m) for m in m_a) < 0.05 and all(abs(v - 1) < 0.1 for v in v_a)
    assert v_d[-1] > 1.5


def test_smooth_feature_maps_are_smooth_and_seeded():
    maps = data.smooth_feature_maps(2, 3, 16, seed=0)
    assert torch.equal(maps, data.smooth_feature_maps(2, 3, 16, seed=0))
    assert maps.min() >= 0 and torch.allclose(maps.amax(dim=(-1, -2)), torch.ones(2, 3))
    step = (maps[..., 1:] - maps[..., :-1]).abs().mean()
    assert step < 0.3 * maps.mean()  # uniform white noise gives about 0.67


def test_neighbour_fill_error_small_for_smooth_maps_large_for_noise():
    smooth = data.smooth_feature_maps(1, 4, 16, seed=0)
    noise = torch.rand(1, 4, 16, 16, generator=torch.Generator().manual_seed(100))
    state = torch.get_rng_state()
    dropped, smooth_error = experiments.neighbour_fill_error(smooth, 0.5, seed=0)
    assert torch.equal(state, torch.get_rng_state())  # the mask came from a forked generator
    torch.manual_seed(0)
    assert dropped == int((torch.nn.functional.dropout(smooth, 0.5) == 0).sum())
    _, noise_error = experiments.neighbour_fill_error(noise, 0.5, seed=0)
    assert smooth_error < 0.2 < 0.4 < noise_error
    assert experiments.neighbour_fill_error(smooth, 0.0, seed=0) == (0, 0.0)


def test_neighbour_fill_error_averages_over_the_dropped_pixels_only():
    # A constant map: a dropped pixel with a kept neighbour is guessed exactly (error 0), one
    # whose eight neighbours are all dropped is guessed as 0 (error 1). Count both by hand.
    ones = torch.ones(1, 1, 6, 6)
    some_isolated = False
    for seed in range(5):
        torch.manual_seed(seed)
        kept = (torch.nn.functional.dropout(ones, 0.75) != 0)[0, 0].tolist()
        lost = isolated = 0
        for i in range(6):
            for j in range(6):
                if kept[i][j]:
                    continue
                lost += 1
                around = [kept[a][b] for a in range(max(i - 1, 0), min(i + 2, 6))
                          for b in range(max(j - 1, 0), min(j + 2, 6))]  # fmt: skip
                isolated += not any(around)
        dropped, error = experiments.neighbour_fill_error(ones, 0.75, seed=seed)
        assert dropped == lost
        assert abs(error - isolated / lost) < 1e-6
        some_isolated |= isolated > 0
    assert some_isolated  # otherwise the error would be 0 whatever it averages over


def test_selu_stack_statistics_leaves_the_global_generator_alone():
    state = torch.get_rng_state()
    first = experiments.selu_stack_statistics(dropmini.Dropout, 0.2, depth=2, width=8, batch=16)
    assert torch.equal(state, torch.get_rng_state())
    again = experiments.selu_stack_statistics(dropmini.Dropout, 0.2, depth=2, width=8, batch=16)
    assert first == again
    other = experiments.selu_stack_statistics(dropmini.Dropout, 0.2, 2, 8, 16, seed=1)
    assert other != first
