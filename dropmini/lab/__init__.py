"""dropmini.lab: the book's lab equipment, not part of the dropout package itself.

Figures, data sets, small experiments, a tiny GPT and the benchmark that the
chapters run. The core (``import dropmini``) never imports this package, so
using dropmini's dropout does not load matplotlib.

Modules
-------
attention
    Attention with dropout on the softmax weights, as SDPA computes it.
bench
    ``python -m dropmini.lab.bench``: time and memory of each dropout
    (imported on demand: ``from dropmini.lab import bench``).
data
    Seeded data sets: handwritten digits split for training, a regression problem with a
    gap, and smooth feature maps.
environment
    The set-up check that opens every chapter.
experiments
    The channel-wise and alpha dropout experiments.
figlang
    The Japanese twin of a figure (the Japanese edition's figures, ``make figures-ja``).
gpt
    A tiny nanoGPT-style model with dropmini's dropout inside.
gradients
    The gradient of dropout drawn, and what autograd records for a tensor.
inverted
    Original (2014) versus inverted dropout, exact expectations.
maskplots
    Figures of the mask pipeline and the memory/time frontier.
mc
    Monte Carlo dropout predictions.
memory
    Bytes a call leaves alive, keeps for backward, and at its peak.
misconceptions
    The retention-versus-drop-probability figure of the misconceptions chapter.
netplots
    A small network drawn with its dropped units (the thinned-network figure).
oldmasks
    The masks torch 2.6 drew on the CPU (MKL's MCG31 stream), rebuilt with numpy.
ops
    Which ATen operators a call runs (profiler and dispatcher).
placement
    Where dropout goes: ReLU commutation, residual branches.
processes
    Masks drawn in several processes: the worker that ``spawn`` runs, per-rank seeds.
plots
    The book's figures.
recurrent
    Dropout in stacked RNNs rebuilt bit for bit; locked and variational dropout.
references
    timm's drop_path and torchvision's stochastic_depth, run from their installed files.
relatives
    DropConnect, DropBlock and the figure of which units are dropped together.
stats
    Binomial probabilities and zero counts.
training
    A small regression MLP and its loop (ch11), and ch10's training-curve figures.
transformer
    ``nn.TransformerEncoderLayer`` rebuilt from dropmini parts, every dropout site.
variance_shift
    Dropout before BatchNorm: the variance shift, measured and corrected.

Examples
--------
>>> from dropmini.lab import stats
>>> [round(v, 2) for v in stats.binomial_pmf(2, 0.5)]
[0.25, 0.5, 0.25]
"""  # noqa: D405, D407, D411 (the module "references" reads to pydocstyle as a section name)

from dropmini.lab import (
    attention,
    data,
    environment,
    experiments,
    figlang,
    gpt,
    gradients,
    inverted,
    maskplots,
    mc,
    memory,
    misconceptions,
    netplots,
    oldmasks,
    ops,
    placement,
    plots,
    processes,
    recurrent,
    references,
    relatives,
    stats,
    training,
    transformer,
    variance_shift,
)

__all__ = [
    "attention",
    "data",
    "environment",
    "experiments",
    "figlang",
    "gpt",
    "gradients",
    "inverted",
    "maskplots",
    "mc",
    "memory",
    "misconceptions",
    "netplots",
    "oldmasks",
    "ops",
    "placement",
    "plots",
    "processes",
    "recurrent",
    "references",
    "relatives",
    "stats",
    "training",
    "transformer",
    "variance_shift",
]
