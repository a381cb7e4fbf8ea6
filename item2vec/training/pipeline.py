"""From input files to a saved model: read → corpus → train → save."""

from __future__ import annotations

import platform
import resource
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from item2vec.corpus.events import open_source
from item2vec.corpus.items import ItemsOptions, read_names
from item2vec.corpus.options import SessionOptions
from item2vec.corpus.packed import Corpus, CorpusStats, Packed
from item2vec.corpus.sequences import item_counts, load_corpus
from item2vec.errors import ConfigError, InputError
from item2vec.model.embeddings import Embeddings
from item2vec.model.modes import CALIBRATION_STEPS, TRANSITION_STEPS
from item2vec.model.store import check_output, save
from item2vec.training.config import (
    PRESETS,
    PROFILE_PRESETS,
    RARE_EVENTS,
    RARE_SHARE,
    TrainConfig,
    profile_min_count,
)
from item2vec.training.features import FeatureOptions, setup_features
from item2vec.training.gensim_engine import ProgressCallback, train
from item2vec.training.holdout import Calibrator, HeldOut, hold_out
from item2vec.training.spark_io import SparkOptions
from item2vec.training.summary import TrainSummary
from item2vec.training.transitions import build_for_model
from item2vec.training.walks import WalkOptions, walk_corpus
from item2vec.version import __version__

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from item2vec.model.transitions import TransitionMatrix


def run_training(
    inputs: list[str],
    *,
    output: Path,
    session: SessionOptions,
    overrides: dict[str, Any],
    preset: str | None = None,
    input_format: str | None = None,
    items: ItemsOptions | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
    stdin: BinaryIO | None = None,
    features: FeatureOptions | None = None,
    spark: SparkOptions | None = None,
    walks: WalkOptions | None = None,
    scoring: dict[str, Any] | None = None,
    calibrator: Calibrator | None = None,
) -> TrainSummary:
    """Train a model from ``inputs`` and save it atomically to ``output``.

    The preset defaults to ``text`` for text input and ``recsys`` otherwise; ``overrides``
    (None values ignored) win over it. ``spark`` trains with Spark instead (item2vec.training.spark_engine).
    ``scoring`` (score, hybrid_weight, hybrid_base) is recorded as the model's default scoring;
    without it, ``calibrator`` chooses one on held-out items (:func:`build_model`).
    """
    if spark is not None:
        from item2vec.training.spark_engine import run_spark_training

        if features is not None:
            raise ConfigError("--item-features is not supported with --engine spark: use --engine gensim")
        if walks is not None:
            raise ConfigError(
                f"--walks {walks.method} is not supported with --engine spark: use --engine gensim"
            )
        return run_spark_training(inputs, output=output, session=session, overrides=overrides, spark=spark,
                                  preset=preset, input_format=input_format, items=items, force=force)  # fmt: skip
    check_output(output, force=force)
    started = time.perf_counter()
    if inputs.count("-") > 1:
        raise InputError("'-' (stdin) can be given only once")
    # Importing gensim takes a second or more (it pulls in scipy); do it while pyarrow reads.
    engine = threading.Thread(target=_import_engine, daemon=True)
    engine.start()
    sources = [open_source(name, stdin) for name in inputs]
    corpus = load_corpus(sources, input_format, session)
    engine.join()
    chosen = preset or ("text" if corpus.stats.input_format == "text" else "recsys")
    config, profile = preset_config(chosen, overrides, corpus)
    names = read_names(items) if items else {}
    read_seconds = time.perf_counter() - started
    return train_and_save(
        corpus,
        config=config,
        input_extra=profile,
        output=output,
        session=session,
        names=names,
        read_seconds=read_seconds,
        force=force,
        progress=progress,
        features=features,
        walks=walks,
        scoring=scoring,
        calibrator=calibrator,
    )


