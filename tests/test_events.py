from __future__ import annotations

import gzip
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from item2vec.corpus.events import detect_format, open_source, read_table
from item2vec.errors import InputError

CSV = "user,item,qty\n17850.0,00123,1\n17850.0,85123A,2\n13047,00123,3\n"


def write(path: Path, text: str) -> Path:
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def read(path: Path | str, fmt: str, cols: list[str]) -> dict[str, list[str | None]]:
    table = read_table(open_source(str(path)), fmt, cols)
    return {c: table[c].to_pylist() for c in cols}


@pytest.mark.parametrize("name", ["e.csv", "e.csv.gz"])
def test_csv_ids_stay_strings(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, CSV)
    assert read(path, "csv", ["user", "item"]) == {
        "user": ["17850.0", "17850.0", "13047"],
        "item": ["00123", "85123A", "00123"],
    }


def test_tsv_and_empty_cells_are_null(tmp_path: Path) -> None:
    path = write(tmp_path / "e.tsv", "user\titem\nu1\t00123\n\tx\n")
    assert read(path, "tsv", ["user", "item"]) == {"user": ["u1", None], "item": ["00123", "x"]}


def test_parquet_numbers_become_strings(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({"user": [17850, 13047], "item": ["00123", "85123A"]}), path)
    assert read(path, "parquet", ["user", "item"]) == {
        "user": ["17850", "13047"],
        "item": ["00123", "85123A"],
    }


def test_jsonl_keeps_numbers_as_written(tmp_path: Path) -> None:
    path = write(tmp_path / "e.jsonl.gz", '{"user": 17850.0, "item": "00123"}\n\n{"user": "b", "item": 7}\n')
    assert read(path, "jsonl", ["user", "item"]) == {"user": ["17850.0", "b"], "item": ["00123", "7"]}


def test_jsonl_invalid_line(tmp_path: Path) -> None:
    path = write(tmp_path / "e.jsonl", '{"user": 1, "item": 2}\n{"user": \n')
    with pytest.raises(InputError, match="line 2 is not valid JSON"):
        read(path, "jsonl", ["user", "item"])


def test_stdin_gzip_is_decompressed() -> None:
    source = open_source("-", io.BytesIO(gzip.compress(CSV.encode())))
    assert detect_format(source, "item") == "csv"
    table = read_table(source, "csv", ["item"])
    assert table["item"].to_pylist() == ["00123", "85123A", "00123"]


def test_missing_columns_lists_existing(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", CSV)
    with pytest.raises(InputError, match=r"no column 'sku'; the columns are: user, item, qty"):
        read(path, "csv", ["user", "sku"])


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_missing_columns_other_formats(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"e.{fmt}"
    if fmt == "parquet":
        pq.write_table(pa.table({"user": ["a"], "item": ["b"]}), path)
    else:
        write(path, '{"user": "a", "item": "b"}\n')
    with pytest.raises(InputError, match="no column 'sku'; the columns are: "):
        read(path, fmt, ["sku"])


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"input file '.*nope\.csv' does not exist"):
        open_source(str(tmp_path / "nope.csv"))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="is empty"):
        open_source(str(tmp_path / "empty.csv"))
    with pytest.raises(InputError, match="is a directory"):
        open_source(str(tmp_path))


def test_header_only(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", "user,item\n")
    with pytest.raises(InputError, match="has a header but no rows"):
        read(path, "csv", ["user", "item"])


def test_malformed_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", "user,item\na,b\nc,d,e,f\n")
    with pytest.raises(InputError, match="malformed CSV"):
        read(path, "csv", ["user", "item"])


def test_not_parquet(tmp_path: Path) -> None:
    path = write(tmp_path / "e.parquet", "user,item\na,b\n")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        read(path, "parquet", ["user"])


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.csv", "x\n", "csv"),
        ("a.TSV.gz", None, "tsv"),
        ("a.pq", None, "parquet"),
        ("a.ndjson", None, "jsonl"),
        ("a.txt", "user,item_id\nu,1\n", "csv"),
        ("a.txt", "user\titem_id\nu\t1\n", "tsv"),
        ("a.dat", '{"item_id": 1}\n', "jsonl"),
        ("a.txt", "85123A 71053 84406B\n22423 22720\n", "sequences"),
        ("a.txt", "a,b,c\nd,e\n", "sequences"),
        ("a.txt", "it was the best of times it was the worst of times it was the age\n", "text"),
    ],
)
def test_detect_format(tmp_path: Path, name: str, content: str | None, expected: str) -> None:
    path = tmp_path / name
    if content is None:
        path.write_bytes(b"")
    else:
        path.write_text(content)
    from item2vec.corpus.events import Source

    assert detect_format(Source(str(path)), "item_id") == expected


