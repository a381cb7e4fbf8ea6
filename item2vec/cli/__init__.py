"""The command-line interface: parse options, call one core function, render, map errors.

One module per core room it calls (corpus, training, model, query, evaluation, export, visual);
each registers its commands on the group defined in ``base``.
"""

from __future__ import annotations

from item2vec.cli.base import Item2VecGroup, cli

# Importing a module registers its commands, in this order (the order of the docs).
# isort: off
from item2vec.cli import training, query, serving, model, export, corpus, evaluation, visual  # noqa: F401
# isort: on

__all__ = ["Item2VecGroup", "cli", "main"]


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="item2vec")
