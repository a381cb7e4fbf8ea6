"""How events become sequences: session options, row filters, durations and time parsing.

Shared by the event reader (:mod:`item2vec.corpus.ingest`), the sessionizer
(:mod:`item2vec.corpus.sequences`), ``split`` and the Spark engine, so none of them imports another
for these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from item2vec.errors import ConfigError, InputError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from numpy.typing import NDArray

__all__ = [
    "WHERE_SYNTAX",
    "SessionOptions",
    "Where",
    "column_codes",
    "group_codes",
    "parse_duration",
    "parse_times",
    "session_from_meta",
]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d|w)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


_WHERE_OPERATOR = re.compile(r"!=|>=|<=|=|>|<")
_WHERE_LIST = re.compile(r"\s+(not\s+in|in)\s+")
_COMPARE = (">", ">=", "<", "<=")
WHERE_SYNTAX = "COL=VALUE, COL!=VALUE, COL>N, COL>=N, COL<N, COL<=N, 'COL in A,B' or 'COL not in A,B'"


@dataclass(frozen=True)
class Where:
    """A row filter on one column: text equality or a list (``negate``: the others), or a number comparison.

    ``COL=VALUE`` / ``COL!=VALUE`` compare text (rows without a value pass ``!=``); ``COL>N``,
    ``>=``, ``<``, ``<=`` compare numbers (rows without a value fail); ``COL in A,B`` keeps rows
    whose value is one of the list, ``COL not in A,B`` the others.
    """

    column: str
    value: str
    negate: bool = False
    op: str = "="  # "=", ">", ">=", "<", "<=" or "in"

    @classmethod
    def parse(cls, text: str) -> Where:
        """Parse a ``--where`` filter (see :data:`WHERE_SYNTAX`).

        Raises:
            ConfigError: no operator, no column, an empty list, or a comparison with a non-number.
        """
        listed, compared = _WHERE_LIST.search(text), _WHERE_OPERATOR.search(text)
        if listed and (compared is None or listed.start() < compared.start()):
            column, op, value = text[: listed.start()], "in", text[listed.end() :]
            negate = listed.group(1) != "in"
        elif compared:
            column, op, value = text[: compared.start()], compared.group(), text[compared.end() :]
            negate, op = op == "!=", "=" if op == "!=" else op
        else:
            column = ""
        if not column.strip():
            raise ConfigError(
                f"--where {text!r} is invalid: use {WHERE_SYNTAX} (quote it in a shell: --where 'Quantity>0')"
            )
        if op == "in":
            value = ",".join(v.strip() for v in value.split(",") if v.strip())
        where = cls(column.strip(), value, negate, op)
        where.check()
        return where

    def check(self) -> None:
        if self.op == "in" and not self.values:
            raise ConfigError(f"--where {str(self)!r} lists no value: use 'COL in A,B'")
        if self.op in _COMPARE and self.number is None:
            raise ConfigError(
                f"--where {str(self)!r}: {self.value!r} is not a number; {self.op} compares numbers "
                "(use = or != for text)"
            )

    @property
    def values(self) -> tuple[str, ...]:
        """The list of an ``in`` filter."""
        return tuple(v.strip() for v in self.value.split(",") if v.strip())

    @property
    def number(self) -> float | None:
        """The number a comparison compares with (None if the value is not one)."""
        try:
            return float(self.value)
        except ValueError:
            return None

    def not_a_number(self, cell: str) -> str:
        """The message for a cell of a compared column that is not a number."""
        return (
            f"--where {str(self)!r}: column {self.column!r} holds {cell!r}, which is not a number: "
            "compare it with = or != (text), or filter another column"
        )

    def mask(self, column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
        """Which rows of ``column`` (strings) the filter keeps.

        Raises:
            InputError: a comparison meets a value that is not a number.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        if self.op in _COMPARE:
            try:
                numbers = pc.cast(pc.utf8_trim_whitespace(column), pa.float64())  # " 5" is 5, as in Spark
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise InputError(self.not_a_number(_first_non_number(column))) from None
            compare = {">": pc.greater, ">=": pc.greater_equal, "<": pc.less, "<=": pc.less_equal}[self.op]
            return pc.fill_null(compare(numbers, self.number), False)
        if self.op == "in":
            kept = pc.fill_null(pc.is_in(column, value_set=pa.array(self.values, type=pa.string())), False)
        else:
            kept = pc.fill_null(pc.equal(column, self.value), False)
        return pc.invert(kept) if self.negate else kept

    def __str__(self) -> str:
        if self.op == "in":
            return f"{self.column} {'not in' if self.negate else 'in'} {','.join(self.values)}"
        return f"{self.column}{'!=' if self.negate else self.op}{self.value}"


def _first_non_number(column: pa.ChunkedArray | pa.Array) -> str:
    for cell in column.to_pylist():
        if cell is None:
            continue
        try:
            float(cell)
        except ValueError:
            return str(cell)
    return ""


