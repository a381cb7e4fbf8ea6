"""CLI conventions shared by the commands: stdin for analogy, hints for other tools' flag names,
config keys spelled as flags, -v/--verbose, and how numbers look in tables."""

from __future__ import annotations

import json
from pathlib import Path

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
