"""The files of a split: their names, the check of the output directory, and writing them as a set.

CSV, TSV and JSON Lines rows are copied byte for byte (gzip kept); Parquet is rewritten with its
schema. The three files replace the old ones together or not at all.
"""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.corpus.events import Source
from item2vec.errors import InputError, OutputExistsError, param
from item2vec.files import atomic_files, check_writable

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from numpy.typing import NDArray

PARTS = ("train", "valid", "test")


def output_names(source: Source, fmt: str) -> dict[str, str]:
    """Each part's file name: the part and the input's extension (``train.csv.gz``)."""
    suffixes = [s for s in Path(source.name).suffixes if len(s) <= 8]
    ext = "".join(suffixes[-2:]) if suffixes[-1:] == [".gz"] else "".join(suffixes[-1:])
    if source.is_stdin or not ext:
        ext = "." + fmt
    return {part: part + ext for part in PARTS}


def check_output(output: Path, names: Any, *, force: bool) -> None:
    """Refuse an output that is a file, or that holds split files already (unless ``force``)."""
    if output.exists() and not output.is_dir():
        raise OutputExistsError(f"output {str(output)!r} is a file: give a directory for the split files")
    existing = [n for n in names if (output / n).exists()]
    if existing and not force:
        raise OutputExistsError(
            f"{str(output)!r} already holds {', '.join(existing)}: use {param('force', True)} to replace them",
            param="output",
            value=str(output),
            fix="replace them",
        )
    check_writable(output, inside=True)


def write_parts(
    source: Source, fmt: str, total: int, parts: dict[Path, NDArray[np.bool_]], *, replace: bool
) -> None:
    """Write the three files as one set: all of them replace the old ones, or none does."""
    if fmt == "parquet":
        table = _parquet_table(source)
        writers = {path: _parquet_writer(table, mask) for path, mask in parts.items()}
    else:
        header, lines = _raw_lines(source, fmt)
        if len(lines) != total:
            raise InputError(
                f"{source.name}: {len(lines):,} non-empty lines but {total:,} rows (quoted line breaks?): "
                "convert it to Parquet to split it"
            )
        compress = not source.is_stdin and _is_gzip_file(source.name)
        writers = {path: _lines_writer(header, lines, mask, compress) for path, mask in parts.items()}
    output = next(iter(parts)).parent
    made = not output.exists()
    try:
        atomic_files(writers, replace=replace)
    except BaseException:
        if made:  # the directory this run made, if it is still empty
            with contextlib.suppress(OSError):
                output.rmdir()
        raise


def _raw_lines(source: Source, fmt: str) -> tuple[list[bytes], list[bytes]]:
    with source.open() as stream:
        data = stream.read()
    raw = [line if line.endswith(b"\n") else line + b"\n" for line in data.splitlines(keepends=True)]
    header = raw[:1] if fmt in ("csv", "tsv") else []
    body = raw[len(header) :]
    return header, [line for line in body if line.strip(b"\r\n") and (fmt != "jsonl" or line.strip())]


def _parquet_table(source: Source) -> pa.Table:
    import io

    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(source.data) if source.data is not None else source.name)


def _parquet_writer(table: pa.Table, mask: NDArray[np.bool_]) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        import numpy as np
        import pyarrow.parquet as pq

        pq.write_table(table.take(np.flatnonzero(mask)), tmp)

    return write


def _is_gzip_file(name: str) -> bool:
    with open(name, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def _lines_writer(
    header: list[bytes], lines: list[bytes], mask: NDArray[np.bool_], compress: bool
) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        import numpy as np

        data = b"".join([*header, *(lines[i] for i in np.flatnonzero(mask))])
        if compress:
            with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                gz.write(data)
        else:
            tmp.write_bytes(data)

    return write
