"""The network drawing shows exactly the kept units and the connections between them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dropmini.lab import netplots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _collection(ax, gid):
    (found,) = [c for c in ax.collections if c.get_gid() == gid]
    return found


def test_full_network_draws_every_connection_and_no_dropped_unit():
    fig = netplots.network_figure([4, 5, 5, 1], [None], ["full"])
    ax = fig.axes[0]
    # 4*5 + 5*5 + 5*1 connections, 15 units, none dropped
    assert len(_collection(ax, "connections").get_segments()) == 50
    assert len(_collection(ax, "kept").get_offsets()) == 15
    assert len(_collection(ax, "dropped").get_offsets()) == 0
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names == ["input", "hidden 1", "hidden 2", "output"]


def test_dropped_units_are_grey_and_lose_all_their_connections():
    # inputs: unit 1 dropped; hidden: units 0 and 2 dropped; the output is never dropped
    kept = [[1.0, 0.0, 1.0], [0.0, 2.0, 0.0, 2.0]]
    fig = netplots.network_figure([3, 4, 1], [kept], ["thinned"])
    ax = fig.axes[0]
    segments = _collection(ax, "connections").get_segments()
    assert len(segments) == 2 * 2 + 2 * 1
    dropped = _collection(ax, "dropped").get_offsets()
    # positions: layer y, units centred on x = 0 with spacing 1
    assert sorted(map(tuple, np.asarray(dropped).tolist())) == [(-1.5, 1.0), (0.0, 0.0), (0.5, 1.0)]
    endpoints = {tuple(np.round(point, 6)) for segment in segments for point in segment}
    assert not endpoints & {(0.0, 0.0), (-1.5, 1.0), (0.5, 1.0)}  # no line touches a dropped unit
    assert endpoints == {(-1.0, 0.0), (1.0, 0.0), (-0.5, 1.0), (1.5, 1.0), (0.0, 2.0)}


def test_masks_from_nn_dropout_give_the_counts_one_expects():
    torch.manual_seed(0)
    kept = torch.nn.Dropout(p=0.5)(torch.ones(14)) != 0
    layers = torch.split(kept, [4, 5, 5])
    units = [int(k.sum()) for k in layers]
    expected = units[0] * units[1] + units[1] * units[2] + units[2] * 1
    assert netplots.kept_connections([4, 5, 5, 1], layers) == expected
    fig = netplots.network_figure([4, 5, 5, 1], [None, layers], ["full", "seed 0"])
    thinned = fig.axes[1]
    assert len(_collection(thinned, "connections").get_segments()) == expected
    assert len(_collection(thinned, "dropped").get_offsets()) == 14 - int(kept.sum())
    assert [t.get_text() for t in thinned.get_yticklabels()] == []  # names on the first panel only


@pytest.mark.parametrize(
    ("sizes", "kept", "match"),
    [
        ([3], None, "at least two layers"),
        ([3, 0, 1], None, "at least two layers"),
        ([3, 2, 1], [[1, 1, 1]], "one mask per layer except the last"),
        ([3, 2, 1], [[1, 1], [1, 1]], "layer 0 has 3 units"),
    ],
)
def test_bad_shapes_are_refused_before_drawing(sizes, kept, match):
    with pytest.raises(ValueError, match=match):
        netplots.network_figure(sizes, [None, kept], ["a", "b"])
    assert plt.get_fignums() == []


def test_one_title_per_panel_and_given_axes_are_used():
    with pytest.raises(ValueError, match="one title per panel"):
        netplots.network_figure([2, 1], [None, None], ["only one"])
    fig, axes = plt.subplots(1, 2)
    assert netplots.network_figure([2, 1], [None, [[0, 1]]], ["a", "b"], axes=axes) is fig
    assert netplots.kept_connections([2, 1], [[0, 1]]) == 1
