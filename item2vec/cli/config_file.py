"""``--config FILE.toml``: option defaults from a file, checked as their flags check them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from item2vec.cli.base import F
from item2vec.errors import Item2VecError

# Options a command never takes from another command's table of a --config file.
_NOT_SHARED = frozenset({"output", "force", "quiet"})


def load_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    from item2vec.training.config import load_config_file

    command = ctx.command.name or ""
    params = {_key(p): p for p in _options(ctx.command)}  # keys as the flags spell them: items, format
    allowed = set(params)
    group = ctx.parent.command if ctx.parent is not None else None
    commands = getattr(group, "commands", {})
    train = commands.get("train")
    shared = {_key(p) for p in _options(train)} if train is not None else set()
    aliases = {p.name: key for key, p in params.items() if p.name and p.name != key}  # items_file: items
    not_shared = {_key(p) for p in _options(ctx.command) if p.name in _NOT_SHARED} | _NOT_SHARED
    try:
        raw = load_config_file(
            Path(value), allowed, command=command, commands=set(commands) | {"train"},
            borrowed=allowed - not_shared, ignored=shared | not_shared, aliases=aliases,
        )  # fmt: skip
        defaults = {
            params[key].name: config_value(ctx, params[key], item, value) for key, item in raw.items()
        }
    except Item2VecError as exc:
        raise click.BadParameter(str(exc)) from None
    ctx.default_map = {**(ctx.default_map or {}), **defaults}


def _options(command: click.Command) -> list[click.Option]:
    return [p for p in command.params if isinstance(p, click.Option) and p.name and p.name != "config"]


def _key(option: click.Option) -> str:
    """The config file key of ``option``: its long flag, underscored (``--min-count`` → min_count)."""
    return max(option.opts, key=len).lstrip("-").replace("-", "_")


def config_option(func: F) -> F:
    """``--config FILE.toml``: option defaults from a file; flags override it."""
    option = click.option(
        "--config", type=click.Path(dir_okay=False), is_eager=True, expose_value=False, callback=load_config,
        help="TOML file of option defaults (top level, [train] or [COMMAND]); flags override it.",
    )  # fmt: skip
    return option(func)


def config_value(ctx: click.Context, param: click.Parameter, value: Any, path: str) -> Any:
    """A ``--config`` value checked as its flag checks it: ``dim = 32.9`` is refused, not cut to 32.

    Raises:
        ConfigError: the value has another type than the option takes, or is out of its range.
    """
    if param.multiple:
        return tuple(
            _config_one(ctx, param, v, path) for v in (value if isinstance(value, list) else [value])
        )
    return _config_one(ctx, param, value, path)


def _config_one(ctx: click.Context, param: click.Parameter, value: Any, path: str) -> Any:
    import json

    from item2vec.errors import ConfigError, cut

    name, shown = (
        _key(param).replace("_", "-") if isinstance(param, click.Option) else param.name or "",
        cut(json.dumps(value, ensure_ascii=False, default=str), 60),
    )
    expected = _config_type(param, value) or _config_filter(param, value)
    if expected:
        raise ConfigError(
            f"config file {path!r}: {name} = {shown} is invalid: use {expected}, as --{name} takes"
        )
    if not isinstance(value, (str, bool, int, float)):
        value = str(value)  # a TOML date (cutoff = 2011-11-01) as written
    try:
        return param.type.convert(value, param, ctx)
    except click.BadParameter as exc:
        raise ConfigError(f"config file {path!r}: {name} = {shown} is invalid: {exc.message}") from None


def _config_filter(param: click.Parameter, value: Any) -> str | None:
    """What a ``where`` value of a config file should have been: a filter, checked now (a usage
    error, as on the command line), not when the command reads its input."""
    if param.name != "where":
        return None
    from item2vec.corpus.options import WHERE_SYNTAX, Where

    if not isinstance(value, str):
        return f'a filter in quotes, such as "Quantity>0" ({WHERE_SYNTAX})'
    try:
        Where.parse(value)
    except Item2VecError:
        return WHERE_SYNTAX
    return None


def _config_type(param: click.Parameter, value: Any) -> str | None:
    """What ``value`` should have been, when it is not of the type the option takes.

    A string is converted as the command line converts it (``dim = "64"`` is ``--dim 64``).
    """
    if isinstance(param, click.Option) and param.is_flag and not param.count:
        return None if isinstance(value, bool) else "true or false"
    if isinstance(value, str):
        return None
    if isinstance(param.type, click.Path) and not isinstance(value, (list, dict)):
        return 'a path in quotes, such as "items.csv"'
    if isinstance(value, (list, dict)):
        return "one value, not a list or table"
    if isinstance(value, bool):
        return "a value, not true or false"
    if isinstance(param.type, click.types.IntParamType):
        return None if isinstance(value, int) else "a whole number"
    if isinstance(param.type, click.types.FloatParamType):
        return None if isinstance(value, (int, float)) else "a number"
    return None
