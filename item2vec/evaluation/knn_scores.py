"""The vectorised engine of the session-kNN baselines: sparse session x item matrices in, scores out.

For a block of cases: candidates = the training sessions that share an item with the query
(one sparse product), the case's own session removed, the ``sample_size`` most recent kept
(largest sequence number: a row's last entries, since rows are sorted); similarity per pair;
the ``k`` best pairs per case (equal similarities: lower sequence number first, see
``item2vec.evaluation.knn``); then each neighbour's items are laid out one entry per
(neighbour, item), weighted, and summed per (case, item). The last item a neighbour shares
with the query (V-SKNN's ``weighting_score``, STAN's ``lambda_inh``) is a segment maximum over
those entries. Blocks hold about ``_CELLS`` candidate pairs and neighbour entries, so working
memory is a few arrays of that length (some 100 MB) whatever the number of cases.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from item2vec.evaluation.knn_params import SPAN, KnnParams

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp
    from numpy.typing import NDArray

_CELLS = 1 << 21  # candidate pairs plus neighbour entries per block


@dataclass(frozen=True)
class Table:
    """Training sessions as sparse matrices over the catalogue (items outside it dropped)."""

    last: sp.csr_matrix  # sessions x catalogue: 1-based position of each item's last occurrence
    by_item: sp.csr_matrix  # catalogue x sessions: 1.0 where the item occurs
    distinct: NDArray[np.float64]  # distinct items per session
    age: NDArray[np.float64]  # days before the query on STAN's clock: (N - number) * SPAN / N
    idf: NDArray[np.float64]  # log(sessions / occurrences), 0 for items never seen
    mean_length: float  # items per non-empty session, repeats counted

    @classmethod
    def build(cls, sequences: list[list[str]], index: dict[str, int]) -> Table:
        """The matrices of ``sequences`` (sequence number = position in the list)."""
        import numpy as np

        last, lengths = positions(index, sequences)
        n, sessions = len(index), len(sequences)
        by_item = last.T.tocsr()
        by_item.data[:] = 1.0
        occurrences = np.bincount(_flat_columns(index, sequences), minlength=n).astype(np.float64)
        used = int((lengths > 0).sum())
        idf = np.zeros(n)
        seen = occurrences > 0
        idf[seen] = np.log(used / occurrences[seen])
        age = (sessions - np.arange(sessions, dtype=np.float64)) * SPAN / max(1, sessions)
        mean = float(lengths[lengths > 0].mean()) if used else 0.0
        return cls(last, by_item, np.diff(last.indptr).astype(np.float64), age, idf, mean)


def _flat_columns(index: dict[str, int], sequences: list[list[str]]) -> NDArray[np.int64]:
    import numpy as np

    return np.array([index[i] for seq in sequences for i in seq if i in index], dtype=np.int64)


def positions(index: dict[str, int], sequences: list[list[str]]) -> tuple[sp.csr_matrix, NDArray[np.float64]]:
    """Rows x catalogue: each known item's last 1-based position among the row's known items
    (sorted columns, float64), and each row's number of known items (repeats counted)."""
    import numpy as np
    import scipy.sparse as sp

    rows: list[int] = []
    cols: list[int] = []
    where: list[int] = []
    lengths = np.zeros(len(sequences))
    for row, items in enumerate(sequences):
        known = [index[i] for i in items if i in index]
        rows.extend([row] * len(known))
        cols.extend(known)
        where.extend(range(1, len(known) + 1))
        lengths[row] = len(known)
    r, c, p = (np.array(a, dtype=np.int64) for a in (rows, cols, where))
    order = np.lexsort((p, c, r))
    r, c, p = r[order], c[order], p[order]
    key = r * max(1, len(index)) + c
    keep = np.r_[key[1:] != key[:-1], True] if len(key) else np.zeros(0, dtype=bool)
    indptr = np.r_[0, np.cumsum(np.bincount(r[keep], minlength=len(sequences)))]
    shape = (len(sequences), len(index))
    return sp.csr_matrix((p[keep].astype(np.float64), c[keep], indptr), shape=shape), lengths


