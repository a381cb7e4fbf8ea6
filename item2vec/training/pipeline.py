"""From input files to a saved model: read → corpus → train → save.

The one orchestration layer of training: ``item2vec train`` (:mod:`item2vec.cli.training`) calls
:func:`run_training`, ``item2vec.train`` (:mod:`item2vec.api.training`) reads its data and calls
:func:`build_model`, ``tune`` calls :func:`train_and_save`; each hands over one
:class:`~item2vec.training.requests.TrainRequest`.
"""

from __future__ import annotations

import platform
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from item2vec.corpus.events import open_source
from item2vec.corpus.items import read_names
from item2vec.corpus.packed import Corpus, CorpusStats, Packed
from item2vec.corpus.sequences import load_corpus
from item2vec.errors import InputError
from item2vec.model.embeddings import Embeddings
from item2vec.model.identity import with_input_digests
from item2vec.model.modes import TRANSITION_DIRECTION, TRANSITION_STEPS
from item2vec.model.store import check_output, save
from item2vec.training.background import InThread
from item2vec.training.build_transitions import build_for_model
from item2vec.training.config import (
    TrainConfig,
)
from item2vec.training.features import setup_features
from item2vec.training.gensim_engine import ProgressCallback, Trained, train
from item2vec.training.holdout import Calibrator, HeldOut, hold_out
from item2vec.training.memory import peak_rss_mb
from item2vec.training.requests import TrainRequest
from item2vec.training.summary import TrainSummary
from item2vec.training.walks import walk_corpus
from item2vec.version import __version__

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from item2vec.corpus.options import SessionOptions
    from item2vec.model.transitions import TransitionMatrix


@dataclass(frozen=True)
class ReadInput:
    """A corpus read for training, and what model.json records about the reading.

    ``names`` are item names (ids outside the model are dropped); ``extra`` adds fields to
    model.json's ``input`` record (``tune`` notes there that its second input is a validation file
    merged into the first).
    """

    corpus: Corpus
    names: Mapping[str, str] = field(default_factory=dict)
    read_seconds: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)


def run_training(
    inputs: list[str],
    *,
    request: TrainRequest,
    output: Path,
    force: bool = False,
    progress: ProgressCallback | None = None,
    stdin: BinaryIO | None = None,
) -> TrainSummary:
    """Train a model from ``inputs`` (files; ``-``: ``stdin``) and save it atomically to ``output``.

    ``request.spark`` trains with Spark instead (:mod:`item2vec.training.spark_engine`).
    """
    if request.spark is not None:
        from item2vec.training.spark_engine import run_spark_training

        return run_spark_training(inputs, output=output, session=request.session, overrides=request.overrides(),
                                  spark=request.spark, preset=request.preset, input_format=request.input_format,
                                  items=request.items, force=force)  # fmt: skip
    check_output(output, force=force)
    started = time.perf_counter()
    if inputs.count("-") > 1:
        raise InputError("'-' (stdin) can be given only once")
    # Importing gensim takes a second or more (it pulls in scipy); do it while pyarrow reads.
    engine = threading.Thread(target=_import_engine, daemon=True)
    engine.start()
    sources = [open_source(name, stdin) for name in inputs]
    corpus = load_corpus(sources, request.input_format, request.session)
    engine.join()
    names = read_names(request.items) if request.items else {}
    read = ReadInput(corpus, names, time.perf_counter() - started)
    return train_and_save(read, request=request, output=output, force=force, progress=progress)


def train_and_save(
    read: ReadInput,
    *,
    request: TrainRequest,
    output: Path,
    force: bool = False,
    progress: ProgressCallback | None = None,
) -> TrainSummary:
    """Train on a corpus already read and save the model atomically to ``output`` (:func:`build_model`)."""
    built = build_model(read, request=request, progress=progress)
    save(built.embeddings, output, force=force, extra=built.extra, tables=built.tables,
         transitions=built.transitions)  # fmt: skip
    return built.summary(output)


def resolve_config(request: TrainRequest, corpus: Corpus) -> tuple[TrainConfig, dict[str, Any]]:
    """The run's parameters once its input is read (the preset is the request's, else ``text`` for
    text input and ``recsys`` otherwise), and what model.json's ``input`` record adds of them."""
    chosen = request.preset or ("text" if corpus.stats.input_format == "text" else "recsys")
    return request.config_for(chosen), {}


