"""Session options and time parsing: one kind of time a file, the bad row named, columns distinct."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from item2vec.api.errors import python_terms
from item2vec.cli import cli
from item2vec.corpus.events import open_source
from item2vec.corpus.options import SessionOptions, TimeKind, parse_delimiter, parse_times, session_from_meta
from item2vec.corpus.sequences import load_corpus
from item2vec.errors import ConfigError, InputError


def times(*values: str | None) -> pa.ChunkedArray:
    return pa.chunked_array([pa.array(list(values), type=pa.string())])


def test_epoch_seconds_milliseconds_and_iso() -> None:
    assert parse_times(times("1700000000", None), "f", "ts").to_pylist()[0] == 1700000000.0
    assert parse_times(times("1700000000000"), "f", "ts").to_pylist() == [1700000000.0]
    assert parse_times(times("2023-11-14T22:13:20Z"), "f", "ts").to_pylist() == [1700000000.0]


def test_seconds_and_milliseconds_in_one_batch_are_refused() -> None:
    # Before, every value was scaled as milliseconds: the seconds landed in January 1970.
    with pytest.raises(InputError) as caught:
        parse_times(times(None, "1700000000", "1700000001", "1700000002000"), "e.csv", "ts", first_row=100)
    assert str(caught.value) == (
        "e.csv: ts mixes epoch seconds and epoch milliseconds: row 102 has '1700000000' but row 104 has "
        "'1700000002000'; convert it to one unit (divide the milliseconds by 1000)"
    )


def test_the_kind_must_hold_across_batches() -> None:
    kind = TimeKind()
    parse_times(times("1700000000000", "1700000001000"), "e.csv", "ts", 0, kind)
    with pytest.raises(InputError, match=r"row 1 has '1700000000000' but row 3 has '1700000002'"):
        parse_times(times("1700000002"), "e.csv", "ts", 2, kind)
    with pytest.raises(
        InputError, match=r"mixes epoch milliseconds and ISO 8601 times: row 1 .* row 5 has '2024"
    ):
        parse_times(times(None, "2024-05-01T10:00:00"), "e.csv", "ts", 3, kind)


def write_events(path: Path, stamps: list[str]) -> Path:
    rows = [f"u{n % 3},i{n % 5},{stamp}" for n, stamp in enumerate(stamps)]
    path.write_text("user_id,item_id,ts\n" + "\n".join(rows) + "\n")
    return path


def test_mixed_units_are_refused_across_the_reader_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("item2vec.corpus.events._BATCH_BYTES", 64)  # a few rows a batch
    stamps = [str(1_700_000_000_000 + 1000 * n) for n in range(40)] + ["1700000100"]
    path = write_events(tmp_path / "e.csv", stamps)
    with pytest.raises(
        InputError, match=r"e.csv: ts mixes epoch milliseconds and epoch seconds: row 1 .* row 41"
    ):
        load_corpus([open_source(str(path))], None, SessionOptions(time_col="ts"))


def test_each_file_has_its_own_unit(tmp_path: Path) -> None:
    seconds = write_events(tmp_path / "s.csv", [str(1_700_000_000 + n) for n in range(6)])
    millis = write_events(tmp_path / "ms.csv", [str(1_700_000_000_000 + 1000 * n) for n in range(6)])
    corpus = load_corpus(
        [open_source(str(seconds)), open_source(str(millis))], None, SessionOptions(time_col="ts")
    )
    assert corpus.stats.events_read == 12


@pytest.mark.parametrize("batch", [1 << 24, 64])
def test_an_unparsable_epoch_value_names_its_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    # Before, ISO parsing of the whole column blamed row 1.
    monkeypatch.setattr("item2vec.corpus.events._BATCH_BYTES", batch)
    stamps = [str(1_700_000_000 + n) for n in range(57)] + ["17OO000058"] + ["1700000059"]
    path = write_events(tmp_path / "e.csv", stamps)
    result = CliRunner().invoke(cli, ["train", str(path), "-o", str(tmp_path / "m"), "--time-col", "ts"])
    assert result.exit_code == 1
    assert result.output.startswith(
        f"Error: {path}: row 58 has ts '17OO000058', which is not a time: the column holds epoch numbers"
    )


def test_an_unparsable_iso_value_names_its_row() -> None:
    with pytest.raises(InputError, match=r"^f: row 3 has ts 'soon', which is not a time: use epoch seconds"):
        parse_times(times("2024-05-01T10:00:00+02:00", "2024-05-01T10:00:00Z", "soon"), "f", "ts")


def test_split_names_the_row_as_the_file_counts_it(tmp_path: Path) -> None:
    stamps = [str(1_700_000_000 + n) for n in range(9)] + ["later"]
    path = write_events(tmp_path / "e.csv", stamps)
    result = CliRunner().invoke(cli, ["split", str(path), "-o", str(tmp_path / "s"), "--time-col", "ts"])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {path}: row 10 has ts 'later', which is not a time")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            dict(user_col="id", item_col="id"),
            "--item-col 'id' is also --user-col: each role needs its own column",
        ),
        (dict(user_col="u", session_col="u"), "--session-col 'u' is also --user-col"),
        (dict(item_col="t", time_col="t"), "--time-col 't' is also --item-col"),
    ],
)
def test_one_column_for_two_roles_is_refused(options: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        SessionOptions(**options)  # type: ignore[arg-type]
    role = message.split()[0].lstrip("-").replace("-", "_")
    assert caught.value.param == role and caught.value.value == next(iter(options.values()))


def test_cli_user_col_equal_to_item_col(tmp_path: Path) -> None:
    path = write_events(tmp_path / "e.csv", ["1", "2"])
    result = CliRunner().invoke(
        cli, ["train", str(path), "-o", str(tmp_path / "m"), "--user-col", "item_id", "--item-col", "item_id"]
    )
    assert result.exit_code == 1
    assert result.output == "Error: --item-col 'item_id' is also --user-col: each role needs its own column\n"


@pytest.mark.parametrize(
    ("text", "char"), [(";", ";"), ("|", "|"), ("\\t", "\t"), ("\t", "\t"), ("tab", "\t")]
)
def test_delimiters(text: str, char: str) -> None:
    assert parse_delimiter(text) == char


@pytest.mark.parametrize("text", ["", ";;", '"', "\n"])
def test_bad_delimiters(text: str) -> None:
    with pytest.raises(
        ConfigError, match=r"--delimiter .* is invalid: use one character, e.g. ';', '\|'"
    ) as caught:
        parse_delimiter(text)
    assert (caught.value.param, caught.value.value) == ("delimiter", text)


def test_the_delimiter_is_recorded_and_inherited() -> None:
    options = SessionOptions(delimiter=";")
    meta = {"input": {"session": json.loads(json.dumps(options.as_record()))}}
    inherited = session_from_meta(meta, {})
    assert inherited.delimiter == ";" and inherited.delimiter_inherited
    given = session_from_meta(meta, {"delimiter": "|"})
    assert given.delimiter == "|" and not given.delimiter_inherited


def test_a_given_delimiter_is_refused_for_other_formats_an_inherited_one_ignored() -> None:
    with pytest.raises(
        ConfigError, match=r"--delimiter ';' applies to CSV/TSV input, but e.parquet reads as parquet"
    ) as caught:
        SessionOptions(delimiter=";").check_delimiter("parquet", "e.parquet")
    assert (caught.value.param, caught.value.value) == ("delimiter", ";")
    assert python_terms(caught.value.raw) == (
        "delimiter=';' applies to CSV/TSV input, but e.parquet reads as parquet: drop delimiter=, "
        "or pass input_format=csv if it is a CSV file"
    )
    SessionOptions(delimiter=";", delimiter_inherited=True).check_delimiter("parquet", "e.parquet")
    SessionOptions(delimiter=";").check_delimiter("tsv", "e.tsv")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--items", "ITEMS", "--id-col", "item_id", "--title-col", "item_id"],
            "--title-col 'item_id' is also the id column",
        ),
        (
            ["--item-features", "ITEMS", "--feature-cols", "item_id,cat"],
            "--feature-cols has the id column 'item_id': list attributes only",
        ),
    ],
)
def test_one_column_for_two_roles_in_the_item_tables(tmp_path: Path, flags: list[str], message: str) -> None:
    events = write_events(tmp_path / "e.csv", ["1", "2"])
    (tmp_path / "items.csv").write_text("item_id,cat\ni0,x\n")
    args = [str(tmp_path / "items.csv") if f == "ITEMS" else f for f in flags]
    result = CliRunner().invoke(cli, ["train", str(events), "-o", str(tmp_path / "m"), *args])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {message}")


# --- nan, inf and -inf are not times (issue 22, item 11) ---------------------------------------------


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "NaN", "Infinity"])
def test_not_finite_times_are_refused_as_abc_is(bad: str) -> None:
    # Before, they were read as times: they sorted last, became split's test targets and joined
    # sessions across the gap.
    with pytest.raises(InputError) as caught:
        parse_times(times("1700000000", None, bad, "1700000003"), "e.csv", "ts", first_row=10)
    assert str(caught.value) == (
        f"e.csv: row 13 has ts {bad!r}, which is not a time: use epoch seconds, epoch milliseconds "
        "or ISO 8601 (2024-05-01T13:45:00); fix or drop that row"
    )


def test_not_finite_numbers_and_a_nan_among_iso_times_are_refused() -> None:
    numbers = pa.chunked_array([pa.array([1.7e9, float("nan")])])
    with pytest.raises(InputError, match=r"^f: row 2 has ts 'nan', which is not a time"):
        parse_times(numbers, "f", "ts")
    with pytest.raises(InputError, match=r"^f: row 1 has ts 'nan', which is not a time: use epoch seconds"):
        parse_times(times("nan", "2024-05-01T10:00:00+02:00", "2024-05-01T10:00:00Z"), "f", "ts")
    with pytest.raises(InputError, match=r"^f: row 2 has ts 'inf', which is not a time"):
        parse_times(times("1700000000", "inf", "later"), "f", "ts")
    assert (
        parse_times(times("1700000000", None), "f", "ts").to_pylist()[0] == 1700000000.0
    )  # missing: dropped later


@pytest.mark.parametrize("batch", [1 << 24, 64])
def test_a_streamed_file_with_nan_times_names_the_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr("item2vec.corpus.events._BATCH_BYTES", batch)
    path = write_events(
        tmp_path / "e.csv", [str(1_700_000_000 + n) for n in range(30)] + ["-inf", "1700000031"]
    )
    with pytest.raises(InputError, match=r"e.csv: row 31 has ts '-inf', which is not a time"):
        load_corpus([open_source(str(path))], None, SessionOptions(time_col="ts"))
    result = CliRunner().invoke(cli, ["split", str(path), "-o", str(tmp_path / "s"), "--time-col", "ts"])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {path}: row 31 has ts '-inf', which is not a time")
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("gap", [float("nan"), 0.0, -5.0])
def test_a_session_gap_that_is_not_positive_is_refused(gap: float) -> None:
    with pytest.raises(ConfigError) as caught:
        SessionOptions(time_col="ts", session_gap=gap)
    assert (caught.value.param, caught.value.expected) == ("session_gap", "a positive duration")
    assert str(caught.value) == f"--session-gap {gap!r} is invalid: use a positive duration"
    assert python_terms(caught.value.raw) == f"session_gap={gap!r} is invalid: use a positive duration"


def test_a_session_gap_needs_a_time_column() -> None:
    with pytest.raises(ConfigError) as caught:
        SessionOptions(session_gap=60.0)
    assert caught.value.param == "session_gap"
    assert str(caught.value) == "--session-gap needs --time-col: sessions are split on time gaps"
    assert python_terms(caught.value.raw) == "session_gap= needs time=: sessions are split on time gaps"
