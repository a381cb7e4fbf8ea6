"""Score modes: every default and bound of scoring, the checks on its values, and the names of
the modes registered.

- ``similar``: cosine between input vectors (in·in): items alike. ``similar``'s default.
- ``next``: cosine between the query's input vector and each candidate's output vector
  (in·out, gensim's ``syn1neg``): what follows the query, or goes with it.
- ``hybrid``: the embedding score (``HYBRID_BASE``: in·in or in·out) standardised over the
  catalogue, plus ``HYBRID_WEIGHT`` · log1p(transition score), the transitions counted at
  training time (``transitions.npz``: b within ``TRANSITION_STEPS`` after a scores 1/distance,
  times 1/sqrt(L) for a sequence of L items; with ``direction`` "both", b before a too; the top
  ``TRANSITION_KEEP`` of each item kept).

Each mode is one class in ``item2vec.query.score_modes``; registering it declares its name and
the :class:`~item2vec.model.scoring_record.Scoring` fields it reads here (:func:`declare_mode`),
so that this room can check a mode named in model.json without knowing how it scores.

The values below are the defaults a model gets unless it records its own (``train --score``,
``tune``) or a flag overrides them; docs/presets.md has the measurements behind them.
"""

from __future__ import annotations

import math
from typing import Any

from item2vec.errors import ConfigError, check_choice

ScoreMode = str  # a registered mode's name (see mode_names)
HybridBase = str  # one of HYBRID_BASES
HYBRID_BASES: tuple[str, ...] = ("similar", "next")  # the embedding scores: input or output vectors

SIMILAR_SCORE: ScoreMode = "similar"  # `similar`: items alike, as before score modes existed
RECOMMEND_SCORE: ScoreMode = "hybrid"  # `recommend`, serve's /recommend, evaluate's first row
HYBRID_WEIGHT = 4.0  # w in z(embedding score) + w * log1p(transition score); 8 trailed 4 on 5 of 8 logs
DECAY = 0.7  # a history's weight per step back (decay ** age): recommend, evaluate's history query
MAX_HYBRID_WEIGHT = 1000.0  # above it the transitions alone decide (and float32 overflows near 1e38)
HYBRID_BASE: HybridBase = "next"  # the embedding score hybrid standardises: in·out
TRANSITION_STEPS = 10  # b up to this many items after a counts (1/distance)
MAX_TRANSITION_STEPS = 1000
# Which neighbours of a in a sequence its transitions count: "next", the items after it (what
# follows); "both", before it too (what goes with it: baskets, whose order means little). train's
# calibration chooses; docs/presets.md has the measurements.
TRANSITION_DIRECTIONS = ("next", "both")
TRANSITION_DIRECTION = "next"
TRANSITION_KEEP = 100  # followers kept per item in transitions.npz
TUNE_WEIGHTS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)  # hybrid weights `tune` tries on every trial
# Transition steps train's calibration tries for hybrid (the first is the default): 1 counts only
# what came next, which wins where order is strict (text as sequences; docs/presets.md).
CALIBRATION_STEPS = (TRANSITION_STEPS, 1)
# Seen items (a history's own items) are left out of its recommendations unless a repeat weight
# is set: then each comes back with its score raised by weight x R x the spread of the query's
# scores, R = sum of decay ** age over its occurrences in the history (recency and frequency).
# train's calibration chooses among "left out" (None) and these on held-out whole histories.
REPEAT_WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
# How a history's items weigh in its query (decay ** age, age 0 = the latest): 1 is a plain mean,
# 0.1 is nearly the latest item alone. DECAY is the default; train's calibration chooses among these.
HISTORY_DECAYS = (1.0, DECAY, 0.4, 0.1)
HISTORY_SIZE = 5  # the latest items of a history a recommendation reads (recommend's default)
# Calibration ranks up to HISTORY_CASES of its held-out cases from their whole history as well
# (evenly spaced; fewer on a large catalogue: HISTORY_CELLS scores in all, cases x catalogue x
# decays); below MIN_HISTORY_CASES the history choices keep their defaults.
HISTORY_CASES = 1500
HISTORY_CELLS = 1 << 29
MIN_HISTORY_CASES = 100
MAX_REPEAT_WEIGHT = 1000.0
REPEAT_EXPECTED = f"a number from 0 to {MAX_REPEAT_WEIGHT:g}, e.g. 2"

