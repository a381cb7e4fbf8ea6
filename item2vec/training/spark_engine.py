"""``train --engine spark``: sessionize in Spark, train Spark MLlib's Word2Vec, save a model dir.

Sessionizing follows item2vec.corpus.sequences with DataFrame window functions: events are ordered
by time (ties: input order, see item2vec.training.spark_io) within each user/session group, split on
``--session-gap``, consecutive repeats dropped, sessions shorter than ``--min-length`` dropped,
and sequences longer than Spark's ``maxSentenceLength`` cut into chunks (never truncated).

MLlib trains skip-gram with hierarchical softmax: negative sampling and its exponent, frequent
item down-sampling, ``--context set`` and ``--max-vocab`` have no Spark equivalent. Options the
user gave that Spark cannot honour raise ConfigError; preset defaults it cannot honour are
returned as one note. The model directory has the usual files and ``"engine": "spark"`` in
model.json, and no syn1neg.npy (hierarchical softmax has no negative-sampling weights).
"""

from __future__ import annotations

import platform
import resource
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.corpus.options import SessionOptions
from item2vec.corpus.packed import CorpusStats
from item2vec.corpus.sequences import empty_message
from item2vec.errors import Bare, ConfigError, EmptyResultError, param
from item2vec.training.config import TrainConfig
from item2vec.training.gensim_engine import all_below_message
from item2vec.training.spark_io import FILE, ROW, TIME, SparkOptions, read_events, spark_session
from item2vec.version import __version__

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from pyspark.sql import DataFrame

    from item2vec.corpus.items import ItemsOptions
    from item2vec.training.summary import TrainSummary

# Spark's default maxSentenceLength; longer sequences are split into chunks of this size.
MAX_SENTENCE = 1000
ITEMS = "__items"
# Options with no Spark MLlib equivalent, and why; "context" only for its value "set".
UNSUPPORTED = {
    "negative": "Spark trains with hierarchical softmax, not negative sampling",
    "ns_exponent": "Spark trains with hierarchical softmax, not negative sampling",
    "sample": "Spark's Word2Vec has no down-sampling of frequent items",
    "max_vocab": "Spark's Word2Vec caps the vocabulary only by its minimum count",
    "context": "Spark's Word2Vec has only the ordered window context",
}
# TrainConfig fields that do not apply to Spark, left out of model.json's params.
_NOT_SPARK = ("negative", "ns_exponent", "sample", "max_vocab", "workers")


@dataclass
class SparkCorpus:
    """Sessionized sequences as a DataFrame (one array column, ``__items``) and their statistics."""

    sequences: DataFrame
    stats: CorpusStats


def check_options(config: TrainConfig, explicit: set[str]) -> list[str]:
    """What Spark cannot honour: raise for options the user gave, return notes for preset defaults.

    Args:
        config: the resolved training parameters.
        explicit: names (underscored) of the parameters given by flag or ``--config``.

    Raises:
        ConfigError: an explicit option has no Spark equivalent (``--context window`` is fine).
    """
    for name, why in UNSUPPORTED.items():
        if name in explicit and (name != "context" or config.context == "set"):
            value = getattr(config, name)
            raise ConfigError(
                f"{param(name, Bare(str(value)))} is not supported with {param('engine', Bare('spark'))} "
                f"({why}): drop it or use {param('engine', Bare('gensim'))}",
                param=name,
                value=value,
                fix=f"drop it or use {param('engine', Bare('gensim'))}",
            )
    notes = []
    ignored = [n for n in ("negative", "ns_exponent", "sample") if n not in explicit]
    if ignored:
        values = ", ".join(f"{n.replace('_', '-')} {getattr(config, n)}" for n in ignored)
        notes.append(
            f"{param('engine', Bare('spark'))} trains skip-gram with hierarchical softmax: the "
            f"{config.preset} preset's {values} do not apply"
        )
    if "workers" in explicit:
        notes.append(
            f"{param('workers')} does not apply to {param('engine', Bare('spark'))}: set "
            f"{param('spark_partitions')} and the master's cores"
        )
    return notes


def spark_notes(preset: str | None, overrides: dict[str, Any]) -> str | None:
    """One line on what ``--engine spark`` cannot honour, or None (``check_options`` for the CLI).

    Raises:
        ConfigError: an explicit option has no Spark equivalent.
    """
    config = TrainConfig.from_preset(preset or "recsys", **overrides)
    notes = check_options(config, {k for k, v in overrides.items() if v is not None})
    return "; ".join(notes) or None


