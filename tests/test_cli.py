from __future__ import annotations

import ast
import gzip
import json
import random
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli

FAST = ["--dim", "12", "--epochs", "5", "--min-count", "1", "--sample", "0", "--workers", "1", "-q"]


def run(*args: str | Path, input: str | bytes | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def planted_rows(seed: int = 0, users: int = 240) -> list[tuple[str, str, int]]:
    """(user, item, epoch second): each user buys from one of three disjoint clusters."""
    rng = random.Random(seed)
    rows = []
    for u in range(users):
        cluster = u % 3
        for step in range(6):
            rows.append((f"{u:05d}", f"{cluster}{rng.randrange(6):02d}", 1_700_000_000 + u * 100 + step))
    rng.shuffle(rows)
    return rows


@pytest.fixture
def events_csv(tmp_path: Path) -> Path:
    path = tmp_path / "events.csv"
    lines = ["user_id,item_id,ts"] + [f"{u},{i},{t}" for u, i, t in planted_rows()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def items_csv(tmp_path: Path) -> Path:
    path = tmp_path / "items.csv"
    names = {0: "Red", 1: "Green", 2: "Blue"}
    path.write_text(
        "item_id,title\n" + "".join(f"{c}{n:02d},{names[c]} thing {n}\n" for c in range(3) for n in range(6))
    )
    return path


@pytest.fixture
def trained(tmp_path: Path, events_csv: Path, items_csv: Path) -> Path:
    out = tmp_path / "model"
    result = run("train", events_csv, "-o", out, "--time-col", "ts", "--items", items_csv, *FAST)
    assert result.exit_code == 0, result.output
    return out


# --- train ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_train_writes_a_model_and_a_summary(tmp_path: Path, events_csv: Path, items_csv: Path) -> None:
    out = tmp_path / "m"
    result = run("train", events_csv, "-o", out, "--time-col", "ts", "--items", items_csv, *FAST[:-1])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "Read 1,440 events (csv)" in result.stderr
    assert "Dropped" in result.stderr and "consecutive repeats" in result.stderr
    assert "Items: 18 kept, 0 dropped by --min-count 1; 18 with names" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "model.json",
        "syn1neg.npy",
        "items.tsv",
        "vectors.npy",
        "vocab.tsv",
    ][:0] + sorted(["model.json", "syn1neg.npy", "items.tsv", "transitions.npz", "vectors.npy", "vocab.tsv"])
    meta = json.loads((out / "model.json").read_text())
    assert meta["params"]["dim"] == 12 and meta["params"]["preset"] == "recsys"
    assert meta["input"]["events_read"] == 1440


def test_trained_neighbours_stay_in_cluster(trained: Path) -> None:
    result = run("similar", trained, "000", "100", "200", "-k", "4", "-f", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 12
    assert all(r["item"][0] == r["query"][0] for r in rows)
    assert rows[0]["name"].startswith("Red thing")


@pytest.mark.parametrize("fmt", ["tsv", "parquet", "jsonl", "csv.gz"])
def test_train_every_table_format(tmp_path: Path, fmt: str) -> None:
    rows = planted_rows(users=60)
    path = tmp_path / f"e.{fmt}"
    if fmt == "tsv":
        path.write_text("user_id\titem_id\n" + "".join(f"{u}\t{i}\n" for u, i, _ in rows))
    elif fmt == "parquet":
        pq.write_table(pa.table({"user_id": [r[0] for r in rows], "item_id": [r[1] for r in rows]}), path)
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps({"user_id": u, "item_id": i}) + "\n" for u, i, _ in rows))
    else:
        path.write_bytes(
            gzip.compress(("user_id,item_id\n" + "".join(f"{u},{i}\n" for u, i, _ in rows)).encode())
        )
    result = run("train", path, "-o", tmp_path / "m", *FAST)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m" / "vectors.npy").is_file()


def test_train_from_stdin_and_sequences(tmp_path: Path) -> None:
    seqs = "".join(
        " ".join(f"{c}{random.Random(n).randrange(5)}{k}" for k in range(4)) + "\n"
        for n in range(90)
        for c in "ab"
    )
    result = run("train", "-", "-o", tmp_path / "m", *FAST[:-1], input=seqs)
    assert result.exit_code == 0, result.output
    assert "(sequences)" in result.stderr
    info = json.loads(run("info", tmp_path / "m", "-f", "json").stdout)
    assert info["input"]["input_format"] == "sequences"


