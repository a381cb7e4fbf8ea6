"""What the score modes read besides the input vectors: output vectors and transitions, each
loaded on first use and kept, and the per-catalogue values computed from them (inverse lengths,
the mean and second moment of the unit vectors that standardise hybrid scores).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.errors import Bare, ModelError, param
from item2vec.model.embeddings import Embeddings, unit_rows
from item2vec.model.parts import load_model_transitions, load_output, missing_output, missing_transitions
from item2vec.model.transitions import TransitionMatrix

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp
    from numpy.typing import NDArray

_CHUNK = 65_536


@dataclass
class ScoringParts:
    """The model's output vectors and transitions, read when a mode first asks for them.

    ``path`` is the model directory; without one (a model built in memory), give ``output`` and
    ``transitions`` directly.
    """

    embeddings: Embeddings
    path: Path | None = None
    output: NDArray[np.float32] | None = None
    transitions: TransitionMatrix | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def missing_output(self, mode: str) -> str | None:
        """Why ``mode`` cannot read output vectors, or None."""
        if self.output is not None:
            return None
        if self.path is None:
            return _no_part(mode, "output vectors")
        return missing_output(self.path, self.embeddings, mode)

    def missing_transitions(self, mode: str) -> str | None:
        """Why ``mode`` cannot read transitions, or None."""
        if self.transitions is not None:
            return None
        if self.path is None:
            return _no_part(mode, "transitions")
        return missing_transitions(self.path, self.embeddings)

    def output_vectors(self, mode: str = "next") -> NDArray[np.float32]:
        if self.output is None:
            if self.path is None:
                raise ModelError(_no_part(mode, "output vectors"))
            self.output = load_output(self.path, self.embeddings, mode)
        return self.output

    def transition_csr(self, mode: str = "hybrid") -> sp.csr_matrix:
        if "csr" not in self._cache:
            if self.transitions is None:
                if self.path is None:
                    raise ModelError(_no_part(mode, "transitions"))
                self.transitions = load_model_transitions(self.path, self.embeddings)
            self._cache["csr"] = self.transitions.to_csr()
        csr: sp.csr_matrix = self._cache["csr"]
        return csr

    def vectors(self, base: str, mode: str = "next") -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """The candidates' vectors for a base (``similar``: input, ``next``: output) and 1 / their lengths."""
        if base == "similar":
            return self.embeddings.vectors, self.embeddings.inverse_norms
        key = "inverse-output"
        vectors = self.output_vectors(mode)
        if key not in self._cache:
            self._cache[key] = _inverse_norms(vectors)
        inverse: NDArray[np.float32] = self._cache[key]
        return vectors, inverse

    def cosines(self, base: str, unit: NDArray[np.float32], mode: str = "next") -> NDArray[np.float32]:
        """Cosine of each unit query (rows) with every candidate's ``base`` vector."""
        from item2vec.query.topk import product

        vectors, inverse = self.vectors(base, mode)
        result: NDArray[np.float32] = product(unit, vectors) * inverse
        return result

    def scratch(self, rows: int, width: int) -> NDArray[np.float32]:
        """A float32 buffer of at least ``rows`` x ``width`` for one block's scores, kept per
        thread and reused from block to block (a fresh one per block faults in every page)."""
        import numpy as np

        local = self._cache.setdefault("scratch", threading.local())
        buffer: NDArray[np.float32] | None = getattr(local, "buffer", None)
        if buffer is None or buffer.shape[1] != width or len(buffer) < rows:
            buffer = np.empty((rows, width), dtype=np.float32)
            local.buffer = buffer
        return buffer

    def moments(self, base: str, mode: str = "next") -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Mean μ and second-moment matrix M of the base's unit vectors over the catalogue."""
        import numpy as np

        key = f"moments-{base}"
        if key not in self._cache:
            vectors, _ = self.vectors(base, mode)
            dim = vectors.shape[1]
            total, second = np.zeros(dim), np.zeros((dim, dim))
            for start in range(0, len(vectors), _CHUNK):
                unit = unit_rows(np.asarray(vectors[start : start + _CHUNK])).astype(np.float64)
                total += unit.sum(axis=0)
                second += unit.T @ unit
            n = max(1, len(vectors))
            self._cache[key] = (total / n, second / n)
        moments: tuple[NDArray[np.float64], NDArray[np.float64]] = self._cache[key]
        return moments

    def standard(
        self, base: str, unit: NDArray[np.float32], mode: str = "next"
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Mean and std of each unit query's ``base`` scores over the whole catalogue, exactly:
        mean = u·μ, var = uᵀMu - (u·μ)² (no item is scored for them)."""
        import numpy as np

        mu, second = self.moments(base, mode)
        queries = unit.astype(np.float64)
        mean = queries @ mu
        variance = np.einsum("bd,de,be->b", queries, second, queries) - mean**2
        std = np.sqrt(np.maximum(variance, 1e-12))
        return mean.astype(np.float32), std.astype(np.float32)


def _no_part(mode: str, what: str) -> str:
    return (
        f"{param('score', Bare(mode))} needs {what}, which this in-memory model was not given: "
        "pass them, or load the model directory"
    )


def _inverse_norms(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    import numpy as np

    norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors, dtype=np.float32))
    norms[norms == 0] = 1.0
    inverse: NDArray[np.float32] = (1.0 / norms).astype(np.float32)
    return inverse


def open_parts(embeddings: Embeddings, path: Path | str | None) -> ScoringParts:
    """The scoring parts of the model at ``path`` (nothing is read until a mode needs it)."""
    return ScoringParts(embeddings, Path(path) if path is not None else None)
