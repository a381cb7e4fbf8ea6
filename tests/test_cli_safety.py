"""Nothing lost, nothing half-written: odd ids, foreign files, races, signals, full and read-only disks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli import FAST, planted_rows, run

# --- ids that hold line breaks (issue 15, item 1) -------------------------------------------------


def jsonl_with(path: Path, odd: str) -> Path:
    rows = planted_rows(users=60)
    lines = [json.dumps({"user_id": u, "item_id": i}) for u, i, _ in rows]
    lines += [json.dumps({"user_id": u, "item_id": odd}) for u in ("00000", "00003", "00006")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("odd", ["a\rb", "c\nd", "e\tf", "g\r\nh"])
def test_ids_with_line_breaks_train_and_answer(tmp_path: Path, odd: str) -> None:
    events = jsonl_with(tmp_path / "e.jsonl", odd)
    names = tmp_path / "names.jsonl"
    names.write_text(json.dumps({"item_id": odd, "title": f"odd\r{odd}"}) + "\n", encoding="utf-8")
    trained = run("train", events, "-o", tmp_path / "m", "--items", names, *FAST)
    assert trained.exit_code == 0, trained.output
    similar = run("similar", tmp_path / "m", odd, "-k", "2", "-f", "json")
    assert similar.exit_code == 0, similar.output
    info = json.loads(run("info", tmp_path / "m", "-f", "json").stdout)
    assert info["named_items"] == 1


def test_quoted_carriage_return_in_csv_round_trips(tmp_path: Path) -> None:
    rows = planted_rows(users=60)
    events = tmp_path / "e.csv"
    body = "".join(f"{u},{i}\n" for u, i, _ in rows) + '00000,"a\rb"\n00003,"a\rb"\n'
    events.write_bytes(("user_id,item_id\n" + body).encode())
    assert run("train", events, "-o", tmp_path / "m", *FAST).exit_code == 0
    result = run("similar", tmp_path / "m", "a\rb", "-k", "1", "-f", "jsonl")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["query"] == "a\rb"


# --- multi-file exports (item 2) -----------------------------------------------------------------


def test_ctrl_c_during_npy_export_with_force_keeps_the_old_pair(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from item2vec.export import formats

    out = tmp_path / "v.npy"
    assert run("export", tiny_model, "-f", "npy", "-o", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in tmp_path.glob("v.*")}

    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(formats, "_npy_vectors", interrupted)
    result = run("export", tiny_model, "-f", "npy", "-o", out, "--force")
    assert result.exit_code == 130
    assert "Interrupted: nothing was written." in result.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.glob("v.*")} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
