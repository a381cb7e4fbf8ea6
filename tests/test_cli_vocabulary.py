"""One vocabulary across commands: -q, one meaning per option, --config, --where, batch outputs."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli

FAST = ["--dim", "8", "--epochs", "2", "--min-count", "1", "--sample", "0", "--workers", "1", "-q"]


def run(*args: str | Path, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


@pytest.fixture
def retail(tmp_path: Path) -> Path:
    """A log with the Online Retail column names, a quantity and a country."""
    path = tmp_path / "retail.csv"
    rows = []
    for u in range(24):
        for s in range(4):
            quantity = -1 if s == 3 and u % 2 else 2
            rows.append(f"c{u},{u % 3}{s},{1000 + 10 * u + s},{quantity},{['UK', 'France', 'Spain'][u % 3]}")
    path.write_text("CustomerID,StockCode,InvoiceDate,Quantity,Country\n" + "\n".join(rows) + "\n")
    return path


RETAIL = ["--user-col", "CustomerID", "--item-col", "StockCode", "--time-col", "InvoiceDate"]


@pytest.fixture
def retail_model(tmp_path: Path, retail: Path) -> Path:
    out = tmp_path / "retail-model"
    result = run("train", retail, "-o", out, *RETAIL, *FAST)
    assert result.exit_code == 0, result.output
    return out


# --- -q on every command that writes to stderr ------------------------------------------------------

# Every command takes -q, even one that prints nothing on stderr but errors (info, analogy), so
# that a script can pass it to any command.
SILENT: set[str] = set()


def test_every_command_that_talks_on_stderr_has_quiet() -> None:
    for name, command in cli.commands.items():
        opts = {opt for p in command.params for opt in p.opts}
        assert ("-q" in opts) == (name not in SILENT), name


@pytest.mark.parametrize(
    "args",
    [
        ["similar", "{tiny}", "duke", "king", "--skip-unknown"],
        ["similar", "{tiny}", "--all", "-o", "{tmp}/n.csv"],
        ["recommend", "{tiny}", "--history", "nope", "king"],
        ["export", "{tiny}", "-f", "word2vec", "-o", "{tmp}/v.txt"],
        ["embed", "{tiny}", "{tmp}/none.csv"],
        ["index", "{tiny}", "--kind", "flat"],
    ],
)
def test_quiet_leaves_stderr_empty(tiny_model: Path, tmp_path: Path, args: list[str]) -> None:
    if "index" in args:
        pytest.importorskip("faiss")
    filled = [a.format(tiny=tiny_model, tmp=tmp_path) for a in args]
    loud = run(*filled)
    if loud.exit_code == 1:  # embed of a model without attributes: errors are never silenced
        assert run(*filled, "-q").stderr == loud.stderr
        return
    assert loud.exit_code == 0 and loud.stderr, loud.output
    if "--all" in filled or "export" in filled:
        filled.append("--force")
    quiet = run(*filled, "-q")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""
    assert without_timings(quiet.stdout) == without_timings(loud.stdout)


def without_timings(text: str) -> str:
    """``text`` with every decimal number masked: index reports how long its build took."""
    return re.sub(r"\d[\d,]*\.\d+(e-?\d+)?|\d+e-?\d+", "N", text)


@pytest.mark.slow
def test_quiet_on_split_update_and_plot(retail: Path, retail_model: Path, tmp_path: Path) -> None:
    split = run("split", retail, "-o", tmp_path / "s", *RETAIL, "--where", "Quantity>0", "-q")
    assert split.exit_code == 0 and split.stderr == ""
    update = run("update", retail_model, retail, "-o", tmp_path / "u", "--workers", "1", "-q")
    assert update.exit_code == 0 and update.stderr == ""
    pytest.importorskip("plotly")
    plot = run("plot", retail_model, "-o", tmp_path / "map.html", "--color-by", "frequency", "-q")
    assert plot.exit_code == 0 and plot.stderr == ""


@pytest.mark.skipif(os.environ.get("ITEM2VEC_NO_SPARK") == "1", reason="Spark tests disabled")
@pytest.mark.slow
@pytest.mark.spark
def test_spark_engine_is_quiet_with_q(tmp_path: Path, retail: Path) -> None:
    """A fresh JVM (its own process): Spark's log4j lines, JVM notes and progress bars stay off stderr."""
    import shutil

    if shutil.which("java") is None:
        pytest.skip("Spark needs java")
    pytest.importorskip("pyspark")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [sys.executable, "-m", "item2vec", "train", str(retail), "-o", str(tmp_path / "m"), *RETAIL,
               "--engine", "spark", "--spark-master", "local[1]", "--min-count", "1", "--epochs", "1", "-q"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert (tmp_path / "m" / "model.json").is_file()


# --- one meaning per option name, old spellings for one release --------------------------------------

RENAMED = [
    ("index", "--sample", "--queries"),
    ("tune", "--sample", "--fraction"),
    ("plot", "--sample", "--max-items"),
    ("report", "--sample", "--max-items"),
    ("export", "--items", "--ids"),
    ("plot", "--items", "--color-table"),
    ("report", "--items", "--color-table"),
    ("evaluate", "--history", "--history-size"),
    ("tune", "--history", "--history-size"),
    ("serve", "--workers", "--processes"),
    ("similar", "--top", "-k"),
]


@pytest.mark.parametrize(("command", "old", "new"), RENAMED)
def test_renamed_options_hide_the_old_spelling(command: str, old: str, new: str) -> None:
    help_text = run(command, "--help").stdout
    assert new in help_text
    assert f"{old} " not in help_text.replace(f"{old}-", "")


def test_each_option_name_means_one_thing() -> None:
    """--sample, --items, --history, --workers and -k: the same kind of value in every command."""
    import click

    def kind(param: click.Parameter) -> str:
        if getattr(param, "is_flag", False):
            return "flag"
        if isinstance(param.type, (click.types.IntParamType, click.IntRange)) or param.type.name == "K":
            return "int"  # K: one cut-off of evaluate/report (the old comma list still parses, with a note)
        return param.type.name

    meanings: dict[str, set[str]] = {}
    for command in cli.commands.values():
        for param in command.params:
            for opt in param.opts:
                meanings.setdefault(opt, set()).add(kind(param))
    for opt in ("--sample", "--items", "--history", "--workers", "-k", "--k", "--history-size", "--ids"):
        assert len(meanings.get(opt, set())) <= 1, (opt, meanings.get(opt))
    assert meanings["-k"] == {"int"}


def test_old_spellings_still_work_with_a_note(tiny_model: Path, tmp_path: Path) -> None:
    old = run(
        "export", tiny_model, "-f", "word2vec", "-o", tmp_path / "v.txt", "--items", "-", input="king\n"
    )
    assert old.exit_code == 0, old.output
    assert old.stderr.splitlines()[0] == "--items is deprecated here: use --ids"
    assert (tmp_path / "v.txt").read_text().splitlines() == ["1 4", "king 1.0 0.0 1.0 0.0"]
    top = run("similar", tiny_model, "king", "--top", "1", "-f", "csv")
    assert top.exit_code == 0
    assert top.stderr == "--top is deprecated here: use -k\n"
    assert top.stdout == run("similar", tiny_model, "king", "-k", "1", "-f", "csv").stdout
    both = run("similar", tiny_model, "king", "--top", "1", "-k", "2")
    assert both.exit_code == 2 and "give -k or --top, not both" in both.stderr


def test_queries_needs_check(tiny_model: Path) -> None:
    result = run("index", tiny_model, "--queries", "5")
    assert result.exit_code == 2 and "--queries applies to --check: add --check" in result.stderr


def test_k_is_given_once_on_queries(tiny_model: Path) -> None:
    result = run("similar", tiny_model, "king", "-k", "1", "-k", "3")
    assert result.exit_code == 2
    assert "Error: -k is given 2 times (-k 1 -k 3): give it once" in result.stderr
    assert run("recommend", tiny_model, "--history", "king", "-k", "1", "--k", "2").exit_code == 2


def test_cutoffs_repeat_or_list(tiny_model: Path, tmp_path: Path) -> None:
    test = tmp_path / "test.txt"
    test.write_text("king queen\nman woman\napple pear\n")
    one = ("--no-baselines", "--score", "similar", "-f", "json")  # one row: no note on which won
    repeated = run("evaluate", tiny_model, test, "-k", "1", "-k", "3", *one)
    assert repeated.exit_code == 0, repeated.output
    listed = run("evaluate", tiny_model, test, "--ks", "3,1", *one)
    assert listed.stdout == repeated.stdout and listed.stderr == ""
    assert "hr@3" in json.loads(listed.stdout)["next-item"][0]
    old = run("evaluate", tiny_model, test, "-k", "1,3", *one)
    assert old.stdout == repeated.stdout
    assert old.stderr == "-k 1,3 is deprecated: use --ks 1,3 (or -k once per cut-off)\n"
    bad = run("evaluate", tiny_model, test, "--ks", "1,x")
    assert bad.exit_code == 2  # a usage error, as -k 0 is (issue 22, item 14)
    assert bad.stderr.endswith(
        "Error: Invalid value for '--ks': '1,x' is not a list of cut-offs: give whole numbers of 1 or more, "
        "such as 10 or 10,20,50\n"
    )


# --- --config everywhere, update's session options ---------------------------------------------------


def test_update_takes_where_and_keep_repeats(retail: Path, retail_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "u"
    result = run("update", retail_model, retail, "-o", out, "--where", "Country in UK,Spain", "--keep-repeats",
                 "--workers", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "--keep-repeats" in run("update", "--help").stdout
    bad = run("update", retail_model, retail, "-o", tmp_path / "v", "--where", "Country>1")
    assert bad.exit_code == 1
    assert bad.stderr == (
        "Error: --where 'Country>1': column 'Country' holds 'UK', which is not a number: "
        "compare it with = or != (text), or filter another column\n"
    )


# --- recommend --events takes the model's columns; model.json keeps absolute input paths -------------


def test_recommend_events_uses_the_models_columns(retail: Path, retail_model: Path) -> None:
    result = run("recommend", retail_model, "--events", retail, "-k", "1", "-f", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "user,rank,item,score"
    assert len(lines) == 1 + 24 and lines[1].startswith("c0,1,")
    assert "wrote 24 rows for 24 users to <stdout>" in result.stderr


def test_recommend_events_groups_by_session_for_a_basket_model(tmp_path: Path) -> None:
    log = tmp_path / "baskets.csv"
    log.write_text(
        "InvoiceNo,StockCode\n" + "".join(f"i{b},{(b + s) % 5}\n" for b in range(20) for s in range(3))
    )
    model = tmp_path / "m"
    assert (
        run(
            "train", log, "-o", model, "--session-col", "InvoiceNo", "--item-col", "StockCode", *FAST
        ).exit_code
        == 0
    )
    result = run("recommend", model, "--events", log, "-k", "1", "-f", "jsonl")
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout.splitlines()[0])) == {"session", "rank", "item", "score"}
    both = run("recommend", model, "--events", log, "--user-col", "a", "--session-col", "b")
    assert both.exit_code == 1 and "give --user-col a or --session-col b, not both" in both.stderr


def test_evaluate_finds_the_training_data_from_another_directory(
    tmp_path: Path, retail: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("train", "retail.csv", "-o", "m", *RETAIL, *FAST).exit_code == 0
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["input"]["inputs"] == ["retail.csv"]  # as given, for display
    assert meta["input"]["input_paths"] == [str(retail)]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run("evaluate", "../m", "../retail.csv", "--score", "similar", "-f", "json", "--query", "last")
    assert result.exit_code == 0, result.output
    assert [r["method"] for r in json.loads(result.stdout)["next-item"]] == [
        "model",
        "co-occurrence",
        "sequential-rules",
        "sknn",
        "v-sknn",
        "stan",
        "most-popular",
    ]
    retail.rename(tmp_path / "moved.csv")
    gone = run("evaluate", "../m", "../moved.csv")
    assert gone.exit_code == 1
    assert f"its input 'retail.csv' ({retail}) is not readable here: pass it with --train FILE" in gone.stderr


# --- --where: numbers and lists ------------------------------------------------------------------------


def test_where_compares_numbers_and_lists(tmp_path: Path, retail: Path) -> None:
    out = tmp_path / "s"
    result = run(
        "split", retail, "-o", out, *RETAIL, "--where", "Quantity>0", "--where", "Country not in Spain"
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "dropped 12 of 96 rows: --where Quantity>0",
        "dropped 28 of 96 rows: --where Country not in Spain",
    ]
    model = tmp_path / "m"
    trained = run("train", retail, "-o", model, *RETAIL, "--where", "Quantity>=2", "--where", "Country in UK,France",
                  *FAST)  # fmt: skip
    assert trained.exit_code == 0, trained.output
    recorded = json.loads((model / "model.json").read_text())["input"]["session"]["where"]
    assert recorded == ["Quantity>=2", "Country in UK,France"]
    # evaluate reads the test file with the model's filters, parsed back from model.json
    assert run("evaluate", model, retail, "--no-baselines").exit_code == 0


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("Quantity", "--where 'Quantity' is invalid: use COL=VALUE, COL!=VALUE, COL>N"),
        ("Quantity>many", "--where 'Quantity>many': 'many' is not a number; > compares numbers"),
        ("Country<=3", "--where 'Country<=3': column 'Country' holds 'UK', which is not a number"),
        ("Country in ", "--where 'Country in ' lists no value"),
    ],
)
def test_where_errors(tmp_path: Path, retail: Path, where: str, message: str) -> None:
    result = run("train", retail, "-o", tmp_path / "m", *RETAIL, "--where", where, *FAST)
    assert result.exit_code in (1, 2)
    assert message in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("Error")]) == 1


