"""dropmini.lab.ops: the operators a call runs, seen by the profiler and by the dispatcher."""

from __future__ import annotations

import os
import sys
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import dropmini
from dropmini.lab import ops


def _sequence(shape, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN])
@pytest.mark.parametrize("num_layers", [1, 2, 4])
def test_aten_calls_counts_one_dropout_between_layers(cls, num_layers):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # num_layers=1 warns about dropout
        rnn = cls(3, 4, num_layers=num_layers, dropout=0.5, dtype=torch.float64)
    x = _sequence((5, 2, 3), 1, torch.float64)
    names = {"aten::dropout", "aten::bernoulli_"}
    train = ops.aten_calls(lambda: rnn.train()(x), names)
    assert train == ["aten::dropout", "aten::bernoulli_"] * (num_layers - 1)
    assert ops.aten_calls(lambda: rnn.eval()(x), names) == []


def test_aten_calls_restores_standard_error():
    before = os.fstat(2)
    assert ops.aten_calls(lambda: torch.ones(2) + 1, {"aten::add"}) == ["aten::add"]
    after = os.fstat(2)
    assert (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino)


def test_aten_calls_keeps_python_standard_error_quiet(capsys):
    # A notebook kernel's sys.stderr is a Python stream, not file descriptor 2: what is
    # written to it while the profiler runs (a warning, say) must not reach the output.
    def noisy():
        print("profiler noise", file=sys.stderr)
        return torch.ones(2) + 1

    assert ops.aten_calls(noisy, {"aten::add"}) == ["aten::add"]
    print("after", file=sys.stderr)
    assert capsys.readouterr().err == "after\n"


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="needs oneDNN")
def test_float32_lstm_runs_one_onednn_layer_at_a_time():
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=3, dropout=0.5)
    x = _sequence((5, 2, 3), 2)
    calls = ops.aten_calls(lambda: lstm.train()(x), {"aten::mkldnn_rnn_layer", "aten::dropout"})
    assert calls == ["aten::mkldnn_rnn_layer", "aten::dropout"] * 2 + ["aten::mkldnn_rnn_layer"]


def test_record_ops_sees_torch_dropout_and_the_article_module_forward_and_backward():
    x = torch.ones(64, requires_grad=True)
    records = {}
    for name, fn in {"torch": lambda t: F.dropout(t, 0.5),
                     "article": dropmini.CustomDropout(0.5)}.items():  # fmt: skip
        with ops.RecordOps() as forward:
            out = fn(x)
        with ops.RecordOps() as backward:
            torch.autograd.grad(out, x, torch.ones_like(out))
        records[name] = (forward.ops, backward.ops)
    assert "bernoulli_" in records["torch"][0] and "bernoulli_" in records["article"][0]
    # the article divides the gradient once more in backward
    assert len(records["article"][1]) == len(records["torch"][1]) + 1


def test_record_ops_records_nothing_in_eval():
    x = torch.ones(4)
    with ops.RecordOps() as record:
        F.dropout(x, 0.5, training=False)
    assert record.ops == []
