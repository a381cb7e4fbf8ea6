"""JSON records: JSON Lines and a JSON array of records, both streamed; one value per cell."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from item2vec.cli import cli
from item2vec.corpus import jsonl
from item2vec.corpus.events import detect_format, open_source, read_table
from item2vec.errors import InputError

RECORDS = [{"user": f"u{n // 3}", "item": n, "price": 1.50, "tags": ["a", "b"]} for n in range(12)]


def read(path: Path, cols: list[str]) -> dict[str, list[str | None]]:
    table = read_table(open_source(str(path)), "jsonl", cols)
    return {c: table[c].to_pylist() for c in cols}


@pytest.mark.parametrize("indent", [None, 2])
def test_a_json_array_of_records_is_a_table(tmp_path: Path, indent: int | None) -> None:
    path = tmp_path / "events.json"
    path.write_text(json.dumps(RECORDS, indent=indent))
    assert detect_format(open_source(str(path))) == "jsonl"
    got = read(path, ["user", "item", "price"])
    assert got["item"] == [str(n) for n in range(12)]  # numbers as written: ids stay strings
    assert got["price"] == ["1.5"] * 12 and got["user"][:4] == ["u0", "u0", "u0", "u1"]


def test_an_array_is_streamed_record_by_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A buffer smaller than one record: records cut in two are read on, never misparsed.
    monkeypatch.setattr(jsonl, "_CHUNK", 5)
    path = tmp_path / "events.json.gz"
    path.write_bytes(gzip.compress(b"\xef\xbb\xbf" + json.dumps(RECORDS, indent=1).encode()))
    assert read(path, ["item"])["item"] == [str(n) for n in range(12)]


def test_an_array_on_stdin_is_sniffed() -> None:
    source = open_source("-", io.BytesIO(b'  [{"user": "u", "item_id": "a"}]'))
    assert detect_format(source, "item_id") == "jsonl"
    assert read_table(source, "jsonl", ["item_id"])["item_id"].to_pylist() == ["a"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"item": 1},\n{"item": 2}', r"the JSON array is not closed \(no '\]' after record 2, line 2\)"),
        (
            '[{"item": 1} {"item": 2}]',
            r"record 2 of the JSON array \(line 1\) is not valid JSON \(expected ','",
        ),
        (
            '[{"item": 1},\n\n{"item": }]',
            r"record 2 of the JSON array \(line 3\) is not valid JSON \(Expecting value",
        ),
        ('[{"item": 1}] {"item": 2}', r"text follows the JSON array's closing '\]'"),
        ('[{"item": 1}, 7]', r"record 2 \(line 1\) is not a JSON object"),
        ("[]", r"has no records"),
    ],
)
def test_array_errors_name_the_record_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "e.json"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read(path, ["item"])


def test_a_pretty_printed_object_is_not_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text('{\n  "item": 1\n}\n')
    with pytest.raises(
        InputError, match=r"line 1 is not valid JSON .*: give JSON Lines \(one object a line\)"
    ):
        read(path, ["item"])


@pytest.mark.parametrize("name", ["e.jsonl", "e.json"])
def test_a_list_where_one_id_belongs_is_refused(tmp_path: Path, name: str) -> None:
    # Before, the id became the text "['a', 'b']".
    path = tmp_path / name
    rows = [{"user": "u", "item": "x"}, {"user": "u", "item": ["a", "b"]}]
    path.write_text("\n".join(json.dumps(r) for r in rows) if name.endswith("l") else json.dumps(rows))
    where = "line 2" if name.endswith("l") else "record 2 (line 1)"
    with pytest.raises(InputError) as caught:
        read(path, ["user", "item"])
    assert str(caught.value).startswith(
        f'{path}: {where} has an array in \'item\' (["a", "b"]), not one value'
    )


def test_an_object_where_one_value_belongs_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"user": {"id": 1}, "item": "x"}\n')
    with pytest.raises(InputError, match=r"line 1 has an object in 'user'"):
        read(path, ["user", "item"])


@pytest.mark.slow
def test_train_on_a_json_array(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text(json.dumps([{"user_id": f"u{n % 4}", "item_id": f"i{n % 5}"} for n in range(40)]))
    out = tmp_path / "m"
    result = CliRunner().invoke(
        cli, ["train", str(path), "-o", str(out), "--min-count", "1", "--epochs", "1", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((out / "model.json").read_text())["input"]["events_read"] == 40


def test_split_refuses_a_json_array(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text(json.dumps([{"user_id": "u", "item_id": f"i{n}"} for n in range(5)]))
    result = CliRunner().invoke(cli, ["split", str(path), "-o", str(tmp_path / "s")])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {path} is a JSON array: split copies JSON Lines row by row; convert it first "
        f"(jq -c '.[]' {path} > events.jsonl)\n"
    )


def test_records_come_in_batches_of_bounded_size() -> None:
    data = b"".join(b'{"a": "%d"}\n' % n for n in range(2500))
    batches = list(jsonl.json_batches(lambda: io.BytesIO(data), "x", ["a"], data[:10], 1000))
    assert [table.num_rows for table, _ in batches] == [1000, 1000, 500]
    assert batches[-1][0]["a"].to_pylist()[-1] == "2499"
