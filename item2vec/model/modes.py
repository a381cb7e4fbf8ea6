"""Score modes: their names, and every default of scoring, in one place.

- ``similar``: cosine between input vectors (in·in): items alike. ``similar``'s default.
- ``next``: cosine between the query's input vector and each candidate's output vector
  (in·out, gensim's ``syn1neg``): what follows the query, or goes with it.
- ``hybrid``: the embedding score (``HYBRID_BASE``: in·in or in·out) standardised over the
  catalogue, plus ``HYBRID_WEIGHT`` · log1p(transition score), the transitions counted at
  training time (``transitions.npz``: b within ``TRANSITION_STEPS`` after a scores 1/distance,
  the top ``TRANSITION_KEEP`` followers of each item kept).

The values below are the defaults a model gets unless it records its own (``train --score``,
``tune``) or a flag overrides them; docs/presets.md has the measurements behind them.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from item2vec.errors import ConfigError

ScoreMode = Literal["similar", "next", "hybrid"]
HybridBase = Literal["similar", "next"]
SCORE_MODES: tuple[str, ...] = ("similar", "next", "hybrid")
HYBRID_BASES: tuple[str, ...] = ("similar", "next")

SIMILAR_SCORE: ScoreMode = "similar"  # `similar`: items alike, as before score modes existed
RECOMMEND_SCORE: ScoreMode = "hybrid"  # `recommend`, serve's /recommend, evaluate's first row
HYBRID_WEIGHT = 8.0  # w in z(embedding score) + w * log1p(transition score)
DECAY = 0.7  # a history's weight per step back (decay ** age): recommend, evaluate's history query
HYBRID_BASE: HybridBase = "next"  # the embedding score hybrid standardises: in·out
TRANSITION_STEPS = 10  # b up to this many items after a counts (1/distance)
TRANSITION_KEEP = 100  # followers kept per item in transitions.npz
TUNE_WEIGHTS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)  # hybrid weights `tune` tries on every trial
# Transition steps train's calibration tries for hybrid (the first is the default): 1 counts only
# what came next, which wins where order is strict (text as sequences; docs/presets.md).
CALIBRATION_STEPS = (TRANSITION_STEPS, 1)

# The sequential-rules baseline of evaluate (Kamehkhosh et al. 2017, as in session-rec): fixed by
# the method, not defaults of item2vec's own scoring.
RULES_STEPS = 10
RULES_KEEP = 20


def check_score(score: str, option: str = "--score") -> ScoreMode:
    """``score`` as a ScoreMode.

    Raises:
        ConfigError: not one of similar, next, hybrid.
    """
    if score not in SCORE_MODES:
        raise ConfigError(f"{option} {score!r} is unknown: use one of {', '.join(SCORE_MODES)}")
    return score  # type: ignore[return-value]


def check_hybrid(weight: float, base: str) -> tuple[float, HybridBase]:
    """The hybrid weight and base, checked.

    Raises:
        ConfigError: a negative or non-finite weight, or an unknown base.
    """
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
        raise ConfigError(f"--hybrid-weight {weight!r} is invalid: use a number of 0 or more, e.g. 2")
    if weight < 0:
        raise ConfigError(f"--hybrid-weight {weight!r} is invalid: use a number of 0 or more, e.g. 2")
    if base not in HYBRID_BASES:
        raise ConfigError(f"--hybrid-base {base!r} is unknown: use one of {', '.join(HYBRID_BASES)}")
    return float(weight), base  # type: ignore[return-value]


def model_scoring(meta: dict[str, Any]) -> tuple[ScoreMode, float, HybridBase]:
    """The model's default score mode, hybrid weight and base: as model.json records them
    (``train --score``, ``tune``), else the defaults above."""
    record = meta.get("scoring") or {}
    score = check_score(str(record.get("score", RECOMMEND_SCORE)))
    weight, base = check_hybrid(
        record.get("hybrid_weight", HYBRID_WEIGHT), str(record.get("hybrid_base", HYBRID_BASE))
    )
    return score, weight, base


def needs(score: ScoreMode, base: HybridBase) -> tuple[bool, bool]:
    """(needs output vectors, needs transitions) for a mode."""
    return score == "next" or (score == "hybrid" and base == "next"), score == "hybrid"
