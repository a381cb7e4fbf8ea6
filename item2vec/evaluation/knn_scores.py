"""The vectorised engine of the session-kNN baselines: sparse session x item matrices in, scores out.

For a block of cases: candidates = the training sessions that share an item with the query
(one sparse product against each item's most recent ``sample_size + 1`` sessions, which is
exact: see ``Table.recent``), the case's own session removed, the ``sample_size`` most recent
kept (largest sequence number: a row's last entries, since rows are sorted); similarity per
pair; the ``k`` best pairs per case (equal similarities: lower sequence number first, see
``item2vec.evaluation.knn``); then each neighbour's items are laid out one entry per
(neighbour, item), weighted, and summed per (case, item). The last item a neighbour shares
with the query (V-SKNN's ``weighting_score``, STAN's ``lambda_inh``) is a segment maximum over
those entries. A block holds about ``_CELLS`` (2M) candidate pairs plus neighbour entries, so
working memory is a few arrays of that length (some 100 MB) whatever the number of cases; the
truncated item lists are kept per sample size (at most the size of the training matrix each)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from item2vec.evaluation.knn_params import SPAN, KnnParams

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp
    from numpy.typing import NDArray

_CELLS = 1 << 21  # candidate pairs plus neighbour entries per block
_SUM_CELLS = 1 << 22  # (case, item) sums of a block held densely (32 MB), else summed by a sort


@dataclass(frozen=True)
class Table:
    """Training sessions as sparse matrices over the catalogue (items outside it dropped)."""

    last: sp.csr_matrix  # sessions x catalogue: 1-based position of each item's last occurrence
    by_item: sp.csr_matrix  # catalogue x sessions: 1.0 where the item occurs
    distinct: NDArray[np.float64]  # distinct items per session
    age: NDArray[np.float64]  # days before the query on STAN's clock: (N - number) * SPAN / N
    idf: NDArray[np.float64]  # log(sessions / occurrences), 0 for items never seen
    mean_length: float  # items per non-empty session, repeats counted
    _recent: dict[int, sp.csr_matrix] = field(default_factory=dict, compare=False, repr=False)

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

    def recent(self, sample_size: int) -> sp.csr_matrix:
        """``by_item`` with each item's last ``sample_size + 1`` sessions only (all for 0).

        Exact for sampling: a session among the ``sample_size`` most recent that share an item
        with a query (its own session left out) has at most ``sample_size`` more recent
        sessions holding any one of those items, the own one included, so it is in every
        shared item's list, and its shared items all count.
        """
        import numpy as np
        import scipy.sparse as sp

        if sample_size == 0:
            return self.by_item
        if sample_size not in self._recent:
            items = self.by_item.shape[0]
            row = _row_of(self.by_item)
            rank, count = _rank_in_row(row, items)
            keep = count[row] - rank <= sample_size + 1
            indptr = np.r_[0, np.cumsum(np.minimum(count, sample_size + 1))]
            data, indices = self.by_item.data[keep], self.by_item.indices[keep]
            self._recent[sample_size] = sp.csr_matrix((data, indices, indptr), shape=self.by_item.shape)
        return self._recent[sample_size]


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
    df = np.diff(table.recent(params.sample_size).indptr)
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

    cases = block.query.shape[0]
    weights = _query_weights(block, params)
    row, session, overlap = _candidates(table, block, weights, params.sample_size)
    keep = session != block.own[row]
    row, session, overlap = row[keep], session[keep], overlap[keep]
    if params.sample_size:  # sessions ascend in a row: its last entries are the most recent
        rank, count = _rank_in_row(row, cases)
        keep = count[row] - rank <= params.sample_size
        row, session, overlap = row[keep], session[keep], overlap[keep]
    sim = _similarity(table, block, params, weights, row, session, overlap)
    keep = sim > 0
    row, session, sim = row[keep], session[keep], sim[keep]
    order = np.lexsort((-sim, row))  # stable: equal similarities keep sessions ascending
    row, session, sim = row[order], session[order], sim[order]
    keep = _rank_in_row(row, cases)[0] < params.k
    return row[keep], session[keep], sim[keep]


def _candidates(
    table: Table, block: _Block, weights: NDArray[np.float64], sample_size: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Every (case, session) that shares an item (or enough of them to draw the sample from),
    sessions ascending within a case, and the sum of the shared items' ``weights`` (one weight
    per query entry)."""
    import numpy as np

    weighted = block.query.copy()
    weighted.data = weights
    sessions = table.recent(sample_size)
    product = _sorted(weighted @ sessions)
    if (weights > 0).all():  # no sum is 0, so every session that shares an item is there
        return _row_of(product), product.indices.astype(np.int64), product.data
    ones = block.query.copy()
    ones.data[:] = 1.0
    pattern = _sorted(ones @ sessions)
    row, session = _row_of(pattern), pattern.indices.astype(np.int64)
    return row, session, _lookup(product, row, session)


