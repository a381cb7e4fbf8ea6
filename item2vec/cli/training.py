"""train: event logs, sequences or text to a model directory."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from item2vec.events import INPUT_FORMATS

if TYPE_CHECKING:
    pass

from item2vec.cli.base import TRAIN_PARAMS, _duration, _load_config, cli, progress_line


@cli.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), required=True, help="Model directory to write."
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    is_eager=True,
    expose_value=False,
    callback=_load_config,
    help="TOML file of option defaults; flags override it.",
)
@click.option("--input-format", type=click.Choice(INPUT_FORMATS), help="Override format detection.")
@click.option("--user-col", help="Column of user ids (default: user_id, unless --session-col is given).")
@click.option("--session-col", help="Column of session/basket ids (e.g. InvoiceNo).")
@click.option("--item-col", default="item_id", show_default=True, help="Column of item ids.")
@click.option("--time-col", help="Column of times: epoch s/ms or ISO 8601.")
@click.option(
    "--session-gap", callback=_duration, help="Split a user's events on gaps longer than this (30m, 2h)."
)
@click.option(
    "--drop-repeats/--keep-repeats",
    default=True,
    show_default=True,
    help="Drop consecutive repeats of an item.",
)
@click.option(
    "--min-length", type=click.IntRange(1), default=2, show_default=True, help="Drop shorter sequences."
)
@click.option(
    "--where",
    multiple=True,
    metavar="COL=VALUE",
    help="Keep rows where COL=VALUE (or COL!=VALUE); repeatable.",
)
@click.option("--items", "items_file", type=click.Path(dir_okay=False), help="Item metadata table (names).")
@click.option("--id-col", help="Id column in --items (default: --item-col).")
@click.option("--title-col", default="title", show_default=True, help="Name column in --items.")
@click.option(
    "--preset",
    type=click.Choice(["recsys", "text"]),
    help="Defaults: recsys for events/sequences, text for text.",
)
@click.option(
    "--context",
    type=click.Choice(["window", "set"]),
    help="window: ordered skip-gram; set: whole basket, order ignored.",
)
@click.option("--dim", type=int, help="Vector dimensions.")
@click.option("--window", type=int, help="Context window (items each side).")
@click.option("--negative", type=int, help="Negative samples per positive.")
@click.option("--ns-exponent", type=float, help="Negative-sampling exponent (-1 to 1; 0.75 for text).")
@click.option("--sample", type=float, help="Down-sampling threshold for frequent items (0 = off).")
@click.option("--epochs", type=int, help="Passes over the corpus.")
@click.option("--min-count", type=int, help="Ignore items with fewer occurrences.")
@click.option("--max-vocab", type=int, help="Keep at most this many items (raises min-count).")
@click.option("--alpha", type=float, help="Initial learning rate.")
@click.option("--workers", type=int, help="Training threads (default: all cores).")
@click.option("--seed", type=int, help="Random seed; with --workers 1 runs repeat exactly.")
@click.option("--force", is_flag=True, help="Replace an existing model directory.")
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary on stderr.")
def train(inputs: tuple[str, ...], output: Path, **opts: Any) -> None:
    """Train item embeddings from event logs, sequences or text.

    INPUT is an event table (CSV, TSV, Parquet, JSON Lines, optionally .gz), a sequence
    file (one sequence a line), or plain text; '-' reads stdin.

    \b
    item2vec train sample_data/online_retail.csv.gz -o retail \\
        --session-col InvoiceNo --item-col StockCode --context set \\
        --items sample_data/products.csv --id-col StockCode --title-col Description
    item2vec train sample_data/text.txt.gz -o text-model
    """
    from item2vec.pipeline import ItemsOptions, run_training
    from item2vec.sequences import SessionOptions, Where

    quiet = opts.pop("quiet")
    session = SessionOptions(
        item_col=opts["item_col"],
        user_col=opts["user_col"] or (None if opts["session_col"] else "user_id"),
        session_col=opts["session_col"],
        time_col=opts["time_col"],
        session_gap=opts["session_gap"],
        drop_repeats=opts["drop_repeats"],
        min_length=opts["min_length"],
        where=tuple(Where.parse(w) for w in opts["where"]),
    )
    items = None
    if opts["items_file"]:
        items = ItemsOptions(opts["items_file"], opts["id_col"] or opts["item_col"], opts["title_col"])
    summary = run_training(
        list(inputs),
        output=output,
        session=session,
        overrides={k: opts[k] for k in TRAIN_PARAMS},
        preset=opts["preset"],
        input_format=opts["input_format"],
        items=items,
        force=opts["force"],
        progress=None if quiet or not sys.stderr.isatty() else progress_line,
    )
    if not quiet:
        from item2vec.report import summary_lines

        click.echo("\n".join(summary_lines(summary)), err=True)
