"""Training parameters as keyword arguments: the fields of ``TrainConfig``, checked as Python checks.

An unknown name is a ``TypeError`` that suggests the close one (``min_cout`` → ``min_count``,
:func:`suggest_keywords`); gensim's names are aliases (``vector_size`` is ``dim``, ``iter`` is
``epochs``; giving both is a ``TypeError``); a value of the wrong type is a ``TypeError`` naming
the parameter; a value out of range is the ``ConfigError`` that ``TrainConfig`` raises, in Python
terms (:mod:`item2vec.api.errors`).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import numbers
import types
import typing
from collections.abc import Callable, Collection, Mapping
from typing import Any, Literal, ParamSpec, TypeVar

from item2vec.training.config import GENSIM_NAMES as GENSIM_NAMES  # gensim's names, aliases here
from item2vec.training.config import TrainConfig, field_names
from item2vec.training.requests import TrainRequest

P = ParamSpec("P")
R = TypeVar("R")


def parameter_names() -> list[str]:
    """The training parameters ``train`` takes as keyword arguments (``preset`` among them)."""
    return field_names()


def suggest_keywords(func: Callable[P, R]) -> Callable[P, R]:
    """Make an unknown keyword argument of ``func`` a ``TypeError`` that suggests the close name."""
    signature = inspect.signature(func)
    names = [name for name, p in signature.parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        unknown = [name for name in kwargs if name not in signature.parameters]
        if unknown:
            raise TypeError(_unknown(func.__name__, unknown[0], names))
        return func(*args, **kwargs)

    return wrapper


def train_request(
    values: Mapping[str, object], aliases: Mapping[str, object], *, config: object, **parts: Any
) -> TrainRequest:
    """The request for ``train``'s training keyword arguments ``values`` (None: not given) and gensim's
    ``aliases`` of them, on top of ``config`` (a ``TrainConfig``, used as it is) if given; ``parts``
    are the request's other fields (session, calibrator, ...).

    Raises:
        TypeError: an alias and its name both given, a value of the wrong type, or ``config`` that
            is not a ``TrainConfig`` (or given with ``preset``).
        ConfigError: a value out of range.
    """
    merged = {name: value for name, value in values.items() if value is not None}
    for alias, value in aliases.items():
        if value is None:
            continue
        ours = GENSIM_NAMES[alias]
        if ours in merged:
            given = ours if ours in values and values[ours] is not None else "its other alias"
            raise TypeError(f"train() got {alias}= (gensim's name for {ours}) and {given}=: give one of them")
        merged[ours] = value
    checked = check_params(merged)
    if config is None:
        return TrainRequest.from_values(checked, **parts)
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be an item2vec.TrainConfig, not {type(config).__name__}")
    if "preset" in checked:
        raise TypeError(
            "config= holds every parameter (its preset's values included): give preset= or config="
        )
    return TrainRequest(config=dataclasses.replace(config, **checked), **parts)


def check_params(params: Mapping[str, object], *, others: Collection[str] = ()) -> dict[str, Any]:
    """``params`` checked by name and type, numbers as plain ``int``/``float``.

    ``others`` are the function's other keyword names, offered as suggestions too.

    Raises:
        TypeError: an unknown name, or a value of the wrong type.
    """
    hints = typing.get_type_hints(TrainConfig)
    known = parameter_names()
    checked: dict[str, Any] = {}
    for name, value in params.items():
        if name not in known:
            raise TypeError(_unknown("train", name, [*known, *others]))
        checked[name] = _typed(name, value, hints[name])
    return checked


def _unknown(function: str, name: str, candidates: list[str]) -> str:
    text = f"{function}() got an unexpected keyword argument {name!r}"
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if close:
        return f"{text}; did you mean {close[0]!r}?"
    return f"{text}; the training parameters are {', '.join(parameter_names())}"


def _typed(name: str, value: object, hint: Any) -> object:
    """``value`` if it fits ``hint`` (int, float, str, a Literal, or a union with None)."""
    options = _options(hint)
    if value is None and type(None) in options:
        return None
    if int in options and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if float in options and isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    if str in options and isinstance(value, str):
        return value
    wanted = " or ".join(_WORDS[t] for t in options)
    raise TypeError(f"{name} must be {wanted}, not {type(value).__name__} ({value!r})")


_WORDS = {int: "a whole number (int)", float: "a number", str: "a string", type(None): "None"}


def _options(hint: Any) -> list[type]:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return [str]
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(hint) for t in _options(arg)]
    return [hint]
