"""Spark's side of reading: the session, event tables as string columns, times as seconds.

Everything here runs in Spark: inputs are read by Spark itself (local paths or any URI it
understands: ``hdfs://``, ``s3a://``, ``gs://``…) and nothing is collected to the driver except
a few aggregates. The semantics follow item2vec.corpus.events and item2vec.corpus.sequences: every column is a
string, empty cells are missing, ``--where`` filters, rows without an id are dropped, and times
are epoch seconds, epoch milliseconds (a file whose largest value is above 1e11) or ISO 8601.

Row order: each input gets ``__file`` (its position on the command line) and ``__row``
(``monotonically_increasing_id``, which follows the order of a file's splits and so of its rows).
Sessionizing orders events by time, then ``__file``, then ``__row``: ties in time keep input
order, as the stable sort of the local path does. One input that is a directory or a glob of
several files is one DataFrame: its files' ties follow Spark's split order (by size), so give
files that can tie in time as separate inputs when that order matters.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from item2vec.corpus.events import EXTENSIONS
from item2vec.corpus.options import SessionOptions, Where
from item2vec.corpus.packed import CorpusStats
from item2vec.errors import Bare, ConfigError, InputError, MissingColumnsError, param
from item2vec.extras import require

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, Row, SparkSession

SPARK_FORMATS = ("csv", "tsv", "parquet", "jsonl")
TIME = "__time"
FILE = "__file"
ROW = "__row"
# Epoch milliseconds are larger than any plausible epoch second (1e11 s is year 5138).
_MS_THRESHOLD = 1e11
_SHUFFLE = "spark.sql.shuffle.partitions"


@dataclass(frozen=True)
class SparkOptions:
    """Where and how Spark runs: ``--spark-master``, ``--spark-conf``, ``--spark-partitions``."""

    master: str | None = None
    conf: tuple[tuple[str, str], ...] = ()
    partitions: int = 1
    quiet: bool = False  # -q: Spark's logging and progress bars kept off stderr (not in model.json)

    def __post_init__(self) -> None:
        if self.partitions < 1:
            raise ConfigError(param="spark_partitions", value=self.partitions, expected="1 or more")

    @staticmethod
    def parse_conf(pairs: tuple[str, ...] | list[str]) -> tuple[tuple[str, str], ...]:
        """``KEY=VALUE`` strings → pairs.

        Raises:
            ConfigError: an item has no ``=`` or an empty key.
        """
        parsed: list[tuple[str, str]] = []
        for text in pairs:
            key, sep, value = text.partition("=")
            if not sep or not key.strip():
                raise ConfigError(
                    param="spark_conf", value=text, expected="KEY=VALUE, e.g. spark.executor.memory=4g"
                )
            parsed.append((key.strip(), value))
        return tuple(parsed)

    def as_dict(self) -> dict[str, object]:
        """Plain values, for model.json."""
        return {"master": self.master, "conf": dict(self.conf), "partitions": self.partitions}


@dataclass
class SparkInput:
    """The filtered events of every input, with typed time, and what filtering dropped.

    ``cached`` is the persisted raw rows under ``events``: unpersist it once they are used.
    """

    events: DataFrame
    cached: DataFrame
    stats: CorpusStats = field(default_factory=CorpusStats)


def spark_session(options: SparkOptions) -> SparkSession:
    """The active SparkSession, or a new one with ``options`` (session time zone UTC).

    Without ``--spark-master`` the master is the one ``spark-submit`` gives, else ``local[*]``.
    """
    require("pyspark", param("engine", Bare("spark")))
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("item2vec")
    master = options.master
    if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        master = "local[*]"
    if master is not None:
        builder = builder.master(master)
    for key, value in options.conf:
        builder = builder.config(key, value)
    spark = _quiet_start(builder) if options.quiet else builder.getOrCreate()
    # Naive ISO times are UTC, as in the local path.
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    given = {key for key, _ in options.conf}
    if (spark.sparkContext.master or "").startswith("local") and _SHUFFLE not in given:
        # 200 shuffle partitions (Spark's default, sized for clusters) cost minutes in local mode.
        spark.conf.set(_SHUFFLE, str(2 * spark.sparkContext.defaultParallelism))
    return spark


def _quiet_start(builder: Any) -> SparkSession:
    """Start Spark with nothing on stderr: the JVM it launches writes its stderr to a temporary file.

    log4j's warnings, the JVM's own notes and native libraries' messages all go to the JVM's
    stderr, so they are kept out at the source; the file is copied to stderr if Spark fails to
    start. An already running JVM (spark-submit) only has its log level lowered to ERROR.
    """
    import logging
    import tempfile
    import warnings

    logging.getLogger("py4j").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    with tempfile.TemporaryFile() as log:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)
        try:
            spark: SparkSession = builder.getOrCreate()
        except BaseException:
            os.dup2(saved, 2)
            log.seek(0)
            sys.stderr.write(log.read().decode("utf-8", errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def spark_format(name: str, fmt: str | None) -> str:
    """The table format of one input: ``--input-format`` or the extension (``.gz`` allowed).

    Raises:
        InputError: the format is not a table format or cannot be told from the name.
    """
    if name == "-":
        raise InputError(
            f"'-' (stdin) cannot be read with {param('engine', Bare('spark'))}: give paths or URIs Spark can read",
            value="-",
            expected="paths or URIs Spark can read",
        )
    if fmt is None:
        suffixes = [s.lower() for s in PurePosixPath(name.rstrip("/")).suffixes]
        if suffixes and suffixes[-1] in (".gz", ".bz2", ".snappy", ".zst"):
            suffixes.pop()
        fmt = EXTENSIONS.get(suffixes[-1]) if suffixes else None
        if fmt is None:
            raise InputError(
                f"input {name!r}: cannot tell its format from the name: "
                f"give {param('input_format', Bare('|'.join(SPARK_FORMATS)))}",
                param="input_format",
                expected="|".join(SPARK_FORMATS),
            )
    if fmt not in SPARK_FORMATS:
        raise InputError(
            f"{param('input_format', Bare(fmt))} is not supported with {param('engine', Bare('spark'))}: "
            f"give an event table ({', '.join(SPARK_FORMATS)})",
            param="input_format",
            value=fmt,
            expected=", ".join(SPARK_FORMATS),
        )
    return fmt


def read_events(
    spark: SparkSession, inputs: list[str], fmt: str | None, options: SessionOptions
) -> SparkInput:
    """Read every input, apply ``--where`` and drop rows without ids or times.

    Raises:
        InputError: a missing column (the message lists those that exist), an unreadable input,
            or a time that is not epoch seconds/milliseconds or ISO 8601.
    """
    from pyspark.sql import functions as F

    frames = [_read_one(spark, name, index, fmt, options) for index, name in enumerate(inputs)]
    raw = frames[0]
    for frame in frames[1:]:
        raw = raw.unionByName(frame)
    # Counting drops (and measuring times), an ISO check and sessionizing read the rows 2-3 times.
    raw = raw.persist()
    stats = CorpusStats(input_format=spark_format(inputs[0], fmt), inputs=list(inputs))
    steps: list[tuple[str, Column]] = []
    for where in options.where:
        _check_numbers(raw, where, [keep for _, keep in steps])
        steps.append((where.label, where_column(where)))
    for col in [*options.group_cols, options.item_col]:
        steps.append((f"missing {col}", F.col(col).isNotNull()))
    if options.time_col:
        steps.append((f"missing {options.time_col}", F.col(options.time_col).isNotNull()))
    events, per_file = _count_drops(raw, steps, stats, options.time_col)
    if options.time_col:
        events = events.withColumn(TIME, parse_times(events, options.time_col, per_file))
    keep = [*options.group_cols, options.item_col, *([TIME] if options.time_col else []), FILE, ROW]
    return SparkInput(events.select(*keep), raw, stats)


def where_column(where: Where) -> Column:
    """The Spark condition of a ``--where`` filter, as :meth:`Where.mask` keeps rows locally."""
    from pyspark.sql import functions as F

    cell = F.col(where.column)
    if where.op in (">", ">=", "<", "<="):
        number, bar = cell.try_cast("double"), F.lit(where.number)
        compared = {">": number > bar, ">=": number >= bar, "<": number < bar, "<=": number <= bar}[where.op]
        return F.coalesce(
            ~F.isnan(number) & compared, F.lit(False)
        )  # Spark orders NaN above all; arrow fails it
    kept = cell.isin(list(where.values)) if where.op == "in" else cell == F.lit(where.value)
    kept = F.coalesce(kept, F.lit(False))
    return ~kept if where.negate else kept


def _check_numbers(raw: DataFrame, where: Where, earlier: list[Column]) -> None:
    """A comparison's column must hold numbers in the rows the earlier filters keep (as locally)."""
    from functools import reduce

    from pyspark.sql import functions as F

    if where.op not in (">", ">=", "<", "<="):
        return
    cell = F.col(where.column)
    bad = cell.isNotNull() & cell.try_cast("double").isNull()
    rows = raw.filter(reduce(lambda a, b: a & b, earlier, bad)).orderBy(FILE, ROW).select(where.column)
    first = rows.first()
    if first is not None:
        raise InputError(where.not_a_number(str(first[0])))


