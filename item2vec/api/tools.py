"""``Model.index``, ``Model.export`` and ``approx=True``: the CLI's ``index``, ``export`` and
``--approx`` from Python, by the same core functions (:mod:`item2vec.query.index`,
:mod:`item2vec.query.searcher`, :mod:`item2vec.export.formats`).

An index built from Python is kept with the model (a :class:`~item2vec.query.searcher.Searcher`
holding it) and written into the model directory when the model has one, as ``item2vec index``
writes it, so ``item2vec similar MODEL ITEM --approx`` reads it too.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.errors import ModelError, param
from item2vec.model.embeddings import Embeddings

if TYPE_CHECKING:
    from item2vec.query.index import AnnIndex, IndexParams
    from item2vec.query.scoring import ScoringParts
    from item2vec.query.searcher import Searcher


def index_params(kind: object, check: object, params: dict[str, Any]) -> IndexParams:
    """``Model.index``'s keywords as :class:`~item2vec.query.index.IndexParams` (checked when built).

    Raises:
        TypeError: an unknown keyword, or ``check`` not a whole number of 0 or more.
    """
    from dataclasses import fields

    from item2vec.query.index import IndexParams

    known = sorted({f.name for f in fields(IndexParams)} - {"kind"})
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise TypeError(
            f"index() got an unexpected keyword argument {unknown[0]!r}; it takes {', '.join(known)}"
        )
    if isinstance(check, bool) or not isinstance(check, int) or check < 0:
        raise TypeError(f"check must be a number of sampled queries (int, 0: none), not {check!r}")
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a string such as 'hnsw', not {type(kind).__name__} ({kind!r})")
    return IndexParams(kind=kind, **params)


def build_indexes(parts: ScoringParts, params: IndexParams) -> dict[str, AnnIndex]:
    """An index of the input vectors, and of the output vectors where the model has them (``next``).

    Raises:
        ConfigError: a parameter out of range, or a kind the model is too small for.
        MissingDependencyError: faiss-cpu is not installed.
    """
    from item2vec.query.index import build

    indexes = {"input": build(parts.embeddings, params)}
    if parts.missing_output("next") is None:
        indexes["output"] = build(parts.embeddings, params, output=parts.output_vectors("next"))
    return indexes


def store_indexes(indexes: dict[str, AnnIndex], path: Path, embeddings: Embeddings) -> None:
    """Write ``indexes`` into the model directory at ``path`` (for the model saved there)."""
    from item2vec.query.index import store

    for index in indexes.values():
        index.info["model_created"] = embeddings.meta.get("created")
        store(index, path)


def index_report(
    indexes: dict[str, AnnIndex], embeddings: Embeddings, *, path: Path | None, check: int
) -> dict[str, Any]:
    """What ``item2vec index`` reports: kind, parameters, build time, where it is stored, and with
    ``check`` sampled queries, recall@10 against exact search and single-query latency."""
    from item2vec.query.index import FILES
    from item2vec.query.index_check import check_index

    main = indexes["input"]
    report: dict[str, Any] = {
        "kind": main.kind,
        "items": len(embeddings),
        "dim": embeddings.dim,
        "params": main.info["params"],
        "build_seconds": main.info["build_seconds"],
        "file": str(path / FILES["input"][0]) if path is not None else None,
        "next": "output" in indexes,
    }
    if check:
        report["check"] = check_index(embeddings, main, queries=check, k=10)
    return report


def searcher(embeddings: Embeddings, path: Path | None, indexes: dict[str, AnnIndex]) -> Searcher:
    """Approximate search over the indexes built in this session, else those stored in ``path``.

    Raises:
        ModelError: no index was built in this session and none is stored in the model's directory.
    """
    from item2vec.query.searcher import Searcher

    found = Searcher(embeddings, path, indexes)
    if not found.has("similar"):
        raise ModelError(
            f"{param('approx', True)} needs an index, and this model has none: build one with "
            "model.index() (or model.index(kind='flat') for exact search)",
            param="approx",
            value=True,
            expected="an index built by model.index()",
        )
    return found


def check_export_items(ids: object) -> list[str] | None:
    """``Model.export``'s ``ids``: None, or a list of item ids.

    Raises:
        TypeError: one string, or ids that are not strings.
    """
    if ids is None:
        return None
    found = list(ids) if isinstance(ids, Iterable) and not isinstance(ids, str) else None
    if found is None or not all(isinstance(i, str) for i in found):
        raise TypeError("ids must be a list of item ids (strings), e.g. ['85123A', '22423']")
    return [str(i) for i in found]
