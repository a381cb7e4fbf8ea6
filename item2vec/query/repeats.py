"""Seen items scored again: repeat-aware recommendations from a history.

On many logs people come back to what they saw: on click and view sessions a quarter to two
fifths of next items were already in the session. A model whose scoring has a repeat weight
(``Scoring.repeat``: chosen by train's calibration on held-out whole histories, or given) does not
leave a history's own items out; each comes back with its score in the model's mode raised by

    repeat weight x R(item) x spread(query)

where R(item) = the sum of ``decay ** age`` over the item's occurrences in the whole history (age
0 = the most recent event: recency and frequency at once), and spread is the standard deviation of
the query's embedding scores over the catalogue (1 for ``hybrid``, whose embedding score is
standardised already), so that one weight means the same in every mode. Weight 0 scores seen
items as any other; without a weight they are left out, as before. The most recent item stays
out when the model was trained with consecutive repeats dropped (the default): it never was its
own next item there, so bringing it back would only spend the first slot.

The unseen items are ranked as they always are (exactly, from an index's shortlist, or among a
filter's items) with the seen ones left out; the seen ones are scored exactly at their own pairs
(``ScoreMode.pair_scores``) and merged in, so an answer is the best ``k`` of both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp
    from numpy.typing import NDArray

    from item2vec.model.scoring_record import Scoring
    from item2vec.query.filters import CandidateFilter
    from item2vec.query.score_modes import ScoreMode
    from item2vec.query.scoring_parts import ScoringParts

Pairs = tuple["NDArray[np.int64]", "NDArray[np.int64]"]
Top = tuple["NDArray[np.int64]", "NDArray[np.float32]"]


def drops_repeats(meta: Mapping[str, Any]) -> bool:
    """Whether the model was trained with consecutive repeats dropped (model.json's session record;
    a model without one, built in memory or from text, keeps them)."""
    session = meta.get("input", {}).get("session") if isinstance(meta.get("input"), Mapping) else None
    return bool(session.get("drop_repeats", True)) if isinstance(session, Mapping) else False


def recency(
    owner: NDArray[np.int64],
    cols: NDArray[np.int64],
    ages: NDArray[np.int64],
    decay: float,
    shape: tuple[int, int],
) -> sp.csr_matrix:
    """R: queries x catalogue, the sum of ``decay ** age`` over each (query, item) occurrence."""
    import numpy as np
    import scipy.sparse as sp

    matrix = sp.csr_matrix((decay ** ages.astype(np.float64), (owner, cols)), shape=shape)
    matrix.sum_duplicates()
    return matrix


def history_recency(n_items: int, rows: list[int], decay: float) -> sp.csr_matrix:
    """R of one history (item rows, oldest first) as a 1 x catalogue matrix."""
    import numpy as np

    count = len(rows)
    ages = np.arange(count - 1, -1, -1, dtype=np.int64)
    return recency(np.zeros(count, np.int64), np.array(rows, dtype=np.int64), ages, decay, (1, n_items))


def seen_pairs(seen: sp.csr_matrix) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """(query, item row, R) of every seen item, by query then item row."""
    import numpy as np

    csr = seen.tocsr()
    if not csr.has_sorted_indices:
        csr = csr.sorted_indices()
    owner = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
    return owner, csr.indices.astype(np.int64), np.asarray(csr.data, dtype=np.float64)


def seen_scores(
    scored: tuple[ScoreMode, ScoringParts, Scoring],
    unit: NDArray[np.float32],
    transitions: sp.csr_matrix | None,
    seen: sp.csr_matrix,
    repeat: float,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]:
    """(query, item row, score) of every seen item: its score in the mode (``scored``: the mode,
    the model's parts, the scoring), raised by ``repeat`` x R x the query's spread."""
    import numpy as np

    owner, cols, weight = seen_pairs(seen)
    if not len(owner):
        return owner, cols, np.zeros(0, dtype=np.float32)
    kind, parts, scoring = scored
    exact = kind.pair_scores(parts, scoring, unit, transitions, (owner, cols))
    spread = kind.spread(parts, scoring, unit)
    raised = (exact.astype(np.float64) + repeat * weight * spread[owner].astype(np.float64)).astype(
        np.float32
    )
    return owner, cols, raised


def merge(
    top: Top,
    extra: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]],
    k: int,
    *,
    allowed: CandidateFilter | None = None,
    banned: Pairs | None = None,
) -> Top:
    """Each query's best ``k`` of its ``top`` (rows, scores; -1 pads) and the ``extra`` (query,
    row, score) entries, best first, equal scores by lower row; ``extra`` entries a filter does
    not pass, or that ``banned`` names, are dropped. -1 and -inf pad."""
    import numpy as np

    rows, scores = top
    owner, cols, values = extra
    keep = np.isfinite(values)
    if allowed is not None:
        keep &= allowed.allowed[cols]
    if banned is not None and len(banned[0]):
        n = int(max(cols.max(initial=0), banned[1].max(initial=0))) + 1
        keep &= ~np.isin(owner * n + cols, banned[0] * n + banned[1])
    owner, cols, values = owner[keep], cols[keep], values[keep]
    queries = len(rows)
    grid_owner = np.repeat(np.arange(queries, dtype=np.int64), rows.shape[1])
    live = rows.ravel() >= 0
    all_owner = np.concatenate([grid_owner[live], owner])
    all_rows = np.concatenate([rows.ravel()[live], cols])
    all_scores = np.concatenate([scores.ravel()[live], values]).astype(np.float32)
    order = np.lexsort((all_rows, -all_scores.astype(np.float64), all_owner))
    all_owner, all_rows, all_scores = all_owner[order], all_rows[order], all_scores[order]
    starts = np.searchsorted(all_owner, np.arange(queries))
    slot = np.arange(len(all_owner)) - starts[all_owner]
    first = slot < k
    best = np.full((queries, k), -1, dtype=np.int64)
    picked = np.full((queries, k), -np.inf, dtype=np.float32)
    best[all_owner[first], slot[first]] = all_rows[first]
    picked[all_owner[first], slot[first]] = all_scores[first]
    return best, picked
