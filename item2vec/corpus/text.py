"""Bytes to text for every reader: UTF-8 only, a leading BOM dropped, gzip damage named.

Latin-1 read as UTF-8 with replacement would turn ``café`` and ``cafè`` into one id
(``caf\\ufffd``); an Excel "CSV UTF-8" file starts with a BOM that would become part of the
first header name. So a BOM is dropped, and bytes that are not UTF-8 are refused with the
line they are on and the ``iconv`` command that converts the file. A truncated ``.gz`` ends
with an ``EOFError`` that click would report as a bare ``Aborted!``: it becomes one line
naming the file.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from item2vec.errors import InputError

__all__ = [
    "BOM",
    "check_utf8",
    "corrupt",
    "decode_line",
    "first_line",
    "lines",
    "not_utf8",
    "reading",
    "truncated",
]
BOM = b"\xef\xbb\xbf"
_HEADER_LIMIT = 1 << 24  # the longest header line read (pyarrow's CSV block size)


_TRUNCATED = ("truncated compressed",)  # pyarrow's message for a cut gzip stream
_CORRUPT = ("gzip", "zlib", "inflate", "compressed")


@contextmanager
def reading(name: str) -> Iterator[None]:
    """Turn a truncated or corrupt gzip stream read inside the block into an InputError.

    Raises:
        InputError: naming ``name`` and saying the gzip data is truncated or corrupt.
    """
    try:
        yield
    except EOFError:
        raise InputError(truncated(name)) from None
    except zlib.error as exc:
        raise InputError(corrupt(name, exc)) from None
    except OSError as exc:
        text = str(exc).lower()
        if any(word in text for word in _TRUNCATED):
            raise InputError(truncated(name)) from None
        if isinstance(exc, gzip.BadGzipFile) or any(word in text for word in _CORRUPT):
            raise InputError(corrupt(name, exc)) from None
        raise


def truncated(name: str) -> str:
    """The message for a gzip stream that ends early."""
    return (
        f"{name}: truncated gzip (the data ends before gzip's end-of-stream marker): the file was "
        "cut short; copy or download it again (gzip -t FILE tests one)"
    )


def corrupt(name: str, exc: BaseException) -> str:
    """The message for gzip data that cannot be decompressed."""
    return f"{name}: corrupt gzip data ({exc}): copy or download the file again (gzip -t FILE tests one)"


def not_utf8(name: str, number: int, raw: bytes, exc: UnicodeDecodeError) -> InputError:
    """The error for line ``number`` of ``name`` (its bytes ``raw``), which is not UTF-8."""
    before = raw[max(0, exc.start - 30) : exc.start].decode("utf-8", errors="replace")
    return InputError(
        f"{name}: line {number:,} is not UTF-8 (byte 0x{raw[exc.start]:02x} after {before!r}): "
        f"item2vec reads UTF-8 only; convert it first, e.g. from Latin-1: {_iconv(name)}"
    )


def _iconv(name: str) -> str:
    if name.startswith("<"):  # <stdin>
        return "... | iconv -f latin1 -t utf-8 | item2vec ... -"
    path = Path(name)
    compressed = path.suffix.lower() in (".gz", ".gzip")
    plain = path.with_suffix("") if compressed else path
    target = plain.with_name(f"{plain.stem}.utf8{plain.suffix}")
    if compressed:
        return f"gzip -dc {name} | iconv -f latin1 -t utf-8 > {target}"
    return f"iconv -f latin1 -t utf-8 {name} > {target}"


def decode_line(raw: bytes, name: str, number: int) -> str:
    """One line as text; a BOM at the start of line 1 is dropped.

    Raises:
        InputError: the line is not UTF-8 (see :func:`not_utf8`).
    """
    if number == 1 and raw.startswith(BOM):
        raw = raw[len(BOM) :]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise not_utf8(name, number, raw, exc) from None


def lines(
    stream: BinaryIO, name: str, reopen: Callable[[], BinaryIO] | None = None
) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of every line of a binary stream, with its line end.

    Read as Python's text mode reads (C speed: universal line ends, a BOM dropped), but
    strictly: at the first byte that is not UTF-8, ``reopen`` (a fresh stream of the same
    content) is scanned line by line to name the line.

    Raises:
        InputError: a line is not UTF-8, or the gzip stream is truncated or corrupt.
    """
    with reading(name):
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline=None)
        try:
            yield from enumerate(text, start=1)
        except UnicodeDecodeError as exc:
            if reopen is not None:
                with reopen() as again:
                    check_utf8(again, name)  # raises naming the line
            raise InputError(
                f"{name}: not UTF-8 ({exc}): convert it first (iconv -f latin1 -t utf-8)"
            ) from None
        finally:
            with contextlib.suppress(ValueError):  # already closed when the caller stops early
                text.detach()  # the caller closes the stream


def check_utf8(stream: Iterable[bytes], name: str) -> None:
    """Read ``stream`` line by line to the end, raising at the first line that is not UTF-8.

    Raises:
        InputError: naming the line (see :func:`not_utf8`), or a truncated or corrupt gzip stream.
    """
    with reading(name):
        for number, raw in enumerate(stream, start=1):
            decode_line(raw, name, number)


def first_line(chunks: Iterable[bytes], name: str) -> str:
    """The whole first line of a stream (however long, up to 16 MiB), without BOM or line end.

    Raises:
        InputError: it is not UTF-8, or the gzip stream is truncated or corrupt.
    """
    head = b""
    with reading(name):
        for chunk in chunks:
            head += chunk
            if b"\n" in chunk or len(head) >= _HEADER_LIMIT:
                break
    line = head.split(b"\n", 1)[0]
    return decode_line(line, name, 1).rstrip("\r")
