"""The graph summary and the gradient figure of chapter 9, checked against torch's autograd."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from dropmini.lab import gradients  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_describe_node_follows_an_in_place_dropout():
    a = torch.ones(4, requires_grad=True)
    h = torch.exp(a * 2)
    assert gradients.describe_node(h) == "grad_fn=ExpBackward0, next=MulBackward0, version=0"
    torch.manual_seed(0)
    F.dropout(h, 0.5, inplace=True)
    assert gradients.describe_node(h) == "grad_fn=MulBackward0, next=ExpBackward0, version=1"


def test_describe_node_of_a_leaf_and_of_an_input_without_gradient():
    a = torch.ones(3, requires_grad=True)
    assert gradients.describe_node(a) == "grad_fn=None, version=0"
    with torch.no_grad():
        a.mul_(2)  # bumps the version without recording
    assert gradients.describe_node(a).endswith("version=1")
    b = torch.mul(torch.ones(3), a)  # the first input needs no gradient
    assert gradients.describe_node(b) == "grad_fn=MulBackward0, next=None, version=0"


@pytest.mark.parametrize("p", [0.25, 0.5])
def test_gradient_figure_shows_torchs_gradient_with_zeros_in_grey(p):
    x = torch.arange(1.0, 9.0, requires_grad=True)
    upstream = torch.tensor([0.75, -1.5, 3.0, 1.5, -0.75, 2.25, -3.0, 0.75])
    torch.manual_seed(3)
    y = F.dropout(x, p)
    y.backward(upstream)
    scaled_mask = (y != 0).float() / (1 - p)
    rows = [x.detach(), scaled_mask, upstream, x.grad]
    fig = gradients.gradient_figure(rows, ["x", "mask", "upstream", "gradient"])
    assert len(fig.axes) == 4
    last = fig.axes[-1]
    assert last.get_xlabel() == "element index"
    shown = [float(t.get_text()) for t in last.texts]
    np.testing.assert_allclose(shown, x.grad.numpy(), rtol=5e-3)
    grey = last.images[0].get_array()[0] == 0
    assert grey.tolist() == (y == 0).tolist()
    assert [t.get_text() for t in fig.axes[1].texts].count("0") == int((y == 0).sum())


def test_gradient_figure_prints_negative_zero_as_zero():
    fig = gradients.gradient_figure([[-0.0, -1.5]], ["g"])
    assert [t.get_text() for t in fig.axes[0].texts] == ["0", "-1.5"]


def test_gradient_figure_rejects_rows_of_different_lengths():
    with pytest.raises(ValueError, match="one common length"):
        gradients.gradient_figure([[1.0, 2.0], [1.0]], ["a", "b"])


def test_gradient_figure_draws_into_given_axes():
    fig, axes = plt.subplots(2, 1)
    assert gradients.gradient_figure([[1.0], [0.0]], ["a", "b"], axes=list(axes)) is fig
    assert [ax.get_title(loc="left") for ax in axes] == ["a", "b"]
