"""Embedding tables for PyTorch: ``.pt`` (torch.save) and ``.safetensors`` (written without torch).

Both hold a ``weight`` matrix whose row 0 is all zeros (the padding row, ``padding_idx=0``)
unless ``padding`` is false, and ``ids``: the item of every row, ``None`` for the padding row.
So ``nn.Embedding.from_pretrained(weight, padding_idx=0)`` takes the table as it is, and
``{item: row for row, item in enumerate(ids) if item is not None}`` maps ids to rows.

The safetensors file is written here, not by the ``safetensors`` package: the format is an
8-byte little-endian header length, a JSON header (dtype, shape, byte offsets, and string
metadata, here ``ids`` as a JSON list), then the raw little-endian tensor bytes. Writing it
directly needs neither torch nor another compiled dependency, and streams the rows from the
memory-mapped model instead of building a second copy. The tests read it back with the
official ``safetensors`` package and with torch.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.errors import Bare, InputError, MissingDependencyError, param
from item2vec.model.embeddings import Embeddings

if TYPE_CHECKING:
    from numpy.typing import NDArray

SAFETENSORS_DTYPES = {"float32": "F32", "float16": "F16"}
SAFETENSORS_MAX_HEADER = 100_000_000  # the safetensors reader refuses larger headers
_CHUNK_ROWS = 65_536


def row_ids(embeddings: Embeddings, *, padding: bool) -> list[str | None]:
    """The item of every row of the table: ``None`` first when there is a padding row."""
    return [None, *embeddings.ids] if padding else list(embeddings.ids)


def embedding_table(embeddings: Embeddings, *, padding: bool) -> NDArray[Any]:
    """The weight matrix: a zero row 0 (with ``padding``), then one row per item, in the vectors' dtype."""
    import numpy as np

    vectors = _vectors(embeddings)
    if not padding:
        return np.ascontiguousarray(vectors)
    table = np.zeros((len(embeddings) + 1, embeddings.dim), dtype=vectors.dtype)
    table[1:] = vectors
    return table


def write_torch(embeddings: Embeddings, path: Path, *, padding: bool) -> None:
    """``torch.save`` a dict: ``weight`` (tensor), ``ids`` (list), ``padding_idx`` (0 or None).

    It loads with ``torch.load(path)`` (``weights_only=True`` is enough: no code runs).

    Raises:
        MissingDependencyError: torch is not installed.
    """
    try:
        import torch
    except ImportError:
        raise MissingDependencyError(
            f"{param('format', Bare('torch'))} needs torch, which is not installed: pip install torch "
            f"(or use {param('format', Bare('safetensors'))}, which does not need it)",
            param="format",
            value="torch",
            fix="pip install torch",
        ) from None
    payload = {
        "weight": torch.from_numpy(embedding_table(embeddings, padding=padding)),
        "ids": row_ids(embeddings, padding=padding),
        "padding_idx": 0 if padding else None,
    }
    with open(path, "wb") as handle:
        torch.save(payload, handle)


def write_safetensors(embeddings: Embeddings, path: Path, *, padding: bool) -> None:
    """Write one tensor, ``weight``, with ``ids`` and ``padding_idx`` in the string metadata.

    Raises:
        InputError: the ids are too many for a safetensors header (over 100 MB of JSON).
    """
    import numpy as np

    vectors = _vectors(embeddings)
    dtype = np.dtype(vectors.dtype).newbyteorder("<")
    rows = len(embeddings) + (1 if padding else 0)
    row_bytes = embeddings.dim * dtype.itemsize
    metadata = {
        "format": "item2vec",
        "ids": json.dumps(row_ids(embeddings, padding=padding), ensure_ascii=False),
        "padding_idx": "0" if padding else "none",
    }
    header = {
        "__metadata__": metadata,
        "weight": {
            "dtype": SAFETENSORS_DTYPES[dtype.name],
            "shape": [rows, embeddings.dim],
            "data_offsets": [0, rows * row_bytes],
        },
    }
    raw = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # the reference writer aligns the data to 8 bytes
    if len(raw) > SAFETENSORS_MAX_HEADER:
        raise InputError(
            f"{len(embeddings):,} ids are too many for a safetensors header ({len(raw):,} bytes): "
            f"use {param('format', Bare('torch'))} or npy, or export a subset with {param('ids')}",
            param="format",
            value="safetensors",
            expected="torch or npy",
        )
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(raw)))
        handle.write(raw)
        if padding:
            handle.write(bytes(row_bytes))
        for start in range(0, len(embeddings), _CHUNK_ROWS):
            handle.write(np.ascontiguousarray(vectors[start : start + _CHUNK_ROWS], dtype=dtype).tobytes())


def _vectors(embeddings: Embeddings) -> NDArray[Any]:
    """float16 when the export asked for it (``export_options.prepare``), float32 otherwise."""
    import numpy as np

    vectors = np.asarray(embeddings.vectors)
    return vectors if vectors.dtype == np.float16 else vectors.astype(np.float32, copy=False)