def test_train_text_uses_text_preset(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("the cat sat on the mat with another cat and the dog\n" * 30)
    result = run("train", path, "-o", tmp_path / "m", "--dim", "8", "--epochs", "2", "--workers", "1", "-q")
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["params"]["preset"] == "text" and meta["params"]["ns_exponent"] == 0.75
    assert meta["params"]["min_count"] == 5


def test_config_file_sets_defaults_and_flags_win(tmp_path: Path, events_csv: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[train]\ndim = 6\nepochs = 2\nmin-count = 1\nworkers = 1\ntime-col = "ts"\ncontext = "set"\n'
    )
    result = run("train", events_csv, "-o", tmp_path / "m", "--config", config, "--dim", "7", "-q")
    assert result.exit_code == 0, result.output
    params = json.loads((tmp_path / "m" / "model.json").read_text())["params"]
    assert (params["dim"], params["epochs"], params["context"]) == (7, 2, "set")


def test_force_replaces_a_model(tmp_path: Path, events_csv: Path, trained: Path) -> None:
    again = run("train", events_csv, "-o", trained, *FAST)
    assert again.exit_code == 1
    assert f"Error: model directory '{trained}' already exists: use --force to replace it" in again.stderr
    forced = run("train", events_csv, "-o", trained, "--force", *FAST)
    assert forced.exit_code == 0, forced.output


def test_output_holding_other_files_is_refused(tmp_path: Path, events_csv: Path) -> None:
    out = tmp_path / "notes"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = run("train", events_csv, "-o", out, "--force", *FAST)
    assert result.exit_code == 1
    assert "is a directory with other files, not an item2vec model" in result.stderr
    assert (out / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (None, [], "input file '{dir}/missing.csv' does not exist"),
        ("", [], "input '{dir}/bad.csv' is empty"),
        ("user,sku\nu,a\n", [], "no columns 'user_id', 'item_id'; the columns are: user, sku"),
        (
            "user_id,item_id,ts\nu,a,2024-01-01\nu,b,noon\n",
            ["--time-col", "ts"],
            "row 2 has ts 'noon', which is not a time",
        ),
        ("user_id,item_id,e\nu,a,x\nu,b,x\n", ["--where", "e=y"], "no rows left of 2 (2 by --where e=y)"),
        ("user_id,item_id\nu,a\nv,b\n", [], "no sequence has at least --min-length 2 items"),
        ("user_id,item_id\nu,a\nu,b\n", ["--min-count", "3"], "all 2 items are below --min-count 3"),
    ],
)
def test_train_errors(tmp_path: Path, content: str | None, extra: list[str], message: str) -> None:
    path = tmp_path / ("missing.csv" if content is None else "bad.csv")
    if content is not None:
        path.write_text(content)
    result = run("train", path, "-o", tmp_path / "m", *FAST, *extra)  # later flags win
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ")
    assert message.format(dir=tmp_path) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()


def test_usage_errors_exit_2(tmp_path: Path, events_csv: Path) -> None:
    bad_format = run("train", events_csv, "-o", tmp_path / "m", "--input-format", "xml")
    assert bad_format.exit_code == 2 and "'xml' is not one of" in bad_format.stderr
    bad_gap = run("train", events_csv, "-o", tmp_path / "m", "--session-gap", "soon")
    assert bad_gap.exit_code == 2 and "duration 'soon' is invalid" in bad_gap.stderr
    config = tmp_path / "c.toml"
    config.write_text("dim = [\n")
    bad_config = run("train", events_csv, "-o", tmp_path / "m", "--config", config)
    assert bad_config.exit_code == 2 and "is not valid TOML" in bad_config.stderr
    bad_value = run("train", events_csv, "-o", tmp_path / "m", "--dim", "0", "-q")
    assert bad_value.exit_code == 1 and "Error: --dim 0 is invalid" in bad_value.stderr
    assert not (tmp_path / "m").exists()


def test_ctrl_c_exits_130_and_leaves_nothing(
    tmp_path: Path, events_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import item2vec.training.pipeline

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(item2vec.training.pipeline, "train", interrupted)
    result = run("train", events_csv, "-o", tmp_path / "m", *FAST)
    assert result.exit_code == 130
    assert "Interrupted" in result.stderr
    assert list(tmp_path.iterdir()) == [events_csv]


@pytest.mark.slow
def test_real_sigint_during_training_leaves_no_model(tmp_path: Path, events_csv: Path) -> None:
    import signal
    import time

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "item2vec",
            "train",
            str(events_csv),
            "-o",
            str(tmp_path / "m"),
            "--epochs",
            "200000",
            "--workers",
            "1",
        ],
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(4)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()  # never leave a 200,000-epoch run behind if the assertion below fails
    assert proc.returncode == 130, err
    assert not any(p.name != "events.csv" for p in tmp_path.iterdir())


# --- queries on the hand-built model -------------------------------------------------------------

