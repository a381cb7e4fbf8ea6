"""The HTTP service: a FastAPI app over one loaded model (the ``item2vec[serve]`` extra).

``make_app(embeddings)`` builds the app; tests drive it with a test client, ``serve`` runs it
with uvicorn. The model is loaded once: vectors stay memory-mapped (shared by the page cache
between workers) and are never written; exact search reads them in place (``q · v / |v|``), so a
worker holds only the ids and one norm per item besides them.

Endpoints: ``GET /similar``, ``GET /analogy``, ``POST /recommend``, ``GET /items/{id}``,
``GET /health``; OpenAPI docs at ``/docs``. An unknown item is a 404 naming it; k outside
1…1000, a history over 1,000 items, a number that is not finite (``NaN``, ``Infinity``) or an
otherwise bad request is a 422 with a JSON body (``detail``, and ``param``, ``value``, ``expected``
where one parameter is at fault, named as the request names it). ``/similar`` and ``/recommend``
take a ``score`` mode (``hybrid_weight``, ``hybrid_base``; the modes registered in
``item2vec.query.score_modes``); a mode the model lacks a part (or, with an index, the index) for
is a 422 saying why, and ``/health`` lists only the modes it can answer (the parts are read at
start-up). They also take candidate filters, ``exclude``, ``only`` and ``where`` (repeated query
parameters, or JSON lists; ``where`` also an object of column to value), and a ``notes`` list
comes back when ids are unknown or fewer than ``k`` items pass. A query parameter given twice
(other than those lists) is a 422, never silently its last value.

Running it (``serve``: the checks, the port, uvicorn and its worker processes) is
``item2vec.query.server_run``.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations,
# which name classes defined inside make_app.

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.errors import Item2VecError, python_name, spell
from item2vec.extras import require
from item2vec.model.embeddings import Embeddings, Neighbour
from item2vec.query.scoring import Scorer, ScoringParts, make_scorer, open_parts
from item2vec.query.searcher import Searcher
from item2vec.query.server_scoring import (
    ScoreWords,
    error_body,
    filtered_scorer,
    json_safe,
    ready_modes,
    short_notes,
    single_values,
)
from item2vec.version import __version__

if TYPE_CHECKING:
    import pyarrow as pa
    from fastapi import FastAPI

MAX_K = 1000
MAX_HISTORY = 1000
MAX_FILTER = 100_000  # ids in one exclude or only list
PURPOSE = "item2vec serve"


def load_for_serving(model: Path | str) -> Embeddings:
    """Load a model, memory-mapped."""
    from item2vec.model.store import load

    return load(model, mmap=True)


def make_app(
    embeddings: Embeddings,
    *,
    title: str = "item2vec",
    parts: ScoringParts | None = None,
    searcher: Searcher | None = None,
    items: "pa.Table | None" = None,
) -> "FastAPI":
    """The FastAPI app answering from ``embeddings`` and, for the score modes, the model's
    ``parts`` (``open_parts``; None: ``similar`` only), from ``searcher``'s indexes if given;
    ``where`` filters may read ``items``' columns (``read_items_table``) beside id, name and count.

    Raises:
        MissingDependencyError: fastapi is not installed.
        ModelError: the model's scoring record (model.json) or a part it has is not valid.
    """
    require("fastapi", PURPOSE)
    from fastapi import Depends, FastAPI, Request
    from fastapi.encoders import jsonable_encoder
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    index_kind = searcher.kind if searcher is not None else None
    embeddings.index  # noqa: B018 - build the id lookup and the norms now, not in the first request
    embeddings.inverse_norms  # noqa: B018
    parts = parts or open_parts(embeddings, None)
    modes = ready_modes(parts, searcher)

    async def once(request: Request) -> None:
        # async: a plain check, run on the event loop (a sync dependency costs a thread hop per request)
        single_values(request.query_params.multi_items())

    app = FastAPI(
        dependencies=[Depends(once)],
        title=title,
        description="Similar items, analogies and recommendations from item2vec embeddings.",
        version=__version__,
    )

    @app.exception_handler(UnknownItems)
    def unknown(_request: Any, exc: UnknownItems) -> Any:
        body: dict[str, Any] = {"detail": exc.message}
        body.update({"item": exc.items[0]} if len(exc.items) == 1 else {"items": exc.items})
        return JSONResponse(status_code=404, content=body)

    @app.exception_handler(Item2VecError)
    def invalid(_request: Any, exc: Item2VecError) -> Any:
        return JSONResponse(status_code=422, content=error_body(exc))

    @app.exception_handler(RequestValidationError)
    def malformed(_request: Any, exc: RequestValidationError) -> Any:
        # FastAPI's own handler echoes the input, which cannot be JSON when it is NaN or Infinity.
        return JSONResponse(status_code=422, content={"detail": json_safe(jsonable_encoder(exc.errors()))})

    @app.get("/health", summary="Liveness, model size and search mode")
    def health() -> dict[str, Any]:
        return {"status": "ok", "items": len(embeddings), "dim": embeddings.dim, "approx": searcher is not None,
                "index": index_kind, "scores": modes}  # fmt: skip

    _query_routes(app, embeddings, parts, searcher, items)
    _item_routes(app, embeddings)
    return app


class UnknownItems(Exception):
    """Items of a request that are not in the model (answered with 404)."""

    def __init__(self, embeddings: Embeddings, items: list[str]) -> None:
        super().__init__(items)
        self.items = items
        self.message = "; ".join(spell(embeddings.unknown_message(item), python_name) for item in items[:5])


def _known(embeddings: Embeddings, items: list[str]) -> None:
    missing = [item for item in items if item not in embeddings.index]
    if missing:
        raise UnknownItems(embeddings, missing)


def _result_rows(answer: list[Neighbour]) -> list[dict[str, Any]]:
    return [{"rank": n.rank, "item": n.item, "score": round(n.score, 6), "name": n.name} for n in answer]


def _built(body: dict[str, Any]) -> Any:
    """The response of a route that builds its whole body itself (/similar, /recommend): sent as
    it is, not validated again against the route's response model (which the docs still show)."""
    from fastapi.responses import JSONResponse

    return JSONResponse(body)