def preset_config(
    chosen: str, overrides: dict[str, Any], corpus: Corpus
) -> tuple[TrainConfig, dict[str, Any] | None]:
    """The config of preset ``chosen`` with ``overrides``, and model.json's record of how its
    min-count was chosen: for the recsys preset without an explicit min-count, from the log's
    item-count profile (:func:`~item2vec.training.config.profile_min_count`); else None.
    """
    import numpy as np

    if chosen not in PROFILE_PRESETS or overrides.get("min_count") is not None:
        return TrainConfig.from_preset(chosen, **overrides), None
    data = corpus.data
    if isinstance(data, Packed):
        counts = data.counts()
    else:
        counts = np.fromiter(item_counts(data).values(), dtype=np.int64)
    min_count, share = profile_min_count(counts[counts > 0], PRESETS[chosen]["min_count"])
    record = {"rule": f"1 if items with < {RARE_EVENTS} events hold >= {RARE_SHARE:.0%} of events, else "
              f"{PRESETS[chosen]['min_count']}", "rare_event_share": round(share, 4), "min_count": min_count}  # fmt: skip
    return TrainConfig.from_preset(chosen, **{**overrides, "min_count": min_count}), {
        "min_count_profile": record
    }


def train_and_save(
    corpus: Corpus,
    *,
    config: TrainConfig,
    output: Path,
    session: SessionOptions,
    names: dict[str, str] | None = None,
    read_seconds: float = 0.0,
    force: bool = False,
    progress: ProgressCallback | None = None,
    input_extra: dict[str, Any] | None = None,
    features: FeatureOptions | None = None,
    walks: WalkOptions | None = None,
    scoring: dict[str, Any] | None = None,
    calibrator: Calibrator | None = None,
) -> TrainSummary:
    """Train on a corpus already read and save the model atomically to ``output``.

    ``input_extra`` adds fields to model.json's ``input`` record (``tune`` notes there that
    its second input is a validation file merged into the first). ``features`` adds item
    attributes to training and infers vectors for cold items (item2vec.training.features).
    The transitions of the corpus (not of walks or attribute sentences) are counted over the
    learned items and saved as transitions.npz; ``scoring`` becomes model.json's "scoring".
    """
    built = build_model(
        corpus, config=config, session=session, names=names, read_seconds=read_seconds, progress=progress,
        input_extra=input_extra, features=features, walks=walks, scoring=scoring, calibrator=calibrator,
    )  # fmt: skip
    save(built.embeddings, output, force=force, extra=built.extra, tables=built.tables,
         transitions=built.transitions)  # fmt: skip
    return built.summary(output)


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
        )


