"""--engine spark: Spark sessionizes like the local path, trains MLlib Word2Vec, saves a model dir.

One local SparkSession serves the whole module (the CLI tests reuse it through getOrCreate).
"""

from __future__ import annotations

import json
import random
import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli
from item2vec.corpus.events import open_source
from item2vec.corpus.options import SessionOptions, Where
from item2vec.corpus.sequences import load_corpus
from item2vec.errors import ConfigError, InputError, MissingDependencyError, flag_name, spell
from item2vec.training.config import TrainConfig
from item2vec.training.spark_engine import check_options
from item2vec.training.spark_io import SparkOptions, spark_format, spark_session

pytestmark = [pytest.mark.spark, pytest.mark.slow]  # Spark in local mode: a JVM per module

JAVA_MISSING = (
    "java is not installed; Spark needs Java 17+: apt-get install -y openjdk-17-jre-headless "
    "(or set JAVA_HOME)"
)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.skip(JAVA_MISSING)
    options = SparkOptions(
        "local[1]",
        (
            ("spark.ui.enabled", "false"),
            ("spark.ui.showConsoleProgress", "false"),
            ("spark.sql.shuffle.partitions", "1"),
            ("spark.sql.codegen.wholeStage", "false"),
            ("spark.sql.adaptive.enabled", "false"),
            ("spark.driver.memory", "1g"),
        ),
    )
    session = spark_session(options)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


# --- the same sessions as the local path ---------------------------------------------------------