def _query_routes(
    app: "FastAPI",
    embeddings: Embeddings,
    parts: ScoringParts,
    searcher: Searcher | None,
    items: "pa.Table | None",
) -> None:
    """GET /similar, GET /analogy, and POST /recommend (:func:`_recommend_route`)."""
    from typing import Annotated

    from fastapi import Query
    from pydantic import BaseModel, Field

    words = ScoreWords.now()
    K = Annotated[int, Query(ge=1, le=MAX_K, description="How many results.")]
    Mode = Annotated[str, Query(description=words.modes, json_schema_extra=words.mode_schema)]
    Weight = Annotated[float | None, Query(description=words.weight)]
    Base = Annotated[
        str | None, Query(description="hybrid: the embedding score.", json_schema_extra=words.base_schema)
    ]
    Ids = Annotated[list[str] | None, Query(max_length=MAX_FILTER, description="Item ids (repeat it).")]
    Filters = Annotated[list[str] | None, Query(max_length=100, description="Filters on the items table.")]

    scorer, narrow = _scorers(parts, searcher, items)

    class Result(BaseModel):
        rank: int
        item: str
        score: float
        name: str | None = None

    class Answer(BaseModel):
        query: str
        score: str = "similar"
        results: list[Result]

    class Filtered(Answer):
        notes: list[str] = Field(default_factory=list)  # unknown ids in a filter; fewer than k left

    @app.get(
        "/similar",
        response_model=Filtered,
        summary="Items most similar to an item (cosine), or what follows it",
    )
    def similar(
        item: Annotated[str, Query(description="Item id.")],
        k: K = 10,
        score: Mode = "similar",
        hybrid_weight: Weight = None,
        hybrid_base: Base = None,
        exclude: Ids = None,
        only: Ids = None,
        where: Filters = None,
    ) -> Any:
        _known(embeddings, [item])
        chosen, notes = narrow(scorer(score, hybrid_weight, hybrid_base), exclude, only, where)
        answer = chosen.similar([item], k)
        notes += short_notes(chosen, answer, [item], k)
        body = {"query": item, "score": chosen.describe(), "results": _result_rows(answer)}
        return _built({**body, "notes": notes} if notes else body)

    _analogy_route(app, embeddings, searcher, Answer, K)
    _recommend_route(app, embeddings, (scorer, narrow), Result, words)


def _scorers(
    parts: ScoringParts, searcher: Searcher | None, items: "pa.Table | None"
) -> tuple[Callable[[str | None, float | None, str | None], Scorer], Callable[..., tuple[Scorer, list[str]]]]:
    """The scorer of a request's score values, and the one of its candidate filters.

    A scorer is made once per distinct score values (a Scorer is frozen and its parts are read at
    start-up) and shared by the requests that ask for them; a value the core refuses raises every
    time (an exception is never kept). ``repr(weight)`` keeps -0.0 and 0.0 (equal keys) apart.
    A request that asks for no filter builds none.
    """

    @functools.lru_cache(maxsize=64)
    def cached(score: str | None, weight: float | None, base: str | None, _exact: str) -> Scorer:
        return make_scorer(parts, score, hybrid_weight=weight, hybrid_base=base, searcher=searcher)

    def scorer(score: str | None, weight: float | None, base: str | None) -> Scorer:
        return cached(score, weight, base, f"{type(weight).__name__}:{weight!r}")

    def narrow(chosen: Scorer, exclude: Any, only: Any, where: Any) -> tuple[Scorer, list[str]]:
        if not exclude and only is None and not where:
            return chosen, []
        return filtered_scorer(chosen, exclude, only, where, items=items)

    return scorer, narrow