SIMILAR_APPLE = """query: apple
rank  item     score  name
----  ------  ------  -----------
   1  pear    0.9806  Green Pear
   2  plum    0.9407  Plum (dark)
   3  prince  0.1690
"""


def test_similar_table_exact(tiny_model: Path) -> None:
    result = run("similar", tiny_model, "apple", "-k", "3")
    assert result.exit_code == 0
    assert result.stdout == SIMILAR_APPLE


def test_similar_several_items_csv(tiny_model: Path) -> None:
    result = run("similar", tiny_model, "apple", "king", "-k", "2", "-f", "csv")
    assert result.exit_code == 0
    assert result.stdout == (
        "query,rank,item,score,name\n"
        "apple,1,pear,0.980581,Green Pear\n"
        "apple,2,plum,0.940721,Plum (dark)\n"
        "king,1,prince,0.956183,\n"
        "king,2,man,0.707107,\n"
    )


@pytest.mark.parametrize("fmt", ["json", "jsonl", "tsv"])
def test_similar_machine_formats(tiny_model: Path, fmt: str) -> None:
    result = run("similar", tiny_model, "apple", "-k", "1", "-f", fmt)
    assert result.exit_code == 0
    expected = {
        "json": '[\n  {\n    "query": "apple",\n    "rank": 1,\n    "item": "pear",\n    "score": 0.980581,\n    "name": "Green Pear"\n  }\n]\n',
        "jsonl": '{"query": "apple", "rank": 1, "item": "pear", "score": 0.980581, "name": "Green Pear"}\n',
        "tsv": "query\trank\titem\tscore\tname\napple\t1\tpear\t0.980581\tGreen Pear\n",
    }
    assert result.stdout == expected[fmt]


def test_similar_from_stdin_and_combine(tiny_model: Path) -> None:
    result = run("similar", tiny_model, "-", "-k", "1", "-f", "tsv", input="apple\n\npear\n")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1:] == [
        "apple\t1\tpear\t0.980581\tGreen Pear",
        "pear\t1\tapple\t0.980581\tRed Apple",
    ]
    combined = run("similar", tiny_model, "apple", "pear", "--combine", "-k", "1", "-f", "csv")
    assert combined.stdout.splitlines()[1].startswith("apple + pear,1,plum,")


def test_similar_by_title(tiny_model: Path) -> None:
    result = run("similar", tiny_model, "--title", "PEAR", "-k", "1", "-f", "csv")
    assert result.exit_code == 0
    assert result.stdout == "query,rank,item,score,name\npear,1,apple,0.980581,Red Apple\n"
    several = run("similar", tiny_model, "--title", "p", "-k", "1", "-f", "csv")
    assert "--title 'p' matches 3 items; using the most frequent, 'apple' (Red Apple)" in several.stderr
    none = run("similar", tiny_model, "--title", "kiwi")
    assert none.exit_code == 1 and "--title 'kiwi' matches nothing" in none.stderr


def test_similar_unknown_items(tiny_model: Path) -> None:
    typo = run("similar", tiny_model, "quen")
    assert typo.exit_code == 1
    assert typo.stderr == (
        "Error: item 'quen' is not in the model (8 items; it was not in the training data); did you mean 'queen'?\n"
    )
    dropped = run("similar", tiny_model, "duke")
    assert "it occurred 3 times, below --min-count 5" in dropped.stderr
    skipped = run("similar", tiny_model, "duke", "apple", "-k", "1", "-f", "csv", "--skip-unknown")
    assert skipped.exit_code == 0
    assert skipped.stdout.splitlines()[1] == "apple,1,pear,0.980581,Green Pear"
    assert skipped.stderr.startswith("skipped: item 'duke'")
    empty = run("similar", tiny_model)
    assert empty.exit_code == 2


def test_analogy_expression_and_options(tiny_model: Path) -> None:
    result = run("analogy", tiny_model, "king - man + woman", "-k", "2")
    assert result.exit_code == 0
    assert result.stdout == (
        "query: king - man + woman\n"
        "rank  item    score  name\n"
        "----  -----  ------  ----------\n"
        "   1  queen  0.9586\n"
        "   2  pear   0.1557  Green Pear\n"
    )
    mul = run(
        "analogy",
        tiny_model,
        "-p",
        "king",
        "-p",
        "woman",
        "-n",
        "man",
        "--method",
        "mul",
        "-k",
        "1",
        "-f",
        "csv",
    )
    assert mul.stdout == "query,rank,item,score,name\nking + woman - man,1,queen,1.280328,\n"
    both = run("analogy", tiny_model, "king - man", "-p", "queen")
    assert both.exit_code == 2 and "not both" in both.stderr
    neither = run("analogy", tiny_model)
    assert neither.exit_code == 2
    unknown = run("analogy", tiny_model, "king - man + wman")
    assert unknown.exit_code == 1 and "did you mean 'woman'" in unknown.stderr


