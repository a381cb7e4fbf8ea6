"""Counting weighted item pairs in bounded memory: the engine behind ``build_transitions``.

Every pair of positions ``i < j <= i + steps`` of one sequence adds ``1 / (j - i)`` to the entry
``(codes[i], codes[j])``. Held naively that is every distinct (item, follower, distance) of the
corpus at once — about 1 KB per token. Here the corpus is read in chunks of ``chunk_tokens``
tokens; each chunk's pairs are counted per distance as one int64 key ``(item, follower,
distance)`` (or the distance's bucket, below) and a count, and those records go to an in-memory
table split by ranges of the
counting item. When the table passes ``table_records`` its records are merged (equal keys
summed) and appended to one file per range on disk. At the end each range is read back, merged,
turned into weights, and only the ``keep`` heaviest followers of each item are kept; with
several ranges those go to disk too and are read back as one array (never two copies).

With ``both``, a pair also counts for the earlier item: ``(codes[j], codes[i])`` gets the same
weight (items seen together, either way round). With ``per_length``, each pair of a sequence of
``L`` tokens counts ``1 / sqrt(L)`` instead of 1, so that long sequences (big baskets, heavy users)
do not drown the short ones: held as a whole number of ``1 / LENGTH_SCALE`` units (six
significant digits).

Counts are whole numbers, so chunking and spilling change nothing. Up to ``BUCKET_STEPS`` steps a
pair at distance ``d`` counts ``lcm(1..steps) / d`` whole units, so that its records at every
distance of one depth's bucket (the distances within the smallest depth asked for, then those up
to the next, ...) are one record: an entry's weight is its units summed, as whole numbers, divided
once by ``lcm(1..steps)`` (and the scale), the same whatever the depths counted beside it. Past
that the key keeps the distance, and an entry's weight is its counts over their distances summed
in ascending order in float64. Either way it is exactly what one pass over the whole corpus
gives, and the result is the same matrix bit for bit. A range holds at most ``steps``
records (twice that with ``both``) per token of its items, so ranges are cut to fit
``table_records`` by the item counts.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import threading

    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "LENGTH_SCALE",
    "CountBudget",
    "CountStopped",
    "Kind",
    "count_pair_kinds",
    "top_per_row",
]

LENGTH_SCALE = 1 << 20  # per_length counts are whole numbers of 1 / LENGTH_SCALE
# Up to this many steps a pair's distances share a record (units of lcm(1..steps) / distance):
# lcm(1..10) = 2520, times LENGTH_SCALE, leaves 2^32 occurrences of one pair before uint64 fills.
BUCKET_STEPS = 10
# A sequence's weight (at most LENGTH_SCALE) fits this many bits: where a key leaves them free, a
# record is sorted as one word (numpy's plain sort is several times faster than an argsort).
_WEIGHT_BITS = 21
_WEIGHT_MASK = (1 << _WEIGHT_BITS) - 1


@dataclass(frozen=True)
class CountBudget:
    """How much pair counting may hold in memory before it spills to disk.

    Attributes:
        chunk_tokens: Tokens of the corpus counted at once (about 40 bytes each while counted).
        table_records: Records held in memory before they are merged and spilled (12 bytes
            each, about 40 while merged); also the most a range of items may hold when read back.
        spill_dir: Where spilled records go (a temporary folder in it, removed at the end);
            None: the system's temporary folder.
    """

    chunk_tokens: int = 2_000_000
    table_records: int = 2_000_000
    spill_dir: str | None = None


Kind = tuple[int, bool]  # (steps, both): a matrix count_pair_kinds gives


class CountStopped(Exception):
    """Counting was asked to stop (its ``stop`` event was set); its spilled records are removed."""


def count_pair_kinds(
    codes: NDArray[np.int32],
    bounds: NDArray[np.int64],
    n_items: int,
    *,
    kinds: tuple[Kind, ...],
    keep: int | None,
    drop_self: bool = True,
    budget: CountBudget | None = None,
    rows: NDArray[np.bool_] | None = None,
    per_length: bool = False,
    stop: threading.Event | None = None,
) -> dict[Kind, tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float32]]]:
    """CSR arrays ``(indptr, columns, weights)`` of the weighted pair counts for each (steps,
    both) of ``kinds``, rows heaviest first (ties: lower column) and cut to ``keep`` entries, from
    one pass over the corpus (checked by the caller); the counts within fewer steps are those of
    the nearer distances. With ``rows`` (a mask of the items), only those items' rows are
    counted: each exactly as in the whole matrix, the other rows empty. Where both directions
    are asked for, each record carries a bit saying which way round it was
    counted, so that the matrices that count only what came after take the records without it and
    those that count both ways sum both (as whole numbers: each the matrix of its own pass).

    Raises:
        CountStopped: ``stop`` was set (it is looked at after each distance of each chunk).
    """
    import numpy as np

    budget = budget or CountBudget()
    steps = max(d for d, _ in kinds)
    directions = sorted({b for _, b in kinds})
    split = len(directions) == 2
    fields = _Fields(tuple(sorted({d for d, _ in kinds})))
    bits = fields.bits + split
    if (n_items * n_items) << bits >= 1 << 63:
        raise ValueError(f"too many items to count pairs of: {n_items:,}")
    starts = _ranges(codes, n_items, steps * (2 if directions[-1] else 1), budget, rows)
    scale = LENGTH_SCALE if per_length else 1
    table = _Table(starts, n_items, bits, budget, fields=fields, scale=scale, split=split)
    lengths: dict[Kind, list[Any]] = {k: [] for k in kinds}
    try:
        _count(
            codes, bounds, steps, drop_self, table, budget.chunk_tokens, rows, both=directions[-1], asked=stop
        )
        if len(starts) == 2:  # one range: its entries are the result
            found = table.finish(0, keep, kinds)
            return {
                k: _csr(n_items, [np.bincount(found[k][0], minlength=n_items)], *found[k][1:]) for k in kinds
            }
        for part in range(len(starts) - 1):  # ranges: their entries go to disk, read back as one
            width = int(starts[part + 1] - starts[part])
            for (depth, way), (owners, cols, data) in table.finish(part, keep, kinds).items():
                lengths[(depth, way)].append(np.bincount(owners - starts[part], minlength=width))
                table.append(f"result-{depth}-{int(way)}", cols.astype(np.int32), data)
        return {
            (d, w): _csr(n_items, lengths[(d, w)], *table.read(f"result-{d}-{int(w)}", np.int32, np.float32))
            for d, w in kinds
        }
    finally:
        table.close()


def _csr(
    n_items: int, lengths: list[Any], cols: NDArray[Any], data: NDArray[np.float32]
) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float32]]:
    import numpy as np

    indptr = np.zeros(n_items + 1, dtype=np.int64)
    np.cumsum(np.concatenate(lengths), out=indptr[1:])
    return indptr, cols.astype(np.int32, copy=False), data


def top_per_row(
    rows: NDArray[np.int64], cols: NDArray[np.int64], data: NDArray[np.float32], keep: int | None
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]:
    """Entries ordered by row, then heaviest first (ties: lower column), ``keep`` a row at most.

    The entries come ordered by row, then column (each caller's keys are sorted).
    """
    import numpy as np

    plain = not (np.signbit(data).any() or np.isnan(data).any())  # no -0.0, negative or NaN weight
    if data.shape[0] and plain and int(rows[-1]) < 1 << 31:
        # One stable sort on (row, weight descending): a non-negative float32's bits order as
        # its value does, and equal weights keep their column order.
        key = rows.astype(np.uint64) << np.uint64(32)
        key |= np.uint64(0xFFFFFFFF) - data.view(np.uint32).astype(np.uint64)
        order = np.argsort(key, kind="stable")
        del key
    else:
        order = np.lexsort((cols, -data, rows))  # weight compared in float32, as stored
    rows, cols, data = rows[order], cols[order], data[order]
    if keep is not None and rows.shape[0]:
        first = np.ones(rows.shape[0], dtype=bool)
        np.not_equal(rows[1:], rows[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        lengths = np.diff(np.append(starts, rows.shape[0]))
        rank = np.arange(rows.shape[0], dtype=np.int64) - np.repeat(starts, lengths)
        kept = rank < keep
        rows, cols, data = rows[kept], cols[kept], data[kept]
    return rows, cols, data


def _ranges(
    codes: NDArray[np.int32], n_items: int, steps: int, budget: CountBudget, rows: NDArray[np.bool_] | None
) -> NDArray[np.int64]:
    """Item boundaries of ranges that hold at most ``table_records`` records each (an item with
    more is a range of its own)."""
    import numpy as np

    counts = np.zeros(n_items + 1, dtype=np.int64)
    for start in range(0, codes.shape[0], budget.chunk_tokens):
        counts += np.bincount(codes[start : start + budget.chunk_tokens] + 1, minlength=n_items + 1)
    records = np.cumsum(counts[1:] * steps * (1 if rows is None else rows))
    if not n_items or int(records[-1]) <= budget.table_records:
        return np.array([0, n_items], dtype=np.int64)
    starts = [0]
    while starts[-1] < n_items:
        before = int(records[starts[-1] - 1]) if starts[-1] else 0
        end = int(np.searchsorted(records, before + budget.table_records, side="right"))
        starts.append(max(end, starts[-1] + 1))
    return np.array(starts, dtype=np.int64)


def _count(
    codes: NDArray[np.int32],
    bounds: NDArray[np.int64],
    steps: int,
    drop_self: bool,
    table: _Table,
    chunk: int,
    rows: NDArray[np.bool_] | None,
    *,
    both: bool,
    asked: threading.Event | None = None,
) -> None:
    """Each chunk's pairs (of the items of ``rows`` only, if given), counted per distance, into
    the table; with ``both`` each pair counted for its later item too."""
    import numpy as np

    n_tokens = codes.shape[0]
    weight = None  # per sequence: its pairs' count in 1 / table.scale units
    if table.scale > 1:
        lengths = np.maximum(np.diff(bounds), 1).astype(np.float64)
        weight = np.rint(table.scale / np.sqrt(lengths)).astype(np.int64)
        assert table.scale < 1 << _WEIGHT_BITS
    # keys short enough to carry a sequence's weight in their low bits
    packed = (table.n_items * table.n_items) << (table.bits + _WEIGHT_BITS) < 1 << 63
    for start in range(0, n_tokens, chunk):
        stop = min(start + chunk, n_tokens)
        window = np.arange(start, min(stop + steps, n_tokens), dtype=np.int64)
        sequence = np.searchsorted(bounds, window, side="right")
        for distance in range(1, steps + 1):
            if asked is not None and asked.is_set():
                raise CountStopped()
            end = min(stop, n_tokens - distance)
            if end <= start:
                break
            src, dst = codes[start:end], codes[start + distance : end + distance]
            valid = (src >= 0) & (dst >= 0)
            if drop_self:
                valid &= src != dst
            valid &= sequence[: end - start] == sequence[distance : end - start + distance]
            owners = [(src, dst, valid if rows is None else valid & rows[np.maximum(src, 0)])]
            if both:
                owners.append((dst, src, valid if rows is None else valid & rows[np.maximum(dst, 0)]))
            field, unit = table.fields.field[distance], table.fields.unit[distance]
            keys = np.concatenate(
                [_keys(a[m], b[m], field, table, way) for way, (a, b, m) in enumerate(owners)]
            )
            if weight is None:
                uniq, counts = np.unique(keys, return_counts=True)
                table.add(uniq, counts.astype(np.uint64) * np.uint64(unit))
                continue
            # sequence numbers run from 1 (searchsorted right of bounds[0] = 0)
            each = weight[sequence[: end - start] - 1]
            weights = np.concatenate([each[m] for _, _, m in owners])
            if packed:  # key and weight in one word: a plain sort (no permutation) orders both
                keys <<= _WEIGHT_BITS
                keys |= weights
                del weights
                keys.sort()
                weights = keys & _WEIGHT_MASK
                keys >>= _WEIGHT_BITS
            else:
                order = np.argsort(keys)
                keys, weights = keys[order], weights[order]
                del order
            first = np.ones(keys.shape[0], dtype=bool)
            np.not_equal(keys[1:], keys[:-1], out=first[1:])
            starts = np.flatnonzero(first)
            # whole numbers: summed exactly, in any order
            summed = np.add.reduceat(weights, starts).astype(np.uint64) * np.uint64(unit)
            table.add(keys[starts], summed)


def _keys(
    src: NDArray[np.int32], dst: NDArray[np.int32], field: int, table: _Table, way: int
) -> NDArray[np.int64]:
    """The records' keys ``(src, dst, field)`` as one int64 each (the field: the distance, or its
    bucket); where the table splits directions, ``(src, dst, field, way)`` (way 1: counted for
    the later item)."""
    import numpy as np

    keys = src.astype(np.int64) * table.n_items + dst
    keys <<= table.bits
    keys |= (field << 1 | way) if table.split else field
    return keys


class _Fields:
    """How a record's low field holds its distance: its bucket (up to ``BUCKET_STEPS`` steps; the
    distance then counts ``lcm / distance`` units) or the distance itself (each counts 1)."""

    def __init__(self, depths: tuple[int, ...]) -> None:
        import math

        steps = depths[-1]
        self.lcm = math.lcm(*range(1, steps + 1)) if steps <= BUCKET_STEPS else None
        if self.lcm is not None:  # bucket i: the distances above depths[i - 1], up to depths[i]
            self.field = [0] + [
                next(i for i, depth in enumerate(depths) if d <= depth) for d in range(1, steps + 1)
            ]
            self.unit = [0] + [self.lcm // d for d in range(1, steps + 1)]
            self.limit = {depth: i for i, depth in enumerate(depths)}
            self.bits = max(1, (len(depths) - 1).bit_length())
        else:
            self.field = list(range(steps + 1))
            self.unit = [1] * (steps + 1)
            self.limit = {depth: depth for depth in depths}
            self.bits = max(1, steps.bit_length())


def _adjacent_summed(keys: NDArray[np.int64], counts: NDArray[Any]) -> tuple[NDArray[np.int64], NDArray[Any]]:
    """Sorted keys with equal ones adjacent: each once, its counts summed."""
    import numpy as np

    if not keys.shape[0]:
        return keys, counts
    first = np.ones(keys.shape[0], dtype=bool)
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return keys[starts], np.add.reduceat(counts, starts, dtype=counts.dtype)


def _merged(keys: NDArray[np.int64], counts: NDArray[Any]) -> tuple[NDArray[np.int64], NDArray[Any]]:
    """Equal keys' counts summed, keys ascending."""
    import numpy as np

    if not keys.shape[0]:
        return keys, counts
    order = np.argsort(keys, kind="stable")  # runs of sorted records: timsort merges them
    keys, counts = keys[order], counts[order]
    del order
    first = np.ones(keys.shape[0], dtype=bool)
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return keys[starts], np.add.reduceat(counts, starts, dtype=counts.dtype)