@dataclass
class BuiltModel:
    """A trained model in memory: what ``save`` writes, and what the run did."""

    embeddings: Embeddings
    extra: dict[str, NDArray[np.float32]]  # syn1neg and feature arrays, saved as NAME.npy
    tables: dict[str, tuple[tuple[str, str], list[tuple[Any, Any]]]] | None
    transitions: TransitionMatrix | None  # saved as transitions.npz
    stats: CorpusStats
    config: TrainConfig
    read_seconds: float
    train_seconds: float
    items_per_second: float
    peak_rss_mb: float
    inferred_items: int = 0
    feed: str = "stream"
    walks: dict[str, Any] | None = None
    transitions_record: dict[str, Any] | None = None  # model.json's "transitions"
    scoring_record: dict[str, Any] | None = None  # model.json's "scoring"
    search_record: dict[str, Any] | None = None  # model.json's "search" (a small log's trials)

    def summary(self, output: Path) -> TrainSummary:
        """The run's summary, once saved to ``output``."""
        return TrainSummary(
            stats=self.stats,
            config=self.config,
            items_kept=len(self.embeddings),
            items_dropped=len(self.embeddings.dropped),
            named_items=len(self.embeddings.names),
            read_seconds=self.read_seconds,
            train_seconds=self.train_seconds,
            items_per_second=self.items_per_second,
            peak_rss_mb=self.peak_rss_mb,
            output=output,
            inferred_items=self.inferred_items,
            feed=self.feed,
            walks=self.walks,
            transitions=self.transitions_record,
            scoring=self.scoring_record,
            search=self.search_record,
        )


def build_model(
    read: ReadInput, *, request: TrainRequest, progress: ProgressCallback | None = None
) -> BuiltModel:
    """Train on a corpus and make the model in memory (:func:`train_and_save` without the save).

    ``request.features`` adds item attributes to training and infers vectors for cold items
    (:mod:`item2vec.training.features`); ``request.walks`` trains on random walks. The transitions
    of the corpus (not of walks or attribute sentences) are counted over the learned items and
    saved as transitions.npz. ``request.scoring`` becomes model.json's "scoring"; without it,
    ``request.calibrator`` chooses one on held-out items (:mod:`item2vec.training.holdout`) where
    the run allows: model.json says what it measured and chose, or why it did not calibrate.
    """
    import numpy as np

    corpus = read.corpus
    config, profile = resolve_config(request, corpus)
    setup = setup_features(request.features, corpus.sequences) if request.features else None
    walked = walk_corpus(corpus.sequences, request.walks, seed=config.seed) if request.walks else None
    sequences: list[list[str]] | Packed = corpus.data  # packed: streamed to gensim a block at a time
    if setup or walked:
        base = walked.sequences if walked else corpus.sequences
        sequences = setup.sequences(base) if setup else base
    recorded = checked_scoring(request.scoring or {})
    calibration = _Calibration(request.calibrator, fixed=recorded or None)
    if request.calibrator is not None and corpus.stats.input_format != "text":  # a given mode: its history
        sequences = calibration.hold_out(corpus.packed, config, features=setup is not None, walks=walked is not None,
                                         sequences=sequences)  # fmt: skip
    elif request.calibration_asked and not recorded:  # text: trained for similar and analogy, not recommend
        calibration.record = {"calibration": {"skipped": "text: calibration is for event logs and sequences"}}
    trained, config, searched = _small_log_search(calibration, request, config, corpus, progress,
                                                  plain=setup is None and walked is None)  # fmt: skip
    if trained is None:
        trained = _train(calibration, sequences, config, progress)
    space = None
    if setup:
        trained, space = setup.split(trained)
    meta = _meta(read, request.session, config, trained, input_extra=profile)
    if searched:
        meta["search"] = searched
    if walked:
        meta["walks"] = walked.record
    chosen = calibration.record or {}
    steps = int(chosen.get("transition_steps", TRANSITION_STEPS))
    # baskets (context set) have no order to keep: their transitions count both ways
    direction = str(
        chosen.get("transition_direction", "both" if config.context == "set" else TRANSITION_DIRECTION)
    )
    transitions, counted = build_for_model(corpus.data, trained.ids, skip=space.inferred if space else (),
                                           steps=steps, direction=direction)  # fmt: skip
    meta["transitions"] = counted
    peak = meta["training"]["peak_rss_mb"] = round(peak_rss_mb(), 1)  # after the last stage: the true peak
    if calibration.record and "score" in calibration.record:
        meta["scoring"] = calibration.record  # calibrated, or the mode given with its history calibrated
    elif recorded or calibration.record:
        meta["scoring"] = {**recorded, **(calibration.record or {})} if recorded else calibration.record
    kept = set(trained.ids)
    embeddings = Embeddings(ids=trained.ids, vectors=trained.vectors, counts=np.asarray(trained.counts, dtype=np.int64),
                            names={k: v for k, v in read.names.items() if k in kept}, meta=meta,
                            dropped=trained.dropped)  # fmt: skip
    if space:
        embeddings.meta["features"] = space.meta()
    return BuiltModel(
        embeddings=embeddings, extra={"syn1neg": trained.syn1neg, **(space.arrays() if space else {})},
        tables=space.tables() if space else None, transitions=transitions, stats=corpus.stats, config=config,
        read_seconds=read.read_seconds, train_seconds=trained.seconds, items_per_second=trained.items_per_second,
        peak_rss_mb=peak, inferred_items=len(space.inferred) if space else 0, feed=trained.feed,
        walks=walked.record if walked else None, transitions_record=counted,
        scoring_record=embeddings.meta.get("scoring"), search_record=searched,
    )  # fmt: skip


