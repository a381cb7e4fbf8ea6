"""Training and keeping models current: train, update, embed."""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import click

from item2vec.errors import flag_name, spell
from item2vec.render import render
from item2vec.training.config import TrainConfig, field_help, field_names

if TYPE_CHECKING:
    from item2vec.training.features import FeatureOptions
    from item2vec.training.holdout import Calibrator
    from item2vec.training.small_log import TrialJudge
    from item2vec.training.spark_io import SparkOptions
    from item2vec.training.walks import WalkOptions

from item2vec.cli.base import (
    cli,
    is_quiet,
    output_format,
    progress_callback,
    quiet_option,
    say,
    score_options,
)
from item2vec.cli.config_file import config_option
from item2vec.cli.input_options import session_from_options, session_options, session_values
from item2vec.cli.verbose import verbose_option

F = TypeVar("F", bound=Callable[..., Any])


def train_config_options(func: F) -> F:
    """One option per :class:`TrainConfig` field, with its help (``dim`` → ``--dim``; a ``Literal``
    field is a choice): a new training parameter is a new field, and train takes it."""
    hints = typing.get_type_hints(TrainConfig)
    for name in reversed(field_names()):
        option = click.option(f"--{name.replace('_', '-')}", type=_click_type(hints[name]),
                              help=spell(field_help(name), flag_name))  # fmt: skip
        func = option(func)
    return func


def _click_type(hint: Any) -> Any:
    """click's type for a TrainConfig field's type: a choice of a ``Literal``'s words, else the
    type itself (``int | None`` is ``int``: an unset option is None)."""
    if typing.get_origin(hint) is Literal:
        return click.Choice(typing.get_args(hint))
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return next(arg for arg in typing.get_args(hint) if arg is not type(None))
    return hint


@cli.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), required=True, help="Model directory to write."
)
@config_option
@session_options(inherit=False)
@click.option("--items", "items_file", type=click.Path(dir_okay=False), help="Item metadata table (names).")
@click.option("--id-col", help="Id column in --items (default: --item-col).")
@click.option("--title-col", default="title", show_default=True, help="Name column in --items.")
@click.option(
    "--item-features",
    type=click.Path(dir_okay=False),
    help="Item attribute table: attributes train with the items; cold items get vectors from them.",
)
@click.option("--feature-cols", metavar="COL,COL", help="Attribute columns in --item-features.")
@click.option("--feature-id-col", help="Id column in --item-features (default: --item-col).")
@train_config_options
@click.option(
    "--walks",
    type=click.Choice(["deepwalk", "node2vec"]),
    help="Train on random walks over the item-transition graph (docs/walks.md).",
)
@click.option("--walks-per-node", type=int, help="Walks started from every item (default 10).")
@click.option("--walk-length", type=int, help="Items per walk, 2 or more (default 20).")
@click.option("--p", type=float, help="node2vec return parameter: below 1 walks step back more (default 1).")
@click.option("--q", type=float, help="node2vec in-out parameter: below 1 walks move outward (default 1).")
@click.option("--undirected", is_flag=True, default=None, help="Walk each transition both ways too.")
@click.option(
    "--walks-mix",
    type=click.Choice(["walks", "both"]),
    help="Train on the walks alone, or on walks and sessions together (default both).",
)
@click.option(
    "--engine",
    type=click.Choice(["gensim", "spark"]),
    default="gensim",
    show_default=True,
    help="gensim: this machine; spark: Spark MLlib (item2vec[spark]), for logs beyond one machine.",
)
@click.option(
    "--spark-master", help="Spark master (local[*], spark://HOST:7077, yarn; default: spark-submit's)."
)
@click.option("--spark-conf", multiple=True, metavar="KEY=VALUE", help="Spark setting; repeatable.")
@click.option("--spark-partitions", type=click.IntRange(1), help="Word2Vec numPartitions (default 1).")
@score_options("Record the model's default --score for recommend and evaluate (default: calibrated).")
@click.option(
    "--calibrate/--no-calibrate",
    default=None,
    help="Choose the model's default scoring on held-out last items, then train them in "
    "(default: on, for event logs and sequences with the gensim engine).",
)
@click.option("--force", is_flag=True, help="Replace an existing model directory.")
@quiet_option
@verbose_option
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
    from item2vec.corpus.items import ItemsOptions
    from item2vec.training.pipeline import run_training
    from item2vec.training.requests import TrainRequest

    quiet = is_quiet()
    scoring = {key: opts.pop(key) for key in ("score", "hybrid_weight", "hybrid_base")}
    calibrate = opts.pop("calibrate")
    gensim = opts["engine"] == "gensim"
    if not gensim and (calibrate or any(v is not None for v in scoring.values())):
        raise click.UsageError("--score, --hybrid-weight, --hybrid-base and --calibrate need --engine gensim "
                               "(a Spark model keeps neither output vectors nor transitions)")  # fmt: skip
    if calibrate and any(v is not None for v in scoring.values()):
        raise click.UsageError("--calibrate chooses the scoring that --score, --hybrid-weight or --hybrid-base "
                               "gives: use one or the other")  # fmt: skip
    # The same session options as split/evaluate/tune (from a copy: opts is read again below).
    session = session_from_options(dict(opts))
    items = None
    if opts["items_file"]:
        items = ItemsOptions(opts["items_file"], opts["id_col"] or opts["item_col"], opts["title_col"])
    request = TrainRequest.from_values(
        {name: opts[name] for name in field_names()}, session=session, input_format=opts["input_format"],
        items=items, features=_feature_options(opts), spark=_spark_options(opts, quiet), walks=_walk_options(opts),
        scoring=scoring if gensim else None, calibrator=_calibrator() if calibrate is not False and gensim else None,
        calibration_asked=bool(calibrate), judge=_judge() if calibrate is not False and gensim else None,
    )  # fmt: skip
    summary = run_training(
        list(inputs), request=request, output=output, force=opts["force"], progress=progress_callback()
    )
    from item2vec.training.summary import summary_lines

    say("\n".join(summary_lines(summary)))


