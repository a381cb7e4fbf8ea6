from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from item2vec.api.errors import python_terms
from item2vec.cli import cli
from item2vec.corpus.options import SessionOptions
from item2vec.corpus.split import split_events
from item2vec.errors import UNSET, ConfigError, EmptyResultError, InputError, OutputExistsError

HEADER = "user_id,item_id,ts,qty"
SESSION = SessionOptions(time_col="ts")


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def write_events(path: Path, rows: list[tuple[str, str, int]], *, gz: bool = False) -> Path:
    """Rows written shuffled (so ordering by time matters), with an extra column to carry along."""
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    text = HEADER + "\n" + "".join(f"{u},{i},{t},{n}\n" for n, (u, i, t) in enumerate(shuffled))
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def history(user: str, items: str, start: int = 1000) -> list[tuple[str, str, int]]:
    return [(user, item, start + 10 * n) for n, item in enumerate(items.split())]


ROWS = (
    history("u1", "a b c d e")
    + history("u2", "b c d")
    + history("u3", "x y")  # too short to hold anything out: stays in train
    + history("u4", "a a b b c c")  # repeats: a step is a run of the same item
)


def read_rows(path: Path) -> list[list[str]]:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    lines = raw.decode().splitlines()
    assert lines[0] == HEADER
    return [line.split(",") for line in lines[1:]]


