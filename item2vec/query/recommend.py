"""Candidates from a history, for one user or every user in a log, and the item-to-item table.

A user's query is the decayed mean of their most recent items: the unit vectors of the last
``history_size`` known items, weighted ``decay ** age`` (age 0 = most recent). Candidates are
scored in the scorer's mode (``item2vec.query.scoring``): by cosine to the input vectors
(``similar``) or to the output vectors (``next``), or ``hybrid``, which adds the history's
transition rows summed with the same weights. Everything the user has seen is left out unless
``keep_seen``.

The batch paths (every user of an event log; every item's neighbours) are matrix work: one
product per batch of queries against the whole catalogue (or one index search per batch), with
batches sized so the score matrix stays within ``cells`` floats, and rows streamed to a Parquet
or CSV file as they are made, so memory stays bounded however many rows are written.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.corpus.tables import check_table_output, write_table
from item2vec.errors import ConfigError, EmptyResultError, InputError
from item2vec.model.embeddings import Embeddings, Neighbour, unit_rows
from item2vec.query.scoring import Scorer, open_parts, query_weights
from item2vec.query.topk import top_k

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import scipy.sparse as sp
    from numpy.typing import NDArray

DECAY = 0.7
HISTORY_SIZE = 5
STDOUT = "<stdout>"
CELLS = 1 << 24  # scores held at once (queries x catalogue): 64 MB of float32
MOST_SEEN = 1000  # with an index, the shortlist widens by at most this many seen items


Sink = Callable[["pa.RecordBatch"], None]


@dataclass(frozen=True)
class Recommendation:
    """Candidates for one history, and notes for stderr (skipped unknown items)."""

    neighbours: list[Neighbour]
    notes: list[str]
    used: list[str]


def _check_decay(decay: float, history_size: int) -> None:
    if not 0 < decay <= 1:
        raise ConfigError(f"--decay {decay} is invalid: use a weight in (0, 1]; 1 is a plain mean")
    if history_size < 1:
        raise ConfigError(f"--history-size {history_size} is invalid: use 1 or more")


def recommend(
    embeddings: Embeddings,
    history: list[str],
    k: int = 10,
    *,
    decay: float = DECAY,
    history_size: int = HISTORY_SIZE,
    keep_seen: bool = False,
    scorer: Scorer | None = None,
) -> Recommendation:
    """Candidates for one user from their history (oldest first), scored by ``scorer``
    (``item2vec.query.scoring.make_scorer``; None: the ``similar`` mode).

    Unknown items are skipped with a note; an error remains if none is known.

    Raises:
        EmptyResultError: no item of the history is in the model.
        ConfigError: ``decay`` outside (0, 1] or ``history_size`` below 1.
    """
    _check_decay(decay, history_size)
    scorer = scorer or Scorer(open_parts(embeddings, None))
    known, notes = embeddings.resolve(history, skip_unknown=True)
    recent = known[-history_size:]
    rows = [embeddings.position(item) for item in recent]
    weights = [decay ** (len(rows) - 1 - age) for age in range(len(rows))]
    exclude = set() if keep_seen else {embeddings.position(item) for item in known}
    answer = scorer.answer(["history"], query_weights(len(embeddings), [rows], [weights]), [exclude], k)
    return Recommendation(answer, notes, recent)


@dataclass(frozen=True)
class HistoryQuery:
    """A history's query vector, the items it is made of, every known item, and notes."""

    vector: NDArray[np.float32]
    used: list[str]
    known: list[str]
    notes: list[str]


