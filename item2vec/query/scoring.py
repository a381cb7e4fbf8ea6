"""Score modes at query time: every candidate scored for a batch of queries, in one mode.

A batch of queries is a sparse matrix of weights over the catalogue (one row per query: the
query item with weight 1, or a history's items weighted ``decay ** age``). From it come

- the query vector: the weighted sum of the items' unit input vectors (it is normalised, so
  scores are cosines), and
- for ``hybrid``, the query's transition scores: the same weights times the transition matrix.

Then, per mode (names and defaults: ``item2vec.model.modes``):

- ``similar``: cos(query, input vector of each candidate);
- ``next``: cos(query, output vector of each candidate);
- ``hybrid``: z + w · log1p(t), where z standardises the base score (``similar`` or ``next``) over
  the whole catalogue: (score - mean) / std, the mean and std of the query's scores over every
  item. They come from the base vectors' mean and second-moment matrix (mean = u·μ,
  var = uᵀMu - (u·μ)²), so they are exact for every query without scoring every item, and an
  index's shortlist gets exactly the scores of exact search.

With an index (``--approx``), ``next`` searches the index of the output vectors, and ``hybrid``
takes the base index's shortlist plus every item the query's transitions name, then scores them
exactly; it can miss only an item that has no transition from the query and that the index
missed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.errors import ModelError
from item2vec.model.embeddings import Embeddings, Neighbour, unit_rows
from item2vec.model.modes import HybridBase, ScoreMode, check_hybrid, check_score, model_scoring, needs
from item2vec.model.parts import load_model_transitions, load_output, missing_output, missing_transitions
from item2vec.model.transitions import TransitionMatrix
from item2vec.query.index import AnnIndex, load_index
from item2vec.query.topk import distinct, neighbours, padded_columns, sparse_lookup, top_k

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp
    from numpy.typing import NDArray

Pairs = tuple["NDArray[np.int64]", "NDArray[np.int64]"]
_BATCH = 1024
_CHUNK = 65_536


@dataclass
class ScoringParts:
    """What the modes read besides the input vectors, each loaded on first use and kept.

    ``path`` is the model directory; without one (a model built in memory), give ``output`` and
    ``transitions`` directly. ``approx`` makes queries use the model's indexes.
    """

    embeddings: Embeddings
    path: Path | None = None
    output: NDArray[np.float32] | None = None
    transitions: TransitionMatrix | None = None
    approx: bool = False
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def missing(self, score: ScoreMode, base: HybridBase) -> str | None:
        """Why ``score`` cannot be used on this model, or None."""
        want_output, want_transitions = needs(score, base)
        if want_output and self.output is None:
            why = (
                missing_output(self.path, self.embeddings, score)
                if self.path
                else f"--score {score} {_no_part('output vectors')}"
            )
            if why:
                return why
        if want_transitions and self.transitions is None:
            return (
                missing_transitions(self.path, self.embeddings)
                if self.path
                else f"--score hybrid {_no_part('transitions')}"
            )
        return None

    def output_vectors(self, score: str) -> NDArray[np.float32]:
        if self.output is None:
            if self.path is None:
                raise ModelError(f"--score {score} {_no_part('output vectors')}")
            self.output = load_output(self.path, self.embeddings, score)
        return self.output

    def transition_csr(self) -> sp.csr_matrix:
        if "csr" not in self._cache:
            if self.transitions is None:
                if self.path is None:
                    raise ModelError(f"--score hybrid {_no_part('transitions')}")
                self.transitions = load_model_transitions(self.path, self.embeddings)
            self._cache["csr"] = self.transitions.to_csr()
        csr: sp.csr_matrix = self._cache["csr"]
        return csr

    def index(self, base: HybridBase) -> AnnIndex:
        """The index over the input (similar) or output (next) vectors."""
        key = f"index-{base}"
        if key not in self._cache:
            if base == "similar" and isinstance(self.embeddings.searcher, AnnIndex):
                self._cache[key] = self.embeddings.searcher
            elif self.path is None:
                raise ModelError("--approx needs the model's directory, where its index is stored")
            else:
                part = "input" if base == "similar" else "output"
                self._cache[key] = load_index(self.path, self.embeddings, vectors=part)
        index: AnnIndex = self._cache[key]
        return index

    def vectors(self, base: HybridBase, score: str) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """The candidates' vectors for a base (input or output) and 1 / their lengths."""
        if base == "similar":
            return self.embeddings.vectors, self.embeddings.inverse_norms
        key = "inverse-output"
        vectors = self.output_vectors(score)
        if key not in self._cache:
            self._cache[key] = _inverse_norms(vectors)
        inverse: NDArray[np.float32] = self._cache[key]
        return vectors, inverse

    def moments(self, base: HybridBase, score: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Mean μ and second-moment matrix M of the base's unit vectors over the catalogue."""
        import numpy as np

        key = f"moments-{base}"
        if key not in self._cache:
            vectors, _ = self.vectors(base, score)
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


def _no_part(what: str) -> str:
    return f"needs {what}, which this in-memory model was not given: pass them, or load the model directory"


def _inverse_norms(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    import numpy as np

    norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors, dtype=np.float32))
    norms[norms == 0] = 1.0
    inverse: NDArray[np.float32] = (1.0 / norms).astype(np.float32)
    return inverse