# user, item, time, kind: ties in time (u1 at 100 and 200), repeats, a 2-hour gap, a missing
# user, a missing time, and rows --where kind!=view filters.
EVENTS_A = """user,item,ts,kind
u1,a,100,buy
u1,b,100,buy
u1,b,100,buy
u1,c,100,buy
u2,x,50,buy
u1,d,200,buy
u1,e,200,view
u2,y,60,buy
u2,y,61,buy
u2,z,9000,buy
u2,w,9100,buy
,a,10,buy
u3,q,,buy
u3,r,5,buy
u1,a,200,buy
"""
# A second file: its ties with file A come after A's rows (input order).
EVENTS_B = """user,item,ts,kind
u1,k,100,buy
u1,m,100,buy
"""
EVENTS_ISO = """user,item,ts,kind
u4,p,2024-01-01T00:00:00,buy
u4,q,2024-01-01 00:00:00,buy
u4,r,2024-01-01T00:10:00Z,buy
u5,p,2024-01-01T03:00:00+02:00,buy
u5,s,2024-01-01T00:30:00,buy
u4,s,2024-01-01T05:00:00,buy
"""
EVENTS_MS = """user,item,ts,kind
u6,a,1700000000000,buy
u6,b,1700000000000,buy
u6,c,1700003600000,buy
u6,d,1700000001000,buy
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def spark_sequences(
    spark: Any, inputs: list[str], options: SessionOptions
) -> tuple[Counter[tuple[str, ...]], Any]:
    from item2vec.training.spark_engine import spark_corpus

    corpus = spark_corpus(inputs, None, options, SparkOptions())
    try:
        rows = corpus.sequences.collect()
    finally:
        corpus.sequences.unpersist()
    return Counter(tuple(r[0]) for r in rows), corpus.stats


def local_sequences(inputs: list[str], options: SessionOptions) -> tuple[Counter[tuple[str, ...]], Any]:
    corpus = load_corpus([open_source(name) for name in inputs], None, options)
    return Counter(tuple(s) for s in corpus.sequences), corpus.stats


CASES = {
    "ties-gap-where": (
        ["a", "b"],
        dict(time_col="ts", session_gap=3600.0, where=(Where("kind", "view", True),)),
    ),
    "no-time-keep-repeats-min3": (["a", "b"], dict(drop_repeats=False, min_length=3)),
    "iso": (["iso"], dict(time_col="ts", session_gap=1800.0, min_length=1)),
    "epoch-ms-and-s": (["ms", "a"], dict(time_col="ts", session_gap=1800.0)),
    "semicolons": (["semi"], dict(time_col="ts", delimiter=";")),
    # --where comparisons (rows without a number fail them) and lists, after an equality
    "number-and-list-where": (
        ["a", "b"],
        dict(
            time_col="ts",
            where=(Where.parse("kind=buy"), Where.parse("ts>=60"), Where.parse("item not in x,w")),
        ),
    ),
    "in-where": (["a"], dict(where=(Where.parse("item in a,b,y"), Where.parse("ts<200")))),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_spark_sessions_match_the_local_path(spark: Any, tmp_path: Path, case: str) -> None:
    texts = {
        "a": EVENTS_A,
        "b": EVENTS_B,
        "iso": EVENTS_ISO,
        "ms": EVENTS_MS,
        "semi": EVENTS_A.replace(",", ";"),
    }
    names, kwargs = CASES[case]
    inputs = [write(tmp_path, f"{n}.csv", texts[n]) for n in names]
    options = SessionOptions(user_col="user", item_col="item", **kwargs)
    local, local_stats = local_sequences(inputs, options)
    remote, remote_stats = spark_sequences(spark, inputs, options)
    assert remote == local
    keys = (
        "input_format",
        "inputs",
        "events_read",
        "rows_dropped",
        "sessions",
        "sessions_dropped_short",
        "tokens",
    )
    assert {k: getattr(remote_stats, k) for k in keys} == {k: getattr(local_stats, k) for k in keys}
    if case == "number-and-list-where":
        assert local_stats.rows_dropped["--where ts>=60"] == 4  # 50, 5, 10 and the empty one
    if case == "ties-gap-where":
        # Ties in time keep file order, then input order: u1 at 100 is a b c (a.csv) k m (b.csv).
        assert remote[("a", "b", "c", "k", "m", "d", "a")] == 1


def test_a_comparison_on_text_is_the_same_error_in_spark(spark: Any, tmp_path: Path) -> None:
    inputs = [write(tmp_path, "a.csv", EVENTS_A)]
    options = SessionOptions(user_col="user", item_col="item", where=(Where.parse("kind>1"),))
    message = "--where 'kind>1': column 'kind' holds 'buy', which is not a number"
    with pytest.raises(InputError, match=message):
        local_sequences(inputs, options)
    with pytest.raises(InputError, match=message):
        spark_sequences(spark, inputs, options)
    # rows an earlier filter drops are not compared, on both paths
    only_views = SessionOptions(
        user_col="user",
        item_col="item",
        min_length=1,
        where=(Where.parse("kind=view"), Where.parse("ts>100")),
    )
    assert spark_sequences(spark, inputs, only_views)[0] == local_sequences(inputs, only_views)[0]


def test_long_sequences_are_split_not_truncated(spark: Any) -> None:
    from item2vec.training.spark_engine import ITEMS, split_long

    frame = spark.createDataFrame([([str(i) for i in range(25)],), (["x", "y"],)], [ITEMS])
    chunks = [r[0] for r in split_long(frame, 10).collect()]
    assert sorted(chunks) == sorted(
        [[str(i) for i in range(s, min(s + 10, 25))] for s in (0, 10, 20)] + [["x", "y"]]
    )


def test_ids_stay_strings_in_every_format(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"user": 17850.0, "item": "00123"}\n{"user": 17850.0, "item": 85123}\n')
    options = SessionOptions(user_col="user", item_col="item")
    remote, _ = spark_sequences(spark, [str(path)], options)
    assert remote == Counter({("00123", "85123"): 1})
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = tmp_path / "e.parquet"
    pq.write_table(pa.table({"user": [17850, 17850], "item": ["00123", "85123A"]}), parquet)
    remote, _ = spark_sequences(spark, [str(parquet)], options)
    assert remote == local_sequences([str(parquet)], options)[0] == Counter({("00123", "85123A"): 1})


def test_bad_time_and_missing_column_are_input_errors(spark: Any, tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.csv", "user,item,ts\nu,a,2024-01-01\nu,b,yesterday\n")
    with pytest.raises(InputError, match="ts 'yesterday' is not a time: use epoch seconds"):
        spark_sequences(spark, [bad], SessionOptions(user_col="user", item_col="item", time_col="ts"))
    with pytest.raises(InputError, match="no column 'sku'; the columns are: user, item, ts") as info:
        spark_sequences(spark, [bad], SessionOptions(user_col="user", item_col="sku"))
    assert str(info.value).endswith("(named by --item-col: choose one that exists)")  # as the local reader


# --- options Spark cannot honour (no Spark needed) ------------------------------------------------


def test_explicit_unsupported_options_raise_and_preset_defaults_are_noted() -> None:
    config = TrainConfig.from_preset("recsys", negative=5)
    with pytest.raises(ConfigError, match="--negative 5 is not supported with --engine spark") as caught:
        check_options(config, {"negative"})
    assert (caught.value.param, caught.value.value) == ("negative", 5)
    with pytest.raises(ConfigError, match="--context set is not supported"):
        check_options(TrainConfig.from_preset("recsys", context="set"), {"context"})
    notes = [
        spell(n, flag_name)
        for n in check_options(TrainConfig.from_preset("recsys", context="window"), {"context", "workers"})
    ]
    assert notes[0].startswith(
        "--engine spark trains skip-gram with hierarchical softmax: the recsys preset's"
    )
    assert "negative 10, ns-exponent 0.0, sample 0.0001 do not apply" in notes[0]
    assert notes[1].startswith("--workers does not apply to --engine spark")


def test_spark_conf_and_format_errors() -> None:
    assert SparkOptions.parse_conf(["spark.executor.memory=4g", "a=b=c"]) == (
        ("spark.executor.memory", "4g"),
        ("a", "b=c"),
    )
    with pytest.raises(ConfigError, match="--spark-conf 'nope' is invalid: use KEY=VALUE"):
        SparkOptions.parse_conf(["nope"])
    assert spark_format("s3a://bucket/logs/events.tsv.gz", None) == "tsv"
    assert spark_format("hdfs:///logs/2024/", "parquet") == "parquet"
    with pytest.raises(InputError, match="cannot tell its format from the name: give --input-format"):
        spark_format("hdfs:///logs/2024/", None)
    with pytest.raises(InputError, match="'-' \\(stdin\\) cannot be read with --engine spark"):
        spark_format("-", None)


def test_missing_pyspark_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(
        MissingDependencyError,
        match=r"needs pyspark, which is not installed: pip install 'item2vec\[spark\]'",
    ):
        spark_session(SparkOptions())


# --- the CLI --------------------------------------------------------------------------------------


def planted_csv(path: Path) -> Path:
    """Users who buy inside one of three disjoint clusters of eight items."""
    rng = random.Random(7)
    lines = ["user_id,item_id,ts"]
    for user in range(90):
        cluster = user % 3
        for step in range(12):
            lines.append(f"u{user},{cluster}{rng.randrange(8):02d},{step}")
    path.write_text("\n".join(lines) + "\n")
    return path


SMALL = ["--dim", "16", "--window", "3", "--epochs", "5", "--min-count", "1", "--seed", "1"]


def test_cli_trains_with_spark_into_the_usual_model_directory(spark: Any, tmp_path: Path) -> None:
    events = planted_csv(tmp_path / "events.csv")
    out = tmp_path / "model"
    names = tmp_path / "items.csv"
    names.write_text("item_id,title\n000,First\n999,Not in the model\n")
    result = run("train", events, "-o", out, "--time-col", "ts", "--engine", "spark", "--items", names,
                 "--spark-master", "local[1]", "--spark-conf", "spark.ui.enabled=false", *SMALL)  # fmt: skip
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "hierarchical softmax" in warnings[0]
    assert sorted(p.name for p in out.iterdir()) == ["items.tsv", "model.json", "vectors.npy", "vocab.tsv"]
    assert (out / "items.tsv").read_text() == "id\tname\n000\tFirst\n"
    meta = json.loads((out / "model.json").read_text())
    assert meta["engine"] == "spark" and meta["items"] == 24 and meta["dim"] == 16
    assert meta["params"]["epochs"] == 5 and "negative" not in meta["params"]
    assert meta["spark"]["partitions"] == 1 and meta["input"]["events_read"] == 90 * 12
    vocab = (out / "vocab.tsv").read_text().splitlines()
    counts = [int(line.split("\t")[1]) for line in vocab[1:]]
    assert counts == sorted(counts, reverse=True)
    rows = json.loads(run("similar", out, "000", "100", "200", "-k", "3", "-f", "json").stdout)
    in_cluster = sum(r["item"][0] == r["query"][0] for r in rows)
    assert in_cluster >= 0.8 * len(rows)
    refused = run("update", out, events, "-o", tmp_path / "v2")
    assert refused.exit_code == 1
    assert "was trained with engine 'spark', which keeps no training state" in refused.stderr


def test_cli_refuses_options_spark_cannot_honour(spark: Any, tmp_path: Path) -> None:
    events = planted_csv(tmp_path / "events.csv")
    out = tmp_path / "m"
    result = run("train", events, "-o", out, "--engine", "spark", "--negative", "5")
    assert result.exit_code == 1
    assert (
        "Error: --negative 5 is not supported with --engine spark (Spark trains with hierarchical softmax"
        in result.stderr
    )
    result = run("train", events, "-o", out, "--engine", "spark", "--max-vocab", "10")
    assert (
        result.exit_code == 1
        and "Error: --max-vocab 10 is not supported with --engine spark" in result.stderr
    )
    result = run("train", events, "-o", out, "--spark-master", "local[1]")
    assert result.exit_code == 2 and "--spark-master needs --engine spark" in result.stderr
    result = run("train", events, "-o", out, "--engine", "spark", "--spark-conf", "oops")
    assert result.exit_code == 1 and "Error: --spark-conf 'oops' is invalid: use KEY=VALUE" in result.stderr
    features = tmp_path / "features.csv"
    features.write_text("item_id,colour\n000,red\n")
    result = run(
        "train",
        events,
        "-o",
        out,
        "--engine",
        "spark",
        "--item-features",
        features,
        "--feature-cols",
        "colour",
    )
    assert (
        result.exit_code == 1
        and "Error: --item-features is not supported with --engine spark" in result.stderr
    )
    assert not out.exists()


def test_spark_refuses_a_file_mixing_seconds_and_milliseconds(spark: Any, tmp_path: Path) -> None:
    path = write(tmp_path, "mixed.csv", "user,item,ts\nu,a,1700000000\nu,b,1700000001000\n")
    options = SessionOptions(user_col="user", item_col="item", time_col="ts")
    with pytest.raises(InputError, match=r"ts mixes epoch seconds and epoch milliseconds in one file "):
        spark_sequences(spark, [path], options)


def test_spark_names_the_bad_value_of_an_epoch_column(spark: Any, tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv", "user,item,ts\nu,a,1700000000\nu,b,17OO\nu,c,1700000002\n")
    options = SessionOptions(user_col="user", item_col="item", time_col="ts")
    with pytest.raises(InputError, match=r"ts '17OO' is not a time: the column holds epoch numbers"):
        spark_sequences(spark, [path], options)


@pytest.mark.parametrize("bad", ["nan", "inf", "-Infinity"])
def test_spark_refuses_times_that_are_not_finite(spark: Any, tmp_path: Path, bad: str) -> None:
    # As the local reader does (issue 22, item 11): before, they were sorted last as times.
    path = write(tmp_path, "bad.csv", f"user,item,ts\nu,a,1700000000\nu,b,{bad}\nu,c,1700000002\n")
    options = SessionOptions(user_col="user", item_col="item", time_col="ts")
    with pytest.raises(InputError, match=rf"^ts '{bad}' is not a time: use epoch seconds"):
        spark_sequences(spark, [path], options)


def test_spark_writes_float_ids_as_the_local_readers_do(spark: Any, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = tmp_path / "e.parquet"
    items = pa.array([3.0, 12345678.0, 0.5], pa.float64())
    pq.write_table(pa.table({"user": ["u", "u", "u"], "item": items}), parquet)
    options = SessionOptions(user_col="user", item_col="item")
    remote, _ = spark_sequences(spark, [str(parquet)], options)
    assert remote == local_sequences([str(parquet)], options)[0] == Counter({("3.0", "12345678.0", "0.5"): 1})


def test_spark_option_errors_carry_fields() -> None:
    with pytest.raises(ConfigError) as caught:
        SparkOptions.parse_conf(["nope"])
    assert (caught.value.param, caught.value.value) == ("spark_conf", "nope")
    with pytest.raises(ConfigError) as caught:
        SparkOptions(partitions=0)
    assert (caught.value.param, caught.value.value) == ("spark_partitions", 0)
    assert str(caught.value) == "--spark-partitions 0 is invalid: use 1 or more"
