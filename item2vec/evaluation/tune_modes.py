"""The score modes a ``tune`` trial is measured in, and the best of them.

Training is the cost of a trial; scoring its vectors in another mode is cheap. So every
trial (and every pruning checkpoint) ranks the validation cases in each mode of a small grid
— ``similar``, ``next``, and ``hybrid`` on each base with each weight of ``TUNE_WEIGHTS`` —
and its value is the best of them. The score mode and the weight are thereby searched
exhaustively for every training configuration TPE proposes, on validation data only, and the
winner's choice is what ``tune`` writes into its TOML.

The transitions a hybrid trial adds are counted from the training sequences over the trial's
own vocabulary (it depends on min-count), as ``train`` counts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from item2vec.corpus.packed import Packed
from item2vec.errors import ConfigError
from item2vec.evaluation.evaluate import rank_model
from item2vec.evaluation.ranking import Cases
from item2vec.model.embeddings import Embeddings
from item2vec.model.modes import (
    HYBRID_BASES,
    SCORE_MODES,
    TRANSITION_KEEP,
    TRANSITION_STEPS,
    TUNE_WEIGHTS,
    HybridBase,
    ScoreMode,
    check_hybrid,
    check_score,
)
from item2vec.model.transitions import TransitionMatrix, build_transitions
from item2vec.query.scoring import Scorer, ScoringParts
from item2vec.training.transitions import corpus_codes

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


@dataclass(frozen=True)
class Choice:
    """One way of scoring a trial's vectors."""

    score: ScoreMode
    weight: float | None = None
    base: HybridBase | None = None
    steps: int | None = None  # transition steps, when not the default (train's calibration only)

    def record(self) -> dict[str, Any]:
        """The choice as model.json's "scoring" record (and the TOML's keys)."""
        out: dict[str, Any] = {"score": self.score}
        if self.score == "hybrid":
            out.update(hybrid_weight=self.weight, hybrid_base=self.base)
        if self.steps is not None:
            out["transition_steps"] = self.steps
        return out

    def label(self) -> str:
        if self.score != "hybrid":
            return self.score
        steps = "" if self.steps is None else f",{self.steps} step" + ("s" if self.steps != 1 else "")
        return f"hybrid({self.base},{self.weight:g}{steps})"


def choices(
    scores: tuple[str, ...] = (), *, weight: float | None = None, base: str | None = None
) -> list[Choice]:
    """The grid: the modes asked for (default all), hybrid on the bases and weights asked for
    (default both bases, every weight of TUNE_WEIGHTS).

    Raises:
        ConfigError: an unknown mode or base, or a bad weight.
    """
    modes = [check_score(s) for s in dict.fromkeys(scores or SCORE_MODES)]
    weights = (weight,) if weight is not None else TUNE_WEIGHTS
    bases = (base,) if base is not None else HYBRID_BASES
    grid: list[Choice] = []
    for mode in modes:
        if mode != "hybrid":
            grid.append(Choice(mode))
            continue
        for b in bases:
            for w in weights:
                checked_weight, checked_base = check_hybrid(w, b)
                grid.append(Choice("hybrid", checked_weight, checked_base))
    if not grid:
        raise ConfigError("tune has no score mode to try: give --score similar, next or hybrid")
    return grid


class ModeScorer:
    """Scores a trial's vectors in every choice of the grid; keeps the training corpus packed."""

    def __init__(
        self, train: list[list[str]], cases: Cases, grid: list[Choice], metric: tuple[str, int]
    ) -> None:
        self.packed = Packed.from_lists(train)
        self.cases = cases
        self.grid = grid
        self.metric = metric
        self._transitions: tuple[tuple[str, ...], TransitionMatrix] | None = None

    def transitions(self, ids: list[str]) -> TransitionMatrix:
        """The training corpus's transitions over ``ids`` (built once per vocabulary)."""
        key = tuple(ids)
        if self._transitions is None or self._transitions[0] != key:
            codes, bounds = corpus_codes(self.packed, ids)
            matrix = build_transitions(codes, bounds, len(ids), steps=TRANSITION_STEPS, keep=TRANSITION_KEEP)
            self._transitions = (key, matrix)
        return self._transitions[1]

    def best(
        self, ids: list[str], vectors: NDArray[np.float32], output: NDArray[np.float32]
    ) -> tuple[float, Choice]:
        """The best metric value over the grid, and the choice that reached it (the first of equals)."""
        import numpy as np

        embeddings = Embeddings(
            ids=ids, vectors=np.asarray(vectors), counts=np.zeros(len(ids), dtype=np.int64)
        )
        hybrid = any(c.score == "hybrid" for c in self.grid)
        parts = ScoringParts(
            embeddings, output=np.asarray(output), transitions=self.transitions(ids) if hybrid else None
        )
        name, k = self.metric
        found: tuple[float, Choice] | None = None
        for choice in self.grid:
            scorer = Scorer(parts, choice.score, choice.weight or 0.0, choice.base or "similar")
            value = float(
                rank_model(embeddings, self.cases, kmax=k, scorer=scorer).metrics((k,))[f"{name}@{k}"]
            )
            if found is None or value > found[0]:
                found = (value, choice)
        assert found is not None
        return found