def sessionize(events: DataFrame, options: SessionOptions, stats: CorpusStats) -> SparkCorpus:
    """Group events into ordered sessions, as item2vec.corpus.sequences.sessionize does, in Spark.

    ``events`` has the group columns, the item column, ``__time`` (with --time-col), ``__file``
    and ``__row``. The result is cached; call ``unpersist`` on it when done.

    Raises:
        EmptyResultError: no sequence is left; the message names the step that removed them.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    groups = [F.col(c) for c in options.group_cols] or [F.lit(0)]
    order = [F.col(c) for c in ((TIME,) if options.time_col else ())] + [F.col(FILE), F.col(ROW)]
    by_group = Window.partitionBy(*groups).orderBy(*order)
    if options.session_gap is not None:
        previous = F.lag(TIME).over(by_group)
        starts = (previous.isNull() | ((F.col(TIME) - previous) > F.lit(options.session_gap))).cast("long")
        running = by_group.rowsBetween(Window.unboundedPreceding, Window.currentRow)
        events = events.withColumn("__session", F.sum(starts).over(running))
    else:
        events = events.withColumn("__session", F.lit(0))
    by_session = Window.partitionBy(*groups, F.col("__session")).orderBy(*order)
    item = F.col(options.item_col)
    repeat = (
        F.coalesce(F.lag(item).over(by_session) == item, F.lit(False))
        if options.drop_repeats
        else F.lit(False)
    )
    events = events.withColumn("__repeat", repeat)
    kept = F.when(~F.col("__repeat"), F.struct(*order, item.alias("item")))
    sessions = events.groupBy(*groups, F.col("__session")).agg(
        F.transform(F.sort_array(F.collect_list(kept)), lambda x: x["item"]).alias(ITEMS),
        F.sum(F.col("__repeat").cast("long")).alias("__repeats"),
    )
    sessions = sessions.select(ITEMS, "__repeats").persist()
    _session_stats(sessions, options.min_length, stats)
    if not stats.sessions:
        sessions.unpersist()
        raise EmptyResultError(empty_message(stats, options.min_length))
    long_enough = sessions.filter(F.size(ITEMS) >= options.min_length).select(ITEMS)
    return SparkCorpus(split_long(long_enough, MAX_SENTENCE), stats)


def _session_stats(sessions: DataFrame, min_length: int, stats: CorpusStats) -> None:
    from pyspark.sql import functions as F

    size = F.size(ITEMS)
    short = size < F.lit(min_length)
    row = sessions.agg(
        F.sum("__repeats").alias("repeats"),
        F.sum(short.cast("long")).alias("short"),
        F.sum(F.when(short, size).otherwise(0)).alias("short_items"),
        F.sum((~short).cast("long")).alias("sessions"),
        F.sum(F.when(~short, size).otherwise(0)).alias("tokens"),
    ).first()
    assert row is not None  # an aggregate always has one row
    stats.drop("consecutive repeats", int(row["repeats"] or 0))
    stats.sessions_dropped_short += int(row["short"] or 0)
    stats.drop("short sessions", int(row["short_items"] or 0))
    stats.sessions = int(row["sessions"] or 0)
    stats.tokens = int(row["tokens"] or 0)


def split_long(sequences: DataFrame, length: int) -> DataFrame:
    """Cut every ``__items`` array longer than ``length`` into consecutive chunks of ``length``."""
    from pyspark.sql import functions as F

    chunks = F.sequence(F.lit(0), F.floor((F.size(ITEMS) - 1) / F.lit(length)).cast("int"))
    sliced = F.transform(chunks, lambda i: F.slice(F.col(ITEMS), i * length + 1, F.lit(length)))
    return sequences.select(F.explode(sliced).alias(ITEMS))


def spark_corpus(
    inputs: list[str], fmt: str | None, session: SessionOptions, spark: SparkOptions
) -> SparkCorpus:
    """Read ``inputs`` with Spark and sessionize them (the corpus stays in Spark)."""
    active = spark_session(spark)
    read = read_events(active, inputs, fmt, session)
    try:
        return sessionize(read.events, session, read.stats)
    finally:
        read.cached.unpersist()


@dataclass
class SparkTrained:
    """Spark's model, streamed to the driver: ids by falling count, counts, vectors, dropped."""

    ids: list[str]
    counts: NDArray[np.int64]
    vectors: NDArray[np.float32]
    dropped: dict[str, int]
    seconds: float


def train_spark(corpus: SparkCorpus, *, config: TrainConfig, spark: SparkOptions) -> SparkTrained:
    """Fit MLlib's Word2Vec and stream its vectors into one preallocated float32 array.

    Raises:
        EmptyResultError: every item is below ``--min-count``.
    """
    from pyspark.sql import functions as F

    counts = corpus.sequences.select(F.explode(ITEMS).alias("word")).groupBy("word").count().persist()
    try:
        return _fit(corpus, counts, config=config, spark=spark)
    finally:
        counts.unpersist()


