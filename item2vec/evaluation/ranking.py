"""The ranking engine: where each held-out target lands in each method's ranking.

A case is a list of query items (oldest first) and a target. Queries become a sparse matrix of
weights (DECAY**age, age 0 = the last item); a method turns a batch of it into scores over the
whole catalogue, query items excluded, and the target's rank is counted, never searched for.
Dense scores (the model: one matrix product per batch) and sparse scores (the baselines) have
one engine each; both order equal scores by catalogue position, as a stable sort would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from item2vec.errors import ConfigError, check_choice
from item2vec.model.modes import DECAY

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp
    from numpy.typing import NDArray

Query = Literal["last", "history"]
PROTOCOLS: tuple[Query, ...] = (
    "last",
    "history",
)  # evaluate's protocols: the query is the last item, or the whole history
MISS = 1 << 30
_CELLS = 1 << 24  # scores held at once (batch x catalogue): 64 MB of float32


# --- cases ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cases:
    """Next-item test cases: query items (oldest first) and the target of each, and the whole
    prefix before each target (its history: the seen items; None: the queries)."""

    queries: list[list[str]]
    targets: list[str]
    prefixes: list[list[str]] | None = field(default=None, compare=False)

    @property
    def histories(self) -> list[list[str]]:
        """Each case's whole history before its target, oldest first."""
        return self.prefixes if self.prefixes is not None else self.queries

    def __len__(self) -> int:
        return len(self.targets)

    @classmethod
    def from_sequences(
        cls, sequences: Iterable[list[str]], *, query: Query = "last", history: int | None = 5
    ) -> Cases:
        """One case per sequence of 2+ items: the last item is the target, the query the item
        before it (``last``) or the last ``history`` items before it (``history``; None: all).

        Raises:
            ConfigError: an unknown query mode or a history below 1.
        """
        check_choice("query", query, PROTOCOLS, quoted=True)
        if history is not None and history < 1:
            raise ConfigError(param="history_size", value=history, expected="1 or more items")
        keep = 1 if query == "last" else history
        queries, targets, prefixes = [], [], []
        for seq in sequences:
            if len(seq) >= 2:
                queries.append(seq[-1 - keep : -1] if keep is not None else seq[:-1])
                targets.append(seq[-1])
                prefixes.append(seq[:-1])
        return cls(queries, targets, prefixes)


# --- ranking engine ------------------------------------------------------------------------------


@dataclass
class Ranked:
    """Where each case's target landed (0-based rank; MISS if not in the top kmax) and the top lists."""

    method: str
    ranks: NDArray[np.int64]
    top: NDArray[np.int64]  # cases x kmax item columns, -1 where nothing was recommended
    catalogue: int
    cold: int  # targets the method does not know

    def metrics(self, ks: tuple[int, ...]) -> dict[str, Any]:
        """HR, NDCG, MRR and catalogue coverage at every cut-off, and the cold-target share."""
        import numpy as np

        n = max(1, len(self.ranks))
        out: dict[str, Any] = {"method": self.method, "cases": len(self.ranks)}
        for k in ks:
            hit = self.ranks < k
            out[f"hr@{k}"] = round(float(hit.sum() / n), 4)
            out[f"ndcg@{k}"] = round(float((1 / np.log2(self.ranks[hit] + 2)).sum() / n), 4)
            out[f"mrr@{k}"] = round(float((1 / (self.ranks[hit] + 1)).sum() / n), 4)
            shown = self.top[:, :k]
            out[f"coverage@{k}"] = round(len(np.unique(shown[shown >= 0])) / max(1, self.catalogue), 4)
        out["cold"] = round(self.cold / n, 4)
        return out


ScoreFn = Callable[["sp.csr_matrix"], "NDArray[np.float32]"]


SeenFn = Callable[[int, int, "NDArray[np.float32]"], None]
# (finite scores of a block, its targets, its live rows) -> each row's rank, MISS past kmax
CountFn = Callable[["NDArray[np.float32]", "NDArray[np.int64]", "NDArray[np.bool_]"], "NDArray[np.int64]"]


