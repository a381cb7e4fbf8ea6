"""Choosing a model's default scoring on its own held-out items (``train``'s calibration).

``train`` holds out the last item of a sample of sequences (item2vec.training.holdout) and,
once it has trained on the rest, hands this module the vectors, the output vectors and the
transitions of the reduced corpus. Every case is ranked from the item before its target, the
whole catalogue, in each way of scoring of ``tune``'s grid (item2vec.evaluation.tune_modes):
``similar``, ``next``, and ``hybrid`` on both bases at every weight of ``TUNE_WEIGHTS``, the
hybrid with transitions counted over each of ``CALIBRATION_STEPS`` (10 steps, the default, and
1: only what came next), and over 10 steps counted both ways (an item's neighbours before it
too). The direction whose default hybrid has the higher NDCG@10 is chosen first, and only its
hybrid choices are kept (:func:`measure_directions`).

The ~38 choices (26 counting what followed, 12 more both ways) share their work: per
block of cases each hybrid base's standardised score is computed once and each counting's
transition scores once, a choice adds only its weight x log1p(t)
on the sparse entries, and a case's rank is the number of items that beat its target (no sort).
The ranks, and so every figure recorded, are those of ranking each choice on its own.

The shipped default (``hybrid`` on the ``HYBRID_BASE`` base at ``HYBRID_WEIGHT``, in the
direction chosen) stays unless
another choice beats it on these cases clearly: NDCG@10 higher by more than ``MARGIN`` standard
errors of the paired per-case difference, and HR@10 higher too. Of the choices that do, the one
with the best NDCG@10 wins. Three standard errors, because 25 challengers are tried at once
(the Bonferroni bar for 5% is about 3.1; correlated as they are, fewer are independent), and at
2 noise alone switched two runs of five on Online Retail (docs/presets.md). On the five logs of docs/presets.md no choice clears that bar, so
the default stays; on logs where the embedding or the counts matter much more than there (the
sparse view logs of the earlier trials), it switches. What was measured is kept in model.json.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from item2vec.evaluation.calibration_stats import MARGIN as MARGIN  # re-exported: the rule's bar
from item2vec.evaluation.calibration_stats import K as K
from item2vec.evaluation.evaluate import rank_model
from item2vec.evaluation.ranking import MISS, Cases, query_matrix
from item2vec.evaluation.tune_modes import Choice, choices
from item2vec.model.embeddings import unit_rows
from item2vec.model.modes import (
    HYBRID_BASE,
    HYBRID_WEIGHT,
    TRANSITION_DIRECTION,
    TRANSITION_DIRECTIONS,
    TRANSITION_STEPS,
)
from item2vec.query.score_modes import score_mode
from item2vec.query.scoring import Scorer, ScoringParts
from item2vec.query.topk import product as block_product

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np
    import scipy.sparse as sp
    from numpy.typing import NDArray

    from item2vec.model.embeddings import Embeddings
    from item2vec.model.transitions import TransitionMatrix
    from item2vec.training.holdout import HeldOut

Counting = tuple[int, str]  # (steps, direction): how a transition part was counted (Scoring.counting)
_CELLS = 1 << 24  # scores per block of cases: as evaluation.ranking's blocks, so the floats are its own
_PLAIN = ("similar", "next")  # modes whose scores are their base's cosines (score_modes.ScoreMode.scores)


def calibrate(
    embeddings: Embeddings,
    output: NDArray[np.float32],
    transitions: Mapping[Counting, TransitionMatrix],
    held_out: HeldOut,
    *,
    fixed: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """model.json's "scoring" record: the chosen mode, weight, base (and transition steps and
    direction, when not the defaults), how whole histories are scored (``calibrate_repeats``),
    and the measurements. ``transitions`` maps (steps, direction) to the reduced corpus's
    transitions counted so. ``fixed`` (a scoring record the caller gave: ``train --score``,
    ``tune``) keeps its mode and values; the transitions' direction (where the mode reads them)
    and the history choices are then calibrated."""
    from item2vec.evaluation.calibrate_repeats import choose_repeat
    from item2vec.model.scoring_record import Scoring

    extra: dict[str, Any] = {}
    cases = Cases([[q] for q in held_out.queries], held_out.targets)
    if fixed is not None:
        chosen = Scoring.from_record({"scoring": dict(fixed)})
        why, table = "given", {}
        if "direction" in chosen.uses and "transition_direction" not in fixed:
            chosen, extra["direction"] = direction_of(embeddings, output, transitions, cases, chosen)
    else:
        outcomes, extra["direction"] = measure_directions(embeddings, output, transitions, cases)
        chosen, why = choose(outcomes, held_out.groups)
        table = {
            c.label(): {"hr@10": round(float(h.mean()), 4), "ndcg@10": round(float(n.mean()), 4)}
            for c, (h, n) in outcomes.items()
        }
    counted = transitions.get(chosen.counting) or transitions[(TRANSITION_STEPS, TRANSITION_DIRECTION)]
    parts = ScoringParts(embeddings, output=output, transitions=counted)
    chosen, seen = choose_repeat(embeddings, parts, chosen, held_out)
    return {
        **chosen.record(),
        "calibration": {**held_out.record(), "chosen": chosen.label(), "why": why, "measured": table,
                        **extra, "seen_items": seen},
    }  # fmt: skip


def grid(countings: tuple[Counting, ...]) -> list[Choice]:
    """tune's grid with the default steps, and its hybrid choices again for each other counting;
    every hybrid choice in the direction of the first counting."""
    from dataclasses import replace

    direction = countings[0][1] if countings else TRANSITION_DIRECTION
    default = [replace(c, direction=direction) if "direction" in c.uses else c for c in choices()]
    extra = [
        replace(c, steps=s, direction=d)
        for s, d in countings
        if s != TRANSITION_STEPS
        for c in default
        if "steps" in c.uses
    ]
    return default + extra


def measure_directions(
    embeddings: Embeddings,
    output: NDArray[np.float32],
    transitions: Mapping[Counting, TransitionMatrix],
    cases: Cases,
) -> tuple[dict[Choice, tuple[NDArray[np.float64], NDArray[np.float64]]], dict[str, Any]]:
    """:func:`measure`'s grid in the direction whose default hybrid ranks the cases better, and
    what decided it. The hybrid choices of every direction counted are ranked in one pass (they
    share each block's standardised scores); "both" wins on a higher NDCG@10 of the default
    hybrid (the first of equals: "next"), and the other direction's hybrid choices are dropped."""
    by_direction = {d: tuple(k for k in transitions if k[1] == d) for d in TRANSITION_DIRECTIONS}
    counted = [d for d in TRANSITION_DIRECTIONS if by_direction[d]]
    first = grid(by_direction[counted[0]])
    extra = [c for d in counted[1:] for c in grid(by_direction[d]) if "direction" in c.uses]
    outcomes = measure(embeddings, output, transitions, cases, first + extra)
    anchors = {d: Choice("hybrid", HYBRID_WEIGHT, HYBRID_BASE, direction=d) for d in counted}
    direction, record = _better_direction(anchors, outcomes)
    kept = {c: v for c, v in outcomes.items() if "direction" not in c.uses or c.direction == direction}
    return kept, record


def direction_of(
    embeddings: Embeddings,
    output: NDArray[np.float32],
    transitions: Mapping[Counting, TransitionMatrix],
    cases: Cases,
    given: Choice,
) -> tuple[Choice, dict[str, Any]]:
    """A given choice over the transitions of the direction where it ranks the cases better (by
    NDCG@10, the first of equals: "next"), and what decided it."""
    from dataclasses import replace

    each = {d: replace(given, direction=d) for d in TRANSITION_DIRECTIONS if (given.steps, d) in transitions}
    if len(each) < 2:
        return given, {"chosen": given.direction}
    outcomes = measure(embeddings, output, transitions, cases, list(each.values()))
    direction, record = _better_direction(each, outcomes)
    return each[direction], record


def _better_direction(
    by_direction: Mapping[str, Choice],
    outcomes: Mapping[Choice, tuple[NDArray[np.float64], NDArray[np.float64]]],
) -> tuple[str, dict[str, Any]]:
    """The direction whose choice has the higher NDCG@10 (the first of equals, in
    ``by_direction``'s order: "next" first), and the record of what decided it."""
    ndcg = {d: float(outcomes[c][1].mean()) for d, c in by_direction.items()}
    direction = max(ndcg, key=lambda d: ndcg[d])
    return direction, {"chosen": direction, "ndcg@10": {d: round(v, 4) for d, v in ndcg.items()}}


def measure(
    embeddings: Embeddings,
    output: NDArray[np.float32],
    transitions: Mapping[Counting, TransitionMatrix],
    cases: Cases,
    chosen: list[Choice] | None = None,
) -> dict[Choice, tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Per case, hit@10 and NDCG@10 of every choice of ``chosen`` (default: the grid of the
    countings of ``transitions``), in that order.

    The hybrid and plain choices share their work (:func:`shared_ranks`); any other is scored
    as ``evaluate`` scores it, the items that beat each target counted instead of sorted. The
    ranks are those of ranking each choice on its own, exactly.
    """
    import numpy as np

    parts = {k: ScoringParts(embeddings, output=output, transitions=t) for k, t in transitions.items()}
    chosen = grid(tuple(transitions)) if chosen is None else chosen
    shared = shared_ranks(embeddings, parts, chosen, cases)
    out = {}
    default = (TRANSITION_STEPS, TRANSITION_DIRECTION)
    for choice in chosen:
        ranks = shared.get(choice) if shared is not None else None
        if ranks is None:
            scorer = Scorer(parts.get(choice.counting) or parts[default], choice)
            ranks = rank_model(embeddings, cases, kmax=K, scorer=scorer, count=_counted).ranks
        hit = ranks < K
        ndcg = np.zeros(len(ranks))
        ndcg[hit] = 1.0 / np.log2(ranks[hit] + 2.0)
        out[choice] = (hit.astype(np.float64), ndcg)
    return out


def shared_ranks(
    embeddings: Embeddings, parts: Mapping[Counting, ScoringParts], chosen: list[Choice], cases: Cases
) -> dict[Choice, NDArray[np.int64]] | None:
    """Each case's rank (``MISS`` past ``K``) in every hybrid and plain (``similar``, ``next``)
    choice of ``chosen``, the work shared.

    Of the ~26 choices only 2 bases x the transition countings differ: per block of cases
    (``_CELLS`` scores, the blocks ``evaluate`` scores in, so every float is the same), each
    base's cosines are computed once (a plain mode's scores: its ranks are counted there), then
    standardised once (z), and each steps' log1p(transition scores) once; a hybrid choice then
    adds its weight x log1p(t) on the sparse entries and counts, per case, the items that beat
    the target (score higher, or equal at a lower catalogue position), query items excluded:
    rank = that count, from each row's ``K`` best (one partition per base and block) and the
    sparse entries. None when a score is NaN or infinite (the caller then ranks each choice on
    its own, as ``evaluate`` would).
    """
    import numpy as np

    hybrids = [c for c in chosen if c.mode == "hybrid"]
    plain = {score_mode(c.mode).base(c): c for c in chosen if c.mode in _PLAIN}
    if not hybrids and not plain:
        return {}
    index = embeddings.index
    n = len(index)
    weights = query_matrix(index, cases.queries)
    targets = np.array([index.get(t, -1) for t in cases.targets], dtype=np.int64)
    ranks = {c: np.full(len(cases), MISS, dtype=np.int64) for c in [*hybrids, *plain.values()]}
    batch = max(1, _CELLS // max(1, n))
    by_steps = {c.counting: c for c in hybrids}
    by_base = {c.base: c for c in reversed(hybrids)}
    bases = [*by_base, *(b for b in plain if b not in by_base)]
    any_part = next(iter(parts.values()))
    scores = np.empty((min(batch, len(cases)), n), dtype=np.float32)
    for start in range(0, len(cases), batch):
        block = weights[start : start + batch]
        target = targets[start : start + batch]
        live = (np.diff(block.indptr) > 0) & (target >= 0)
        logs = _transition_logs(parts, by_steps, block)
        if logs is None:
            return None
        unit = unit_rows(Scorer(any_part).query_vectors(block))
        rows, cols = block.nonzero()
        for base in bases:
            example = by_base.get(base) or plain[base]
            part = parts[example.counting] if example.mode == "hybrid" else any_part
            vectors, inverse = part.vectors(base, example.mode)
            z = block_product(unit, vectors, scores)  # part.cosines, in one block reused throughout
            z *= inverse
            if not np.asarray(np.isfinite(z).all(axis=1))[live].all():  # per row: no copy of the live rows
                return None
            z[rows, cols] = -np.inf
            if base in plain:  # the plain mode's scores: cosines
                ranks[plain[base]][start : start + batch] = _counted(z, target, live)
            if base not in by_base:
                continue
            # The hybrid mode's standardised base score, computed in place (one block in memory);
            # finite: the cosines are, and std is at least 1e-6
            mean, std = part.standard(base, unit, example.mode)
            if not (np.isfinite(mean[live]).all() and np.isfinite(std[live]).all()):
                return None
            z -= mean[:, None]
            z /= std[:, None]
            del mean, std
            top = _best(z) if n > K else None
            for choice in (c for c in hybrids if c.base == base):
                owner, columns, log = logs[choice.counting]
                added = (choice.weight * log).astype(np.float32)  # as the hybrid mode adds it
                ranks[choice][start : start + batch] = _beaten(z, top, (owner, columns, added), target, live)
    return ranks


def _transition_logs(
    parts: Mapping[Counting, ScoringParts], by_steps: Mapping[Counting, Choice], block: sp.csr_matrix
) -> dict[Counting, tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]] | None:
    """Per counting, a block's transition scores as (rows, columns, log1p(score)); None when one
    is not finite."""
    import numpy as np

    logs = {}
    for steps, example in by_steps.items():
        product = Scorer(parts[steps], example).transition_scores(block)
        assert product is not None
        owner = np.repeat(np.arange(product.shape[0]), np.diff(product.indptr))
        logs[steps] = (owner, product.indices.astype(np.int64), np.log1p(product.data))
        if not np.isfinite(logs[steps][2]).all():
            return None
    return logs


def _beaten(
    z: NDArray[np.float32],
    top: NDArray[np.float32] | None,
    added: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]],
    target: NDArray[np.int64],
    live: NDArray[np.bool_],
) -> NDArray[np.int64]:
    """Per row, how many items beat the target in z plus the sparse ``added`` (rows, columns,
    values: one entry per cell at most); ``MISS`` for a dead row or a count of ``K`` or more.

    ``top`` holds the ``K`` largest z of each row (None: count over the whole rows): fewer than
    ``K`` of them above the target's score is then the row's whole count, and an added value
    only raises a score, so ``K`` or more is a miss whatever it adds. Equal scores at a lower
    catalogue position also beat the target (a stable sort's order); a row whose ties ``top``
    cannot settle is counted over its whole row.
    """
    import numpy as np

    owner, columns, values = added
    cases, n = z.shape
    column = np.where(live, target, 0)
    score = z[np.arange(cases), column]
    at_target = columns == column[owner]
    score[owner[at_target]] += values[at_target]
    live = live & np.isfinite(score)
    bar, before, lower = score[owner], z[owner, columns], columns < column[owner]
    higher = np.count_nonzero((z if top is None else top) > score[:, None], axis=1)
    raised = before + values
    higher += _per_row(owner, raised > bar, cases) - _per_row(owner, before > bar, cases)
    ranks = np.full(cases, MISS, dtype=np.int64)
    near = live & (higher < K)
    whole = near.copy()
    if top is not None:  # ties settled by top: every z equal to the score is among the top values
        own = np.ones(cases, dtype=np.int64)
        own[owner[at_target]] = 0  # the target's z is the score unless a value was added to it
        expected = own + _per_row(owner, before == bar, cases)
        settled = (score > top.min(axis=1)) & (np.count_nonzero(top == score[:, None], axis=1) == expected)
        found = higher + _per_row(owner, (raised == bar) & lower, cases)
        fast = near & settled & (found < K)
        ranks[fast] = found[fast]
        whole &= ~settled
    rows = np.flatnonzero(whole)
    if not rows.shape[0]:
        return ranks
    block = z[rows]
    where = np.full(cases, -1, dtype=np.int64)
    where[rows] = np.arange(rows.shape[0])
    picked = where[owner] >= 0
    block[where[owner[picked]], columns[picked]] += values[picked]
    ties = np.count_nonzero((block == score[rows, None]) & (np.arange(n) < column[rows, None]), axis=1)
    found = higher[rows] + ties
    ranks[rows[found < K]] = found[found < K]
    return ranks


def _counted(
    scores: NDArray[np.float32], target: NDArray[np.int64], live: NDArray[np.bool_]
) -> NDArray[np.int64]:
    """Each row's rank (``MISS`` past ``K``) from finite scores (query items at -inf): the items
    that beat the target, counted from the row's ``K`` best as :func:`_beaten` counts (what
    ``evaluate``'s sort of each row's best would say, without the sort)."""
    import numpy as np

    n = scores.shape[1]
    none = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
    return _beaten(scores, _best(scores) if n > K else None, none, target, live)


def _best(z: NDArray[np.float32]) -> NDArray[np.float32]:
    """The ``K`` largest values of each row (unordered), partitioned a few rows at a time so that
    no copy of the whole block is made."""
    import numpy as np

    n = z.shape[1]
    best = np.empty((z.shape[0], K), dtype=z.dtype)
    for i in range(0, z.shape[0], 256):  # each partitioned copy freed at once (a slice would keep it)
        best[i : i + 256] = np.partition(z[i : i + 256], n - K, axis=1)[:, n - K :]
    return best


def _per_row(owner: NDArray[np.int64], mask: NDArray[np.bool_], cases: int) -> NDArray[np.int64]:
    """How many of each row's entries ``mask`` holds (``owner``: each entry's row)."""
    import numpy as np

    counted: NDArray[np.int64] = np.bincount(owner[mask], minlength=cases)
    return counted


def choose(
    outcomes: dict[Choice, tuple[NDArray[np.float64], NDArray[np.float64]]],
    groups: NDArray[np.int64] | None = None,
) -> tuple[Choice, str]:
    """The default unless a choice beats it clearly (see the module docstring); and why, in words.
    ``groups`` (each case's sequence, ``HeldOut.groups``) clusters the standard error by sequence
    (item2vec.evaluation.calibration_stats): a small log's cases of one sequence are correlated."""
    from item2vec.evaluation.calibration_stats import clear_winner_words

    hybrids = [c for c in outcomes if "direction" in c.uses]
    direction = hybrids[0].direction if hybrids else TRANSITION_DIRECTION
    anchor = Choice("hybrid", HYBRID_WEIGHT, HYBRID_BASE, direction=direction)
    if anchor not in outcomes:
        raise ValueError(f"the default {anchor.label()} is not among the choices measured")
    others = [c for c in outcomes if c != anchor]
    found, why = clear_winner_words(f"the default {anchor.label()}", outcomes[anchor],
                                    [outcomes[c] for c in others], groups)  # fmt: skip
    return (anchor if found is None else others[found]), why


class TrialJudge:
    """Judges a small log's training trials (``item2vec.training.small_log``) on the held-out
    items: each in its best way of scoring of calibration's grid, the preset's kept unless
    another beats it clearly (the rule of :func:`choose`)."""

    def score(
        self,
        embeddings: Embeddings,
        output: NDArray[np.float32],
        transitions: Mapping[Counting, TransitionMatrix],
        held_out: HeldOut,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], str]:
        cases = Cases([[q] for q in held_out.queries], held_out.targets)
        ahead = {k: t for k, t in transitions.items() if k[1] == TRANSITION_DIRECTION}
        outcomes = measure(embeddings, output, ahead, cases)
        best = max(outcomes, key=lambda c: float(outcomes[c][1].mean()))  # the first of equals
        return (*outcomes[best], best.label())

    def choose(
        self, outcomes: list[tuple[NDArray[np.float64], NDArray[np.float64]]], groups: NDArray[np.int64]
    ) -> tuple[int, str]:
        from item2vec.evaluation.calibration_stats import clear_winner_words

        found, why = clear_winner_words(
            "the preset's parameters", outcomes[0], outcomes[1:], groups, what="trial"
        )
        return (0 if found is None else found + 1), why