def _analogy_route(
    app: "FastAPI", embeddings: Embeddings, searcher: Searcher | None, answer_model: type, K: Any
) -> None:
    """GET /analogy."""
    from typing import Annotated, Literal

    from fastapi import Query

    from item2vec.model.embeddings import format_analogy
    from item2vec.query.neighbours import analogy as find_analogy

    @app.get("/analogy", response_model=answer_model, summary="A - B + C: items closest to the combination")
    def analogy(
        positive: Annotated[list[str], Query(min_length=1, max_length=100, description="Items to add.")],
        negative: Annotated[list[str], Query(max_length=100, description="Items to subtract.")] = [],  # noqa: B006
        method: Literal["add", "mul"] = "add",
        k: K = 10,
    ) -> Any:
        _known(embeddings, [*positive, *negative])
        index = searcher.index("similar") if searcher is not None else None
        answer = find_analogy(embeddings, positive, negative, k, method=method, index=index)
        return {"query": format_analogy(positive, negative), "results": _result_rows(answer)}


def _recommend_route(
    app: "FastAPI",
    embeddings: Embeddings,
    scorers: tuple[Callable[..., Scorer], Callable[..., tuple[Scorer, list[str]]]],
    result: type,
    words: ScoreWords,
) -> None:
    """POST /recommend; ``scorers``: the scorer of a request's score fields, and the one of its filters."""
    from typing import Annotated

    from fastapi import Body
    from pydantic import BaseModel, Field

    from item2vec.query.recommend import DECAY, HISTORY_SIZE, recommend

    class History(BaseModel):
        history: list[str] = Field(min_length=1, max_length=MAX_HISTORY, description="Items, oldest first.")
        k: int = Field(10, ge=1, le=MAX_K)
        decay: float | None = Field(
            None, gt=0, le=1, allow_inf_nan=False,
            description=f"Weight per step back (1: plain mean; default: the model's, else {DECAY:g}).",
        )  # fmt: skip
        history_size: int = Field(
            HISTORY_SIZE, ge=1, le=MAX_HISTORY, description="Use the last N known items."
        )
        keep_seen: bool | None = Field(
            None,
            description="Also answer with seen items (true), never (false); default: the model's scoring.",
        )
        score: str | None = Field(
            None,
            description=f"Score mode (default: the model's). {words.modes}",
            json_schema_extra=words.mode_schema,
        )
        hybrid_weight: float | None = Field(None, description=words.weight)
        hybrid_base: str | None = Field(None, json_schema_extra=words.base_schema)
        exclude: list[str] | None = Field(
            None, max_length=MAX_FILTER, description="Items never to answer with."
        )
        only: list[str] | None = Field(
            None, max_length=MAX_FILTER, description="Answer only with these items."
        )
        where: list[str] | dict[str, str | int | float | list[str | int | float]] | None = Field(
            None, description="Filters on the items table: ['count>=20'] or {'name': 'Red Apple'}."
        )

    class Recommended(BaseModel):
        used: list[str]
        skipped: list[str]
        score: str
        results: list[result]  # type: ignore[valid-type]
        notes: list[str] = Field(default_factory=list)

    @app.post("/recommend", response_model=Recommended, summary="Candidates for a user's history")
    def recommend_history(request: Annotated[History, Body()]) -> Any:
        unknown = [item for item in request.history if item not in embeddings.index]
        if len(unknown) == len(request.history):
            raise UnknownItems(embeddings, list(dict.fromkeys(unknown)))
        scorer, narrow = scorers
        chosen, notes = narrow(scorer(request.score, request.hybrid_weight, request.hybrid_base),
                               request.exclude, request.only, request.where)  # fmt: skip
        found = recommend(embeddings, request.history, request.k, decay=request.decay,
                          history_size=request.history_size, keep_seen=request.keep_seen, scorer=chosen)  # fmt: skip
        notes += short_notes(chosen, found.neighbours, ["history"], request.k)
        body = {"used": found.used, "skipped": unknown, "score": chosen.describe(),
                "results": _result_rows(found.neighbours)}  # fmt: skip
        return _built({**body, "notes": notes} if notes else body)


def _item_routes(app: "FastAPI", embeddings: Embeddings) -> None:
    """GET /items/{id}."""
    from typing import Annotated

    from fastapi import Path as PathParam
    from fastapi import Query

    @app.get("/items/{item:path}", summary="An item's count, name and (optionally) vector")
    def item_info(
        item: Annotated[str, PathParam(description="Item id.")],
        vector: Annotated[bool, Query(description="Include the vector.")] = False,
    ) -> dict[str, Any]:
        _known(embeddings, [item])
        row = embeddings.index[item]
        body: dict[str, Any] = {
            "item": item,
            "count": int(embeddings.counts[row]),
            "name": embeddings.name(item),
        }
        if vector:
            body["vector"] = [round(float(v), 6) for v in embeddings.vectors[row]]
        return body
