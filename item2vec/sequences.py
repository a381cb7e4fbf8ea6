"""Turn inputs into a corpus: sessionize events, read sequence files and text.

A corpus is a list of item-id lists. Sessionizing is vectorised over integer codes: sort by
group then time, split on group change or on a time gap, drop consecutive repeats, drop short
sessions; Python lists are built only once, at the end.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from item2vec.errors import ConfigError, EmptyResultError, InputError
from item2vec.events import Source, detect_format, read_table

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from numpy.typing import NDArray

# gensim silently truncates sentences longer than this; longer sequences are split instead.
MAX_SEQUENCE = 10_000
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d|w)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
_SEQ_SPLIT = re.compile(r"[\s,]+")
_WORD = re.compile(r"[^\W_]+")


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


@dataclass
class CorpusStats:
    """What reading and sessionizing did, for the summary and model.json."""

    input_format: str = ""
    inputs: list[str] = field(default_factory=list)
    events_read: int = 0
    rows_dropped: dict[str, int] = field(default_factory=dict)
    sessions: int = 0
    sessions_dropped_short: int = 0
    tokens: int = 0

    def drop(self, reason: str, rows: int) -> None:
        if rows:
            self.rows_dropped[reason] = self.rows_dropped.get(reason, 0) + int(rows)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Corpus:
    """Sequences of item ids plus what it took to make them."""

    sequences: list[list[str]]
    stats: CorpusStats


def parse_duration(text: str) -> float:
    """``30m`` → 1800.0 seconds; units ms, s, m/min, h, d, w; a bare number is seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"duration {text!r} is invalid: use e.g. 90s, 30m, 2h or 1d")
    value, unit = float(match.group(1)), (match.group(2) or "s").lower()
    return value * _UNIT_SECONDS[unit]


def load_corpus(sources: list[Source], fmt: str | None, options: SessionOptions) -> Corpus:
    """Read every input (all of one format) and build the corpus.

    Raises:
        InputError: unreadable input, mixed formats, or bad columns/timestamps.
        EmptyResultError: no sequence is left; the message names the step that removed them.
    """
    formats = {fmt or detect_format(s, options.item_col) for s in sources}
    if len(formats) > 1:
        names = ", ".join(f"{s.name}" for s in sources)
        raise InputError(
            f"inputs {names} have different formats ({', '.join(sorted(formats))}): "
            "train on one kind at a time or convert them"
        )
    kind = formats.pop()
    stats = CorpusStats(input_format=kind, inputs=[s.name for s in sources])
    if kind in ("sequences", "text"):
        sequences = _read_lines(sources, kind, options.min_length, stats)
    else:
        sequences = sessionize([_prepare(s, kind, options, stats) for s in sources], options, stats)
    stats.sessions = len(sequences)
    stats.tokens = sum(len(s) for s in sequences)
    if not sequences:
        raise EmptyResultError(_empty_message(stats, options.min_length))
    return Corpus(_split_long(sequences), stats)


def _empty_message(stats: CorpusStats, min_length: int) -> str:
    if not stats.sessions_dropped_short:
        reasons = ", ".join(f"{n:,} by {why}" for why, n in stats.rows_dropped.items()) or "no rows"
        return f"no rows left of {stats.events_read:,} ({reasons}): loosen the filter or check the columns"
    return (
        f"no sequence has at least --min-length {min_length} items "
        f"({stats.sessions_dropped_short:,} were shorter): lower --min-length, "
        "or group by a wider key (--user-col rather than --session-col, or no --session-gap)"
    )


def _read_lines(sources: list[Source], kind: str, min_length: int, stats: CorpusStats) -> list[list[str]]:
    import io

    split = _SEQ_SPLIT.split if kind == "sequences" else None
    sequences: list[list[str]] = []
    for source in sources:
        with source.open() as stream:
            for line in io.TextIOWrapper(stream, encoding="utf-8", errors="replace"):
                stats.events_read += 1
                tokens = _WORD.findall(line.lower()) if split is None else [t for t in split(line) if t]
                if len(tokens) >= min_length:
                    sequences.append(tokens)
                elif tokens:
                    stats.sessions_dropped_short += 1
    return sequences


def _split_long(sequences: list[list[str]]) -> list[list[str]]:
    if all(len(s) <= MAX_SEQUENCE for s in sequences):
        return sequences
    out: list[list[str]] = []
    for seq in sequences:
        out.extend(seq[i : i + MAX_SEQUENCE] for i in range(0, len(seq), MAX_SEQUENCE))
    return out


