"""`item2vec export` for vector stores: the files written, stdout, and the errors as the CLI words them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli
from tests.conftest import TINY_VECTORS


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_word2vec_export_says_both_files(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "v.txt"
    result = run("export", tiny_model, "-f", "word2vec", "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stderr == f"wrote {out}\nwrote {out}.vocab\n"
    assert (tmp_path / "v.txt.vocab").read_text(encoding="utf-8").splitlines()[0] == "king 80"


def test_jsonl_to_stdout_is_unit_length_unless_no_normalize(tiny_model: Path) -> None:
    result = run("export", tiny_model, "-f", "jsonl", "-o", "-")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == list(TINY_VECTORS)
    assert records[2]["vector"] == [1.0, 0.0, 0.0, 0.0]  # man: already unit length
    assert records[0]["vector"][0] == pytest.approx(2**-0.5)  # king (1, 0, 1, 0) scaled
    raw = run("export", tiny_model, "-f", "jsonl", "-o", "-", "--no-normalize")
    assert json.loads(raw.stdout.splitlines()[0])["vector"] == [1.0, 0.0, 1.0, 0.0]


def test_faiss_no_normalize_is_refused_in_flag_terms(tiny_model: Path, tmp_path: Path) -> None:
    result = run("export", tiny_model, "-f", "faiss", "-o", tmp_path / "v.faiss", "--no-normalize")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: --format faiss holds unit-length vectors (its inner product is the cosine that item2vec "
        "ranks by): drop --no-normalize\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny"]  # the model alone: nothing written


def test_faiss_export_writes_the_index_and_its_ids(tiny_model: Path, tmp_path: Path) -> None:
    pytest.importorskip("faiss")
    out = tmp_path / "items.faiss"
    result = run("export", tiny_model, "-f", "faiss", "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stderr == f"wrote {out}\nwrote {tmp_path / 'items.ids.txt'}\n"
    again = run("export", tiny_model, "-f", "faiss", "-o", out)
    assert again.exit_code == 1 and "use --force to overwrite it" in again.stderr


def test_parquet_no_normalize_is_recorded(tiny_model: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    assert run("export", tiny_model, "-f", "parquet", "-o", tmp_path / "a.parquet").exit_code == 0
    assert (
        run("export", tiny_model, "-f", "parquet", "-o", tmp_path / "b.parquet", "--no-normalize").exit_code
        == 0
    )
    normalized = pq.read_schema(tmp_path / "a.parquet").metadata[b"item2vec.normalized"]
    raw = pq.read_schema(tmp_path / "b.parquet").metadata[b"item2vec.normalized"]
    assert (normalized, raw) == (b"true", b"false")
    assert pq.read_schema(tmp_path / "a.parquet").metadata[b"item2vec.model_id"]  # a saved model has one
