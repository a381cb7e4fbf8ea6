"""Choosing what a model's recommendations do with a history's own items (train's calibration).

Once the scoring is chosen from the item before each held-out one (``calibrate``), the same cases
are ranked again from their whole history, as ``recommend`` ranks a user's: the model queries with
its last ``HISTORY_SIZE`` items and the seen items are either left out (the default) or brought
back with each repeat weight of ``REPEAT_WEIGHTS`` (``item2vec.query.repeats``). A weight replaces
"left out" only when it beats it clearly, by the rule ``calibrate`` uses for score modes: NDCG@10
higher by more than ``MARGIN`` standard errors of the paired difference (clustered by sequence),
and HR@10 higher too. Where no held-out item was already in its history, nothing is ranked:
seen items cannot help there.

What was measured (the share of held-out items already in their history, and each choice's
figures) is kept in model.json beside the scoring's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from item2vec.evaluation.calibration_stats import MARGIN, K
from item2vec.evaluation.evaluate import rank_model
from item2vec.evaluation.ranking import Cases
from item2vec.model.modes import REPEAT_WEIGHTS
from item2vec.query.scoring import Scorer, ScoringParts

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from item2vec.model.embeddings import Embeddings
    from item2vec.model.scoring_record import Scoring
    from item2vec.training.holdout import HeldOut

HISTORY_SIZE = 5  # recommend's: the items of a history its query reads


def choose_repeat(
    embeddings: Embeddings, parts: ScoringParts, chosen: Scoring, held_out: HeldOut
) -> tuple[float | None, dict[str, Any]]:
    """The repeat weight for ``chosen`` (None: seen items left out) and model.json's account of it."""
    import numpy as np

    prefixes = held_out.prefixes
    targets = held_out.targets
    seen = np.array([t in set(p) for t, p in zip(targets, prefixes)], dtype=bool)
    share = round(float(seen.mean()) if len(seen) else 0.0, 4)
    account: dict[str, Any] = {"next_item_seen_share": share}
    if not seen.any():
        account["why"] = "no held-out item was already in its history: seen items are left out"
        return None, account
    cases = Cases([p[-HISTORY_SIZE:] for p in prefixes], targets, prefixes)
    outcomes: dict[float | None, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
    for weight in (None, *REPEAT_WEIGHTS):
        scorer = Scorer(parts, replace(chosen, repeat=weight))
        ranks = rank_model(embeddings, cases, kmax=K, scorer=scorer, repeats=True).ranks
        hit = ranks < K
        ndcg = np.zeros(len(ranks))
        ndcg[hit] = 1.0 / np.log2(ranks[hit] + 2.0)
        outcomes[weight] = (hit.astype(np.float64), ndcg)
    weight, why = _clear_winner(outcomes, held_out.groups)
    account["measured"] = {
        _name(w): {"hr@10": round(float(h.mean()), 4), "ndcg@10": round(float(n.mean()), 4)}
        for w, (h, n) in outcomes.items()
    }
    account["chosen"] = _name(weight)
    account["why"] = why
    return weight, account


def _name(weight: float | None) -> str:
    return "excluded" if weight is None else f"repeat {weight:g}"


def _clear_winner(
    outcomes: dict[float | None, tuple[NDArray[np.float64], NDArray[np.float64]]], groups: NDArray[np.int64]
) -> tuple[float | None, str]:
    """Seen items left out unless a weight beats that clearly (the module docstring's rule)."""
    from item2vec.evaluation.calibration_stats import clustered_standard_error

    anchor_hr, anchor_ndcg = outcomes[None]
    best: tuple[float, float, float] | None = None  # (NDCG, weight, z)
    for weight, (hr, ndcg) in outcomes.items():
        if weight is None:
            continue
        diff = ndcg - anchor_ndcg
        error = clustered_standard_error(diff, groups)
        if error == 0.0:
            continue
        z = float(diff.mean()) / error
        if z > MARGIN and hr.mean() > anchor_hr.mean() and (best is None or ndcg.mean() > best[0]):
            best = (float(ndcg.mean()), weight, z)
    if best is None:
        return None, (
            f"no repeat weight beat leaving seen items out by more than {MARGIN:g} standard errors of "
            f"NDCG@{K} with a higher HR@{K}"
        )
    best_ndcg, weight, z = best
    return weight, (
        f"NDCG@{K} {best_ndcg:.4f} against {anchor_ndcg.mean():.4f} with seen items left out ({z:.1f} standard "
        f"errors), HR@{K} {outcomes[weight][0].mean():.4f} against {anchor_hr.mean():.4f}"
    )
