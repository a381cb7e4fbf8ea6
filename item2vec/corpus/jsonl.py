"""JSON records as table batches: JSON Lines, or one JSON array of records (a ``.json`` export).

Both are streamed: JSON Lines a line at a time, an array a record at a time from a text
buffer of about a megabyte (``json.JSONDecoder.raw_decode``), so neither holds more than one
batch in memory. Numbers keep the text they were written with (``00123`` stays a string id,
``17850.0`` stays ``17850.0``); a list or object where one value belongs is refused.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO

from item2vec.corpus.text import BOM, check_utf8, lines, reading
from item2vec.errors import InputError, cut

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["is_array", "json_batches"]
_CHUNK = 1 << 20  # bytes of an array file decoded at a time
_NEAR_END = 64  # a decoding error this close to the end of the buffer may be a record cut in two
_WHITESPACE = " \t\r\n"
Records = Iterator[tuple[int, dict[str, object]]]  # (line or record number, the object)


def is_array(head: bytes) -> bool:
    """Whether content starting with ``head`` is a JSON array (after a BOM and whitespace)."""
    return head.removeprefix(BOM).lstrip(_WHITESPACE.encode()).startswith(b"[")


def json_batches(
    open_stream: Callable[[], BinaryIO], name: str, wanted: list[str], head: bytes, batch_rows: int
) -> Iterator[tuple[pa.Table, set[str]]]:
    """Batches of the ``wanted`` columns as strings, each with the keys seen so far.

    Raises:
        InputError: a record is not valid JSON or not an object, a wanted value is a list or
            an object, the text is not UTF-8, or the gzip stream is truncated.
    """
    import pyarrow as pa

    values: dict[str, list[str | None]] = {c: [] for c in wanted}
    seen: set[str] = set()
    with open_stream() as stream:
        if is_array(head):
            text = _ArrayText(stream, name, open_stream)
            records, where = _array_records(text, name), text.where
        else:
            records, where = _line_records(stream, name, open_stream), _line
        for number, row in records:
            seen.update(row)
            for column, bucket in values.items():
                cell = row.get(column)
                if cell is None or cell == "":
                    bucket.append(None)
                elif isinstance(cell, (list, dict)):
                    raise _not_scalar(cell, column, name, where(number))
                else:
                    bucket.append(cell if type(cell) is str else str(cell))
            if len(values[wanted[0]]) >= batch_rows:
                yield pa.table({c: pa.array(v, type=pa.string()) for c, v in values.items()}), seen
                values = {c: [] for c in wanted}
    yield pa.table({c: pa.array(v, type=pa.string()) for c, v in values.items()}), seen


def _not_scalar(cell: list[object] | dict[str, object], column: str, name: str, where: str) -> InputError:
    kind = "an array" if isinstance(cell, list) else "an object"
    return InputError(
        f"{name}: {where} has {kind} in {cut(column)!r} ({cut(json.dumps(cell), 60)}), not one value: "
        "give one value per record (one row per item: explode the list first, e.g. with jq)"
    )


def _line(number: int) -> str:
    return f"line {number:,}"


def _line_records(stream: BinaryIO, name: str, reopen: Callable[[], BinaryIO]) -> Records:
    # parse_int/parse_float keep numbers exactly as written: ids stay strings.
    decode = json.JSONDecoder(parse_int=str, parse_float=str).decode
    for number, text in lines(stream, name, reopen):
        if not text.strip():
            continue
        try:
            value = decode(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{name}: line {number:,} is not valid JSON ({exc}): give JSON Lines (one object a line) "
                "or one JSON array of objects"
            ) from None
        yield number, value if isinstance(value, dict) else _record(value, name, _line(number))


def _record(value: object, name: str, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise InputError(
            f'{name}: {where} is not a JSON object: each record must be {{"column": value, ...}}'
        )
    return value


class _ArrayText:
    """The decoded text of an array file, read a chunk at a time, with the line count so far."""

    def __init__(self, stream: BinaryIO, name: str, reopen: Callable[[], BinaryIO]) -> None:
        self.stream, self.name, self.reopen = stream, name, reopen
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.buffer, self.pos, self.eof = "", 0, False
        self.lines_before = 1  # line number of the buffer's first character
        self.started = False

    def more(self, size: int = _CHUNK) -> bool:
        """Append the next chunk to the buffer; False at the end of the stream."""
        if self.eof:
            return False
        with reading(self.name):
            data = self.stream.read(size)
        if not self.started:
            data, self.started = data.removeprefix(BOM), True
        try:
            text = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            with self.reopen() as again:
                check_utf8(again, self.name)  # raises naming the line
            raise
        self.eof = not data
        if self.pos > _CHUNK:  # drop what was read; keep line numbers right
            self.lines_before += self.buffer.count("\n", 0, self.pos)
            self.buffer, self.pos = self.buffer[self.pos :], 0
        self.buffer += text
        return bool(data) or bool(text)

    def skip_space(self) -> str:
        """The next character that is not whitespace ("" at the end), left unread."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self.more():
                return ""

    def line(self) -> int:
        return self.lines_before + self.buffer.count("\n", 0, self.pos)

    def where(self, number: int) -> str:
        """Record ``number``, with the line where the reading stands (its end), for messages."""
        return f"record {number:,} (line {self.line():,})"


def _array_records(text: _ArrayText, name: str) -> Records:
    decoder = json.JSONDecoder(parse_int=str, parse_float=str)
    text.skip_space()
    text.pos += 1  # the "[" is_array saw
    number = 0
    while True:
        char = text.skip_space()
        if char == "]":
            text.pos += 1
            break
        if not char:
            raise InputError(
                f"{name}: the JSON array is not closed (no ']' after record {number:,}, line "
                f"{text.line():,}): the file may be cut short; copy it again"
            )
        if number:
            if char != ",":
                raise _bad(text, name, number + 1, f"expected ',' or ']' between records, found {char!r}")
            text.pos += 1
            text.skip_space()
        number += 1
        value = _decode(text, decoder, name, number)
        yield number, _record(value, name, text.where(number)) if not isinstance(value, dict) else value
    if text.skip_space():
        raise InputError(
            f"{name}: text follows the JSON array's closing ']' (line {text.line():,}): "
            "give one array of objects, or JSON Lines (one object a line)"
        )


def _decode(text: _ArrayText, decoder: json.JSONDecoder, name: str, number: int) -> object:
    size = _CHUNK
    while True:
        try:
            value, end = decoder.raw_decode(text.buffer, text.pos)
        except json.JSONDecodeError as exc:
            cut_short = exc.pos >= len(text.buffer) - _NEAR_END or exc.msg.startswith("Unterminated string")
            if cut_short and text.more(size):
                size *= 2  # a record longer than the buffer: read more at once
                continue
            raise _bad(text, name, number, exc.msg) from None
        text.pos = end
        return value


def _bad(text: _ArrayText, name: str, number: int, why: str) -> InputError:
    return InputError(
        f"{name}: record {number:,} of the JSON array (line {text.line():,}) is not valid JSON ({why}): "
        "fix it, or give JSON Lines (one object a line)"
    )
