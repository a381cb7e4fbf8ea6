"""Exports that vector stores and search libraries take as they are: Parquet, JSON Lines, Faiss,
and the word2vec C tools' vocabulary file that carries the counts beside a word2vec export.

The vectors these write are unit length by default (``normalize``), so a store's cosine, inner
product and L2 all rank neighbours as item2vec's ``similar`` does.

- Parquet: ``id``, ``vector`` (a fixed-size list of ``dim`` floats, which pyarrow, Polars and
  DuckDB over Arrow read as an array type), ``count``, ``name`` (when the model has names), and
  the metric in the file's schema metadata (``item2vec.metric``, ``item2vec.normalized``,
  ``item2vec.dim``, ``item2vec.model_id``).
- JSON Lines: one ``{"id", "index", "vector", "payload": {"count", "name"}}`` object a line;
  ``index`` is the row number, an integer point id for stores that refuse string ids (Qdrant).
- Faiss: an ``IndexIDMap2`` over a flat inner-product index whose ids are the row numbers; the
  ids file beside it gives the item of each (line ``i`` for id ``i``), as the npy export's does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from item2vec.errors import Bare, param
from item2vec.extras import require
from item2vec.model.embeddings import Embeddings

if TYPE_CHECKING:
    from numpy.typing import NDArray

METRIC = "cosine"
_BLOCK = 4096


def float_vectors(embeddings: Embeddings) -> NDArray[Any]:
    """The vectors as float16 when ``prepare`` made them so, float32 otherwise."""
    import numpy as np

    vectors = np.asarray(embeddings.vectors)
    return vectors if vectors.dtype == np.float16 else vectors.astype(np.float32, copy=False)


def store_metadata(embeddings: Embeddings, *, normalized: bool) -> dict[str, str]:
    """What a store needs to know to rank as item2vec does: the metric, whether the vectors are
    unit length, their size, and the model they come from."""
    meta = {
        "item2vec.metric": METRIC,
        "item2vec.normalized": "true" if normalized else "false",
        "item2vec.dim": str(embeddings.dim),
    }
    model_id = embeddings.meta.get("model_id")
    if model_id:
        meta["item2vec.model_id"] = str(model_id)
    return meta


def write_parquet(embeddings: Embeddings, path: Path, *, normalized: bool) -> None:
    """``id``, ``vector`` (fixed-size list), ``count``, ``name``; the metric in the schema metadata."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    vectors = np.ascontiguousarray(float_vectors(embeddings))
    flat = pa.array(vectors.reshape(-1), type=pa.from_numpy_dtype(vectors.dtype))
    columns = {
        "id": pa.array(embeddings.ids, type=pa.string()),
        "vector": pa.FixedSizeListArray.from_arrays(flat, embeddings.dim),
        "count": pa.array(np.asarray(embeddings.counts, dtype=np.int64)),
    }
    if embeddings.names:
        columns["name"] = pa.array([embeddings.names.get(i) for i in embeddings.ids], type=pa.string())
    table = pa.table(columns).replace_schema_metadata(store_metadata(embeddings, normalized=normalized))
    pq.write_table(table, path)


def write_jsonl(embeddings: Embeddings, stream: BinaryIO) -> None:
    """One object a line: ``id``, ``index`` (the row number), ``vector``, ``payload``.

    ``payload`` holds ``count`` and, where the item has one, ``name`` (left out rather than
    null: some stores refuse null metadata). Floats are written as their shortest exact text.
    """
    vectors = float_vectors(embeddings)
    for start in range(0, len(embeddings), _BLOCK):
        lines = []
        for row in range(start, min(start + _BLOCK, len(embeddings))):
            item = embeddings.ids[row]
            payload: dict[str, Any] = {"count": int(embeddings.counts[row])}
            if item in embeddings.names:
                payload["name"] = embeddings.names[item]
            vector = ", ".join(str(x) for x in vectors[row])
            lines.append(
                f'{{"id": {json.dumps(item, ensure_ascii=False)}, "index": {row}, "vector": [{vector}], '
                f'"payload": {json.dumps(payload, ensure_ascii=False)}}}\n'
            )
        stream.write("".join(lines).encode("utf-8"))


def write_faiss(embeddings: Embeddings, path: Path) -> None:
    """An ``IndexIDMap2(IndexFlatIP)`` of the vectors, ids 0..n-1 (the rows), in Faiss's format.

    Serialised in memory and written with Python's file API, so a full disk is an ``OSError``.
    """
    import numpy as np

    faiss = require("faiss", param("format", Bare("faiss")))
    vectors = np.ascontiguousarray(embeddings.vectors, dtype=np.float32)
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(embeddings.dim))
    index.add_with_ids(vectors, np.arange(len(embeddings), dtype=np.int64))
    with open(path, "wb") as handle:
        handle.write(faiss.serialize_index(index).tobytes())


def word2vec_order(embeddings: Embeddings, *, by_count: bool) -> list[int]:
    """The rows in the order a word2vec file lists them: most frequent first (stable for ties),
    as the C tools and gensim write them, or as they are (``by_count=False``)."""
    import numpy as np

    if not by_count:
        return list(range(len(embeddings)))
    counts = np.asarray(embeddings.counts)
    return sorted(range(len(embeddings)), key=lambda r: -int(counts[r]))


def vocab_path(output: Path) -> Path:
    """Where a word2vec export's counts go: OUTPUT (less ``.gz``) plus ``.vocab``."""
    plain = output.with_suffix("") if output.suffix.lower() == ".gz" else output
    return plain.with_name(plain.name + ".vocab")


def write_vocab(embeddings: Embeddings, path: Path, *, by_count: bool) -> None:
    """The C tools' ``-save-vocab`` format: ``id count`` a line, in the word2vec file's order
    (without the C tools' ``</s>`` line, which no item export has)."""
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for row in word2vec_order(embeddings, by_count=by_count):
            handle.write(f"{embeddings.ids[row]} {int(embeddings.counts[row])}\n")
