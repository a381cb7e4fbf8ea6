"""What the HTTP service knows about scoring: the model's parts and indexes, the score modes it
can answer (read at start-up), the words and schemas its requests show for them (from the
registry), and the 422 body of an error, parameters named as a request names them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from item2vec.errors import UNSET, Item2VecError, python_name
from item2vec.model.embeddings import Embeddings
from item2vec.model.modes import HYBRID_BASES, WEIGHT_EXPECTED
from item2vec.model.scoring_record import Scoring
from item2vec.query.score_modes import registered
from item2vec.query.scoring import make_scorer
from item2vec.query.scoring_parts import ScoringParts, open_parts
from item2vec.query.searcher import Searcher


def open_scoring(
    embeddings: Embeddings, model: Path | str, *, approx: bool = False
) -> tuple[ScoringParts, Searcher | None]:
    """The model's scoring parts and, with ``approx``, its indexes (the input vectors' read now).

    Raises:
        ModelError: ``approx`` and the model has no index (or a stale one).
    """
    searcher = None
    if approx:
        from item2vec.query.index import set_threads
        from item2vec.query.searcher import open_searcher

        searcher = open_searcher(model, embeddings)
        set_threads(1)  # one request, one thread: concurrency comes from requests, not OpenMP
    return open_parts(embeddings, model), searcher


def ready_modes(parts: ScoringParts, searcher: Searcher | None = None) -> list[str]:
    """The score modes the model can answer (each in the model's recorded scoring, with an index
    where ``searcher`` is given), their parts read now rather than in the first request.

    Raises:
        ModelError: the model's scoring record or a part it has is not valid (at start-up).
    """
    default = Scoring.from_record(parts.embeddings.meta)
    ready = []
    for name, mode in registered().items():
        scoring = replace(default, mode=name)
        if mode.missing(parts, scoring) is not None:
            continue
        if searcher is not None and not searcher.has(mode.base(scoring)):
            continue
        make_scorer(parts, scoring, searcher=searcher)
        ready.append(name)
    return ready


@dataclass(frozen=True)
class ScoreWords:
    """What a request's score fields say in the OpenAPI docs: the registered modes and the bases.

    The values themselves are checked once, by the core (a 422 from :func:`error_body`).
    """

    modes: str
    mode_schema: dict[str, Any]
    base_schema: dict[str, Any]
    weight: str

    @classmethod
    def now(cls) -> ScoreWords:
        modes = registered()
        return cls(
            modes="; ".join(f"{name}: {mode.help}" for name, mode in modes.items()),
            mode_schema={"enum": list(modes)},
            base_schema={"enum": list(HYBRID_BASES)},
            weight=f"hybrid: weight of log1p(transitions), {WEIGHT_EXPECTED}.",
        )


def error_body(exc: Item2VecError) -> dict[str, Any]:
    """A 422 body: the message with parameters named as the request names them, and the fields."""
    body: dict[str, Any] = {"detail": exc.render(python_name)}
    if exc.param is not None:
        body["param"] = exc.param
        if exc.value is not UNSET:
            body["value"] = json_safe(exc.value)
    if exc.expected is not None:
        body["expected"] = exc.expected
    return body


def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats spelled as strings (JSON has no NaN or Infinity)."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