# --- batch outputs: -f, stdout, names; export .gz and stdout ----------------------------------------------


def test_similar_all_streams_to_stdout_in_the_format_asked(tiny_model: Path) -> None:
    jsonl = run("similar", tiny_model, "--all", "-k", "2", "-f", "jsonl")
    assert jsonl.exit_code == 0, jsonl.output
    rows = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert len(rows) == 16
    assert rows[0] == {"query": "king", "rank": 1, "item": "prince", "score": 0.956183, "name": ""}
    assert rows[2]["query"] == "queen"
    apple = [r for r in rows if r["query"] == "apple"]
    assert apple[0] == {"query": "apple", "rank": 1, "item": "pear", "score": 0.980581, "name": "Green Pear"}
    # the same rows as similar on every item
    items = [r["query"] for r in rows[::2]]
    one = run("similar", tiny_model, *items, "-k", "2", "-f", "jsonl")
    assert one.stdout == jsonl.stdout
    table = run("similar", tiny_model, "--all", "-k", "2")
    assert table.stdout == run("similar", tiny_model, *items, "-k", "2").stdout
    as_json = json.loads(run("similar", tiny_model, "--all", "-k", "2", "-f", "json").stdout)
    assert as_json == rows


def test_similar_all_writes_jsonl_files_and_checks_f(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "n.jsonl"
    result = run("similar", tiny_model, "--all", "-k", "1", "-o", out, "-f", "jsonl")
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text().splitlines()[5]) == {
        "query": "apple", "rank": 1, "item": "pear", "score": 0.980581, "name": "Green Pear"
    }  # fmt: skip
    assert run("similar", tiny_model, "--all", "-o", tmp_path / "n.csv", "-f", "jsonl").exit_code == 2