def sequences(rows: list[list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[tuple[int, str]]] = {}
    for user, item, ts, _ in rows:
        out.setdefault(user, []).append((int(ts), item))
    return {u: [i for _, i in sorted(v)] for u, v in sorted(out.items())}


def test_leave_last_out_files_and_invariants(tmp_path: Path) -> None:
    events = write_events(tmp_path / "events.csv", ROWS)
    summary = split_events(str(events), tmp_path / "split", session=SESSION)
    assert {p: f.name for p, f in summary.files.items()} == {
        "train": "train.csv",
        "valid": "valid.csv",
        "test": "test.csv",
    }
    train, valid, test = (read_rows(summary.files[p]) for p in ("train", "valid", "test"))
    assert sequences(train) == {"u1": ["a", "b", "c"], "u2": ["b"], "u3": ["x", "y"], "u4": ["a", "a"]}
    assert sequences(valid) == {"u1": ["a", "b", "c", "d"], "u2": ["b", "c"], "u4": ["a", "a", "b", "b"]}
    assert sequences(test) == {
        "u1": ["a", "b", "c", "d", "e"],
        "u2": ["b", "c", "d"],
        "u4": ["a", "a", "b", "b", "c", "c"],
    }
    assert summary.sequences == {"train": 4, "valid": 3, "test": 3}
    assert summary.rows == {"train": 8, "valid": 10, "test": 14}
    # Rows are copied byte for byte, in input order; every user keeps a history in train.
    original = events.read_text().splitlines()[1:]
    for part in (train, valid, test):
        lines = [",".join(r) for r in part]
        assert lines == [line for line in original if line in lines]
    assert {r[0] for r in train} == {"u1", "u2", "u3", "u4"}


def test_no_test_target_leaks_into_train(tmp_path: Path) -> None:
    rng = random.Random(3)
    rows = [
        (f"u{u}", f"i{rng.randrange(30)}", 1000 + 7 * n)
        for u in range(40)
        for n in range(rng.randrange(1, 9))
    ]
    events = write_events(tmp_path / "events.csv", rows)
    summary = split_events(str(events), tmp_path / "out", session=SESSION)
    train = {tuple(r) for r in read_rows(summary.files["train"])}
    valid = read_rows(summary.files["valid"])
    test = read_rows(summary.files["test"])
    held = sequences(test)
    for user, seq in sequences(valid).items():
        assert held[user][: len(seq)] == seq  # valid is test without its target
    targets = [max((r for r in test if r[0] == u), key=lambda r: int(r[2])) for u in held]
    assert not any(tuple(t) in train for t in targets)
    assert {r[0] for r in train} == {u for u, _, _ in rows}


def test_gzip_input_gives_gzip_output(tmp_path: Path) -> None:
    events = write_events(tmp_path / "events.csv.gz", ROWS, gz=True)
    summary = split_events(str(events), tmp_path / "split", session=SESSION)
    assert summary.files["test"].name == "test.csv.gz"
    assert sequences(read_rows(summary.files["test"]))["u2"] == ["b", "c", "d"]


def test_split_by_time(tmp_path: Path) -> None:
    rows = history("u1", "a b c d e", 1000) + history("u2", "b c", 1000) + history("u3", "c d", 1100)
    events = write_events(tmp_path / "events.csv", rows)
    summary = split_events(str(events), tmp_path / "split", session=SESSION, by="time", cutoff="1025")
    train, valid, test = (sequences(read_rows(summary.files[p])) for p in ("train", "valid", "test"))
    assert train == {"u1": ["a", "b"], "u2": ["b", "c"]}
    assert valid == {"u1": ["a", "b", "c"]}
    assert test == {"u1": ["a", "b", "c", "d", "e"], "u3": ["c", "d"]}
    assert summary.sequences == {"train": 2, "valid": 1, "test": 2}


def test_parquet_and_jsonl_keep_their_format(tmp_path: Path) -> None:
    users, items, times = zip(*ROWS)
    table = pa.table({"user_id": list(users), "item_id": list(items), "ts": [str(t) for t in times]})
    pq.write_table(table, tmp_path / "events.parquet")
    summary = split_events(str(tmp_path / "events.parquet"), tmp_path / "pq", session=SESSION)
    assert pq.read_table(summary.files["test"]).num_rows == 14
    lines = [json.dumps({"user_id": u, "item_id": i, "ts": t}) for u, i, t in ROWS]
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n")
    summary = split_events(str(tmp_path / "events.jsonl"), tmp_path / "js", session=SESSION)
    written = summary.files["train"].read_text().splitlines()
    assert len(written) == 8 and all(line in lines for line in written)


def test_split_cli_prints_the_parts(tmp_path: Path) -> None:
    events = write_events(tmp_path / "events.csv", ROWS)
    result = run("split", events, "-o", tmp_path / "s", "--time-col", "ts", "-f", "json")
    assert result.exit_code == 0, result.output
    out = str(tmp_path / "s")
    assert json.loads(result.stdout) == [
        {"part": "train", "file": f"{out}/train.csv", "rows": 8, "sequences": 4},
        {"part": "valid", "file": f"{out}/valid.csv", "rows": 10, "sequences": 3},
        {"part": "test", "file": f"{out}/test.csv", "rows": 14, "sequences": 3},
    ]
    table = run("split", events, "-o", tmp_path / "t", "--time-col", "ts")
    assert table.exit_code == 0
    assert table.stdout.splitlines()[4] == f"test   {tmp_path / 't/test.csv'}     14          3"
    again = run("split", events, "-o", tmp_path / "s", "--time-col", "ts")
    assert again.exit_code == 1
    assert "already holds train.csv, valid.csv, test.csv: use --force" in again.output
    with pytest.raises(OutputExistsError) as caught:
        split_events(str(events), tmp_path / "s", session=SESSION)
    assert (caught.value.param, caught.value.value) == ("output", str(tmp_path / "s"))
    assert python_terms(caught.value.raw).endswith(
        "already holds train.csv, valid.csv, test.csv: use force=True to replace them"
    )


def test_empty_split_says_why(tmp_path: Path) -> None:
    events = write_events(tmp_path / "events.csv", history("u1", "a b") + history("u2", "c d"))
    with pytest.raises(EmptyResultError, match="no sequence has 3 or more items"):
        split_events(str(events), tmp_path / "s", session=SESSION)
    with pytest.raises(EmptyResultError, match="choose an earlier cutoff"):
        split_events(str(events), tmp_path / "s", session=SESSION, by="time", cutoff="2000-01-01")


@pytest.mark.parametrize(
    ("kwargs", "error", "message", "param"),
    [
        ({"by": "time"}, ConfigError, "--by time needs --cutoff DATE and --time-col", "cutoff"),
        ({"by": "time", "cutoff": "soon"}, ConfigError, "--cutoff 'soon' is not a time", "cutoff"),
        ({"cutoff": "2011-01-01"}, ConfigError, "--cutoff applies to --by time only", "cutoff"),
    ],
)
def test_split_option_errors(
    tmp_path: Path, kwargs: dict[str, str], error: type[Exception], message: str, param: str
) -> None:
    events = write_events(tmp_path / "events.csv", ROWS)
    with pytest.raises(error, match=message) as caught:
        split_events(str(events), tmp_path / "s", session=SESSION, **kwargs)  # type: ignore[arg-type]
    assert isinstance(caught.value, ConfigError) and caught.value.param == param
    assert caught.value.value == kwargs.get("cutoff", UNSET)


def test_a_cutoff_before_every_event_writes_nothing(tmp_path: Path) -> None:
    # Before, every sequence became a test case: empty train and valid files, and exit status 0.
    events = write_events(tmp_path / "events.csv", ROWS)
    with pytest.raises(EmptyResultError) as caught:
        split_events(str(events), tmp_path / "s", session=SESSION, by="time", cutoff="999")
    assert (caught.value.param, caught.value.value) == ("cutoff", "999")
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").iterdir())
    result = run("split", events, "-o", tmp_path / "s", "--time-col", "ts", "--by", "time", "--cutoff", "999")
    assert result.exit_code == 1
    assert result.output == (
        "Error: no event is before --cutoff 999: nothing would be left to train on; "
        "choose a later cutoff inside the data's time range\n"
    )
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").iterdir())


def test_split_refuses_non_tables_and_files_as_output(tmp_path: Path) -> None:
    seqs = tmp_path / "seqs.txt"
    seqs.write_text("a b c\nd e f\n")
    with pytest.raises(InputError, match="reads as sequences, not an event table"):
        split_events(str(seqs), tmp_path / "s", session=SESSION)
    events = write_events(tmp_path / "events.csv", ROWS)
    with pytest.raises(OutputExistsError, match="is a file"):
        split_events(str(events), seqs, session=SESSION)


# all three files or none (issue 15, item 3) --------------------------------------------------------


def failing_second_write(
    monkeypatch: pytest.MonkeyPatch, error: BaseException, parquet: bool = False
) -> None:
    """Fail the second of the three part writes (valid), after train was written."""
    import pyarrow.parquet as pq_module

    owner, name = (pq_module, "write_table") if parquet else (gzip.GzipFile, "write")
    real = getattr(owner, name)
    calls = []

    def write(*args: object, **kwargs: object) -> object:
        calls.append(args)
        if len(calls) == 2:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, write)


