"""What a ``Model`` holds: its vectors, ids, counts, names and metadata, as a read-only mapping
from item id to vector, and how it shows itself (text, and HTML in Jupyter).

:class:`~item2vec.api.model.Model` adds the questions (similar, analogy, recommend, evaluate)
and the files and hand-overs (save, export, index, to_frame, to_torch).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from item2vec.api.checks import item_id, item_ids
from item2vec.api.errors import in_python_terms
from item2vec.api.results import model_html
from item2vec.model.embeddings import Embeddings
from item2vec.model.scoring_record import Scoring

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from item2vec.corpus.packed import Packed
    from item2vec.model.transitions import TransitionMatrix
    from item2vec.query.index import AnnIndex
    from item2vec.query.scoring import ScoringParts

PathLike = str | Path


class ModelData:
    """What a :class:`~item2vec.api.model.Model` holds: item vectors with their ids, counts and names.

    ``item2vec.train`` returns one trained in memory, ``item2vec.load`` one read from a model
    directory (vectors memory-mapped). It behaves as a read-only mapping from item id to
    vector: ``model["85123A"]``, ``"85123A" in model``, ``len(model)``, ``for item in model``.

    Args:
        embeddings: the vectors, ids, counts, names and metadata.
        extra: training state saved beside the vectors (``syn1neg`` and feature arrays).
        tables: extra TSV tables of the model directory (item features).
        corpus: the training corpus, kept for the baselines of :meth:`evaluate`.
        source: the model directory it was loaded from.
        transitions: the transition counts a freshly trained model saves as transitions.npz.
    """

    def __init__(
        self,
        embeddings: Embeddings,
        *,
        extra: Mapping[str, NDArray[np.float32]] | None = None,
        tables: dict[str, tuple[tuple[str, str], list[tuple[Any, Any]]]] | None = None,
        corpus: Packed | None = None,
        source: PathLike | None = None,
        transitions: TransitionMatrix | None = None,
    ) -> None:
        self._embeddings = embeddings
        self._extra = dict(extra or {})
        self._tables = tables
        self._transitions = transitions
        self._parts: ScoringParts | None = None
        self._corpus = corpus
        self._source = Path(source) if source is not None else None
        self._indexes: dict[str, AnnIndex] = {}  # built by index() in this session

    # --- what it holds ---------------------------------------------------------------------------

    @property
    def embeddings(self) -> Embeddings:
        """The core's :class:`~item2vec.model.embeddings.Embeddings` (for the CLI's functions)."""
        return self._embeddings

    @property
    def ids(self) -> Sequence[str]:
        """Item ids in row order (row ``i`` of :attr:`vectors` is ``ids[i]``); do not change it."""
        return self._embeddings.ids

    @property
    def vectors(self) -> NDArray[np.float32]:
        """The vectors, one row per item, float32 (a read-only view)."""
        view = self._embeddings.vectors.view()
        view.flags.writeable = False
        return view

    @property
    def counts(self) -> NDArray[np.int64]:
        """How often each item occurred in the training data, in row order (read-only)."""
        view = self._embeddings.counts.view()
        view.flags.writeable = False
        return view

    @property
    def names(self) -> Mapping[str, str]:
        """Item id → name, for the items that have one (``train(items=...)``)."""
        return MappingProxyType(self._embeddings.names)

    @property
    def dim(self) -> int:
        """Dimensions of a vector."""
        return self._embeddings.dim

    @property
    def meta(self) -> Mapping[str, Any]:
        """model.json's record: parameters, input statistics, timings, library versions."""
        return MappingProxyType(self._embeddings.meta)

    @property
    def scoring(self) -> Scoring:
        """The model's default way of scoring (``recommend``'s): model.json's "scoring" record as a
        typed :class:`~item2vec.model.scoring_record.Scoring` (``mode``, ``weight``, ``base``,
        ``steps``; ``label()`` names it as tables do). ``meta["scoring"]`` keeps the whole record,
        with what train's calibration measured."""
        return Scoring.from_record(self._embeddings.meta)

    @property
    def path(self) -> Path | None:
        """The model directory it was loaded from or last saved to (None before a save)."""
        return self._source

    def __len__(self) -> int:
        return len(self._embeddings)

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str) and self._embeddings.row(item) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._embeddings.ids)

    @in_python_terms
    def __getitem__(self, items: str | Sequence[str]) -> NDArray[np.float32]:
        """The vector of one id, or a matrix with a row for each id of a list."""
        import numpy as np

        if isinstance(items, str):
            return self.vector(items)
        rows = [self._embeddings.position(item) for item in item_ids(items)]
        return np.array(self._embeddings.vectors[rows], dtype=np.float32)

    def __repr__(self) -> str:
        where = f", {str(self._source)!r}" if self._source else ""
        return f"<item2vec.Model: {len(self):,} items, dim {self.dim}{where}>"

    def _repr_html_(self) -> str:
        return model_html(self._embeddings, self._source, indexes=list(self._indexes))

    @in_python_terms
    def vector(self, item: str) -> NDArray[np.float32]:
        """The vector of ``item`` (a copy).

        Raises:
            ItemNotFoundError: ``item`` is not in the model (the message says why).
        """
        import numpy as np

        return np.array(self._embeddings.vectors[self._embeddings.position(item_id(item))], dtype=np.float32)

    @in_python_terms
    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two items, in float64 (0 when either vector is zero)."""
        import numpy as np

        rows = [self._embeddings.position(item_id(a)), self._embeddings.position(item_id(b))]
        a_vec, b_vec = np.asarray(self._embeddings.vectors[rows], dtype=np.float64)
        squares = float(a_vec @ a_vec) * float(b_vec @ b_vec)
        return float(a_vec @ b_vec) / math.sqrt(squares) if squares else 0.0

    def find(self, text: str) -> list[str]:
        """Ids of the items whose name contains ``text`` (case-insensitive), most frequent first."""
        return [self._embeddings.ids[row] for row in self._embeddings.find_by_name(text)]

    def _scoring_parts(self) -> ScoringParts:
        from item2vec.query.scoring import ScoringParts

        if self._parts is None:
            output = self._extra.get("syn1neg")
            self._parts = ScoringParts(
                self._embeddings, None if output is not None else self._source, output=output,
                transitions=self._transitions,
            )  # fmt: skip
        return self._parts
