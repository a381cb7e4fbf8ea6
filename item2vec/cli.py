"""The command-line interface: parse options, call one core function, render, map errors."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from item2vec import __version__
from item2vec.errors import Item2VecError
from item2vec.events import INPUT_FORMATS
from item2vec.export import EXPORT_FORMATS
from item2vec.render import FORMATS, render, render_record
from item2vec.train import Progress

F = TypeVar("F", bound=Callable[..., Any])
TRAIN_PARAMS = (
    "dim", "window", "negative", "ns_exponent", "sample", "epochs",
    "min_count", "max_vocab", "alpha", "workers", "seed", "context",
)  # fmt: skip


class Item2VecGroup(click.Group):
    """Turns Item2VecError into ``Error: ...`` (exit 1) and Ctrl-C into exit 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Item2VecError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("\nInterrupted: nothing was written.", err=True)
            ctx.exit(130)


def output_format(func: F) -> F:
    """The shared ``-f/--format`` option of every query command."""
    option = click.option(
        "-f", "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
        help="Output format: table for people, the rest for pipes.",
    )  # fmt: skip
    return option(func)


def top_k(func: F) -> F:
    option = click.option(
        "-k", "--top", "k", type=click.IntRange(1, 100_000), default=10, show_default=True,
        help="How many results per query.",
    )  # fmt: skip
    return option(func)


@click.group(cls=Item2VecGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="item2vec")
def cli() -> None:
    """Item embeddings from behaviour logs: train, then ask which items are alike.

    \b
    item2vec train events.csv --user-col user --item-col item -o model
    item2vec similar model 85123A -k 5
    """


def _load_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    from item2vec.config import load_config_file

    allowed = {p.name for p in ctx.command.params if p.name and p.name not in ("config", "inputs")}
    try:
        ctx.default_map = {**(ctx.default_map or {}), **load_config_file(Path(value), allowed)}
    except Item2VecError as exc:
        raise click.BadParameter(str(exc)) from None


def _duration(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    from item2vec.sequences import parse_duration

    try:
        return parse_duration(str(value))
    except Item2VecError as exc:
        raise click.BadParameter(str(exc)) from None


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


def progress_line(progress: Progress) -> None:
    """One self-overwriting progress line on stderr."""
    eta = int(progress.eta_seconds)
    text = (
        f"\repoch {progress.epoch}/{progress.epochs}  {progress.fraction:6.1%}  "
        f"{progress.items_per_second:,.0f} items/s  ETA {eta // 60}:{eta % 60:02d}  "
    )
    click.echo(text, err=True, nl=progress.fraction >= 1.0)


def _read_items(items: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item == "-":
            text = sys.stdin.read()
            out.extend(stripped for stripped in (raw.strip() for raw in text.splitlines()) if stripped)
        else:
            out.append(item)
    return out


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("items", nargs=-1)
@top_k
@click.option("--combine", is_flag=True, help="Neighbours of the mean of all query items.")
@click.option(
    "--title", "titles", multiple=True, help="Find the query item by name (substring, case-insensitive)."
)
@click.option("--skip-unknown", is_flag=True, help="Warn about unknown items and answer the rest.")
@output_format
def similar(model: Path, items: tuple[str, ...], k: int, combine: bool, titles: tuple[str, ...],
            skip_unknown: bool, fmt: str) -> None:  # fmt: skip
    """Find the items most similar to ITEM (cosine), with their names.

    Give several items for one block each, or '-' to read ids from stdin (one a line).

    \b
    item2vec similar model 85123A -k 5
    item2vec similar model --title "hanging heart"
    cut -f1 ids.txt | item2vec similar model - -f jsonl
    """
    from item2vec.store import load

    if not items and not titles:
        raise click.UsageError("give ITEM ids, '-' to read them from stdin, or --title TEXT")
    embeddings = load(model)
    query, notes = embeddings.resolve(_read_items(items), titles, skip_unknown=skip_unknown)
    for note in notes:
        click.echo(note, err=True)
    rows = [n.as_row(bool(embeddings.names)) for n in embeddings.similar(query, k, combine=combine)]
    click.echo(render(rows, fmt, group="query"), nl=False)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("expression", required=False)
@click.option("-p", "--positive", multiple=True, help="Item to add (repeatable).")
@click.option("-n", "--negative", multiple=True, help="Item to subtract (repeatable).")
@click.option(
    "--method",
    type=click.Choice(["add", "mul"]),
    default="add",
    show_default=True,
    help="3CosAdd or 3CosMul (Levy & Goldberg 2014).",
)
@top_k
@output_format
def analogy(model: Path, expression: str | None, positive: tuple[str, ...], negative: tuple[str, ...],
            method: str, k: int, fmt: str) -> None:  # fmt: skip
    """Answer A - B + C: the items closest to the combination, inputs excluded.

    \b
    item2vec analogy text-model "king - man + woman" -k 3
    item2vec analogy text-model -p king -p woman -n man --method mul
    """
    from item2vec.embeddings import parse_analogy
    from item2vec.store import load

    if expression and (positive or negative):
        raise click.UsageError("give either EXPRESSION or --positive/--negative, not both")
    if not expression and not positive:
        raise click.UsageError("give an EXPRESSION such as 'king - man + woman', or --positive items")
    pos, neg = parse_analogy(expression) if expression else (list(positive), list(negative))
    embeddings = load(model)
    label = " ".join(expression.split()) if expression else None
    answer = embeddings.analogy(pos, neg, k, method=method, label=label)  # type: ignore[arg-type]
    rows = [n.as_row(bool(embeddings.names)) for n in answer]
    click.echo(render(rows, fmt, group="query"), nl=False)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@output_format
def info(model: Path, fmt: str) -> None:
    """Show a model's size, parameters, input statistics and training time.

    \b
    item2vec info model
    item2vec info model -f json | jq .params
    """
    from item2vec.report import info_record
    from item2vec.store import load

    click.echo(render_record(info_record(load(model)), fmt), nl=False)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "-f", "--format", "fmt", type=click.Choice(EXPORT_FORMATS), required=True, help="Export format."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="File (or directory for projector).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
def export(model: Path, fmt: str, output: Path, force: bool) -> None:
    """Write the vectors for other tools.

    word2vec and word2vec-binary are read by gensim's load_word2vec_format and the C tools;
    npy writes OUTPUT plus OUTPUT.ids.txt; parquet has id, vector, count (and name);
    projector writes a directory of TensorBoard projector vectors.tsv and metadata.tsv.

    \b
    item2vec export model -f word2vec -o vectors.txt
    item2vec export model -f projector -o projector/
    """
    from item2vec.export import export as write
    from item2vec.store import load

    for path in write(load(model), fmt, output, force=force):
        click.echo(f"wrote {path}", err=True)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="item2vec")
