"""The command group, its error handling, and the options and helpers commands share.

Signals are handled in :mod:`item2vec.cli.signals`, ``--config`` in
:mod:`item2vec.cli.config_file`, the options of commands that read event tables in
:mod:`item2vec.cli.input_options`.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from item2vec.cli.signals import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    Terminated,
    command_done,
    exit_code,
    sigterm_raises,
)
from item2vec.errors import Item2VecError, MissingColumnsError, Namer, flag_name, spell
from item2vec.model.modes import HYBRID_BASE, HYBRID_BASES, HYBRID_WEIGHT, mode_names
from item2vec.render import FORMATS
from item2vec.version import __version__

if TYPE_CHECKING:
    from item2vec.model.embeddings import Embeddings
    from item2vec.query.searcher import Searcher
    from item2vec.training.gensim_engine import Progress

F = TypeVar("F", bound=Callable[..., Any])
_QUIET = "item2vec.quiet"
_ARGS = "item2vec.args"


class Item2VecGroup(click.Group):
    """Turns Item2VecError into ``Error: ...`` (exit 1; 3 for --fail-under), Ctrl-C into exit 130, SIGTERM into 143."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        with sigterm_raises():
            return super().main(*args, **kwargs)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt as exc:  # while parsing options (click would say "Aborted!", exit 1)
            _interrupted(exc)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        ctx.meta[_ARGS] = list(rest)  # the command's own arguments, for other_tool_hint
        return name, command, rest

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.NoSuchOption as exc:  # --vector-size: say which of our flags it is
            command = self.get_command(ctx, ctx.invoked_subcommand or "")
            from item2vec.cli.flag_hints import other_tool_hint

            own = {opt for p in (command.params if command else []) for opt in (*p.opts, *p.secondary_opts)}
            hint = other_tool_hint(ctx.meta.get(_ARGS, []), command_flags(command), own)
            if hint is None:
                raise
            raise click.UsageError(hint, exc.ctx) from None
        except click.exceptions.Exit as exc:  # a command that stopped on Ctrl-C itself (tune)
            raise click.exceptions.Exit(exit_code(exc.exit_code)) from None
        except MissingColumnsError as exc:
            command = self.get_command(ctx, ctx.invoked_subcommand or "")
            message = spell(exc.message(command_flags(command)), cli_namer(command))
            raise _error(message, exc.exit_code) from None
        except Item2VecError as exc:
            command = self.get_command(ctx, ctx.invoked_subcommand or "")
            raise _error(exc.render(cli_namer(command)), exc.exit_code) from None
        except KeyboardInterrupt as exc:
            _interrupted(exc)
        finally:
            command_done()  # a signal after the command's end changes nothing


def _interrupted(exc: KeyboardInterrupt) -> NoReturn:
    """Say that nothing was written; exit 143 for SIGTERM, 130 for Ctrl-C."""
    command_done()
    word, code = (
        ("Terminated", EXIT_TERMINATED) if isinstance(exc, Terminated) else ("Interrupted", EXIT_INTERRUPTED)
    )
    click.echo(f"\n{word}: nothing was written.", err=True)
    raise click.exceptions.Exit(code)


def _error(message: str, code: int) -> click.ClickException:
    """``Error: message`` on stderr and exit status ``code`` (click reads it from the class)."""
    kind = type(f"ExitStatus{code}", (click.ClickException,), {"exit_code": code})
    error: click.ClickException = kind(message)
    return error


def command_flags(command: click.Command | None) -> dict[str, str]:
    """Parameter name → its long flag, for the options ``command`` shows in its help."""
    if command is None:
        return {}
    options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden and p.name]
    return {p.name: max(p.opts, key=len) for p in options if p.name}


# Options whose short flag is the one people type, and so the one messages show (-o FILE, -k 10).
SHORT_FIRST = ("output",)


