"""``--delimiter``: read a semicolon (or any one-character) CSV, and reuse the model's delimiter."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli

FAST = ["--dim", "8", "--epochs", "2", "--min-count", "1", "--workers", "1", "-q"]


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def semicolon_csv(path: Path, users: int = 30, prefix: str = "u") -> Path:
    rows = [
        f"{prefix}{u};{'ab'[u % 2]}{(u + step) % 6};{1_700_000_000 + 60 * step}"
        for u in range(users)
        for step in range(5)
    ]
    path.write_text("user_id;item_id;ts\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture
def model(tmp_path: Path) -> Path:
    out = tmp_path / "m"
    result = run(
        "train", semicolon_csv(tmp_path / "e.csv"), "-o", out, "--delimiter", ";", "--time-col", "ts", *FAST
    )
    assert result.exit_code == 0, result.output
    return out


def test_train_records_the_delimiter(model: Path) -> None:
    meta = json.loads((model / "model.json").read_text())
    assert meta["input"]["session"]["delimiter"] == ";"
    assert meta["input"]["events_read"] == 150


def test_without_the_delimiter_the_error_suggests_it(tmp_path: Path) -> None:
    path = semicolon_csv(tmp_path / "e.csv")
    result = run("train", path, "-o", tmp_path / "m")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {path}: no columns 'user_id', 'item_id'; the columns are: user_id;item_id;ts (the header reads "
        "as one column: is the delimiter ';'? add --delimiter ';')\n"
    )


def test_update_and_evaluate_reuse_the_models_delimiter(model: Path, tmp_path: Path) -> None:
    new = semicolon_csv(tmp_path / "new.csv", users=10, prefix="n")
    result = run("update", model, new, "-o", tmp_path / "m2", "--epochs", "1", "-q")
    assert result.exit_code == 0, result.output
    result = run("evaluate", model, new, "--no-baselines", "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["next-item"][0]["cases"] == 10


def test_split_writes_the_delimiter_it_read_and_evaluate_reads_it(model: Path, tmp_path: Path) -> None:
    events = tmp_path / "e.csv"
    result = run("split", events, "-o", tmp_path / "s", "--delimiter", ";", "--time-col", "ts")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s" / "test.csv").read_text().startswith("user_id;item_id;ts\n")
    result = run("evaluate", model, tmp_path / "s" / "test.csv", "-f", "json")
    assert result.exit_code == 0, result.output


def test_tab_as_backslash_t(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(semicolon_csv(tmp_path / "x.csv").read_text().replace(";", "\t"))
    result = run("train", path, "-o", tmp_path / "m", "--delimiter", "\\t", *FAST)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m" / "model.json").read_text())["input"]["session"]["delimiter"] == "\t"


def test_config_file_sets_the_delimiter(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('[train]\ndelimiter = ";"\n')
    result = run(
        "train",
        semicolon_csv(tmp_path / "e.csv"),
        "-o",
        tmp_path / "m",
        "--config",
        tmp_path / "c.toml",
        *FAST,
    )
    assert result.exit_code == 0, result.output


def test_a_delimiter_must_be_one_character(tmp_path: Path) -> None:
    result = run("train", semicolon_csv(tmp_path / "e.csv"), "-o", tmp_path / "m", "--delimiter", ";;")
    assert result.exit_code == 2
    assert "Invalid value for '--delimiter': --delimiter ';;' is invalid: use one character" in result.output


def test_a_delimiter_for_parquet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({"user_id": ["u", "u"], "item_id": ["a", "b"]}), path)
    result = run("train", path, "-o", tmp_path / "m", "--delimiter", ";")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: --delimiter ';' applies to CSV/TSV input, but {path} reads as parquet: drop --delimiter, "
        "or pass --input-format csv if it is a CSV file\n"
    )


def test_an_inherited_delimiter_is_ignored_for_parquet(model: Path, tmp_path: Path) -> None:
    path = tmp_path / "test.parquet"
    pq.write_table(pa.table({"user_id": ["u1", "u1"], "item_id": ["a1", "a2"], "ts": ["1", "2"]}), path)
    result = run("evaluate", model, path, "--no-baselines", "-f", "json")
    assert result.exit_code == 0, result.output


def test_recommend_events_reuses_the_delimiter(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "rec.csv"
    result = run("recommend", model, "--events", tmp_path / "e.csv", "-o", out, "-k", "2")
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith('"user","rank","item","score"\n"u0",1,')


def test_recommend_delimiter_needs_events(model: Path) -> None:
    result = run("recommend", model, "--history", "a1", "--delimiter", ";")
    assert result.exit_code == 2
    assert "--delimiter applies to --events only" in result.output
