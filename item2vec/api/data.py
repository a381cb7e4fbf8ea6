"""What ``train`` and ``Model.evaluate`` take as data, turned into a corpus by the CLI's own code.

- an event table (pandas DataFrame, pyarrow Table; :mod:`item2vec.corpus.frames`): sessionized
  exactly as ``item2vec train`` sessionizes a file (:func:`item2vec.corpus.sequences.table_corpus`);
- an iterable of sequences of item ids (lists, tuples, a generator): read once, straight into
  the packed corpus, as the lines of a sequence file are (:func:`item2vec.corpus.sequences.sequence_corpus`);
- a path, or a list of paths: read by the CLI's readers (:func:`item2vec.corpus.sequences.read_sequences`).

A string where a sequence is expected is refused: gensim would train on its letters.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from item2vec.corpus.events import EXTENSIONS
from item2vec.corpus.frames import frame_batches, table_kind, to_arrow
from item2vec.corpus.items import ItemsOptions, names_from_table, read_names
from item2vec.corpus.options import SessionOptions
from item2vec.corpus.packed import Corpus
from item2vec.corpus.sequences import read_sequences, sequence_corpus, table_corpus
from item2vec.errors import EmptyResultError

EXAMPLE = "[['a', 'b', 'c'], ['b', 'd']]"
_PATH_SUFFIXES = {*EXTENSIONS, ".gz", ".txt"}


def read_data(
    data: object, options: SessionOptions, *, input_format: str | None = None, given: list[str] | None = None
) -> Corpus:
    """The corpus of ``data`` (see the module docstring).

    ``given`` names the session parameters the caller set, which sequences cannot honour.

    Raises:
        TypeError: ``data`` is none of the kinds above, a sequence is a string, or a parameter
            does not apply to this kind of data.
        InputError, EmptyResultError: as the CLI's readers raise them.
    """
    kind = table_kind(data)
    if kind is not None:
        _refuse("input_format", "files", input_format)
        name = f"<{kind}>"
        return table_corpus(to_arrow(data, name, options.columns), name, options)
    paths = as_paths(data)
    if paths is not None:
        corpus = read_sequences(paths, options, input_format)
        if corpus.stats.input_format in ("sequences", "text"):
            _refuse_session(given, f"{corpus.stats.input_format} files")
        return corpus
    _refuse("input_format", "files", input_format)
    _refuse_session(given, "sequences")
    return sequences(data, options.min_length)


def _refuse(name: str, what: str, value: object) -> None:
    if value is not None:
        raise TypeError(f"{name} applies to {what} only, not to this data")


def _refuse_session(given: list[str] | None, what: str) -> None:
    if given:
        raise TypeError(
            f"{', '.join(given)} {'apply' if len(given) > 1 else 'applies'} to event tables, "
            f"not to {what}: their lines are already sequences"
        )


def as_paths(data: object) -> list[str] | None:
    """``data`` as file names when it is a path or a list of paths, else None.

    A list of strings counts as paths when one of them looks like a file (it exists, or has a
    directory or a data file suffix); otherwise it is taken for sequences and refused.

    Raises:
        TypeError: a list of strings that are not paths (sequences written as strings).
    """
    if isinstance(data, (str, os.PathLike)):
        return [str(os.fspath(data))]
    if not isinstance(data, (list, tuple)) or not data:
        return None
    if not all(isinstance(d, (str, os.PathLike)) for d in data):
        return None
    names = [str(os.fspath(d)) for d in data]
    if any(isinstance(d, os.PathLike) or _looks_like_a_file(n) for d, n in zip(data, names)):
        return names
    raise TypeError(
        f"data is a list of strings ({names[0][:40]!r}, …), not of sequences: give one list of item ids "
        f"per session, e.g. {EXAMPLE} (a string would train on its letters), or paths of files that exist"
    )


def _looks_like_a_file(name: str) -> bool:
    path = Path(name)
    return (
        name == "-" or os.sep in name or "/" in name or path.suffix.lower() in _PATH_SUFFIXES or path.exists()
    )


def sequences(data: object, min_length: int) -> Corpus:
    """Pack an iterable of sequences of item ids, reading it once.

    Raises:
        TypeError: ``data`` is not iterable, or holds strings or other non-sequences.
        EmptyResultError: it holds no sequence (of ``min_length`` items or more).
    """
    if isinstance(data, (bytes, bytearray)) or not isinstance(data, Iterable):
        raise TypeError(
            f"data must be a pandas DataFrame, a pyarrow Table, an iterable of sequences of item ids "
            f"(e.g. {EXAMPLE}) or file paths, not {type(data).__name__}"
        )
    checked = _Checked(data)
    try:
        return sequence_corpus(checked, "<sequences>", min_length)
    except EmptyResultError:
        if checked.count == 0:
            raise EmptyResultError(
                f"data holds no sequences (it is empty, or a used-up generator): give sequences of item ids, e.g. {EXAMPLE}"
            ) from None
        raise


class _Checked:
    """Each sequence as a list of string ids; strings and other non-sequences refused."""

    def __init__(self, data: Iterable[Any]) -> None:
        self.data = data
        self.count = 0

    def __iter__(self) -> Iterator[list[str]]:
        for number, seq in enumerate(self.data):
            self.count += 1
            if isinstance(seq, (str, bytes)):
                raise TypeError(
                    f"data[{number}] is a {type(seq).__name__} ({seq[:40]!r}), not a sequence of item ids: "
                    f"give one list of ids per session, e.g. {EXAMPLE} (a string would train on its letters)"
                )
            if not isinstance(seq, Iterable):
                raise TypeError(
                    f"data[{number}] is a {type(seq).__name__} ({seq!r}), not a sequence of item ids, e.g. {EXAMPLE}"
                )
            items = list(seq)
            yield items if all(type(i) is str for i in items) else [_item_id(i, number) for i in items]


def _item_id(value: object, number: int) -> str:
    import numbers

    if isinstance(value, str):
        return str(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    raise TypeError(
        f"data[{number}] holds {type(value).__name__} {value!r}: item ids are strings (whole numbers are "
        "turned into strings; other values are refused)"
    )


def item_names(items: object, *, id_col: str, title_col: str) -> dict[str, str]:
    """Item id → name from a mapping, a table (DataFrame, pyarrow Table) or a table file.

    Raises:
        TypeError: ``items`` is none of these.
        InputError: the table cannot be read or lacks ``id_col``/``title_col``.
    """
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return {str(k): str(v).strip() for k, v in items.items() if v is not None}
    kind = table_kind(items)
    if kind is not None:
        import pyarrow as pa

        name = f"<{kind}> items"
        table = to_arrow(items, name, [id_col, title_col])
        batches = frame_batches(table, name, [id_col, title_col], encode=[])
        return names_from_table(pa.concat_tables(batches), id_col, title_col)
    if isinstance(items, (str, os.PathLike)):
        return read_names(ItemsOptions(str(os.fspath(items)), id_col, title_col))
    raise TypeError(
        f"items must be a mapping of item id to name, a DataFrame or a path of an item table, not {type(items).__name__}"
    )
