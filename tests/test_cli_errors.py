"""Errors as each command tells them: hints naming its own flags, analogy syntax, exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli
from item2vec.errors import MissingColumnsError

FAST = ["--dim", "8", "--epochs", "2", "--min-count", "1", "--sample", "0", "--workers", "1", "-q"]


def run(*args: str | Path, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def flags_named(message: str) -> list[str]:
    return re.findall(r"(?<![\w-])--[a-z][a-z-]+", message)


def assert_flags_exist(command: str, message: str) -> None:
    """Every --flag a message names is an option of ``command``."""
    params = cli.commands[command].params
    existing = {opt for p in params for opt in [*p.opts, *getattr(p, "secondary_opts", [])]}
    assert flags_named(message), message
    missing = [flag for flag in flags_named(message) if flag not in existing]
    assert not missing, f"{command}: {message}"


@pytest.fixture
def model(tmp_path: Path) -> Path:
    """A model trained on a log with CustomerID / StockCode / InvoiceDate columns."""
    log = tmp_path / "log.csv"
    rows = [f"c{u},{u % 3}{s},{1000 + 10 * u + s}" for u in range(30) for s in range(4)]
    log.write_text("CustomerID,StockCode,InvoiceDate\n" + "\n".join(rows) + "\n")
    out = tmp_path / "model"
    args = ["--user-col", "CustomerID", "--item-col", "StockCode", "--time-col", "InvoiceDate"]
    result = run("train", log, "-o", out, *args, *FAST)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def other_log(tmp_path: Path) -> Path:
    path = tmp_path / "other.csv"
    path.write_text("user,sku,ts\nu1,00,1\nu1,01,2\nu1,02,3\n")
    return path


# --- 15: hints name the flags of the command that raised them ---------------------------------------


def test_the_message_names_the_role_of_each_missing_column() -> None:
    error = MissingColumnsError("log.csv", ["CustomerID"], ["user", "sku"], [("CustomerID", "user_col")])
    assert str(error) == (
        "log.csv: no column 'CustomerID'; the columns are: user, sku (named by --user-col: choose one that exists)"
    )
    assert error.message({}) == (
        "log.csv: no column 'CustomerID'; the columns are: user, sku "
        "(the model's user column: give files with the columns it was trained on)"
    )
    assert str(MissingColumnsError("x", ["a"], ["b"])) == "x: no column 'a'; the columns are: b"


@pytest.mark.parametrize(
    ("command", "args", "flags"),
    [
        (
            "train",
            ["--user-col", "CustomerID", "--where", "Country=UK"],
            ["--user-col", "--item-col", "--where"],
        ),
        ("split", ["-o", "{tmp}/split", "--time-col", "when"], ["--user-col", "--item-col", "--time-col"]),
        ("tune", ["{log}", "--item-col", "StockCode"], ["--user-col", "--item-col"]),
    ],
)
def test_session_commands_hint_their_own_flags(
    tmp_path: Path, other_log: Path, command: str, args: list[str], flags: list[str]
) -> None:
    filled = [a.format(tmp=tmp_path, log=other_log) for a in args]
    result = run(command, other_log, *filled, *(["-o", tmp_path / "m"] if command == "train" else []))
    assert result.exit_code == 1, result.output
    message = result.stderr
    assert f"named by {', '.join(flags)}" in message, message
    assert_flags_exist(command, message)
    assert len(message.splitlines()) == 1


def test_model_commands_hint_their_own_flags(model: Path, other_log: Path, tmp_path: Path) -> None:
    evaluated = run("evaluate", model, other_log)
    assert evaluated.exit_code == 1
    assert (
        "no columns 'CustomerID', 'StockCode', 'InvoiceDate'; the columns are: user, sku, ts"
        in evaluated.stderr
    )
    assert "(named by --user-col, --item-col, --time-col: choose ones that exist)" in evaluated.stderr
    assert_flags_exist("evaluate", evaluated.stderr)
    updated = run("update", model, other_log, "-o", tmp_path / "m2")
    assert updated.exit_code == 1
    assert_flags_exist("update", updated.stderr)
    recommended = run("recommend", model, "--events", other_log)
    assert recommended.exit_code == 1
    assert "(named by --user-col, --item-col, --time-col" in recommended.stderr
    assert_flags_exist("recommend", recommended.stderr)


def test_report_has_no_session_flags_so_it_says_whose_columns_they_are(
    model: Path, other_log: Path, tmp_path: Path
) -> None:
    result = run("report", model, "--test", other_log, "-o", tmp_path / "r.html", "--no-map")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {other_log}: no columns 'CustomerID', 'StockCode', 'InvoiceDate'; the columns are: "
        "user, sku, ts (the model's user column, item column, time column: give files with the columns "
        "it was trained on)\n"
    )
    assert "--" not in result.stderr


def test_item_tables_hint_their_own_flags(model: Path, tmp_path: Path, other_log: Path) -> None:
    table = tmp_path / "items.csv"
    table.write_text("sku,title,kind\n00,Zero,a\n")
    names = run("train", other_log, "-o", tmp_path / "n", "--user-col", "user", "--item-col", "sku",
                "--items", table, "--title-col", "name", *FAST)  # fmt: skip
    assert names.exit_code == 1
    assert "no column 'name'; the columns are: sku, title, kind (named by --title-col" in names.stderr
    assert_flags_exist("train", names.stderr)
    features = run("train", other_log, "-o", tmp_path / "f", "--user-col", "user", "--item-col", "sku",
                   "--item-features", table, "--feature-cols", "colour", "--feature-id-col", "code", *FAST)  # fmt: skip
    assert features.exit_code == 1
    assert "(named by --feature-id-col, --feature-cols: choose ones that exist)" in features.stderr
    assert_flags_exist("train", features.stderr)
    plotted = run("plot", model, "-o", tmp_path / "map.html", "--color-table", table, "--color-by", "colour")
    assert plotted.exit_code == 1
    assert "no columns 'StockCode', 'colour'; the columns are: sku, title, kind" in plotted.stderr
    assert "(named by --id-col, --color-by: choose ones that exist)" in plotted.stderr
    assert_flags_exist("plot", plotted.stderr)


def test_embed_names_its_own_id_flag(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text(
        "user_id,item_id\n" + "".join(f"u{u},i{(u + s) % 4}\n" for u in range(20) for s in range(3))
    )
    attrs = tmp_path / "attrs.csv"
    attrs.write_text("item_id,kind\n" + "".join(f"i{i},k{i % 2}\n" for i in range(4)))
    model = tmp_path / "m"
    result = run("train", log, "-o", model, "--item-features", attrs, "--feature-cols", "kind", *FAST)
    assert result.exit_code == 0, result.output
    new = tmp_path / "new.csv"
    new.write_text("sku,kind\nn1,k0\n")
    embedded = run("embed", model, new, "-o", tmp_path / "m2")
    assert embedded.exit_code == 1
    assert "no column 'item_id'; the columns are: sku, kind (named by --id-col: choose one that exists)" in (
        embedded.stderr
    )
    assert_flags_exist("embed", embedded.stderr)


# --- 17: analogy expressions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("king woman", "item 'king woman' is not in the model; did you mean 'king + woman'?"),
        ("king-man+woman", "item 'king-man+woman' is not in the model; did you mean 'king - man + woman'?"),
        ("-man + king", "item '-man' is not in the model; did you mean '- man'?"),
        ("kong woman", "item 'kong woman' is not in the model (8 items; it was not in the training data"),
        ("king - king", "analogy 'king - king' adds and subtracts 'king', so the terms cancel"),
        ("king + man - king", "analogy 'king + man - king' adds and subtracts 'king', so the terms cancel"),
    ],
)
def test_analogy_explains_its_syntax(tiny_model: Path, expression: str, message: str) -> None:
    result = run("analogy", tiny_model, expression)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: " + message), result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_analogy_expression_may_start_with_a_sign(tiny_model: Path) -> None:
    result = run("analogy", tiny_model, "- man + king", "-k", "1", "-f", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].startswith("- man + king,1,")
    assert run("analogy", tiny_model, "-k", "1", "-f", "csv", "--", "- man + king").stdout == result.stdout
    unknown = run("analogy", tiny_model, "-x")
    assert unknown.exit_code == 2
    assert "an EXPRESSION that starts with '-' goes after --" in unknown.stderr


def test_analogy_of_the_zero_vector_is_refused(tmp_path: Path) -> None:
    import numpy as np

    from item2vec.model.embeddings import Embeddings
    from item2vec.model.store import save

    flat = np.array([[1, 0], [-1, 0], [0, 1]], dtype=np.float32)
    save(Embeddings(["a", "b", "c"], flat, np.ones(3, dtype=np.int64)), tmp_path / "z")
    zero = run("analogy", tmp_path / "z", "a + b")
    assert zero.exit_code == 1
    assert "Error: analogy 'a + b' adds up to the zero vector" in zero.stderr


# --- 18: exit codes ---------------------------------------------------------------------------------


def test_usage_domain_and_threshold_errors_have_their_own_codes(tiny_model: Path, tmp_path: Path) -> None:
    assert run("similar", tiny_model, "king", "-k", "0").exit_code == 2  # usage
    assert run("similar", tiny_model, "kong").exit_code == 1  # domain
    assert run("similar", tmp_path / "nope", "king").exit_code == 1


def test_ctrl_c_is_130_in_every_command(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import item2vec.model.store

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(item2vec.model.store, "load", interrupted)
    for args in (["similar", tiny_model, "king"], ["info", tiny_model], ["analogy", tiny_model, "a - b"]):
        result = run(*args)
        assert result.exit_code == 130, args
        assert result.stderr == "\nInterrupted: nothing was written.\n"


def test_batch_output_usage_errors(tiny_model: Path, tmp_path: Path) -> None:
    force = run("similar", tiny_model, "--all", "--force")
    assert force.exit_code == 2 and "--force applies to -o FILE only" in force.stderr
    stdout = run("export", tiny_model, "-f", "word2vec", "-o", "-", "--force")
    assert stdout.exit_code == 2 and "--force does not apply to -o - (stdout)" in stdout.stderr
    cutoff = run("evaluate", tiny_model, "--pairs", tmp_path / "p.txt", "-k", "ten")
    assert cutoff.exit_code == 2 and "-k 'ten' is invalid: give cut-offs such as 10" in cutoff.stderr


def test_json_errors_stay_off_stdout(tiny_model: Path) -> None:
    result = run("similar", tiny_model, "kong", "-f", "json")
    assert result.exit_code == 1 and result.stdout == ""
    json.loads(run("similar", tiny_model, "king", "-f", "json").stdout)