# The sequential-rules baseline of evaluate (Kamehkhosh et al. 2017, as in session-rec): fixed by
# the method, not defaults of item2vec's own scoring.
RULES_STEPS = 10
RULES_KEEP = 20

FIELDS = ("weight", "base", "steps", "direction")  # the Scoring fields a mode may read besides its name
_MODES: dict[str, tuple[str, ...]] = {}  # name -> the FIELDS it reads, in registration order
WEIGHT_EXPECTED = f"a number from 0 to {MAX_HYBRID_WEIGHT:g}, e.g. 2"


def declare_mode(name: str, uses: tuple[str, ...] = ()) -> None:
    """Make ``name`` a known mode that reads the Scoring fields ``uses`` (of :data:`FIELDS`)."""
    unknown = [f for f in uses if f not in FIELDS]
    if unknown:
        raise ValueError(f"score mode {name!r} uses unknown fields {unknown}: use some of {FIELDS}")
    _MODES[name] = tuple(uses)


def forget_mode(name: str) -> None:
    """Remove a declared mode (tests that register one for a while)."""
    _MODES.pop(name, None)


def mode_names() -> tuple[str, ...]:
    """The declared modes, in the order they were registered."""
    return tuple(_MODES)


def mode_uses(name: str) -> tuple[str, ...]:
    """The Scoring fields mode ``name`` reads (none for an unknown name)."""
    return _MODES.get(name, ())


def __getattr__(name: str) -> Any:
    if name == "SCORE_MODES":  # the registered names, as they are now
        return mode_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_score(score: object, name: str = "score") -> ScoreMode:
    """``score`` as a registered mode's name.

    Raises:
        ConfigError: not a registered mode.
    """
    check_choice(name, score, mode_names())
    return str(score)


def check_weight(weight: object, name: str = "hybrid_weight") -> float:
    """The hybrid weight as a float from 0 to :data:`MAX_HYBRID_WEIGHT`.

    Raises:
        ConfigError: not a number, not finite, negative or above the bound.
    """
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise ConfigError(param=name, value=weight, expected=WEIGHT_EXPECTED)
    if not math.isfinite(weight) or not 0 <= weight <= MAX_HYBRID_WEIGHT:
        raise ConfigError(param=name, value=weight, expected=WEIGHT_EXPECTED)
    return float(weight)


def check_repeat(weight: object, name: str = "repeat_weight") -> float:
    """The repeat weight as a float from 0 to :data:`MAX_REPEAT_WEIGHT`.

    Raises:
        ConfigError: not a number, not finite, negative or above the bound.
    """
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise ConfigError(param=name, value=weight, expected=REPEAT_EXPECTED)
    if not math.isfinite(weight) or not 0 <= weight <= MAX_REPEAT_WEIGHT:
        raise ConfigError(param=name, value=weight, expected=REPEAT_EXPECTED)
    return float(weight)


def check_decay(decay: object, name: str = "decay") -> float:
    """A history's decay per step back, a number in (0, 1].

    Raises:
        ConfigError: another value.
    """
    ok = not isinstance(decay, bool) and isinstance(decay, (int, float)) and math.isfinite(decay)
    if not ok or not 0 < decay <= 1:  # type: ignore[operator]
        raise ConfigError(param=name, value=decay, expected="a weight in (0, 1]; 1 is a plain mean")
    return float(decay)  # type: ignore[arg-type]


def check_base(base: object, name: str = "hybrid_base") -> HybridBase:
    """The hybrid base, one of :data:`HYBRID_BASES`.

    Raises:
        ConfigError: another value.
    """
    check_choice(name, base, HYBRID_BASES)
    return base  # type: ignore[return-value]


def check_steps(steps: object, name: str = "transition_steps") -> int:
    """Transition steps, a whole number from 1 to :data:`MAX_TRANSITION_STEPS`.

    Raises:
        ConfigError: another value.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_TRANSITION_STEPS:
        raise ConfigError(
            param=name, value=steps, expected=f"a whole number from 1 to {MAX_TRANSITION_STEPS}"
        )
    return steps


def check_direction(direction: object, name: str = "transition_direction") -> str:
    """A transition direction, one of :data:`TRANSITION_DIRECTIONS`.

    Raises:
        ConfigError: another value.
    """
    check_choice(name, direction, TRANSITION_DIRECTIONS)
    return str(direction)


def check_hybrid(weight: object, base: object) -> tuple[float, HybridBase]:
    """The hybrid weight and base, checked (see :func:`check_weight`, :func:`check_base`)."""
    return check_weight(weight), check_base(base)
