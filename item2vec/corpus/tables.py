"""Tables written in batches: Parquet, CSV, TSV or JSON Lines chosen by the file's suffix.

Record batches are streamed to a file beside the target and renamed into place at the end, so
memory stays bounded by one batch and an interrupted run leaves no half table.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.errors import Bare, ConfigError, EmptyResultError, OutputExistsError, param
from item2vec.files import atomic_file, check_writable

if TYPE_CHECKING:
    import pyarrow as pa

TABLE_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl"}


def check_table_output(path: Path, *, force: bool) -> str:
    """The table format for ``path`` (by suffix); refuses an existing file without ``force``.

    Also checks that ``path`` can be written, before any work (``item2vec.files.check_writable``).
    """
    fmt = TABLE_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(
            f"output {str(path)!r} has no table suffix: name it .parquet, .csv, .tsv or .jsonl "
            f"({param('output', Bare('candidates.parquet'))})",
            param="output",
            value=str(path),
            expected="a name ending .parquet, .csv, .tsv or .jsonl",
        )
    if path.is_dir():
        raise OutputExistsError(f"output {str(path)!r} is a directory: give a file name")
    if path.exists() and not force:
        raise OutputExistsError(
            f"output {str(path)!r} already exists: use {param('force', True)} to overwrite it",
            param="output",
            value=str(path),
            fix="overwrite it",
        )
    check_writable(path)
    return fmt


def write_table(path: Path, batches: Iterator[pa.RecordBatch]) -> int:
    """Stream record batches to Parquet/CSV/TSV/JSON Lines beside ``path``, then rename; returns rows written."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    fmt = TABLE_SUFFIXES[path.suffix.lower()]
    written = 0

    def write(tmp: Path) -> None:
        nonlocal written
        writer: Any = None
        try:
            for batch in batches:
                if writer is None and fmt == "jsonl":
                    writer = _JsonLines(tmp)
                elif writer is None:
                    writer = (
                        pq.ParquetWriter(tmp, batch.schema)
                        if fmt == "parquet"
                        else pacsv.CSVWriter(tmp, batch.schema, write_options=_csv_options(fmt))
                    )
                _write(writer, batch, path)
                written += batch.num_rows
            if writer is None:
                raise EmptyResultError("nothing to write: there was no query to answer")
        finally:
            if writer is not None:
                writer.close()

    atomic_file(path, write)
    return written


class _JsonLines:
    """One JSON object a row (floats to 6 decimals, as the query commands print them)."""

    def __init__(self, path: Path) -> None:
        self.handle = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def write_batch(self, batch: pa.RecordBatch) -> None:
        import json

        for row in batch.to_pylist():
            cells = {k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()}
            self.handle.write(json.dumps(cells, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.handle.close()


def _csv_options(fmt: str) -> Any:
    """CSV quotes strings; TSV is left unquoted, for cut and awk."""
    import pyarrow.csv as pacsv

    if fmt == "csv":
        return pacsv.WriteOptions()
    return pacsv.WriteOptions(delimiter="\t", quoting_style="none", quoting_header="none")


def _write(writer: Any, batch: pa.RecordBatch, path: Path) -> None:
    import pyarrow as pa

    try:
        writer.write_batch(batch)
    except pa.ArrowInvalid:
        raise ConfigError(
            f"{path}: an id holds a quote, tab or newline, which unquoted TSV cannot hold: write .csv or .parquet"
        ) from None
