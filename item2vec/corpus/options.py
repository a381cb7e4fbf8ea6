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


@dataclass(frozen=True)
class Where:
    """A row filter: ``COL=VALUE`` keeps equal rows, ``COL!=VALUE`` keeps the others."""

    column: str
    value: str
    negate: bool = False

    @classmethod
    def parse(cls, text: str) -> Where:
        """Parse ``COL=VALUE`` or ``COL!=VALUE``."""
        negate = "!=" in text
        column, sep, value = text.partition("!=" if negate else "=")
        if not sep or not column.strip():
            raise ConfigError(f"--where {text!r} is invalid: use COL=VALUE or COL!=VALUE")
        return cls(column.strip(), value, negate)

    def __str__(self) -> str:
        return f"{self.column}{'!=' if self.negate else '='}{self.value}"


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