def build_model(
    corpus: Corpus,
    *,
    config: TrainConfig,
    session: SessionOptions,
    names: dict[str, str] | None = None,
    read_seconds: float = 0.0,
    progress: ProgressCallback | None = None,
    input_extra: dict[str, Any] | None = None,
    features: FeatureOptions | None = None,
    walks: WalkOptions | None = None,
    scoring: dict[str, Any] | None = None,
    calibrator: Calibrator | None = None,
) -> BuiltModel:
    """Train on a corpus and make the model in memory (:func:`train_and_save` without the save).

    ``scoring`` (score, hybrid_weight, hybrid_base) becomes model.json's "scoring". Without it,
    ``calibrator`` (item2vec.evaluation.calibrate) chooses one on held-out items
    (item2vec.training.holdout), where the run allows: model.json says what it measured and
    chose, or why it did not calibrate.
    """
    import numpy as np

    names = names or {}
    setup = setup_features(features, corpus.sequences) if features else None
    walked = (
        walk_corpus(corpus.sequences, walks, seed=config.seed) if walks else None
    )  # item2vec.training.walks
    sequences: list[list[str]] | Packed = corpus.data  # packed: streamed to gensim a block at a time
    if setup or walked:
        base = walked.sequences if walked else corpus.sequences
        sequences = setup.sequences(base) if setup else base
    recorded = checked_scoring(scoring or {})
    held: HeldOut | None = None
    calibration: dict[str, Any] | None = None
    if calibrator is not None and not recorded and corpus.stats.input_format != "text":
        why = _no_calibration(config, features=setup is not None, walks=walked is not None)
        found = hold_out(corpus.packed, seed=config.seed, window=config.window,
                         catalogue=_catalogue(corpus.packed, config)) if why is None else why  # fmt: skip
        if isinstance(found, str):
            calibration = {"calibration": {"skipped": found}}
        else:
            held, sequences = found, found.full

    def calibrate(
        ids: list[str], counts: list[int], vectors: NDArray[np.float32], output: NDArray[np.float32]
    ) -> None:
        nonlocal calibration
        assert held is not None and calibrator is not None
        started = time.perf_counter()
        embeddings = Embeddings(ids=ids, vectors=vectors, counts=np.asarray(counts, dtype=np.int64))
        counted = {steps: build_for_model(held.reduced, ids, steps=steps)[0] for steps in CALIBRATION_STEPS}
        calibration = calibrator(embeddings, output, counted, held)
        calibration["calibration"]["seconds"] = round(time.perf_counter() - started, 3)

    trained = train(sequences, config=config, progress=progress, held_out=held,
                    on_held_out=calibrate if held is not None else None)  # fmt: skip
    space = None
    if setup:
        trained, space = setup.split(trained)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    meta: dict[str, Any] = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "engine": "gensim",
        "versions": _versions(),
        "params": config.as_dict(),
        "input": {**corpus.stats.as_dict(), "session": session.as_record(), **(input_extra or {})},
        "training": {
            "read_seconds": round(read_seconds, 3),
            "train_seconds": round(trained.seconds, 3),
            "items_per_second": round(trained.items_per_second),
            "items_kept": len(trained.ids),
            "items_dropped": len(trained.dropped),
            "corpus_mode": trained.feed,
            "peak_rss_mb": round(peak, 1),
        },
    }
    if walked:
        meta["walks"] = walked.record
    steps = int((calibration or {}).get("transition_steps", TRANSITION_STEPS))
    transitions, counted = build_for_model(corpus.data, trained.ids, skip=space.inferred if space else (),
                                           steps=steps)  # fmt: skip
    meta["transitions"] = counted
    if recorded or calibration:
        meta["scoring"] = recorded or calibration
    kept = set(trained.ids)
    embeddings = Embeddings(
        ids=trained.ids,
        vectors=trained.vectors,
        counts=np.asarray(trained.counts, dtype=np.int64),
        names={k: v for k, v in names.items() if k in kept},
        meta=meta,
        dropped=trained.dropped,
    )
    if space:
        embeddings.meta["features"] = space.meta()
    return BuiltModel(
        embeddings=embeddings,
        extra={"syn1neg": trained.syn1neg, **(space.arrays() if space else {})},
        tables=space.tables() if space else None,
        transitions=transitions,
        stats=corpus.stats,
        config=config,
        read_seconds=read_seconds,
        train_seconds=trained.seconds,
        items_per_second=trained.items_per_second,
        peak_rss_mb=peak,
        inferred_items=len(space.inferred) if space else 0,
        feed=trained.feed,
        walks=walked.record if walked else None,
        transitions_record=counted,
        scoring_record=embeddings.meta.get("scoring"),
    )


def _no_calibration(config: TrainConfig, *, features: bool, walks: bool) -> str | None:
    """Why this run cannot hold items out to choose its scoring, or None (text is never calibrated:
    calibration is for recommending from event logs and sequences)."""
    if config.context != "window":
        return f"--context {config.context}: a basket has no last item to hold out"
    if features:
        return "--item-features: attribute sentences are not events to hold out"
    if walks:
        return "--walks: walks are not events to hold out"
    return None


def _catalogue(packed: Packed, config: TrainConfig) -> int:
    """About how many items the model will keep (what calibration ranks)."""
    kept = int((packed.counts() >= config.min_count).sum())
    return min(kept, config.max_vocab) if config.max_vocab else kept


def checked_scoring(scoring: dict[str, Any]) -> dict[str, Any]:
    """model.json's "scoring" record from ``train --score/--hybrid-weight/--hybrid-base`` (None: unset).

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
