"""Item-to-item transition scores ("what follows what"), counted from a packed corpus.

A transition matrix ``T`` holds, for every item ``a`` and every item ``b`` seen after it in a
sequence within ``steps`` positions, the sum of ``1 / distance`` over all such occurrences.
``steps=1`` gives plain next-item counts; ``steps=10`` with ``keep=20`` gives the sequential
rules ("SR") of Kamehkhosh et al. (2017). A model's own matrix weighs each occurrence by
``1 / sqrt(L)``, ``L`` its sequence's length (``per_length``), and may count ``b`` before ``a``
too (``both``: items seen together, for baskets whose order means little). Only the ``keep`` heaviest entries of each row are
kept. Rows are stored CSR-style with their entries ordered by descending weight (ties broken
by ascending column index), so the best followers of an item are a slice.

In a model directory the matrix is ``transitions.npz``: plain integer and float arrays, read
with ``allow_pickle=False`` (an object array is refused), checked against the model's size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zipfile import BadZipFile

from item2vec.errors import ModelError
from item2vec.model.npz_headers import declared_arrays
from item2vec.model.pair_counts import CountBudget, Kind, count_pair_kinds, top_per_row

if TYPE_CHECKING:
    import threading

    import numpy as np
    import scipy.sparse as sp
    from numpy.typing import NDArray

FORMAT_VERSION = 1
TRANSITIONS_FILE = "transitions.npz"
_KEYS = ("indptr", "indices", "data", "shape", "steps", "keep", "version")
_FLAGS = ("both", "per_length")  # 0 or 1; absent in files written before them (0)
_KINDS = {
    "indptr": "iu",
    "indices": "iu",
    "data": "f",
    "shape": "iu",
    "steps": "iu",
    "keep": "iu",
    "version": "iu",
}


@dataclass(frozen=True)
class TransitionMatrix:
    """A sparse, row-truncated item-to-item transition matrix.

    Attributes:
        indptr: Row pointers, shape ``(n_items + 1,)``; row ``a`` is ``indptr[a]:indptr[a + 1]``.
        indices: Column (follower item) index of each entry.
        data: Weight of each entry (sum of ``1 / distance``); within a row entries are ordered by
            descending weight, ties by ascending column index.
        n_items: Number of rows and columns.
        steps: Largest distance counted (1 = next item only).
        keep: Most entries kept per row, or ``None`` for all.
        both: ``b`` counted before ``a`` too (items seen together, either way round).
        per_length: Each occurrence weighs ``1 / sqrt(L)``, ``L`` its sequence's length.
    """

    indptr: NDArray[np.int64]
    indices: NDArray[np.int32]
    data: NDArray[np.float32]
    n_items: int
    steps: int
    keep: int | None
    both: bool = False
    per_length: bool = False

    @property
    def counting_record(self) -> dict[str, Any]:
        """How the entries were counted, as model.json's "transitions" record says it."""
        return {"direction": "both" if self.both else "next",
                "per_sequence": "1/sqrt(length)" if self.per_length else "1"}  # fmt: skip

    @property
    def nnz(self) -> int:
        """Number of stored entries."""
        return int(self.indices.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes of the three arrays (about the size of the saved file)."""
        return int(self.indptr.nbytes + self.indices.nbytes + self.data.nbytes)

    def row(self, item: int) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """Followers of one item and their weights, heaviest first (views: do not modify).

        Raises:
            IndexError: ``item`` is out of range.
        """
        if not 0 <= item < self.n_items:
            raise IndexError(f"item {item} out of range for {self.n_items} items")
        start, stop = int(self.indptr[item]), int(self.indptr[item + 1])
        return self.indices[start:stop], self.data[start:stop]

    def dense_rows(self, items: NDArray[np.integer[Any]]) -> NDArray[np.float32]:
        """Dense weight rows ``(len(items), n_items)`` for several items (zero where none is kept)."""
        import numpy as np

        items = np.asarray(items, dtype=np.int64)
        out = np.zeros((items.shape[0], self.n_items), dtype=np.float32)
        starts, stops = self.indptr[items], self.indptr[items + 1]
        lengths = stops - starts
        rows = np.repeat(np.arange(items.shape[0], dtype=np.int64), lengths)
        offsets = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(
            np.cumsum(lengths) - lengths, lengths
        )
        positions = np.repeat(starts, lengths) + offsets
        out[rows, self.indices[positions]] = self.data[positions]
        return out

    def to_csr(self) -> sp.csr_matrix:
        """The matrix as a ``scipy.sparse.csr_matrix`` (float32, columns sorted within rows)."""
        from scipy import sparse

        matrix = sparse.csr_matrix(
            (self.data, self.indices, self.indptr), shape=(self.n_items, self.n_items), copy=True
        )
        matrix.sort_indices()
        return matrix

    def resized(self, n_items: int) -> TransitionMatrix:
        """The same matrix with empty rows (and columns) added up to ``n_items`` (``embed``)."""
        import numpy as np

        if n_items < self.n_items:
            raise ValueError("resized() only adds items")
        tail = np.full(n_items - self.n_items, self.indptr[-1], dtype=np.int64)
        return replace(self, indptr=np.concatenate([self.indptr, tail]), n_items=n_items)

    def remapped(self, rows: NDArray[np.int64], n_items: int) -> TransitionMatrix:
        """The matrix over another item numbering: old item ``i`` becomes ``rows[i]`` (-1: drop it)."""
        import numpy as np

        old_rows = np.repeat(np.arange(self.n_items, dtype=np.int64), np.diff(self.indptr))
        src, dst = rows[old_rows], rows[self.indices.astype(np.int64)]
        ok = (src >= 0) & (dst >= 0)
        found = _from_entries(
            src[ok], dst[ok], self.data[ok].astype(np.float64), n_items, self.steps, self.keep
        )
        return replace(found, both=self.both, per_length=self.per_length)


def _check_corpus(codes: NDArray[np.int32], bounds: NDArray[np.int64], n_items: int) -> None:
    import numpy as np

    if codes.ndim != 1 or bounds.ndim != 1:
        raise ValueError("codes and bounds must be one-dimensional")
    if bounds.shape[0] < 1 or int(bounds[0]) != 0 or int(bounds[-1]) != codes.shape[0]:
        raise ValueError("bounds must start at 0 and end at len(codes)")
    if bounds.shape[0] > 1 and bool(np.any(np.diff(bounds) < 0)):
        raise ValueError("bounds must be non-decreasing")
    if n_items < 0:
        raise ValueError("n_items must be >= 0")
    if codes.shape[0] and (int(codes.min()) < -1 or int(codes.max()) >= n_items):
        raise ValueError("codes must lie in [-1, n_items)")


def build_transitions(
    codes: NDArray[np.int32],
    bounds: NDArray[np.int64],
    n_items: int,
    *,
    steps: int = 1,
    keep: int | None = None,
    drop_self: bool = True,
    budget: CountBudget | None = None,
    both: bool = False,
    per_length: bool = False,
) -> TransitionMatrix:
    """Count weighted item-to-follower transitions over a packed corpus, in bounded memory.

    For every pair of positions ``i < j`` in one sequence with ``j - i <= steps``, the entry
    ``(codes[i], codes[j])`` gains ``1 / (j - i)``. Tokens coded ``-1`` (out of vocabulary) form
    no pair but still take up a position. The corpus is counted in chunks of tokens and what
    passes the memory ``budget`` is spilled to disk (item2vec.model.pair_counts); the matrix is
    the same whatever the budget.

    Args:
        codes: Item index of each token, ``-1`` for items not in the vocabulary.
        bounds: Sequence offsets, shape ``(n_sequences + 1,)``: sequence ``s`` is
            ``codes[bounds[s]:bounds[s + 1]]``.
        n_items: Number of items (rows and columns).
        steps: Largest distance counted, ``>= 1``; 1 gives next-item counts.
        keep: Keep only the ``keep`` heaviest entries of each row (ties: lower column index
            first); ``None`` keeps all.
        drop_self: Skip pairs of an item with itself (a recommender never returns the query).
        budget: Chunk size, in-memory records and spill folder (default: about 1 GB at most).

    Raises:
        ValueError: the corpus is malformed, ``steps < 1`` or ``keep < 1`` (a caller's bug).
    """
    return build_transitions_at(
        codes,
        bounds,
        n_items,
        depths=(steps,),
        keep=keep,
        drop_self=drop_self,
        budget=budget,
        both=both,
        per_length=per_length,
    )[steps]


def build_transitions_at(
    codes: NDArray[np.int32],
    bounds: NDArray[np.int64],
    n_items: int,
    *,
    depths: tuple[int, ...],
    keep: int | None = None,
    drop_self: bool = True,
    budget: CountBudget | None = None,
    rows: NDArray[np.bool_] | None = None,
    both: bool = False,
    per_length: bool = False,
) -> dict[int, TransitionMatrix]:
    """:func:`build_transitions` over each number of steps of ``depths``, from one pass over the
    corpus; each matrix is the one ``build_transitions`` gives for its steps. With ``rows`` (a
    mask of the items) only their rows are counted, each as in the whole matrix; the rest are empty.

    Raises:
        ValueError: the corpus is malformed, a depth is below 1 or ``keep < 1`` (a caller's bug).
    """
    found = build_transition_kinds(codes, bounds, n_items, kinds=tuple((d, both) for d in depths), keep=keep,
                                   drop_self=drop_self, budget=budget, rows=rows, per_length=per_length)  # fmt: skip
    return {steps: matrix for (steps, _), matrix in found.items()}


def build_transition_kinds(
    codes: NDArray[np.int32],
    bounds: NDArray[np.int64],
    n_items: int,
    *,
    kinds: tuple[Kind, ...],
    keep: int | None = None,
    drop_self: bool = True,
    budget: CountBudget | None = None,
    rows: NDArray[np.bool_] | None = None,
    per_length: bool = False,
    stop: threading.Event | None = None,
) -> dict[Kind, TransitionMatrix]:
    """:func:`build_transitions_at` for each (steps, both) of ``kinds``, from one pass over the
    corpus: each matrix is the one ``build_transitions`` gives for its steps and direction.

    Raises:
        ValueError: the corpus is malformed, a depth is below 1 or ``keep < 1`` (a caller's bug).
        CountStopped: ``stop`` was set (item2vec.model.pair_counts).
    """
    import numpy as np

    codes = np.asarray(codes, dtype=np.int32)
    bounds = np.asarray(bounds, dtype=np.int64)
    _check_corpus(codes, bounds, n_items)
    if not kinds or min(d for d, _ in kinds) < 1:
        raise ValueError("steps must be >= 1")
    if keep is not None and keep < 1:
        raise ValueError("keep must be >= 1 or None")
    if rows is not None and rows.shape != (n_items,):
        raise ValueError("rows must be a mask of the items")
    found = count_pair_kinds(codes, bounds, n_items, kinds=kinds, keep=keep, drop_self=drop_self,
                             budget=budget, rows=rows, per_length=per_length, stop=stop)  # fmt: skip
    return {
        (steps, way): TransitionMatrix(*arrays, n_items, steps, keep, way, per_length)
        for (steps, way), arrays in found.items()
    }


def combine(first: TransitionMatrix, second: TransitionMatrix, *, keep: int | None) -> TransitionMatrix:
    """The entry-wise sum of two matrices over the same items, re-truncated to ``keep`` per row."""
    import numpy as np

    if first.n_items != second.n_items:
        raise ValueError("combine() needs matrices over the same items")
    if (first.both, first.per_length) != (second.both, second.per_length):
        raise ValueError("combine() needs matrices counted the same way")
    parts = []
    for matrix in (first, second):
        rows = np.repeat(np.arange(matrix.n_items, dtype=np.int64), np.diff(matrix.indptr))
        parts.append((rows, matrix.indices.astype(np.int64), matrix.data.astype(np.float64)))
    src, dst, weight = (np.concatenate([a[i] for a in parts]) for i in range(3))
    found = _from_entries(src, dst, weight, first.n_items, max(first.steps, second.steps), keep)
    return replace(found, both=first.both, per_length=first.per_length)


def _from_entries(
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    weights: NDArray[np.float64],
    n_items: int,
    steps: int,
    keep: int | None,
) -> TransitionMatrix:
    """Duplicates summed, rows ordered heaviest first (ties: lower column), top ``keep`` kept."""
    import numpy as np

    if len(rows):
        uniq, inverse = np.unique(rows * n_items + cols, return_inverse=True)
        summed = np.bincount(inverse.ravel(), weights=weights, minlength=uniq.shape[0])
        rows, cols = uniq // n_items, uniq % n_items
    else:
        summed = np.zeros(0, dtype=np.float64)
    rows, cols, data32 = top_per_row(rows, cols, summed.astype(np.float32), keep)
    indptr = np.zeros(n_items + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_items), out=indptr[1:])
    return TransitionMatrix(indptr, cols.astype(np.int32), data32, n_items, steps, keep)


def save_transitions(path: str | Path, matrix: TransitionMatrix) -> Path:
    """Write a transition matrix as an ``.npz`` of plain arrays (no pickled objects).

    Args:
        path: Target file; ``.npz`` is appended if missing.
        matrix: The matrix to save.

    Returns:
        The path written.
    """
    import numpy as np

    target = Path(path)
    if target.suffix != ".npz":
        target = target.with_name(target.name + ".npz")
    np.savez(
        target,
        indptr=matrix.indptr,
        indices=matrix.indices,
        data=matrix.data,
        shape=np.array([matrix.n_items, matrix.n_items], dtype=np.int64),
        steps=np.array(matrix.steps, dtype=np.int64),
        keep=np.array(-1 if matrix.keep is None else matrix.keep, dtype=np.int64),
        version=np.array(FORMAT_VERSION, dtype=np.int64),
        both=np.array(int(matrix.both), dtype=np.int64),
        per_length=np.array(int(matrix.per_length), dtype=np.int64),
    )
    return target


def load_transitions(path: str | Path, n_items: int | None = None) -> TransitionMatrix:
    """Read a matrix written by :func:`save_transitions`, never unpickling anything.

    Args:
        path: The ``.npz`` file.
        n_items: The model's item count, which the matrix must match (None: any).

    Raises:
        ModelError: the file is unreadable, holds an object array or a field of the wrong kind,
            is of another format version, declares arrays larger than the matrix can hold (refused
            from the headers, before anything is decompressed), its arrays do not fit each other
            or the model, or a weight is NaN, infinite or negative.
    """
    import numpy as np

    _check_declared(path, n_items)
    try:
        with np.load(Path(path), allow_pickle=False) as archive:
            missing = [key for key in _KEYS if key not in archive.files]
            if missing:
                raise ModelError(_bad(path, f"it is not a transition matrix: no {', '.join(missing)}"))
            arrays = {key: archive[key] for key in _KEYS + _FLAGS if key in archive.files}
    except (ValueError, OSError, EOFError, BadZipFile) as exc:  # object arrays: ValueError without pickle
        raise ModelError(_bad(path, str(exc).splitlines()[0] if str(exc) else "unreadable")) from None
    wrong = [key for key, kinds in _KINDS.items() if arrays[key].dtype.kind not in kinds]
    if wrong:
        raise ModelError(_bad(path, f"{wrong[0]} is {arrays[wrong[0]].dtype}, not plain numbers"))
    for key in _FLAGS:
        if key in arrays and (
            arrays[key].shape != () or arrays[key].dtype.kind not in "iu" or int(arrays[key]) not in (0, 1)
        ):
            raise ModelError(_bad(path, f"{key} is not 0 or 1"))
    if int(arrays["version"]) != FORMAT_VERSION:
        raise ModelError(_bad(path, f"transition format {int(arrays['version'])} is not supported"))
    return _checked(path, arrays, n_items)


def _checked(path: str | Path, arrays: dict[str, Any], n_items: int | None) -> TransitionMatrix:
    import numpy as np

    shape, indptr = arrays["shape"], arrays["indptr"].astype(np.int64)
    indices, data = arrays["indices"].astype(np.int32), arrays["data"].astype(np.float32)
    size = int(shape[0]) if shape.shape == (2,) else -1
    if size < 0 or int(shape[1]) != size or indptr.shape != (size + 1,):
        raise ModelError(_bad(path, "inconsistent shape"))
    if int(indptr[0]) != 0 or int(indptr[-1]) != indices.shape[0] or indices.shape != data.shape:
        raise ModelError(_bad(path, "inconsistent arrays"))
    if np.any(np.diff(indptr) < 0) or (
        indices.shape[0] and (int(indices.min()) < 0 or int(indices.max()) >= size)
    ):
        raise ModelError(_bad(path, "an index is out of range"))
    if n_items is not None and size != n_items:
        raise ModelError(_bad(path, f"it covers {size:,} items but the model has {n_items:,}"))
    if data.shape[0] and not (np.isfinite(data.sum(dtype=np.float64)) and float(data.min()) >= 0):
        bad = data[~np.isfinite(data) | (data < 0)][0]
        raise ModelError(_bad(path, f"a weight is {bad}, not a finite number of 0 or more"))
    keep = int(arrays["keep"])
    flags = [bool(int(arrays[key])) if key in arrays else False for key in _FLAGS]
    return TransitionMatrix(
        indptr, indices, data, size, int(arrays["steps"]), None if keep < 0 else keep, *flags
    )


_SMALL = ("shape", "steps", "keep", "version", *_FLAGS)


def _check_declared(path: str | Path, n_items: int | None) -> None:
    """Refuse arrays whose ``.npy`` headers declare more than the matrix can hold, reading only
    the headers (and the four small arrays): a small compressed file that declares gigabytes is
    refused before anything large is decompressed.

    Raises:
        ModelError: naming the file and the array.
    """
    found = declared_arrays(path, _KEYS + _FLAGS, _SMALL)
    if found is None:
        return  # np.load says what is wrong with it
    headers, small = found
    for key in _SMALL:
        if key in headers and headers[key][0] > 2:
            raise ModelError(_bad(path, f"{key} declares {headers[key][0]:,} values, not 1 or 2"))
    shape, keep = small.get("shape"), small.get("keep")
    if shape is None or shape.shape != (2,) or shape.dtype.kind not in "iu" or int(shape[0]) < 0:
        return  # _checked refuses it, with its reason
    size = int(shape[0])
    if n_items is not None and size != n_items:
        raise ModelError(_bad(path, f"it covers {size:,} items but the model has {n_items:,}"))
    per_row = size if keep is None or keep.size != 1 or int(keep) < 0 else min(size, int(keep))
    limits = {"indptr": size + 1, "indices": size * per_row, "data": size * per_row}
    for key, limit in limits.items():
        if key in headers and (headers[key][0] > limit or headers[key][1] > 8):
            count, itemsize = headers[key]
            raise ModelError(
                _bad(path, f"{key} declares {count:,} values of {itemsize} bytes where at most {limit:,} fit")
            )


def _bad(path: str | Path, detail: str) -> str:
    return f"transitions file {str(path)!r} is corrupt ({detail}): retrain the model to rebuild it"
