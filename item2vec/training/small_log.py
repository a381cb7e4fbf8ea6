"""On a small log, train a few times and keep the training parameters that rank held-out items best.

On a large log one training run is what there is time for, and the ``recsys`` preset's window,
epochs and min-count are a good bet. On a small log a run takes seconds, and the best values
differ from log to log (a sparse product-view log went from 0.070 to 0.186 HR@10 with window 15,
40 epochs: docs/presets.md), so where the log has at most ``SMALL_LOG_TOKENS`` events and the
caller left them to the preset, ``train`` tries each point of ``GRID`` (window and epochs) besides
the preset's:
every trial trains on the calibration's reduced corpus (the held-out items never reach it) and
ranks the held-out items in its best way of scoring (the judge's, ``item2vec.evaluation``:
calibration's grid). A trial replaces the preset's only when it beats it clearly: by the rule
calibration uses (NDCG@10 higher by three standard errors of the paired difference, clustered
by sequence, with a higher HR@10). A trial starts only when the time it should take (the
preset's trial's, scaled by its epochs) still fits in ``BUDGET_SECONDS`` of trials. The
winner's own training is the model's (nothing is trained again), and calibration then chooses
its scoring as usual. model.json's ``search`` records each trial: its values, figures, seconds.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from item2vec.model.modes import TRANSITION_DIRECTION
from item2vec.training.config import TrainConfig

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from item2vec.model.embeddings import Embeddings
    from item2vec.model.transitions import TransitionMatrix
    from item2vec.training.gensim_engine import ProgressOption, Trained
    from item2vec.training.holdout import HeldOut

SMALL_LOG_TOKENS = 150_000  # MovieLens-100K's size: a run takes seconds
BUDGET_SECONDS = 30.0  # of trials: one starts only if its estimate (the first's time x its epochs) fits
SEARCHED = ("window", "epochs")  # min-count: the preset keeps every item, never worse on eight logs
GRID: tuple[dict[str, int], ...] = (
    {"window": 15, "epochs": 40},
    {"window": 3},
    {"epochs": 50},
    {"window": 15},
)
Outcome = tuple["NDArray[np.float64]", "NDArray[np.float64]"]  # per held-out case: hit@10, NDCG@10


class TrialJudge(Protocol):
    """Scores a trial on the held-out items and picks among trials (``item2vec.evaluation``)."""

    def score(
        self,
        embeddings: Embeddings,
        output: NDArray[np.float32],
        transitions: Mapping[tuple[int, str], TransitionMatrix],
        held_out: HeldOut,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], str]:
        """Per held-out case hit@10 and NDCG@10 in the trial's best way of scoring, and its label."""
        ...

    def choose(self, outcomes: list[Outcome], groups: NDArray[np.int64]) -> tuple[int, str]:
        """The trial to keep (0, the preset's, unless another beats it clearly), and why."""
        ...


@dataclass
class Trial:
    """One trial: its parameters, its training, what the held-out callback saw, and its figures."""

    config: TrainConfig
    trained: Trained
    seen: tuple[list[str], list[int], NDArray[np.float32], NDArray[np.float32]]
    outcome: Outcome
    scoring: str
    seconds: float

    def record(self) -> dict[str, Any]:
        hit, ndcg = self.outcome
        return {
            **{name: getattr(self.config, name) for name in SEARCHED},
            "scoring": self.scoring,
            "hr@10": round(float(hit.mean()), 4),
            "ndcg@10": round(float(ndcg.mean()), 4),
            "seconds": round(self.seconds, 2),
        }


def why_not(config: TrainConfig, given: frozenset[str] | None, tokens: int) -> str | None:
    """Why this run does not search (None: it does)."""
    fixed = [name for name in SEARCHED if given is None or name in given]
    if config.preset != "recsys":
        return f"the {config.preset} preset"
    if len(fixed) == len(SEARCHED):
        return "window and epochs were given"
    if tokens > SMALL_LOG_TOKENS:
        return f"{tokens:,} events, more than the {SMALL_LOG_TOKENS:,} of a small log"
    return None


def points(config: TrainConfig, given: frozenset[str] | None) -> list[TrainConfig]:
    """The preset's parameters first, then each point of the grid that differs from them and
    changes only what the caller left to the preset."""
    out = [config]
    for point in GRID:
        if given is not None and any(name in given for name in point):
            continue
        values: dict[str, Any] = dict(point)
        candidate = replace(config, **values)
        if all(candidate != seen for seen in out):
            out.append(candidate)
    return out


def _trial(held: HeldOut, config: TrainConfig, judge: TrialJudge, progress: ProgressOption) -> Trial:
    """Train with ``config`` on the reduced corpus and score the held-out items."""
    import numpy as np

    from item2vec.model.embeddings import Embeddings
    from item2vec.training.gensim_engine import train

    seen: list[tuple[list[str], list[int], NDArray[np.float32], NDArray[np.float32]]] = []
    began = time.perf_counter()
    trained = train(held.full, config=config, progress=progress, held_out=held,
                    on_held_out=lambda *state: seen.append(state))  # fmt: skip
    ids, counts, vectors, output = seen[0]
    embeddings = Embeddings(ids=ids, vectors=vectors, counts=np.asarray(counts, dtype=np.int64))
    hit, ndcg, label = judge.score(embeddings, output, held.transitions(ids, (TRANSITION_DIRECTION,)), held)
    return Trial(config, trained, seen[0], (hit, ndcg), label, time.perf_counter() - began)


def search(
    held: HeldOut,
    config: TrainConfig,
    given: frozenset[str] | None,
    judge: TrialJudge,
    *,
    progress: ProgressOption = None,
    budget: float = BUDGET_SECONDS,
) -> tuple[Trial, dict[str, Any]]:
    """Train each point (:func:`points`) that fits in the budget; the trial to keep, and model.json's
    ``search`` record."""
    trials: list[Trial] = []
    started = time.perf_counter()
    grid = points(config, given)
    for point in grid:
        if trials:
            estimate = trials[0].seconds * point.epochs / max(1, config.epochs)
            if time.perf_counter() - started + estimate > budget:
                continue
        trials.append(_trial(held, point, judge, progress))
    chosen, why = judge.choose([t.outcome for t in trials], held.groups)
    record = {
        "budget_seconds": budget,
        "tried": [t.record() for t in trials],
        "untried": len(grid) - len(trials),
        "chosen": {name: getattr(trials[chosen].config, name) for name in SEARCHED},
        "why": why,
        "seconds": round(time.perf_counter() - started, 2),
    }
    return trials[chosen], record
