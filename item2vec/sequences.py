"""Turn inputs into a corpus: sessionize events, read sequence files and text.

Events are streamed into integer codes (:mod:`item2vec.ingest`); sessionizing is vectorised
over them: sort by group then time (skipped when the input is already in that order), split on
group change or on a time gap, drop consecutive repeats, drop short sessions. The result is a
packed corpus (:mod:`item2vec.corpus`); Python lists are built only when asked for.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from item2vec.corpus import MAX_SEQUENCE, Corpus, CorpusStats, Packed
from item2vec.errors import ConfigError, EmptyResultError, InputError
from item2vec.events import Source, detect_format

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from numpy.typing import NDArray

    from item2vec.ingest import EventCodes

__all__ = ["MAX_SEQUENCE", "Corpus", "CorpusStats", "SessionOptions", "Where", "load_corpus"]
_LINE_BLOCK = 1 << 20  # tokens read from sequence/text files before they are encoded
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
        packed = _read_lines(sources, kind, options.min_length, stats)
    else:
        from item2vec.ingest import read_event_codes

        packed = sessionize_codes(read_event_codes(sources, kind, options, stats), options, stats)
    stats.sessions = len(packed)
    stats.tokens = packed.tokens
    if not len(packed):
        raise EmptyResultError(empty_message(stats, options.min_length))
    return Corpus(packed.split_long(MAX_SEQUENCE), stats)


def empty_message(stats: CorpusStats, min_length: int) -> str:
    if not stats.sessions_dropped_short:
        reasons = ", ".join(f"{n:,} by {why}" for why, n in stats.rows_dropped.items()) or "no rows"
        return f"no rows left of {stats.events_read:,} ({reasons}): loosen the filter or check the columns"
    return (
        f"no sequence has at least --min-length {min_length} items "
        f"({stats.sessions_dropped_short:,} were shorter): lower --min-length, "
        "or group by a wider key (--user-col rather than --session-col, or no --session-gap)"
    )


def _read_lines(sources: list[Source], kind: str, min_length: int, stats: CorpusStats) -> Packed:
    import io

    import numpy as np
    import pyarrow as pa

    from item2vec.ingest import Encoder

    split = _SEQ_SPLIT.split if kind == "sequences" else None
    encoder, lengths, tokens = Encoder(), list[int](), list[str]()
    for source in sources:
        with source.open() as stream:
            for line in io.TextIOWrapper(stream, encoding="utf-8", errors="replace"):
                stats.events_read += 1
                words = _WORD.findall(line.lower()) if split is None else [t for t in split(line) if t]
                if len(words) >= min_length:
                    tokens.extend(words)
                    lengths.append(len(words))
                elif words:
                    stats.sessions_dropped_short += 1
                if len(tokens) >= _LINE_BLOCK:
                    encoder.add(pa.chunked_array([pa.array(tokens, type=pa.string()).dictionary_encode()]))
                    tokens = []
    if tokens:
        encoder.add(pa.chunked_array([pa.array(tokens, type=pa.string()).dictionary_encode()]))
    codes, names = encoder.finish()
    bounds = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=bounds[1:])
    return Packed(codes, bounds, np.asarray(names.to_pylist(), dtype=object))


def _prepare(source: Source, fmt: str, options: SessionOptions, stats: CorpusStats) -> pa.Table:
    """Read one whole table as :func:`item2vec.ingest.prepare_batch` leaves each batch."""
    import pyarrow as pa

    from item2vec.events import iter_batches
    from item2vec.ingest import prepare_batch

    batches, first_row = [], 0
    for batch in iter_batches(source, fmt, options.columns, encode=[]):
        batches.append(prepare_batch(batch, source, options, stats, first_row))
        first_row += batch.num_rows
    return pa.concat_tables(batches)


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


def sessionize_codes(events: EventCodes, options: SessionOptions, stats: CorpusStats) -> Packed:
    """Group coded events into ordered sessions (see the module docstring for the steps)."""
    import numpy as np

    items, group, times = events.items, events.groups, events.times
    names = np.asarray(events.item_names.to_pylist(), dtype=object)
    del events  # the arrays above are now the only references: freed step by step below
    stats.input_sorted = _in_order(group, times)
    if not stats.input_sorted:
        order = np.lexsort((times, group)) if times is not None else np.argsort(group, kind="stable")
        group, items = group[order], items[order]
        times = times[order] if times is not None else None
        del order
    starts = np.ones(len(items), dtype=bool)
    starts[1:] = group[1:] != group[:-1]
    del group
    if times is not None and options.session_gap is not None:
        starts[1:] |= np.diff(times) > options.session_gap
    del times
    if options.drop_repeats:
        keep = np.ones(len(items), dtype=bool)
        keep[1:] = starts[1:] | (items[1:] != items[:-1])
        stats.drop("consecutive repeats", len(items) - int(keep.sum()))
        items, starts = items[keep], starts[keep]
    session = np.cumsum(starts, dtype=np.int64)
    session -= 1
    lengths = np.bincount(session) if len(session) else np.zeros(0, dtype=np.int64)
    long_enough = lengths >= options.min_length
    stats.sessions_dropped_short += int((~long_enough).sum())
    stats.drop("short sessions", int(lengths[~long_enough].sum()))
    if not long_enough.all():
        rows = long_enough[session]
        items, lengths = items[rows], lengths[long_enough]
    bounds = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=bounds[1:])
    return Packed(items.astype(np.int32, copy=False), bounds, names)


def _in_order(group: NDArray[np.int64] | NDArray[np.int32], times: NDArray[np.float64] | None) -> bool:
    """Whether rows already come grouped (groups in order of first appearance) and in time order."""
    import numpy as np

    same = group[1:] == group[:-1]
    if not np.all(same | (group[1:] > group[:-1])):
        return False
    return times is None or bool(np.all(~same | (times[1:] >= times[:-1])))


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