def cli_namer(command: click.Command | None) -> Namer:
    """Spells a parameter that an error names as ``command``'s own flag (``--min-count 2``).

    A switch is spelled by its on or off flag (``drop_repeats=False`` → ``--keep-repeats``); a
    one-letter option and ``output`` by the short flag (``-k 0``, ``-o FILE``); a parameter the
    command lacks as ``--name``.
    """
    flags = command_flags(command)
    options = [p for p in command.params if isinstance(p, click.Option)] if command else []
    for option in options:
        if not option.name:
            continue
        short = f"-{option.name[0]}"
        if (len(option.name) == 1 or option.name in SHORT_FIRST) and short in option.opts:
            flags[option.name] = short
        if option.is_flag:
            flags[f"{option.name}=True"] = max(option.opts, key=len)
            if option.secondary_opts:
                flags[f"{option.name}=False"] = max(option.secondary_opts, key=len)
    return functools.partial(flag_name, flags=flags)


class Option(click.Option):
    """A click option that can refuse being repeated (``once``) and keep ``old`` spellings.

    An old spelling still works for one release, with a note on stderr naming the new one,
    and is hidden from --help. ``once`` refuses a repeated option, which click would silently
    resolve to its last value.
    """

    def __init__(self, *args: Any, old: Sequence[str] = (), once: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.old = tuple(old)
        self.once = once

    @property
    def flag(self) -> str:
        return self.opts[0]

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        if self.once and not self.multiple and not self.is_flag:
            parser.add_option(obj=self, opts=self.opts, dest=self.name, action="append", nargs=self.nargs)
        else:
            super().add_to_parser(parser, ctx)
        if self.old:
            parser.add_option(
                obj=self, opts=self.old, dest=f"{self.name}.old", action="append", nargs=self.nargs
            )

    def consume_value(self, ctx: click.Context, opts: Mapping[str, Any]) -> tuple[Any, Any]:
        values = dict(opts)  # the parser holds only the options given on the command line
        old = values.pop(f"{self.name}.old", None)
        if old is not None:
            if self.name in values:
                raise click.UsageError(f"give {self.flag} or {'/'.join(self.old)}, not both", ctx)
            click.echo(f"{'/'.join(self.old)} is deprecated here: use {self.flag}", err=True)
            values[self.name] = old if self.multiple or self.once else old[-1]
        given = values.get(self.name)
        if isinstance(given, list) and not self.multiple:
            if len(given) > 1:
                shown = " ".join(f"{self.opts[0]} {v}" for v in given)
                raise click.UsageError(
                    f"{self.opts[0]} is given {len(given)} times ({shown}): give it once", ctx
                )
            values[self.name] = given[0]
        return super().consume_value(ctx, values)


def renamed(*decls: str, old: str, **kwargs: Any) -> Callable[[F], F]:
    """``click.option(*decls)`` that still accepts its ``old`` spelling for one release."""
    return click.option(*decls, cls=Option, old=(old,), **kwargs)


def output_format(func: F) -> F:
    """The shared ``-f/--format`` option of every query command."""
    option = click.option(
        "-f", "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
        help="Output format: table for people, the rest for pipes.",
    )  # fmt: skip
    return option(func)


def top_k(func: F) -> F:
    """``-k/--k N``: how many results; given once (click would silently keep the last)."""
    option = click.option(
        "-k", "--k", "k", cls=Option, old=("--top",), once=True, type=click.IntRange(1, 100_000), default=10,
        show_default=True, help="How many results per query.",
    )  # fmt: skip
    return option(func)


class _Cutoff(click.ParamType):  # type: ignore[type-arg]
    """One cut-off (``-k 10``); the old comma list (``-k 10,20``) still works, with a note."""

    name = "K"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[int, ...]:
        from item2vec.evaluation.evaluate import parse_ks

        if isinstance(value, tuple):
            return value
        text = str(value)
        try:
            ks = parse_ks(text, name="k")
        except Item2VecError as exc:
            self.fail(str(exc), param, ctx)
        if "," in text:
            click.echo(f"-k {text} is deprecated: use --ks {text} (or -k once per cut-off)", err=True)
        return ks


def cutoff_options(func: F) -> F:
    """``-k K`` (repeatable) and ``--ks K,K``: the cut-offs of evaluate and report."""
    options = [
        click.option("-k", "--k", "k", type=_Cutoff(), multiple=True,
                     help="A cut-off for the metrics (default 10); repeatable: -k 10 -k 20."),
        click.option("--ks", metavar="K,K...", help="Cut-offs as one list: --ks 10,20,50."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def cutoffs(k: tuple[tuple[int, ...], ...], ks: str | None) -> tuple[int, ...]:
    """The sorted cut-offs of ``-k`` and ``--ks`` (10 when neither is given)."""
    from item2vec.evaluation.evaluate import parse_ks

    chosen = {value for values in k for value in values}
    if ks is not None:
        try:
            chosen.update(parse_ks(ks, name="ks"))
        except Item2VecError:  # a usage error, as -k 0 is (exit 2)
            raise click.BadParameter(
                f"{ks!r} is not a list of cut-offs: give whole numbers of 1 or more, such as 10 or 10,20,50",
                ctx=click.get_current_context(silent=True),
                param_hint="'--ks'",
            ) from None
    return tuple(sorted(chosen)) or (10,)


def _set_quiet(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    ctx.meta[_QUIET] = bool(value)


def quiet_option(func: F) -> F:
    """``-q/--quiet``: nothing on stderr but errors (and deprecation notes)."""
    option = click.option(
        "-q", "--quiet", is_flag=True, expose_value=False, is_eager=True, callback=_set_quiet,
        help="Nothing on stderr but errors: no progress, notes or summary.",
    )  # fmt: skip
    return option(func)


def is_quiet() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(_QUIET))


def say(text: str) -> None:
    """A line on stderr (a note, a summary), unless -q; each parameter it names (``errors.param``)
    spelled as the running command's flag."""
    if not is_quiet():
        context = click.get_current_context(silent=True)
        click.echo(spell(text, cli_namer(context.command if context else None)), err=True)


class ModeChoice(click.Choice):  # type: ignore[type-arg]
    """``--score``'s choice: the score modes registered (``item2vec.query.score_modes``), read
    when a value is checked, so a mode registered after the command was made is offered too."""

    def __init__(self) -> None:
        super().__init__(mode_names())

    @property
    def choices(self) -> tuple[str, ...]:
        return mode_names()

    @choices.setter
    def choices(self, value: Any) -> None:
        pass  # always the registry's


def score_help(before: str = "", after: str = ".") -> str:
    """Help naming each registered score mode and what it scores."""
    from item2vec.query.score_modes import registered

    return before + "; ".join(f"{name}: {mode.help}" for name, mode in registered().items()) + after


def score_options(score_help: str, *, multiple: bool = False, default: str | None = None) -> Callable[[F], F]:
    """``--score`` (help ``score_help``), ``--hybrid-weight`` and ``--hybrid-base``."""
    import item2vec.query.score_modes  # noqa: F401 - registers the shipped modes

    was = "the model's, else "

    def decorate(func: F) -> F:
        options = [
            click.option("--score", "score", type=ModeChoice(), multiple=multiple, default=default,
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
    # gensim's log lines are not for the command line; the Python API leaves gensim's logging alone.
    logging.getLogger("gensim").setLevel(logging.ERROR)


def read_items(items: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item == "-":
            text = sys.stdin.read()
            out.extend(stripped for stripped in (raw.strip() for raw in text.splitlines()) if stripped)
        else:
            out.append(item)
    return out


def approx_index(embeddings: Embeddings, model: Path, approx: bool) -> Searcher | None:
    """With --approx, the model's stored indexes, to hand to the scorer (the model is unchanged)."""
    if not approx:
        return None
    from item2vec.query.searcher import open_searcher

    return open_searcher(model, embeddings)


def progress_line(progress: Progress) -> None:
    """One self-overwriting progress line on stderr."""
    eta = int(progress.eta_seconds)
    text = (
        f"\repoch {progress.epoch}/{progress.epochs}  {progress.fraction:6.1%}  "
        f"{progress.items_per_second:,.0f} items/s  ETA {eta // 60}:{eta % 60:02d}  "
    )
    click.echo(text, err=True, nl=progress.fraction >= 1.0)


def progress_callback() -> Callable[[Progress], None] | None:
    """The progress line, on a terminal and without -q."""
    return None if is_quiet() or not sys.stderr.isatty() else progress_line
