"""Turn inputs into a corpus: sessionize events, read sequence files and text.

Events are streamed into integer codes (:mod:`item2vec.corpus.ingest`); sessionizing is vectorised
over them: sort by group then time (skipped when the input is already in that order), split on
group change or on a time gap, drop consecutive repeats, drop short sessions. The result is a
packed corpus (:mod:`item2vec.corpus.packed`); Python lists are built only when asked for.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from item2vec.corpus.events import Source, detect_format, open_source
from item2vec.corpus.options import SessionOptions
from item2vec.corpus.packed import MAX_SEQUENCE, Corpus, CorpusStats, Packed
from item2vec.corpus.text import lines
from item2vec.errors import EmptyResultError, InputError, column_roles, listing, param

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from numpy.typing import NDArray

    from item2vec.corpus.ingest import EventCodes

__all__ = [
    "item_counts",
    "load_corpus",
    "pack_lists",
    "prepare_frame",
    "prepare_table",
    "read_sequences",
    "sequence_corpus",
    "sessionize_codes",
    "table_corpus",
]
_LINE_BLOCK = 1 << 20  # tokens read from sequence/text files before they are encoded
_SEQ_SPLIT = re.compile(r"[\s,]+")
_WORD = re.compile(r"[^\W_]+")


def load_corpus(sources: list[Source], fmt: str | None, options: SessionOptions) -> Corpus:
    """Read every input (all of one format) and build the corpus.

    Raises:
        InputError: unreadable input, mixed formats, or bad columns/timestamps.
        EmptyResultError: no sequence is left; the message names the step that removed them.
    """
    formats = {fmt or detect_format(s, options.item_col, options.delimiter) for s in sources}
    if len(formats) > 1:
        names = listing([s.name for s in sources])
        raise InputError(
            f"inputs {names} have different formats ({', '.join(sorted(formats))}): "
            "train on one kind at a time or convert them"
        )
    kind = formats.pop()
    options.check_delimiter(kind, listing([s.name for s in sources]))
    stats = CorpusStats(input_format=kind, inputs=[s.name for s in sources])
    if kind in ("sequences", "text"):
        packed = _read_lines(sources, kind, options.min_length, stats)
    else:
        from item2vec.corpus.ingest import read_event_codes

        packed = sessionize_codes(read_event_codes(sources, kind, options, stats), options, stats)
    return _finish(packed, stats, options.min_length)


def table_corpus(table: pa.Table, name: str, options: SessionOptions) -> Corpus:
    """Sessionize an in-memory event table (:mod:`item2vec.corpus.frames`) exactly as a file.

    Raises:
        InputError: missing columns, ids that are not values, or times that cannot be parsed.
        EmptyResultError: no sequence is left; the message names the step that removed them.
    """
    from item2vec.corpus.frames import frame_batches
    from item2vec.corpus.ingest import code_events

    stats = CorpusStats(input_format="table", inputs=[name])
    encode = list(dict.fromkeys([options.item_col, *options.group_cols]))
    batches = frame_batches(table, name, options.columns, encode=encode, time_col=options.time_col)
    events = code_events([(Source(name), batches)], options, stats)
    return _finish(sessionize_codes(events, options, stats), stats, options.min_length)


def sequence_corpus(sequences: Iterable[list[str]], name: str, min_length: int) -> Corpus:
    """Pack sequences of item ids, read once, exactly as a sequence file's lines are packed.

    Raises:
        EmptyResultError: no sequence has ``min_length`` items.
    """
    stats = CorpusStats(input_format="sequences", inputs=[name])
    return _finish(pack_lists(sequences, min_length, stats), stats, min_length)


def _finish(packed: Packed, stats: CorpusStats, min_length: int) -> Corpus:
    stats.sessions = len(packed)
    stats.tokens = packed.tokens
    if not len(packed):
        raise EmptyResultError(empty_message(stats, min_length))
    return Corpus(packed.split_long(MAX_SEQUENCE), stats)


def read_sequences(inputs: list[str], session: SessionOptions, input_format: str | None = None) -> Corpus:
    """Read and sessionize files exactly as ``train`` does."""
    if inputs.count("-") > 1:
        raise InputError("'-' (stdin) can be given only once")
    return load_corpus([open_source(name) for name in inputs], input_format, session)


def empty_message(stats: CorpusStats, min_length: int) -> str:
    if not stats.sessions_dropped_short:
        reasons = ", ".join(f"{n:,} by {why}" for why, n in stats.rows_dropped.items()) or "no rows"
        return f"no rows left of {stats.events_read:,} ({reasons}): loosen the filter or check the columns"
    return (
        f"no sequence has at least {param('min_length', min_length)} items "
        f"({stats.sessions_dropped_short:,} were shorter): lower {param('min_length')}, "
        f"or group by a wider key ({param('user_col')} rather than {param('session_col')}, "
        f"or no {param('session_gap')})"
    )


def _read_lines(sources: list[Source], kind: str, min_length: int, stats: CorpusStats) -> Packed:
    split = _SEQ_SPLIT.split if kind == "sequences" else None

    def read() -> Iterator[list[str]]:
        for source in sources:
            with source.open() as stream:
                for _, line in lines(stream, source.name, source.open):  # UTF-8 or refused, naming the line
                    yield _WORD.findall(line.lower()) if split is None else [t for t in split(line) if t]

    return pack_lists(read(), min_length, stats)


def pack_lists(sequences: Iterable[list[str]], min_length: int, stats: CorpusStats) -> Packed:
    """Pack sequences in one pass: ids coded in order of first appearance, shorter ones counted out.

    Every sequence counts as one line read; empty ones are skipped, short ones dropped.
    """
    import numpy as np
    import pyarrow as pa

    from item2vec.corpus.ingest import Encoder

    encoder, lengths, tokens = Encoder(), list[int](), list[str]()
    for words in sequences:
        stats.events_read += 1
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


def prepare_table(source: Source, fmt: str, options: SessionOptions, stats: CorpusStats) -> pa.Table:
    """Read one whole table as :func:`item2vec.corpus.ingest.prepare_batch` leaves each batch."""
    import pyarrow as pa

    from item2vec.corpus.events import iter_batches
    from item2vec.corpus.ingest import prepare_batch
    from item2vec.corpus.options import TimeKind

    batches, first_row, kind = [], 0, TimeKind()
    with column_roles(options.roles()):
        for batch in iter_batches(source, fmt, options.columns, encode=[], delimiter=options.delimiter):
            batches.append(prepare_batch(batch, source, options, stats, first_row, kind))
            first_row += batch.num_rows
    return pa.concat_tables(batches)


def prepare_frame(table: pa.Table, name: str, options: SessionOptions, stats: CorpusStats) -> pa.Table:
    """An in-memory table (:mod:`item2vec.corpus.frames`) as :func:`prepare_table` leaves a file."""
    import pyarrow as pa

    from item2vec.corpus.frames import frame_batches
    from item2vec.corpus.ingest import prepare_batch

    batches, first_row, source = [], 0, Source(name)
    with column_roles(options.roles()):
        for batch in frame_batches(table, name, options.columns, encode=[], time_col=options.time_col):
            batches.append(prepare_batch(batch, source, options, stats, first_row))
            first_row += batch.num_rows
    return pa.concat_tables(batches)


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


def item_counts(sequences: list[list[str]]) -> Counter[str]:
    """How often each item occurs in the corpus."""
    counts: Counter[str] = Counter()
    for seq in sequences:
        counts.update(seq)
    return counts