@dataclass(frozen=True)
class SessionOptions:
    """How events become sequences."""

    item_col: str = "item_id"
    user_col: str | None = "user_id"
    session_col: str | None = None
    time_col: str | None = None
    session_gap: float | None = None
    drop_repeats: bool = True
    min_length: int = 2
    where: tuple[Where, ...] = ()

    def __post_init__(self) -> None:
        if self.min_length < 1:
            raise ConfigError(f"--min-length {self.min_length} is invalid: use 1 or more")
        if self.session_gap is not None and self.session_gap <= 0:
            raise ConfigError(f"--session-gap {self.session_gap} is invalid: use a positive duration")
        if self.session_gap is not None and not self.time_col:
            raise ConfigError("--session-gap needs --time-col: sessions are split on time gaps")

    @property
    def group_cols(self) -> list[str]:
        return [c for c in (self.user_col, self.session_col) if c]

    @property
    def columns(self) -> list[str]:
        cols = [*self.group_cols, self.item_col]
        if self.time_col:
            cols.append(self.time_col)
        return cols + [w.column for w in self.where]

    def roles(self) -> list[tuple[str, str]]:
        """(column, option) pairs, for a missing-column message (:class:`MissingColumnsError`)."""
        named = [(self.user_col, "user_col"), (self.session_col, "session_col"), (self.item_col, "item_col")]
        named.append((self.time_col, "time_col"))
        return [(c, role) for c, role in named if c] + [(w.column, "where") for w in self.where]

    def as_record(self) -> dict[str, Any]:
        """model.json's ``input.session`` record (read back by :func:`session_from_meta`)."""
        return {
            "item_col": self.item_col,
            "user_col": self.user_col,
            "session_col": self.session_col,
            "time_col": self.time_col,
            "session_gap_seconds": self.session_gap,
            "drop_repeats": self.drop_repeats,
            "min_length": self.min_length,
            "where": [str(w) for w in self.where],
        }


def parse_duration(text: str) -> float:
    """``30m`` → 1800.0 seconds; units ms, s, m/min, h, d, w; a bare number is seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"duration {text!r} is invalid: use e.g. 90s, 30m, 2h or 1d")
    value, unit = float(match.group(1)), (match.group(2) or "s").lower()
    return value * _UNIT_SECONDS[unit]


def parse_times(column: pa.ChunkedArray, name: str, col: str, first_row: int = 0) -> pa.Array:
    """Epoch seconds or milliseconds, or ISO 8601 strings, as float64 epoch seconds (nulls stay null).

    ``first_row`` is the position of the column's first value in its file, for the message.

    Raises:
        InputError: naming the first row whose value cannot be parsed.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if len(values) == 0:
        return pa.array([], type=pa.float64())
    try:
        numbers = pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        numbers = None
    if numbers is not None:
        # Epoch milliseconds are larger than any plausible epoch second (1e11 s is year 5138).
        finite = numbers[np.isfinite(numbers)]
        scale = 0.001 if finite.size and np.abs(finite).max() > 1e11 else 1.0
        return pa.array(numbers * scale)
    for unit in (pa.timestamp("ns"), pa.timestamp("ns", tz="UTC")):
        try:  # pyarrow parses ISO 8601 in C++; pandas below only for mixed offsets and errors
            stamps = pc.cast(values, unit)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return pa.array(pc.cast(stamps, pa.int64()).to_numpy(zero_copy_only=False) / 1e9)
    strings = values.to_pandas()
    parsed = pd.to_datetime(strings, format="ISO8601", utc=True, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy() & strings.notna().to_numpy())
    if bad.size:
        row = int(bad[0])
        raise InputError(
            f"{name}: row {first_row + row + 1} has {col} {strings.iloc[row]!r}, which is not a time: "
            "use epoch seconds, epoch milliseconds or ISO 8601 (2024-05-01T13:45:00)"
        )
    nanos = parsed.to_numpy(dtype="datetime64[ns]").astype("int64")
    return pa.array(nanos / 1e9)


def column_codes(column: pa.ChunkedArray) -> tuple[NDArray[np.int64], NDArray[np.object_]]:
    """Integer codes (in order of first appearance) and the distinct strings they index."""
    import numpy as np
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(column.combine_chunks())
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    names = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    return codes, names


def group_codes(table: pa.Table, columns: list[str]) -> NDArray[np.int64]:
    import numpy as np

    group = np.zeros(table.num_rows, dtype=np.int64)
    for col in columns:
        codes, names = column_codes(table[col])
        group = group * len(names) + codes
    return group


def session_from_meta(meta: dict[str, Any], overrides: dict[str, Any]) -> SessionOptions:
    """The model's recorded session options, with every override that is not None."""
    saved = dict(meta.get("input", {}).get("session") or {})
    values: dict[str, Any] = {
        "item_col": saved.get("item_col", "item_id"),
        "user_col": saved.get("user_col", "user_id"),
        "session_col": saved.get("session_col"),
        "time_col": saved.get("time_col"),
        "session_gap": saved.get("session_gap_seconds"),
        "drop_repeats": saved.get("drop_repeats", True),
        "min_length": saved.get("min_length", 2),
        "where": tuple(Where.parse(w) for w in saved.get("where", [])),
    }
    for key, value in overrides.items():
        if value is not None and value != ():
            values[key] = value
    if overrides.get("session_col") and overrides.get("user_col") is None:
        values["user_col"] = None  # as in train: --session-col alone groups by session only
    return SessionOptions(**values)
