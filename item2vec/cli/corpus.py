"""Held-out data from event logs: split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from item2vec.cli.base import cli, output_format, quiet_option, say
from item2vec.cli.config_file import config_option
from item2vec.cli.input_options import session_from_options, session_options
from item2vec.render import render


@cli.command()
@click.argument("events", metavar="EVENTS")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="Directory for the train, valid and test files.",
)
@click.option(
    "--by",
    type=click.Choice(["last", "time"]),
    default="last",
    show_default=True,
    help="last: hold out each sequence's last two items; time: hold out what follows --cutoff.",
)
@click.option(
    "--cutoff", metavar="DATE", help="With --by time: the first held-out time (ISO 8601 or epoch s)."
)
@config_option
@session_options(inherit=False)
@click.option("--force", is_flag=True, help="Replace split files already in the directory.")
@output_format
@quiet_option
def split(events: str, output: Path, by: str, cutoff: str | None, force: bool, fmt: str, **opts: Any) -> None:  # fmt: skip
    """Split events into train, validation and test files, in the input's own format.

    --by last: in every sequence (grouped and ordered as train does) of 3+ items, the last
    item is the test target and the one before it the validation target. --by time: events
    before --cutoff are for training (the last of each sequence validates); every sequence
    ending after it is a test case. valid and test files hold whole sequences, target last.

    \b
    item2vec split sample_data/online_retail.csv.gz -o split \\
        --user-col CustomerID --item-col StockCode --time-col InvoiceDate
    item2vec split events.csv -o split --by time --cutoff 2011-11-01 --time-col ts
    """
    from item2vec.corpus.split import split_events

    input_format = opts.pop("input_format")
    summary = split_events(
        events, output, session=session_from_options(opts), by=by, cutoff=cutoff,  # type: ignore[arg-type]
        input_format=input_format, force=force,
    )  # fmt: skip
    for reason, count in summary.rows_dropped.items():
        say(f"dropped {count:,} of {summary.rows_read:,} rows: {reason}")
    click.echo(render(summary.as_rows(), fmt), nl=False)
