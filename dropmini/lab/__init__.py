"""dropmini.lab: the book's lab equipment, not part of the dropout package itself.

Figures, data sets, small experiments, a tiny GPT and the benchmark that the
chapters run. The core (``import dropmini``) never imports this package, so
using dropmini's dropout does not load matplotlib.

Modules
-------
bench
    ``python -m dropmini.lab.bench``: time and memory of each dropout.
data
    Seeded data sets: regression problems and smooth feature maps.
experiments
    The channel-wise and alpha dropout experiments.
gpt
    A tiny nanoGPT-style model with dropmini's dropout inside.
mc
    Monte Carlo dropout predictions.
memory
    Bytes an autograd graph keeps for backward.
plots
    The book's figures.
stats
    Binomial probabilities and zero counts.
training
    A small MLP and its training loop.

Examples
--------
>>> from dropmini.lab import stats
>>> [round(v, 2) for v in stats.binomial_pmf(2, 0.5)]
[0.25, 0.5, 0.25]
"""

from dropmini.lab import bench, data, experiments, gpt, mc, memory, plots, stats, training

__all__ = ["bench", "data", "experiments", "gpt", "mc", "memory", "plots", "stats", "training"]
