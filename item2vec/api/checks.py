"""The arguments ``Model``'s methods share, checked where they enter (item ids, ``k``), notes
turned into warnings, and a loaded model's directory copied whole."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from item2vec.api.errors import Item2VecWarning, python_terms
from item2vec.errors import ConfigError, EmptyResultError, ModelError
from item2vec.files import atomic_dir
from item2vec.model.store import check_output, read_meta


def item_id(item: object) -> str:
    """``item`` if it is an id (a string).

    Raises:
        TypeError: anything else.
    """
    if not isinstance(item, str):
        raise TypeError(f"item ids are strings: give {str(item)!r}, not {type(item).__name__} {item!r}")
    return item


def item_ids(items: str | Iterable[str]) -> list[str]:
    """One id, or a list of them, as a list.

    Raises:
        TypeError: an id that is not a string.
        EmptyResultError: no ids.
    """
    if isinstance(items, str):
        return [items]
    if not isinstance(items, Iterable):
        raise TypeError(
            f"give an item id (a string) or a list of them, not {type(items).__name__} ({items!r})"
        )
    found = [item_id(item) for item in items]
    if not found:
        raise EmptyResultError("no item ids were given: give an id, or a list of ids")
    return found


def check_k(k: int) -> int:
    """``k`` if it is a whole number of 1 or more.

    Raises:
        TypeError: not an int.
        ConfigError: below 1.
    """
    return check_count("k", k)


def k_or_topn(k: int, topn: int | None) -> int:
    """``k``, or gensim's ``topn`` for it (``most_similar(topn=...)``), checked.

    Raises:
        TypeError: both given, or not an int.
        ConfigError: below 1.
    """
    if topn is None:
        return check_k(k)
    if k != DEFAULT_K:
        raise TypeError(f"give k={k} or topn={topn}, not both (topn is gensim's name for k)")
    return check_count("topn", topn)


DEFAULT_K = 10


def check_count(name: str, value: int) -> int:
    """``value`` (the parameter ``name``) if it is a whole number of 1 or more.

    Raises:
        TypeError: not an int (``history_size=2.5``).
        ConfigError: below 1.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number (int), not {type(value).__name__} ({value!r})")
    if value < 1:
        raise ConfigError(param=name, value=value, expected="1 or more")
    return value


def warn_notes(notes: list[str], *, stacklevel: int = 4) -> None:
    """Each note as an :class:`Item2VecWarning`, in Python terms, pointing at the user's call."""
    for note in notes:
        warnings.warn(python_terms(note), Item2VecWarning, stacklevel=stacklevel)


def copy_model(source: Path, target: Path, meta: Mapping[str, Any], *, force: bool) -> None:
    """Copy a loaded model's directory (every file: training state and index too) to ``target``.

    Raises:
        OutputExistsError: as :func:`item2vec.model.store.check_output`.
        ModelError: the directory changed since the model was loaded.
    """
    check_output(target, force=force)
    if target.exists() and target.resolve() == source.resolve():
        return
    if read_meta(source) != meta:
        raise ModelError(f"model {str(source)!r} changed after it was loaded: load it again, then save")

    def write(tmp: Path) -> None:
        for file in sorted(source.iterdir()):
            if file.is_file():
                shutil.copy2(file, tmp / file.name)

    atomic_dir(target, write)
