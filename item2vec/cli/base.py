"""The command group, its error handling, and the options and helpers commands share."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from item2vec.corpus.events import INPUT_FORMATS
from item2vec.errors import Item2VecError
from item2vec.model.modes import HYBRID_BASE, HYBRID_BASES, HYBRID_WEIGHT, SCORE_MODES
from item2vec.render import FORMATS
from item2vec.version import __version__

if TYPE_CHECKING:
    from item2vec.corpus.options import SessionOptions
    from item2vec.model.embeddings import Embeddings
    from item2vec.training.gensim_engine import Progress

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


def score_options(score_help: str, *, multiple: bool = False, default: str | None = None) -> Callable[[F], F]:
    """``--score`` (help ``score_help``), ``--hybrid-weight`` and ``--hybrid-base``."""
    was = "the model's, else "

    def decorate(func: F) -> F:
        options = [
            click.option("--score", "score", type=click.Choice(SCORE_MODES), multiple=multiple, default=default,
                         show_default=default is not None, help=score_help),
            click.option("--hybrid-weight", type=click.FloatRange(0),
                         help=f"hybrid: weight of log1p(transitions) (default: {was}{HYBRID_WEIGHT:g})."),
            click.option("--hybrid-base", type=click.Choice(HYBRID_BASES),
                         help=f"hybrid: the embedding score it standardises (default: {was}{HYBRID_BASE})."),
        ]  # fmt: skip
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


@click.group(cls=Item2VecGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="item2vec")
def cli() -> None:
    """Item embeddings from behaviour logs: train, then ask which items are alike.

    \b
    item2vec train events.csv --user-col user --item-col item -o model
    item2vec similar model 85123A -k 5
    """


def load_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    from item2vec.training.config import load_config_file

    allowed = {p.name for p in ctx.command.params if p.name and p.name not in ("config", "inputs")}
    try:
        ctx.default_map = {**(ctx.default_map or {}), **load_config_file(Path(value), allowed)}
    except Item2VecError as exc:
        raise click.BadParameter(str(exc)) from None


def duration_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    from item2vec.corpus.options import parse_duration

    try:
        return parse_duration(str(value))
    except Item2VecError as exc:
        raise click.BadParameter(str(exc)) from None


def read_items(items: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item == "-":
            text = sys.stdin.read()
            out.extend(stripped for stripped in (raw.strip() for raw in text.splitlines()) if stripped)
        else:
            out.append(item)
    return out


def approx_index(embeddings: Embeddings, model: Path, approx: bool) -> Embeddings:
    """With --approx, make the embeddings answer from the model's stored index."""
    if approx:
        from item2vec.query.index import attach

        attach(embeddings, model)
    return embeddings


def progress_line(progress: Progress) -> None:
    """One self-overwriting progress line on stderr."""
    eta = int(progress.eta_seconds)
    text = (
        f"\repoch {progress.epoch}/{progress.epochs}  {progress.fraction:6.1%}  "
        f"{progress.items_per_second:,.0f} items/s  ETA {eta // 60}:{eta % 60:02d}  "
    )
    click.echo(text, err=True, nl=progress.fraction >= 1.0)


def session_options(*, inherit: bool) -> Callable[[F], F]:
    """train's user/session/time options; with ``inherit``, unset ones come from the model."""
    was = " (default: as the model was trained)" if inherit else ""

    def decorate(func: F) -> F:
        options = [
            click.option("--input-format", type=click.Choice(INPUT_FORMATS), help="Override format detection."),
            click.option("--user-col", help="Column of user ids (default: user_id, unless --session-col is given)."
                         if not inherit else "Column of user ids" + was + "."),
            click.option("--session-col", help="Column of session/basket ids" + was + "."),
            click.option("--item-col", default=None if inherit else "item_id", show_default=not inherit,
                         help="Column of item ids" + was + "."),
            click.option("--time-col", help="Column of times: epoch s/ms or ISO 8601" + was + "."),
            click.option("--session-gap", callback=duration_option,
                         help="Split a user's events on gaps longer than this (30m, 2h)" + was + "."),
            click.option("--drop-repeats/--keep-repeats", default=None if inherit else True,
                         show_default=not inherit, help="Drop consecutive repeats of an item" + was + "."),
            click.option("--min-length", type=click.IntRange(1), default=None if inherit else 2,
                         show_default=not inherit, help="Drop shorter sequences" + was + "."),
            click.option("--where", multiple=True, metavar="COL=VALUE",
                         help="Keep rows where COL=VALUE (or COL!=VALUE); repeatable."),
        ]  # fmt: skip
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


_SESSION_KEYS = (
    "user_col",
    "session_col",
    "item_col",
    "time_col",
    "session_gap",
    "drop_repeats",
    "min_length",
)


def session_values(opts: dict[str, Any]) -> dict[str, Any]:
    """Pop the session options out of ``opts`` (``--where`` parsed)."""
    from item2vec.corpus.options import Where

    values = {key: opts.pop(key) for key in _SESSION_KEYS}
    values["where"] = tuple(Where.parse(w) for w in opts.pop("where"))
    return values


def session_from_options(opts: dict[str, Any]) -> SessionOptions:
    """The SessionOptions the session flags in ``opts`` describe (popped from ``opts``)."""
    from item2vec.corpus.options import SessionOptions

    values = session_values(opts)
    values["user_col"] = values["user_col"] or (None if values["session_col"] else "user_id")
    return SessionOptions(**values)