def test_detect_parquet_by_magic(tmp_path: Path) -> None:
    path = tmp_path / "events.bin"
    pq.write_table(pa.table({"item_id": ["a"]}), path)
    from item2vec.corpus.events import Source

    assert detect_format(Source(str(path)), "item_id") == "parquet"


# --- headers: the whole line, each name once, the delimiter ----------------------------------------


def wide_header(tmp_path: Path, columns: int) -> Path:
    names = [f"attribute_with_a_long_name_{n:05d}" for n in range(columns)]
    return write(
        tmp_path / "wide.csv", ",".join([*names, "user_id", "item_id"]) + "\n" + "x," * columns + "u,i\n"
    )


def test_a_header_longer_than_64_kib_is_read_whole(tmp_path: Path) -> None:
    path = wide_header(tmp_path, 3000)  # a 98 KB header line; the two columns come last
    assert path.read_text().index("\n") > 1 << 16
    assert read(path, "csv", ["user_id", "item_id"]) == {"user_id": ["u"], "item_id": ["i"]}


def test_a_long_header_is_sniffed_whole(tmp_path: Path) -> None:
    path = wide_header(tmp_path, 3000).rename(tmp_path / "wide.dat")
    from item2vec.corpus.events import Source

    assert detect_format(Source(str(path)), "item_id") == "csv"


def test_messages_list_at_most_ten_columns_each_cut(tmp_path: Path) -> None:
    path = wide_header(tmp_path, 3000)
    with pytest.raises(InputError) as caught:
        read(path, "csv", ["sku" * 100])
    message = str(caught.value)
    assert len(message) < 1000
    assert "the columns are: attribute_with_a_long_name_00000, " in message
    assert "attribute_with_a_long_name_00009, … and 2,992 more" in message
    assert "no column '" + "sku" * 26 + "…;" in message  # the missing name, cut to 80 characters


def test_a_duplicated_header_name_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", "user_id,item_id,item_id\nu,a,x\n")
    with pytest.raises(InputError) as caught:
        read(path, "csv", ["user_id", "item_id"])
    assert str(caught.value) == (
        f"{path}: the header names column 'item_id' 2 times (columns 2, 3): rename all but one, "
        "so that each column has its own name"
    )


def test_a_duplicated_name_that_is_not_read_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", "user_id,note,item_id,note\nu,n1,a,n2\n")
    assert read(path, "csv", ["user_id", "item_id"]) == {"user_id": ["u"], "item_id": ["a"]}


def test_a_duplicated_parquet_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    table = pa.Table.from_arrays(
        [pa.array(["u"]), pa.array(["a"]), pa.array(["b"])], ["user", "item", "item"]
    )
    pq.write_table(table, path)
    with pytest.raises(InputError, match=r"the header names column 'item' 2 times \(columns 2, 3\)"):
        read(path, "parquet", ["user", "item"])


def test_a_parquet_list_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({"user": ["u"], "items": [["a", "b"]]}), path)
    with pytest.raises(InputError) as caught:
        read(path, "parquet", ["user", "items"])
    assert str(caught.value) == (
        f"{path}: column 'items' holds list<element: string> values, not one value a row: give one row per "
        "item (explode it first, e.g. pandas df.explode('items'))"
    )


@pytest.mark.parametrize(("delimiter", "fmt"), [(";", "csv"), ("|", "csv"), (",", "tsv"), ("\t", "csv")])
def test_another_delimiter(tmp_path: Path, delimiter: str, fmt: str) -> None:
    path = write(
        tmp_path / f"e.{fmt}", f'user{delimiter}item\n17850{delimiter}00123\nb{delimiter}"x{delimiter}y"\n'
    )
    table = read_table(open_source(str(path)), fmt, ["user", "item"], delimiter=delimiter)
    assert table.to_pydict() == {"user": ["17850", "b"], "item": ["00123", f"x{delimiter}y"]}


@pytest.mark.parametrize(("sep", "shown"), [(";", "';'"), ("|", "'|'"), ("\t", "'\\t'")])
def test_a_header_read_as_one_column_suggests_the_delimiter(tmp_path: Path, sep: str, shown: str) -> None:
    path = write(tmp_path / "e.csv", sep.join(["user_id", "item_id", "ts"]) + "\n" + sep.join("uab") + "\n")
    with pytest.raises(InputError) as caught:
        read(path, "csv", ["user_id", "item_id"])
    header = sep.join(["user_id", "item_id", "ts"])
    assert str(caught.value) == (
        f"{path}: no columns 'user_id', 'item_id'; the columns are: {header} "
        f"(the header reads as one column: is the delimiter {shown}? add --delimiter {shown})"
    )


def test_detect_format_with_a_delimiter(tmp_path: Path) -> None:
    path = write(tmp_path / "e.txt", "user;item_id\nu;a\n")
    from item2vec.corpus.events import Source

    assert detect_format(Source(str(path)), "item_id", ";") == "csv"
    assert detect_format(Source(str(path)), "item_id") == "sequences"
