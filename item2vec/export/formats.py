"""Write embeddings in other tools' formats: word2vec text/binary (with the counts beside), npy,
Parquet, JSON Lines, Faiss (with the ids beside), projector, PyTorch (``.pt``) and safetensors
embedding tables.

Every export is written to a temporary name and renamed into place (a pair of files together);
an existing output is replaced only with ``force``. The word2vec formats are gzipped when the
output ends in ``.gz``; word2vec text and JSON Lines can be written to a stream (``-o -``).
The vector-store formats (parquet, jsonl, faiss) are unit length unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from item2vec.errors import Bare, InputError, OutputExistsError, param
from item2vec.export.selection import check_options, prepare
from item2vec.export.stores import (
    float_vectors,
    vocab_path,
    word2vec_order,
    write_faiss,
    write_jsonl,
    write_parquet,
    write_vocab,
)
from item2vec.files import atomic_dir, atomic_file, atomic_files, check_writable, save_array
from item2vec.model.embeddings import Embeddings

_PROJECTOR_FILES = ("vectors.tsv", "metadata.tsv")
EXPORT_FORMATS = (
    "word2vec",
    "word2vec-binary",
    "npy",
    "parquet",
    "jsonl",
    "faiss",
    "projector",
    "torch",
    "safetensors",
)
STREAM_FORMATS = ("word2vec", "jsonl")  # text: can go to stdout
GZIP_FORMATS = ("word2vec", "word2vec-binary")
NORMALIZED_FORMATS = ("parquet", "jsonl", "faiss")  # unit length unless normalize=False
_WHITESPACE = " \t\n\r\v\f"


def export(
    embeddings: Embeddings,
    fmt: str,
    output: Path,
    *,
    force: bool = False,
    items: list[str] | None = None,
    normalize: bool | None = None,
    dtype: str = "float32",
    padding: bool = True,
    model_dir: Path | None = None,
) -> list[Path]:
    """Write ``embeddings`` as ``fmt`` to ``output``; return the paths written.

    ``word2vec`` and ``word2vec-binary`` write OUTPUT and OUTPUT (less ``.gz``) plus ``.vocab``
    (``id count`` a line, the C tools' ``-save-vocab`` format: gensim's ``fvocab``);
    ``npy`` and ``faiss`` write OUTPUT and OUTPUT with suffix ``.ids.txt`` (one id per row, no
    header); ``parquet`` and ``jsonl`` carry ids, counts and names themselves; ``projector``
    writes a directory with ``vectors.tsv`` and ``metadata.tsv``; ``torch`` and ``safetensors``
    write an embedding table whose row 0 is padding (unless ``padding`` is false).
    ``items``, ``normalize`` and ``dtype`` apply to every format (see ``export_options.prepare``);
    ``normalize=None`` is the format's default: unit length for parquet, jsonl and faiss (which
    must be), the model's own lengths for the rest. With ``items`` the word2vec formats keep
    their order (else the most frequent item is first).
    ``model_dir``, the directory ``embeddings`` were loaded from: no output may lie inside it.

    Raises:
        OutputExistsError: an output exists and ``force`` is false, or lies in ``model_dir``.
        InputError: ids cannot be written in this format (whitespace in word2vec ids), or the
            options do not fit the format.
        UnknownItemError: an id in ``items`` is not in the model.
    """
    gz = output.suffix.lower() == ".gz"
    by_count = items is None
    writers: dict[str, Callable[[Embeddings, Path], None]] = {
        "word2vec": lambda e, p: _word2vec(e, p, binary=False, compress=gz, by_count=by_count),
        "word2vec-binary": lambda e, p: _word2vec(e, p, binary=True, compress=gz, by_count=by_count),
        "npy": _npy_vectors,
        "parquet": lambda e, p: _parquet(e, p, normalized=bool(normalize)),
        "jsonl": _jsonl,
        "faiss": _faiss,
        "projector": _projector,
        "torch": lambda e, p: _torch(e, p, padding=padding),
        "safetensors": lambda e, p: _safetensors(e, p, padding=padding),
    }
    if fmt not in writers:
        raise InputError(
            f"export format {fmt!r} is unknown: use one of {', '.join(EXPORT_FORMATS)}",
            param="format",
            value=fmt,
            expected=f"one of {', '.join(EXPORT_FORMATS)}",
        )
    normalize = _normalize(fmt, normalize)
    check_options(fmt, dtype=dtype, padding=padding)
    if gz and fmt not in GZIP_FORMATS:
        raise InputError(
            f"{str(output)!r}: {param('format', Bare(fmt))} cannot be gzipped; only {' and '.join(GZIP_FORMATS)} "
            "can (drop the .gz)",
            param="format",
            value=fmt,
            expected=" or ".join(GZIP_FORMATS),
        )
    if items is not None or normalize or dtype != "float32":
        embeddings = prepare(embeddings, items=items, normalize=normalize, dtype=dtype)
    companion = _companion(fmt, output, by_count=by_count)
    if companion is not None:
        extra, write_extra = companion
        _refuse_model_files([output, extra], model_dir)
        _refuse_existing([output, extra], force, directory=False)
        if fmt in ("npy", "faiss"):
            _check_ids(embeddings, "\n\r", f"{fmt} ids file")
        else:  # the counts file holds the ids as the word2vec file does
            _check_ids(embeddings, _WHITESPACE, "word2vec file")
        pair = {output: lambda p: writers[fmt](embeddings, p), extra: lambda p: write_extra(embeddings, p)}
        atomic_files(pair, replace=force)  # both files or neither
        return [output, extra]
    _refuse_model_files([output], model_dir)
    _refuse_existing([output], force, directory=fmt == "projector")
    if fmt == "projector":
        atomic_dir(output, lambda p: _projector(embeddings, p), replace=force)
    else:
        atomic_file(output, lambda p: writers[fmt](embeddings, p), replace=force)
    return [output]


def export_stream(
    embeddings: Embeddings,
    fmt: str,
    stream: BinaryIO,
    *,
    items: list[str] | None = None,
    normalize: bool | None = None,
    dtype: str = "float32",
    padding: bool = True,
) -> None:
    """Write a text format (word2vec, jsonl) to ``stream`` (``-o -``: stdout); no counts file.

    Raises:
        InputError: ``fmt`` is not a text format, or as :func:`export`.
    """
    if fmt not in STREAM_FORMATS:
        raise InputError(
            f"{param('format', Bare(fmt))} writes a binary file or a directory, not text: "
            f"only {', '.join(STREAM_FORMATS)} can be written to a stream",
            param="format",
            value=fmt,
            expected=" or ".join(STREAM_FORMATS),
        )
    normalize = _normalize(fmt, normalize)
    check_options(fmt, dtype=dtype, padding=padding)
    if items is not None or normalize or dtype != "float32":
        embeddings = prepare(embeddings, items=items, normalize=normalize, dtype=dtype)
    if fmt == "jsonl":
        write_jsonl(embeddings, stream)
        return
    _check_ids(embeddings, _WHITESPACE, "word2vec file")
    write_word2vec(embeddings, stream, binary=False, by_count=items is None)


def _normalize(fmt: str, normalize: bool | None) -> bool:
    """The format's default where ``normalize`` is None; a Faiss export must be unit length.

    Raises:
        InputError: ``normalize=False`` for faiss, whose inner product is the cosine only so.
    """
    if normalize is None:
        return fmt in NORMALIZED_FORMATS
    if fmt == "faiss" and not normalize:
        raise InputError(
            f"{param('format', Bare('faiss'))} holds unit-length vectors (its inner product is the "
            f"cosine that item2vec ranks by): drop {param('normalize', False)}",
            param="normalize",
            value=False,
            expected="unit-length vectors for faiss",
        )
    return normalize


def _companion(
    fmt: str, output: Path, *, by_count: bool
) -> tuple[Path, Callable[[Embeddings, Path], None]] | None:
    """The file written beside OUTPUT: the ids of npy and faiss rows, word2vec's counts."""
    if fmt in ("npy", "faiss"):
        return output.with_suffix(".ids.txt"), lambda e, p: _ids_file(e, p)
    if fmt in ("word2vec", "word2vec-binary"):
        return vocab_path(output), lambda e, p: _vocab_file(e, p, by_count=by_count)
    return None