def _calibrator() -> Calibrator:
    from item2vec.evaluation.calibrate import calibrate

    return calibrate


def _judge() -> TrialJudge:
    from item2vec.evaluation.calibrate import TrialJudge as Judge

    return Judge()


def _walk_options(opts: dict[str, Any]) -> WalkOptions | None:
    from item2vec.training.walks import WalkOptions

    return WalkOptions.from_options(
        opts["walks"], walks_per_node=opts["walks_per_node"], walk_length=opts["walk_length"],
        p=opts["p"], q=opts["q"], undirected=bool(opts["undirected"]), mix=opts["walks_mix"],
    )  # fmt: skip


def _feature_options(opts: dict[str, Any]) -> FeatureOptions | None:
    from item2vec.training.features import FeatureOptions, parse_columns

    if not opts["item_features"]:
        if opts["feature_cols"] or opts["feature_id_col"]:
            raise click.UsageError("--feature-cols and --feature-id-col need --item-features FILE")
        return None
    if not opts["feature_cols"]:
        raise click.UsageError("--item-features needs --feature-cols COL,COL (the attribute columns)")
    return FeatureOptions(
        opts["item_features"], opts["feature_id_col"] or opts["item_col"], parse_columns(opts["feature_cols"])
    )


def _spark_options(opts: dict[str, Any], quiet: bool) -> SparkOptions | None:
    """--engine spark's options, after one warning line on what Spark cannot honour."""
    from item2vec.training.spark_io import SparkOptions

    names = ("spark_master", "spark_conf", "spark_partitions")
    given = [f"--{k.replace('_', '-')}" for k in names if opts[k]]
    if opts["engine"] != "spark":
        if given:
            verb = "needs" if len(given) == 1 else "need"
            raise click.UsageError(f"{', '.join(given)} {verb} --engine spark")
        return None
    from item2vec.training.spark_engine import spark_notes

    note = spark_notes(opts["preset"], {k: opts[k] for k in field_names() if k != "preset"})
    if note and not quiet:
        say(f"Warning: {note}")
    return SparkOptions(
        opts["spark_master"],
        SparkOptions.parse_conf(opts["spark_conf"]),
        opts["spark_partitions"] or 1,
        quiet,
    )


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("inputs", nargs=-1, required=True, metavar="NEW_EVENTS...")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="New model directory (default: MODEL, with --force).",
)
@config_option
@session_options(inherit=True)
@click.option("--epochs", type=int, help="Passes over the new data (default: as trained).")
@click.option(
    "--min-count", type=int, help="Occurrences a new item needs, old and new (default: as trained)."
)
@click.option("--alpha", type=float, help="Initial learning rate (default: the trained one / 20).")
@click.option("--workers", type=int, help="Training threads (default: all cores).")
@click.option("--seed", type=int, help="Random seed (default: as trained).")
@click.option("--force", is_flag=True, help="Replace an existing model (needed to update MODEL in place).")
@quiet_option
@verbose_option
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
    from item2vec.training.update import run_update

    summary = run_update(
        model,
        list(inputs),
        output=output,
        force=opts["force"],
        session_overrides=session_values(opts),
        overrides={k: opts[k] for k in ("epochs", "min_count", "alpha", "workers", "seed")},
        input_format=opts["input_format"],
        progress=progress_callback(),
    )
    for note in summary.notes:
        say(f"Warning: {note}")
    say("\n".join(summary.lines()))


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
@quiet_option
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
    from item2vec.training.embed import embed_items
    from item2vec.training.features import parse_columns

    columns = parse_columns(feature_cols) if feature_cols else None
    result = embed_items(model, items_file, id_col=id_col, columns=columns, output=output, force=force)
    click.echo(render(result.rows, fmt), nl=False)
    say(f"Embedded {result.added:,} of {len(result.rows):,} items; model saved to {result.output}")
