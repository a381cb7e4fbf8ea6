"""The optional parts of a model that score modes need: output vectors and transitions.

Both are read only when a mode asks for them, and a model that lacks one gets a one-line
error naming the mode and the fix, never a quiet fallback to another mode:

- ``next`` (and ``hybrid`` on the in·out base) reads ``syn1neg.npy``, the output vectors of the
  learned items (memory-mapped). Items inferred from attributes have none: their rows are zero,
  so as candidates they score 0 (neither for nor against). Spark models keep no output vectors.
- ``hybrid`` reads ``transitions.npz``. Models trained before transitions existed, and Spark
  models, have none.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from item2vec.errors import ModelError
from item2vec.model.embeddings import Embeddings
from item2vec.model.transitions import TRANSITIONS_FILE, TransitionMatrix, load_transitions

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

OUTPUT_FILE = "syn1neg.npy"


def missing_output(path: Path, embeddings: Embeddings, mode: str) -> str | None:
    """Why ``mode`` cannot read output vectors from the model at ``path``, or None if it can."""
    engine = embeddings.meta.get("engine", "gensim")
    if engine == "spark":
        return (
            f"--score {mode} needs output vectors, and model {str(path)!r} was trained with engine "
            "'spark', which keeps none: use --score similar, or retrain with --engine gensim"
        )
    if not (path / OUTPUT_FILE).is_file():
        return (
            f"--score {mode} needs output vectors ({OUTPUT_FILE}), which model {str(path)!r} lacks: "
            "use --score similar, or retrain it with 'item2vec train'"
        )
    return None


def missing_transitions(path: Path, embeddings: Embeddings) -> str | None:
    """Why ``hybrid`` cannot read transitions from the model at ``path``, or None if it can."""
    if (path / TRANSITIONS_FILE).is_file():
        return None
    if embeddings.meta.get("engine", "gensim") == "spark":
        return (
            f"--score hybrid needs transitions ({TRANSITIONS_FILE}), and model {str(path)!r} was trained "
            "with engine 'spark', which counts none: use --score similar, or retrain with --engine gensim"
        )
    return (
        f"--score hybrid needs transitions ({TRANSITIONS_FILE}), which model {str(path)!r} lacks (it is "
        "older than score modes): retrain it, or build them with 'item2vec update MODEL NEW_EVENTS', "
        "or use --score similar or next"
    )


def load_output(path: Path, embeddings: Embeddings, mode: str = "next") -> NDArray[np.float32]:
    """Output vectors aligned with the model's rows (zero rows for inferred items).

    Raises:
        ModelError: the model has none (see :func:`missing_output`), or syn1neg.npy does not fit.
    """
    import numpy as np

    why = missing_output(path, embeddings, mode)
    if why:
        raise ModelError(why)
    try:
        output = np.load(path / OUTPUT_FILE, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ModelError(f"model {str(path)!r} is corrupt ({OUTPUT_FILE}: {exc}); retrain it") from None
    learned = len(embeddings) - int((embeddings.meta.get("features") or {}).get("inferred_items", 0))
    if output.dtype != np.float32 or output.shape != (learned, embeddings.dim):
        raise ModelError(
            f"model {str(path)!r} is corrupt: {OUTPUT_FILE} is {output.dtype} {output.shape}, expected "
            f"({learned}, {embeddings.dim}); retrain it"
        )
    if learned == len(embeddings):
        result: NDArray[np.float32] = output
        return result
    padding = np.zeros((len(embeddings) - learned, embeddings.dim), dtype=np.float32)
    return np.vstack([np.asarray(output), padding])


def load_model_transitions(path: Path, embeddings: Embeddings) -> TransitionMatrix:
    """The model's transitions, checked against its size.

    Raises:
        ModelError: the model has none (see :func:`missing_transitions`), or the file is corrupt.
    """
    why = missing_transitions(path, embeddings)
    if why:
        raise ModelError(why)
    return load_transitions(path / TRANSITIONS_FILE, len(embeddings))
