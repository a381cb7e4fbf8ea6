"""``Model``: a trained or loaded model, and what Python asks of it.

A thin layer over :class:`item2vec.model.embeddings.Embeddings` and the core's query, evaluation
and export functions: each method checks its arguments, calls one core function and returns
plain Python and numpy values (answers as :class:`item2vec.api.records.ItemScore` pairs).
"""

from __future__ import annotations

import math
import shutil
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from item2vec.api import handover
from item2vec.api.errors import Item2VecWarning, in_python_terms, python_terms
from item2vec.api.evaluating import Ks, evaluate_model
from item2vec.api.records import ItemScore, item_scores
from item2vec.errors import ConfigError, EmptyResultError, ModelError, param
from item2vec.files import atomic_dir
from item2vec.model.embeddings import Embeddings, parse_analogy
from item2vec.model.store import check_output, read_meta, save
from item2vec.query.recommend import DECAY, HISTORY_SIZE, history_query, recommend

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import torch
    from numpy.typing import NDArray

    from item2vec.corpus.packed import Packed
    from item2vec.evaluation.heldout import Evaluation
    from item2vec.model.transitions import TransitionMatrix
    from item2vec.query.scoring import Scorer, ScoringParts

PathLike = str | Path


class Model:
    """Item vectors with their ids, counts and names, and the questions asked of them.

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
        rows = [self._embeddings.position(item) for item in _ids(items)]
        return np.array(self._embeddings.vectors[rows], dtype=np.float32)

    def __repr__(self) -> str:
        where = f", {str(self._source)!r}" if self._source else ""
        return f"<item2vec.Model: {len(self):,} items, dim {self.dim}{where}>"

    @in_python_terms
    def vector(self, item: str) -> NDArray[np.float32]:
        """The vector of ``item`` (a copy).

        Raises:
            ItemNotFoundError: ``item`` is not in the model (the message says why).
        """
        import numpy as np

        return np.array(self._embeddings.vectors[self._embeddings.position(_id(item))], dtype=np.float32)

    @in_python_terms
    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two items, in float64 (0 when either vector is zero)."""
        import numpy as np

        rows = [self._embeddings.position(_id(a)), self._embeddings.position(_id(b))]
        a_vec, b_vec = np.asarray(self._embeddings.vectors[rows], dtype=np.float64)
        squares = float(a_vec @ a_vec) * float(b_vec @ b_vec)
        return float(a_vec @ b_vec) / math.sqrt(squares) if squares else 0.0

    def find(self, text: str) -> list[str]:
        """Ids of the items whose name contains ``text`` (case-insensitive), most frequent first."""
        return [self._embeddings.ids[row] for row in self._embeddings.find_by_name(text)]

    # --- questions -------------------------------------------------------------------------------

    @in_python_terms
    def similar(
        self,
        items: str | Iterable[str],
        k: int = 10,
        *,
        score: str = "similar",
        hybrid_weight: float | None = None,
        hybrid_base: str | None = None,
    ) -> list[ItemScore]:
        """The ``k`` best items for ``items``, query items left out.

        One id: its neighbours. Several: the neighbours of their mean, as gensim's
        ``most_similar(positive=[...])`` and ``item2vec similar --combine``. ``score`` is the
        mode, as ``--score``: ``"similar"`` (cosine of input vectors: items alike), ``"next"``
        (input · output vectors: what follows or goes with it) or ``"hybrid"`` (an embedding
        score plus the model's transition counts, weighted ``hybrid_weight``).
        """
        query = _ids(items)
        scorer = self._scorer(score, hybrid_weight, hybrid_base)
        return item_scores(scorer.similar(query, _k(k), combine=len(query) > 1))

    def _scoring_parts(self) -> ScoringParts:
        from item2vec.query.scoring import ScoringParts

        if self._parts is None:
            output = self._extra.get("syn1neg")
            self._parts = ScoringParts(
                self._embeddings, None if output is not None else self._source, output=output,
                transitions=self._transitions,
            )  # fmt: skip
        return self._parts

    def _scorer(self, score: str | None, weight: float | None, base: str | None) -> Scorer:
        from item2vec.query.scoring import make_scorer

        return make_scorer(self._scoring_parts(), score, hybrid_weight=weight, hybrid_base=base)

    @in_python_terms
    def analogy(
        self,
        positive: str | Iterable[str],
        negative: str | Iterable[str] = (),
        k: int = 10,
        *,
        method: Literal["add", "mul"] = "add",
    ) -> list[ItemScore]:
        """Items closest to positive − negative (3CosAdd, or 3CosMul with ``method="mul"``).

        ``positive`` may be an expression, as the CLI takes it: ``"king - man + woman"``.
        The input items are left out; the answers equal gensim's ``most_similar`` (add) and
        ``most_similar_cosmul`` (mul).
        """
        if isinstance(positive, str) and not negative:
            pos, neg = parse_analogy(positive)
        else:
            pos, neg = _ids(positive), _ids(negative) if negative else []
        if method not in ("add", "mul"):
            raise ConfigError(f"{param('method', method)} is unknown: use 'add' or 'mul'", param="method",
                              value=method, expected="'add' or 'mul'")  # fmt: skip
        from item2vec.query.neighbours import analogy

        return item_scores(analogy(self._embeddings, pos, neg, _k(k), method=method))

    @in_python_terms
    def recommend(
        self,
        history: str | Iterable[str],
        k: int = 10,
        *,
        decay: float = DECAY,
        history_size: int = HISTORY_SIZE,
        keep_seen: bool = False,
        score: str | None = None,
        hybrid_weight: float | None = None,
        hybrid_base: str | None = None,
    ) -> list[ItemScore]:
        """Items for a user from their history (oldest first), as ``item2vec recommend``.

        ``score`` is the mode (None: the model's default, ``hybrid`` unless it was trained or
        tuned with another); in the ``similar`` mode the candidates are the items closest to
        :meth:`user_vector`. Items of the history are left out unless ``keep_seen``; unknown
        ones are skipped with an :class:`~item2vec.api.errors.Item2VecWarning`.
        """
        found = recommend(
            self._embeddings,
            _ids(history),
            _k(k),
            decay=decay,
            history_size=history_size,
            keep_seen=keep_seen,
            scorer=self._scorer(score, hybrid_weight, hybrid_base),
        )
        _warn(found.notes)
        return item_scores(found.neighbours)

    @in_python_terms
    def user_vector(
        self, history: str | Iterable[str], *, decay: float = DECAY, history_size: int = HISTORY_SIZE
    ) -> NDArray[np.float32]:
        """A user's vector: the decayed mean of their history (oldest first), as ``recommend`` uses it.

        The unit vectors of the last ``history_size`` known items, weighted ``decay ** age``
        (age 0 = the most recent) and divided by the sum of the weights. Unknown items are
        skipped with an :class:`~item2vec.api.errors.Item2VecWarning`.
        """
        query = history_query(self._embeddings, _ids(history), decay=decay, history_size=history_size)
        _warn(query.notes)
        return query.vector

    @in_python_terms
    def user_vectors(
        self,
        events: object,
        *,
        user: str = "user_id",
        item: str | None = None,
        time: str | None = None,
        where: str | Iterable[str] = (),
        decay: float = DECAY,
        history_size: int = HISTORY_SIZE,
        input_format: str | None = None,
    ) -> tuple[list[str], NDArray[np.float32]]:
        """The vector of every user of an event log (a DataFrame, a pyarrow Table or file paths).

        Each user's events in time order (table order without ``time``) give :meth:`user_vector`;
        ``item`` and ``time`` default to the columns the model was trained with. Users with no
        item in the model get no row (an :class:`~item2vec.api.errors.Item2VecWarning` says how
        many). The same as ``item2vec recommend MODEL --events LOG --user-vectors -o users.parquet``.

        Returns:
            The users, and a matrix with one row per user.
        """
        return handover.user_vectors(
            self._embeddings, events, user=user, item=item, time=time, where=where, decay=decay,
            history_size=history_size, input_format=input_format,
        )  # fmt: skip

    @in_python_terms
    def evaluate(
        self,
        test: object = None,
        *,
        k: Ks = 10,
        query: Literal["last", "history"] = "last",
        history: int = 5,
        train: object = None,
        baselines: bool = True,
        analogies: PathLike | None = None,
        pairs: PathLike | None = None,
        score: str | Iterable[str] = (),
    ) -> Evaluation:
        """Next-item accuracy against baselines, analogy accuracy, word-pair correlation.

        As ``item2vec evaluate``: in each ``test`` sequence (event tables are sessionized as the
        model's training data was) the last item is the target and the items before it the
        history. The baselines are counted on ``train``, else on the corpus this model was
        trained on in this session, else on the files model.json names. ``score`` names the
        modes to rank with (one row each; default: every mode the model can score, its default
        first), as ``--score``.

        Returns:
            ``sections`` (``"next-item"``: one row of metrics per method; ``"analogies"``,
            ``"pairs"``) and ``notes`` a person should read.
        """
        return evaluate_model(
            self._embeddings, test, corpus=self._corpus, ks=k, query=query, history=history, train=train,
            baselines=baselines, analogies=analogies, pairs=pairs, parts=self._scoring_parts(),
            scores=(score,) if isinstance(score, str) else tuple(score),
        )  # fmt: skip

    # --- files and other tools -------------------------------------------------------------------

    @in_python_terms
    def save(self, path: PathLike, *, force: bool = False) -> Path:
        """Write the model directory the CLI reads (``item2vec similar PATH ...``), atomically.

        Raises:
            OutputExistsError: ``path`` holds a model and ``force`` is false, or holds other files.
        """
        target = Path(path)
        if self._source is not None:
            _copy_model(self._source, target, self._embeddings.meta, force=force)
        else:
            save(self._embeddings, target, force=force, extra=self._extra, tables=self._tables,
                 transitions=self._transitions)  # fmt: skip
            self._embeddings.meta.update(read_meta(target))
        self._source = target
        return target

    def to_keyed_vectors(self) -> Any:
        """A gensim ``KeyedVectors`` (ids, vectors, ``count``): what ``export -f word2vec`` writes."""
        return handover.keyed_vectors(self._embeddings)

    def to_frame(self) -> pd.DataFrame:
        """A pandas DataFrame: ``id``, ``name`` (None without one), ``count``, ``vector`` (arrays)."""
        return handover.frame(self._embeddings)

    @in_python_terms
    def to_torch(self, padding: bool = True, *, freeze: bool = True) -> torch.nn.Embedding:
        """``torch.nn.Embedding.from_pretrained`` of the vectors; row 0 is padding unless ``padding=False``.

        :meth:`row_index` maps ids to its rows (``export -f torch`` writes the same table).
        """
        return handover.torch_embedding(self._embeddings, padding=padding, freeze=freeze)

    def row_index(self, padding: bool = True) -> dict[str, int]:
        """Item id → row of :meth:`to_torch`'s table (row 0 is padding unless ``padding=False``)."""
        return handover.row_index(self._embeddings, padding=padding)


