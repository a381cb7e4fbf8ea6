"""In-memory event tables (pandas DataFrames, pyarrow Tables) read as the file readers read files.

The columns asked for come out as strings, ids exactly as ``str`` writes them (the integer
``17850`` becomes ``"17850"``, as a Parquet column does), the id columns dictionary-encoded, in
slices of about a million rows: the batches :func:`item2vec.corpus.events.iter_batches` yields for a
file, so the same sessionizing code runs on them (:func:`item2vec.corpus.ingest.code_events`).
A time column keeps its type when it is a number or a timestamp (both parsed by
:func:`item2vec.corpus.options.parse_times`); other types are cast to strings first.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from item2vec.errors import InputError, param

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
        InputError: a column is missing (the message lists those there are), or a pandas
            column cannot be converted.
    """
    import pyarrow as pa

    wanted = list(dict.fromkeys(columns))
    if table_kind(data) == "pandas.DataFrame":
        by_name = {str(c): c for c in data.columns}
        _check_columns(name, wanted, list(by_name))
        return pa.table({c: _from_pandas(data[by_name[c]], name, c) for c in wanted})
    table = data if isinstance(data, pa.Table) else pa.table(data)
    _check_columns(name, wanted, table.column_names)
    return table.select(wanted)


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


def _as_strings(values: pa.ChunkedArray, name: str, column: str) -> pa.ChunkedArray:
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.type == pa.string():
        return values
    try:
        return pc.cast(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise InputError(
            f"{name}: column {column!r} holds {values.type} values, not ids: give a column of strings or numbers"
        ) from None