class _Table:
    """Records ``(key, count)`` by range of items: in memory, spilled to one file per range."""

    def __init__(
        self,
        starts: NDArray[np.int64],
        n_items: int,
        bits: int,
        budget: CountBudget,
        *,
        fields: _Fields,
        scale: int = 1,
        split: bool = False,
    ) -> None:
        import numpy as np

        self.n_items, self.bits, self.budget, self.scale, self.split = n_items, bits, budget, scale, split
        self.fields = fields
        self.count_type = np.uint64  # whole units: see BUCKET_STEPS
        self.bounds = (starts * n_items) << bits  # a range's first key
        self.pending: list[list[tuple[NDArray[np.int64], NDArray[Any]]]] = [[] for _ in starts[:-1]]
        self.held = 0
        self.folder: Path | None = None

    def add(self, keys: NDArray[np.int64], counts: NDArray[Any]) -> None:
        """Sorted records of one chunk and distance."""
        import numpy as np

        cuts = np.searchsorted(keys, self.bounds)
        for part in range(len(self.pending)):
            lo, hi = int(cuts[part]), int(cuts[part + 1])
            if hi > lo:
                self.pending[part].append((keys[lo:hi], counts[lo:hi]))
        self.held += keys.shape[0]
        if self.held > self.budget.table_records:
            self.spill()

    def _take(self, part: int) -> tuple[NDArray[np.int64], NDArray[Any]]:
        import numpy as np

        runs, self.pending[part] = self.pending[part], []
        keys = np.concatenate([r[0] for r in runs]) if runs else np.zeros(0, dtype=np.int64)
        counts = np.concatenate([r[1] for r in runs]) if runs else np.zeros(0, dtype=self.count_type)
        return _merged(keys, counts)

    def spill(self) -> None:
        """Every range's records merged and appended to its files."""
        for part in range(len(self.pending)):
            keys, counts = self._take(part)
            if keys.shape[0]:
                self.append(str(part), keys, counts)
        self.held = 0

    def append(self, name: str, first: NDArray[Any], second: NDArray[Any]) -> None:
        """Two arrays appended to the files ``name.0`` and ``name.1`` of the spill folder."""
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="item2vec-pairs-", dir=self.budget.spill_dir))
        for index, array in enumerate((first, second)):
            with open(self.folder / f"{name}.{index}", "ab") as out:
                array.tofile(out)

    def read(self, name: str, first: Any, second: Any) -> tuple[NDArray[Any], NDArray[Any]]:
        """The arrays appended as ``name`` (of dtypes ``first`` and ``second``), the files removed;
        empty arrays when none were."""
        import numpy as np

        out = []
        for index, dtype in enumerate((first, second)):
            path = self.folder / f"{name}.{index}" if self.folder is not None else None
            if path is None or not path.exists():
                out.append(np.zeros(0, dtype=dtype))
                continue
            out.append(np.fromfile(path, dtype=dtype))
            path.unlink()
        return out[0], out[1]

    def finish(
        self, part: int, keep: int | None, kinds: tuple[Kind, ...]
    ) -> dict[Kind, tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]]:
        """One range's entries of each kind (within so many steps, one way or both): counts
        summed, weights, the top ``keep`` of each row."""
        import numpy as np

        keys, counts = self._take(part)
        spilled, spilled_counts = self.read(str(part), np.int64, self.count_type)
        if spilled.shape[0]:
            keys, counts = _merged(np.concatenate([spilled, keys]), np.concatenate([spilled_counts, counts]))
        del spilled, spilled_counts
        bits = self.bits - self.split  # the distance's
        out = {}
        for way in sorted({w for _, w in kinds}, reverse=True):
            if not self.split:
                found, summed = keys, counts
            elif way:  # both ways: a (pair, distance)'s two records are adjacent; their counts summed
                found, summed = _adjacent_summed(keys >> 1, counts)
            else:
                ahead = (keys & 1) == 0
                found, summed = keys[ahead] >> 1, counts[ahead]
            depths = sorted((d for d, w in kinds if w == way), reverse=True)
            for depth in depths:
                if depth < depths[0]:
                    near = (found & ((1 << bits) - 1)) <= self.fields.limit[depth]
                    found, summed = found[near], summed[near]
                    del near
                out[(depth, way)] = self._entries(found, summed, keep, bits)
        return out

    def _entries(
        self, keys: NDArray[np.int64], counts: NDArray[Any], keep: int | None, bits: int
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]:
        import numpy as np

        pairs = keys >> bits
        first = np.ones(pairs.shape[0], dtype=bool)
        np.not_equal(pairs[1:], pairs[:-1], out=first[1:])
        if self.fields.lcm is not None:  # whole units summed, divided once (the scale: a power of two)
            units = (
                np.add.reduceat(counts, np.flatnonzero(first), dtype=np.uint64) if counts.shape[0] else counts
            )
            summed = (units / float(self.fields.lcm * self.scale)).astype(np.float32)
        else:
            # float64: each count over its distance (and the power-of-two scale: exact)
            weights = counts / ((keys & ((1 << bits) - 1)) * self.scale)
            group = np.cumsum(first, dtype=np.int64) - 1
            # bincount adds in order: an entry's distances ascending, as one pass over the corpus does
            summed = np.bincount(group, weights=weights).astype(np.float32)
            del weights, group
        pairs = pairs[first]
        del first
        return top_per_row(pairs // self.n_items, pairs % self.n_items, summed, keep)

    def close(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
