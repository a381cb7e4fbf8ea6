"""Errors in Python terms: the core's messages name CLI flags; the API names parameters.

The core phrases every message for the command line (``use --min-count 2 or lower``). Under the
API the same message reads ``use min_count=2 or lower``: :func:`python_terms` rewrites the flags
it knows into keyword arguments, and :func:`in_python_terms` applies it to every
:class:`~item2vec.errors.Item2VecError` an API function raises, keeping the exception's class. An
unknown item becomes :class:`ItemNotFoundError`, which is also a ``KeyError``, as a mapping's is.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from item2vec.errors import Item2VecError, UnknownItemError

P = ParamSpec("P")
R = TypeVar("R")

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
        return Exception.__str__(self)  # KeyError would quote the message


def python_terms(message: str) -> str:
    """``message`` with CLI flags written as keyword arguments (``--min-count 5`` → ``min_count=5``)."""
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
    """Re-raise the Item2VecError ``func`` raises with its message in Python terms (same class)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ItemNotFoundError:
            raise
        except UnknownItemError as exc:
            raise ItemNotFoundError(python_terms(str(exc))) from None
        except Item2VecError as exc:
            raise type(exc)(python_terms(str(exc))) from None

    return wrapper