def _refuse_model_files(paths: list[Path], model_dir: Path | None) -> None:
    """Never write an export into the model it comes from (``force`` or not): it would replace
    the model's own files, or mix foreign files into the model directory."""
    if model_dir is None:
        return
    home = model_dir.resolve()
    for path in paths:
        where = path.resolve()
        if where == home or home in where.parents:
            raise OutputExistsError(
                f"{str(path)!r} is inside the model directory {str(model_dir)!r}: an export never "
                "replaces the model's files; write it elsewhere",
                param="output",
                value=str(path),
                expected="a path outside the model directory",
            )


def _refuse_existing(paths: list[Path], force: bool, *, directory: bool) -> None:
    """Existing outputs need ``force``; never replace a directory with a file or a foreign directory.

    A projector directory is replaced whole, so one holding anything but the two projector
    files is refused (never delete a file we did not write). The directory written to must be
    writable: checked here, before any work.
    """
    for path in paths:
        if path.is_dir() and not directory:
            raise OutputExistsError(f"{str(path)!r} is a directory: give a file name")
        if path.exists() and not path.is_dir() and directory:
            raise OutputExistsError(f"{str(path)!r} is a file: give a directory name for the projector files")
        if path.exists() and not force:
            raise OutputExistsError(
                f"{str(path)!r} already exists: use {param('force', True)} to overwrite it",
                param="output",
                value=str(path),
                fix="overwrite it",
            )
        if path.is_dir():
            _refuse_foreign_files(path)
        check_writable(path)


