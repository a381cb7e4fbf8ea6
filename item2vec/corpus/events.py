"""Read event tables (CSV, TSV, Parquet, JSON Lines or a JSON array; optionally gzip; ``-`` for stdin).

Every column comes back as strings exactly as written: ``00123``, ``85123A`` and ``17850.0``
are never turned into numbers. Only the columns asked for are read. Text is UTF-8 (a BOM is
dropped, other encodings are refused: :mod:`item2vec.corpus.text`); a CSV may use another
one-character delimiter (``--delimiter``).
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from item2vec.corpus.frames import id_text, refuse_duplicate_columns
from item2vec.corpus.jsonl import is_array, json_batches
from item2vec.corpus.text import check_utf8, first_line, reading
from item2vec.errors import Bare, InputError, MissingColumnsError, cut, param

if TYPE_CHECKING:
    import pyarrow as pa

TABLE_FORMATS = ("csv", "tsv", "parquet", "jsonl")
INPUT_FORMATS = (*TABLE_FORMATS, "sequences", "text")
DELIMITED = ("csv", "tsv")
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_SNIFF_BYTES = 1 << 16
_BATCH_BYTES = 1 << 24  # CSV bytes parsed per batch when streaming
_BATCH_ROWS = 1 << 20  # Parquet / JSON Lines rows per batch when streaming


@dataclass(frozen=True)
class Source:
    """One input: a path, or ``-`` whose bytes were read from stdin (decompressed)."""

    name: str
    data: bytes | None = None

    @property
    def is_stdin(self) -> bool:
        return self.data is not None

    def open(self) -> BinaryIO:
        """A binary stream of the decompressed content."""
        if self.data is not None:
            return io.BytesIO(self.data)
        raw = open(self.name, "rb")  # noqa: SIM115 - returned to the caller
        if _is_gzip(raw.peek(2)[:2] if hasattr(raw, "peek") else b""):
            return gzip.open(raw)  # type: ignore[return-value]
        return raw

    def arrow_stream(self) -> pa.NativeFile:
        """The decompressed content as a pyarrow stream (native gzip for files)."""
        import pyarrow as pa

        if self.data is not None:
            return pa.BufferReader(self.data)
        with open(self.name, "rb") as raw:
            compressed = _is_gzip(raw.read(2))
        return pa.input_stream(self.name, compression="gzip" if compressed else None)

    def head(self, size: int = _SNIFF_BYTES) -> bytes:
        """The first bytes of the decompressed content."""
        with self.open() as stream:
            try:
                with reading(self.name):
                    return stream.read(size)
            except OSError as exc:
                raise InputError(f"{self.name}: cannot be read ({exc})") from None

    def first_line(self) -> str:
        """The whole first line (a header of any length), without BOM or line end."""
        with self.open() as stream:
            return first_line(iter(lambda: stream.read(_SNIFF_BYTES), b""), self.name)


def _is_gzip(magic: bytes) -> bool:
    return magic == b"\x1f\x8b"


def open_source(name: str, stdin: BinaryIO | None = None) -> Source:
    """Check that an input exists and is not empty; read stdin fully when ``name`` is ``-``.

    Raises:
        InputError: the file is missing, a directory, or empty.
    """
    if name == "-":
        data = (stdin or sys.stdin.buffer).read()
        if _is_gzip(data[:2]):
            with reading("<stdin>"):
                data = gzip.decompress(data)
        source = Source("<stdin>", data)
    else:
        path = Path(name)
        if not path.exists():
            raise InputError(f"input file {name!r} does not exist")
        if path.is_dir():
            raise InputError(f"input {name!r} is a directory: give the file(s) inside it")
        source = Source(name)
    if not source.head(1):
        raise InputError(f"input {source.name!r} is empty")
    return source


def detect_format(source: Source, item_col: str | None = None, delimiter: str | None = None) -> str:
    """Guess the input format from the file name, then from the first bytes.

    Table formats come from the extension (``.csv``, ``.tsv``, ``.parquet``, ``.jsonl``, ``.json``,
    each optionally ``.gz``). Anything else is sniffed: Parquet magic, a JSON object or array, a
    header line that names the item column (split on ``delimiter`` if given, else on tabs or
    commas), else plain lines: ``text`` when they read like prose (words of letters, ten or more
    a line), otherwise ``sequences``.
    """
    suffixes = [s.lower() for s in Path(source.name).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    if suffixes and suffixes[-1] in EXTENSIONS:
        return EXTENSIONS[suffixes[-1]]
    head = source.head()
    if head[:4] == b"PAR1":
        return "parquet"
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")  # the readers check UTF-8
    if text.lstrip().startswith("{") or is_array(head):
        return "jsonl"
    first = text.split("\n", 1)[0].rstrip("\r") if "\n" in text else source.first_line()
    candidates = [(delimiter, "tsv" if delimiter == "\t" else "csv")] if delimiter else []
    for sep, fmt in (*candidates, ("\t", "tsv"), (",", "csv")):
        if item_col and item_col in next(csv.reader([first], delimiter=sep), []):
            return fmt
    return _sniff_lines(text.splitlines()[:200])


def _sniff_lines(lines: list[str]) -> str:
    tokens = [tok for line in lines for tok in line.split()]
    if not tokens or any("," in line or "\t" in line for line in lines):
        return "sequences"
    alphabetic = sum(tok.strip(".,;:!?\"'()").isalpha() for tok in tokens) / len(tokens)
    per_line = len(tokens) / max(1, sum(1 for line in lines if line.strip()))
    return "text" if alphabetic >= 0.9 and per_line >= 10 else "sequences"


def read_table(source: Source, fmt: str, columns: list[str], delimiter: str | None = None) -> pa.Table:
    """Read ``columns`` of an event table as strings (nulls for empty cells).

    ``delimiter`` separates CSV/TSV fields (default: ``,`` for CSV, a tab for TSV).

    Raises:
        InputError: a column is missing (the message lists those that exist) or named twice,
            the file is malformed or not UTF-8, or it has no rows.
    """
    import pyarrow as pa

    return pa.concat_tables(iter_batches(source, fmt, columns, encode=[], delimiter=delimiter))


def _missing(source: Source, wanted: list[str], existing: list[str], hint: str = "") -> None:
    missing = [c for c in wanted if c not in existing]
    if missing:  # the caller that knows which option named each column adds that (column_roles)
        raise MissingColumnsError(source.name, missing, existing, hint=hint)


def _duplicated(source: Source, wanted: list[str], header: list[str]) -> None:
    refuse_duplicate_columns(source.name, wanted, header, where="header")


def _delimiter_hint(header: list[str], delimiter: str) -> str:
    """For a header read as one column that holds another delimiter: suggest the delimiter."""
    if len(header) != 1:
        return ""
    for other in (";", "|", "\t", ","):
        if other != delimiter and other in header[0]:
            shown = "'\\t'" if other == "\t" else repr(other)
            return f"(the header reads as one column: is the delimiter {shown}? add {param('delimiter', Bare(shown))})"
    return ""


def _fmt_name(delimiter: str) -> str:
    return "TSV" if delimiter == "\t" else "CSV"


def iter_batches(
    source: Source, fmt: str, columns: list[str], encode: list[str], delimiter: str | None = None
) -> Iterator[pa.Table]:
    """Stream ``columns`` of an event table in batches of about a million rows.

    Columns in ``encode`` come dictionary-encoded (each batch with its own dictionary), the
    others as strings; memory stays bounded by one batch whatever the file size.
    ``delimiter`` separates CSV/TSV fields (default: ``,`` for CSV, a tab for TSV).

    Raises:
        InputError: as :func:`read_table`, including a file with a header but no rows.
    """
    wanted = list(dict.fromkeys(columns))
    if fmt in DELIMITED:
        batches = _csv_batches(source, delimiter or ("\t" if fmt == "tsv" else ","), wanted, encode)
    elif fmt == "parquet":
        batches = _parquet_batches(source, wanted)
    elif fmt == "jsonl":
        batches = _jsonl_batches(source, wanted)
    else:
        raise InputError(f"{source.name}: {fmt!r} is not a table format; use one of {TABLE_FORMATS}")
    rows = 0
    for batch in batches:
        if batch.num_rows:
            rows += batch.num_rows
            yield _encode(batch, encode)
    if rows == 0:
        what = "a header but no rows" if fmt in DELIMITED else "no rows" if fmt == "parquet" else "no records"
        raise InputError(f"input {source.name!r} has {what}")


def _encode(table: pa.Table, encode: list[str]) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for name in table.column_names:
        column = table[name]
        if name in encode and not pa.types.is_dictionary(column.type):
            column = pc.dictionary_encode(column)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _csv_batches(source: Source, delimiter: str, wanted: list[str], encode: list[str]) -> Iterator[pa.Table]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = next(csv.reader([source.first_line()], delimiter=delimiter), [])
    _duplicated(source, wanted, header)
    _missing(source, wanted, header, _delimiter_hint(header, delimiter))
    dictionary = pa.dictionary(pa.int32(), pa.string())
    options = pacsv.ConvertOptions(
        column_types={name: dictionary if name in encode else pa.string() for name in header},
        include_columns=wanted,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        null_values=[""],
    )
    try:
        with reading(source.name), source.arrow_stream() as stream:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(block_size=_BATCH_BYTES),
                parse_options=pacsv.ParseOptions(delimiter=delimiter),
                convert_options=options,
            )
            for batch in reader:
                yield pa.Table.from_batches([batch])
    except (pa.ArrowInvalid, OSError) as exc:
        if "utf8" in str(exc).lower().replace("-", ""):
            with source.open() as again:
                check_utf8(again, source.name)  # raises naming the line
        raise InputError(f"{source.name}: malformed {_fmt_name(delimiter)} ({cut(str(exc), 300)})") from None


def _parquet_batches(source: Source, wanted: list[str]) -> Iterator[pa.Table]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(io.BytesIO(source.data) if source.data is not None else source.name)
        schema = file.schema_arrow
        _duplicated(source, wanted, schema.names)
        _missing(source, wanted, schema.names)
        _scalar_columns(source, schema, wanted)
        for batch in file.iter_batches(batch_size=_BATCH_ROWS, columns=wanted):
            yield pa.table([id_text(batch.column(c)) for c in wanted], names=wanted)
    except pa.ArrowNotImplementedError as exc:
        raise InputError(f"{source.name}: a column cannot be read as text ({cut(str(exc), 200)})") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{source.name}: not a readable Parquet file ({cut(str(exc), 300)})") from None


def _scalar_columns(source: Source, schema: pa.Schema, wanted: list[str]) -> None:
    """Refuse list, struct and map columns: an id column holds one id a row."""
    import pyarrow as pa

    for column in wanted:
        kind = schema.field(column).type
        if pa.types.is_nested(kind):
            raise InputError(
                f"{source.name}: column {cut(column)!r} holds {cut(str(kind))} values, not one value a row: "
                f"give one row per item (explode it first, e.g. pandas df.explode({cut(column)!r}))"
            )


def _jsonl_batches(source: Source, wanted: list[str]) -> Iterator[pa.Table]:
    checked = False
    for table, seen in json_batches(source.open, source.name, wanted, source.head(4096), _BATCH_ROWS):
        if seen and not checked:
            _missing(source, wanted, sorted(seen))
            checked = True
        yield table
