"""How events become sequences: session options, row filters, durations and delimiters.

Time parsing lives in :mod:`item2vec.corpus.times` (re-exported here: ``TimeKind``, ``parse_times``).

Shared by the event reader (:mod:`item2vec.corpus.ingest`), the sessionizer
(:mod:`item2vec.corpus.sequences`), ``split`` and the Spark engine, so none of them imports another
for these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from item2vec.corpus.times import TimeKind, parse_times
from item2vec.errors import Bare, ConfigError, InputError, cut, flag_name, param

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from numpy.typing import NDArray

__all__ = [
    "WHERE_SYNTAX",
    "SessionOptions",
    "TimeKind",
    "Where",
    "column_codes",
    "group_codes",
    "parse_delimiter",
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
                f"{param('where', text)} is invalid: use {WHERE_SYNTAX} "
                f"(quote it in a shell: {param('where', 'Quantity>0')})",
                param="where",
                value=text,
                expected=WHERE_SYNTAX,
            )
        if op == "in":
            value = ",".join(v.strip() for v in value.split(",") if v.strip())
        where = cls(column.strip(), value, negate, op)
        where.check()
        return where

    def check(self) -> None:
        if self.op == "in" and not self.values:
            raise ConfigError(
                f"{param('where', str(self))} lists no value: use 'COL in A,B'",
                param="where",
                value=str(self),
                expected="'COL in A,B'",
            )
        if self.op in _COMPARE and self.number is None:
            raise ConfigError(
                f"{param('where', str(self))}: {self.value!r} is not a number; {self.op} compares numbers "
                "(use = or != for text)",
                param="where",
                value=str(self),
                expected="a number after >, >=, < or <=",
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
            f"{param('where', str(self))}: column {self.column!r} holds {cell!r}, which is not a number: "
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

    @property
    def label(self) -> str:
        """The filter as the counts of dropped rows (the summary, model.json) name it.

        Spelled as ``str(error)`` spells a parameter (``--where Quantity>0``): the record's key
        must not change with the edge that trained the model.
        """
        return flag_name("where", str(self))

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
    delimiter: str | None = None  # CSV/TSV field separator; None: ',' for CSV, a tab for TSV
    # The delimiter came from the model (update, evaluate): inputs that are not CSV/TSV ignore it,
    # where one given with --delimiter is refused for them.
    delimiter_inherited: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        self._check_columns()
        if self.delimiter is not None:
            parse_delimiter(self.delimiter)
        if self.min_length < 1:
            raise ConfigError(param="min_length", value=self.min_length, expected="1 or more")
        if self.session_gap is not None and not self.session_gap > 0:  # NaN too
            raise ConfigError(param="session_gap", value=self.session_gap, expected="a positive duration")
        if self.session_gap is not None and not self.time_col:
            raise ConfigError(
                f"{param('session_gap')} needs {param('time_col')}: sessions are split on time gaps",
                param="session_gap",
                value=self.session_gap,
                fix="name the time column",
            )

    def _check_columns(self) -> None:
        named: dict[str, str] = {}
        for role, column in (
            ("user_col", self.user_col),
            ("session_col", self.session_col),
            ("item_col", self.item_col),
            ("time_col", self.time_col),
        ):
            if column and column in named:
                raise ConfigError(
                    f"{param(role, cut(column))} is also {param(named[column])}: each role needs its own column",
                    param=role,
                    value=column,
                    expected="a column no other role names",
                )
            if column:
                named[column] = role

    def check_delimiter(self, fmt: str, name: str) -> None:
        """Refuse --delimiter for an input that is not CSV/TSV (one inherited from the model is ignored).

        Raises:
            ConfigError: naming the input and its format.
        """
        if self.delimiter is not None and not self.delimiter_inherited and fmt not in ("csv", "tsv"):
            raise ConfigError(
                f"{param('delimiter', self.delimiter)} applies to CSV/TSV input, but {name} reads as {fmt}: "
                f"drop {param('delimiter')}, or pass {param('input_format', Bare('csv'))} if it is a CSV file",
                param="delimiter",
                value=self.delimiter,
                expected="no delimiter for a file that is not CSV/TSV",
            )

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
            "delimiter": self.delimiter,
        }


def parse_delimiter(text: str) -> str:
    """A one-character CSV delimiter; ``\\t`` (backslash, t) or ``tab`` means a tab.

    Raises:
        ConfigError: anything but one character, or a quote or line break.
    """
    value = "\t" if text in ("\\t", "tab", "TAB") else text
    if len(value) != 1 or value in '\r\n"':
        raise ConfigError(
            param="delimiter", value=cut(text), expected="one character, e.g. ';', '|' or '\\t' for a tab"
        )
    return value


def parse_duration(text: str) -> float:
    """``30m`` → 1800.0 seconds; units ms, s, m/min, h, d, w; a bare number is seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"duration {text!r} is invalid: use e.g. 90s, 30m, 2h or 1d")
    value, unit = float(match.group(1)), (match.group(2) or "s").lower()
    return value * _UNIT_SECONDS[unit]


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
        "delimiter": saved.get("delimiter"),
        "delimiter_inherited": saved.get("delimiter") is not None,
    }
    for key, value in overrides.items():
        if value is not None and value != ():
            values[key] = value
    if overrides.get("delimiter") is not None:
        values["delimiter_inherited"] = False
    if overrides.get("session_col") and overrides.get("user_col") is None:
        values["user_col"] = None  # as in train: --session-col alone groups by session only
    return SessionOptions(**values)
