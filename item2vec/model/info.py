"""The ``info`` record: what a model directory holds, size first."""

from __future__ import annotations

from typing import Any

from item2vec.model.embeddings import Embeddings
from item2vec.model.identity import PARTS_KEY


def info_record(embeddings: Embeddings) -> dict[str, Any]:
    """Everything ``info`` shows: size first, then model.json."""
    meta = dict(embeddings.meta)
    head = {
        "items": len(embeddings),
        "dim": embeddings.dim,
        "named_items": len(embeddings.names),
        "dropped_items": len(embeddings.dropped),
    }
    features = meta.get("features")
    if isinstance(features, dict):
        inferred = int(features.get("inferred_items", 0))
        head["learned_items"] = len(embeddings) - inferred
        head["inferred_items"] = inferred
    for key in ("items", "dim", PARTS_KEY):  # the parts' fingerprints are for readers, not people
        meta.pop(key, None)
    return {**head, **meta}
