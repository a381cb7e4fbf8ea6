"""CLI conventions shared by the commands: stdin for analogy, hints for other tools' flag names,
config keys spelled as flags, -v/--verbose, and how numbers look in tables."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli


def run(*args: str | Path, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def test_analogy_reads_expressions_from_stdin(tiny_model: Path) -> None:
    one = run("analogy", tiny_model, "king - man + woman", "-k", "2")
    piped = run("analogy", tiny_model, "-", "-k", "2", input="king - man + woman\n\n")
    assert piped.exit_code == 0, piped.output
    assert piped.stdout == one.stdout
    two = run(
        "analogy", tiny_model, "-", "-k", "1", "-f", "jsonl", input="king - man + woman\n-  man + king\n"
    )
    assert two.exit_code == 0, two.output
    rows = [json.loads(line) for line in two.stdout.splitlines()]
    assert [(r["query"], r["rank"], r["item"]) for r in rows] == [
        ("king - man + woman", 1, "queen"),
        ("- man + king", 1, "queen"),
    ]
    table = run("analogy", tiny_model, "-", "-k", "1", input="king - man + woman\n- man + king\n")
    assert table.stdout.count("query: ") == 2


def test_analogy_stdin_errors(tiny_model: Path) -> None:
    empty = run("analogy", tiny_model, "-", input="\n")
    assert empty.exit_code == 2 and "read no EXPRESSION" in empty.stderr
    both = run("analogy", tiny_model, "-", "-p", "king", input="king - man\n")
    assert both.exit_code == 2 and "not both" in both.stderr
    unknown = run("analogy", tiny_model, "-", input="king - man + woman\nking - man + wman\n")
    assert unknown.exit_code == 1 and "did you mean 'woman'" in unknown.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vector-size", "100"], "--vector-size is gensim's name: use --dim"),
        (["--size=100"], "--size is gensim's name: use --dim"),
        (["--iter", "3"], "--iter is gensim's name: use --epochs"),
        (["--max_final_vocab", "9"], "--max_final_vocab is gensim's name: use --max-vocab"),
        (["-minCount", "2"], "-minCount is fastText's name: use --min-count"),
        (["-epoch", "2"], "-epoch is fastText's name: use --epochs"),
        (["-threads", "4"], "-threads is word2vec's name: use --workers"),
        (["--min_count", "2"], "--min_count is spelled --min-count here"),
        (["-dim", "100"], "-dim is spelled --dim here"),
    ],
)
def test_other_tools_flag_names_get_ours(tmp_path: Path, args: list[str], message: str) -> None:
    result = run("train", tmp_path / "events.csv", "-o", tmp_path / "m", *args)
    assert result.exit_code == 2
    assert result.stderr.endswith(f"Error: {message}\n")
    assert result.stderr.startswith("Usage: ") and " train " in result.stderr


def test_other_flags_keep_clicks_message(tmp_path: Path) -> None:
    unknown = run("train", tmp_path / "events.csv", "--bogus", "1")
    assert unknown.exit_code == 2 and "No such option '--bogus'" in unknown.stderr
    close = run("train", tmp_path / "events.csv", "--dimm", "3")
    assert "No such option '--dimm'" in close.stderr and "--dim" in close.stderr
    no_dim = run("update", tmp_path / "m", tmp_path / "events.csv", "--vector-size", "3")
    assert no_dim.exit_code == 2 and "No such option '--vector-size'" in no_dim.stderr
    update = run("update", tmp_path / "m", tmp_path / "events.csv", "--iter", "3")
    assert update.exit_code == 2 and "--iter is gensim's name: use --epochs" in update.stderr


@pytest.fixture
def small(tmp_path: Path) -> Path:
    (tmp_path / "e.csv").write_text("user_id,item_id\nu,a\nu,b\nv,a\nv,b\n")
    (tmp_path / "items.csv").write_text("item_id,title\na,Apple\nb,Banana\n")
    return tmp_path


def test_config_keys_are_spelled_as_flags(small: Path) -> None:
    config = small / "c.toml"
    config.write_text(
        f'[train]\nitems = "{small / "items.csv"}"\nmin-count = 1\ndim = 4\nepochs = 1\nworkers = 1\n'
    )
    trained = run("train", small / "e.csv", "-o", small / "m", "--config", config, "-q")
    assert trained.exit_code == 0, trained.output
    asked = small / "r.toml"
    asked.write_text('[recommend]\nformat = "csv"\nk = 1\n')
    answer = run("recommend", small / "m", "--history", "a", "--config", asked)
    assert answer.exit_code == 0, answer.output
    assert answer.stdout.startswith("rank,item,score,name\n1,b,") and answer.stdout.endswith(",Banana\n")


def test_config_python_names_still_read(small: Path) -> None:
    config = small / "c.toml"
    config.write_text(f'items_file = "{small / "items.csv"}"\nmin_count = 1\ndim = 4\nepochs = 1\n')
    trained = run("train", small / "e.csv", "-o", small / "m", "--config", config, "-q")
    assert trained.exit_code == 0, trained.output


def test_config_unknown_key_lists_the_flag_spellings(small: Path) -> None:
    config = small / "c.toml"
    config.write_text("itemz = 3\n")
    result = run("train", small / "e.csv", "-o", small / "m", "--config", config)
    assert result.exit_code == 2
    assert "unknown option 'itemz'; valid options: " in result.stderr
    valid = result.stderr.split("valid options: ")[1].replace("\n", " ").split(", ")
    assert "items" in valid and "min-count" in valid and "items-file" not in valid
    config.write_text("items = 3\n")
    wrong = run("train", small / "e.csv", "-o", small / "m", "--config", config)
    assert wrong.exit_code == 2
    assert 'items = 3 is invalid: use a path in quotes, such as "items.csv", as --items takes' in wrong.stderr


def test_verbose_shows_gensims_log_and_the_loss_per_epoch(small: Path) -> None:
    events = small / "e.csv"
    events.write_text("user_id,item_id\n" + "".join(f"u{u},{i}\n" for u in range(30) for i in "abcab"))
    fast = ["--min-count", "1", "--dim", "4", "--epochs", "3", "--workers", "1", "--sample", "0"]
    verbose = run("train", events, "-o", small / "m", *fast, "-v")
    assert verbose.exit_code == 0, verbose.output
    losses = [line for line in verbose.stderr.splitlines() if "training loss" in line]
    assert [line.split(": ", 1)[1].split(" training")[0] for line in losses] == [
        "epoch 1/3:",
        "epoch 2/3:",
        "epoch 3/3:",
    ]
    assert all(float(line.rsplit(" ", 1)[1].replace(",", "")) > 0 for line in losses)
    assert "gensim.models.word2vec: " in verbose.stderr
    assert logging.getLogger("gensim").level == logging.ERROR  # as the command found it
    assert not logging.getLogger("item2vec").handlers
    plain = run("train", events, "-o", small / "p", *fast)
    assert (
        plain.exit_code == 0 and "training loss" not in plain.stderr and "gensim.models" not in plain.stderr
    )
    updated = run("update", small / "m", events, "-o", small / "u", "-v")
    assert updated.exit_code == 0, updated.output
    assert sum("training loss" in line for line in updated.stderr.splitlines()) == 3


def test_loss_is_computed_only_when_shown() -> None:
    from item2vec.training.gensim_engine import loss_callbacks

    assert loss_callbacks() == []


def test_quiet_and_verbose_together_is_a_usage_error(small: Path) -> None:
    both = run("train", small / "e.csv", "-o", small / "m", "-q", "-v")
    assert both.exit_code == 2 and "give -q/--quiet or -v/--verbose, not both" in both.stderr
    other_order = run("update", small / "m", small / "e.csv", "-v", "-q")
    assert other_order.exit_code == 2 and "not both" in other_order.stderr