def history_query(
    embeddings: Embeddings, history: list[str], *, decay: float = DECAY, history_size: int = HISTORY_SIZE
) -> HistoryQuery:
    """The user vector ``recommend`` queries with in the ``similar`` mode: the decayed mean of a
    history's unit input vectors (oldest first), as the module docstring defines it, divided by
    the sum of the weights. Unknown items are skipped with a note. Raises as :func:`recommend` does.
    """
    import numpy as np

    _check_decay(decay, history_size)
    known, notes = embeddings.resolve(history, skip_unknown=True)
    recent = known[-history_size:]
    rows = np.array([embeddings.position(item) for item in recent], dtype=np.int64)
    weights = decay ** np.arange(len(rows) - 1, -1, -1, dtype=np.float64)
    total = (weights[:, None] * unit_rows(embeddings.vectors[rows])).sum(axis=0) / weights.sum()
    return HistoryQuery(total.astype(np.float32), recent, known, notes)


# --- batch: every user of an event log -------------------------------------------------------------


@dataclass(frozen=True)
class EventColumns:
    """Which columns of an event log hold the user (or session), the item and (optionally) the time.

    Candidates are made per user, or per session when there is no user column.
    """

    user_col: str | None = "user_id"
    item_col: str = "item_id"
    time_col: str | None = None
    where: tuple[str, ...] = ()
    delimiter: str | None = None  # CSV/TSV field separator
    delimiter_inherited: bool = False  # from the model: ignored for inputs that are not CSV/TSV
    session_col: str | None = None

    def __post_init__(self) -> None:
        if self.user_col and self.session_col:
            raise ConfigError(
                f"--events groups by one column: give --user-col {self.user_col} or "
                f"--session-col {self.session_col}, not both"
            )
        if not self.user_col and not self.session_col:
            raise ConfigError(
                "--events needs the column of users (--user-col) or of sessions (--session-col)"
            )

    @property
    def group_col(self) -> str:
        return self.user_col or self.session_col or ""

    @property
    def label(self) -> str:
        """The output column of the query: ``user``, or ``session`` for a session column."""
        return "user" if self.user_col else "session"


def event_columns(
    meta: dict[str, Any],
    *,
    user_col: str | None = None,
    session_col: str | None = None,
    item_col: str | None = None,
    time_col: str | None = None,
    where: tuple[str, ...] = (),
    delimiter: str | None = None,
) -> EventColumns:
    """Columns for ``--events``; unset ones (and the delimiter) are the ones the model was trained with.

    The group is the model's user column (its session column when it had none), unless
    ``user_col`` or ``session_col`` is given; without either anywhere it is ``user_id``.
    """
    session = meta.get("input", {}).get("session") or {}
    if not user_col and not session_col:
        user_col = session.get("user_col") or (None if session.get("session_col") else "user_id")
        session_col = None if user_col else session.get("session_col")
    return EventColumns(
        user_col=user_col,
        session_col=session_col,
        item_col=item_col or session.get("item_col") or "item_id",
        time_col=time_col or session.get("time_col"),
        where=where,
        delimiter=delimiter or session.get("delimiter"),
        delimiter_inherited=delimiter is None and session.get("delimiter") is not None,
    )


@dataclass
class BatchSummary:
    """What a batch run read and wrote."""

    output: str
    queries: int
    rows: int
    seconds: float
    events: int = 0
    skipped: int = 0

    def line(self, what: str) -> str:
        text = (
            f"wrote {self.rows:,} rows for {self.queries:,} {what} to {self.output} in {self.seconds:.1f} s"
        )
        if self.skipped:
            text += f"; {self.skipped:,} {what} had no item in the model and got no rows"
        return text


@dataclass
class Histories:
    """Every user's decayed-mean query and the (user, item row) pairs they have seen."""

    users: list[str]
    queries: NDArray[np.float32]
    seen_users: NDArray[np.int64]
    seen_items: NDArray[np.int64]
    events: int
    skipped: int
    weights: sp.csr_matrix | None = None  # users x catalogue: decay ** age of the recent items