def _refuse_foreign_files(path: Path) -> None:
    others = sorted(p.name + "/" * p.is_dir() for p in path.iterdir() if p.name not in _PROJECTOR_FILES)
    if others and not (path / "vectors.tsv").exists():
        raise OutputExistsError(f"{str(path)!r} is a directory with other files: choose another path")
    if others:
        raise OutputExistsError(
            f"{str(path)!r} also holds files the projector export did not write ({', '.join(others)}): "
            f"move them out or choose another path ({param('force', True)} replaces only vectors.tsv and "
            "metadata.tsv)",
            param="output",
            value=str(path),
            expected="a directory of projector files only",
        )


def _check_ids(embeddings: Embeddings, forbidden: str, what: str) -> None:
    """Refuse an id the format cannot hold, naming a format that can (parquet holds any id)."""
    for item in embeddings.ids:
        if item and not any(ch in item for ch in forbidden):
            continue
        if not item:
            why, fix = "it is empty", "parquet"
        elif "\n" in item or "\r" in item:
            why, fix = "it contains a line break", "parquet"
        else:
            why, fix = "it contains whitespace", "parquet or npy"
        raise InputError(
            f"item id {item!r} cannot be written to a {what} ({why}): use {param('format', Bare(fix))}",
            param="format",
            value=item,
            expected=fix,
        )


def _word2vec(
    embeddings: Embeddings, path: Path, *, binary: bool, compress: bool = False, by_count: bool = True
) -> None:
    import gzip

    _check_ids(embeddings, _WHITESPACE, "word2vec file")
    with open(path, "wb") as raw:
        if not compress:
            write_word2vec(embeddings, raw, binary=binary, by_count=by_count)
            return
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as stream:
            write_word2vec(embeddings, stream, binary=binary, by_count=by_count)  # type: ignore[arg-type]


