"""Exact top-k over score matrices, a block of queries at a time within a memory budget, and
exact re-scoring of an index's shortlist.

One query or ten thousand, the answer is the same: scores are one float32 matrix product per
block of queries (blocks sized by :func:`block_rows` to ``SCORE_BUDGET``), and each row's ``k``
best are picked without sorting or partitioning the whole row (:func:`top_k`). Ties go to the
lower item row, as in ``similar``, and padding is row -1 with score -inf. Shared by ``similar``
(one id or many), the batch commands (``recommend --events``, ``similar --all``), the score
modes and the indexes. The last helpers build and read shortlists of several sources
(``hybrid --approx``: the index's and the transitions').
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from item2vec.model.embeddings import Embeddings, Neighbour, unit_rows

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp
    from numpy.typing import NDArray

Pairs = tuple["NDArray[np.int64]", "NDArray[np.int64]"]
SCORE_BUDGET = 64 << 20  # bytes of float32 scores held at once: one block of queries x catalogue
_CHUNK = 512  # most columns per chunk when bounding each row's k-th best score
_GROUPS = 256  # fewest chunks per row (and at least 4 k, so the bound is close to the k-th best)
_SHORTEST = 32  # chunks shorter than this do not pay: the row is partitioned directly
_NARROW = 4096  # nor do rows narrower than this


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


def block_rows(width: int, budget: int = SCORE_BUDGET, *, per_cell: int = 4) -> int:
    """Queries per block so that ``queries x width`` cells of ``per_cell`` bytes stay within
    ``budget`` (at least 1, however wide the catalogue)."""
    return max(1, budget // max(1, width * per_cell))


def top_k(
    scores: NDArray[np.float32], k: int, *, rows: NDArray[np.int64] | None = None
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Per row, the ``k`` best columns by score (ties by lower item row), as item rows and scores.

    ``rows`` maps columns to item rows (a shortlist); without it, column j is item row j.
    Entries scored -inf, and the padding of a row with fewer than ``k`` columns, come back as
    row -1 and score -inf; NaN is never picked. Only the entries at or above a bound of each
    row's k-th best score (:func:`_candidates`) are sorted, all rows together.
    """
    import numpy as np

    count, width = scores.shape
    k = max(0, min(k, width))
    if k == 0 or count == 0:
        return np.full((count, k), -1, dtype=np.int64), np.full((count, k), -np.inf, dtype=np.float32)
    owner, cols = _candidates(scores, k)
    values = scores[owner, cols].astype(np.float32, copy=False)
    items = cols if rows is None else rows[owner, cols].astype(np.int64)
    order = np.lexsort((items, -values, owner))
    owner, items, values = owner[order], items[order], values[order]
    rank = np.arange(len(owner)) - np.searchsorted(owner, np.arange(count))[owner]
    keep = rank < k
    best = np.full((count, k), -1, dtype=np.int64)
    picked = np.full((count, k), -np.inf, dtype=np.float32)
    best[owner[keep], rank[keep]] = items[keep]
    picked[owner[keep], rank[keep]] = values[keep]
    best[~np.isfinite(picked)] = -1
    picked[best < 0] = -np.inf
    return best, picked