def _sorted(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """``matrix`` as CSR with sorted columns (two linear transposes, not a sort per row)."""
    result = matrix.tocsc().tocsr()
    result.has_sorted_indices = True
    return result


def _rank_in_row(row: NDArray[np.int64], rows: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Each entry's 0-based place in its row (``row`` ascending) and each row's entry count."""
    import numpy as np

    count = np.bincount(row, minlength=rows)
    return np.arange(len(row)) - (np.cumsum(count) - count)[row], count


def _similarity(
    table: Table,
    block: _Block,
    params: KnnParams,
    weights: NDArray[np.float64],
    row: NDArray[np.int64],
    session: NDArray[np.int64],
    overlap: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Each candidate pair's similarity, session-rec's formula for the method; ``overlap`` is
    the sum of the shared items' weights (their number for SKNN)."""
    import numpy as np

    distinct = np.diff(block.query.indptr).astype(np.float64)[row]
    theirs = table.distinct[session]
    if params.method == "sknn":
        if params.similarity == "jaccard":
            return np.asarray(overlap / (distinct + theirs - overlap), dtype=np.float64)
        return np.asarray(overlap / (np.sqrt(distinct) * np.sqrt(theirs)), dtype=np.float64)
    if params.method == "vsknn":
        return np.asarray(overlap / distinct, dtype=np.float64)
    rows = block.query.shape[0]
    squares = np.bincount(_row_of(block.query), weights=weights * weights, minlength=rows)
    cosine = overlap / (np.sqrt(squares[row]) * np.sqrt(theirs))
    return np.asarray(cosine * np.exp(-table.age[session] / params.lambda_snh), dtype=np.float64)


def _query_weights(block: _Block, params: KnnParams) -> NDArray[np.float64]:
    """Each query entry's weight by its (last) position: V-SKNN's ``weighting``, STAN's spw
    (SKNN: 1)."""
    import numpy as np

    where = block.query.data
    length = block.length[_row_of(block.query)]
    if params.method == "sknn":
        return np.ones_like(where)
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


def _positions(query: sp.csr_matrix, row: NDArray[np.int64], item: NDArray[np.int64]) -> NDArray[np.float64]:
    """``query[row, item]`` per pair: read from the block made dense when it is small enough."""
    import numpy as np

    if query.shape[0] * query.shape[1] > _SUM_CELLS:
        return _lookup(query, row, item)
    return np.asarray(query.toarray(), dtype=np.float64)[row, item]


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
        mine = _positions(
            block.query, row[pair], item
        )  # the item's last position in the query, 0 if not in it
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
    cells = block.query.shape[0] * width
    if cells <= _SUM_CELLS:  # a dense sum per (case, item): no sort; the same additions in the same order
        dense = np.bincount(row[pair] * width + item, weights=value, minlength=cells).astype(
            np.float64, copy=False
        )
        keys = np.flatnonzero(dense > 0).astype(np.int64)
        return keys // width, keys % width, dense[keys]
    keys, inverse = np.unique(row[pair] * width + item, return_inverse=True)
    sums = np.bincount(inverse.ravel(), weights=value, minlength=len(keys)).astype(np.float64)
    keys = keys[sums > 0].astype(np.int64)
    return keys // width, keys % width, sums[sums > 0]
