"""Shared fixtures: a hand-built model whose neighbours and analogies are known exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from item2vec.model.embeddings import Embeddings
from item2vec.model.store import save
from item2vec.model.transitions import TransitionMatrix

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
# Hand-placed output vectors (syn1neg), for --score next: in·out cosines differ from in·in.
TINY_OUTPUT = {
    "king": [0.0, 0.0, 0.2, 1.0],
    "queen": [0.1, 0.0, 1.0, 0.0],
    "man": [1.0, 0.3, 0.0, 0.0],
    "woman": [0.0, 1.0, 0.0, 0.4],
    "prince": [0.5, 0.5, 0.5, 0.0],
    "apple": [0.0, 0.3, 0.0, 1.0],
    "pear": [-1.0, 0.0, 0.0, 0.5],
    "plum": [0.0, -0.5, 1.0, 0.3],
}
# Hand-set transition scores (what follows what), for --score hybrid: row -> {follower: weight}.
TINY_TRANSITIONS = {
    "king": {"queen": 5.0, "prince": 0.5},
    "queen": {"king": 1.0},
    "apple": {"pear": 3.0, "king": 1.0},
    "pear": {"plum": 2.0},
}


def planted(path: Path, sequences: int = 600, length: int = 20, seed: int = 0) -> list[list[str]]:
    """Random walks over 40 items in 4 groups (a step stays in the group 9 times in 10), written
    to ``path`` one a line: a log whose structure training and calibration tests know."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(sequences):
        group = int(rng.integers(4))
        seq = []
        for _ in range(length):
            if rng.random() < 0.1:
                group = int(rng.integers(4))
            seq.append(f"g{group}i{int(rng.integers(10))}")
        out.append(seq)
    path.write_text("".join(" ".join(s) + "\n" for s in out))
    return out


def tiny_output() -> np.ndarray:
    return np.array([TINY_OUTPUT[i] for i in TINY_VECTORS], dtype=np.float32)


def tiny_transitions() -> TransitionMatrix:
    """TINY_TRANSITIONS as a matrix: each row heaviest first (as build_transitions stores it)."""
    ids = list(TINY_VECTORS)
    indptr, indices, data = [0], [], []
    for item in ids:
        row = sorted(TINY_TRANSITIONS.get(item, {}).items(), key=lambda kv: (-kv[1], ids.index(kv[0])))
        indices += [ids.index(follower) for follower, _ in row]
        data += [weight for _, weight in row]
        indptr.append(len(indices))
    return TransitionMatrix(
        np.array(indptr, dtype=np.int64),
        np.array(indices, dtype=np.int32),
        np.array(data, dtype=np.float32),
        len(ids),
        steps=10,
        keep=100,
    )


def tiny_embeddings(names: bool = True) -> Embeddings:
    ids = list(TINY_VECTORS)
    return Embeddings(
        ids=ids,
        vectors=np.array([TINY_VECTORS[i] for i in ids], dtype=np.float32),
        counts=np.array(TINY_COUNTS, dtype=np.int64),
        names=dict(TINY_NAMES) if names else {},
        # The hybrid weight and base the hand-read answers of tests/test_scoring.py use (the
        # shipped defaults, item2vec.model.modes, are checked there separately).
        meta={
            "params": {"min_count": 5, "dim": 4},
            "engine": "hand-built",
            "scoring": {"hybrid_weight": 2.0, "hybrid_base": "similar"},
        },
        dropped={"duke": 3},
    )


@pytest.fixture
def tiny() -> Embeddings:
    return tiny_embeddings()


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    """The tiny model on disk, with its output vectors and transitions (every score mode works)."""
    path = tmp_path / "tiny"
    save(tiny_embeddings(), path, extra={"syn1neg": tiny_output()}, transitions=tiny_transitions())
    return path
