"""Time columns as epoch seconds: epoch seconds, epoch milliseconds or ISO 8601, one kind a file.

The reader (:mod:`item2vec.corpus.ingest`), the sessionizer and ``split`` parse times here; a
file whose batches or rows mix kinds is refused, naming the rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from item2vec.errors import InputError, cut

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from numpy.typing import NDArray

# Epoch milliseconds are larger than any plausible epoch second (1e11 s is year 5138).
MS_THRESHOLD = 1e11
_KINDS = {"s": "epoch seconds", "ms": "epoch milliseconds", "iso": "ISO 8601 times"}


@dataclass
class TimeKind:
    """The kind of the time values of one file read so far (epoch seconds, epoch milliseconds,
    ISO 8601) and the first row that showed it: every batch of the file must agree with it.
    (Files are decided each on its own, as the Spark engine does.)"""

    kind: str | None = None
    row: int = 0
    value: str = ""

    def agree(self, kind: str, row: int, value: str, name: str, col: str) -> None:
        """Record the first kind seen; refuse a different one, quoting both rows."""
        if self.kind is None:
            self.kind, self.row, self.value = kind, row, value
        elif kind != self.kind:
            raise InputError(mixed_times(name, col, (self.kind, self.row, self.value), (kind, row, value)))


def mixed_times(name: str, col: str, first: tuple[str, int, str], second: tuple[str, int, str]) -> str:
    """The message for a time column that mixes kinds: ``(kind, row, value)`` of two rows."""
    (kind_a, row_a, value_a), (kind_b, row_b, value_b) = sorted([first, second], key=lambda place: place[1])
    fix = (
        "convert it to one unit (divide the milliseconds by 1000)"
        if {kind_a, kind_b} == {"s", "ms"}
        else "convert it to one kind (epoch numbers or ISO 8601)"
    )
    return (
        f"{name}: {col} mixes {_KINDS[kind_a]} and {_KINDS[kind_b]}: row {row_a:,} has {cut(value_a)!r} "
        f"but row {row_b:,} has {cut(value_b)!r}; {fix}"
    )


def parse_times(
    column: pa.ChunkedArray, name: str, col: str, first_row: int = 0, kind: TimeKind | None = None
) -> pa.Array:
    """Epoch seconds or milliseconds, or ISO 8601 strings, as float64 epoch seconds (nulls stay null).

    ``first_row`` is the position of the column's first value in its file, for the message;
    ``kind`` carries the kind seen in the file's earlier batches.

    Raises:
        InputError: naming the first row whose value cannot be parsed, or two rows (of this
            batch, or this one and an earlier batch's) of different kinds, such as epoch
            seconds and epoch milliseconds.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = kind if kind is not None else TimeKind()
    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if len(values) == 0:
        return pa.array([], type=pa.float64())
    try:  # the first present value first: a column that fails there fails as a whole, and fast
        present = values.is_valid().to_numpy(zero_copy_only=False) if values.null_count else None
        if present is None or present.any():
            pc.cast(values.slice(0 if present is None else int(present.argmax()), 1), pa.float64())
        numbers = pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        numbers = None
    if numbers is not None:
        return pa.array(_epoch(numbers, values, name, col, first_row, kind))
    for unit in (pa.timestamp("ns"), pa.timestamp("ns", tz="UTC")):
        try:  # pyarrow parses ISO 8601 in C++; pandas below only for mixed offsets and errors
            stamps = pc.cast(values, unit)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        _agree_first(kind, "iso", values, name, col, first_row)
        return pa.array(pc.cast(stamps, pa.int64()).to_numpy(zero_copy_only=False) / 1e9)
    return pa.array(_mixed_or_bad(values, name, col, first_row, kind))


def _epoch(
    numbers: NDArray[np.float64], values: pa.Array, name: str, col: str, first_row: int, kind: TimeKind
) -> NDArray[np.float64]:
    """Epoch numbers as seconds: all seconds, or all milliseconds (above MS_THRESHOLD)."""
    import numpy as np

    finite = np.isfinite(numbers)
    _refuse_not_finite(finite, values, name, col, first_row)
    large = finite & (np.abs(numbers) > MS_THRESHOLD)
    small = finite & ~large
    if large.any() and small.any():
        s, ms = int(np.argmax(small)), int(np.argmax(large))
        raise InputError(
            mixed_times(
                name,
                col,
                ("s", first_row + s + 1, str(values[s].as_py())),
                ("ms", first_row + ms + 1, str(values[ms].as_py())),
            )
        )
    if large.any() or small.any():
        row = int(np.argmax(finite))
        kind.agree("ms" if large.any() else "s", first_row + row + 1, str(values[row].as_py()), name, col)
    scaled: NDArray[np.float64] = numbers * (0.001 if large.any() else 1.0)
    return scaled


def _refuse_not_finite(
    finite: NDArray[np.bool_], values: pa.Array, name: str, col: str, first_row: int
) -> None:
    """Refuse ``nan``, ``inf`` and ``-inf`` as ``abc`` is refused (a missing value is not one of them)."""
    import numpy as np

    bad = np.flatnonzero(~finite & values.is_valid().to_numpy(zero_copy_only=False))
    if bad.size:
        row = int(bad[0])
        raise InputError(
            f"{name}: row {first_row + row + 1:,} has {col} {cut(str(values[row].as_py()))!r}, which is not a "
            "time: use epoch seconds, epoch milliseconds or ISO 8601 (2024-05-01T13:45:00); fix or drop that row"
        )


def _agree_first(kind: TimeKind, which: str, values: pa.Array, name: str, col: str, first_row: int) -> None:
    import numpy as np

    present = values.is_valid().to_numpy(zero_copy_only=False)
    if present.any():
        row = int(np.argmax(present))
        kind.agree(which, first_row + row + 1, str(values[row].as_py()), name, col)


def _mixed_or_bad(
    values: pa.Array, name: str, col: str, first_row: int, kind: TimeKind
) -> NDArray[np.float64]:
    """Times that neither pyarrow cast read: mixed UTC offsets (pandas reads them), or a bad value.

    The column's kind is its first value's: in a column of epoch numbers, the first value that
    is not a number is the bad one (not row 1, which ISO parsing would blame).
    """
    import numpy as np
    import pandas as pd

    strings = values.to_pandas()
    present = strings.notna().to_numpy()
    first = int(np.argmax(present))
    if _is_number(str(strings.iloc[first])):
        numeric = pd.to_numeric(strings, errors="coerce")
        bad = np.flatnonzero(~np.isfinite(numeric.to_numpy(dtype="float64")) & present)  # inf too
        if not bad.size:
            return _epoch(numeric.to_numpy(dtype="float64"), values, name, col, first_row, kind)
        row = int(bad[0])
        raise InputError(
            f"{name}: row {first_row + row + 1:,} has {col} {cut(str(strings.iloc[row]))!r}, which is not a "
            f"time: the column holds epoch numbers (row {first_row + first + 1:,} has "
            f"{cut(str(strings.iloc[first]))!r}); fix or drop that row"
        )
    parsed = pd.to_datetime(strings, format="ISO8601", utc=True, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy() & present)
    if bad.size:
        row = int(bad[0])
        raise InputError(
            f"{name}: row {first_row + row + 1:,} has {col} {cut(str(strings.iloc[row]))!r}, which is not a time: "
            "use epoch seconds, epoch milliseconds or ISO 8601 (2024-05-01T13:45:00)"
        )
    _agree_first(kind, "iso", values, name, col, first_row)
    nanos = parsed.to_numpy(dtype="datetime64[ns]").astype("int64")
    seconds: NDArray[np.float64] = nanos / 1e9
    return seconds


def _is_number(text: str) -> bool:
    """A finite number (``nan`` and ``inf`` are not times, so they say nothing of the column's kind)."""
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
