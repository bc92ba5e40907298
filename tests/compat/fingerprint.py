"""Print a fingerprint of the masks this torch draws on the CPU (one line per recipe).

Run with any Python that has torch; compare the lines with another release's. Used by
``run.py --bisect`` to find the oldest release that draws the book's masks.
"""

from __future__ import annotations

import hashlib

import torch
import torch.nn.functional as F


def _digest(t: torch.Tensor) -> str:
    return hashlib.sha256(t.contiguous().to(torch.uint8).numpy().tobytes()).hexdigest()[:16]


def fingerprints() -> dict[str, str]:
    """Recipe name to a short hash of the keep-mask it draws."""
    out = {}
    for seed in (0, 42, 12345):
        for n in (4, 17, 1000, 100_003):
            for p in (0.1, 0.5):
                torch.manual_seed(seed)
                out[f"dropout seed={seed} n={n} p={p}"] = _digest(F.dropout(torch.ones(n), p) != 0)
    torch.manual_seed(42)
    out["article seed=42 ones(4)*arange"] = str(
        F.dropout(torch.ones(4) * torch.arange(1.0, 5.0), 0.5).tolist()
    )
    torch.manual_seed(0)
    out["dropout2d (8,16,5,5)"] = _digest(F.dropout2d(torch.ones(8, 16, 5, 5), 0.3) != 0)
    torch.manual_seed(0)
    out["alpha_dropout 1000"] = _digest(F.alpha_dropout(torch.ones(1000), 0.3, True) != 0)
    torch.manual_seed(0)
    out["bernoulli_ 0.7 (40,25)"] = _digest(torch.empty(40, 25).bernoulli_(0.7))
    torch.manual_seed(0)
    out["rand 5"] = str(torch.rand(5, dtype=torch.float64).tolist())
    return out


if __name__ == "__main__":
    print(f"torch {torch.__version__}")
    for key, value in fingerprints().items():
        print(f"{key}: {value}")
