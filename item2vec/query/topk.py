"""Top-k selection over score matrices, and exact re-scoring of an index's shortlist.

Shared by exact batch work (``recommend``, ``similar --all``) and by the indexes: ties go to the
lower item row, as in ``Embeddings.similar``, and padding is row -1 with score -inf. The last
helpers build and read shortlists of several sources (``hybrid --approx``: the index's and the
transitions').
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from item2vec.model.embeddings import Embeddings, Neighbour, unit_rows

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp
    from numpy.typing import NDArray


def rescore(
    vectors: NDArray[np.float32],
    unit_queries: NDArray[np.float32],
    candidates: NDArray[np.int64],
    k: int,
    *,
    exclude: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Exact cosines of each query's candidates; the best ``k`` (rows -1 and scores -inf pad)."""
    import numpy as np

    safe = np.where(candidates < 0, 0, candidates)
    flat = unit_rows(np.asarray(vectors[safe.ravel()]))
    scores = np.einsum("bnd,bd->bn", flat.reshape(*safe.shape, -1), unit_queries).astype(np.float32)
    scores[candidates < 0] = -np.inf
    if exclude is not None and len(exclude[0]):
        n_items = int(vectors.shape[0])
        banned = exclude[0] * n_items + exclude[1]
        keys = np.arange(len(candidates), dtype=np.int64)[:, None] * n_items + safe
        scores[np.isin(keys, banned)] = -np.inf
    return top_k(scores, k, rows=candidates)


def top_k(
    scores: NDArray[np.float32], k: int, *, rows: NDArray[np.int64] | None = None
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Per row, the ``k`` best columns by score (ties by lower item row), as item rows and scores.

    ``rows`` maps columns to item rows (a shortlist); without it, column j is item row j.
    Entries scored -inf come back as row -1. A value partition finds each row's k-th best
    score; everything at or above it (ties included) is sorted once, for all rows together.
    """
    import numpy as np

    count, width = scores.shape
    k = min(k, width)
    kth = np.partition(scores, width - k, axis=1)[:, width - k]
    owner, cols = np.nonzero(scores >= kth[:, None])  # row by row, columns ascending
    values = scores[owner, cols]
    items = cols.astype(np.int64) if rows is None else rows[owner, cols]
    if len(owner) == count * k:  # no ties at the k-th score: sort each row's k on its own
        items, values = items.reshape(count, k), values.reshape(count, k)
        order2d = (
            np.argsort(-values, axis=1, kind="stable")  # columns ascending: ties keep the lower row
            if rows is None
            else np.lexsort((items, -values), axis=1)
        )
        best = np.take_along_axis(items, order2d, axis=1)
        picked = np.take_along_axis(values, order2d, axis=1).astype(np.float32)
        best[~np.isfinite(picked)] = -1
        return best, picked
    order = np.lexsort((items, -values, owner))
    owner, items, values = owner[order], items[order], values[order]
    rank = np.arange(len(owner)) - np.searchsorted(owner, np.arange(count))[owner]
    keep = rank < k
    best = items[keep].reshape(count, k)
    picked = values[keep].reshape(count, k).astype(np.float32)
    best[~np.isfinite(picked)] = -1
    return best, picked


def neighbours(
    embeddings: Embeddings, labels: list[str], rows: NDArray[np.int64], scores: NDArray[np.float32]
) -> list[Neighbour]:
    """Answer rows of ``Neighbour`` from top-k item rows and scores (-1 rows skipped)."""
    out: list[Neighbour] = []
    for label, row_items, row_scores in zip(labels, rows.tolist(), scores.tolist()):
        picked = [(r, s) for r, s in zip(row_items, row_scores) if r >= 0]
        out.extend(
            Neighbour(label, rank, embeddings.ids[r], float(s), embeddings.names.get(embeddings.ids[r]))
            for rank, (r, s) in enumerate(picked, start=1)
        )
    return out


def padded_columns(transitions: sp.csr_matrix | None, count: int) -> NDArray[np.int64]:
    """Each row's nonzero columns, left-aligned and padded with -1."""
    import numpy as np

    if transitions is None or not transitions.nnz:
        return np.full((count, 0), -1, dtype=np.int64)
    lengths = np.diff(transitions.indptr)
    out = np.full((count, int(lengths.max())), -1, dtype=np.int64)
    owner = np.repeat(np.arange(count), lengths)
    slot = np.arange(transitions.nnz) - transitions.indptr[owner]
    out[owner, slot] = transitions.indices
    return out


def distinct(candidates: NDArray[np.int64]) -> NDArray[np.int64]:
    """Each row's candidates once (repeats become -1)."""
    import numpy as np

    ordered = np.sort(candidates, axis=1)
    repeat = np.zeros(ordered.shape, dtype=bool)
    repeat[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    ordered[repeat] = -1
    return ordered


def sparse_lookup(transitions: sp.csr_matrix | None, rows: NDArray[np.int64]) -> NDArray[np.float32]:
    """``transitions[q, rows[q, j]]`` for every query q and slot j (0 where none or row -1)."""
    import numpy as np

    out = np.zeros(rows.shape, dtype=np.float32)
    if transitions is None or not transitions.nnz:
        return out
    n = transitions.shape[1]
    owner = np.repeat(np.arange(transitions.shape[0], dtype=np.int64), np.diff(transitions.indptr))
    keys = owner * n + transitions.indices
    wanted = np.arange(len(rows), dtype=np.int64)[:, None] * n + np.where(rows < 0, 0, rows)
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    found = (keys[at] == wanted) & (rows >= 0)
    out[found] = transitions.data[at[found]]
    return out
