"""The options of the commands that read event tables: format, columns, sessions, filters, delimiter."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from item2vec.cli.base import F
from item2vec.corpus.events import INPUT_FORMATS
from item2vec.errors import Item2VecError

if TYPE_CHECKING:
    from item2vec.corpus.options import SessionOptions


def delimiter_callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from item2vec.corpus.options import parse_delimiter

    try:
        return parse_delimiter(value)
    except Item2VecError as exc:
        raise click.BadParameter(str(exc)) from None


def delimiter_option(*, inherit: bool, prefix: str = "") -> Callable[[F], F]:
    """The shared ``--delimiter`` of the commands that read event tables."""
    default = "as the model was trained, else " if inherit else ""
    return click.option(
        "--delimiter", metavar="CHAR", callback=delimiter_callback,
        help=f"{prefix}CSV field delimiter, one character; '\\t' is a tab "
        f"(default: {default}',' for CSV, a tab for TSV).",
    )  # fmt: skip


def duration_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    from item2vec.corpus.options import parse_duration

    try:
        return parse_duration(str(value))
    except Item2VecError as exc:
        raise click.BadParameter(str(exc)) from None


WHERE_HELP = (
    "Keep rows where COL=VALUE, COL!=VALUE, a number comparison (COL>N, COL>=N, COL<N, COL<=N) "
    "or 'COL in A,B' / 'COL not in A,B'; repeatable (all must hold). Quote it in a shell: --where 'Quantity>0'."
)


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
            click.option("--where", multiple=True, metavar="FILTER", help=WHERE_HELP + (
                " Default: the model's filters." if inherit else "")),
            delimiter_option(inherit=inherit),
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
    "delimiter",
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