def open_parts(embeddings: Embeddings, path: Path | str | None, *, approx: bool = False) -> ScoringParts:
    """The scoring parts of the model at ``path`` (nothing is read until a mode needs it)."""
    return ScoringParts(embeddings, Path(path) if path is not None else None, approx=approx)


def make_scorer(
    parts: ScoringParts,
    score: str | None = None,
    *,
    hybrid_weight: float | None = None,
    hybrid_base: str | None = None,
) -> Scorer:
    """A scorer in ``score`` mode; unset values are the model's (model.json), else the defaults.

    Raises:
        ConfigError: an unknown mode or base, or a bad weight.
        ModelError: the model lacks what the mode needs (output vectors, transitions).
    """
    default_score, default_weight, default_base = model_scoring(parts.embeddings.meta)
    mode = check_score(score or default_score)
    weight, base = check_hybrid(
        default_weight if hybrid_weight is None else hybrid_weight, hybrid_base or default_base
    )
    why = parts.missing(mode, base)
    if why:
        raise ModelError(why)
    want_output, want_transitions = needs(mode, base)
    if want_output:  # read now: a corrupt part fails before any work is done
        parts.output_vectors(mode)
    if want_transitions:
        parts.transition_csr()
    return Scorer(parts, mode, weight, base)


@dataclass(frozen=True)
class Scorer:
    """Scores candidates for batches of weighted queries in one mode (see the module docstring)."""

    parts: ScoringParts
    mode: ScoreMode = "similar"
    weight: float = 2.0
    base: HybridBase = "similar"

    @property
    def embeddings(self) -> Embeddings:
        return self.parts.embeddings

    @property
    def uses_transitions(self) -> bool:
        return self.mode == "hybrid"

    def _base(self) -> HybridBase:
        return "similar" if self.mode == "similar" else "next" if self.mode == "next" else self.base

    def describe(self) -> str:
        """The mode in words, e.g. ``hybrid (similar, weight 2)``."""
        if self.mode != "hybrid":
            return self.mode
        return f"hybrid ({self.base}, weight {self.weight:g})"

    # --- queries ------------------------------------------------------------------------------

    def query_vectors(self, weights: sp.csr_matrix) -> NDArray[np.float32]:
        """Per query row: the weighted sum of its items' unit input vectors (not normalised)."""
        import numpy as np

        weights = weights.tocsr()
        rows = np.repeat(np.arange(weights.shape[0]), np.diff(weights.indptr))
        unit = unit_rows(np.asarray(self.embeddings.vectors[weights.indices]))
        out = np.zeros((weights.shape[0], self.embeddings.dim), dtype=np.float32)
        np.add.at(out, rows, unit * weights.data[:, None].astype(np.float32))
        return out

    def transition_scores(self, weights: sp.csr_matrix) -> sp.csr_matrix | None:
        """Per query row: its items' transition rows, weighted and summed (hybrid only)."""
        if not self.uses_transitions:
            return None
        product = (weights.tocsr().astype("float32") @ self.parts.transition_csr()).tocsr()
        product.sum_duplicates()
        product.sort_indices()
        return product

    # --- exact scores -------------------------------------------------------------------------

    def scores(self, queries: NDArray[np.float32], transitions: sp.csr_matrix | None) -> NDArray[np.float32]:
        """Scores of every item for each query (rows of ``queries``): dense, queries x catalogue."""
        import numpy as np

        vectors, inverse = self.parts.vectors(self._base(), self.mode)
        unit = unit_rows(queries)
        cosines: NDArray[np.float32] = (unit @ np.asarray(vectors).T) * inverse
        if self.mode != "hybrid":
            return cosines
        mean, std = self._standard(unit)
        result = ((cosines - mean[:, None]) / std[:, None]).astype(np.float32)
        if transitions is not None and transitions.nnz:
            owner = np.repeat(np.arange(transitions.shape[0]), np.diff(transitions.indptr))
            result[owner, transitions.indices] += (self.weight * np.log1p(transitions.data)).astype(
                np.float32
            )
        return result

    def _standard(self, unit: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Mean and std of each unit query's base scores over the whole catalogue."""
        import numpy as np

        mu, second = self.parts.moments(self._base(), self.mode)
        queries = unit.astype(np.float64)
        mean = queries @ mu
        variance = np.einsum("bd,de,be->b", queries, second, queries) - mean**2
        std = np.sqrt(np.maximum(variance, 1e-12))
        return mean.astype(np.float32), std.astype(np.float32)

    # --- top k --------------------------------------------------------------------------------

    def top(
        self,
        queries: NDArray[np.float32],
        transitions: sp.csr_matrix | None,
        k: int,
        *,
        exclude: Pairs | None = None,
        most_excluded: int = 0,
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The ``k`` best rows and scores per query (-1 and -inf pad), ``exclude`` pairs left out.

        Exact unless the parts are ``approx``; ``most_excluded`` (the most pairs of any query)
        widens an index's shortlist.
        """
        import numpy as np

        if self.parts.approx:
            return self._approx_top(queries, transitions, k, exclude, most_excluded)
        matrix = self.scores(queries, transitions)
        if exclude is not None and len(exclude[0]):
            matrix[exclude] = -np.inf
        return top_k(matrix, k)

    def _approx_top(
        self,
        queries: NDArray[np.float32],
        transitions: sp.csr_matrix | None,
        k: int,
        exclude: Pairs | None,
        most_excluded: int,
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        import numpy as np

        from item2vec.query.topk import rescore

        base = self._base()
        index = self.parts.index(base)
        if self.mode != "hybrid":
            vectors, _ = self.parts.vectors(base, self.mode)
            return index.search(vectors, queries, k, exclude=exclude, most_excluded=most_excluded)
        unit = unit_rows(queries)
        shortlist = index.candidates(unit, k * (index.params.rerank or 1) + most_excluded)
        candidates = distinct(np.hstack([shortlist, padded_columns(transitions, len(queries))]))
        vectors, _ = self.parts.vectors(base, self.mode)
        rows, cosines = rescore(vectors, unit, candidates, candidates.shape[1])
        # rescore sorts by cosine: the hybrid score then adds the standardising and transitions.
        mean, std = self._standard(unit)
        scores = ((cosines - mean[:, None]) / std[:, None]).astype(np.float32)
        scores += (self.weight * np.log1p(sparse_lookup(transitions, rows))).astype(np.float32)
        scores[rows < 0] = -np.inf
        if exclude is not None and len(exclude[0]):
            n = len(self.embeddings)
            banned = exclude[0] * n + exclude[1]
            keys = np.arange(len(rows), dtype=np.int64)[:, None] * n + np.where(rows < 0, 0, rows)
            scores[np.isin(keys, banned)] = -np.inf
        return top_k(scores, k, rows=rows)

    # --- answers ------------------------------------------------------------------------------

    def answer(
        self, labels: list[str], weights: sp.csr_matrix, exclude: list[set[int]], k: int
    ) -> list[Neighbour]:
        """``Neighbour`` rows for each weighted query (rows of ``weights``), ``exclude`` left out."""
        import numpy as np

        queries = self.query_vectors(weights)
        if self.mode == "similar":  # exactly Embeddings' own search (and its index, if attached)
            return self.embeddings._answer(labels, queries, exclude, k)
        out: list[Neighbour] = []
        for start in range(0, len(labels), _BATCH):
            block = exclude[start : start + _BATCH]
            pairs = np.array([(q, r) for q, rows in enumerate(block) for r in rows], dtype=np.int64).reshape(
                -1, 2
            )
            stop = start + len(block)
            rows, scores = self.top(
                queries[start:stop],
                self.transition_scores(weights[start:stop]),
                k,
                exclude=(pairs[:, 0], pairs[:, 1]),
                most_excluded=max((len(e) for e in block), default=0),
            )
            out.extend(neighbours(self.embeddings, labels[start:stop], rows, scores))
        return out

    def similar(self, items: list[str], k: int = 10, *, combine: bool = False) -> list[Neighbour]:
        """Best items for each item (or for all together with ``combine``), query items excluded.

        In ``similar`` mode this is exactly ``Embeddings.similar``.
        """
        if self.mode == "similar":
            return self.embeddings.similar(items, k, combine=combine)
        rows = [self.embeddings.position(i) for i in items]
        if combine:
            weights = query_weights(len(self.embeddings), [rows], [[1.0] * len(rows)])
            return self.answer([" + ".join(items)], weights, [set(rows)], k)
        weights = query_weights(len(self.embeddings), [[r] for r in rows], [[1.0]] * len(rows))
        return self.answer(items, weights, [{r} for r in rows], k)


def query_weights(n_items: int, rows: list[list[int]], weights: list[list[float]]) -> sp.csr_matrix:
    """A queries x catalogue sparse matrix: query ``i`` weighs item ``rows[i][j]`` by ``weights[i][j]``."""
    import numpy as np
    import scipy.sparse as sp

    owner = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
    cols = np.array([c for r in rows for c in r], dtype=np.int64)
    vals = np.array([w for ws in weights for w in ws], dtype=np.float64)
    matrix = sp.csr_matrix((vals, (owner, cols)), shape=(len(rows), n_items))
    matrix.sum_duplicates()
    return matrix