def read_histories(
    embeddings: Embeddings,
    inputs: list[str] | pa.Table,
    columns: EventColumns,
    *,
    decay: float = DECAY,
    history_size: int = HISTORY_SIZE,
    input_format: str | None = None,
) -> Histories:
    """Read an event log (files, or a table already in memory) and build every user's query,
    vectorised (no loop over users).

    Rows are ordered by time within a user (file order without a time column). Items not in the
    model are ignored; users left with none are counted in ``skipped``.
    """
    import numpy as np
    import scipy.sparse as sp

    _check_decay(decay, history_size)
    users, items, events = _read_events(inputs, columns, input_format)
    lookup = np.array([embeddings.index.get(v, -1) for v in items.dictionary.to_pylist()], dtype=np.int64)
    rows = lookup[items.indices.to_numpy(zero_copy_only=False)] if len(lookup) else np.zeros(0, np.int64)
    user_codes = users.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    known = rows >= 0
    user_codes, rows = user_codes[known], rows[known]
    present, starts, counts = np.unique(user_codes, return_index=True, return_counts=True)
    age = (np.repeat(starts + counts, counts) - 1) - np.arange(len(rows))
    recent = age < history_size
    weights = (decay ** age[recent].astype(np.float64)).astype(np.float32)
    weighted = unit_rows(np.asarray(embeddings.vectors[rows[recent]])) * weights[:, None]
    firsts = np.concatenate([[0], np.cumsum(np.minimum(counts, history_size))[:-1]])
    queries = np.add.reduceat(weighted, firsts, axis=0) if len(weighted) else weighted
    if len(weighted):  # the decayed mean, as history_query makes it
        queries /= np.add.reduceat(weights.astype(np.float64), firsts)[:, None]
    local = np.repeat(np.arange(len(present), dtype=np.int64), counts)
    names = users.dictionary.to_pylist()
    shape = (len(present), len(embeddings))
    recent_weights = sp.csr_matrix((weights.astype(np.float64), (local[recent], rows[recent])), shape=shape)
    recent_weights.sum_duplicates()
    return Histories(
        users=[names[c] for c in present.tolist()],
        queries=queries.astype(np.float32),
        seen_users=local,
        seen_items=rows,
        events=events,
        skipped=len(names) - len(present),
        weights=recent_weights,
    )


