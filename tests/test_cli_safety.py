"""Nothing lost, nothing half-written: odd ids, foreign files, races, signals, full and read-only disks."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import Result

from item2vec.model.embeddings import Embeddings
from tests.test_cli import FAST, planted_rows, run

# --- ids that hold line breaks (issue 15, item 1) -------------------------------------------------


def jsonl_with(path: Path, odd: str) -> Path:
    rows = planted_rows(users=60)
    lines = [json.dumps({"user_id": u, "item_id": i}) for u, i, _ in rows]
    lines += [json.dumps({"user_id": u, "item_id": odd}) for u in ("00000", "00003", "00006")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("odd", ["a\rb", "c\nd", "e\tf", "g\r\nh"])
@pytest.mark.slow
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


def test_neighbour_tables_with_a_carriage_return_id(tmp_path: Path) -> None:
    import pandas as pd

    from item2vec.model.store import save

    ids = ["a\rb", "plain", "other"]
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1]], dtype=np.float32)
    save(Embeddings(ids=ids, vectors=vectors, counts=np.ones(3, np.int64)), tmp_path / "m")
    tsv = run("similar", tmp_path / "m", "--all", "-k", "1", "-o", tmp_path / "n.tsv")
    assert tsv.exit_code == 1
    assert "unquoted TSV cannot hold: write .csv or .parquet" in tsv.stderr
    assert not (tmp_path / "n.tsv").exists()
    assert run("similar", tmp_path / "m", "--all", "-k", "1", "-o", tmp_path / "n.csv").exit_code == 0
    frame = pd.read_csv(tmp_path / "n.csv", dtype=str, keep_default_na=False)
    assert frame["query"].tolist() == ids and frame["item"].tolist() == ["plain", "a\rb", "plain"]


# --- multi-file exports (item 2) -----------------------------------------------------------------


def test_ctrl_c_during_npy_export_with_force_keeps_the_old_pair(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from item2vec.export import formats
    from item2vec.model.store import save

    other = tmp_path / "other"
    ids = [f"sku-{i}" for i in range(200)]
    save(Embeddings(ids=ids, vectors=np.ones((200, 3), np.float32), counts=np.ones(200, np.int64)), other)
    out = tmp_path / "v.npy"
    assert run("export", tiny_model, "-f", "npy", "-o", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in tmp_path.glob("v.*")}

    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(formats, "_npy_vectors", interrupted)
    result = run("export", other, "-f", "npy", "-o", out, "--force")
    assert result.exit_code == 130
    assert "Interrupted: nothing was written." in result.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.glob("v.*")} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# --- train into a directory that holds other files (item 5) --------------------------------------


@pytest.fixture
def events_csv(tmp_path: Path) -> Path:
    path = tmp_path / "events.csv"
    path.write_text("user_id,item_id,ts\n" + "".join(f"{u},{i},{t}\n" for u, i, t in planted_rows(users=60)))
    return path


def never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make reading the input fail the test: refusals must come before any work."""
    import item2vec.training.pipeline

    def read(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the input was read before the output was checked")

    monkeypatch.setattr(item2vec.training.pipeline, "load_corpus", read)


def test_train_force_keeps_files_it_did_not_write(
    tmp_path: Path, events_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "m"
    assert run("train", events_csv, "-o", model, *FAST).exit_code == 0
    (model / "NOTES.md").write_text("why this model", encoding="utf-8")
    (model / "plots").mkdir()
    (model / "plots" / "map.png").write_bytes(b"png")
    never_read(monkeypatch)
    result = run("train", events_csv, "-o", model, "--force", *FAST)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: model directory '{model}' also holds files item2vec did not write (NOTES.md, plots/): "
        "move them out or choose another output (--force replaces only a model's own files)\n"
    )
    assert (model / "NOTES.md").read_text(encoding="utf-8") == "why this model"
    assert (model / "plots" / "map.png").read_bytes() == b"png"


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_train_force_onto_a_file_or_other_directory_is_refused(
    tmp_path: Path, events_csv: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    target = tmp_path / "out"
    if kind == "file":
        target.write_text("precious", encoding="utf-8")
    else:
        target.mkdir()
        (target / "keep.txt").write_text("precious", encoding="utf-8")
    never_read(monkeypatch)
    result = run("train", events_csv, "-o", target, "--force", *FAST)
    assert result.exit_code == 1
    described = "a file" if kind == "file" else "a directory with other files"
    assert result.stderr == (
        f"Error: output '{target}' is {described}, not an item2vec model: choose another path "
        "(--force only replaces a model)\n"
    )
    assert (target if kind == "file" else target / "keep.txt").read_text(encoding="utf-8") == "precious"


# --- two runs with the same -o (item 6) ----------------------------------------------------------


def test_concurrent_train_to_the_same_output_one_fails(
    tmp_path: Path, events_csv: Path, tiny: Embeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other run renames its model into place while ours writes its files: ours must fail."""
    from item2vec.model import store

    model = tmp_path / "m"
    real = store._write_tsv

    def other_run_finishes_first(*args: object) -> None:
        if not model.exists():
            monkeypatch.setattr(store, "_write_tsv", real)
            store.save(tiny, model)
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_write_tsv", other_run_finishes_first)
    result = run("train", events_csv, "-o", model, *FAST)
    assert result.exit_code == 1
    assert result.stderr == f"Error: model directory '{model}' already exists: use --force to replace it\n"
    assert store.load(model).ids == tiny.ids
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv", "m"]


# --- read-only outputs and full disks (item 11) --------------------------------------------------


def refuse_probe(monkeypatch: pytest.MonkeyPatch, code: int = errno.EACCES) -> None:
    """Every new directory is refused, as on a read-only or permission-less output directory."""

    def refused(**_kwargs: object) -> str:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(tempfile, "mkdtemp", refused)


def one_error_line(result: Result, start: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(start), result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr


def full_disk(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize(
    ("code", "reason"), [(errno.EACCES, "permission denied"), (errno.EROFS, "read-only file system")]
)
def test_train_into_a_read_only_directory_fails_before_reading(
    tmp_path: Path, events_csv: Path, monkeypatch: pytest.MonkeyPatch, code: int, reason: str
) -> None:
    refuse_probe(monkeypatch, code)
    never_read(monkeypatch)
    result = run("train", events_csv, "-o", tmp_path / "out" / "m", *FAST)
    one_error_line(
        result, f"Error: cannot write '{tmp_path / 'out' / 'm'}' ({reason}): choose another output path"
    )


def test_train_below_a_file_fails_before_reading(
    tmp_path: Path, events_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    never_read(monkeypatch)
    result = run("train", events_csv, "-o", events_csv / "m", *FAST)
    one_error_line(
        result, f"Error: cannot create '{events_csv / 'm'}': '{events_csv}' is a file, not a directory"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_train_into_a_real_read_only_directory(tmp_path: Path, events_csv: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = run("train", events_csv, "-o", locked / "m", *FAST)
    finally:
        locked.chmod(0o755)
    one_error_line(result, f"Error: cannot write '{locked / 'm'}' (permission denied)")
    assert list(locked.iterdir()) == []


def test_full_disk_while_saving_the_model(
    tmp_path: Path, events_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from item2vec.model import store

    monkeypatch.setattr(store, "_write_tsv", full_disk)
    result = run("train", events_csv, "-o", tmp_path / "m", *FAST)
    one_error_line(result, f"Error: no space left on the device writing '{tmp_path / 'm'}': free some space")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv"]


def test_full_disk_for_the_temporary_corpus_file(
    tmp_path: Path, events_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from item2vec.corpus.packed import Packed

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(Packed, "write_codes", full_disk)
    result = run("train", events_csv, "-o", tmp_path / "m", "--corpus-mode", "file", *FAST)
    one_error_line(
        result,
        f"Error: no space left on the device for the temporary corpus file in '{scratch}' (",
    )
    assert "set TMPDIR to a disk with room, or use --corpus-mode stream" in result.stderr
    assert list(scratch.iterdir()) == []
    assert not (tmp_path / "m").exists()


def test_full_disk_during_export(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from item2vec.export import formats

    monkeypatch.setattr(formats, "_ids_file", full_disk)
    result = run("export", tiny_model, "-f", "npy", "-o", tmp_path / "v.npy")
    one_error_line(result, f"Error: no space left on the device writing '{tmp_path / 'v.ids.txt'}'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny"]


@pytest.mark.parametrize("command", ["similar", "recommend"])
def test_full_disk_writing_a_table(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    from item2vec.corpus import tables

    events = tmp_path / "events.csv"
    events.write_text("user_id,item_id\nu1,king\nu1,queen\nu2,apple\n", encoding="utf-8")
    out = tmp_path / "table.parquet"
    args = ["--all"] if command == "similar" else ["--events", events]
    assert run(command, tiny_model, *args, "-o", out).exit_code == 0
    before = out.read_bytes()
    monkeypatch.setattr(tables, "_write", full_disk)
    result = run(command, tiny_model, *args, "-o", out, "--force")
    one_error_line(result, f"Error: no space left on the device writing '{out}'")
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv", "table.parquet", "tiny"]


@pytest.mark.parametrize("command", ["similar", "recommend", "export", "split", "plot"])
def test_read_only_output_is_refused_before_the_work(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    events = tmp_path / "events.csv"
    events.write_text("user_id,item_id\nu1,king\nu1,queen\nu1,man\nu1,woman\n", encoding="utf-8")
    out = tmp_path / "out" / {"export": "v.npy", "split": "split", "plot": "map.html"}.get(command, "t.csv")
    args = {
        "similar": ["similar", tiny_model, "--all", "-o", out],
        "recommend": ["recommend", tiny_model, "--events", events, "-o", out],
        "export": ["export", tiny_model, "-f", "npy", "-o", out],
        "split": ["split", events, "-o", out],
        "plot": ["plot", tiny_model, "-o", out],
    }[command]
    refuse_probe(monkeypatch)
    result = run(*args)
    one_error_line(result, f"Error: cannot write '{out}' (permission denied)")
    assert not (tmp_path / "out").exists()


def test_tune_checks_its_config_output_before_searching(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import item2vec.evaluation.tune_run

    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("searched before checking the output")

    monkeypatch.setattr(item2vec.evaluation.tune_run, "read_sequences", never)
    refuse_probe(monkeypatch)
    out = tmp_path / "out" / "best.toml"
    result = run("tune", tmp_path / "train.csv", tmp_path / "valid.csv", "-c", out)
    one_error_line(result, f"Error: cannot write '{out}' (permission denied)")


# --- SIGTERM cleans up like Ctrl-C (item 19) -----------------------------------------------------


@pytest.mark.parametrize(
    ("signum", "code", "word"), [(signal.SIGTERM, 143, "Terminated"), (signal.SIGINT, 130, "Interrupted")]
)
@pytest.mark.slow
def test_signal_during_training_removes_the_temporary_corpus_file(
    tmp_path: Path, events_csv: Path, signum: int, code: int, word: str
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    command = [
        sys.executable, "-m", "item2vec", "train", str(events_csv), "-o", str(tmp_path / "m"),
        "--corpus-mode", "file", "--epochs", "1000000", "--workers", "1", "--dim", "8", "--min-count", "1",
    ]  # fmt: skip
    proc = subprocess.Popen(command, env={**os.environ, "TMPDIR": str(scratch)}, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120  # a generous bound for a slow machine, not a wait we rely on
        while not list(scratch.glob("item2vec-corpus-*")):
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "the temporary corpus file never appeared"
            time.sleep(0.02)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()  # never leave a million-epoch run behind if an assertion fails
    assert proc.returncode == code, err.decode()
    assert err.decode().endswith(f"{word}: nothing was written.\n")
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv", "scratch"]


def test_terminated_exits_143_and_the_handler_is_restored(
    tmp_path: Path, events_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import item2vec.training.pipeline
    from item2vec.cli.signals import Terminated

    def terminated(*_args: object, **_kwargs: object) -> None:
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, before)
        raise Terminated

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(item2vec.training.pipeline, "train", terminated)
    result = run("train", events_csv, "-o", tmp_path / "m", *FAST)
    assert result.exit_code == 143
    assert result.stderr == "\nTerminated: nothing was written.\n"
    assert signal.getsignal(signal.SIGTERM) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv"]