def rank_dense(
    method: str,
    index: dict[str, int],
    cases: Cases,
    score: ScoreFn,
    *,
    kmax: int,
    seen: SeenFn | None = None,
    decay: float = DECAY,
    count: CountFn | None = None,
) -> Ranked:
    """Rank every target against the whole catalogue ``index`` with dense scores.

    ``score`` turns a sparse batch of weighted query items (cases x catalogue) into a dense
    float32 score matrix. Query items are excluded, unless ``seen`` is given: it is handed each
    block's cases (start, stop) and scores, and sets the seen items' scores itself (in place).
    A case with no known query item is a miss. Equal scores are ordered by catalogue position,
    as a stable sort would. A case's query items weigh ``decay ** age``.

    With ``count`` (calibration, which needs the ranks only), a block whose scores are all finite
    is ranked by ``count`` (the items that beat each target, counted) instead of sorting each
    row's best; the top lists then stay empty (-1) for those blocks.
    """
    import numpy as np

    from item2vec.query.topk import block_rows, top_k

    n = len(index)
    weights = query_matrix(index, cases.queries, decay)
    targets = np.array([index.get(t, -1) for t in cases.targets], dtype=np.int64)
    ranks = np.full(len(cases), MISS, dtype=np.int64)
    top = np.full((len(cases), min(kmax, n)), -1, dtype=np.int64)
    # Blocks of _CELLS scores, the lone last case kept alone: calibration's blocks are these,
    # so its floats are evaluate's (item2vec.evaluation.calibrate).
    batch = block_rows(n, _CELLS * 4)
    for start in range(0, len(cases), batch):
        stop = min(start + batch, len(cases))
        block = weights[start:stop]
        scores = np.asarray(score(block), dtype=np.float32)
        counted = count is not None and bool(np.isfinite(scores).all())
        if seen is None:
            rows, cols = block.nonzero()
            scores[rows, cols] = -np.inf
        else:
            seen(start, stop, scores)
        known = np.diff(block.indptr) > 0
        if counted:
            assert count is not None
            target = targets[start:stop]
            ranks[start:stop] = count(scores, target, known & (target >= 0))
            continue
        scores[~known] = -np.inf  # no known query item: nothing recommended
        best, _ = top_k(scores, top.shape[1])  # ties by lower column, never NaN; -1 pads
        top[start:stop] = best
        case, position = np.nonzero((best == targets[start:stop, None]) & (best >= 0))
        ranks[start + case] = position
    return Ranked(method, ranks, top, n, int((targets < 0).sum()))


@dataclass(frozen=True)
class SeenItems:
    """The items of each case's whole history, as ``recommend`` treats a user's seen items."""

    recency: sp.csr_matrix  # cases x catalogue: R, the sum of DECAY ** age over an item's occurrences
    latest: NDArray[np.int64]  # each case's most recent known item (-1: none known)


def seen_items(index: dict[str, int], histories: list[list[str]]) -> SeenItems:
    """Each history's known items (oldest first) as R and its latest item (age 0 = the latest)."""
    import numpy as np

    from item2vec.query.repeats import recency

    owner: list[int] = []
    cols: list[int] = []
    ages: list[int] = []
    for case, items in enumerate(histories):
        known = [index[i] for i in items if i in index]
        owner += [case] * len(known)
        cols += known
        ages += range(len(known) - 1, -1, -1)
    rows, columns, age = np.array(owner, np.int64), np.array(cols, np.int64), np.array(ages, np.int64)
    latest = np.full(len(histories), -1, dtype=np.int64)
    latest[rows[age == 0]] = columns[age == 0]
    return SeenItems(recency(rows, columns, age, DECAY, (len(histories), len(index))), latest)


def query_matrix(index: dict[str, int], queries: list[list[str]], decay: float = DECAY) -> sp.csr_matrix:
    """Sparse cases x catalogue weights: decay**age for each known query item (age 0 = last)."""
    import numpy as np
    import scipy.sparse as sp

    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for row, items in enumerate(queries):
        for age, item in enumerate(reversed(items)):
            col = index.get(item)
            if col is not None:
                rows.append(row)
                cols.append(col)
                vals.append(decay**age)
    shape = (len(queries), len(index))
    matrix = sp.csr_matrix(
        (np.array(vals), (np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64))), shape=shape
    )
    matrix.sum_duplicates()
    return matrix


