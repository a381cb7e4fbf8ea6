"""Exact top-k over score matrices, a block of queries at a time within a memory budget, and
exact re-scoring of an index's shortlist.

One query or ten thousand, the same code answers: scores are one float32 matrix product per
block of queries (blocks sized by :func:`block_rows` to ``SCORE_BUDGET``), and each row's ``k``
best are picked without sorting or partitioning the whole row (:func:`top_k`), so a batch ranks
exactly as its queries one at a time (up to BLAS's last bit for a lone query, see
:func:`product`). Ties go to the lower item row, as in ``similar``, and padding is row -1 with
score -inf. Shared by ``similar``
(one id or many), the batch commands (``recommend --events``, ``similar --all``), the score
modes and the indexes. The last helpers build and read shortlists of several sources
(``hybrid --approx``: the index's and the transitions').
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from item2vec.model.embeddings import Embeddings, Neighbour, unit_rows

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp
    from numpy.typing import NDArray

Pairs = tuple["NDArray[np.int64]", "NDArray[np.int64]"]
Entries = tuple["NDArray[np.int64]", "NDArray[np.int64]", "NDArray[np.float32]"]  # row, column, value
SCORE_BUDGET = 64 << 20  # bytes of float32 scores held at once: one block of queries x catalogue
_CHUNK = 512  # most columns per chunk when bounding each row's k-th best score
_GROUPS = 256  # fewest chunks per row (and at least 4 k, so the bound is close to the k-th best)
_SHORTEST = 32  # chunks shorter than this do not pay: the row is partitioned directly
_NARROW = 4096  # nor do rows narrower than this
_ROUNDING = 1e-5  # standardised_top: cosines this close (relative) may round to one standard score


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


def blocks(total: int, step: int) -> list[tuple[int, int]]:
    """(start, stop) of blocks of ``step`` queries (at least 2), a last block of one query joined
    to the one before: BLAS rounds a lone row apart (see :func:`product`), so in a batch no
    query is multiplied alone, and every query of a batch scores the same whatever its block."""
    step = max(2, step)
    starts = list(range(0, total, step))
    if len(starts) > 1 and total - starts[-1] == 1:
        starts.pop()
    return [(start, starts[i + 1] if i + 1 < len(starts) else total) for i, start in enumerate(starts)]


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
    owner, cols, _ = _candidates(scores, k)
    values = scores[owner, cols].astype(np.float32, copy=False)
    items = cols if rows is None else rows[owner, cols].astype(np.int64)
    return best_of(owner, items, values, count, k)


def best_of(
    owner: NDArray[np.int64], items: NDArray[np.int64], values: NDArray[np.float32], count: int, k: int
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """For each of ``count`` rows, the ``k`` best of its entries (``owner``: the row of each)
    by value, ties by lower item; -inf entries and the padding are row -1, score -inf."""
    import numpy as np

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


def _candidates(
    scores: NDArray[np.float32],
    k: int,
    slack: Callable[[NDArray[np.float32]], NDArray[np.float32]] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]:
    """(row, column) of every entry at or above a lower bound of its row's ``k``-th best score
    (every entry that can be among its row's ``k`` best, ties included), and the bound per row.

    A wide row is cut into chunks: the ``k``-th largest chunk maximum is such a bound (``k``
    chunks each hold a score that high), close to the ``k``-th best when there are many more
    chunks than ``k``, so only the few chunks whose maximum reaches it are read again. A narrow
    row is partitioned instead. ``slack(bound)``, when given, lowers each bound by that much.
    """
    import numpy as np

    count, width = scores.shape
    chunk = min(_CHUNK, width // max(_GROUPS, 4 * k))
    if width < _NARROW or chunk < _SHORTEST:
        bound = np.partition(scores, width - k, axis=1)[:, width - k]
        bound = bound if slack is None else (bound - slack(bound)).astype(np.float32)
        return (*_nonzero(scores >= bound[:, None]), bound)
    groups = width // chunk
    body = scores[:, : groups * chunk].reshape(count, groups, chunk)
    maxima = body.max(axis=2)
    bound = np.partition(maxima, groups - k, axis=1)[:, groups - k]
    bound = bound if slack is None else (bound - slack(bound)).astype(np.float32)
    owner, group = _nonzero(maxima >= bound[:, None])
    hit, at = _nonzero(body[owner, group] >= bound[owner][:, None])
    owner, cols = owner[hit], group[hit] * chunk + at
    if groups * chunk < width:  # the last, partial chunk: compared directly
        tail_owner, tail_cols = _nonzero(scores[:, groups * chunk :] >= bound[:, None])
        owner = np.concatenate([owner, tail_owner])
        cols = np.concatenate([cols, tail_cols + groups * chunk])
    return owner, cols, bound


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
    buffer = np.empty((min(max(total, 1), max(2, step) + 1), n_items), dtype=np.float32)
    for start, stop in blocks(total, step):
        scores = product(queries[start:stop], vectors, buffer)
        np.multiply(scores, inverse_norms, out=scores)
        scores[pairs_in(exclude, start, stop)] = -np.inf
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

    BLAS multiplies a lone query with another kernel than a block (matrix-vector, many times
    faster for one row than a two-row product, which copies every vector first), so its scores
    may differ from the same query's inside a block in the last bit (batches therefore never
    multiply a row alone: :func:`blocks`); every block of two or more rows scores each row
    alike, and scores that are exact (ties between equal vectors included) are the same either way.
    """
    import numpy as np

    if buffer is None:
        buffer = np.empty((len(block), len(vectors)), dtype=np.float32)
    out = buffer[: len(block)]
    np.matmul(np.asarray(block, dtype=np.float32), np.asarray(vectors).T, out=out)
    return out


def standardised_top(
    unit: NDArray[np.float32],
    vectors: NDArray[np.float32],
    inverse_norms: NDArray[np.float32],
    k: int,
    *,
    mean: NDArray[np.float32],
    std: NDArray[np.float32],
    added: sp.csr_matrix | Entries | None = None,
    exclude: Pairs | None = None,
    buffer: NDArray[np.float32] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """The ``k`` best items per unit query by ``z = (c - mean) / std + added``, exactly as scoring
    every item would rank them, bit for bit, while scoring only a few.

    ``c`` is ``(unit @ vectors.T) * inverse_norms`` (cosines), ``mean`` and ``std`` (> 0) are per
    query, ``added`` holds each query's non-negative float32 additions (the hybrid's weighted
    transitions, a queries x catalogue sparse matrix, no duplicates, or its (row, column, value)
    entries sorted by row then column), ``exclude`` the (query,
    item row) pairs left out. Dense, that is ``((c - mean[:, None]) / std[:, None])`` in float32
    with ``added``'s entries added: since standardising is monotone and the additions are not
    negative, an item outside the additions can rank only if its cosine is within rounding of
    the ``k``-th best cosine, so z is computed for those items and the added ones alone. A row
    for which that cannot be shown (scores far outside cosines) is scored in full.
    """
    import numpy as np

    count, width = len(unit), len(vectors)
    k = max(0, min(k, width))
    cosines = product(unit, vectors, buffer)
    np.multiply(cosines, inverse_norms, out=cosines)
    if exclude is not None and len(exclude[0]):
        cosines[exclude] = -np.inf
    if k == 0 or count == 0:
        return top_k(cosines, k)
    if width < _NARROW:  # a small catalogue: standardising every item costs less than choosing
        np.subtract(cosines, mean[:, None], out=cosines)
        np.divide(cosines, std[:, None], out=cosines)
        owner, cols, values = _entries(added)
        cosines[owner, cols] += values
        return top_k(cosines, k)

    def standard(values: NDArray[np.float32], rows: NDArray[np.int64] | slice) -> NDArray[np.float32]:
        out: NDArray[np.float32] = ((values - mean[rows]) / std[rows]).astype(np.float32)
        return out

    def slack(bound: NDArray[np.float32]) -> NDArray[np.float32]:
        gap: NDArray[np.float32] = (_ROUNDING * (1 + np.abs(bound - mean))).astype(np.float32)
        return gap

    owner, cols, bound = _candidates(cosines, k, slack)
    kth = standard(best_of(owner, cols, cosines[owner, cols], count, k)[1][:, k - 1], slice(None))
    floor = standard(bound, slice(None))  # the most any other item scores before its addition
    extra_owner, extra_cols, extra = _entries(added)
    added_keys = extra_owner * width + extra_cols  # sorted
    keys = np.sort(np.concatenate([owner * width + cols, added_keys]))
    keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])] if len(keys) else keys
    owner, cols = keys // width, keys % width
    values = standard(cosines[owner, cols], owner)
    if len(extra):  # each addition's slot among the candidates
        values[np.searchsorted(keys, added_keys)] += extra
    # Every item scores at least its standard score, so the k-th best is at least kth: only the
    # entries that reach it are ranked (ties and NaN kept, as ranking them all would).
    keep = ~(values < kth[owner])
    best, picked = best_of(owner[keep], cols[keep], values[keep], count, k)
    for row in np.flatnonzero(np.isfinite(floor) & ~(floor < kth)).tolist():  # not shown: in full
        dense = standard(cosines[row : row + 1], slice(row, row + 1))
        lo, hi = np.searchsorted(extra_owner, [row, row + 1])
        dense[0, extra_cols[lo:hi]] += extra[lo:hi]
        one_best, one_picked = top_k(dense, k)
        best[row], picked[row] = one_best[0], one_picked[0]
    return best, picked


