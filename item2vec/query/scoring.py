"""Scoring at query time: every candidate scored for a batch of queries, in one way of scoring.

A batch of queries is a sparse matrix of weights over the catalogue (one row per query: the
query item with weight 1, or a history's items weighted ``decay ** age``). From it come

- the query vector: the weighted sum of the items' unit input vectors (it is normalised, so
  scores are cosines), and
- for a mode that reads transitions (``hybrid``), the query's transition scores: the same
  weights times the transition matrix.

A :class:`Scorer` holds a :class:`~item2vec.model.scoring_record.Scoring` (the mode and its
values), the model's parts, and optionally a searcher (``item2vec.query.index.Searcher``,
``--approx``); the mode itself (``item2vec.query.score_modes``) says how to score and shortlist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from item2vec.errors import ModelError
from item2vec.model.embeddings import Embeddings, Neighbour, unit_rows
from item2vec.model.scoring_record import Scoring
from item2vec.query.filters import CandidateFilter
from item2vec.query.index import AnnIndex
from item2vec.query.score_modes import ScoreMode, score_mode
from item2vec.query.scoring_parts import ScoringParts, open_parts
from item2vec.query.searcher import Searcher
from item2vec.query.topk import block_rows, blocks, neighbours

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np
    import scipy.sparse as sp
    from numpy.typing import NDArray

__all__ = [
    "ScoreRequest",
    "Scorer",
    "ScoringParts",
    "make_scorer",
    "open_parts",
    "query_weights",
    "resolve_scoring",
]

Pairs = tuple["NDArray[np.int64]", "NDArray[np.int64]"]
_BATCH = 1024


@dataclass(frozen=True)
class ScoreRequest:
    """The ways of scoring a caller asks for, as the command line gives them: the modes (empty:
    every mode the model can score, its own first), the hybrid values (None: the model's), and the
    model's parts (None: opened from the embeddings alone)."""

    parts: ScoringParts | None = None
    scores: tuple[str, ...] = ()
    hybrid_weight: float | None = None
    hybrid_base: str | None = None


def resolve_scoring(
    meta: Mapping[str, Any],
    score: str | None = None,
    weight: object = None,
    base: object = None,
    repeat: object = None,
    decay: object = None,
) -> Scoring:
    """The Scoring asked for: the values given, checked; unset ones the model's (model.json's
    record), read only when the mode is unset or reads them, else the defaults. The repeat weight
    and the history decay (how a history is scored) are the model's in every mode unless given.

    Raises:
        ConfigError: a value given is not valid (an unknown mode or base, a bad weight).
        ModelError: the model's record is not valid.
    """
    from dataclasses import replace

    given = Scoring.checked(score, weight, base, repeat=repeat, decay=decay)
    if score is not None and not given.uses:
        recorded_repeat, recorded_decay = Scoring.recorded_history(meta)
        return replace(
            given,
            repeat=given.repeat if repeat is not None else recorded_repeat,
            decay=given.decay if decay is not None else recorded_decay,
        )
    return Scoring.checked(score, weight, base, repeat=repeat, decay=decay, default=Scoring.from_record(meta))


def make_scorer(
    parts: ScoringParts,
    score: str | Scoring | None = None,
    *,
    hybrid_weight: float | None = None,
    hybrid_base: str | None = None,
    searcher: Searcher | None = None,
) -> Scorer:
    """A scorer for ``score`` (a Scoring, or a mode's name with the hybrid values; unset values
    are the model's, else the defaults), over ``searcher``'s indexes when one is given.

    Raises:
        ConfigError: an unknown mode or base, or a bad weight.
        ModelError: the model lacks what the mode needs (output vectors, transitions, an index),
            or its model.json record is not valid.
    """
    if isinstance(score, Scoring):
        scoring = score
    else:
        scoring = resolve_scoring(parts.embeddings.meta, score, hybrid_weight, hybrid_base)
    mode = score_mode(scoring.mode)
    why = mode.missing(parts, scoring)
    if why:
        raise ModelError(why)
    if searcher is not None:
        searcher.index(mode.base(scoring))  # read now: a missing index fails before any work
    mode.prepare(parts, scoring)
    return Scorer(parts, scoring, searcher)


@dataclass(frozen=True)
class Scorer:
    """Scores candidates for batches of weighted queries in one way of scoring, exactly or
    (with a ``searcher``) from an index's shortlist re-scored exactly; with ``candidates``
    (``item2vec.query.filters``), only among the items that pass."""

    parts: ScoringParts
    scoring: Scoring = Scoring("similar")  # noqa: RUF009 - frozen, so one shared default is safe
    searcher: Searcher | None = None
    candidates: CandidateFilter | None = None

    @property
    def kind(self) -> ScoreMode:
        """The registered mode."""
        return score_mode(self.scoring.mode)

    @property
    def mode(self) -> str:
        return self.scoring.mode

    @property
    def weight(self) -> float:
        return self.scoring.weight

    @property
    def base(self) -> str:
        return self.scoring.base

    @property
    def embeddings(self) -> Embeddings:
        return self.parts.embeddings

    @property
    def uses_transitions(self) -> bool:
        return self.kind.uses_transitions

    @property
    def approx(self) -> bool:
        return self.searcher is not None

    def describe(self) -> str:
        """The way of scoring in words, e.g. ``hybrid (similar, weight 2)``."""
        return self.kind.describe(self.scoring)

    def index(self) -> AnnIndex | None:
        """The searcher's index over the vectors the mode's embedding score reads (None: exact)."""
        return self.searcher.index(self.kind.base(self.scoring)) if self.searcher is not None else None

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
        """Per query row: its items' transition rows, weighted and summed (modes that read them)."""
        if not self.uses_transitions:
            return None
        if weights.shape[0] == 1:  # one history: numpy, no sparse product to set up
            return one_transition_row(weights.tocsr(), self.parts.transition_csr(self.mode))
        product = (weights.tocsr().astype("float32") @ self.parts.transition_csr(self.mode)).tocsr()
        product.sum_duplicates()
        product.sort_indices()
        return product

    # --- scores -------------------------------------------------------------------------------

    def scores(self, queries: NDArray[np.float32], transitions: sp.csr_matrix | None) -> NDArray[np.float32]:
        """Scores of every item for each query (rows of ``queries``): dense, queries x catalogue."""
        return self.kind.scores(self.parts, self.scoring, unit_rows(queries), transitions)

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

        Exact unless there is a searcher; ``most_excluded`` (the most pairs of any query)
        widens an index's shortlist.
        """
        index = self.index()
        if self.candidates is not None and index is None:
            return self.candidates.best(self.scores(queries, transitions), k, exclude)
        if self.candidates is not None and index is not None:
            return self.candidates.over_fetch(
                lambda n: self.kind.shortlist(
                    self.parts, self.scoring, index, queries, transitions, n, exclude, most_excluded
                ),
                k,
            )
        if index is not None:
            return self.kind.shortlist(
                self.parts, self.scoring, index, queries, transitions, k, exclude, most_excluded
            )
        return self.kind.top(self.parts, self.scoring, unit_rows(queries), transitions, k, exclude)

    # --- answers ------------------------------------------------------------------------------

    def answer(
        self,
        labels: list[str],
        weights: sp.csr_matrix,
        exclude: list[set[int]],
        k: int,
        seen: sp.csr_matrix | None = None,
    ) -> list[Neighbour]:
        """``Neighbour`` rows for each weighted query (rows of ``weights``), ``exclude`` left out.

        ``seen`` (queries x catalogue: each history's recency weights, ``item2vec.query.repeats``)
        brings a history's own items back, raised by the scoring's repeat weight; without a repeat
        weight it is ignored (the caller leaves seen items out through ``exclude``).
        """
        import numpy as np

        queries = self.query_vectors(weights)
        repeats = seen is not None and self.scoring.repeat is not None
        own = None
        if self.candidates is None and not repeats:  # a mode's own path knows no filter or repeats
            own = self.kind.answer(self.parts, self.scoring, labels, queries, exclude, k, self.index())
        if own is not None:
            return own
        out: list[Neighbour] = []
        for start, stop in blocks(len(labels), block_rows(len(self.embeddings))):  # topk.SCORE_BUDGET
            block = exclude[start:stop]
            pairs = np.array([(q, r) for q, rows in enumerate(block) for r in rows], dtype=np.int64)
            pairs = pairs.reshape(-1, 2)
            part = weights if stop - start == len(labels) else weights[start:stop]
            rows, scores = self._block_top(queries[start:stop], part, (pairs[:, 0], pairs[:, 1]), k,
                                           None if seen is None or not repeats else seen[start:stop])  # fmt: skip
            out.extend(neighbours(self.embeddings, labels[start:stop], rows, scores))
        return out

    def _block_top(
        self,
        queries: NDArray[np.float32],
        weights: sp.csr_matrix,
        banned: Pairs,
        k: int,
        seen: sp.csr_matrix | None,
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """One block's best ``k``: ``banned`` left out; with ``seen``, the seen items scored again
        (``item2vec.query.repeats``) and merged with the best unseen ones."""
        import numpy as np

        from item2vec.query.repeats import seen_pairs

        transitions = self.transition_scores(weights)
        exclude = banned
        if seen is not None:
            owner, cols, _ = seen_pairs(seen)
            exclude = (np.concatenate([banned[0], owner]), np.concatenate([banned[1], cols]))
        counts = np.bincount(exclude[0], minlength=len(queries)) if len(exclude[0]) else np.zeros(1, np.int64)
        top = self.top(queries, transitions, k, exclude=exclude, most_excluded=int(counts.max()))
        if seen is None:
            return top
        return self.with_seen(queries, transitions, top, seen, k, banned)

    def with_seen(
        self,
        queries: NDArray[np.float32],
        transitions: sp.csr_matrix | None,
        top: tuple[NDArray[np.int64], NDArray[np.float32]],
        seen: sp.csr_matrix,
        k: int,
        banned: Pairs | None = None,
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The best ``k`` of the unseen items' ``top`` and the ``seen`` items (recency weights,
        ``item2vec.query.repeats``) raised by the repeat weight, among the candidates that pass,
        ``banned`` pairs left out; ``top`` as it is without a repeat weight."""
        from item2vec.query.repeats import merge, seen_scores

        if self.scoring.repeat is None:
            return top
        scored_by = (self.kind, self.parts, self.scoring)
        extra = seen_scores(scored_by, unit_rows(queries), transitions, seen, self.scoring.repeat)
        return merge(top, extra, k, allowed=self.candidates, banned=banned)

    def similar(self, items: list[str], k: int = 10, *, combine: bool = False) -> list[Neighbour]:
        """Best items for each item (or for all together with ``combine``), query items excluded."""
        own = None
        if self.candidates is None:  # a mode's own path knows no filter
            own = self.kind.similar(self.parts, self.scoring, items, k, combine, self.index())
        if own is not None:
            return own
        rows = [self.embeddings.position(i) for i in items]
        if combine:
            weights = query_weights(len(self.embeddings), [rows], [[1.0] * len(rows)])
            return self.answer([" + ".join(items)], weights, [set(rows)], k)
        weights = query_weights(len(self.embeddings), [[r] for r in rows], [[1.0]] * len(rows))
        return self.answer(items, weights, [{r} for r in rows], k)


def query_weights(n_items: int, rows: list[list[int]], weights: list[list[float]]) -> sp.csr_matrix:
    """A queries x catalogue sparse matrix: query ``i`` weighs item ``rows[i][j]`` by ``weights[i][j]``."""
    import numpy as np

    owner = np.repeat(np.arange(len(rows), dtype=np.int64), [len(r) for r in rows])
    cols = np.array([c for r in rows for c in r], dtype=np.int64)
    vals = np.array([w for ws in weights for w in ws], dtype=np.float64)
    return weight_matrix(owner, cols, vals, (len(rows), n_items))


def weight_matrix(
    owner: NDArray[np.int64], cols: NDArray[np.int64], vals: NDArray[np.float64], shape: tuple[int, int]
) -> sp.csr_matrix:
    """The queries x catalogue csr matrix of ``vals`` at (``owner``, ``cols``), columns sorted and
    repeats summed in the order given: built with numpy (scipy's conversion from pairs costs
    more than scoring one history), the same for one history as for a log's many."""
    import numpy as np
    import scipy.sparse as sp

    order = np.lexsort((cols, owner))  # stable: a repeated item's weights keep their order
    owner, cols, vals = owner[order], cols[order], vals[order]
    first = np.ones(len(cols), dtype=bool)
    first[1:] = (owner[1:] != owner[:-1]) | (cols[1:] != cols[:-1])
    starts = np.flatnonzero(first)
    data = np.add.reduceat(vals, starts) if len(vals) else vals
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner[starts], minlength=shape[0]), out=indptr[1:])
    return sp.csr_matrix((data, cols[starts], indptr), shape=shape)


def one_transition_row(weights: sp.csr_matrix, transitions: sp.csr_matrix) -> sp.csr_matrix:
    """``weights @ transitions`` for one row of weights (cast to float32), bit for bit as scipy
    computes it (each item's transition row scaled and added in the order stored, exact zeros
    dropped, columns sorted), in numpy."""
    import numpy as np
    import scipy.sparse as sp

    n = transitions.shape[1]
    dtype = np.result_type(np.float32, transitions.data.dtype)
    total = np.zeros(n, dtype=dtype)
    touched = [np.zeros(0, dtype=np.int64)]
    for item, weight in zip(weights.indices.tolist(), weights.data.astype(np.float32).astype(dtype)):
        lo, hi = transitions.indptr[item], transitions.indptr[item + 1]
        np.add.at(total, transitions.indices[lo:hi], weight * transitions.data[lo:hi])
        touched.append(transitions.indices[lo:hi])
    cols = np.sort(np.concatenate(touched)).astype(np.int64)
    cols = cols[(total[cols] != 0) & np.concatenate([[True], cols[1:] != cols[:-1]])]
    return sp.csr_matrix((total[cols], cols, np.array([0, len(cols)], dtype=np.int64)), shape=(1, n))