def _candidates(scores: NDArray[np.float32], k: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(row, column) of every entry at or above a lower bound of its row's ``k``-th best score:
    every entry that can be among its row's ``k`` best (ties included) is there.

    A wide row is cut into chunks: the ``k``-th largest chunk maximum is such a bound (``k``
    chunks each hold a score that high), close to the ``k``-th best when there are many more
    chunks than ``k``, so only the few chunks whose maximum reaches it are read again. A narrow
    row is partitioned instead.
    """
    import numpy as np

    count, width = scores.shape
    chunk = min(_CHUNK, width // max(_GROUPS, 4 * k))
    if width < _NARROW or chunk < _SHORTEST:
        bound = np.partition(scores, width - k, axis=1)[:, width - k]
        return _nonzero(scores >= bound[:, None])
    groups = width // chunk
    body = scores[:, : groups * chunk].reshape(count, groups, chunk)
    maxima = body.max(axis=2)
    bound = np.partition(maxima, groups - k, axis=1)[:, groups - k]
    owner, group = _nonzero(maxima >= bound[:, None])
    hit, at = _nonzero(body[owner, group] >= bound[owner][:, None])
    owner, cols = owner[hit], group[hit] * chunk + at
    if groups * chunk < width:  # the last, partial chunk: compared directly
        tail_owner, tail_cols = _nonzero(scores[:, groups * chunk :] >= bound[:, None])
        owner = np.concatenate([owner, tail_owner])
        cols = np.concatenate([cols, tail_cols + groups * chunk])
    return owner, cols


def _nonzero(mask: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    import numpy as np

    first, second = np.nonzero(mask)
    return first.astype(np.int64, copy=False), second.astype(np.int64, copy=False)


def cosine_top(
    queries: NDArray[np.float32],
    vectors: NDArray[np.float32],
    inverse_norms: NDArray[np.float32],
    k: int,
    *,
    exclude: Pairs | None = None,
    budget: int = SCORE_BUDGET,
) -> Iterator[tuple[int, NDArray[np.int64], NDArray[np.float32]]]:
    """(first query, top rows, scores) per block: the ``k`` items of best cosine to each query.

    ``queries`` are unit rows; scores are ``q · v / |v|`` read from ``vectors`` in place
    (``inverse_norms``: 1 / |v|), as ``similar`` scores one query. ``exclude`` holds (query,
    item row) pairs to leave out, sorted by query. A block holds at most ``budget`` bytes of
    scores, in one buffer reused from block to block.
    """
    import numpy as np

    total, n_items = len(queries), len(vectors)
    step = min(max(total, 1), block_rows(n_items, budget))
    buffer = np.empty((max(step, 2), n_items), dtype=np.float32)
    for start in range(0, total, step):
        block = queries[start : start + step]
        scores = product(block, vectors, buffer)
        np.multiply(scores, inverse_norms, out=scores)
        scores[pairs_in(exclude, start, start + len(block))] = -np.inf
        rows, best = top_k(scores, k)
        yield start, rows, best


def cosine_answer(
    embeddings: Embeddings, labels: list[str], queries: NDArray[np.float32], exclude: list[set[int]], k: int
) -> list[Neighbour]:
    """``Neighbour`` rows of each query vector (rows of ``queries``) by exact cosine, the item
    rows in ``exclude[i]`` left out of query i's answer: :func:`cosine_top`, block by block."""
    import numpy as np

    owner = np.repeat(np.arange(len(exclude), dtype=np.int64), [len(rows) for rows in exclude])
    items = np.array([row for rows in exclude for row in sorted(rows)], dtype=np.int64)
    out: list[Neighbour] = []
    vectors, inverse = embeddings.vectors, embeddings.inverse_norms
    for start, rows, scores in cosine_top(unit_rows(queries), vectors, inverse, k, exclude=(owner, items)):
        out.extend(neighbours(embeddings, labels[start : start + len(rows)], rows, scores))
    return out


def product(
    block: NDArray[np.float32], vectors: NDArray[np.float32], buffer: NDArray[np.float32] | None = None
) -> NDArray[np.float32]:
    """``block @ vectors.T`` (float32), into the first rows of ``buffer`` when one is given.

    A lone query is multiplied as two rows (the second zero): BLAS takes another kernel for a
    single row, whose rounding differs in the last bit, and one query must score exactly as it
    does inside a batch (ties and all).
    """
    import numpy as np

    count, dim = block.shape
    lone = count == 1
    if lone:
        block = np.vstack([block, np.zeros((1, dim), dtype=block.dtype)])
    if buffer is None:
        buffer = np.empty((len(block), len(vectors)), dtype=np.float32)
    out = buffer[: len(block)]
    np.matmul(np.asarray(block, dtype=np.float32), np.asarray(vectors).T, out=out)
    return out[:1] if lone else out


def pairs_in(exclude: Pairs | None, start: int, stop: int) -> Pairs:
    """The (query, item row) pairs of queries ``start:stop`` (``exclude`` sorted by query), the
    queries counted from ``start``."""
    import numpy as np

    if exclude is None or not len(exclude[0]):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lo, hi = np.searchsorted(exclude[0], [start, stop])
    return exclude[0][lo:hi] - start, exclude[1][lo:hi]


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