def rank_sparse(
    method: str,
    index: dict[str, int],
    cases: Cases,
    transition: sp.csr_matrix | None,
    *,
    kmax: int,
    exclude_seen: bool = True,
) -> Ranked:
    """Rank by sparse scores (``queries @ transition``), ties and the rest by catalogue position.

    The catalogue is ordered most popular first, so items without a score follow in popularity
    order: with no ``transition`` this is the most-popular ranking. Query items are excluded
    unless ``exclude_seen`` is False.
    """
    import numpy as np
    import scipy.sparse as sp

    weights = query_matrix(index, cases.queries)
    if transition is None:
        scores = sp.csr_matrix(weights.shape, dtype=np.float64)
    else:
        scores = (weights @ transition).tocsr()
    return rank_scores(method, index, cases, scores, kmax=kmax, exclude_seen=exclude_seen)


def rank_scores(
    method: str,
    index: dict[str, int],
    cases: Cases,
    scores: sp.csr_matrix,
    *,
    kmax: int,
    exclude_seen: bool = True,
) -> Ranked:
    """Rank by sparse ``scores`` (cases x catalogue, positive where scored): ties and unscored
    items by catalogue position (most popular first). Query items are excluded unless
    ``exclude_seen`` is False."""
    import numpy as np
    import scipy.sparse as sp

    n = len(index)
    weights = query_matrix(index, cases.queries)
    targets = np.array([index.get(t, -1) for t in cases.targets], dtype=np.int64)
    if exclude_seen:
        excluded = (weights != 0).astype(np.int8).tocsr()
        scores = sp.csr_matrix(scores)
        scores = (scores - scores.multiply(excluded)).tocsr()
    else:
        excluded = sp.csr_matrix(weights.shape, dtype=np.int8)
        scores = sp.csr_matrix(scores, copy=True)
    scores.eliminate_zeros()
    scores.sort_indices()
    ranks = _sparse_ranks(scores, excluded, targets)
    top = _sparse_top(scores, excluded, min(kmax, n), n)
    return Ranked(method, ranks, top, n, int((targets < 0).sum()))


def _row_of(matrix: sp.csr_matrix) -> NDArray[np.int64]:
    import numpy as np

    return np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))


def _sparse_ranks(
    scores: sp.csr_matrix, excluded: sp.csr_matrix, targets: NDArray[np.int64]
) -> NDArray[np.int64]:
    import numpy as np

    cases = len(targets)
    safe = np.maximum(targets, 0)
    own = np.asarray(scores[np.arange(cases), safe]).ravel()
    row, col, val = _row_of(scores), scores.indices, scores.data
    before = (val > own[row]) | ((val == own[row]) & (col < safe[row]))
    ranks = np.bincount(row, weights=before, minlength=cases).astype(np.int64)
    # A target without a score comes after every scored item, then by catalogue position.
    unscored = own == 0
    nonzero_below = np.bincount(row, weights=col < safe[row], minlength=cases).astype(np.int64)
    ex_row, ex_col = _row_of(excluded), excluded.indices
    ex_below = np.bincount(ex_row, weights=ex_col < safe[ex_row], minlength=cases).astype(np.int64)
    nnz = np.diff(scores.indptr)
    ranks[unscored] = (nnz + safe - nonzero_below - ex_below)[unscored]
    is_excluded = np.asarray(excluded[np.arange(cases), safe]).ravel() != 0
    ranks[(targets < 0) | is_excluded] = MISS
    return ranks


def _sparse_top(scores: sp.csr_matrix, excluded: sp.csr_matrix, k: int, n: int) -> NDArray[np.int64]:
    import numpy as np

    cases = scores.shape[0]
    top = np.full((cases, k), -1, dtype=np.int64)
    row, col, val = _row_of(scores), scores.indices, scores.data
    order = np.lexsort((col, -val, row))
    position = np.arange(len(order)) - scores.indptr[row[order]]
    first = position < k
    top[row[order][first], position[first]] = col[order][first]
    filled = np.minimum(np.diff(scores.indptr), k)
    for case in np.flatnonzero(filled < k):  # fill with the most popular items left
        taken = set(col[scores.indptr[case] : scores.indptr[case + 1]].tolist())
        taken.update(excluded.indices[excluded.indptr[case] : excluded.indptr[case + 1]].tolist())
        slot, item = int(filled[case]), 0
        while slot < k and item < n:
            if item not in taken:
                top[case, slot] = item
                slot += 1
            item += 1
    return top
