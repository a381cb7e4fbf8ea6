"""Approximate search handed to a scorer (``--approx``): the model's stored indexes, opened on
first use. The model itself is never changed; a scorer with a searcher shortlists from the index
of the vectors its mode reads and re-scores the shortlist exactly.
"""

from __future__ import annotations

from pathlib import Path

from item2vec.errors import ModelError, param
from item2vec.model.embeddings import Embeddings
from item2vec.query.index import FILES, AnnIndex, load_index


class Searcher:
    """Approximate search over a model's stored indexes, handed to a scorer (``--approx``): the
    index of the input vectors (``similar``, and ``hybrid`` on that base) and that of the output
    vectors (``next``), each opened on first use. The model itself is never changed.
    """

    def __init__(
        self,
        embeddings: Embeddings,
        path: Path | str | None = None,
        indexes: dict[str, AnnIndex] | None = None,
    ) -> None:
        self.embeddings = embeddings
        self.path = Path(path) if path is not None else None
        self._indexes = dict(indexes or {})

    def index(self, base: str) -> AnnIndex:
        """The index over the vectors of ``base``: ``similar`` (input) or ``next`` (output).

        Raises:
            ModelError: the model has no such index, or it does not fit (see :func:`load_index`).
        """
        vectors = "input" if base == "similar" else "output"
        if vectors not in self._indexes:
            if self.path is None:
                raise ModelError(
                    f"{param('approx', True)} needs the model's directory, where its index is stored"
                )
            self._indexes[vectors] = load_index(self.path, self.embeddings, vectors=vectors)
        return self._indexes[vectors]

    def has(self, base: str) -> bool:
        """Whether the index over ``base``'s vectors is loaded or stored (not checked until used)."""
        vectors = "input" if base == "similar" else "output"
        if vectors in self._indexes:
            return True
        return self.path is not None and all((self.path / name).is_file() for name in FILES[vectors])

    @property
    def kind(self) -> str | None:
        """The kind of the input vectors' index, once open."""
        index = self._indexes.get("input")
        return index.kind if index is not None else None


def open_searcher(path: Path | str, embeddings: Embeddings) -> Searcher:
    """The model's indexes for ``--approx``; the index of the input vectors is read now, so a
    missing or stale one fails before any query."""
    searcher = Searcher(embeddings, path)
    searcher.index("similar")
    return searcher
