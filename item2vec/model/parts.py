"""The optional parts of a model that score modes need: output vectors and transitions.

Both are read only when a mode asks for them, and a model that lacks one gets a one-line
error naming the mode and the fix, never a quiet fallback to another mode:

- ``next`` (and ``hybrid`` on the in·out base) reads ``syn1neg.npy``, the output vectors of the
  learned items (memory-mapped). Items inferred from attributes have none: their rows are zero,
  so as candidates they score 0 (neither for nor against). Spark models keep no output vectors.
- ``hybrid`` reads ``transitions.npz``. Models trained before transitions existed, and Spark
  models, have none.

Each is checked when it is read, as vectors.npy is at load: against the fingerprints of the
model.json the model was loaded with (a model retrained in between is refused with "load it
again", never paired with the old vectors: item2vec.model.identity), never through a symbolic
link, and syn1neg.npy for NaN and infinity.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from item2vec.errors import Bare, ModelError, param
from item2vec.model.checks import check_finite, refuse_link
from item2vec.model.embeddings import Embeddings
from item2vec.model.identity import (
    PARTS_KEY,
    array_digest,
    handle_digest,
    part_checked,
    replaced,
    replaced_error,
)
from item2vec.model.transitions import TRANSITIONS_FILE, TransitionMatrix, load_transitions

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

OUTPUT_FILE = "syn1neg.npy"


def missing_output(path: Path, embeddings: Embeddings, mode: str) -> str | None:
    """Why ``mode`` cannot read output vectors from the model at ``path``, or None if it can.

    The words name parameters with ``param`` markers: ``evaluate`` and ``serve`` show them as notes
    too, and each edge spells them.
    """
    engine = embeddings.meta.get("engine", "gensim")
    score = param("score", Bare(mode))
    if engine == "spark":
        return (
            f"{score} needs output vectors, and model {str(path)!r} was trained with engine "
            f"'spark', which keeps none: use {_SIMILAR}, or retrain with {param('engine', Bare('gensim'))}"
        )
    if not (path / OUTPUT_FILE).is_file():
        return (
            f"{score} needs output vectors ({OUTPUT_FILE}), which model {str(path)!r} lacks: "
            f"use {_SIMILAR}, or retrain it with 'item2vec train'"
        )
    return None


_SIMILAR = param("score", Bare("similar"))


def missing_transitions(path: Path, embeddings: Embeddings) -> str | None:
    """Why ``hybrid`` cannot read transitions from the model at ``path``, or None if it can."""
    if (path / TRANSITIONS_FILE).is_file():
        return None
    hybrid = param("score", Bare("hybrid"))
    if embeddings.meta.get("engine", "gensim") == "spark":
        return (
            f"{hybrid} needs transitions ({TRANSITIONS_FILE}), and model {str(path)!r} was trained "
            f"with engine 'spark', which counts none: use {_SIMILAR}, or retrain with "
            f"{param('engine', Bare('gensim'))}"
        )
    return (
        f"{hybrid} needs transitions ({TRANSITIONS_FILE}), which model {str(path)!r} lacks (it is "
        "older than score modes): retrain it, or build them with 'item2vec update MODEL NEW_EVENTS', "
        f"or use {_SIMILAR} or next"
    )


def _absent(path: Path, embeddings: Embeddings, name: str, why: str) -> ModelError:
    """A part the loaded model had and the directory lacks now: it was replaced, or ``why``."""
    if name in (embeddings.meta.get(PARTS_KEY) or {}) and replaced(path, embeddings.meta):
        return replaced_error(path)
    return ModelError(why)


def load_output(path: Path, embeddings: Embeddings, mode: str = "next") -> NDArray[np.float32]:
    """Output vectors aligned with the model's rows (zero rows for inferred items).

    Raises:
        ModelError: the model has none (see :func:`missing_output`), syn1neg.npy does not fit or
            holds NaN or infinity, or the model was replaced since ``embeddings`` were loaded.
    """
    import numpy as np

    why = missing_output(path, embeddings, mode)
    if why:
        raise _absent(path, embeddings, OUTPUT_FILE, why)
    refuse_link(path / OUTPUT_FILE)
    with _replaced_first(path, embeddings):
        try:
            output = np.load(path / OUTPUT_FILE, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise ModelError(f"model {str(path)!r} is corrupt ({OUTPUT_FILE}: {exc}); retrain it") from None
        learned = len(embeddings) - int((embeddings.meta.get("features") or {}).get("inferred_items", 0))
        if output.dtype != np.float32 or output.shape != (learned, embeddings.dim):
            raise ModelError(
                f"model {str(path)!r} is corrupt: {OUTPUT_FILE} is {output.dtype} {output.shape}, expected "
                f"({learned}, {embeddings.dim}); retrain it"
            )
        check_finite(output, path, OUTPUT_FILE, embeddings.ids)
    part_checked(path, embeddings.meta, OUTPUT_FILE, lambda: array_digest(output))
    if learned == len(embeddings):
        result: NDArray[np.float32] = output
        return result
    padding = np.zeros((len(embeddings) - learned, embeddings.dim), dtype=np.float32)
    return np.vstack([np.asarray(output), padding])


def load_model_transitions(path: Path, embeddings: Embeddings) -> TransitionMatrix:
    """The model's transitions, checked against its size and identity.

    Raises:
        ModelError: the model has none (see :func:`missing_transitions`), the file is corrupt,
            or the model was replaced since ``embeddings`` were loaded.
    """
    why = missing_transitions(path, embeddings)
    if why:
        raise _absent(path, embeddings, TRANSITIONS_FILE, why)
    file = path / TRANSITIONS_FILE
    refuse_link(file)
    with _replaced_first(path, embeddings), open(file, "rb") as handle:
        opened = os.fstat(handle.fileno())  # held open: the file read below is this one, or we see it
        matrix = load_transitions(file, len(embeddings))
        now = os.stat(file)
        if (now.st_ino, now.st_dev) != (opened.st_ino, opened.st_dev):
            raise replaced_error(path)
        part_checked(path, embeddings.meta, TRANSITIONS_FILE, lambda: handle_digest(handle))
    return matrix


@contextmanager
def _replaced_first(path: Path, embeddings: Embeddings) -> Iterator[None]:
    """A part that does not fit (or vanished) because the model was replaced says so, not "corrupt"."""
    try:
        yield
    except ModelError:
        if replaced(path, embeddings.meta):
            raise replaced_error(path) from None
        raise
    except FileNotFoundError as exc:
        if replaced(path, embeddings.meta):
            raise replaced_error(path) from None
        raise ModelError(
            f"model {str(path)!r} lost {Path(exc.filename or '').name} as it was read: load it again"
        ) from None
