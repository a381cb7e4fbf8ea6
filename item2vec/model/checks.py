"""What loading a model checks beyond its layout: finite vectors, the arrays, model.json's types.

A model whose vectors hold NaN would answer ``"score": NaN`` (not JSON); a truncated or
hand-replaced ``syn1neg.npy`` would fail deep inside gensim; a hand-edited ``model.json``
with ``"dim": "x"`` would surface as a misleading option error. Each is refused at load with
a ModelError that names the file (or the model.json key) and the fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.errors import ModelError, cut
from item2vec.model.identity import array_digest, part_checked

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["META_TYPES", "check_finite", "check_meta", "check_shape", "load_array", "refuse_link"]
_CHUNK_VALUES = 1 << 24  # floats summed at a time: a mapped file is read, never copied whole

# The keys of model.json the code reads, with their types; "?" allows null. Other keys are free.
_SESSION = {
    "item_col": "str",
    "user_col": "str?",
    "session_col": "str?",
    "time_col": "str?",
    "session_gap_seconds": "number?",
    "drop_repeats": "bool",
    "min_length": "int",
    "where": "list[str]",
    "delimiter": "str?",
}
META_TYPES: dict[str, Any] = {
    "items": "int",
    "dim": "int",
    "engine": "str",
    "created": "str",
    "params": {
        "dim": "int",
        "window": "int",
        "negative": "int",
        "ns_exponent": "number",
        "sample": "number",
        "epochs": "int",
        "min_count": "int",
        "max_vocab": "int?",
        "alpha": "number",
        "workers": "int",
        "seed": "int",
        "context": "str",
        "preset": "str",
        "corpus_mode": "str",
    },
    "input": {"inputs": "list[str]", "input_format": "str", "session": _SESSION},
    "features": {"prefix": "str", "columns": "list[str]", "id_col": "str", "inferred_items": "int"},
    "training": "object",
    "updates": "list",
    "versions": "object",
    "walks": "object",
    "transitions": {"steps": "int", "direction": "str", "keep": "int", "entries": "int"},
    "model_id": "str",
    "parts": "dict[str]",
}
_LARGEST = 2**63  # counts and sizes are int64: a larger one is a hand edit, never a real model
_WORDS = {
    "int": "a whole number",
    "number": "a number",
    "str": "a string",
    "bool": "true or false",
    "list": "a list",
    "list[str]": "a list of strings",
    "object": "an object",
    "dict[str]": "an object of strings",
}


def check_meta(meta: dict[str, Any], path: Path) -> None:
    """Check the types of the model.json keys item2vec reads (nested ones too).

    Raises:
        ModelError: naming the first key whose value has the wrong type.
    """
    _check_table(meta, META_TYPES, "", path)


def _check_table(values: dict[str, Any], types: dict[str, Any], prefix: str, path: Path) -> None:
    for key, expected in types.items():
        if key not in values:
            continue
        value, where = values[key], f"{prefix}{key}"
        if isinstance(expected, dict):
            if key in ("features", "transitions") and value is None:
                continue  # a model without --item-features may say so with null
            if not isinstance(value, dict):
                raise _wrong(path, where, value, "an object")
            _check_table(value, expected, where + ".", path)
        elif not _fits(value, expected):
            nullable = " (or null)" if expected.endswith("?") else ""
            words = _WORDS[expected.rstrip("?")]
            if expected.rstrip("?") == "int" and isinstance(value, int) and not isinstance(value, bool):
                words = f"{words} from 0 to 2**63 - 1"  # a huge or negative count
            raise _wrong(path, where, value, words + nullable)


def _fits(value: Any, expected: str) -> bool:
    if expected.endswith("?"):
        return value is None or _fits(value, expected[:-1])
    if expected == "int":
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _LARGEST
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if expected == "dict[str]":
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    kinds = {"str": str, "bool": bool, "list": list, "object": dict}
    return isinstance(value, kinds[expected])


def _wrong(path: Path, key: str, value: Any, expected: str) -> ModelError:
    return ModelError(
        f"model {str(path)!r} is corrupt: model.json key {key!r} is {cut(json.dumps(value), 60)}, "
        f"expected {expected}: fix model.json or retrain the model"
    )


def check_shape(meta: dict[str, Any], shape: tuple[int, ...], path: Path) -> None:
    """Refuse a model.json whose ``items`` or ``dim`` (or ``params.dim``) disagree with vectors.npy.

    Raises:
        ModelError: naming model.json, the key, both values and the fix.
    """
    params = meta.get("params") if isinstance(meta.get("params"), dict) else {}
    for key, value, actual in (
        ("items", meta.get("items"), shape[0]),
        ("dim", meta.get("dim"), shape[1]),
        ("params.dim", (params or {}).get("dim"), shape[1]),
    ):
        if value is not None and value != actual:
            raise ModelError(
                f"model {str(path)!r} is corrupt: model.json key {key!r} is {value}, but vectors.npy "
                f"has {actual:,} {'rows' if key == 'items' else 'columns'}: fix model.json or retrain the model",
                value=value,
                expected=str(actual),
                fix="fix model.json, or retrain the model",
            )


def refuse_link(path: Path) -> None:
    """Refuse a model file that is a symbolic link: a model must not make item2vec read files
    outside its directory (a model from elsewhere could name any file on this machine).

    Raises:
        ModelError: naming the file and the fix.
    """
    if path.is_symlink():
        raise ModelError(
            f"model {str(path.parent)!r} is not safe to read: {path.name} is a symbolic link; a "
            "model's files must be its own: replace the link with a copy of the file",
            value=str(path),
            fix="replace the link with a copy of the file",
        )


def check_finite(array: NDArray[np.float32], path: Path, name: str, ids: list[str] | None = None) -> None:
    """Refuse an array holding NaN or infinity, in chunks (a memory-mapped array stays mapped).

    Raises:
        ModelError: naming the file, the first bad row (and its item) and the fix.
    """
    import numpy as np

    if array.ndim != 2 or not array.size:
        return
    rows = max(1, _CHUNK_VALUES // max(1, array.shape[1]))
    for start in range(0, array.shape[0], rows):
        block = array[start : start + rows]
        # A float64 sum of float32 values is finite exactly when every value is (no overflow).
        if np.isfinite(block.sum(dtype=np.float64)):
            continue
        row = start + int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0])
        bad = array[row][~np.isfinite(array[row])][0]
        item = f" (item {cut(ids[row])!r})" if ids is not None and row < len(ids) else ""
        raise ModelError(
            f"model {str(path)!r} is corrupt: {name} row {row:,}{item} holds {bad}, not a finite number: "
            "retrain it"
        )


def load_array(
    path: Path, name: str, rows: int | None, dim: int | None, *, meta: dict[str, Any] | None = None
) -> NDArray[np.float32]:
    """A float32 ``[rows x dim]`` array of the model directory (a None size is not checked).

    With ``meta`` (the model.json the model was loaded with), the file must be the one that
    model was saved with (item2vec.model.identity).

    Raises:
        ModelError: the file is missing, a symbolic link, truncated, not a plain array, of another
            type or shape, holds non-finite values, or belongs to another model.
    """
    import numpy as np

    refuse_link(path / name)
    try:
        array = np.load(path / name, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ModelError(
            f"model {str(path)!r} is corrupt: {name} cannot be read ({exc}); retrain it"
        ) from None
    wanted = (rows, dim)
    if (
        array.dtype != np.float32
        or array.ndim != 2
        or any(size is not None and size != got for size, got in zip(wanted, array.shape))
    ):
        shape = ", ".join("any" if size is None else str(size) for size in wanted)
        raise ModelError(
            f"model {str(path)!r} is corrupt: {name} is {array.dtype} {array.shape}, expected float32 "
            f"({shape}); retrain it"
        )
    check_finite(array, path, name)
    if meta is not None:
        part_checked(path, meta, name, lambda: array_digest(array))
    loaded: NDArray[np.float32] = array
    return loaded
