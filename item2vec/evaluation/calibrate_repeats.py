"""Choosing how a model's recommendations score a whole history (train's calibration).

Once the scoring is chosen from the item before each held-out one (``calibrate``), up to
``HISTORY_CASES`` of the same cases (fewer on a large catalogue: ``HISTORY_CELLS`` scores in all)
are ranked again from their whole history, as ``recommend``
ranks a user's: the model queries with its last ``HISTORY_SIZE`` items weighted ``decay ** age``
for each decay of ``HISTORY_DECAYS`` (1: a plain mean; 0.1: nearly the latest item alone), and the
seen items (the history's own) are either left out or brought back with each repeat weight of
``REPEAT_WEIGHTS`` (``item2vec.query.repeats``). The defaults (decay ``DECAY``, seen items left
out) stay unless another choice beats them clearly, by the rule ``calibrate`` uses for score
modes: NDCG@10 higher by more than ``MARGIN`` standard errors of the paired difference (clustered
by sequence), and HR@10 higher too. Where no held-out item was already in its history, only the
decays are tried: seen items cannot help there.

The work is shared (:func:`history_ranks`): per decay and block of cases the dense scores once,
a repeat weight then only raising the seen entries; the ranks are those ``evaluate`` gives.
What was measured (the share of held-out items already in their history, and each choice's
figures) is kept in model.json beside the scoring's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from item2vec.evaluation.calibration_stats import K
from item2vec.evaluation.ranking import Cases
from item2vec.model.embeddings import unit_rows
from item2vec.model.modes import DECAY, HISTORY_DECAYS, HISTORY_SIZE, REPEAT_WEIGHTS
from item2vec.query.scoring import Scorer, ScoringParts

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from item2vec.model.embeddings import Embeddings
    from item2vec.model.scoring_record import Scoring
    from item2vec.training.holdout import HeldOut


def choose_repeat(
    embeddings: Embeddings, parts: ScoringParts, chosen: Scoring, held_out: HeldOut
) -> tuple[Scoring, dict[str, Any]]:
    """``chosen`` with the history decay and repeat weight calibration picks (the defaults when
    nothing beats them clearly), and model.json's account of it."""
    import numpy as np

    every = held_out.history_cases(len(embeddings))
    if isinstance(every, str):
        return chosen, {"skipped": every}
    all_prefixes, all_targets = held_out.prefixes, held_out.targets  # properties: each built once here
    prefixes = [all_prefixes[i] for i in every.tolist()]
    targets = [all_targets[i] for i in every.tolist()]
    groups = held_out.groups[every]
    seen = np.array([t in set(p) for t, p in zip(targets, prefixes)], dtype=bool)
    share = round(float(seen.mean()) if len(seen) else 0.0, 4)
    account: dict[str, Any] = {"cases": len(targets), "next_item_seen_share": share}
    cases = Cases([p[-HISTORY_SIZE:] for p in prefixes], targets, prefixes)
    drop_last = not any(p and p[-1] == t for t, p in zip(targets, prefixes))  # repeats were dropped
    weights: tuple[float | None, ...] = (None, *REPEAT_WEIGHTS) if seen.any() else (None,)
    ranks = history_ranks(embeddings, parts, chosen, cases, HISTORY_DECAYS, weights, drop_last=drop_last)
    outcomes = {choice: _outcome(r) for choice, r in ranks.items()}
    anchor = (DECAY, None)
    pick, why = _clear_winner(outcomes, anchor, groups)
    account["measured"] = {
        _name(*c): {"hr@10": round(float(h.mean()), 4), "ndcg@10": round(float(n.mean()), 4)}
        for c, (h, n) in outcomes.items()
    }
    account["chosen"] = _name(*pick)
    account["why"] = why if seen.any() else f"{why}; no held-out item was already in its history"
    return replace(chosen, decay=pick[0], repeat=pick[1]), account