def _train(
    calibration: _Calibration,
    sequences: list[list[str]] | Packed,
    config: TrainConfig,
    progress: ProgressCallback | None,
) -> Trained:
    """gensim's training; with held-out items, their transitions are counted in a thread while
    gensim trains, and the scoring is chosen on them before they are trained in."""
    if calibration.held is None:
        return train(sequences, config=config, progress=progress)
    try:
        return train(sequences, config=config, progress=progress, held_out=calibration.held,
                     on_held_out=calibration.choose, on_vocabulary=calibration.start_counting)  # fmt: skip
    finally:
        calibration.stop_counting()


def _small_log_search(
    calibration: _Calibration,
    request: TrainRequest,
    config: TrainConfig,
    corpus: Corpus,
    progress: ProgressCallback | None,
    *,
    plain: bool,
) -> tuple[Trained | None, TrainConfig, dict[str, Any] | None]:
    """On a small log, the kept trial's training, its parameters and model.json's "search"
    (:mod:`item2vec.training.small_log`), calibration chosen on it; else (None, ``config``, the
    reason it did not search, or None where it could not: no held-out items or no judge)."""
    from item2vec.training.small_log import search, why_not

    held = calibration.held
    if held is None or request.judge is None or not plain:
        return None, config, None
    why = why_not(config, request.given, held.full.tokens)
    if why is not None:
        return None, config, {"skipped": why}
    kept, record = search(held, config, request.given, request.judge, progress=progress)
    calibration.choose(*kept.seen)
    return kept.trained, kept.config, record


