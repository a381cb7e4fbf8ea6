"""What a model holds: info."""

from __future__ import annotations

from pathlib import Path

import click

from item2vec.cli.base import cli, output_format, quiet_option
from item2vec.render import render_record


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@output_format
@quiet_option
def info(model: Path, fmt: str) -> None:
    """Show a model's size, parameters, input statistics and training time.

    \b
    item2vec info model
    item2vec info model -f json | jq .params
    """
    from item2vec.model.info import info_record
    from item2vec.model.store import load

    click.echo(render_record(info_record(load(model)), fmt), nl=False)
