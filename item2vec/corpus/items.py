"""Item metadata: names (titles) for ids, read from a table (``train --items``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from item2vec.corpus.events import TABLE_FORMATS, detect_format, open_source, read_table
from item2vec.errors import ConfigError, InputError, column_roles, cut, param

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class ItemsOptions:
    """Where item names come from: ``--items FILE --id-col ID --title-col NAME``."""

    path: str
    id_col: str
    title_col: str

    def __post_init__(self) -> None:
        if self.id_col == self.title_col:
            raise ConfigError(
                f"{param('title_col', cut(self.title_col))} is also the id column ({param('id_col')}): "
                "name the column of titles",
                param="title_col",
                value=self.title_col,
                expected="a column other than the id column",
            )


def read_names(options: ItemsOptions) -> dict[str, str]:
    """Item id → name from a metadata table (first name wins for repeated ids)."""
    source = open_source(options.path)
    fmt = detect_format(source, options.id_col)
    if fmt not in TABLE_FORMATS:
        raise InputError(
            f"{param('items', options.path)} is not a table with a {options.id_col!r} column: "
            f"give a CSV/TSV/Parquet/JSONL file and name its columns with {param('id_col')}/{param('title_col')}",
            param="items",
            value=options.path,
            expected="a CSV/TSV/Parquet/JSONL file",
        )
    with column_roles([(options.id_col, "id_col"), (options.title_col, "title_col")]):
        table = read_table(source, fmt, [options.id_col, options.title_col])
    return names_from_table(table, options.id_col, options.title_col)


def names_from_table(table: pa.Table, id_col: str, title_col: str) -> dict[str, str]:
    """Item id → name from two string columns of a table (first name wins for repeated ids)."""
    names: dict[str, str] = {}
    for item, name in zip(table[id_col].to_pylist(), table[title_col].to_pylist()):
        if item is not None and name is not None and item not in names:
            names[item] = name.strip()
    return names