def write_word2vec(embeddings: Embeddings, stream: BinaryIO, *, binary: bool, by_count: bool = True) -> None:
    """The word2vec format exactly as gensim's ``save_word2vec_format`` writes it.

    A ``count words dim`` header, then the most frequent item first (stable for ties), as the
    C tools do (``by_count=False``: in row order, for ids given in an order of their own): text
    rows of ``id v1 v2 ...``, or binary ``id `` plus the float32 bytes.
    """
    import numpy as np

    vectors = np.asarray(embeddings.vectors)
    dtype = np.float16 if vectors.dtype == np.float16 and not binary else np.float32
    order = word2vec_order(embeddings, by_count=by_count)
    stream.write(f"{len(embeddings)} {embeddings.dim}\n".encode())
    for start in range(0, len(order), 4096):
        rows = order[start : start + 4096]
        block = vectors[rows].astype(dtype, copy=False)
        if binary:
            data = b"".join(f"{embeddings.ids[r]} ".encode() + v.tobytes() for r, v in zip(rows, block))
        else:
            data = "".join(
                f"{embeddings.ids[r]} {' '.join(str(x) for x in v)}\n" for r, v in zip(rows, block)
            ).encode()
        stream.write(data)


def keyed_vectors(embeddings: Embeddings) -> Any:
    """A gensim ``KeyedVectors`` of the embeddings: ids in row order, vectors, ``count`` per id.

    What ``--format word2vec`` writes (float16 vectors stay float16).
    """
    import numpy as np
    from gensim.models import KeyedVectors

    vectors = np.asarray(embeddings.vectors)
    dtype = np.float16 if vectors.dtype == np.float16 else np.float32
    kv = KeyedVectors(vector_size=embeddings.dim, dtype=dtype)
    kv.add_vectors(embeddings.ids, vectors.astype(dtype, copy=False))
    for item, count in zip(embeddings.ids, embeddings.counts):
        kv.set_vecattr(item, "count", int(count))
    return kv


def _ids_file(embeddings: Embeddings, path: Path) -> None:
    path.write_text("".join(i + "\n" for i in embeddings.ids), encoding="utf-8")


def _npy_vectors(embeddings: Embeddings, path: Path) -> None:
    save_array(path, float_vectors(embeddings))


def _vocab_file(embeddings: Embeddings, path: Path, *, by_count: bool) -> None:
    write_vocab(embeddings, path, by_count=by_count)


def _parquet(embeddings: Embeddings, path: Path, *, normalized: bool) -> None:
    write_parquet(embeddings, path, normalized=normalized)


def _jsonl(embeddings: Embeddings, path: Path) -> None:
    with open(path, "wb") as stream:
        write_jsonl(embeddings, stream)


def _faiss(embeddings: Embeddings, path: Path) -> None:
    write_faiss(embeddings, path)


def _projector(embeddings: Embeddings, directory: Path) -> None:
    import numpy as np

    _check_ids(embeddings, "\t\n\r", "projector metadata file")
    vectors = float_vectors(embeddings)
    digits = 5 if vectors.dtype == np.float16 else 7  # enough to read back the same value
    np.savetxt(directory / "vectors.tsv", vectors, delimiter="\t", fmt=f"%.{digits}g")
    with open(directory / "metadata.tsv", "w", encoding="utf-8", newline="") as handle:
        header = ["id", "name", "count"] if embeddings.names else ["id", "count"]
        handle.write("\t".join(header) + "\n")
        for item, count in zip(embeddings.ids, embeddings.counts):
            name = _clean(embeddings.names.get(item, ""))
            row = [item, name, str(int(count))] if embeddings.names else [item, str(int(count))]
            handle.write("\t".join(row) + "\n")


def _clean(text: str) -> str:
    return " ".join(text.split())


def _torch(embeddings: Embeddings, path: Path, *, padding: bool) -> None:
    from item2vec.export.tensors import write_torch

    write_torch(embeddings, path, padding=padding)


def _safetensors(embeddings: Embeddings, path: Path, *, padding: bool) -> None:
    from item2vec.export.tensors import write_safetensors

    write_safetensors(embeddings, path, padding=padding)
