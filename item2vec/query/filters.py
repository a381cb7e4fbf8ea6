"""Candidate filters: the items a query may answer with, applied before the top-k is cut.

A :class:`CandidateFilter` is a mask over the catalogue's rows, built once per request from

- ``exclude``: ids never to answer with (out of stock, already bought elsewhere);
- ``only``: ids to answer with, and no others (one category's catalogue);
- ``item_where``: filters in ``--where``'s syntax (:class:`~item2vec.corpus.options.Where`) on
  the columns of the items table: ``id``, ``name`` and ``count`` of the model, plus the columns
  of a table the caller hands over (:func:`items_table`).

A scorer that holds one (``Scorer.candidates``) ranks exactly as scoring only the items kept:
exact search masks the others out of each block's scores (:meth:`CandidateFilter.best`); an
index's shortlist is widened until ``k`` items that pass survive, up to the whole catalogue
(:meth:`CandidateFilter.over_fetch`); a query that still has fewer gets a note
(:func:`shortfall_notes`). Ids the model lacks are noted and ignored; filters that leave no
item at all are an error naming them.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from item2vec.corpus.options import Where
from item2vec.errors import (
    UNSET,
    Bare,
    ConfigError,
    EmptyResultError,
    InputError,
    column_roles,
    listing,
    param,
    spell,
)
from item2vec.model.embeddings import Embeddings, Neighbour

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from numpy.typing import NDArray

    from item2vec.corpus.events import Source

Pairs = tuple["NDArray[np.int64]", "NDArray[np.int64]"]
Top = tuple["NDArray[np.int64]", "NDArray[np.float32]"]
WhereSpec = Sequence["str | Where"] | Mapping[str, Any]
MODEL_COLUMNS = ("id", "name", "count")


@dataclass(frozen=True)
class CandidateFilter:
    """Which item rows a query may answer with (``allowed``), what asked for it, and notes (ids
    the model lacks), for stderr or warnings."""

    allowed: NDArray[np.bool_]
    label: str
    notes: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        """How many items pass."""
        return int(self.allowed.sum())

    def best(self, scores: NDArray[np.float32], k: int, exclude: Pairs | None = None) -> Top:
        """The ``k`` best rows and scores per query (rows of ``scores``, queries x catalogue)
        among the items that pass, ``exclude`` pairs left out; -1 and -inf pad. ``scores`` is
        written to (one query alone and a batch's block alike).

        When most items pass, the others are masked to -inf in place (no copy of the block);
        when few do, only their columns are ranked. Both rank alike (ties by lower item row,
        -inf never picked), so an answer does not depend on which.
        """
        import numpy as np

        from item2vec.query.topk import top_k

        if exclude is not None and len(exclude[0]):
            scores[exclude] = -np.inf
        if 2 * self.count > len(self.allowed):
            scores[:, ~self.allowed] = -np.inf
            return top_k(scores, k)
        kept = np.flatnonzero(self.allowed).astype(np.int64)
        return top_k(scores[:, kept], k, rows=np.broadcast_to(kept, (len(scores), len(kept))))

    def over_fetch(self, fetch: Callable[[int], Top], k: int) -> Top:
        """The ``k`` best that pass of an index's answers: ``fetch(n)`` gives each query's ``n``
        best (best first), and ``n`` grows from ``k`` x catalogue / passing, doubling, until every
        query has ``k`` that pass or ``n`` is the whole catalogue."""
        import numpy as np

        total, passing = len(self.allowed), max(1, self.count)
        n = min(total, max(k, math.ceil(k * total / passing)))
        while True:
            rows, scores = fetch(n)
            ok = (rows >= 0) & self.allowed[np.where(rows < 0, 0, rows)]
            if n >= total or bool((ok.sum(axis=1) >= k).all()):
                break
            n = min(total, 2 * n)
        rank = np.cumsum(ok, axis=1) - 1
        keep = ok & (rank < k)
        owner = np.nonzero(keep)[0]
        best = np.full((len(rows), k), -1, dtype=np.int64)
        picked = np.full((len(rows), k), -np.inf, dtype=np.float32)
        best[owner, rank[keep]] = rows[keep]
        picked[owner, rank[keep]] = scores[keep]
        return best, picked


def candidate_filter(
    embeddings: Embeddings,
    *,
    exclude: str | Iterable[str] = (),
    only: str | Iterable[str] | None = None,
    item_where: WhereSpec = (),
    items: pa.Table | None = None,
) -> CandidateFilter | None:
    """The filter that ``exclude``, ``only`` and ``item_where`` ask for (None: none asked for).

    ``exclude`` and ``only`` are an id or ids. ``items`` is a table with an ``id`` column
    (strings; :func:`read_items_table`) whose other columns ``item_where`` may read beside the
    model's ``id``, ``name`` and ``count``.

    Raises:
        ConfigError: an ``item_where`` filter is malformed or names a column the table lacks.
        EmptyResultError: the filters leave no item (the message names the one that emptied it).
    """
    import numpy as np

    exclude, only = _ids(exclude), None if only is None else _ids(only)
    wheres = parse_wheres(item_where)
    if not exclude and only is None and not wheres:
        return None
    allowed = np.ones(len(embeddings), dtype=bool)
    notes: list[str] = []
    said: list[str] = []
    if only is not None:
        allowed[:] = False
        allowed[_known_rows(embeddings, only, "only", notes)] = True
        said.append(_said("only", only))
        _check_left(allowed, said, "only", only, len(allowed))
    if exclude:
        before = int(allowed.sum())
        allowed[_known_rows(embeddings, exclude, "exclude", notes)] = False
        said.append(_said("exclude", exclude))
        _check_left(allowed, said, "exclude", exclude, before)
    if wheres:
        table = _items_table(embeddings, items)
        for where in wheres:
            before = int(allowed.sum())
            allowed &= _where_mask(table, where)
            said.append(param("item_where", Bare(str(where))))
            _check_left(allowed, said, "item_where", str(where), before)
    return CandidateFilter(allowed, ", ".join(said), tuple(notes))


def _ids(ids: str | Iterable[str]) -> list[str]:
    return [ids] if isinstance(ids, str) else [str(item) for item in ids]


def parse_wheres(item_where: WhereSpec) -> list[Where]:
    """``item_where`` as filters: strings in ``--where``'s syntax, :class:`Where` values, or a
    mapping of column to a value (equality) or a list of values (``in``).

    Raises:
        ConfigError: a malformed filter, or a mapping value that is neither.
    """
    if isinstance(item_where, Mapping):
        return [_from_pair(str(column), value) for column, value in item_where.items()]
    if isinstance(item_where, str):
        item_where = [item_where]
    return [w if isinstance(w, Where) else _parse(w) for w in item_where]


def _from_pair(column: str, value: Any) -> Where:
    if isinstance(value, (list, tuple, set, frozenset)):
        values = [_cell(v) for v in value]
        if not values:
            raise ConfigError(
                f"{param('item_where', {column: []})} lists no value: "
                f"give one or more, e.g. {{{column!r}: ['a', 'b']}}",
                param="item_where", value={column: []}, expected="a value or a non-empty list of values",
            )  # fmt: skip
        return Where(column, ",".join(values), op="in")
    return Where(column, _cell(value))


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ConfigError(param="item_where", value=value, expected="a string or number, or a list of them")


def _parse(text: str) -> Where:
    """``Where.parse``, its errors naming ``item_where`` (``where`` is the event rows' filter)."""
    try:
        return Where.parse(text)
    except ConfigError as exc:
        raise ConfigError(_renamed(exc.raw), param="item_where", value=text, expected=exc.expected) from None


def _renamed(raw: str) -> str:
    """A message of ``Where``'s with the parameter it names as ``where`` named ``item_where``."""
    return spell(raw, lambda name, value: param("item_where" if name == "where" else name,
                                                UNSET if value is None else Bare(value)))  # fmt: skip


def _known_rows(embeddings: Embeddings, ids: list[str], name: str, notes: list[str]) -> list[int]:
    """Rows of the ids the model knows; a note names those it does not."""
    rows, unknown = [], []
    for item in dict.fromkeys(ids):
        row = embeddings.row(item)
        if row is None:
            unknown.append(item)
        else:
            rows.append(row)
    if len(unknown) == 1:
        notes.append(f"{param(name, unknown[0])} is not in the model: ignored")
    elif unknown:
        notes.append(
            f"{param(name)}: {len(unknown):,} ids are not in the model "
            f"({listing([repr(u) for u in unknown], 5)}): ignored"
        )
    return rows


def _said(name: str, ids: list[str]) -> str:
    return param(name, ids[0]) if len(ids) == 1 else f"{param(name)} ({len(ids):,} ids)"


def _check_left(allowed: NDArray[np.bool_], said: list[str], name: str, value: object, before: int) -> None:
    """The error for the filter (the last of ``said``) that left no item of the ``before`` that passed."""
    if not allowed.any():
        of = (
            f"the {before:,} items the filters before it keep"
            if len(said) > 1
            else f"the model's {before:,} items"
        )
        raise EmptyResultError(
            f"{said[-1]} leaves no item to answer with (of {of}): loosen it",
            param=name, value=value, expected="filters that keep at least one item",
        )  # fmt: skip


def read_items_table(path: str, id_col: str, wheres: list[Where] | None = None) -> pa.Table:
    """The columns of a CSV/TSV/Parquet/JSONL item table that ``wheres`` read beside the model's
    own (None: every column), with its ids as ``id``: the ``items`` of :func:`candidate_filter`.

    Raises:
        InputError: the file is missing, empty or not a table, or lacks a column (the message
            names the option that named it: ``id_col`` or ``item_where``).
    """
    from item2vec.corpus.events import TABLE_FORMATS, detect_format, open_source, read_table

    source = open_source(path)
    fmt = detect_format(source, id_col)
    if fmt not in TABLE_FORMATS:
        raise InputError(
            f"{param('items', path)} is not a table with a {id_col!r} column: give a CSV/TSV/Parquet/JSONL "
            f"file and name its id column with {param('id_col')}",
            param="items", value=path, expected="a CSV/TSV/Parquet/JSONL file",
        )  # fmt: skip
    named = _header(source, fmt) if wheres is None else [w.column for w in wheres]
    wanted = list(dict.fromkeys(c for c in named if c not in MODEL_COLUMNS and c != id_col))
    with column_roles([(id_col, "id_col"), *((column, "item_where") for column in wanted)]):
        table = read_table(source, fmt, [id_col, *wanted])
    return table.rename_columns(["id", *wanted])


def _header(source: Source, fmt: str) -> list[str]:
    """The column names of a table file (of a JSON Lines file: its first record's keys)."""
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        return list(
            pq.read_schema(source.name if source.data is None else pa.BufferReader(source.data)).names
        )
    line = source.first_line()
    if fmt == "jsonl":
        record = json.loads(line) if line.lstrip().startswith("{") else {}
        return [str(key) for key in record] if isinstance(record, dict) else []
    return next(csv.reader([line], delimiter="\t" if fmt == "tsv" else ","), [])


def _items_table(embeddings: Embeddings, items: pa.Table | None) -> pa.Table:
    """The model's id, name and count per row, with ``items``' other columns joined by id."""
    import pyarrow as pa

    names = embeddings.names
    table = pa.table(
        {
            "id": pa.array(embeddings.ids, type=pa.string()),
            "name": pa.array([names.get(i) for i in embeddings.ids], type=pa.string()),
            "count": pa.array([str(c) for c in embeddings.counts.tolist()], type=pa.string()),
        }
    )
    if items is None:
        return table
    extra = [c for c in items.column_names if c not in MODEL_COLUMNS]
    first = {}
    for row, item in enumerate(items["id"].to_pylist()):
        if item is not None and item not in first:
            first[item] = row
    picks = pa.array([first.get(i) for i in embeddings.ids], type=pa.int64())
    for column in extra:
        table = table.append_column(column, items[column].cast(pa.string()).take(picks))
    return table


def _where_mask(table: pa.Table, where: Where) -> NDArray[np.bool_]:
    import numpy as np

    if where.column not in table.column_names:
        raise ConfigError(
            f"{param('item_where', Bare(str(where)))} names column {where.column!r}, which the items "
            f"table lacks: it has {listing(table.column_names)}",
            param="item_where", value=str(where), expected=f"a filter on {listing(table.column_names)}",
        )  # fmt: skip
    try:
        mask = where.mask(table[where.column])
    except InputError as exc:
        raise InputError(_renamed(exc.raw), param="item_where", value=str(where)) from None
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def shortfall_notes(
    answer: list[Neighbour], labels: list[str], k: int, candidates: CandidateFilter, *, approx: bool
) -> list[str]:
    """One note when the filters left any query with fewer than ``k`` items (none otherwise)."""
    got: dict[str, int] = dict.fromkeys(labels, 0)
    for row in answer:
        got[row.query] = got.get(row.query, 0) + 1
    short = [(label, n) for label, n in got.items() if n < k]
    if not short:
        return []
    which = listing([f"{label!r} has {n}" for label, n in short], 5)
    if approx and candidates.count > k:
        return [f"{param('approx', True)} found fewer than {k} items that pass the filters ({which}): "
                f"without {param('approx', True)} the answer is exact"]  # fmt: skip
    return [f"the filters keep {candidates.count:,} item{'s' if candidates.count != 1 else ''}, "
            f"so fewer than {k} are left ({which})"]  # fmt: skip