def _fit(corpus: SparkCorpus, counts: DataFrame, *, config: TrainConfig, spark: SparkOptions) -> SparkTrained:
    import numpy as np
    from pyspark.ml.feature import Word2Vec
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    frequent = F.col("count") >= F.lit(config.min_count)
    kept = counts.filter(frequent).count()
    dropped = {r["word"]: int(r["count"]) for r in counts.filter(~frequent).toLocalIterator()}
    if not kept:
        raise EmptyResultError(all_below_message(dropped, config.min_count))
    model = Word2Vec(
        **config.mllib_params(),
        numPartitions=spark.partitions,
        maxSentenceLength=MAX_SENTENCE,
        inputCol=ITEMS,
    )
    started = time.perf_counter()
    fitted = model.fit(corpus.sequences)
    seconds = time.perf_counter() - started
    table = fitted.getVectors().join(counts, "word").orderBy(F.desc("count"), F.asc("word"))
    rows = table.select("word", "count", vector_to_array(F.col("vector"), "float32").alias("v"))
    ids: list[str] = []
    item_counts = np.empty(kept, dtype=np.int64)
    vectors = np.empty((kept, config.dim), dtype=np.float32)
    for number, row in enumerate(rows.toLocalIterator()):
        ids.append(row["word"])
        item_counts[number] = row["count"]
        vectors[number] = row["v"]
    return SparkTrained(ids, item_counts[: len(ids)], vectors[: len(ids)], dropped, seconds)


def run_spark_training(
    inputs: list[str],
    *,
    output: Path,
    session: SessionOptions,
    overrides: dict[str, Any],
    spark: SparkOptions,
    preset: str | None = None,
    input_format: str | None = None,
    items: ItemsOptions | None = None,
    force: bool = False,
) -> TrainSummary:
    """``train --engine spark``: read and sessionize in Spark, fit MLlib Word2Vec, save ``output``.

    Raises:
        ConfigError: an explicit option Spark cannot honour (see ``check_options``).
    """
    from item2vec.corpus.items import read_names
    from item2vec.model.store import check_output
    from item2vec.training.summary import TrainSummary

    check_output(output, force=force)
    config = TrainConfig.from_preset(preset or "recsys", **overrides)
    check_options(config, {k for k, v in overrides.items() if v is not None})
    started = time.perf_counter()
    corpus = spark_corpus(inputs, input_format, session, spark)
    try:
        names = read_names(items) if items else {}
        read_seconds = time.perf_counter() - started
        trained = train_spark(corpus, config=config, spark=spark)
    finally:
        corpus.sequences.unpersist()
    _save(trained, corpus.stats, config=config, session=session, spark=spark, names=names,
          output=output, force=force, read_seconds=read_seconds)  # fmt: skip
    rate = corpus.stats.tokens * config.epochs / trained.seconds if trained.seconds > 0 else 0.0
    return TrainSummary(
        stats=corpus.stats,
        config=config,
        items_kept=len(trained.ids),
        items_dropped=len(trained.dropped),
        named_items=len(set(names) & set(trained.ids)),
        read_seconds=read_seconds,
        train_seconds=trained.seconds,
        items_per_second=rate,
        peak_rss_mb=_peak_mb(),
        output=output,
        feed="spark",
    )


def _save(
    trained: SparkTrained,
    stats: CorpusStats,
    *,
    config: TrainConfig,
    session: SessionOptions,
    spark: SparkOptions,
    names: dict[str, str],
    output: Path,
    force: bool,
    read_seconds: float,
) -> None:
    from item2vec.model.embeddings import Embeddings
    from item2vec.model.store import save

    kept = set(trained.ids)
    meta = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "engine": "spark",
        "versions": _versions(),
        "params": {k: v for k, v in config.as_dict().items() if k not in _NOT_SPARK},
        "spark": {**spark.as_dict(), "max_sentence_length": MAX_SENTENCE, "loss": "hierarchical softmax"},
        "input": {**stats.as_dict(), "session": session.as_record()},
        "training": {
            "read_seconds": round(read_seconds, 3),
            "train_seconds": round(trained.seconds, 3),
            "items_kept": len(trained.ids),
            "items_dropped": len(trained.dropped),
            "peak_rss_mb": round(_peak_mb(), 1),
        },
    }
    embeddings = Embeddings(
        ids=trained.ids,
        vectors=trained.vectors,
        counts=trained.counts,
        names={k: v for k, v in names.items() if k in kept},
        meta=meta,
        dropped=trained.dropped,
    )
    save(embeddings, output, force=force)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _versions() -> dict[str, str]:
    import numpy
    import pyspark

    return {
        "item2vec": __version__,
        "pyspark": pyspark.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "platform": sys.platform,
    }
