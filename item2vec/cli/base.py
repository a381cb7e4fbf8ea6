"""The command group, its error handling, and the options and helpers commands share."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from item2vec import __version__
from item2vec.errors import Item2VecError
from item2vec.render import FORMATS

if TYPE_CHECKING:
    from item2vec.embeddings import Embeddings
    from item2vec.train import Progress

F = TypeVar("F", bound=Callable[..., Any])
TRAIN_PARAMS = (
    "dim", "window", "negative", "ns_exponent", "sample", "epochs",
    "min_count", "max_vocab", "alpha", "workers", "seed", "context", "corpus_mode",
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


def _read_items(items: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item == "-":
            text = sys.stdin.read()
            out.extend(stripped for stripped in (raw.strip() for raw in text.splitlines()) if stripped)
        else:
            out.append(item)
    return out


def _approx(embeddings: Embeddings, model: Path, approx: bool) -> Embeddings:
    """With --approx, make the embeddings answer from the model's stored index."""
    if approx:
        from item2vec.index import attach

        attach(embeddings, model)
    return embeddings


def _similar_all(model: Path, k: int, *, approx: bool, output: Path | None, force: bool, extra: bool) -> None:
    from item2vec.recommend import neighbour_table
    from item2vec.store import load

    if extra or output is None:
        raise click.UsageError("--all takes no ITEM or --title, and needs -o FILE (.parquet, .csv or .tsv)")
    summary = neighbour_table(_approx(load(model), model, approx), output, k=k, force=force)
    click.echo(summary.line("items"), err=True)


def progress_line(progress: Progress) -> None:
    """One self-overwriting progress line on stderr."""
    eta = int(progress.eta_seconds)
    text = (
        f"\repoch {progress.epoch}/{progress.epochs}  {progress.fraction:6.1%}  "
        f"{progress.items_per_second:,.0f} items/s  ETA {eta // 60}:{eta % 60:02d}  "
    )
    click.echo(text, err=True, nl=progress.fraction >= 1.0)
