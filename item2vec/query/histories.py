"""The histories of every user of an event log: the columns they are read from, and each
user's decayed-mean query with the items they have seen (for ``recommend --events`` and user
vectors)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from item2vec.errors import Bare, ConfigError, EmptyResultError, InputError, param
from item2vec.model.embeddings import Embeddings, unit_rows

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import scipy.sparse as sp
    from numpy.typing import NDArray


from item2vec.query.recommend import DECAY, HISTORY_SIZE, check_decay


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
                f"{param('events')} groups by one column: give {param('user_col', Bare(self.user_col))} or "
                f"{param('session_col', Bare(self.session_col))}, not both",
                param="session_col",
                value=self.session_col,
                expected="a user column or a session column, not both",
            )
        if not self.user_col and not self.session_col:
            raise ConfigError(
                f"{param('events')} needs the column of users ({param('user_col')}) "
                f"or of sessions ({param('session_col')})",
                param="user_col",
                expected="the column of users or of sessions",
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
class Histories:
    """Every user's decayed-mean query and the (user, item row) pairs they have seen."""

    users: list[str]
    queries: NDArray[np.float32]
    seen_users: NDArray[np.int64]
    seen_items: NDArray[np.int64]
    events: int
    skipped: int
    # users x catalogue: decay ** age of the recent items (float64, repeats summed), which
    # ``Scorer.query_vectors`` turns into exactly the query one history alone gets
    weights: sp.csr_matrix | None = None
    # users x catalogue: sum of decay ** age over each seen item's events, the whole history
    # (the repeat score of ``item2vec.query.repeats``)
    recency: sp.csr_matrix | None = None
    latest: NDArray[np.int64] | None = None  # each user's most recent known item row


def read_histories(
    embeddings: Embeddings,
    inputs: list[str] | pa.Table,
    columns: EventColumns,
    *,
    decay: float = DECAY,
    history_size: int = HISTORY_SIZE,
    input_format: str | None = None,
    repeats: bool = False,
) -> Histories:
    """Read an event log (files, or a table already in memory) and build every user's query,
    vectorised (no loop over users); with ``repeats``, also every user's seen items as a repeat
    weight reads them (``recency``, ``latest``).

    Rows are ordered by time within a user (file order without a time column). Items not in the
    model are ignored; users left with none are counted in ``skipped``.

    Raises:
        EmptyResultError: no user has an item that is in the model.
    """
    import numpy as np

    from item2vec.query.scoring import weight_matrix

    check_decay(decay, history_size)
    users, items, events = _read_events(inputs, columns, input_format)
    lookup = np.array([embeddings.index.get(v, -1) for v in items.dictionary.to_pylist()], dtype=np.int64)
    rows = lookup[items.indices.to_numpy(zero_copy_only=False)] if len(lookup) else np.zeros(0, np.int64)
    user_codes = users.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    known = rows >= 0
    user_codes, rows = user_codes[known], rows[known]
    present, starts, counts = np.unique(user_codes, return_index=True, return_counts=True)
    age = (np.repeat(starts + counts, counts) - 1) - np.arange(len(rows))
    recent = age < history_size
    exact = decay ** age[recent].astype(np.float64)  # as the one-history path weighs its items
    weights = exact.astype(np.float32)
    weighted = unit_rows(np.asarray(embeddings.vectors[rows[recent]])) * weights[:, None]
    firsts = np.concatenate([[0], np.cumsum(np.minimum(counts, history_size))[:-1]])
    queries = np.add.reduceat(weighted, firsts, axis=0) if len(weighted) else weighted
    if len(weighted):  # the decayed mean, as history_query makes it
        queries /= np.add.reduceat(weights.astype(np.float64), firsts)[:, None]
    local = np.repeat(np.arange(len(present), dtype=np.int64), counts)
    names = users.dictionary.to_pylist()
    shape = (len(present), len(embeddings))
    recent_weights = weight_matrix(local[recent], rows[recent], exact, shape)  # as one history's
    if not len(present):
        where = f" in {', '.join(inputs)}" if isinstance(inputs, list) else ""
        raise EmptyResultError(
            f"none of the {len(names):,} users{where} has an item that is in the model: "
            f"check {param('item_col')}, or that the log and the model cover the same items",
            param="item_col",
            fix="check the item column, or that the log and the model cover the same items",
        )
    return Histories(
        users=[names[c] for c in present.tolist()],
        queries=queries.astype(np.float32),
        seen_users=local,
        seen_items=rows,
        events=events,
        skipped=len(names) - len(present),
        weights=recent_weights,
        # R, with repeats' own decay, and the latest item: only where a repeat weight reads them
        recency=weight_matrix(local, rows, DECAY ** age.astype(np.float64), shape) if repeats else None,
        latest=rows[age == 0] if repeats else None,
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
                f"{source.name}: recommend {param('events')} needs an event table ({', '.join(TABLE_FORMATS)}), "
                f"not {fmt}; pass {param('input_format')} if the guess is wrong",
                param="input_format",
                value=fmt,
                expected=", ".join(TABLE_FORMATS),
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
