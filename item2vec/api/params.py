"""Training parameters as keyword arguments: the fields of ``TrainConfig``, checked as Python checks.

An unknown name is a ``TypeError`` that suggests the close one (``min_cout`` → ``min_count``) and
knows gensim's spellings (``vector_size`` is ``dim`` here); a value of the wrong type is a
``TypeError`` naming the parameter; a value out of range is the ``ConfigError`` that ``TrainConfig``
raises, in Python terms (:mod:`item2vec.api.errors`).
"""

from __future__ import annotations

import dataclasses
import difflib
import numbers
import types
import typing
from collections.abc import Collection, Mapping
from typing import Any, Literal

from item2vec.training.config import TrainConfig

# gensim's Word2Vec names for our parameters: refused, with ours named.
GENSIM_NAMES = {"vector_size": "dim", "size": "dim", "iter": "epochs", "max_final_vocab": "max_vocab"}


def parameter_names() -> list[str]:
    """The training parameters ``train`` takes as keyword arguments (``preset`` is its own)."""
    return [f.name for f in dataclasses.fields(TrainConfig) if f.name != "preset"]


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
            raise TypeError(_unknown(name, [*known, *others]))
        checked[name] = _typed(name, value, hints[name])
    return checked


def _unknown(name: str, candidates: list[str]) -> str:
    text = f"train() got an unexpected keyword argument {name!r}"
    if name in GENSIM_NAMES:
        return f"{text}: gensim's {name} is {GENSIM_NAMES[name]!r} here"
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