def _outcome(ranks: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    import numpy as np

    hit = ranks < K
    ndcg = np.zeros(len(ranks))
    ndcg[hit] = 1.0 / np.log2(ranks[hit] + 2.0)
    return hit.astype(np.float64), ndcg


def history_ranks(
    embeddings: Embeddings,
    parts: ScoringParts,
    chosen: Scoring,
    cases: Cases,
    decays: tuple[float, ...],
    weights: tuple[float | None, ...],
    *,
    drop_last: bool,
) -> dict[tuple[float, float | None], NDArray[np.int64]]:
    """Each case's rank (``MISS`` from ``K``) for every (decay, repeat weight), exactly as
    ``rank_model(..., repeats=True)`` ranks it, with the work shared: per decay and block of cases
    the dense scores once; the unseen items' count above an unseen target once; a weight then only
    raises the seen entries (sparse) and, for a seen target, recounts that row."""
    import numpy as np

    from item2vec.evaluation.ranking import MISS, query_matrix, seen_items
    from item2vec.query.repeats import seen_pairs
    from item2vec.query.topk import block_rows

    index = embeddings.index
    n = len(index)
    targets = np.array([index.get(t, -1) for t in cases.targets], dtype=np.int64)
    seen = seen_items(index, cases.histories)
    matrix, latest = seen.recency, seen.latest
    out = {(d, w): np.full(len(cases), MISS, dtype=np.int64) for d in decays for w in weights}
    batch = block_rows(n, (1 << 24) * 4)  # rank_dense's blocks, so every float is evaluate's
    for decay in decays:
        scorer = Scorer(parts, replace(chosen, decay=decay, repeat=None))
        queries = query_matrix(index, cases.queries, decay)
        for start in range(0, len(cases), batch):
            stop = min(start + batch, len(cases))
            block = queries[start:stop]
            vectors = scorer.query_vectors(block)
            scores = np.asarray(scorer.scores(vectors, scorer.transition_scores(block)), dtype=np.float32)
            unit = unit_rows(vectors)
            spread = scorer.kind.spread(parts, scorer.scoring, unit)
            ranked = _block_ranks(scores, seen_pairs(matrix[start:stop]), targets[start:stop],
                                  latest[start:stop] if drop_last else None, spread, weights,
                                  live=np.diff(block.indptr) > 0)  # fmt: skip
            for weight, found in ranked.items():
                out[(decay, weight)][start:stop] = found
    return out


def _block_ranks(
    scores: NDArray[np.float32],
    seen: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]],
    targets: NDArray[np.int64],
    latest: NDArray[np.int64] | None,
    spread: NDArray[np.float32],
    weights: tuple[float | None, ...],
    *,
    live: NDArray[np.bool_],
) -> dict[float | None, NDArray[np.int64]]:
    """One block's ranks per weight (None: seen items left out): the items that beat the target
    (a higher score, or an equal one at a lower catalogue position), ``MISS`` from ``K``."""
    import numpy as np

    from item2vec.evaluation.ranking import MISS

    rows, cols, r = seen
    cases, n = scores.shape
    live = live & (targets >= 0)
    column = np.where(live, targets, 0)
    base_seen = scores[rows, cols].copy()
    target_score = scores[np.arange(cases), column].copy()
    own = cols == column[rows]  # the seen entry that is the target, if any
    target_seen = np.zeros(cases, dtype=bool)
    target_seen[rows[own]] = True
    scores[rows, cols] = -np.inf  # the unseen items alone from here
    banned = np.zeros(len(rows), dtype=bool)
    if latest is not None:
        banned = cols == latest[rows]
    lower = np.arange(n)[None, :] < column[:, None]
    unseen = np.count_nonzero(scores > target_score[:, None], axis=1)
    unseen += np.count_nonzero((scores == target_score[:, None]) & lower, axis=1)
    out: dict[float | None, NDArray[np.int64]] = {}
    for weight in weights:
        ranks = np.full(cases, MISS, dtype=np.int64)
        if weight is None:
            ok = live & ~target_seen
            count = unseen
        else:
            raised = base_seen + (weight * r * spread[rows]).astype(np.float32)
            raised[banned] = -np.inf
            score = target_score.copy()
            score[rows[own]] = raised[own]
            count = unseen.copy()
            redo = np.flatnonzero(target_seen & live)
            if len(redo):
                part = scores[redo]
                count[redo] = np.count_nonzero(part > score[redo, None], axis=1) + np.count_nonzero(
                    (part == score[redo, None]) & lower[redo], axis=1
                )
            beat = (raised > score[rows]) | ((raised == score[rows]) & (cols < column[rows]))
            beat &= ~own
            count = count + np.bincount(rows[beat], minlength=cases)
            ok = live & np.isfinite(score)
        hit = ok & (count < K)
        ranks[hit] = count[hit]
        out[weight] = ranks
    return out


def _name(decay: float, weight: float | None) -> str:
    seen = "seen excluded" if weight is None else f"repeat {weight:g}"
    return f"decay {decay:g}, {seen}"


def _clear_winner(
    outcomes: dict[tuple[float, float | None], tuple[NDArray[np.float64], NDArray[np.float64]]],
    anchor: tuple[float, float | None],
    groups: NDArray[np.int64],
) -> tuple[tuple[float, float | None], str]:
    """The defaults (``anchor``) unless a choice beats them clearly (the module docstring's rule)."""
    from item2vec.evaluation.calibration_stats import clear_winner_words

    others = [c for c in outcomes if c != anchor]
    found, why = clear_winner_words(_name(*anchor), outcomes[anchor], [outcomes[c] for c in others], groups)
    return (anchor if found is None else others[found]), why