class _Calibration:
    """Items held out of a run and the scoring its calibrator chooses on them (model.json's "scoring")."""

    def __init__(self, calibrator: Calibrator | None, *, fixed: Mapping[str, Any] | None = None) -> None:
        self.calibrator = calibrator
        self.fixed = fixed  # a scoring the caller gave: its mode is kept, its history calibrated
        self.held: HeldOut | None = None
        self.record: dict[str, Any] | None = None
        self.background: InThread[dict[tuple[int, str], TransitionMatrix]] | None = None

    def hold_out(
        self,
        packed: Packed,
        config: TrainConfig,
        *,
        features: bool,
        walks: bool,
        sequences: list[list[str]] | Packed,
    ) -> list[list[str]] | Packed:
        """The sequences to train on: the whole corpus, whose held-out items train last; ``sequences``
        (with the reason recorded) when the run cannot hold items out."""
        why = _no_calibration(config, features=features, walks=walks)
        found = hold_out(packed, seed=config.seed, window=config.window,
                         catalogue=_catalogue(packed, config)) if why is None else why  # fmt: skip
        if isinstance(found, str):
            self.record = {"calibration": {"skipped": found}}
            return sequences
        self.held = found
        return found.full

    def choose(
        self, ids: list[str], counts: list[int], vectors: NDArray[np.float32], output: NDArray[np.float32]
    ) -> None:
        """The engine's held-out callback: rank the held-out items and record the chosen scoring."""
        import numpy as np

        assert self.held is not None and self.calibrator is not None
        started = time.perf_counter()
        embeddings = Embeddings(ids=ids, vectors=vectors, counts=np.asarray(counts, dtype=np.int64))
        # counted while gensim trained, for these ids (waited for, if need be); else now (small-log trials)
        counted = self.background.result() if self.background is not None else self._transitions(ids)
        self.background = None
        self.record = self.calibrator(embeddings, output, counted, self.held, fixed=self.fixed)
        self.record["calibration"]["seconds"] = round(time.perf_counter() - started, 3)

    def start_counting(self, ids: list[str]) -> None:
        """The engine's vocabulary callback: count the held-out corpus's transitions (over the
        model's items ``ids``) in a thread while gensim trains; :meth:`choose` takes them."""
        self.background = InThread(
            lambda stop: self._transitions(ids, stop), name="item2vec-held-out-transitions"
        )

    def stop_counting(self) -> None:
        """Stop a count :meth:`choose` did not take (training failed or was interrupted), and wait for it."""
        if self.background is not None:
            self.background.cancel()
            self.background = None

    def _transitions(
        self, ids: list[str], stop: threading.Event | None = None
    ) -> dict[tuple[int, str], TransitionMatrix]:
        """The reduced corpus's transitions at the rows the held-out cases read: their query
        items, and the items their whole histories query with."""
        assert self.held is not None
        return self.held.transitions(ids, also=self.held.history_items(len(ids)), stop=stop)


def _meta(
    read: ReadInput,
    session: SessionOptions,
    config: TrainConfig,
    trained: Trained,
    *,
    input_extra: Mapping[str, Any],
) -> dict[str, Any]:
    """model.json's record of the run (walks, transitions, the peak memory, scoring and features are
    added after)."""
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "engine": "gensim",
        "versions": _versions(),
        "params": config.as_dict(),
        "input": with_input_digests(
            {**read.corpus.stats.as_dict(), "session": session.as_record(), **input_extra, **read.extra}
        ),
        "training": {
            "read_seconds": round(read.read_seconds, 3),
            "train_seconds": round(trained.seconds, 3),
            "items_per_second": round(trained.items_per_second),
            "items_kept": len(trained.ids),
            "items_dropped": len(trained.dropped),
            "corpus_mode": trained.feed,
        },
    }


def _no_calibration(config: TrainConfig, *, features: bool, walks: bool) -> str | None:
    """Why this run cannot hold items out to choose its scoring, or None (text is never calibrated:
    calibration is for recommending from event logs and sequences). The words go into model.json
    and the summary as they are, so they name what the run is, not a flag."""
    if config.context != "window":
        return f"context {config.context}: a basket has no last item to hold out"
    if features:
        return "item features: attribute sentences are not events to hold out"
    if walks:
        return "walks: walks are not events to hold out"
    return None


def _catalogue(packed: Packed, config: TrainConfig) -> int:
    """About how many items the model will keep (what calibration ranks)."""
    kept = int((packed.counts() >= config.min_count).sum())
    return min(kept, config.max_vocab) if config.max_vocab else kept


def checked_scoring(scoring: Mapping[str, Any]) -> dict[str, Any]:
    """model.json's "scoring" record from a request's score, hybrid_weight and hybrid_base (None: unset).

    Raises:
        ConfigError: an unknown mode or base, or a bad weight.
    """
    from item2vec.model.modes import check_hybrid, check_score

    record = {k: v for k, v in scoring.items() if v is not None}
    if "score" in record:
        check_score(record["score"])
    check_hybrid(record.get("hybrid_weight", 0.0), record.get("hybrid_base", "similar"))
    return record


def _import_engine() -> None:
    import gensim.models  # noqa: F401


def _versions() -> dict[str, str]:
    import gensim
    import numpy

    return {
        "item2vec": __version__,
        "gensim": gensim.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "platform": sys.platform,
    }
