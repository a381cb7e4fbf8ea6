"""-q/--quiet on every command: nothing on stderr but errors, and the same results on stdout."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_every_command_takes_quiet() -> None:
    assert [name for name, command in sorted(cli.commands.items())
            if not any(p.name == "quiet" for p in command.params)] == []  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ["info", "{model}"],
        ["info", "{model}", "-f", "json"],
        ["analogy", "{model}", "king - man + woman", "-k", "2"],
        ["analogy", "{model}", "-p", "king", "-p", "woman", "-n", "man", "--method", "mul", "-f", "csv"],
        ["similar", "{model}", "king", "--exclude", "ghost", "-k", "2"],
    ],
)
def test_quiet_keeps_the_results_and_silences_notes(tiny_model: Path, args: list[str]) -> None:
    filled = [str(tiny_model) if a == "{model}" else a for a in args]
    loud, quiet = run(*filled), run(*filled, "-q")
    assert loud.exit_code == 0 and quiet.exit_code == 0, loud.output + quiet.output
    assert quiet.stdout == loud.stdout != ""
    assert quiet.stderr == ""


def test_quiet_keeps_errors(tiny_model: Path) -> None:
    result = run("analogy", tiny_model, "king - ghost", "-q")
    assert result.exit_code == 1 and result.stderr.startswith("Error: ")
    result = run("info", tiny_model.parent / "nowhere", "-q")
    assert result.exit_code == 1 and result.stderr.startswith("Error: ")