def test_similar_item_refuses_o(tiny_model: Path, tmp_path: Path) -> None:
    result = run("similar", tiny_model, "king", "-o", tmp_path / "x.csv")
    assert result.exit_code == 2
    assert "-o applies to --all only" in result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_recommend_events_to_stdout_has_names(tiny_model: Path, tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text("user_id,item_id\nu1,apple\nu2,king\n")
    result = run("recommend", tiny_model, "--events", log, "-k", "1", "-f", "tsv", "--score", "similar")
    assert result.exit_code == 0, result.output
    assert (
        result.stdout
        == "user\trank\titem\tscore\tname\nu1\t1\tpear\t0.980581\tGreen Pear\nu2\t1\tprince\t0.956183\t\n"
    )


def test_export_gz_is_gzip_that_gensim_reads(tiny_model: Path, tmp_path: Path) -> None:
    from gensim.models import KeyedVectors

    for fmt, name in (("word2vec", "v.txt.gz"), ("word2vec-binary", "v.bin.gz")):
        out = tmp_path / name
        result = run("export", tiny_model, "-f", fmt, "-o", out)
        assert result.exit_code == 0, result.output
        assert out.read_bytes()[:2] == b"\x1f\x8b"
        kv = KeyedVectors.load_word2vec_format(str(out), binary=fmt == "word2vec-binary")
        assert kv.index_to_key[0] == "king" and len(kv) == 8
    assert gzip.decompress((tmp_path / "v.txt.gz").read_bytes()).splitlines()[1] == b"king 1.0 0.0 1.0 0.0"
    refused = run("export", tiny_model, "-f", "npy", "-o", tmp_path / "v.npy.gz")
    assert refused.exit_code == 1
    assert "--format npy cannot be gzipped; only word2vec and word2vec-binary can" in refused.stderr


def test_export_to_stdout(tiny_model: Path, tmp_path: Path) -> None:
    result = run("export", tiny_model, "-f", "word2vec", "-o", "-")
    assert result.exit_code == 0, result.output
    out = tmp_path / "v.txt"
    assert run("export", tiny_model, "-f", "word2vec", "-o", out).exit_code == 0
    assert result.stdout == out.read_text()
    assert result.stderr == ""
    binary = run("export", tiny_model, "-f", "npy", "-o", "-")
    assert binary.exit_code == 1
    assert "--format npy writes a binary file or a directory, not text: give -o FILE" in binary.stderr


# --- shell completion ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script_is_produced(shell: str) -> None:
    result = CliRunner().invoke(cli, [], prog_name="item2vec", env={"_ITEM2VEC_COMPLETE": f"{shell}_source"})
    assert result.exit_code == 0
    assert "_ITEM2VEC_COMPLETE" in result.stdout and "item2vec" in result.stdout
    words = CliRunner().invoke(
        cli, [], prog_name="item2vec", env={"_ITEM2VEC_COMPLETE": "bash_complete", "COMP_WORDS": "item2vec si",
                                            "COMP_CWORD": "1"},
    )  # fmt: skip
    assert "similar" in words.stdout


# --- recommend --events: the column errors carry fields, each edge words them -------------------------


def test_event_column_errors_carry_fields() -> None:
    from item2vec.api.errors import python_terms
    from item2vec.errors import ConfigError
    from item2vec.query.histories import EventColumns

    with pytest.raises(ConfigError) as both:
        EventColumns(user_col="u", session_col="s")
    assert (both.value.param, both.value.value) == ("session_col", "s")
    assert str(both.value) == "--events groups by one column: give --user-col u or --session-col s, not both"
    assert python_terms(both.value.raw) == "events= groups by one column: give user=u or session=s, not both"
    with pytest.raises(ConfigError) as neither:
        EventColumns(user_col=None)
    assert neither.value.param == "user_col"
    assert (
        str(neither.value) == "--events needs the column of users (--user-col) or of sessions (--session-col)"
    )