def _read_one(
    spark: SparkSession, name: str, index: int, fmt: str | None, options: SessionOptions
) -> DataFrame:
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    kind = spark_format(name, fmt)
    options.check_delimiter(kind, name)
    try:
        if kind in ("csv", "tsv"):
            reader = spark.read.option("header", True).option("inferSchema", False)
            sep = options.delimiter or ("\t" if kind == "tsv" else ",")
            frame = reader.option("sep", sep).csv(name)
        elif kind == "parquet":
            frame = spark.read.parquet(name)
        else:  # primitivesAsString keeps ids such as 00123 as written
            frame = spark.read.option("primitivesAsString", True).json(name)
    except AnalysisException as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"input {name!r} cannot be read by Spark ({first})") from None
    wanted = list(dict.fromkeys(options.columns))
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise MissingColumnsError(name, missing, frame.columns, options.roles())
    types = {field.name: field.dataType.typeName() for field in frame.schema.fields}
    cells = [_string(F.col(f"`{c}`"), types.get(c, "")).alias(c) for c in wanted]
    return frame.select(*cells, F.lit(index).alias(FILE), F.monotonically_increasing_id().alias(ROW))


def _string(column: Column, kind: str = "") -> Column:
    """A cell as text, by the id rule of the local readers (``item2vec.corpus.frames.id_text``).

    A whole float is written as Python writes it (``12345678.0``, where Spark's cast writes
    ``1.2345678E7``); other floats as Spark writes them, which agrees with Python below 1e7
    (``0.5``, ``17850.5``).
    """
    from pyspark.sql import functions as F

    text = column.cast("string")
    if kind in ("double", "float"):
        whole = (column == F.floor(column)) & (F.abs(column) < F.lit(1e16))
        text = F.when(whole, F.concat(column.cast("bigint").cast("string"), F.lit(".0"))).otherwise(text)
    return F.when(text == F.lit(""), F.lit(None).cast("string")).otherwise(text)


