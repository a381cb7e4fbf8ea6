"""In-memory tables read as files are (corpus/frames.py): strings, coded ids, batches, errors."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from item2vec.corpus.frames import frame_batches, table_kind, to_arrow
from item2vec.corpus.options import SessionOptions
from item2vec.corpus.sequences import table_corpus
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