def _id(item: object) -> str:
    if not isinstance(item, str):
        raise TypeError(f"item ids are strings: give {str(item)!r}, not {type(item).__name__} {item!r}")
    return item


def _ids(items: str | Iterable[str]) -> list[str]:
    if isinstance(items, str):
        return [items]
    found = [_id(item) for item in items]
    if not found:
        raise EmptyResultError("no item ids were given: give an id, or a list of ids")
    return found


def _k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"k must be a whole number (int), not {type(k).__name__} ({k!r})")
    if k < 1:
        raise ConfigError(param="k", value=k, expected="1 or more")
    return k


def _warn(notes: list[str]) -> None:
    for note in notes:
        warnings.warn(python_terms(note), Item2VecWarning, stacklevel=4)


def _copy_model(source: Path, target: Path, meta: Mapping[str, Any], *, force: bool) -> None:
    """Copy a loaded model's directory (every file: training state and index too) to ``target``."""
    check_output(target, force=force)
    if target.exists() and target.resolve() == source.resolve():
        return
    if read_meta(source) != meta:
        raise ModelError(f"model {str(source)!r} changed after it was loaded: load it again, then save")

    def write(tmp: Path) -> None:
        for file in sorted(source.iterdir()):
            if file.is_file():
                shutil.copy2(file, tmp / file.name)

    atomic_dir(target, write)
