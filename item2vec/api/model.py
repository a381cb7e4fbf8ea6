"""``Model``: a trained or loaded model, and what Python asks of it.

A thin layer over :class:`item2vec.model.embeddings.Embeddings` and the core's query, evaluation
and export functions: each method checks its arguments, calls one core function and returns
plain Python and numpy values (answers as :class:`item2vec.api.records.ItemScore` pairs).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from item2vec.api import handover, tools
from item2vec.api.checks import check_count, check_k, copy_model, item_ids, k_or_topn, warn_notes
from item2vec.api.errors import in_python_terms
from item2vec.api.evaluating import Ks, evaluate_model, history_size_of
from item2vec.api.filtering import WhereArg, filtered, warn_short
from item2vec.api.holding import ModelData, PathLike
from item2vec.api.results import EvaluationReport, Results, report, results, score_kind
from item2vec.errors import check_choice
from item2vec.model.embeddings import parse_analogy
from item2vec.model.store import read_meta, save
from item2vec.query.recommend import HISTORY_SIZE, history_query, recommend

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import torch
    from numpy.typing import NDArray

    from item2vec.query.scoring import Scorer
    from item2vec.query.searcher import Searcher


class Model(ModelData):
    """Item vectors with their ids, counts and names, and the questions asked of them.

    ``item2vec.train`` returns one trained in memory, ``item2vec.load`` one read from a model
    directory (vectors memory-mapped). It behaves as a read-only mapping from item id to
    vector: ``model["85123A"]``, ``"85123A" in model``, ``len(model)``, ``for item in model``
    (:class:`~item2vec.api.holding.ModelData` has what it holds and its arguments).
    """

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
        approx: bool = False,
        exclude: str | Iterable[str] = (),
        only: str | Iterable[str] | None = None,
        where: WhereArg = None,
        topn: int | None = None,
    ) -> Results:
        """The ``k`` best items for ``items``, query items left out (``topn``: gensim's name for k).

        One id: its neighbours. Several: the neighbours of their mean, as gensim's
        ``most_similar(positive=[...])`` and ``item2vec similar --combine``. ``score`` is the
        mode, as ``--score``: ``"similar"`` (cosine of input vectors: items alike), ``"next"``
        (input · output vectors: what follows or goes with it) or ``"hybrid"`` (an embedding
        score plus the model's transition counts, weighted ``hybrid_weight``).
        ``approx=True`` shortlists from the index (:meth:`index`) and re-scores exactly.
        The answer's ``score_kind`` says what the scores are (``cosine`` or ``hybrid``).
        ``exclude``, ``only`` and ``where`` filter the candidates (:mod:`item2vec.api.filtering`).
        """
        query = item_ids(items)
        scorer = filtered(self._scorer(score, hybrid_weight, hybrid_base, approx), exclude, only, where)
        k = k_or_topn(k, topn)
        found = scorer.similar(query, k, combine=len(query) > 1)
        warn_short(scorer, found, [" + ".join(query)] if len(query) > 1 else query, k)
        return results(found, kind=score_kind(scorer.scoring), scoring=scorer.scoring.label(), query=query)

    def _scorer(
        self, score: str | None, weight: float | None, base: str | None, approx: bool = False
    ) -> Scorer:
        from item2vec.query.scoring import make_scorer

        found = self._searcher(approx)
        return make_scorer(
            self._scoring_parts(), score, hybrid_weight=weight, hybrid_base=base, searcher=found
        )

    def _searcher(self, approx: bool) -> Searcher | None:
        if not isinstance(approx, bool):
            raise TypeError(f"approx must be True or False, not {type(approx).__name__} ({approx!r})")
        return tools.searcher(self._embeddings, self._source, self._indexes) if approx else None

    @in_python_terms
    def analogy(
        self,
        positive: str | Iterable[str],
        negative: str | Iterable[str] = (),
        k: int = 10,
        *,
        method: Literal["add", "mul"] = "add",
        approx: bool = False,
        topn: int | None = None,
    ) -> Results:
        """Items closest to positive − negative (3CosAdd, or 3CosMul with ``method="mul"``).
        ``topn`` is gensim's name for ``k``.

        ``positive`` may be an expression, as the CLI takes it: ``"king - man + woman"``.
        The input items are left out; the answers equal gensim's ``most_similar`` (add) and
        ``most_similar_cosmul`` (mul). ``approx=True`` (add only) shortlists from the index.
        """
        if isinstance(positive, str) and not negative:
            pos, neg = parse_analogy(positive)
        else:
            pos, neg = item_ids(positive), item_ids(negative) if negative else []
        check_choice("method", method, ("add", "mul"), quoted=True)
        from item2vec.query.neighbours import analogy

        searcher = self._searcher(approx)
        index = searcher.index("similar") if searcher is not None else None
        found = analogy(self._embeddings, pos, neg, k_or_topn(k, topn), method=method, index=index)
        query = [f"+{item}" for item in pos] + [f"-{item}" for item in neg]
        return results(
            found, kind="cosine" if method == "add" else "cosmul", scoring=f"analogy {method}", query=query
        )

    @in_python_terms
    def recommend(
        self,
        history: str | Iterable[str],
        k: int = 10,
        *,
        decay: float | None = None,
        history_size: int = HISTORY_SIZE,
        keep_seen: bool | None = None,
        score: str | None = None,
        hybrid_weight: float | None = None,
        hybrid_base: str | None = None,
        approx: bool = False,
        exclude: str | Iterable[str] = (),
        only: str | Iterable[str] | None = None,
        where: WhereArg = None,
    ) -> Results:
        """Items for a user from their history (oldest first), as ``item2vec recommend``.

        ``score`` is the mode (None: the model's default, ``hybrid`` unless it was trained or
        tuned with another; :attr:`scoring`); in the ``similar`` mode the candidates are the items
        closest to :meth:`user_vector`. Items of the history are left out, unless the model's
        scoring has a repeat weight (they come back, raised by their recency and frequency) or
        ``keep_seen=True``; ``keep_seen=False`` always leaves them out;
        unknown ones are skipped with an :class:`~item2vec.api.errors.Item2VecWarning`.
        ``approx=True`` shortlists from the index (:meth:`index`). The answer's ``score_kind``
        says what the scores are: ``hybrid`` scores are standardised, not cosines. ``exclude``,
        ``only`` and ``where`` filter the candidates, as in :meth:`similar`.

        Many parameters: the options of ``item2vec recommend``, keyword-only, one for one.
        """
        query = item_ids(history)
        scorer = filtered(self._scorer(score, hybrid_weight, hybrid_base, approx), exclude, only, where)
        found = recommend(self._embeddings, query, check_k(k), decay=decay, history_size=check_count("history_size", history_size),
                          keep_seen=keep_seen, scorer=scorer)  # fmt: skip
        warn_notes(found.notes)
        warn_short(scorer, found.neighbours, ["history"], k)
        return results(
            found.neighbours, kind=score_kind(scorer.scoring), scoring=scorer.scoring.label(), query=query
        )

    @in_python_terms
    def user_vector(
        self, history: str | Iterable[str], *, decay: float | None = None, history_size: int = HISTORY_SIZE
    ) -> NDArray[np.float32]:
        """A user's vector: the decayed mean of their history (oldest first), as ``recommend`` uses it.

        The unit vectors of the last ``history_size`` known items, weighted ``decay ** age``
        (age 0 = the most recent; None: the model's history decay, chosen by train's calibration,
        else 0.7) and divided by the sum of the weights. Unknown items are skipped with an
        :class:`~item2vec.api.errors.Item2VecWarning`.
        """
        query = history_query(
            self._embeddings,
            item_ids(history),
            decay=self._decay(decay),
            history_size=check_count("history_size", history_size),
        )
        warn_notes(query.notes)
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
        decay: float | None = None,
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
            self._embeddings, events, user=user, item=item, time=time, where=where, decay=self._decay(decay),
            history_size=check_count("history_size", history_size), input_format=input_format,
        )  # fmt: skip

    def _decay(self, decay: float | None) -> float:
        """``decay``, or the model's history decay (its scoring record's, else the default)."""
        from item2vec.model.scoring_record import Scoring

        return Scoring.recorded_history(self._embeddings.meta)[1] if decay is None else decay

    @in_python_terms
    def evaluate(
        self,
        test: object = None,
        *,
        k: Ks = 10,
        query: Literal["last", "history", "both"] = "both",
        history_size: int = 5,
        train: object = None,
        baselines: bool = True,
        analogies: PathLike | None = None,
        pairs: PathLike | None = None,
        score: str | Iterable[str] = (),
        history: int | None = None,
    ) -> EvaluationReport:
        """Next-item accuracy against baselines, analogy accuracy, word-pair correlation.

        As ``item2vec evaluate``: in each ``test`` sequence (event tables are sessionized as the
        model's training data was) the last item is the target and the items before it the
        history. The baselines are counted on ``train``, else on the corpus this model was
        trained on in this session, else on the files model.json names. ``score`` names the
        modes to rank with (one row each; default: every mode the model can score, its default
        first), as ``--score``. ``query`` is the protocol, each row saying which (its
        ``protocol``): the item before the target (``"last"``), the whole history before it
        (``"history"``: the model queries as ``recommend`` does and treats seen items as its
        scoring says), or ``"both"``. ``history_size`` is how many items of a history the model's
        query reads (``history=``, its old name, still works with a ``DeprecationWarning``: in
        ``recommend``, ``history`` is the list of items).

        Returns:
            ``sections`` (``"next-item"``: one row of metrics per method; ``"analogies"``,
            ``"pairs"``) and ``notes`` a person should read; shown as tables, and
            ``to_frame()`` gives one section as a DataFrame.
        """
        size = history_size_of(history_size, history)
        return report(evaluate_model(
            self._embeddings, test, corpus=self._corpus, ks=k, query=query, history=size, train=train,
            baselines=baselines, analogies=analogies, pairs=pairs, parts=self._scoring_parts(),
            scores=(score,) if isinstance(score, str) else tuple(score),
        ))  # fmt: skip

    # --- files and other tools -------------------------------------------------------------------

    @in_python_terms
    def save(self, path: PathLike, *, force: bool = False) -> Path:
        """Write the model directory the CLI reads (``item2vec similar PATH ...``), atomically.

        Raises:
            OutputExistsError: ``path`` holds a model and ``force`` is false, or holds other files.
        """
        target = Path(path)
        if self._source is not None:
            copy_model(self._source, target, self._embeddings.meta, force=force)
        else:
            save(self._embeddings, target, force=force, extra=self._extra, tables=self._tables,
                 transitions=self._transitions)  # fmt: skip
            self._embeddings.meta.update(read_meta(target))
        if (
            self._indexes
        ):  # built by index() in this session: stored beside the model, as `item2vec index` does
            tools.store_indexes(self._indexes, target, self._embeddings)
        self._source = target
        return target

    @in_python_terms
    def export(
        self,
        path: PathLike,
        format: str,
        *,
        force: bool = False,
        ids: Iterable[str] | None = None,
        normalize: bool | None = None,
        dtype: str = "float32",
        padding: bool = True,
    ) -> list[Path]:
        """Write the vectors for other tools, as ``item2vec export -f FORMAT -o PATH``.

        ``format`` is one of ``word2vec``, ``word2vec-binary``, ``npy``, ``parquet``,
        ``projector``, ``torch``, ``safetensors`` (``item2vec export --help`` says what each
        writes); ``ids`` exports only those items, in that order; ``normalize`` scales vectors
        to unit length (None: as the CLI, unit length for parquet, jsonl and faiss);
        ``dtype="float16"`` halves them; ``padding=False`` drops the torch and
        safetensors tables' zero row 0. An existing output is replaced only with ``force=True``.

        Returns:
            The paths written (``npy`` writes the vectors and an ``.ids.txt`` beside them).
        """
        from item2vec.export.formats import export

        return export(self._embeddings, format, Path(path), force=force, items=tools.check_export_items(ids),
                      normalize=normalize, dtype=dtype, padding=padding, model_dir=self._source)  # fmt: skip

    @in_python_terms
    def index(self, kind: str = "hnsw", *, check: int = 0, **params: Any) -> dict[str, Any]:
        """Build a Faiss index for ``approx=True`` searches, as ``item2vec index`` (faiss-cpu, the
        ``ann`` extra). ``kind``: ``flat`` (exact), ``hnsw``, ``lsh`` or ``ivfpq``; ``params`` are
        the CLI's options as keywords (``hnsw_m``, ``ef_construction``, ``ef_search``, ``bits``,
        ``lists``, ``probes``, ``pq_m``, ``rerank``, ``seed``). A model with output vectors gets
        a second index for ``score="next"``. The index is kept with the model, and written into
        its directory when it has one (now, or at :meth:`save`), where ``--approx`` reads it.

        Returns:
            A report: kind, items, dim, params, build_seconds, file (None before a save), next
            (whether the output vectors got one) and, with ``check=N``, recall@10 against exact
            search on N sampled items and single-query latency.
        """
        self._indexes = tools.build_indexes(self._scoring_parts(), tools.index_params(kind, check, params))
        if self._source is not None:
            tools.store_indexes(self._indexes, self._source, self._embeddings)
        return tools.index_report(self._indexes, self._embeddings, path=self._source, check=check)

    def to_keyed_vectors(self) -> Any:
        """A gensim ``KeyedVectors`` (ids, vectors, ``count``): what ``export -f word2vec`` writes."""
        return handover.keyed_vectors(self._embeddings)

    def to_frame(self) -> pd.DataFrame:
        """A pandas DataFrame: ``id``, ``name`` (None without one), ``count``, ``vector`` (arrays).

        Answers and evaluations have their own ``to_frame()``."""
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
