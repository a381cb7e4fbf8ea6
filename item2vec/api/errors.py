"""Errors in Python terms: the API names parameters as keyword arguments.

The core names a parameter in a message with :func:`item2vec.errors.param`; under the API it is
spelled as a keyword argument (``min_count=2``, ``force=True``), by the name the API function
takes (a column is ``user=``, not ``user_col=``). :func:`in_python_terms` makes every
:class:`~item2vec.errors.Item2VecError` an API function raises read so, keeping the exception,
its class and its fields. An unknown item becomes :class:`ItemNotFoundError`, which is also a
``KeyError``, as a mapping's is.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from item2vec.errors import Item2VecError, Namer, UnknownItemError, python_name, spell

P = ParamSpec("P")
R = TypeVar("R")

# Parameters whose API keyword is not their core name.
API_NAMES = {
    "user_col": "user",
    "session_col": "session",
    "item_col": "item",
    "time_col": "time",
    "train_files": "train",
}


# TRANSITIONAL (typed-core work): flags still spelled in core messages are rewritten here
# until every core module names parameters with errors.param; then this table goes.
# Flags whose Python spelling is not the flag with underscores.
_RENAMED = {
    "user-col": "user",
    "session-col": "session",
    "item-col": "item",
    "time-col": "time",
    "top": "k",
}
_WHOLE = {
    "--user-col/--session-col/--item-col/--time-col": "user=, session=, item= and time=",
    "--force": "force=True",
    "--keep-repeats": "drop_repeats=False",
    "--drop-repeats": "drop_repeats=True",
    "--no-baselines": "baselines=False",
    "--train FILE": "train=DATA",
}
# Flags that take a word from a fixed set: the word is quoted (context='set').
_CHOICES = {
    "context": ("window", "set"),
    "corpus-mode": ("auto", "stream", "file"),
    "method": ("add", "mul"),
    "query": ("last", "history"),
    "preset": ("recsys", "text"),
    "score": ("similar", "next", "hybrid"),
    "hybrid-base": ("similar", "next"),
}
_LITERAL = r"-?\d[\w.+-]*|'[^']*'|\"[^\"]*\""
_FLAG = re.compile(
    r"(?<![\w-])(?:--(?P<long>[a-z][a-z0-9-]*)|-(?P<short>k))(?![\w-])"
    r"""(?:\s+(?P<value>'[^']*'|"[^"]*"|[^\s,;:)]+))?"""
)


class Item2VecWarning(UserWarning):
    """Something a person should know about an answer (unknown history items skipped, ...)."""


class ItemNotFoundError(UnknownItemError, KeyError):
    """An item is not in the model: an ``UnknownItemError`` that ``except KeyError`` catches too."""

    def __str__(self) -> str:
        return self.render()


def python_namer() -> Namer:
    """Spells a parameter as the API's keyword argument (``min_count=2``)."""
    return functools.partial(python_name, names=API_NAMES)


def python_terms(text: str) -> str:
    """``text`` (a message or note naming parameters) with each one spelled as a keyword argument."""
    return _legacy(spell(text, python_namer()))


def _legacy(message: str) -> str:
    for flag, words in _WHOLE.items():
        message = message.replace(flag, words)
    return _FLAG.sub(_keyword, message)


def _keyword(match: re.Match[str]) -> str:
    flag = match.group("long") or match.group("short")
    name = _RENAMED.get(flag, flag.replace("-", "_"))
    value = match.group("value")
    if value is None:
        return name
    if re.fullmatch(_LITERAL, value):
        return f"{name}={value}"
    if value in _CHOICES.get(flag, ()):
        return f"{name}={value!r}"
    return f"{name} {value}"


def in_python_terms(func: Callable[P, R]) -> Callable[P, R]:
    """Make the Item2VecError ``func`` raises name parameters as keyword arguments (same class)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except Item2VecError as exc:
            if isinstance(exc, UnknownItemError) and not isinstance(exc, ItemNotFoundError):
                found = ItemNotFoundError(
                    _legacy(exc.raw), param=exc.param, value=exc.value, expected=exc.expected
                )
                found.namer = python_namer()
                raise found from None
            exc.args = (_legacy(exc.raw), *exc.args[1:])
            exc.namer = python_namer()
            raise

    return wrapper