def _count_drops(
    raw: DataFrame, steps: list[tuple[str, Column]], stats: CorpusStats, time_col: str | None
) -> tuple[DataFrame, list[Row]]:
    """Apply the filters in order, counting in one pass how many rows each one drops.

    The same pass measures each file's kept times (values, numbers among them, largest
    number) for ``parse_times``.
    """
    from pyspark.sql import functions as F

    passed = F.lit(True)
    counts = [F.count(F.lit(1)).alias("events")]
    for number, (_, keep) in enumerate(steps):
        counts.append(F.sum(F.when(passed & ~keep, 1).otherwise(0)).alias(f"d{number}"))
        passed = passed & keep
    if time_col:
        text = F.when(passed, F.col(time_col))
        counts += [
            F.count(text).alias("values"),
            F.count(text.try_cast("double")).alias("numbers"),
            F.max(F.abs(text.try_cast("double"))).alias("largest"),
            F.min(F.abs(text.try_cast("double"))).alias("smallest"),
        ]
    per_file = raw.groupBy(FILE).agg(*counts).collect()
    stats.events_read = sum(int(row["events"]) for row in per_file)
    for number, (reason, _) in enumerate(steps):
        stats.drop(reason, sum(int(row[f"d{number}"] or 0) for row in per_file))
    return raw.filter(passed), per_file


