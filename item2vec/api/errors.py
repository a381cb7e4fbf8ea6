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
    "item_where": "where",
}


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
    return spell(text, python_namer())


def in_python_terms(func: Callable[P, R]) -> Callable[P, R]:
    """Make the Item2VecError ``func`` raises name parameters as keyword arguments (same class)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except Item2VecError as exc:
            if isinstance(exc, UnknownItemError) and not isinstance(exc, ItemNotFoundError):
                found = ItemNotFoundError(exc.raw, param=exc.param, value=exc.value, expected=exc.expected)
                found.namer = python_namer()
                raise found from None
            exc.namer = python_namer()
            raise

    return wrapper
