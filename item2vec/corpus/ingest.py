"""Stream event tables into sessions with bounded memory.

Each batch (about a million rows) is filtered (``--where``, rows without ids or times), its
times parsed to float seconds, and its id columns turned into integer codes against one
dictionary per column that grows as batches arrive (codes in order of first appearance). What
stays in memory is 4 bytes an event per id column and 8 for the time, never a Python object
per event. Sessionizing then runs on those arrays (:func:`item2vec.corpus.sequences.sessionize_codes`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from item2vec.corpus.events import Source, iter_batches
from item2vec.errors import column_roles

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from numpy.typing import NDArray

    from item2vec.corpus.options import SessionOptions, TimeKind
    from item2vec.corpus.packed import CorpusStats

TIME = "__time"  # the parsed time column (float epoch seconds)
# Unify batch dictionaries into the global one once this many entries are pending.
_PENDING_ENTRIES = 2_000_000


@dataclass
class EventCodes:
    """Events as arrays: item code, group (user/session) code and time of every kept row."""

    items: NDArray[np.int32]
    groups: NDArray[np.int64] | NDArray[np.int32]
    times: NDArray[np.float64] | None
    item_names: pa.Array


class Encoder:
    """Integer codes for one column across batches, in order of first appearance.

    Batch dictionaries are merged into the global one with Arrow's dictionary unification
    (which keeps the first dictionary's positions, so earlier codes stay valid), a few
    batches at a time.
    """

    def __init__(self) -> None:
        self.dictionary: pa.Array | None = None
        self.pending: list[pa.DictionaryArray] = []
        self.pending_entries = 0
        self.codes: list[NDArray[np.int32]] = []

    def add(self, column: pa.ChunkedArray) -> None:
        for chunk in column.chunks:
            self.pending.append(chunk)
            self.pending_entries += len(chunk.dictionary)
        if self.pending_entries >= _PENDING_ENTRIES:
            self.flush()

    def flush(self) -> None:
        import numpy as np
        import pyarrow as pa

        if not self.pending:
            return
        chunks = self.pending
        anchored = self.dictionary is not None
        if self.dictionary is not None:
            anchor = pa.DictionaryArray.from_arrays(pa.array([], type=pa.int32()), self.dictionary)
            chunks = [anchor, *chunks]
        unified = pa.table({"c": pa.chunked_array(chunks)}).unify_dictionaries()["c"]
        self.dictionary = unified.chunk(0).dictionary
        for chunk in unified.chunks[1 if anchored else 0 :]:
            self.codes.append(chunk.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False))
        self.pending, self.pending_entries = [], 0

    def finish(self) -> tuple[NDArray[np.int32], pa.Array]:
        """All codes so far (one array) and the id each code stands for."""
        import numpy as np
        import pyarrow as pa

        self.flush()
        codes = np.concatenate(self.codes) if self.codes else np.zeros(0, dtype=np.int32)
        self.codes = []
        return codes, self.dictionary if self.dictionary is not None else pa.array([], type=pa.string())


def read_event_codes(
    sources: list[Source], fmt: str, options: SessionOptions, stats: CorpusStats
) -> EventCodes:
    """Read every source batch by batch into :class:`EventCodes`.

    Raises:
        InputError: unreadable input, missing columns, or times that cannot be parsed.
    """
    encode = list(dict.fromkeys([options.item_col, *options.group_cols]))
    return code_events(
        [
            (s, iter_batches(s, fmt, options.columns, encode=encode, delimiter=options.delimiter))
            for s in sources
        ],
        options,
        stats,
    )


def code_events(
    inputs: Iterable[tuple[Source, Iterable[pa.Table]]], options: SessionOptions, stats: CorpusStats
) -> EventCodes:
    """Code the batches of every input (as :func:`item2vec.corpus.events.iter_batches` yields them).

    Files and in-memory tables (:mod:`item2vec.corpus.frames`) go through this one path.

    Raises:
        InputError: times that cannot be parsed.
    """
    import numpy as np

    from item2vec.corpus.options import TimeKind

    encoders = {col: Encoder() for col in [options.item_col, *options.group_cols]}
    times: list[NDArray[np.float64]] = []
    for source, batches in inputs:
        first_row, kind = 0, TimeKind()  # one kind of time (epoch s, ms, ISO) in all of a file's batches
        with column_roles(options.roles()):
            for batch in batches:
                rows = batch.num_rows
                batch = prepare_batch(batch, source, options, stats, first_row, kind)
                first_row += rows
                for col, encoder in encoders.items():
                    encoder.add(batch[col])
                if options.time_col:
                    times.append(batch[TIME].to_numpy())
    items, item_names = encoders[options.item_col].finish()
    groups: NDArray[np.int64] | NDArray[np.int32] = np.zeros(len(items), dtype=np.int32)
    for col in options.group_cols:
        codes, names = encoders[col].finish()
        # One group column keeps its int32 codes; two combine into int64 (user, session) keys.
        groups = codes if len(options.group_cols) == 1 else groups.astype(np.int64) * len(names) + codes
    return EventCodes(items, groups, np.concatenate(times) if options.time_col else None, item_names)


def prepare_batch(
    batch: pa.Table,
    source: Source,
    options: SessionOptions,
    stats: CorpusStats,
    first_row: int = 0,
    kind: TimeKind | None = None,
) -> pa.Table:
    """Parse times (column ``__time``, float seconds), apply --where, drop rows without ids or times.

    Returns the group columns, the item column and ``__time`` (when there is a time column).
    ``first_row`` is the batch's first row in its file, for error messages; ``kind`` is the kind
    of time the batches before this one held (they must all agree).
    """
    import pyarrow.compute as pc

    from item2vec.corpus.options import parse_times

    stats.events_read += batch.num_rows
    if options.time_col:
        seconds = parse_times(batch[options.time_col], source.name, options.time_col, first_row, kind)
        batch = batch.append_column(TIME, seconds)
    for where in options.where:
        batch = _keep(batch, where.mask(_plain(batch[where.column])), where.label, stats)
    keep = [*options.group_cols, options.item_col]
    for col in keep + ([options.time_col] if options.time_col else []):
        batch = _keep(batch, pc.is_valid(batch[col]), f"missing {col}", stats)
    return batch.select(keep + ([TIME] if options.time_col else []))


def _keep(batch: pa.Table, mask: pa.ChunkedArray, reason: str, stats: CorpusStats) -> pa.Table:
    import pyarrow.compute as pc

    kept = pc.sum(mask).as_py() or 0
    if kept == batch.num_rows:
        return batch
    stats.drop(reason, batch.num_rows - kept)
    return batch.filter(mask)


def _plain(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A dictionary-encoded column decoded back to strings (for --where on an id column)."""
    import pyarrow as pa

    if pa.types.is_dictionary(column.type):
        return pa.chunked_array([chunk.dictionary_decode() for chunk in column.chunks], type=pa.string())
    return column