def _read_events(
    inputs: list[str] | pa.Table, columns: EventColumns, input_format: str | None
) -> tuple[Any, Any, int]:
    """Dictionary-encoded user and item columns, sorted by user then time (stable)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from item2vec.corpus.events import TABLE_FORMATS, detect_format, open_source
    from item2vec.corpus.options import SessionOptions, Where
    from item2vec.corpus.packed import CorpusStats
    from item2vec.corpus.sequences import prepare_table

    options = SessionOptions(
        item_col=columns.item_col,
        user_col=columns.user_col,
        session_col=columns.session_col,
        time_col=columns.time_col,
        min_length=1,
        where=tuple(Where.parse(w) for w in columns.where),
        delimiter=columns.delimiter,
        delimiter_inherited=columns.delimiter_inherited,
    )
    stats = CorpusStats()
    tables = []
    if not isinstance(inputs, list):  # an in-memory table (item2vec.corpus.frames), read as a file is
        from item2vec.corpus.sequences import prepare_frame

        tables.append(prepare_frame(inputs, "<table>", options, stats))
        inputs = []
    for name in inputs:
        source = open_source(name)
        fmt = input_format or detect_format(source, columns.item_col, columns.delimiter)
        options.check_delimiter(fmt, source.name)
        if fmt not in TABLE_FORMATS:
            raise InputError(
                f"{source.name}: recommend --events needs an event table ({', '.join(TABLE_FORMATS)}), "
                f"not {fmt}; pass --input-format if the guess is wrong"
            )
        tables.append(prepare_table(source, fmt, options, stats))
    table = pa.concat_tables(tables)
    users = pc.dictionary_encode(table[columns.group_col].combine_chunks())
    order_keys = [users.indices.to_numpy(zero_copy_only=False)]
    if columns.time_col:
        order_keys.insert(0, table["__time"].to_numpy())
    order = np.lexsort(order_keys) if columns.time_col else np.argsort(order_keys[0], kind="stable")
    users = pc.dictionary_encode(table[columns.group_col].combine_chunks().take(pa.array(order)))
    items = pc.dictionary_encode(table[columns.item_col].combine_chunks().take(pa.array(order)))
    return users, items, stats.events_read


def recommend_events(
    embeddings: Embeddings,
    inputs: list[str],
    output: Path | None,
    *,
    columns: EventColumns,
    k: int = 10,
    decay: float = DECAY,
    history_size: int = HISTORY_SIZE,
    keep_seen: bool = False,
    input_format: str | None = None,
    force: bool = False,
    cells: int = CELLS,
    sink: Sink | None = None,
    scorer: Scorer | None = None,
) -> BatchSummary:
    """Top-``k`` candidates for every user of an event log, written to ``output`` (or given to ``sink``).

    One row per user and rank: ``user, rank, item, score`` (and ``name`` when the model has
    names; ``session`` instead of ``user`` when the log is grouped by sessions), scored by
    ``scorer`` (None: the ``similar`` mode). When an index is attached to ``embeddings``
    (``item2vec.query.index.attach``) or the scorer's parts are ``approx``, candidates come from
    it (re-scored exactly); otherwise every item is scored. With ``output`` None every record
    batch goes to ``sink`` as it is made.
    """
    started = time.perf_counter()
    if output is not None:
        check_table_output(output, force=force)
    histories = read_histories(
        embeddings, inputs, columns, decay=decay, history_size=history_size, input_format=input_format
    )
    if not histories.users:
        raise EmptyResultError(
            f"none of the {histories.skipped:,} users in {', '.join(inputs)} has an item that is in the model: "
            "check --item-col, or that the log and the model cover the same items"
        )
    seen = None if keep_seen else (histories.seen_users, histories.seen_items)
    batches = _ranked(embeddings, histories.queries, k, seen=seen, cells=cells, scorer=scorer,
                      weights=histories.weights)  # fmt: skip
    written = _emit(output, _rows(embeddings, histories.users, batches, columns.label), sink)
    return BatchSummary(
        output=str(output) if output is not None else STDOUT,
        queries=len(histories.users),
        rows=written,
        seconds=time.perf_counter() - started,
        events=histories.events,
        skipped=histories.skipped,
    )


# --- batch: every item's neighbours ------------------------------------------------------------


def neighbour_table(
    embeddings: Embeddings,
    output: Path | None,
    *,
    k: int = 10,
    force: bool = False,
    cells: int = CELLS,
    sink: Sink | None = None,
    scorer: Scorer | None = None,
) -> BatchSummary:
    """The item-to-item table: each item's ``k`` best items, ``query, rank, item, score`` (``name``),
    by ``scorer``'s mode (None: ``similar``, the nearest by cosine).

    Written to ``output``, or with ``output`` None given to ``sink`` batch by batch.
    """
    import numpy as np
    import scipy.sparse as sp

    started = time.perf_counter()
    if output is not None:
        check_table_output(output, force=force)
    n = len(embeddings)
    self_pairs = (np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64))
    batches = _ranked(embeddings, None, k, seen=self_pairs, cells=cells, scorer=scorer,
                      weights=sp.identity(n, dtype=np.float64, format="csr"))  # fmt: skip
    written = _emit(output, _rows(embeddings, embeddings.ids, batches, "query"), sink)
    shown = str(output) if output is not None else STDOUT
    return BatchSummary(output=shown, queries=n, rows=written, seconds=time.perf_counter() - started)


def _emit(output: Path | None, batches: Iterator[pa.RecordBatch], sink: Sink | None) -> int:
    """Write ``batches`` to ``output``, or hand each to ``sink``; the rows written."""
    if output is not None:
        return write_table(output, batches)
    if sink is None:
        raise ValueError("give an output file or a sink")
    rows = 0
    for batch in batches:
        sink(batch)
        rows += batch.num_rows
    return rows


# --- shared batch machinery ------------------------------------------------------------------------


def _ranked(
    embeddings: Embeddings,
    queries: NDArray[np.float32] | None,
    k: int,
    *,
    seen: tuple[NDArray[np.int64], NDArray[np.int64]] | None,
    cells: int,
    scorer: Scorer | None = None,
    weights: sp.csr_matrix | None = None,
) -> Iterator[tuple[int, NDArray[np.int64], NDArray[np.float32]]]:
    """(first query, top rows, scores) per batch; ``queries=None`` means the items themselves.

    ``seen`` holds (query, item row) pairs to exclude, sorted by query. A scorer in another mode
    than ``similar`` scores each batch (``weights``: the queries' items, for its transitions).
    """
    import numpy as np

    from item2vec.query.index import AnnIndex

    index = embeddings.searcher if isinstance(embeddings.searcher, AnnIndex) else None
    other = scorer is not None and scorer.mode != "similar"
    approx = index is not None or (other and scorer is not None and scorer.parts.approx)
    total = len(embeddings) if queries is None else len(queries)
    rerank = (index.params.rerank if index is not None else None) or 1
    width = k * rerank + 64 if approx else len(embeddings)
    step = max(1, min(4096, cells // max(1, width * (embeddings.dim if approx else 1))))
    for start in range(0, total, step):
        stop = min(total, start + step)
        block = (
            np.asarray(embeddings.vectors[start:stop]) if queries is None else queries[start:stop]
        ).astype(np.float32)
        pairs = _pairs_in(seen, start, stop)
        most = min(MOST_SEEN, int(np.bincount(pairs[0]).max())) if len(pairs[0]) else 0
        if other:
            assert scorer is not None and weights is not None
            trans = scorer.transition_scores(weights[start:stop])
            rows, scores = scorer.top(block, trans, k, exclude=pairs, most_excluded=most)
        elif index is not None:
            rows, scores = index.search(embeddings.vectors, block, k, exclude=pairs, most_excluded=most)
        else:
            matrix = unit_rows(block) @ embeddings.unit.T
            matrix[pairs] = -np.inf
            rows, scores = top_k(matrix, k)
        yield start, rows, scores


def _pairs_in(
    seen: tuple[NDArray[np.int64], NDArray[np.int64]] | None, start: int, stop: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    import numpy as np

    if seen is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lo, hi = np.searchsorted(seen[0], [start, stop])
    return seen[0][lo:hi] - start, seen[1][lo:hi]


def _rows(
    embeddings: Embeddings,
    labels: list[str],
    batches: Iterator[tuple[int, NDArray[np.int64], NDArray[np.float32]]],
    label_col: str,
) -> Iterator[pa.RecordBatch]:
    """Arrow record batches of ``label_col, rank, item, score``; padding rows dropped."""
    import numpy as np
    import pyarrow as pa

    ids = pa.array(embeddings.ids, type=pa.string())
    item_names = (
        pa.array([embeddings.names.get(i, "") for i in embeddings.ids], type=pa.string())
        if embeddings.names
        else None
    )
    names = pa.array(labels, type=pa.string())
    columns = [label_col, "rank", "item", "score"] + (["name"] if item_names is not None else [])
    for start, rows, scores in batches:
        keep = rows >= 0
        owner = np.repeat(np.arange(len(rows)), keep.sum(axis=1)) + start
        ranks = (np.cumsum(keep, axis=1)[keep]).astype(np.int32)
        picked = pa.array(rows[keep])
        arrays = [
            names.take(pa.array(owner)),
            pa.array(ranks),
            ids.take(picked),
            pa.array(scores[keep].astype(np.float32)),
        ]
        if item_names is not None:
            arrays.append(item_names.take(picked))
        yield pa.RecordBatch.from_arrays(arrays, names=columns)
