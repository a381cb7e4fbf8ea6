"""Text encoding and gzip damage in every reader: a BOM is dropped, non-UTF-8 and cut gzip refused."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from item2vec.cli import cli
from item2vec.corpus.events import open_source, read_table
from item2vec.corpus.options import SessionOptions
from item2vec.corpus.sequences import read_sequences
from item2vec.corpus.text import lines
from item2vec.errors import InputError

BOM = b"\xef\xbb\xbf"
CSV = b"InvoiceNo,item_id\n1,a\n1,b\n2,a\n2,b\n"
TABLES = {
    "e.csv": CSV,
    "e.tsv": CSV.replace(b",", b"\t"),
    "e.jsonl": b'{"InvoiceNo": "1", "item_id": "a"}\n{"InvoiceNo": "1", "item_id": "b"}\n',
}


def put(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


@pytest.mark.parametrize("name", [*TABLES, "e.csv.gz", "e.jsonl.gz"])
def test_a_bom_is_not_part_of_the_first_header_name(tmp_path: Path, name: str) -> None:
    data = TABLES[name.removesuffix(".gz")]
    table = read_table(open_source(str(put(tmp_path / name, BOM + data))), name.split(".")[1], ["InvoiceNo"])
    assert table["InvoiceNo"].to_pylist()[:2] == ["1", "1"]


def test_a_bom_on_stdin_is_dropped_too() -> None:
    source = open_source("-", io.BytesIO(gzip.compress(BOM + CSV)))
    assert read_table(source, "csv", ["InvoiceNo"])["InvoiceNo"].to_pylist() == ["1", "1", "2", "2"]


@pytest.mark.parametrize("kind", ["sequences", "text"])
def test_a_bom_is_not_part_of_the_first_token(tmp_path: Path, kind: str) -> None:
    line = b"apple pear plum kiwi fig lime lemon melon grape peach cherry\n"
    path = put(tmp_path / "s.txt", BOM + line * 2)
    corpus = read_sequences([str(path)], SessionOptions(), kind)
    assert corpus.sequences[0][0] == "apple"


@pytest.mark.slow
def test_train_with_an_excel_utf8_csv(tmp_path: Path) -> None:
    path = put(tmp_path / "excel.csv", BOM + CSV)
    result = CliRunner().invoke(
        cli, ["train", str(path), "-o", str(tmp_path / "m"), "--session-col", "InvoiceNo", "--min-count", "1",
              "--epochs", "1", "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


LATIN = "café".encode("latin-1")


@pytest.mark.parametrize(
    ("name", "data", "line"),
    [
        ("e.csv", b"user_id,item_id\nu1,cafe\nu1," + LATIN + b"\n", 3),
        ("e.tsv", b"user_id\titem_id\nu1\t" + LATIN + b"\n", 2),
        ("e.jsonl", b'{"user_id": "u1", "item_id": "' + LATIN + b'"}\n', 1),
        (
            "e.jsonl.gz",
            b'{"user_id": "u", "item_id": "x"}\n{"user_id": "u", "item_id": "' + LATIN + b'"}\n',
            2,
        ),
    ],
)
def test_tables_that_are_not_utf8_are_refused_naming_the_line(
    tmp_path: Path, name: str, data: bytes, line: int
) -> None:
    path = put(tmp_path / name, data)
    with pytest.raises(InputError) as caught:
        read_table(open_source(str(path)), name.split(".")[1], ["user_id", "item_id"])
    message = str(caught.value)
    assert message.startswith(f"{path}: line {line} is not UTF-8 (byte 0xe9 after '")
    assert "caf'): item2vec reads UTF-8 only" in message and "iconv -f latin1 -t utf-8" in message


def test_a_latin1_header_is_refused(tmp_path: Path) -> None:
    path = put(tmp_path / "e.csv", b"user_id,item_id," + LATIN + b"\nu,a,x\n")
    with pytest.raises(InputError, match=r"line 1 is not UTF-8"):
        read_table(open_source(str(path)), "csv", ["user_id", "item_id"])


@pytest.mark.parametrize("kind", ["sequences", "text"])
def test_sequence_and_text_files_that_are_not_utf8_are_refused(tmp_path: Path, kind: str) -> None:
    # Before, "café" and "cafè" both became "caf\ufffd": one item.
    path = put(tmp_path / "s.txt.gz", b"tea cafe\n" + LATIN + b" " + "cafè".encode("latin-1") + b"\n")
    with pytest.raises(InputError) as caught:
        read_sequences([str(path)], SessionOptions(), kind)
    assert str(caught.value).startswith(f"{path}: line 2 is not UTF-8 (byte 0xe9 after 'caf')")
    assert f"gzip -dc {path} | iconv -f latin1 -t utf-8 > " in str(caught.value)


def test_cli_names_the_file_line_and_iconv(tmp_path: Path) -> None:
    path = put(tmp_path / "latin.csv", b"user_id,item_id\nu1," + LATIN + b"\nu1,tea\n")
    result = CliRunner().invoke(cli, ["train", str(path), "-o", str(tmp_path / "m")])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {path}: line 2 is not UTF-8 (byte 0xe9 after 'u1,caf'): item2vec reads UTF-8 only; "
        f"convert it first, e.g. from Latin-1: iconv -f latin1 -t utf-8 {path} > {tmp_path / 'latin.utf8.csv'}\n"
    )


def test_stdin_that_is_not_utf8(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["train", "-", "-o", str(tmp_path / "m"), "--input-format", "sequences"],
        input=b"a " + LATIN + b"\n",
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: <stdin>: line 1 is not UTF-8 (byte 0xe9 after 'a caf')")
    assert "| iconv -f latin1 -t utf-8 |" in result.output


def cut_gzip(data: bytes) -> bytes:
    packed = gzip.compress(data)
    return packed[: len(packed) // 2]


EVENTS = b"user_id,item_id\n" + b"".join(b"u%d,i%d\n" % (n % 50, n % 7) for n in range(40_000))
JSONL = b"".join(b'{"user_id": "u%d", "item_id": "i%d"}\n' % (n % 50, n % 7) for n in range(40_000))
TEXT = b"".join(b"i%d i%d i%d\n" % (n, n + 1, n + 2) for n in range(40_000))


@pytest.mark.parametrize(("name", "data"), [("e.csv.gz", EVENTS), ("e.jsonl.gz", JSONL), ("s.txt.gz", TEXT)])
@pytest.mark.slow
def test_truncated_gzip_is_one_error_line_not_aborted(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(cut_gzip(data))
    result = CliRunner().invoke(cli, ["train", str(path), "-o", str(tmp_path / "m"), "--min-count", "1"])
    assert result.exit_code == 1
    assert "Aborted!" not in result.output
    assert result.output.startswith(
        f"Error: {path}: truncated gzip (the data ends before gzip's end-of-stream"
    )
    assert not (tmp_path / "m").exists()


def test_truncated_gzip_on_stdin(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["train", "-", "-o", str(tmp_path / "m")], input=cut_gzip(EVENTS))
    assert result.exit_code == 1
    assert result.output.startswith("Error: <stdin>: truncated gzip")


@pytest.mark.slow
def test_corrupt_gzip(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(TEXT))
    packed[40:60] = b"x" * 20
    path = tmp_path / "s.txt.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(InputError, match=r"s.txt.gz: corrupt gzip data"):
        read_sequences([str(path)], SessionOptions(), "sequences")


def test_lines_end_at_lf_crlf_and_bare_cr_as_in_text_mode() -> None:
    stream = io.BytesIO(BOM + b"a b\r\nc d\re f\ng\n")
    assert list(lines(stream, "x")) == [(1, "a b\n"), (2, "c d\n"), (3, "e f\n"), (4, "g\n")]


def test_the_stream_is_left_to_the_caller_to_close() -> None:
    stream = io.BytesIO(b"a\n")
    assert list(lines(stream, "x")) == [(1, "a\n")]
    assert not stream.closed
