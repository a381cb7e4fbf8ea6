"""What the HTTP service knows about scoring: the model's parts and indexes, the score modes it
can answer (read at start-up), the words and schemas its requests show for them (from the
registry), a request's candidate filters (``exclude``, ``only``, ``where``), the refusal of a
repeated parameter, and the 422 body of an error, parameters named as a request names them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.errors import UNSET, ConfigError, Item2VecError, Namer, python_name, spell
from item2vec.model.embeddings import Embeddings
from item2vec.model.modes import HYBRID_BASES, WEIGHT_EXPECTED
from item2vec.model.scoring_record import Scoring
from item2vec.query.filters import candidate_filter, shortfall_notes
from item2vec.query.score_modes import registered
from item2vec.query.scoring import Scorer, make_scorer
from item2vec.query.scoring_parts import ScoringParts, open_parts
from item2vec.query.searcher import Searcher

if TYPE_CHECKING:
    import pyarrow as pa


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


# Parameters a request names otherwise than the core: the items table's filter is ``where``.
REQUEST_NAMES = {"item_where": "where"}
request_namer: Namer = functools.partial(python_name, names=REQUEST_NAMES)
# Query parameters that take several values (each repeated); any other is refused when repeated.
LIST_PARAMS = frozenset({"exclude", "only", "where", "positive", "negative"})


def single_values(pairs: Iterable[tuple[str, str]]) -> None:
    """Refuse a query parameter given twice (``?k=3&k=5``), which would silently take the last.

    Raises:
        ConfigError: a parameter other than the list ones (:data:`LIST_PARAMS`) is repeated.
    """
    seen: dict[str, str] = {}
    for name, value in pairs:
        if name in seen and name not in LIST_PARAMS:
            raise ConfigError(
                f"{name!r} is given more than once ({seen[name]!r}, {value!r}): give it once",
                param=name, value=[seen[name], value], expected="one value",
            )  # fmt: skip
        seen.setdefault(name, value)


def filtered_scorer(
    scorer: Scorer,
    exclude: list[str] | None,
    only: list[str] | None,
    where: list[str] | Mapping[str, Any] | None,
    *,
    items: pa.Table | None = None,
) -> tuple[Scorer, list[str]]:
    """``scorer`` answering only with the items a request's filters keep, and notes (ids the
    model lacks) in the request's terms.

    Raises:
        ConfigError: a malformed ``where``, or one on a column the items table lacks.
        EmptyResultError: the filters leave no item.
    """
    found = candidate_filter(
        scorer.embeddings, exclude=exclude or (), only=only, item_where=where or (), items=items
    )
    if found is None:
        return scorer, []
    return replace(scorer, candidates=found), [spell(note, request_namer) for note in found.notes]


def short_notes(scorer: Scorer, answer: list[Any], labels: list[str], k: int) -> list[str]:
    """A note when the request's filters left a query with fewer than ``k`` items."""
    if scorer.candidates is None:
        return []
    notes = shortfall_notes(answer, labels, k, scorer.candidates, approx=scorer.approx)
    return [spell(note, request_namer) for note in notes]


def error_body(exc: Item2VecError) -> dict[str, Any]:
    """A 422 body: the message with parameters named as the request names them, and the fields."""
    body: dict[str, Any] = {"detail": exc.render(request_namer)}
    if exc.param is not None:
        body["param"] = REQUEST_NAMES.get(exc.param, exc.param)
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
