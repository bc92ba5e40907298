"""Seeded canaries: torch still draws the masks the book's stored outputs were made with.

``tests/compat/masks-2.13.0.txt`` holds what ``tests/compat/fingerprint.py`` printed under the
pinned release, torch 2.13.0 on the CPU: a short hash of the keep-mask of each seeded recipe
(``F.dropout`` at several sizes, seeds and ``p``, ``dropout2d``, ``alpha_dropout``,
``bernoulli_``, ``rand``). Under any release these tests fail as soon as one recipe draws
another mask; ``make compat`` runs them under every release it checks
(``tests/compat/run.py``), which is how the oldest supported release was found.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

HERE = Path(__file__).parent / "compat"
_spec = importlib.util.spec_from_file_location("fingerprint", HERE / "fingerprint.py")
fingerprint = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fingerprint)


def _pinned() -> dict[str, str]:
    lines = (HERE / "masks-2.13.0.txt").read_text().splitlines()
    assert lines[0].startswith("torch 2.13.0")
    return dict(line.split(": ", 1) for line in lines[1:])


PINNED = _pinned()


def test_the_article_example_keeps_every_element_for_seed_42():
    # The first source article's example: seed 42, p = 0.5, x = [1, 2, 3, 4] -> [2, 4, 6, 8].
    torch.manual_seed(42)
    out = F.dropout(torch.arange(1.0, 5.0), 0.5)
    assert out.tolist() == [2.0, 4.0, 6.0, 8.0], f"torch {torch.__version__} drew {out.tolist()}"


@pytest.fixture(scope="module")
def drawn() -> dict[str, str]:
    return fingerprint.fingerprints()


def test_the_recipes_are_the_pinned_ones(drawn):
    assert set(drawn) == set(PINNED)


@pytest.mark.parametrize("recipe", sorted(PINNED))
def test_seeded_mask_is_the_pinned_releases(drawn, recipe):
    assert drawn[recipe] == PINNED[recipe], (
        f"CANARY: torch {torch.__version__} draws another mask for {recipe!r} than torch 2.13.0 "
        "did; the book's stored masks do not hold for this release."
    )


def test_a_changed_mask_changes_its_fingerprint():
    torch.manual_seed(0)
    mask = F.dropout(torch.ones(1000), 0.5) != 0
    flipped = mask.clone()
    flipped[999] = ~flipped[999]
    assert fingerprint._digest(mask) != fingerprint._digest(flipped)
