"""``recommend --events LOG --user-vectors``: every user's vector, written as a table (query/users.py)."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from item2vec.cli import cli
from item2vec.model.store import load
from item2vec.query.recommend import history_query

USER_LOG = (
    "user_id,item_id,ts\n"
    "u1,king,3\nu1,man,1\nu1,woman,2\n"  # in time order: man, woman, king
    "u2,apple,5\nu2,nope,6\n"
    "u3,nope,1\n"  # nothing known: no vector
)


@pytest.fixture
def log_csv(tmp_path: Path) -> Path:
    path = tmp_path / "log.csv"
    path.write_text(USER_LOG)
    return path


def test_recommend_writes_user_vectors(tmp_path: Path, tiny_model: Path, log_csv: Path) -> None:
    out = tmp_path / "users.parquet"
    args = ["recommend", str(tiny_model), "--events", str(log_csv), "--time-col", "ts", "--decay", "0.5"]
    result = CliRunner().invoke(cli, [*args, "--user-vectors", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("wrote 2 rows for 2 users to ")
    assert result.stderr.rstrip().endswith("; 1 users had no item in the model and got no rows")
    table = pq.read_table(out)
    assert table.column_names == ["user", "vector"] and table["user"].to_pylist() == ["u1", "u2"]
    expected = history_query(load(tiny_model), ["man", "woman", "king"], decay=0.5).vector
    assert table["vector"][0].as_py() == pytest.approx(expected.tolist(), abs=1e-6)
    wide = tmp_path / "users.csv"
    result = CliRunner().invoke(cli, [*args, "--user-vectors", "-o", str(wide)])
    assert result.exit_code == 0, result.output
    lines = wide.read_text().splitlines()
    assert lines[0] == '"user","v0","v1","v2","v3"' and lines[2].startswith('"u2",0,0,0,1')
    assert math.isclose(float(lines[1].split(",")[1]), expected[0], abs_tol=1e-6)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--history", "king"], "--user-vectors needs --events FILE (and -o FILE)"),
        (["-k", "5"], "--user-vectors writes vectors, not candidates: -k does not apply"),
        (["--keep-seen", "--approx"], "--keep-seen, --approx do not apply"),
        (
            ["--score", "next"],
            "--user-vectors writes vectors, not candidates: --score/--hybrid-* does not apply",
        ),
        (["--hybrid-weight", "3"], "--score/--hybrid-* does not apply"),
    ],
)
def test_recommend_user_vectors_usage_errors(
    tmp_path: Path, tiny_model: Path, log_csv: Path, extra: list[str], message: str
) -> None:
    events = [] if "--history" in extra else ["--events", str(log_csv), "-o", str(tmp_path / "u.parquet")]
    result = CliRunner().invoke(cli, ["recommend", str(tiny_model), *events, "--user-vectors", *extra])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "u.parquet").exists()