def _entries(matrix: sp.csr_matrix | Entries | None) -> Entries:
    """(row, column, value) of a sparse matrix's entries, sorted by row then column (entries
    given as such are taken as they are)."""
    import numpy as np

    if isinstance(matrix, tuple):
        return matrix
    if matrix is None or not matrix.nnz:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    csr: sp.csr_matrix = matrix.tocsr()
    csr.sort_indices()
    owner = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
    return owner, csr.indices.astype(np.int64), np.asarray(csr.data, dtype=np.float32)


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


def pair_lookup(
    matrix: sp.csr_matrix | None, pairs: tuple[NDArray[np.int64], NDArray[np.int64]]
) -> NDArray[np.float32]:
    """``matrix[q, c]`` at each (q, c) of ``pairs`` (0 where it has no entry or is None)."""
    import numpy as np

    owner, cols = pairs
    out = np.zeros(len(owner), dtype=np.float32)
    if matrix is None or not matrix.nnz or not len(owner):
        return out
    csr = matrix.tocsr()
    if not csr.has_sorted_indices:
        csr = csr.sorted_indices()
    n = csr.shape[1]
    rows = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
    keys = rows * n + csr.indices
    wanted = owner * n + cols
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    found = keys[at] == wanted
    out[found] = csr.data[at[found]]
    return out
