"""In-memory event tables (pandas DataFrames, pyarrow Tables) read as the file readers read files.

The columns asked for come out as strings, ids by the rule every reader follows
(:func:`id_text`: the integer ``17850`` becomes ``"17850"``, the float ``17850.0``
``"17850.0"``, as in a Parquet column and as pandas writes them to CSV), the id columns dictionary-encoded, in
slices of about a million rows: the batches :func:`item2vec.corpus.events.iter_batches` yields for a
file, so the same sessionizing code runs on them (:func:`item2vec.corpus.ingest.code_events`).
A time column keeps its type when it is a number or a timestamp (both parsed by
:func:`item2vec.corpus.options.parse_times`); other types are cast to strings first.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from item2vec.errors import InputError, cut, listing, param

if TYPE_CHECKING:
    import pyarrow as pa

_BATCH_ROWS = 1 << 20


def table_kind(data: object) -> str | None:
    """``"pandas.DataFrame"``, ``"pyarrow.Table"`` (Tables, RecordBatches and other objects with the
    Arrow stream interface: polars, DuckDB results) or None when ``data`` is not a table.

    Decided from the type, without importing pandas or pyarrow.
    """
    kind = type(data)
    package = kind.__module__.split(".")[0]
    if package == "pandas" and kind.__name__ == "DataFrame":
        return "pandas.DataFrame"
    if package == "pyarrow" and kind.__name__ in ("Table", "RecordBatch"):
        return "pyarrow.Table"
    if hasattr(data, "__arrow_c_stream__") and package != "pandas":
        return "pyarrow.Table"
    return None


def to_arrow(data: Any, name: str, columns: list[str]) -> pa.Table:
    """The ``columns`` of a table (see :func:`table_kind`) as a pyarrow Table.

    Raises:
        InputError: a column is missing (the message lists those there are) or named twice,
            or a pandas column cannot be converted.
    """
    import pyarrow as pa

    wanted = list(dict.fromkeys(columns))
    if table_kind(data) == "pandas.DataFrame":
        names = [str(c) for c in data.columns]
        refuse_duplicate_columns(name, wanted, names)
        by_name = {str(c): c for c in data.columns}
        _check_columns(name, wanted, list(by_name))
        return pa.table({c: _from_pandas(data[by_name[c]], name, c) for c in wanted})
    table = data if isinstance(data, pa.Table) else pa.table(data)
    refuse_duplicate_columns(name, wanted, table.column_names)
    _check_columns(name, wanted, table.column_names)
    return table.select(wanted)


def refuse_duplicate_columns(
    name: str, wanted: list[str], existing: list[str], *, where: str = "table"
) -> None:
    """Refuse a column asked for that the table (or a file's ``header``) names more than once:
    which one would it be? Shared by frames and the file readers (``corpus/events.py``)."""
    for column in wanted:
        places = [str(number) for number, found in enumerate(existing, start=1) if found == column]
        if len(places) > 1:
            raise InputError(
                f"{name}: the {where} names column {cut(column)!r} {len(places)} times "
                f"(columns {listing(places)}): rename all but one, so that each column has its own name",
                value=column,
                expected="one column of each name",
            )


def _check_columns(name: str, wanted: list[str], existing: list[str]) -> None:
    missing = [c for c in wanted if c not in existing]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        roles = f"{param('user_col')}, {param('session_col')}, {param('item_col')} and {param('time_col')}"
        raise InputError(
            f"{name}: no {'columns' if len(missing) > 1 else 'column'} {names}; the columns are: "
            f"{', '.join(existing)} (choose them with {roles})"
        )


def _from_pandas(series: Any, name: str, column: str) -> pa.Array:
    """One pandas column as Arrow; an object column of mixed types becomes strings (ids stay ids)."""
    import pyarrow as pa

    try:
        return pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    values: list[str | None] = []
    for value in series.tolist():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            values.append(None)
        elif isinstance(value, (str, int, float)):
            values.append(str(value))
        else:
            raise InputError(
                f"{name}: column {column!r} holds {type(value).__name__} values such as {value!r}, "
                "not ids: give a column of strings or numbers"
            )
    return pa.array(values, type=pa.string())


def frame_batches(
    table: pa.Table, name: str, columns: list[str], *, encode: list[str], time_col: str | None = None
) -> Iterator[pa.Table]:
    """Slices of ``table`` as a file reader yields batches: strings, ``encode`` columns dictionary-coded.

    Raises:
        InputError: a column is missing or holds values that are not ids, or the table has no rows.
    """
    wanted = list(dict.fromkeys(columns))
    _check_columns(name, wanted, table.column_names)
    if table.num_rows == 0:
        raise InputError(f"{name} has no rows")
    for start in range(0, table.num_rows, _BATCH_ROWS):
        batch = table.slice(start, _BATCH_ROWS)
        yield _strings(batch, name, wanted, encode, time_col)


def _strings(
    batch: pa.Table, name: str, wanted: list[str], encode: list[str], time_col: str | None
) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for column in wanted:
        values = batch[column]
        if column != time_col or not _time_type(values.type):
            values = _as_strings(values, name, column)
        if column in encode:
            values = pc.dictionary_encode(values)
        columns.append(values)
    return pa.table(columns, names=wanted)


def _time_type(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_timestamp(kind))


def id_text(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Values of a typed column as the strings ids are: one rule for every reader.

    Text stays exactly as the source holds it (CSV, TSV and JSON Lines cells: ``3.0`` stays
    ``3.0``, ``00123`` stays ``00123``). A number stored typed (Parquet, a DataFrame, an Arrow
    table) is written as Python writes it: an integer as ``17850``, a float as ``17850.0`` —
    what pandas writes to CSV for that column, so a file and the frame read from it give the
    same ids. Missing values stay missing.

    Raises:
        pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError: a type with no text (as ``cast``).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_floating(values.type):
        return pc.cast(values, pa.string())
    if isinstance(values, pa.ChunkedArray):
        return pa.chunked_array([_float_text(chunk) for chunk in values.chunks], type=pa.string())
    return _float_text(values)


def _float_text(values: pa.Array) -> pa.Array:
    """Floats as ``str`` writes them (``3.0``, ``1e+20``, ``nan``), each distinct value formatted once."""
    import numpy as np
    import pyarrow as pa

    numbers = values.to_numpy(zero_copy_only=False)
    distinct, inverse = np.unique(numbers, return_inverse=True)
    texts = np.array([str(number) for number in distinct], dtype=object)[inverse.reshape(-1)]
    missing = ~values.is_valid().to_numpy(zero_copy_only=False)
    return pa.array(texts, type=pa.string(), mask=missing)


def _as_strings(values: pa.ChunkedArray, name: str, column: str) -> pa.ChunkedArray:
    import pyarrow as pa

    if values.type == pa.string():
        return values
    try:
        return id_text(values)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise InputError(
            f"{name}: column {column!r} holds {values.type} values, not ids: give a column of strings or numbers"
        ) from None