def knn_scores(
    table: Table, queries: list[list[str]], index: dict[str, int], params: KnnParams, own: NDArray[np.int64]
) -> sp.csr_matrix:
    """Cases x catalogue float64 scores of ``params``' method, > 0 exactly where scored."""
    import numpy as np
    import scipy.sparse as sp

    query, lengths = positions(index, queries)
    pieces: list[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]] = []
    for start, stop in _blocks(table, query, params):
        block = _Block(query[start:stop], lengths[start:stop], own[start:stop])
        row, session, sim = _neighbours(table, block, params)
        row, item, score = _item_scores(table, block, params, row, session, sim)
        pieces.append((row + start, item, score))
    rows = np.concatenate([p[0] for p in pieces] + [np.zeros(0, dtype=np.int64)])
    cols = np.concatenate([p[1] for p in pieces] + [np.zeros(0, dtype=np.int64)])
    vals = np.concatenate([p[2] for p in pieces] + [np.zeros(0)])
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=len(queries)))]
    return sp.csr_matrix((vals, cols, indptr), shape=(len(queries), len(index)))


def _blocks(table: Table, query: sp.csr_matrix, params: KnnParams) -> list[tuple[int, int]]:
    """Consecutive case ranges of about ``_CELLS`` candidate pairs and neighbour entries each."""
    import numpy as np

    cases = query.shape[0]
    if cases == 0:
        return []
    df = np.diff(table.by_item.indptr)
    pairs = np.bincount(_row_of(query), weights=df[query.indices], minlength=cases)
    kept = params.k if params.sample_size == 0 else min(params.k, params.sample_size)
    cost = pairs + kept * max(1.0, table.mean_length)
    block = ((np.cumsum(cost) - cost) // _CELLS).astype(np.int64)
    cuts = np.flatnonzero(np.diff(block)) + 1
    edges = [0, *cuts.tolist(), cases]
    return list(itertools.pairwise(edges))


@dataclass(frozen=True)
class _Block:
    query: sp.csr_matrix  # cases x catalogue: last 1-based position of each query item
    length: NDArray[np.float64]  # query items, repeats counted
    own: NDArray[np.int64]  # the case's own session, -1 for none


def _row_of(matrix: sp.csr_matrix) -> NDArray[np.int64]:
    import numpy as np

    return np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))


