"""dropmini: torch.nn.Dropout reproduced bit for bit, small enough to read.

The figures, experiments and benchmark of the book live apart, in
:mod:`dropmini.lab`; importing dropmini does not import them.

The functions and modules here give, for the same seed on the CPU, the same
bits, gradients and random-number consumption as their ``torch.nn``
counterparts (``drop_path``, which torch lacks, as torchvision's and timm's
stochastic depth) for every call both complete. Bad input raises a clear error
before anything is drawn; the few inputs torch takes and dropmini refuses
(such as a bool ``p``) are listed on the API page.

Examples
--------
>>> import torch, dropmini
>>> x = torch.arange(1.0, 6.0)
>>> _ = torch.manual_seed(0); ours = dropmini.dropout(x, 0.2)
>>> _ = torch.manual_seed(0); theirs = torch.nn.functional.dropout(x, 0.2)
>>> dropmini.same_bits(ours, theirs)
True
"""

from importlib.metadata import version

from dropmini.compare import TorchComparison, same_bits, ulp_distance, versus_torch
from dropmini.custom import CustomDropout
from dropmini.droppath import DropPath, drop_path
from dropmini.functional import (
    SELU_LAMBDA_ALPHA,
    alpha_dropout,
    dropout,
    dropout1d,
    dropout2d,
    dropout3d,
    feature_alpha_dropout,
    feature_noise_shape,
)
from dropmini.fused import FusedDropout, fused_dropout
from dropmini.modules import (
    AlphaDropout,
    Dropout,
    Dropout1d,
    Dropout2d,
    Dropout3d,
    DropoutNd,
    FeatureAlphaDropout,
    to_torch,
)
from dropmini.mt19937 import GeneratorState, keep_mask, read_state, write_state
from dropmini.packed import PackedDropout, packed_dropout
from dropmini.philox import compiled_dropout, compiled_keep_mask, inductor_seed, philox4x32
from dropmini.seeded import seeded_dropout

__version__ = version("dropmini")

__all__ = [
    "SELU_LAMBDA_ALPHA",
    "AlphaDropout",
    "CustomDropout",
    "DropPath",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "DropoutNd",
    "FeatureAlphaDropout",
    "FusedDropout",
    "GeneratorState",
    "PackedDropout",
    "TorchComparison",
    "alpha_dropout",
    "compiled_dropout",
    "compiled_keep_mask",
    "drop_path",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "feature_alpha_dropout",
    "feature_noise_shape",
    "fused_dropout",
    "inductor_seed",
    "keep_mask",
    "packed_dropout",
    "philox4x32",
    "read_state",
    "same_bits",
    "seeded_dropout",
    "to_torch",
    "ulp_distance",
    "versus_torch",
    "write_state",
]
