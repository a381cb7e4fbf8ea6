"""Session-kNN baselines tuned on validation data, as ``tune`` tunes the model.

Each method (SKNN, V-SKNN, STAN) is fitted once on the training sequences and scored on the
validation cases over its grid (:func:`~item2vec.evaluation.knn_params.knn_grid`); the point
with the highest metric is the method's choice. On the ``history`` protocol every point is
ranked twice, with the history's own items kept (as session-rec ranks them) and left out, and
the better counts; on the ``last`` protocol the query item is left out, as evaluate does. The
query is the whole history before the target (evaluate's baselines read it so too), and a
case's own training sequence is never its neighbour (:func:`~item2vec.evaluation.knn.own_sessions`).
Equal values keep the earlier grid point (and seen items kept before left out).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from item2vec.evaluation.evaluate import RANK_METRICS, parse_metric
from item2vec.evaluation.knn import SessionKnn, own_sessions
from item2vec.evaluation.knn_params import BASELINES_KEY, KNN_LABELS, KNN_METHODS, KnnParams, knn_grid
from item2vec.evaluation.ranking import MISS, Cases, Query, Ranked, query_matrix

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp
    from numpy.typing import NDArray

__all__ = ["BASELINES_KEY", "KnnChoice", "baselines_record", "tune_knn"]


@dataclass(frozen=True)
class KnnChoice:
    """A method's best grid point on validation data, what it scored, and what the grid cost."""

    params: KnnParams
    seen: str  # "kept" or "excluded": the history's own items in its recommendations
    value: float  # the metric, rounded as evaluate's rows are
    points: int  # rankings tried (grid points x seen choices)
    seconds: float  # the whole grid of this method

    @property
    def method(self) -> str:
        return KNN_LABELS[self.params.method]


def popularity_index(sequences: list[list[str]]) -> dict[str, int]:
    """Item -> column, most frequent first (ties by id): evaluate's catalogue order for baselines."""
    counts = Counter(item for seq in sequences for item in seq)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return {item: column for column, (item, _) in enumerate(ordered)}


def tune_knn(
    train: list[list[str]],
    valid: list[list[str]],
    *,
    query: Query,
    metric: str,
    methods: tuple[str, ...] = KNN_METHODS,
) -> list[KnnChoice]:
    """Each method's best point of its grid by ``metric`` on the cases of ``valid`` (last item =
    target), the methods fitted on ``train``. No case (no sequence of 2+ items): no choice.

    Raises:
        ConfigError: an unknown metric, protocol or method.
    """
    import numpy as np

    name, k = parse_metric(metric, allowed=RANK_METRICS)
    key = f"{name}@{k}"
    cases = Cases.from_sequences(valid, query=query, history=None)
    if not len(cases):
        return []
    index = popularity_index(train)
    knn = SessionKnn.fit(train, index)
    own = own_sessions(train, cases.histories)
    seen_items = (query_matrix(index, cases.queries) != 0).astype(np.int8).tocsr()
    targets = np.array([index.get(t, -1) for t in cases.targets], dtype=np.int64)
    seens = (("kept", False), ("excluded", True)) if query == "history" else (("excluded", True),)
    chosen = []
    for method in methods:
        started = time.perf_counter()
        grid = knn_grid(method, mean_length=knn.mean_length)
        best: tuple[float, KnnParams, str] | None = None
        for params in grid:
            scores = knn.scores(cases.queries, params, own=own)
            for seen, exclude in seens:
                ranks = target_ranks(scores, seen_items, targets, exclude_seen=exclude)
                value = float(_ranked(method, ranks, targets, len(index)).metrics((k,))[key])
                if best is None or value > best[0]:
                    best = (value, params, seen)
        assert best is not None  # every grid has points
        seconds = time.perf_counter() - started
        chosen.append(KnnChoice(best[1], best[2], best[0], len(grid) * len(seens), seconds))
    return chosen


def target_ranks(
    scores: sp.csr_matrix, seen: sp.csr_matrix, targets: NDArray[np.int64], *, exclude_seen: bool
) -> NDArray[np.int64]:
    """Each case's target rank (0-based; MISS for a target outside the catalogue or, with
    ``exclude_seen``, among the ``seen`` items) exactly as ``rank_scores`` counts it, without its
    top lists: a scored target comes after every higher score and every equal score at an earlier
    column; an unscored one after every scored item, then by column among the items left."""
    import numpy as np
    import scipy.sparse as sp

    cases = len(targets)
    excluded = seen if exclude_seen else sp.csr_matrix(seen.shape, dtype=np.int8)
    scores = sp.csr_matrix(scores)
    if exclude_seen:
        scores = (scores - scores.multiply(excluded)).tocsr()
    scores.eliminate_zeros()
    safe = np.maximum(targets, 0)
    row = np.repeat(np.arange(cases), np.diff(scores.indptr))
    col, val = scores.indices, scores.data
    own = np.asarray(scores[np.arange(cases), safe]).ravel() if cases else np.zeros(0)
    before = (val > own[row]) | ((val == own[row]) & (col < safe[row]))
    ranks = np.bincount(row, weights=before, minlength=cases).astype(np.int64)
    below = np.bincount(row, weights=col < safe[row], minlength=cases).astype(np.int64)
    ex_row = np.repeat(np.arange(cases), np.diff(excluded.indptr))
    ex_below = np.bincount(ex_row, weights=excluded.indices < safe[ex_row], minlength=cases).astype(np.int64)
    unscored = own == 0
    ranks[unscored] = (np.diff(scores.indptr) + safe - below - ex_below)[unscored]
    is_excluded = np.asarray(excluded[np.arange(cases), safe]).ravel() != 0 if cases else unscored
    ranks[(targets < 0) | is_excluded] = MISS
    return ranks


def _ranked(method: str, ranks: NDArray[np.int64], targets: NDArray[np.int64], catalogue: int) -> Ranked:
    """A Ranked without top lists: its metrics are right but for coverage."""
    import numpy as np

    return Ranked(KNN_LABELS[method], ranks, np.zeros((len(ranks), 0), dtype=np.int64), catalogue,
                  int((targets < 0).sum()))  # fmt: skip


def baselines_record(
    choices: list[KnnChoice], *, metric: str, query: Query, cases: int, model: float
) -> dict[str, Any]:
    """model.json's "baselines" record: each method's parameters (what
    :func:`~item2vec.evaluation.knn_params.knn_params_from_meta` reads), where they were chosen,
    and what each scored there beside the tuned model's best trial (``model``)."""
    return {
        "knn": {c.params.method: c.params.record() for c in choices},
        "chosen_on": "validation",
        "protocol": query,
        "metric": metric,
        "validation_cases": cases,
        "scores": {c.params.method: {"seen": c.seen, metric: c.value} for c in choices},
        "tuned_model": round(model, 4),
    }
