"""``Scoring``: one way of scoring candidates, as one typed value.

A mode (a name registered by a class of ``item2vec.query.score_modes``) with the values it may
read: the hybrid weight and base, and the transition steps its transitions were counted over.
Every edge builds one: the command line and the API from their options (:meth:`Scoring.checked`,
each value checked once, where it enters), a model from its model.json "scoring" record
(:meth:`Scoring.from_record`), ``tune`` and train's calibration from their grids. The scorer
(``item2vec.query.scoring``) takes it as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from item2vec.errors import ConfigError, ModelError, cut
from item2vec.model.modes import (
    DECAY,
    HYBRID_BASE,
    HYBRID_WEIGHT,
    RECOMMEND_SCORE,
    TRANSITION_DIRECTION,
    TRANSITION_STEPS,
    check_base,
    check_decay,
    check_direction,
    check_repeat,
    check_score,
    check_steps,
    check_weight,
    mode_uses,
)

# Scoring field -> its key in model.json's "scoring" record (and in tune's TOML).
RECORD_KEYS = {"mode": "score", "weight": "hybrid_weight", "base": "hybrid_base", "steps": "transition_steps",
               "direction": "transition_direction"}  # fmt: skip
_CHECKS: dict[str, Callable[[object, str], Any]] = {
    "mode": check_score,
    "weight": check_weight,
    "base": check_base,
    "steps": check_steps,
    "direction": check_direction,
}
_COUNTING = {"steps": TRANSITION_STEPS, "direction": TRANSITION_DIRECTION}  # recorded when not these
REPEAT_KEY = "repeat_weight"  # model.json's "scoring" key of Scoring.repeat (absent: seen items left out)
DECAY_KEY = "history_decay"  # model.json's "scoring" key of Scoring.decay (absent: DECAY)
_SAMPLE = '{"score": "hybrid", "hybrid_weight": 8.0, "hybrid_base": "next"}'


@dataclass(frozen=True)
class Scoring:
    """A score mode and the values it reads (fields a mode does not read keep their defaults).

    ``steps`` and ``direction`` say how the transitions were counted (descriptive at query time:
    the model's transitions.npz holds them; train's calibration picks a transition part by them).
    ``repeat`` is what a history's own items get, in every mode: None, left out of its
    recommendations; a weight, scored again and raised by weight x their recency-and-frequency
    score (``item2vec.query.repeats``). ``decay`` weighs a history's items in its query
    (``decay ** age``). Both apply to histories only, never to ``similar``'s query, and in every mode.
    """

    mode: str = RECOMMEND_SCORE
    weight: float = HYBRID_WEIGHT
    base: str = HYBRID_BASE
    steps: int = TRANSITION_STEPS
    direction: str = TRANSITION_DIRECTION
    repeat: float | None = None
    decay: float = DECAY

    @property
    def score(self) -> str:
        """The mode's name, as model.json's record and ``--score`` call it."""
        return self.mode

    @property
    def uses(self) -> tuple[str, ...]:
        """The fields the mode reads besides its name."""
        return mode_uses(self.mode)

    def record(self) -> dict[str, Any]:
        """model.json's "scoring" record (and tune's TOML keys): the mode and the values it reads,
        the steps only when not the default."""
        out: dict[str, Any] = {"score": self.mode}
        for name in self.uses:
            value = getattr(self, name)
            if name not in _COUNTING or value != _COUNTING[name]:
                out[RECORD_KEYS[name]] = value
        if self.repeat is not None:
            out[REPEAT_KEY] = self.repeat
        if self.decay != DECAY:
            out[DECAY_KEY] = self.decay
        return out

    def label(self) -> str:
        """A compact name for tables: ``similar``, ``hybrid(next,8)``, ``hybrid(next,8,1 step)``."""
        values = []
        if "base" in self.uses:
            values.append(str(self.base))
        if "weight" in self.uses:
            values.append(f"{self.weight:g}")
        if "steps" in self.uses and self.steps != TRANSITION_STEPS:
            values.append(f"{self.steps} step" + ("s" if self.steps != 1 else ""))
        if "direction" in self.uses and self.direction != TRANSITION_DIRECTION:
            values.append(f"{self.direction} ways" if self.direction == "both" else self.direction)
        label = f"{self.mode}({','.join(values)})" if values else self.mode
        if self.decay != DECAY:
            label += f"+decay({self.decay:g})"
        return label if self.repeat is None else f"{label}+repeat({self.repeat:g})"

    def with_steps(self, steps: int) -> Scoring:
        return replace(self, steps=steps)

    @property
    def counting(self) -> tuple[int, str]:
        """The transitions it reads: (steps, direction), a key of calibration's transition parts."""
        return self.steps, self.direction

    @classmethod
    def checked(
        cls,
        mode: object = None,
        weight: object = None,
        base: object = None,
        steps: object = None,
        *,
        repeat: object = None,
        decay: object = None,
        default: Scoring | None = None,
    ) -> Scoring:
        """A Scoring from values given by a person (None: unset, ``default``'s value).

        Raises:
            ConfigError: a value that is not valid, naming its parameter (``score``,
                ``hybrid_weight``, ``hybrid_base``, ``transition_steps``, ``repeat_weight``).
        """
        given = {"mode": mode, "weight": weight, "base": base, "steps": steps}
        names = {
            "mode": "score",
            "weight": "hybrid_weight",
            "base": "hybrid_base",
            "steps": "transition_steps",
        }
        values: dict[str, Any] = {
            key: _CHECKS[key](value, names[key]) for key, value in given.items() if value is not None
        }
        if repeat is not None:
            values["repeat"] = check_repeat(repeat, REPEAT_KEY)
        if decay is not None:
            values["decay"] = check_decay(decay, "decay")
        return replace(default or cls(), **values)

    @classmethod
    def recorded_history(cls, meta: Mapping[str, Any]) -> tuple[float | None, float]:
        """The repeat weight and history decay model.json's "scoring" record holds (None and
        DECAY where it has none), reading those keys alone.

        Raises:
            ModelError: a key holds a value that is not valid.
        """
        record = meta.get("scoring")
        if not isinstance(record, Mapping):
            return None, DECAY
        return _history_values(record)

    @classmethod
    def from_record(cls, meta: Mapping[str, Any]) -> Scoring:
        """The model's default scoring: model.json's "scoring" record (``train --score``,
        ``tune``, train's calibration), else the defaults; the steps default to those its
        transitions were counted over.

        Raises:
            ModelError: a record that is not valid (a hand-edited model.json), naming the key.
        """
        record = meta.get("scoring")
        if record is None:
            record = {}
        if not isinstance(record, Mapping):
            raise _bad_record("scoring", record, f"a record such as {_SAMPLE}")
        values: dict[str, Any] = {}
        for key, name in RECORD_KEYS.items():
            if name in record:
                try:
                    values[key] = _CHECKS[key](record[name], name)
                except ConfigError as exc:
                    raise _bad_record(f"scoring.{name}", record[name], exc.expected or "") from None
        if "steps" not in values:
            values["steps"] = _counted_steps(meta.get("transitions"))
        if "direction" not in values:
            values["direction"] = _counted_direction(meta.get("transitions"))
        values["repeat"], values["decay"] = _history_values(record)
        return replace(cls(), **values)