def _neighbours(
    table: Table, block: _Block, params: KnnParams
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """(case, session, similarity) of each case's k nearest sampled sessions, best first."""
    import numpy as np

    ones = block.query.copy()
    ones.data[:] = 1.0
    overlap = (ones @ table.by_item).tocsr()
    overlap.sort_indices()
    row, session, shared = _row_of(overlap), overlap.indices.astype(np.int64), overlap.data
    keep = session != block.own[row]
    row, session, shared = row[keep], session[keep], shared[keep]
    if params.sample_size:  # rows sorted, sessions ascending: a row's last entries are the most recent
        past_row = np.searchsorted(row, row, side="right")
        keep = past_row - np.arange(len(row)) <= params.sample_size
        row, session, shared = row[keep], session[keep], shared[keep]
    sim = _similarity(table, block, params, row, session, shared)
    keep = sim > 0
    row, session, sim = row[keep], session[keep], sim[keep]
    order = np.lexsort((session, -sim, row))
    row, session, sim = row[order], session[order], sim[order]
    rank = np.arange(len(row)) - np.searchsorted(row, row, side="left")
    keep = rank < params.k
    return row[keep], session[keep], sim[keep]


def _similarity(
    table: Table,
    block: _Block,
    params: KnnParams,
    row: NDArray[np.int64],
    session: NDArray[np.int64],
    shared: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Each candidate pair's similarity, session-rec's formula for the method."""
    import numpy as np

    distinct = np.diff(block.query.indptr).astype(np.float64)[row]
    theirs = table.distinct[session]
    if params.method == "sknn":
        if params.similarity == "jaccard":
            return np.asarray(shared / (distinct + theirs - shared), dtype=np.float64)
        return np.asarray(shared / (np.sqrt(distinct) * np.sqrt(theirs)), dtype=np.float64)
    weights = _query_weights(block, params)
    weighted = block.query.copy()
    weighted.data = weights
    overlap = _lookup(weighted @ table.by_item, row, session)  # sum of the shared items' weights
    if params.method == "vsknn":
        return np.asarray(overlap / distinct, dtype=np.float64)
    squares = np.bincount(_row_of(weighted), weights=weights * weights, minlength=weighted.shape[0])
    cosine = overlap / (np.sqrt(squares[row]) * np.sqrt(theirs))
    return np.asarray(cosine * np.exp(-table.age[session] / params.lambda_snh), dtype=np.float64)


def _query_weights(block: _Block, params: KnnParams) -> NDArray[np.float64]:
    """Each query entry's weight by its (last) position: V-SKNN's ``weighting``, STAN's spw."""
    import numpy as np

    where = block.query.data
    length = block.length[_row_of(block.query)]
    if params.method == "stan":
        return np.asarray(np.exp((where - length) / params.lambda_spw), dtype=np.float64)
    return position_weight(params.weighting, where, length)


def position_weight(name: str, i: NDArray[np.float64], length: NDArray[np.float64]) -> NDArray[np.float64]:
    """session-rec's V-SKNN ``weighting`` of the item at 1-based position ``i`` of ``length``."""
    import numpy as np

    if name == "div":
        return i / length
    if name == "quadratic":
        return (i / length) ** 2
    if name == "log":
        return np.asarray(1 / np.log10((length - i) + 1.7), dtype=np.float64)
    if name == "linear":  # as session-rec has it: positions past the 10th weigh 0
        return np.where(i <= 10, 1 - (0.1 * (length - i)), 0.0)
    return np.ones_like(i)


def step_weight(name: str, step: NDArray[np.float64]) -> NDArray[np.float64]:
    """session-rec's V-SKNN ``weighting_score`` of a neighbour whose last shared item is
    ``step`` positions from the end of the query (1 = the last item)."""
    import numpy as np

    if name == "div":
        return 1 / step
    if name == "quadratic":
        return 1 / (step * step)
    if name == "log":
        return np.asarray(1 / np.log10(step + 1.7), dtype=np.float64)
    if name == "linear":
        return np.where(step <= 100, 1 - (0.1 * step), 0.0)
    return np.ones_like(step)


def _lookup(matrix: sp.csr_matrix, row: NDArray[np.int64], col: NDArray[np.int64]) -> NDArray[np.float64]:
    """``matrix[row, col]`` for each (row, col) pair, 0 where it holds nothing."""
    import numpy as np

    matrix = matrix.tocsr()
    matrix.sort_indices()
    width = matrix.shape[1]
    keys = _row_of(matrix) * width + matrix.indices
    wanted = row * width + col
    at = np.minimum(np.searchsorted(keys, wanted), max(0, len(keys) - 1))
    found = (keys[at] == wanted) if len(keys) else np.zeros(len(wanted), dtype=bool)
    return np.where(found, matrix.data[at] if len(keys) else 0.0, 0.0)


def _item_scores(
    table: Table,
    block: _Block,
    params: KnnParams,
    row: NDArray[np.int64],
    session: NDArray[np.int64],
    sim: NDArray[np.float64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Sum each neighbour's weighted items per (case, item); keep the sums above 0."""
    import numpy as np

    start = table.last.indptr[session]
    size = table.last.indptr[session + 1] - start
    first = np.r_[0, np.cumsum(size)[:-1]].astype(np.int64)
    pair = np.repeat(np.arange(len(session)), size)
    at = np.arange(int(size.sum())) - first[pair] + start[pair]
    item, where = table.last.indices[at].astype(np.int64), table.last.data[at]
    value = sim[pair]
    if params.method != "sknn" and len(pair):
        mine = _lookup(block.query, row[pair], item)  # the item's last position in the query, 0 if not in it
        if params.method == "vsknn":
            latest = np.maximum.reduceat(mine, first)  # the query's latest item the neighbour shares
            decay = step_weight(params.weighting_score, block.length[row] - latest + 1)
            if params.idf_weighting:
                value = value + value * table.idf[item] * params.idf_weighting
            value = value * decay[pair]
        else:
            latest = np.maximum.reduceat(np.where(mine > 0, where, 0.0), first)  # in the neighbour
            value = value * np.exp(-np.abs(where - latest[pair]) / params.lambda_inh)
    width = table.last.shape[1]
    keys, inverse = np.unique(row[pair] * width + item, return_inverse=True)
    sums = np.bincount(inverse.ravel(), weights=value, minlength=len(keys)).astype(np.float64)
    keys = keys[sums > 0].astype(np.int64)
    return keys // width, keys % width, sums[sums > 0]