def split_dir_state(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("parquet", [False, True])
@pytest.mark.parametrize("error", [KeyboardInterrupt(), OSError(28, "No space left on device")])
def test_interrupted_split_with_force_keeps_all_three_old_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException, parquet: bool
) -> None:
    from item2vec.errors import OutputError

    def write(rows: list[tuple[str, str, int]]) -> Path:
        if not parquet:
            return write_events(tmp_path / "events.csv.gz", rows, gz=True)
        users, items, times = zip(*rows)
        table = pa.table({"user_id": list(users), "item_id": list(items), "ts": list(times)})
        pq.write_table(table, tmp_path / "events.parquet")
        return tmp_path / "events.parquet"

    split_events(str(write(ROWS)), tmp_path / "s", session=SESSION)
    before = split_dir_state(tmp_path / "s")
    events = write(ROWS + history("u5", "p q r s"))  # new files would differ from the old ones
    failing_second_write(monkeypatch, error, parquet)
    expected = OutputError if isinstance(error, OSError) else KeyboardInterrupt
    with pytest.raises(expected) as info:
        split_events(str(events), tmp_path / "s", session=SESSION, force=True)
    monkeypatch.undo()
    assert split_dir_state(tmp_path / "s") == before  # no new train beside the old test, no .tmp
    if expected is OutputError:
        valid = tmp_path / "s" / ("valid.parquet" if parquet else "valid.csv.gz")
        assert str(info.value) == (
            f"no space left on the device writing {str(valid)!r}: free some space or choose another "
            "output path (nothing was written)"
        )


def test_split_full_disk_is_one_error_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events = write_events(tmp_path / "events.csv.gz", ROWS, gz=True)
    failing_second_write(monkeypatch, OSError(28, "No space left on device"))
    result = run("split", events, "-o", tmp_path / "s", "--time-col", "ts")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no space left on the device writing ")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "s").exists()


def test_split_without_force_keeps_a_file_made_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = write_events(tmp_path / "events.csv", ROWS)
    import item2vec.corpus.split as split_module

    real = split_module.read_table

    def other_run_writes_test(*args: object, **kwargs: object) -> object:
        (tmp_path / "s").mkdir()
        (tmp_path / "s" / "test.csv").write_text("theirs")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(split_module, "read_table", other_run_writes_test)
    with pytest.raises(OutputExistsError, match=r"test\.csv' already exists"):
        split_events(str(events), tmp_path / "s", session=SESSION)
    assert split_dir_state(tmp_path / "s") == {"test.csv": b"theirs"}


def test_split_checks_the_output_is_writable_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    import item2vec.corpus.split as split_module
    from item2vec.errors import OutputError

    events = write_events(tmp_path / "events.csv", ROWS)

    def read_only(**_kwargs: object) -> str:
        raise PermissionError(13, "Permission denied")

    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("read the input before checking the output")

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    monkeypatch.setattr(split_module, "read_table", never)
    with pytest.raises(OutputError, match="permission denied"):
        split_events(str(events), tmp_path / "s", session=SESSION)