def test_info(tiny_model: Path, trained: Path) -> None:
    table = run("info", tiny_model)
    assert table.exit_code == 0
    assert table.stdout.splitlines()[:4] == [
        "field                  value",
        "---------------------  --------------------------------",  # as wide as the model_id
        "items                  8",
        "dim                    4",
    ]
    data = json.loads(run("info", trained, "-f", "json").stdout)
    assert data["items"] == 18 and data["params"]["dim"] == 12 and data["training"]["train_seconds"] > 0


def test_export_command(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "v.txt"
    result = run("export", tiny_model, "-f", "word2vec", "-o", out)
    assert result.exit_code == 0
    assert out.read_text().splitlines()[0] == "8 4"
    assert result.stderr == f"wrote {out}\nwrote {out}.vocab\n"  # the counts beside, for gensim
    again = run("export", tiny_model, "-f", "word2vec", "-o", out)
    assert again.exit_code == 1 and "use --force" in again.stderr
    assert run("export", tiny_model, "-f", "word2vec", "-o", out, "--force").exit_code == 0


def test_model_errors(tmp_path: Path, tiny_model: Path) -> None:
    missing = run("similar", tmp_path / "nope", "a")
    assert missing.exit_code == 1 and "does not exist: train one" in missing.stderr
    (tiny_model / "model.json").write_text('{"format_version": 99}')
    version = run("info", tiny_model)
    assert version.exit_code == 1 and "has format version 99" in version.stderr
    (tiny_model / "model.json").write_text("{not json")
    corrupt = run("info", tiny_model)
    assert corrupt.exit_code == 1 and "model.json is not valid JSON" in corrupt.stderr


# --- architecture and docs -----------------------------------------------------------------------

# The CLI is the item2vec/cli/ package; every other module is core (the rooms and the ground floor).
CORE = [p for p in sorted(Path("item2vec").rglob("*.py")) if p.parts[1] != "cli" and p.name != "__main__.py"]


def test_cli_import_loads_nothing_heavy() -> None:
    code = "import sys, item2vec.cli; print([m for m in ('gensim', 'pandas', 'pyarrow', 'numpy', 'scipy', 'pyspark') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("path", CORE, ids=lambda p: "/".join(p.parts[1:]))
def test_core_never_imports_click_or_prints(path: Path) -> None:
    tree = ast.parse(path.read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert "click" not in imported
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert "print" not in calls


def test_every_command_has_help_and_is_in_the_reference() -> None:
    readme = Path("docs/cli.md").read_text()
    for name, command in cli.commands.items():
        result = run(name, "--help")
        assert result.exit_code == 0
        assert command.help and len(command.help.splitlines()[0]) > 10
        assert f"item2vec {name}" in readme, f"docs/cli.md lacks 'item2vec {name}'"


def test_train_corpus_modes(tmp_path: Path, events_csv: Path) -> None:
    out = tmp_path / "m"
    result = run("train", events_csv, "-o", out, "--time-col", "ts", "--corpus-mode", "file", *FAST[:-1])
    assert result.exit_code == 0, result.output
    assert "1 worker, corpus file)" in result.stderr
    assert "not re-sorted" not in result.stderr  # the rows are shuffled
    meta = json.loads((out / "model.json").read_text())
    assert meta["training"]["corpus_mode"] == "file"
    assert meta["params"]["corpus_mode"] == "file"
    assert meta["input"]["input_sorted"] is False
    assert meta["training"]["peak_rss_mb"] > 0
    rows = json.loads(run("similar", out, "000", "100", "-k", "4", "-f", "json").stdout)
    assert all(r["item"][0] == r["query"][0] for r in rows)
    refused = run(
        "train", events_csv, "-o", tmp_path / "n", "--corpus-mode", "file", "--context", "set", *FAST
    )
    assert refused.exit_code == 1
    assert "Error: --corpus-mode file cannot reshuffle baskets every epoch" in refused.stderr
    assert not (tmp_path / "n").exists()


def test_train_reports_sorted_input(tmp_path: Path) -> None:
    path = tmp_path / "sorted.csv"
    rows = sorted(planted_rows(), key=lambda r: (r[0], r[2]))
    path.write_text("user_id,item_id,ts\n" + "".join(f"{u},{i},{t}\n" for u, i, t in rows))
    result = run("train", path, "-o", tmp_path / "m", "--time-col", "ts", *FAST[:-1])
    assert result.exit_code == 0, result.output
    assert "already in user/time order, not re-sorted" in result.stderr