def parse_times(events: DataFrame, col: str, per_file: list[Row]) -> Column:
    """Float epoch seconds of ``col``, deciding per input file: numbers (s, or ms above 1e11) or ISO 8601.

    ``per_file`` has each file's count of time values, of numbers among them, the largest and
    the smallest.

    Raises:
        InputError: naming the first value (in file order) that is not a time, or a file that
            mixes epoch seconds and milliseconds.
    """
    from pyspark.sql import functions as F

    text, number = F.col(col), F.col(col).try_cast("double")
    seconds: Column | None = None
    iso_files: list[int] = []
    for row in per_file:
        if row["largest"] is not None and not math.isfinite(row["largest"]):
            _not_finite(events, col, int(row[FILE]))
        if row["values"] != row["numbers"]:
            _check_epoch_file(events, col, row)
            iso_files.append(int(row[FILE]))
            continue
        large = (row["largest"] or 0.0) > _MS_THRESHOLD
        if large and (row["smallest"] or 0.0) <= _MS_THRESHOLD:
            _mixed_units(events, col, int(row[FILE]))
        scale = 0.001 if large else 1.0
        condition = F.col(FILE) == F.lit(int(row[FILE]))
        value = number * F.lit(scale)
        seconds = F.when(condition, value) if seconds is None else seconds.when(condition, value)
    iso = F.unix_micros(text.try_cast("timestamp")) / F.lit(1e6)
    if iso_files:
        bad = events.filter(F.col(FILE).isin(iso_files) & iso.isNull()).orderBy(FILE, ROW)
        first = bad.select(col).first()
        if first is not None:
            raise InputError(
                f"{col} {first[0]!r} is not a time: "
                "use epoch seconds, epoch milliseconds or ISO 8601 (2024-05-01T13:45:00)"
            )
    return iso if seconds is None else seconds.otherwise(iso)


def _first(events: DataFrame, col: str, condition: Column) -> str | None:
    found = events.filter(condition).orderBy(FILE, ROW).select(col).first()
    return None if found is None else str(found[0])


def _check_epoch_file(events: DataFrame, col: str, row: Row) -> None:
    """In a file whose first time is a number, the first value that is not one is the bad one."""
    from pyspark.sql import functions as F

    if not row["numbers"]:
        return  # all ISO 8601 (or bad): parse_times names the first that is not a time
    in_file = (F.col(FILE) == F.lit(int(row[FILE]))) & F.col(col).isNotNull()
    first = _first(events, col, in_file)
    try:
        float(first or "")
    except ValueError:
        return
    bad = _first(events, col, in_file & F.col(col).try_cast("double").isNull())
    raise InputError(
        f"{col} {bad!r} is not a time: the column holds epoch numbers (the first is {first!r}); "
        "fix or drop that row"
    )


def _not_finite(events: DataFrame, col: str, file: int) -> None:
    """Refuse ``nan``, ``inf`` and ``-inf`` as times, as ``abc`` is refused (and as locally)."""
    from pyspark.sql import functions as F

    number = F.col(col).try_cast("double")
    bad = _first(
        events, col, (F.col(FILE) == F.lit(file)) & (F.isnan(number) | (F.abs(number) == F.lit(math.inf)))
    )
    raise InputError(
        f"{col} {bad!r} is not a time: use epoch seconds, epoch milliseconds or ISO 8601 "
        "(2024-05-01T13:45:00); fix or drop that row"
    )


def _mixed_units(events: DataFrame, col: str, file: int) -> None:
    from pyspark.sql import functions as F

    in_file, size = F.col(FILE) == F.lit(file), F.abs(F.col(col).try_cast("double"))
    small = _first(events, col, in_file & (size <= F.lit(_MS_THRESHOLD)))
    large = _first(events, col, in_file & (size > F.lit(_MS_THRESHOLD)))
    raise InputError(
        f"{col} mixes epoch seconds and epoch milliseconds in one file ({small!r} and {large!r}): "
        "convert it to one unit (divide the milliseconds by 1000)"
    )