def _prepare(source: Source, fmt: str, options: SessionOptions, stats: CorpusStats) -> pa.Table:
    """Read one table, apply --where, drop rows without ids, parse time to float seconds."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = read_table(source, fmt, options.columns)
    stats.events_read += table.num_rows
    for where in options.where:
        mask = pc.fill_null(pc.equal(table[where.column], where.value), False)
        if where.negate:
            mask = pc.invert(mask)
        stats.drop(f"--where {where}", table.num_rows - pc.sum(mask).as_py() if table.num_rows else 0)
        table = table.filter(mask)
    for col in [*options.group_cols, options.item_col]:
        valid = pc.is_valid(table[col])
        stats.drop(f"missing {col}", table.num_rows - pc.sum(valid).as_py() if table.num_rows else 0)
        table = table.filter(valid)
    keep = [*options.group_cols, options.item_col]
    if options.time_col and table.num_rows:
        valid = pc.is_valid(table[options.time_col])
        stats.drop(f"missing {options.time_col}", table.num_rows - pc.sum(valid).as_py())
        table = table.filter(valid)
        seconds = parse_times(table[options.time_col], source.name, options.time_col)
        return pa.table([*(table[c] for c in keep), seconds], names=[*keep, "__time"])
    return table.select(keep)


def parse_times(column: pa.ChunkedArray, name: str, col: str) -> pa.Array:
    """Epoch seconds or milliseconds, or ISO 8601 strings, as float64 epoch seconds.

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
        scale = 0.001 if np.nanmax(np.abs(numbers)) > 1e11 else 1.0
        return pa.array(numbers * scale)
    for unit in (pa.timestamp("ns"), pa.timestamp("ns", tz="UTC")):
        try:  # pyarrow parses ISO 8601 in C++; pandas below only for mixed offsets and errors
            stamps = pc.cast(values, unit)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return pa.array(pc.cast(stamps, pa.int64()).to_numpy(zero_copy_only=False) / 1e9)
    strings = values.to_pandas()
    parsed = pd.to_datetime(strings, format="ISO8601", utc=True, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        row = int(bad[0])
        raise InputError(
            f"{name}: row {row + 1} has {col} {strings.iloc[row]!r}, which is not a time: "
            "use epoch seconds, epoch milliseconds or ISO 8601 (2024-05-01T13:45:00)"
        )
    nanos = parsed.to_numpy(dtype="datetime64[ns]").astype("int64")
    return pa.array(nanos / 1e9)


def sessionize(tables: list[pa.Table], options: SessionOptions, stats: CorpusStats) -> list[list[str]]:
    """Group rows into ordered sessions (see the module docstring for the steps)."""
    import numpy as np
    import pyarrow as pa

    table = pa.concat_tables(tables)
    if table.num_rows == 0:
        return []
    items, item_names = _codes(table[options.item_col])
    group = _group_codes(table, options.group_cols)
    if options.time_col:
        times = table["__time"].to_numpy()
        order = np.lexsort((times, group))
    else:
        times = None
        order = np.argsort(group, kind="stable")
    group, items = group[order], items[order]
    starts = np.ones(len(items), dtype=bool)
    starts[1:] = group[1:] != group[:-1]
    if times is not None and options.session_gap is not None:
        times = times[order]
        starts[1:] |= np.diff(times) > options.session_gap
    if options.drop_repeats:
        keep = np.ones(len(items), dtype=bool)
        keep[1:] = starts[1:] | (items[1:] != items[:-1])
        stats.drop("consecutive repeats", len(items) - int(keep.sum()))
        items, starts = items[keep], starts[keep]
    session = np.cumsum(starts) - 1
    lengths = np.bincount(session)
    long_enough = lengths >= options.min_length
    stats.sessions_dropped_short += int((~long_enough).sum())
    stats.drop("short sessions", int(lengths[~long_enough].sum()))
    rows = long_enough[session]
    items, starts = items[rows], starts[rows]
    if not len(items):
        return []
    cuts = np.flatnonzero(starts)[1:]
    return [part.tolist() for part in np.split(item_names[items], cuts)]


def _codes(column: pa.ChunkedArray) -> tuple[NDArray[np.int64], NDArray[np.object_]]:
    """Integer codes (in order of first appearance) and the distinct strings they index."""
    import numpy as np
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(column.combine_chunks())
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    names = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    return codes, names


def _group_codes(table: pa.Table, columns: list[str]) -> NDArray[np.int64]:
    import numpy as np

    group = np.zeros(table.num_rows, dtype=np.int64)
    for col in columns:
        codes, names = _codes(table[col])
        group = group * len(names) + codes
    return group


def item_counts(sequences: list[list[str]]) -> Counter[str]:
    """How often each item occurs in the corpus."""
    counts: Counter[str] = Counter()
    for seq in sequences:
        counts.update(seq)
    return counts
