"""Choosing a model's default scoring on its own held-out items (``train``'s calibration).

``train`` holds out the last item of a sample of sequences (item2vec.training.holdout) and,
once it has trained on the rest, hands this module the vectors, the output vectors and the
transitions of the reduced corpus. Every case is ranked from the item before its target, the
whole catalogue, in each way of scoring of ``tune``'s grid (item2vec.evaluation.tune_modes):
``similar``, ``next``, and ``hybrid`` on both bases at every weight of ``TUNE_WEIGHTS``, the
hybrid with transitions counted over each of ``CALIBRATION_STEPS`` (10 steps, the default, and
1: only what came next).

The shipped default (``hybrid`` on the ``HYBRID_BASE`` base at ``HYBRID_WEIGHT``) stays unless
another choice beats it on these cases clearly: NDCG@10 higher by more than ``MARGIN`` standard
errors of the paired per-case difference, and HR@10 higher too. Of the choices that do, the one
with the best NDCG@10 wins. Three standard errors, because 25 challengers are tried at once
(the Bonferroni bar for 5% is about 3.1; correlated as they are, fewer are independent), and at
2 noise alone switched two runs of five on Online Retail (docs/presets.md). On the five logs of docs/presets.md no choice clears that bar, so
the default stays; on logs where the embedding or the counts matter much more than there (the
sparse view logs of the earlier trials), it switches. What was measured is kept in model.json.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from item2vec.evaluation.evaluate import rank_model
from item2vec.evaluation.ranking import Cases
from item2vec.evaluation.tune_modes import Choice, choices
from item2vec.model.modes import HYBRID_BASE, HYBRID_WEIGHT, TRANSITION_STEPS
from item2vec.query.scoring import Scorer, ScoringParts

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np
    from numpy.typing import NDArray

    from item2vec.model.embeddings import Embeddings
    from item2vec.model.transitions import TransitionMatrix
    from item2vec.training.holdout import HeldOut

K = 10
MARGIN = 3.0  # standard errors of the paired NDCG@10 difference a challenger must clear


def calibrate(
    embeddings: Embeddings,
    output: NDArray[np.float32],
    transitions: Mapping[int, TransitionMatrix],
    held_out: HeldOut,
) -> dict[str, Any]:
    """model.json's "scoring" record: the chosen mode, weight, base (and transition steps, when
    not the default), and the measurements. ``transitions`` maps steps to the reduced corpus's
    transitions counted over that many steps."""
    cases = Cases([[q] for q in held_out.queries], held_out.targets)
    outcomes = measure(embeddings, output, transitions, cases)
    chosen, why = choose(outcomes)
    table = {
        c.label(): {"hr@10": round(float(h.mean()), 4), "ndcg@10": round(float(n.mean()), 4)}
        for c, (h, n) in outcomes.items()
    }
    return {
        **chosen.record(),
        "calibration": {**held_out.record(), "chosen": chosen.label(), "why": why, "measured": table},
    }


def grid(steps: tuple[int, ...]) -> list[Choice]:
    """tune's grid with the default steps, and its hybrid choices again for each other steps."""
    from dataclasses import replace

    default = choices()
    extra = [
        replace(c, steps=s) for s in steps if s != TRANSITION_STEPS for c in default if "steps" in c.uses
    ]
    return default + extra


def measure(
    embeddings: Embeddings,
    output: NDArray[np.float32],
    transitions: Mapping[int, TransitionMatrix],
    cases: Cases,
) -> dict[Choice, tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Per case, hit@10 and NDCG@10 of every choice of the grid."""
    import numpy as np

    parts = {s: ScoringParts(embeddings, output=output, transitions=t) for s, t in transitions.items()}
    out = {}
    for choice in grid(tuple(transitions)):
        part = parts[choice.steps or TRANSITION_STEPS]
        scorer = Scorer(part, choice)
        ranks = rank_model(embeddings, cases, kmax=K, scorer=scorer).ranks
        hit = ranks < K
        ndcg = np.zeros(len(ranks))
        ndcg[hit] = 1.0 / np.log2(ranks[hit] + 2.0)
        out[choice] = (hit.astype(np.float64), ndcg)
    return out


def choose(outcomes: dict[Choice, tuple[NDArray[np.float64], NDArray[np.float64]]]) -> tuple[Choice, str]:
    """The default unless a choice beats it clearly (see the module docstring); and why, in words."""
    anchor = Choice("hybrid", HYBRID_WEIGHT, HYBRID_BASE)
    if anchor not in outcomes:
        raise ValueError(f"the default {anchor.label()} is not among the choices measured")
    anchor_hr, anchor_ndcg = outcomes[anchor]
    best: tuple[float, Choice, float] | None = None
    for choice, (hr, ndcg) in outcomes.items():
        diff = ndcg - anchor_ndcg
        spread = float(diff.std(ddof=1)) if len(diff) > 1 else 0.0
        if spread == 0.0:
            continue
        z = float(diff.mean()) / (spread / math.sqrt(len(diff)))
        if z > MARGIN and hr.mean() > anchor_hr.mean() and (best is None or ndcg.mean() > best[0]):
            best = (float(ndcg.mean()), choice, z)
    if best is None:
        return anchor, (
            f"no choice beat the default {anchor.label()} by more than {MARGIN:g} standard errors "
            f"of NDCG@{K} with a higher HR@{K}"
        )
    best_ndcg, choice, z = best
    return choice, (
        f"NDCG@{K} {best_ndcg:.4f} against the default {anchor.label()}'s {anchor_ndcg.mean():.4f} "
        f"({z:.1f} standard errors), HR@{K} {outcomes[choice][0].mean():.4f} against {anchor_hr.mean():.4f}"
    )
