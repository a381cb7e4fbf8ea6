"""Split an event table into train / validation / test files, in the input's own format.

Rows are grouped and ordered exactly as ``train`` sessionizes them (same user, session, time,
gap and repeat options), so a held-out item is the item ``train`` would have seen last.

``by="last"`` (leave-last-out): in every sequence with at least three distinct steps, the last
step is the test target and the one before it the validation target. ``by="time"``: events
before the cutoff are for training (the last step of each such sequence is the validation
target) and every sequence whose last step falls on or after the cutoff is a test case.

A step is a run of consecutive rows with the same item when repeats are dropped (all of them
are held out together, so no copy of a target stays behind), else a single row.

Files written to the output directory (``train.csv.gz``, ``valid.csv.gz``, ``test.csv.gz`` for
a gzipped CSV input):

- train: every usable row except the held-out targets (and, for a time split, the rows after
  the cutoff). Every user keeps the rest of their history.
- valid and test: the held-out sequences in full, the target last, so that each file can be
  evaluated on its own: the last item of each sequence is the target, the items before it
  are the history a recommender may use.

CSV, TSV and JSON Lines rows are copied byte for byte; Parquet is rewritten with its schema
(:mod:`item2vec.corpus.split_files` names, checks and writes the files).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from item2vec.corpus.events import TABLE_FORMATS, Source, detect_format, open_source, read_table
from item2vec.corpus.jsonl import is_array
from item2vec.corpus.options import SessionOptions, column_codes, group_codes
from item2vec.corpus.split_files import PARTS, check_output, output_names, write_parts
from item2vec.corpus.times import parse_times
from item2vec.errors import (
    Bare,
    ConfigError,
    EmptyResultError,
    InputError,
    column_roles,
    param,
)

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from numpy.typing import NDArray

SplitBy = Literal["last", "time"]
TRAIN, VALID, TEST, AFTER, DROPPED = 0, 1, 2, 3, -1


@dataclass
class SplitSummary:
    """What ``split`` wrote: rows and sequences per file (one target each in valid and test)."""

    files: dict[str, Path]
    rows: dict[str, int]
    sequences: dict[str, int]
    rows_read: int = 0
    rows_dropped: dict[str, int] = field(default_factory=dict)

    def as_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "part": part,
                "file": str(self.files[part]),
                "rows": self.rows[part],
                "sequences": self.sequences[part],
            }
            for part in PARTS
        ]


def split_events(
    input_name: str,
    output: Path,
    *,
    session: SessionOptions,
    by: SplitBy = "last",
    cutoff: str | None = None,
    input_format: str | None = None,
    force: bool = False,
    stdin: BinaryIO | None = None,
) -> SplitSummary:
    """Write train / valid / test files for ``input_name`` into the directory ``output``.

    Raises:
        ConfigError: ``by="time"`` without a cutoff or a time column, or an unparsable cutoff.
        InputError: the input is not an event table, or its rows cannot be matched to lines.
        EmptyResultError: nothing can be held out (every sequence is too short, or the cutoff
            lies outside the data); the message says which.
        OutputExistsError: ``output`` already holds split files and ``force`` is not set.
    """
    _check_by(by, cutoff, session)
    source = open_source(input_name, stdin)
    fmt = _table_format(source, input_format, session)
    names = output_names(source, fmt)
    check_output(output, names.values(), force=force)
    if fmt == "jsonl" and is_array(source.head(4096)):
        raise InputError(
            f"{source.name} is a JSON array: split copies JSON Lines row by row; convert it first "
            f"(jq -c '.[]' {source.name} > events.jsonl)"
        )
    with column_roles(session.roles()):
        table = read_table(source, fmt, session.columns, session.delimiter)
    dropped: dict[str, int] = {}
    ordered = _order(table, session, _usable(table, session, dropped), source.name)
    labels = _labels(table.num_rows, ordered, session, by, _cutoff_seconds(cutoff) if cutoff else None)
    _count(dropped, "after the cutoff, not in a test sequence", labels[ordered.rows] == DROPPED)
    masks = _part_masks(labels, ordered)
    cases = {
        part: _count_sequences(ordered, labels, label) for part, label in zip(PARTS, (TRAIN, VALID, TEST))
    }
    if not cases["test"]:
        raise EmptyResultError(_empty_message(by, cutoff, session, len(ordered.rows)))
    if not masks["train"].any():  # a cutoff before every event: nothing to train on
        raise EmptyResultError(
            f"no event is before {param('cutoff', Bare(str(cutoff)))}: nothing would be left to train on; "
            "choose a later cutoff inside the data's time range",
            param="cutoff",
            value=cutoff,
            expected="a time inside the data's time range",
        )
    files = {part: output / names[part] for part in PARTS}
    write_parts(source, fmt, table.num_rows, {files[p]: masks[p] for p in PARTS}, replace=force)
    rows = {part: int(mask.sum()) for part, mask in masks.items()}
    return SplitSummary(files, rows, cases, table.num_rows, dropped)


def _check_by(by: SplitBy, cutoff: str | None, session: SessionOptions) -> None:
    """A time split needs a cutoff and a time column; a split on last items takes no cutoff."""
    if by == "time" and (cutoff is None or not session.time_col):
        raise ConfigError(
            f"{param('by', Bare('time'))} needs {param('cutoff', Bare('DATE'))} and {param('time_col')} "
            "(the column of event times)",
            param="cutoff" if cutoff is None else "time_col",
            expected="a cutoff and a time column",
        )
    if by == "last" and cutoff is not None:
        raise ConfigError(
            f"{param('cutoff')} applies to {param('by', Bare('time'))} only; drop it or add {param('by', Bare('time'))}",
            param="cutoff",
            value=cutoff,
            fix="drop it, or split by time",
        )


def _table_format(source: Source, input_format: str | None, session: SessionOptions) -> str:
    """The input's format (given, or detected), once it is an event table."""
    fmt = input_format or detect_format(source, session.item_col, session.delimiter)
    session.check_delimiter(fmt, source.name)
    if fmt not in TABLE_FORMATS:
        raise InputError(
            f"{source.name} reads as {fmt}, not an event table: split needs a CSV/TSV/Parquet/JSONL "
            f"table with user/session, item and time columns (set {param('input_format')} if it is one)"
        )
    return fmt


