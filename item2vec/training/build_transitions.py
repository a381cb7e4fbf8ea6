"""The model's transitions (``transitions.npz``): built by ``train``, extended by ``update``.

Counted over the training corpus as the model sees its items: tokens of items outside the
vocabulary (below --min-count) form no pair but keep their place, so distances are those of
the log; each sequence's pairs weigh 1/sqrt(its length), and with ``direction="both"`` an item
counts the items before it too (item2vec.model.pair_counts). Items inferred from attributes
have no row (they have no events of their own).

``update`` adds the new data's counts to the stored matrix and keeps the top entries of each
row again. The stored rows are truncated, so that is an approximation: a follower that had been
cut from a row restarts from its new count, losing at most the weight of the row's last kept
entry (the row's ``keep``-th). Rows with fewer than ``keep`` followers were not cut and are exact.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from item2vec.corpus.packed import Packed
from item2vec.model.modes import TRANSITION_DIRECTION, TRANSITION_KEEP, TRANSITION_STEPS
from item2vec.model.transitions import (
    TRANSITIONS_FILE,
    TransitionMatrix,
    build_transition_kinds,
    build_transitions,
    combine,
)

if TYPE_CHECKING:
    import threading

    import numpy as np
    from numpy.typing import NDArray


def corpus_codes(packed: Packed, ids: list[str], skip: Iterable[str] = ()) -> tuple[Any, Any]:
    """The corpus's tokens as rows of ``ids`` (-1 for items not among them, or in ``skip``) and
    its sequence bounds from 0."""
    import numpy as np

    skipped = set(skip)
    rows = {item: row for row, item in enumerate(ids) if item not in skipped}
    lookup = np.array([rows.get(str(name), -1) for name in packed.names.tolist()], dtype=np.int32)
    lo, hi = int(packed.bounds[0]), int(packed.bounds[-1])
    codes = lookup[packed.codes[lo:hi]] if len(lookup) else np.zeros(0, dtype=np.int32)
    return codes, np.asarray(packed.bounds, dtype=np.int64) - lo


def build_for_model(
    sequences: list[list[str]] | Packed,
    ids: list[str],
    *,
    skip: Iterable[str] = (),
    steps: int = TRANSITION_STEPS,
    direction: str = TRANSITION_DIRECTION,
    keep: int | None = TRANSITION_KEEP,
) -> tuple[TransitionMatrix, dict[str, Any]]:
    """The transitions of ``sequences`` over the model's items ``ids`` and their model.json record."""
    started = time.perf_counter()
    packed = sequences if isinstance(sequences, Packed) else Packed.from_lists(sequences)
    codes, bounds = corpus_codes(packed, ids, skip)
    matrix = build_transitions(codes, bounds, len(ids), steps=steps, keep=keep, both=direction == "both",
                               per_length=True)  # fmt: skip
    return matrix, record(matrix, time.perf_counter() - started, sequences=len(packed))


def build_kinds_for_model(
    sequences: Packed,
    ids: list[str],
    kinds: tuple[tuple[int, str], ...],
    *,
    keep: int | None = TRANSITION_KEEP,
    only: Iterable[str] | None = None,
    stop: threading.Event | None = None,
) -> dict[tuple[int, str], TransitionMatrix]:
    """:func:`build_for_model`'s matrix of each (steps, direction) of ``kinds``, from one pass;
    with ``only``, just the rows of those items (each as in the whole matrix; the others empty).
    ``stop``: set it to end the count early (CountStopped)."""
    import numpy as np

    codes, bounds = corpus_codes(sequences, ids)
    rows = None
    if only is not None:
        position = {item: row for row, item in enumerate(ids)}
        rows = np.zeros(len(ids), dtype=bool)
        rows[[position[item] for item in set(only) if item in position]] = True
    counted = tuple((steps, direction == "both") for steps, direction in kinds)
    found = build_transition_kinds(
        codes, bounds, len(ids), kinds=counted, keep=keep, rows=rows, per_length=True, stop=stop
    )
    return {(steps, "both" if way else "next"): matrix for (steps, way), matrix in found.items()}


def record(matrix: TransitionMatrix, seconds: float, **extra: Any) -> dict[str, Any]:
    """What model.json says about the transitions: parameters, size, build time."""
    import numpy as np

    return {
        "file": TRANSITIONS_FILE,
        "steps": matrix.steps,
        **matrix.counting_record,
        "keep": matrix.keep,
        "entries": matrix.nnz,
        "items_with_followers": int((np.diff(matrix.indptr) > 0).sum()),
        "megabytes": round(matrix.nbytes / 2**20, 3),
        "build_seconds": round(seconds, 3),
        **extra,
    }


def extended(
    old: TransitionMatrix | None,
    old_ids: list[str],
    sequences: list[list[str]],
    ids: list[str],
    *,
    skip: Iterable[str] = (),
    previous: dict[str, Any] | None = None,
) -> tuple[TransitionMatrix, dict[str, Any]]:
    """``update``'s transitions: the old matrix (renumbered to ``ids``) plus the new data's counts.

    Without an old matrix (a model from before transitions) the new data's counts alone, and
    the record says so (``"since": "update"``). The new data's pairs are counted as the stored
    ones were (direction and per-sequence weight).
    """
    import numpy as np

    started = time.perf_counter()
    previous = previous or {}
    steps = int(previous.get("steps") or TRANSITION_STEPS)
    keep = previous.get("keep", TRANSITION_KEEP) if old is not None else TRANSITION_KEEP
    packed = Packed.from_lists(sequences)
    codes, bounds = corpus_codes(packed, ids, skip)
    # counted as the stored ones were (transitions.npz says how); none stored: as train counts now
    both, per_length = (old.both, old.per_length) if old is not None else (False, True)
    fresh = build_transitions(
        codes, bounds, len(ids), steps=steps, keep=None, both=both, per_length=per_length
    )
    extra: dict[str, Any] = {"sequences": int(previous.get("sequences", 0)) + len(packed)}
    if old is None:
        merged = _truncated(fresh, keep)
        extra["since"] = "update"
    else:
        position = {item: row for row, item in enumerate(ids)}
        rows: NDArray[np.int64] = np.array([position.get(item, -1) for item in old_ids], dtype=np.int64)
        merged = combine(old.remapped(rows, len(ids)), fresh, keep=keep)
        if "since" in previous:
            extra["since"] = previous["since"]
    return merged, record(merged, time.perf_counter() - started, **extra)


def _truncated(matrix: TransitionMatrix, keep: int | None) -> TransitionMatrix:
    import numpy as np

    empty = TransitionMatrix(
        np.zeros(matrix.n_items + 1, dtype=np.int64),
        np.zeros(0, dtype=np.int32),
        np.zeros(0, dtype=np.float32),
        matrix.n_items,
        matrix.steps,
        keep,
        matrix.both,
        matrix.per_length,
    )
    return combine(empty, matrix, keep=keep)
