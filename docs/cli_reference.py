"""Regenerate the command reference in README.md from the commands' --help.

Usage: python docs/cli_reference.py [--check]
With --check, exit 1 when README.md's reference differs from --help (the test suite runs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from item2vec.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- cli-reference:start -->", "<!-- cli-reference:end -->"


def reference() -> str:
    """Markdown: one section per command with its --help output."""
    runner = CliRunner()
    parts = [START, ""]
    for name in cli.commands:
        result = runner.invoke(cli, [name, "--help"], terminal_width=100)
        help_text = result.output.replace("Usage: cli ", "Usage: item2vec ")
        parts += [f"### `item2vec {name}`", "", "```", help_text.rstrip(), "```", ""]
    parts.append(END)
    return "\n".join(parts)


def updated(text: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return head + reference() + tail


def main() -> int:
    text = README.read_text(encoding="utf-8")
    new = updated(text)
    if "--check" in sys.argv:
        if new != text:
            print("README.md's command reference is stale: run python docs/cli_reference.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