def _cutoff_seconds(cutoff: str) -> float:
    import pyarrow as pa

    try:
        value = parse_times(pa.array([cutoff.strip()]), "cutoff", "cutoff")
    except InputError:
        raise ConfigError(
            f"{param('cutoff', cutoff)} is not a time: use ISO 8601 (2011-11-01 or 2011-11-01T12:00) or epoch seconds",
            param="cutoff",
            value=cutoff,
            expected="ISO 8601 (2011-11-01 or 2011-11-01T12:00) or epoch seconds",
        ) from None
    return float(value[0].as_py())


@dataclass
class _Ordered:
    """Usable rows (input row numbers) in sessionized order, with sequence and step numbers."""

    rows: NDArray[np.int64]
    seq: NDArray[np.int64]
    step: NDArray[np.int64]
    times: NDArray[np.float64] | None


def _usable(table: pa.Table, session: SessionOptions, dropped: dict[str, int]) -> NDArray[np.bool_]:
    import numpy as np
    import pyarrow.compute as pc

    keep = np.ones(table.num_rows, dtype=bool)
    for where in session.where:
        # on the rows still kept, so a comparison sees only them (as the streaming reader does)
        rows = np.flatnonzero(keep)
        mask = np.zeros(table.num_rows, dtype=bool)
        mask[rows] = where.mask(table[where.column].take(rows)).to_numpy(zero_copy_only=False)
        _count(dropped, where.label, keep & ~mask)
        keep &= mask
    cols = [*session.group_cols, session.item_col] + ([session.time_col] if session.time_col else [])
    for col in cols:
        valid = pc.is_valid(table[col]).to_numpy(zero_copy_only=False)
        _count(dropped, f"missing {col}", keep & ~valid)
        keep &= valid
    return keep


def _count(dropped: dict[str, int], reason: str, mask: NDArray[np.bool_]) -> None:
    if mask.any():
        dropped[reason] = dropped.get(reason, 0) + int(mask.sum())


