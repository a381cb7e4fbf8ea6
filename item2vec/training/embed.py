"""``embed``: vectors for items new to a model, from their attributes alone.

The model must have been trained with ``--item-features``. Each new item gets the mean of its
known attributes' vectors (an attribute's vector: the mean unit vector of the learned items
carrying it), scaled to the mean length of learned item vectors (the same rule ``train`` uses
for cold items), and joins the model as an inferred item, so that
``similar`` and the other queries answer for it. Items already in the model, and items none of
whose attributes the model knows, are reported as skipped.

As ``update``: an existing output (the model itself, or ``-o``) is replaced only with --force,
and the output is locked while the model is read, changed and written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.errors import Bare, EmptyResultError, ModelError, param
from item2vec.model.checks import load_array
from item2vec.model.embeddings import Embeddings
from item2vec.model.identity import ID_KEY, model_lock, replaced_error
from item2vec.model.parts import OUTPUT_FILE, load_model_transitions
from item2vec.model.store import check_replace, load, read_meta, save
from item2vec.model.transitions import TRANSITIONS_FILE
from item2vec.training.feature_space import FeatureSpace, infer_vectors, load_space
from item2vec.training.features import FeatureOptions, read_features

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


@dataclass
class EmbedResult:
    """One row per item of the input (item, status, features_used) and where the model went."""

    rows: list[dict[str, Any]]
    added: int
    output: Path


def embed_items(
    model: Path,
    path: str,
    *,
    id_col: str | None = None,
    columns: tuple[str, ...] | None = None,
    output: Path | None = None,
    force: bool = False,
) -> EmbedResult:
    """Add vectors for the items of table ``path`` to ``model`` (or a copy at ``output``).

    Raises:
        ModelError: the model has no attribute vectors (trained without --item-features), or it
            was replaced while it was read.
        EmptyResultError: no item of ``path`` could be embedded.
        OutputExistsError: the output is the model itself (or another model) and ``force`` is off.
        OutputError: another run is writing the output now.
    """
    target = output or model
    with model_lock(target):
        return _embed(model, path, id_col=id_col, columns=columns, target=target, force=force)


def _embed(
    model: Path, path: str, *, id_col: str | None, columns: tuple[str, ...] | None, target: Path, force: bool
) -> EmbedResult:
    import numpy as np

    meta = read_meta(model)
    space = _checked_space(model, meta, target=target, force=force)
    table = read_features(
        FeatureOptions(path, id_col or space.id_col, columns or space.columns), id_role="id_col"
    )
    embeddings = load(model, mmap=False)
    if embeddings.meta.get(ID_KEY) != meta.get(ID_KEY):
        raise replaced_error(model)  # retrained while the items were read: embed into that one
    present = {item for item in table if embeddings.row(item) is not None}
    learned = len(embeddings) - len(space.inferred)
    fresh = {item: tokens for item, tokens in table.items() if item not in present}
    learned_vectors = np.asarray(embeddings.vectors[:learned], dtype=np.float32)
    ids, vectors, used, skipped = infer_vectors(space.table, fresh, embeddings.ids[:learned], learned_vectors)
    if not ids:
        why = "is already in the model" if not fresh else "has an attribute the model knows"
        raise EmptyResultError(
            f"no item of {path!r} could be embedded: none {why} "
            f"(the model's attribute columns are {', '.join(space.columns)}; choose them with {param('feature_cols')})"
        )
    rows = [_row(item, present, used) for item in table]
    space.inferred.update(used)
    space.table.update({item: table[item] for item in ids})
    update = {"inputs": [path], "new_items": len(ids), "skipped": len(skipped) + len(present)}
    meta = _updated_meta(embeddings, space.meta(), update)
    result = _grown(embeddings, ids, vectors, used, meta=meta)
    extra = (
        {"syn1neg": load_array(model, OUTPUT_FILE, learned, embeddings.dim, meta=embeddings.meta)}
        if (model / OUTPUT_FILE).is_file()
        else {}
    )
    # Embedded items have no transitions: their rows (appended last) are empty.
    transitions = (
        load_model_transitions(model, embeddings).resized(len(result))
        if (model / TRANSITIONS_FILE).is_file()
        else None
    )
    save(result, target, force=force, extra={**extra, **space.arrays()}, tables=space.tables(),
         transitions=transitions)  # fmt: skip
    return EmbedResult(rows=rows, added=len(ids), output=target)


def _checked_space(model: Path, meta: dict[str, Any], *, target: Path, force: bool) -> FeatureSpace:
    """The model's attribute space, once the model has one and the output may be written."""
    space = load_space(model, meta)
    if space is None:
        raise ModelError(
            f"model {str(model)!r} was trained without {param('item_features')}, so it has no attribute "
            f"vectors: retrain it with {param('item_features', Bare('FILE'))} {param('feature_cols', Bare('COL,COL'))}",
            param="item_features",
            fix="retrain the model with item features",
        )
    check_replace(model, target, force=force, command="embed")
    return space


def _updated_meta(embeddings: Embeddings, features: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """The model's metadata with the grown attribute space and this run appended to its updates."""
    meta = {k: v for k, v in embeddings.meta.items() if k not in ("items", "dim", "format_version")}
    meta["features"] = features
    meta["updates"] = [
        *(meta.get("updates") or []),
        {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": "embed", **update},
    ]
    return meta


def _grown(
    embeddings: Embeddings,
    ids: list[str],
    vectors: NDArray[np.float32],
    used: dict[str, int],
    *,
    meta: dict[str, Any],
) -> Embeddings:
    """``embeddings`` with the inferred items appended (count 0), no longer listed as dropped."""
    import numpy as np

    return Embeddings(
        ids=[*embeddings.ids, *ids],
        vectors=np.vstack([embeddings.vectors, vectors]).astype(np.float32),
        counts=np.concatenate([embeddings.counts, np.zeros(len(ids), dtype=np.int64)]),
        names=embeddings.names,
        meta=meta,
        dropped={k: v for k, v in embeddings.dropped.items() if k not in used},
    )


def _row(item: str, present: set[str], used: dict[str, int]) -> dict[str, Any]:
    if item in present:
        status = "skipped: already in the model"
    elif item in used:
        status = "embedded"
    else:
        status = "skipped: no known attribute"
    return {"item": item, "status": status, "features_used": used.get(item, 0)}
