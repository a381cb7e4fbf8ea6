"""Item metadata: names (titles) for ids, read from a table (``train --items``)."""

from __future__ import annotations

from dataclasses import dataclass

from item2vec.corpus.events import TABLE_FORMATS, detect_format, open_source, read_table
from item2vec.errors import InputError, column_roles


@dataclass(frozen=True)
class ItemsOptions:
    """Where item names come from: ``--items FILE --id-col ID --title-col NAME``."""

    path: str
    id_col: str
    title_col: str


def read_names(options: ItemsOptions) -> dict[str, str]:
    """Item id → name from a metadata table (first name wins for repeated ids)."""
    source = open_source(options.path)
    fmt = detect_format(source, options.id_col)
    if fmt not in TABLE_FORMATS:
        raise InputError(
            f"--items {options.path!r} is not a table with a {options.id_col!r} column: "
            "give a CSV/TSV/Parquet/JSONL file and name its columns with --id-col/--title-col"
        )
    with column_roles([(options.id_col, "id_col"), (options.title_col, "title_col")]):
        table = read_table(source, fmt, [options.id_col, options.title_col])
    names: dict[str, str] = {}
    for item, name in zip(table[options.id_col].to_pylist(), table[options.title_col].to_pylist()):
        if item is not None and name is not None and item not in names:
            names[item] = name.strip()
    return names
