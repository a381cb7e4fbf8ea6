"""Growing a model: update (continue training on new logs) and embed (new items from attributes)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from item2vec.cli.base import _duration, cli, output_format, progress_line
from item2vec.events import INPUT_FORMATS


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("inputs", nargs=-1, required=True, metavar="NEW_EVENTS...")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="New model directory (default: MODEL, with --force).",
)
@click.option("--input-format", type=click.Choice(INPUT_FORMATS), help="Override format detection.")
@click.option("--user-col", help="Column of user ids (default: as the model was trained).")
@click.option("--session-col", help="Column of session/basket ids (default: as trained).")
@click.option("--item-col", help="Column of item ids (default: as trained).")
@click.option("--time-col", help="Column of times (default: as trained).")
@click.option("--session-gap", callback=_duration, help="Split sessions on gaps longer than this.")
@click.option("--min-length", type=click.IntRange(1), help="Drop shorter sequences (default: as trained).")
@click.option("--epochs", type=int, help="Passes over the new data (default: as trained).")
@click.option(
    "--min-count", type=int, help="Occurrences a new item needs, old and new (default: as trained)."
)
@click.option("--alpha", type=float, help="Initial learning rate (default: the trained one / 20).")
@click.option("--workers", type=int, help="Training threads (default: all cores).")
@click.option("--seed", type=int, help="Random seed (default: as trained).")
@click.option("--force", is_flag=True, help="Replace an existing model (needed to update MODEL in place).")
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary on stderr.")
def update(model: Path, inputs: tuple[str, ...], output: Path | None, **opts: Any) -> None:
    """Continue training a model on new event logs, adding new items.

    Session options and training parameters default to those in the model's model.json.
    New items join when they reach --min-count (old and new occurrences together). The
    history of updates is kept in model.json. Writes -o NEW_MODEL, or replaces MODEL with
    --force.

    \b
    item2vec update retail new_week.csv -o retail-v2
    item2vec update retail new_week.csv --epochs 5 --force
    """
    from item2vec.update import run_update

    quiet = opts.pop("quiet")
    session_keys = ("user_col", "session_col", "item_col", "time_col", "session_gap", "min_length")
    summary = run_update(
        model,
        list(inputs),
        output=output,
        force=opts["force"],
        session_overrides={k: opts[k] for k in session_keys},
        overrides={k: opts[k] for k in ("epochs", "min_count", "alpha", "workers", "seed")},
        input_format=opts["input_format"],
        progress=None if quiet or not sys.stderr.isatty() else progress_line,
    )
    if not quiet:
        click.echo("\n".join(summary.lines()), err=True)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("items_file", metavar="NEW_ITEMS", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="New model directory (default: MODEL, with --force).",
)
@click.option("--id-col", help="Id column in NEW_ITEMS (default: the one the model was trained with).")
@click.option("--feature-cols", metavar="COL,COL", help="Attribute columns (default: the model's).")
@click.option(
    "--force", is_flag=True, help="Replace an existing model (needed to embed into MODEL in place)."
)
@output_format
def embed(
    model: Path, items_file: str, output: Path | None, id_col: str | None, feature_cols: str | None,
    force: bool, fmt: str,
) -> None:  # fmt: skip
    """Give new items vectors from their attributes, so that queries answer for them.

    The model must have been trained with --item-features. NEW_ITEMS is a table (CSV, TSV,
    Parquet, JSON Lines) with an id column and the model's attribute columns. Prints one row
    per item: embedded, or skipped (already in the model, or no attribute the model knows).

    \b
    item2vec embed retail new_products.csv -o retail-v2
    item2vec similar retail-v2 NEW-SKU-1 -k 5
    """
    from item2vec.embed import embed_items
    from item2vec.features import parse_columns
    from item2vec.render import render

    columns = parse_columns(feature_cols) if feature_cols else None
    result = embed_items(model, items_file, id_col=id_col, columns=columns, output=output, force=force)
    click.echo(render(result.rows, fmt), nl=False)
    click.echo(
        f"Embedded {result.added:,} of {len(result.rows):,} items; model saved to {result.output}", err=True
    )
