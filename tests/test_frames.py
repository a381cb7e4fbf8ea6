"""In-memory tables read as files are (corpus/frames.py): strings, coded ids, batches, errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from item2vec.corpus.events import open_source
from item2vec.corpus.frames import frame_batches, id_text, table_kind, to_arrow
from item2vec.corpus.options import SessionOptions
from item2vec.corpus.sequences import load_corpus, table_corpus
from item2vec.errors import InputError


def test_table_kinds_without_importing_anything() -> None:
    assert table_kind(pd.DataFrame({"a": [1]})) == "pandas.DataFrame"
    assert table_kind(pa.table({"a": [1]})) == "pyarrow.Table"
    assert table_kind(pa.record_batch({"a": [1]})) == "pyarrow.Table"
    assert table_kind([["a"]]) is None and table_kind("events.csv") is None
    assert table_kind(pd.Series([1])) is None  # a Series of lists is sequences, not a table


def test_ids_become_strings_as_written_and_id_columns_are_coded() -> None:
    frame = pd.DataFrame({"user": [17850, 17850, 12], "item": ["a", 85123, None], 0: [1, 2, 3]})
    table = to_arrow(frame, "<df>", ["user", "item", "0"])
    (batch,) = frame_batches(table, "<df>", ["user", "item", "0"], encode=["user"], time_col="0")
    assert batch["user"].type == pa.dictionary(pa.int32(), pa.string())
    assert batch["user"].to_pylist() == ["17850", "17850", "12"]
    assert batch["item"].to_pylist() == ["a", "85123", None]  # a mixed column: str() of each value
    assert batch["0"].type == pa.int64()  # a numeric time column keeps its type


def test_a_table_sessionizes_as_a_file() -> None:
    frame = pd.DataFrame(
        {"u": ["1", "1", "2", "2", "1"], "i": ["a", "b", "c", "d", "b"], "t": [1, 2, 1, 2, 3]}
    )
    corpus = table_corpus(pa.table(frame), "<t>", SessionOptions(item_col="i", user_col="u", time_col="t"))
    assert corpus.sequences == [["a", "b"], ["c", "d"]]  # the repeated b is dropped, as in a file
    assert corpus.stats.rows_dropped == {"consecutive repeats": 1}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pa.table({"i": [["a"]], "u": ["1"]}), r"^<t>: column 'i' holds list<item: string> values, not ids"),
        (pa.table({"i": pa.array([], pa.string()), "u": pa.array([], pa.string())}), r"^<t> has no rows$"),
        (
            pa.table({"item": ["a"], "u": ["1"]}),
            r"^<t>: no column 'i'; the columns are: item, u \(choose them with",
        ),
    ],
)
def test_tables_that_cannot_be_read(table: pa.Table, message: str) -> None:
    with pytest.raises(InputError, match=message):
        list(frame_batches(table, "<t>", ["u", "i"], encode=["i"]))


def test_a_pandas_column_of_other_objects() -> None:
    frame = pd.DataFrame({"i": [{"a": 1}, "b"]})
    with pytest.raises(InputError, match=r"^<df>: column 'i' holds dict values such as \{'a': 1\}, not ids"):
        to_arrow(frame, "<df>", ["i"])


# --- one id rule for every reader (issue 22, item 15) -----------------------------------------------


def test_float_ids_read_the_same_from_every_path(tmp_path: Path) -> None:
    # A user column with a missing value is float in pandas: 17850 is 17850.0 in the frame, in the
    # CSV pandas writes and in Parquet; before, the frame and Parquet gave "17850", the CSV "17850.0".
    frame = pd.DataFrame(
        {
            "user_id": [17850.0, 17850.0, None, 12.0, 12.0],
            "item_id": [3.0, 1e20, 4.0, 0.5, 3.0],
            "ts": [1, 2, 3, 4, 5],
        }
    )
    frame.to_csv(tmp_path / "e.csv", index=False)
    frame.to_parquet(tmp_path / "e.parquet", index=False)
    frame.to_json(tmp_path / "e.jsonl", orient="records", lines=True)
    options = SessionOptions(time_col="ts")
    expected = [["3.0", "1e+20"], ["0.5", "3.0"]]
    assert table_corpus(to_arrow(frame, "<df>", options.columns), "<df>", options).sequences == expected
    assert table_corpus(pa.table(frame), "<t>", options).sequences == expected
    for name in ("e.csv", "e.parquet", "e.jsonl"):
        corpus = load_corpus([open_source(str(tmp_path / name))], None, options)
        assert corpus.sequences == expected, name
    assert (tmp_path / "e.csv").read_text().splitlines()[1] == "17850.0,3.0,1"  # the text the rule keeps


def test_text_and_integers_stay_as_written(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text(
        '{"user_id": 1, "item_id": 3.0, "ts": 1}\n{"user_id": 1, "item_id": "00123", "ts": 2}\n'
        '{"user_id": 1, "item_id": 3, "ts": 3}\n'
    )
    corpus = load_corpus([open_source(str(tmp_path / "e.jsonl"))], None, SessionOptions(time_col="ts"))
    assert corpus.sequences == [["3.0", "00123", "3"]]  # JSON text as written: 3.0 and 3 are two ids
    table = pa.table({"user_id": [1, 1], "item_id": pa.array([7, 8], pa.int64()), "ts": [1, 2]})
    assert table_corpus(table, "<t>", SessionOptions(time_col="ts")).sequences == [["7", "8"]]


def test_id_text_keeps_missing_values_missing() -> None:
    values = pa.chunked_array([pa.array([3.0, None, float("nan")]), pa.array([], pa.float64())])
    assert id_text(values).to_pylist() == ["3.0", None, "nan"]
    assert id_text(pa.array([1.5], pa.float32())).to_pylist() == ["1.5"]


# --- columns named twice, times that are not finite (issue 22, items 11 and 17) ---------------------


@pytest.mark.parametrize("kind", ["pandas", "arrow"])
def test_a_column_named_twice_is_refused(kind: str) -> None:
    columns = ["user_id", "item_id", "item_id"]
    rows = [["u", "a", "b"], ["u", "b", "a"]]
    data: object = pd.DataFrame(rows, columns=columns)
    if kind == "arrow":
        data = pa.table([pa.array(list(column)) for column in zip(*rows)], names=columns)
    with pytest.raises(InputError) as caught:
        to_arrow(data, "<t>", ["user_id", "item_id"])
    assert str(caught.value) == (
        "<t>: the table names column 'item_id' 2 times (columns 2, 3): rename all but one, "
        "so that each column has its own name"
    )
    assert caught.value.value == "item_id"


def test_not_finite_times_in_a_table_are_refused() -> None:
    table = pa.table({"user_id": ["u", "u", "u"], "item_id": ["a", "b", "c"], "ts": [1.0, float("inf"), 3.0]})
    with pytest.raises(InputError, match=r"^<t>: row 2 has ts 'inf', which is not a time"):
        table_corpus(table, "<t>", SessionOptions(time_col="ts"))
    arrow_nan = pa.table({"user_id": ["u", "u"], "item_id": ["a", "b"], "ts": pa.array([1.0, float("nan")])})
    with pytest.raises(InputError, match=r"^<t>: row 2 has ts 'nan', which is not a time"):
        table_corpus(arrow_nan, "<t>", SessionOptions(time_col="ts"))
    # pandas' NaN is its missing value: that row is dropped as a row without a time, not read as one
    frame = pd.DataFrame({"user_id": ["u"] * 3, "item_id": ["a", "b", "c"], "ts": [1.0, None, 3.0]})
    corpus = table_corpus(
        to_arrow(frame, "<df>", ["user_id", "item_id", "ts"]), "<df>", SessionOptions(time_col="ts")
    )
    assert corpus.sequences == [["a", "c"]] and corpus.stats.rows_dropped == {"missing ts": 1}
