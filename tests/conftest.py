"""Shared fixtures: a hand-built model whose neighbours and analogies are known exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from item2vec.model.embeddings import Embeddings
from item2vec.model.store import save

# Eight items with hand-placed vectors: royalty on axes 0-2, fruit on axis 3.
# king - man + woman = queen; apple, pear and plum are each other's nearest neighbours.
TINY_VECTORS = {
    "king": [1.0, 0.0, 1.0, 0.0],
    "queen": [0.0, 1.0, 1.0, 0.0],
    "man": [1.0, 0.0, 0.0, 0.0],
    "woman": [0.0, 1.0, 0.0, 0.0],
    "prince": [1.0, 0.0, 0.6, 0.2],
    "apple": [0.0, 0.0, 0.0, 1.0],
    "pear": [0.0, 0.2, 0.0, 1.0],
    "plum": [0.2, 0.0, 0.3, 1.0],
}
TINY_COUNTS = [80, 70, 60, 50, 40, 30, 20, 10]
TINY_NAMES = {"apple": "Red Apple", "pear": "Green Pear", "plum": "Plum (dark)", "king": "King"}


def tiny_embeddings(names: bool = True) -> Embeddings:
    ids = list(TINY_VECTORS)
    return Embeddings(
        ids=ids,
        vectors=np.array([TINY_VECTORS[i] for i in ids], dtype=np.float32),
        counts=np.array(TINY_COUNTS, dtype=np.int64),
        names=dict(TINY_NAMES) if names else {},
        meta={"params": {"min_count": 5, "dim": 4}, "engine": "hand-built"},
        dropped={"duke": 3},
    )


@pytest.fixture
def tiny() -> Embeddings:
    return tiny_embeddings()


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    path = tmp_path / "tiny"
    save(tiny_embeddings(), path)
    return path
