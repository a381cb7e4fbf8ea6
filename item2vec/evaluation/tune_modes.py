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

from typing import TYPE_CHECKING

from item2vec.corpus.packed import Packed
from item2vec.errors import ConfigError, param
from item2vec.evaluation.evaluate import rank_model
from item2vec.evaluation.ranking import Cases
from item2vec.model.embeddings import Embeddings
from item2vec.model.modes import (
    HYBRID_BASES,
    TRANSITION_KEEP,
    TRANSITION_STEPS,
    TUNE_WEIGHTS,
    check_base,
    check_score,
    check_weight,
)
from item2vec.model.scoring_record import Scoring
from item2vec.model.transitions import TransitionMatrix, build_transitions
from item2vec.query.score_modes import registered, score_mode
from item2vec.query.scoring import Scorer, ScoringParts
from item2vec.training.build_transitions import corpus_codes

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

Choice = Scoring  # one way of scoring a trial's vectors (the name tune and calibration use)


def choices(
    scores: tuple[str, ...] = (),
    *,
    weight: float | None = None,
    base: str | None = None,
    steps: tuple[int, ...] = (TRANSITION_STEPS,),
) -> list[Scoring]:
    """The grid: each registered mode asked for (default all) with its grid (score_modes), on the
    weights, bases and transition steps asked for (default every weight of TUNE_WEIGHTS, both
    bases, the default steps). Every grid of the default steps comes first, then each other steps'.

    Raises:
        ConfigError: an unknown mode or base, or a bad weight.
    """
    modes = [check_score(s) for s in dict.fromkeys(scores)] or list(registered())
    weights = (check_weight(weight),) if weight is not None else TUNE_WEIGHTS
    bases = (check_base(base),) if base is not None else HYBRID_BASES
    grid: list[Scoring] = []
    for count in dict.fromkeys(steps):
        for mode in modes:
            found = score_mode(mode).grid(weights=weights, bases=bases, steps=(count,))
            grid += [c for c in found if c not in grid]
    if not grid:
        names = ", ".join(registered())
        raise ConfigError(
            f"tune has no score mode to try: give {param('score')} {names}", param="score", expected=names
        )
    return grid


class ModeScorer:
    """Scores a trial's vectors in every choice of the grid; keeps the training corpus packed."""

    def __init__(
        self, train: list[list[str]], cases: Cases, grid: list[Scoring], metric: tuple[str, int]
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
            matrix = build_transitions(codes, bounds, len(ids), steps=TRANSITION_STEPS, keep=TRANSITION_KEEP,
                                       per_length=True)  # fmt: skip
            self._transitions = (key, matrix)
        return self._transitions[1]

    def best(
        self, ids: list[str], vectors: NDArray[np.float32], output: NDArray[np.float32]
    ) -> tuple[float, Scoring]:
        """The best metric value over the grid, and the choice that reached it (the first of equals)."""
        import numpy as np

        embeddings = Embeddings(
            ids=ids, vectors=np.asarray(vectors), counts=np.zeros(len(ids), dtype=np.int64)
        )
        counted = any(score_mode(c.mode).uses_transitions for c in self.grid)
        parts = ScoringParts(
            embeddings, output=np.asarray(output), transitions=self.transitions(ids) if counted else None
        )
        name, k = self.metric
        found: tuple[float, Scoring] | None = None
        for choice in self.grid:
            scorer = Scorer(parts, choice)
            value = float(
                rank_model(embeddings, self.cases, kmax=k, scorer=scorer).metrics((k,))[f"{name}@{k}"]
            )
            if found is None or value > found[0]:
                found = (value, choice)
        assert found is not None
        return found