def _order(table: pa.Table, session: SessionOptions, keep: NDArray[np.bool_], name: str) -> _Ordered:
    """Sort usable rows by (group, time, file order); number their sequences and steps."""
    import numpy as np

    rows = np.flatnonzero(keep)
    sub = table.take(rows)
    items, _ = column_codes(sub[session.item_col])
    group = group_codes(sub, session.group_cols)
    if session.time_col:  # parsed for every row, so that a message names the row as the file counts it
        every = parse_times(table[session.time_col], name, session.time_col)
        times = every.to_numpy(zero_copy_only=False)[rows]
        order = np.lexsort((times, group))
    else:
        times, order = None, np.argsort(group, kind="stable")
    group, items = group[order], items[order]
    starts = np.ones(len(items), dtype=bool)
    starts[1:] = group[1:] != group[:-1]
    if times is not None and session.session_gap is not None:
        starts[1:] |= np.diff(times[order]) > session.session_gap
    steps = starts.copy()
    steps[1:] |= items[1:] != items[:-1] if session.drop_repeats else True
    seq = np.cumsum(starts) - 1
    step_id = np.cumsum(steps) - 1
    first_step = step_id[starts]
    step = step_id - first_step[seq]
    return _Ordered(rows[order], seq, step, times[order] if times is not None else None)


def _labels(
    total: int, ordered: _Ordered, session: SessionOptions, by: str, cutoff: float | None
) -> NDArray[np.int64]:
    """A label per input row: TRAIN, a VALID or TEST target, AFTER the cutoff, or DROPPED."""
    import numpy as np

    labels = np.full(total, DROPPED, dtype=np.int64)
    if not len(ordered.rows):
        return labels
    seq, step = ordered.seq, ordered.step
    least = max(3, session.min_length + 1)  # the validation sequence must survive --min-length
    n = _steps_per_sequence(seq, step)
    lab = np.full(len(seq), TRAIN, dtype=np.int64)
    if by == "last":
        held = n[seq] >= least
        lab[held & (step == n[seq] - 1)] = TEST
        lab[held & (step == n[seq] - 2)] = VALID
    else:
        assert cutoff is not None and ordered.times is not None
        after = ordered.times >= cutoff
        last = step == n[seq] - 1
        last_from = np.full(len(n), np.inf)
        np.minimum.at(last_from, seq[last], ordered.times[last])
        tested = (last_from >= cutoff) & (n >= max(2, session.min_length))
        pre_n = _steps_per_sequence(seq[~after], step[~after], len(n))
        lab[after] = np.where(tested[seq[after]], AFTER, DROPPED)
        lab[last & tested[seq]] = TEST
        lab[~after & (pre_n[seq] >= least) & (step == pre_n[seq] - 1)] = VALID
    labels[ordered.rows] = lab
    return labels


def _steps_per_sequence(seq: NDArray[np.int64], step: NDArray[np.int64], size: int = 0) -> NDArray[np.int64]:
    import numpy as np

    counts = np.zeros(max(size, int(seq.max()) + 1 if len(seq) else 0), dtype=np.int64)
    if len(seq):
        np.maximum.at(counts, seq, step + 1)
    return counts


def _part_masks(labels: NDArray[np.int64], ordered: _Ordered) -> dict[str, NDArray[np.bool_]]:
    """Rows of each file: train rows; whole sequences holding a valid or a test target."""
    import numpy as np

    masks: dict[str, NDArray[np.bool_]] = {"train": labels == TRAIN}
    lab = labels[ordered.rows]
    for part, target, members in (
        ("valid", VALID, (TRAIN, VALID)),
        ("test", TEST, (TRAIN, VALID, AFTER, TEST)),
    ):
        has = np.zeros(int(ordered.seq.max()) + 1 if len(ordered.seq) else 0, dtype=bool)
        has[ordered.seq[lab == target]] = True
        mask = np.zeros(len(labels), dtype=bool)
        mask[ordered.rows[has[ordered.seq] & np.isin(lab, members)]] = True
        masks[part] = mask
    return masks


def _count_sequences(ordered: _Ordered, labels: NDArray[np.int64], target: int) -> int:
    import numpy as np

    lab = labels[ordered.rows]
    return len(np.unique(ordered.seq[lab == target]))


def _empty_message(by: str, cutoff: str | None, session: SessionOptions, usable: int) -> str:
    if by == "time":
        return (
            f"no sequence has its last item on or after {param('cutoff', Bare(str(cutoff)))} (or none has 2+ items): "
            "choose an earlier cutoff inside the data's time range"
        )
    least = max(3, session.min_length + 1)
    return (
        f"no sequence has {least} or more items ({usable:,} usable rows): a leave-last-out split "
        f"needs a history, a validation and a test item; group by a wider key ({param('user_col')} rather "
        f"than {param('session_col')}, or no {param('session_gap')})"
    )