def _history_values(record: Mapping[str, Any]) -> tuple[float | None, float]:
    """The record's repeat weight (None: absent) and history decay (DECAY: absent), checked."""
    repeat, decay = None, DECAY
    try:
        if record.get(REPEAT_KEY) is not None:
            repeat = check_repeat(record[REPEAT_KEY], REPEAT_KEY)
    except ConfigError as exc:
        raise _bad_record(f"scoring.{REPEAT_KEY}", record[REPEAT_KEY], exc.expected or "") from None
    try:
        if record.get(DECAY_KEY) is not None:
            decay = check_decay(record[DECAY_KEY], DECAY_KEY)
    except ConfigError as exc:
        raise _bad_record(f"scoring.{DECAY_KEY}", record[DECAY_KEY], exc.expected or "") from None
    return repeat, decay


def _counted_steps(transitions: object) -> int:
    """The steps model.json's "transitions" record says they were counted over (default if none)."""
    if transitions is None:
        return TRANSITION_STEPS
    if not isinstance(transitions, Mapping):
        raise _bad_record("transitions", transitions, 'a record such as {"steps": 10, "keep": 100, ...}')
    steps = transitions.get("steps", TRANSITION_STEPS)
    try:
        return check_steps(steps, "steps")
    except ConfigError as exc:
        raise _bad_record("transitions.steps", steps, exc.expected or "") from None


def _counted_direction(transitions: object) -> str:
    """The direction model.json's "transitions" record says they were counted in (default if none)."""
    if not isinstance(transitions, Mapping):
        return TRANSITION_DIRECTION  # _counted_steps refuses a record that is not one
    direction = transitions.get("direction", TRANSITION_DIRECTION)
    try:
        return check_direction(direction, "direction")
    except ConfigError as exc:
        raise _bad_record("transitions.direction", direction, exc.expected or "") from None


def _bad_record(key: str, value: object, expected: str) -> ModelError:
    return ModelError(
        f"model.json's {key!r} is {cut(repr(value), 60)}, not {expected}: fix model.json (or retrain the model)",
        value=value,
        expected=expected,
    )
