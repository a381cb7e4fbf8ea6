"""Options shared by every vector export: a subset of items, unit length, float16.

``prepare`` applies them before any writer runs, so every format sees the same rows and values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from item2vec.errors import Bare, EmptyResultError, InputError, check_choice, param
from item2vec.model.embeddings import Embeddings, unit_rows

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

DTYPES = ("float32", "float16")
FLOAT16_MAX = 65504.0
PADDED_FORMATS = ("torch", "safetensors")
FLOAT32_ONLY = {
    "word2vec-binary": "the word2vec binary format stores float32",
    "faiss": "a Faiss flat index stores float32",
}


def check_options(fmt: str, *, dtype: str, padding: bool) -> None:
    """Refuse option combinations a format cannot honour.

    Raises:
        InputError: an unknown dtype, float16 for a float32-only format, or ``--no-padding``
            for a format without a padding row.
    """
    check_choice("dtype", dtype, DTYPES, error=InputError)
    if dtype == "float16" and fmt in FLOAT32_ONLY:
        raise InputError(
            f"{param('dtype', Bare('float16'))} is not possible for {fmt} ({FLOAT32_ONLY[fmt]}): "
            f"use {param('format', Bare('npy, parquet, torch or safetensors'))}",
            param="dtype",
            value=dtype,
            expected="float32",
        )
    if not padding and fmt not in PADDED_FORMATS:
        raise InputError(
            f"{param('padding', False)} applies to {param('format', Bare('torch and safetensors'))} only, not {fmt}",
            param="padding",
            value=False,
            expected="padding for torch and safetensors only",
        )


def prepare(
    embeddings: Embeddings, *, items: list[str] | None = None, normalize: bool = False, dtype: str = "float32"
) -> Embeddings:
    """The embeddings an export writes: a subset in the given order, unit length, cast to ``dtype``.

    ``items`` keeps only those ids, in that order (repeats ignored). With ``dtype="float16"``
    the returned vectors are float16 (writers keep the dtype they are given).

    Raises:
        UnknownItemError: an id in ``items`` is not in the model.
        EmptyResultError: ``items`` is empty.
        InputError: a value does not fit in float16.
    """
    import numpy as np

    rows: list[int] | None = None
    if items is not None:
        rows = [embeddings.position(i) for i in dict.fromkeys(items)]
        if not rows:
            raise EmptyResultError(
                f"{param('ids')} lists no ids: give a file with one item id a line",
                param="ids",
                expected="a file with one item id a line",
            )
    vectors: NDArray[np.floating] = np.asarray(embeddings.vectors)
    if rows is not None:
        vectors = vectors[rows]
    if normalize:
        vectors = unit_rows(vectors)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if dtype == "float16":
        vectors = _float16(vectors)
    ids = embeddings.ids if rows is None else [embeddings.ids[r] for r in rows]
    kept = set(ids)
    return Embeddings(
        ids=list(ids),
        vectors=cast("NDArray[np.float32]", vectors),  # float16 when asked for
        counts=embeddings.counts if rows is None else np.asarray(embeddings.counts)[rows],
        names=embeddings.names if rows is None else {k: v for k, v in embeddings.names.items() if k in kept},
        meta=embeddings.meta,
        dropped=embeddings.dropped,
    )


def _float16(vectors: NDArray[np.float32]) -> NDArray[np.float16]:
    import numpy as np

    largest = float(np.abs(vectors).max()) if vectors.size else 0.0
    if largest > FLOAT16_MAX:
        raise InputError(
            f"a vector value ({largest:.4g}) is too large for float16 (max {FLOAT16_MAX:g}): "
            f"add {param('normalize', True)} or keep {param('dtype', Bare('float32'))}",
            param="dtype",
            value="float16",
            fix="normalize the vectors, or keep float32",
        )
    return vectors.astype(np.float16)
