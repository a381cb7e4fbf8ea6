"""Write embeddings in other tools' formats: word2vec text/binary, npy, Parquet, projector.

Every export is written to a temporary name and renamed into place; an existing output is
replaced only with ``force``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from item2vec.embeddings import Embeddings
from item2vec.errors import InputError, OutputExistsError

EXPORT_FORMATS = ("word2vec", "word2vec-binary", "npy", "parquet", "projector")


def export(embeddings: Embeddings, fmt: str, output: Path, *, force: bool = False) -> list[Path]:
    """Write ``embeddings`` as ``fmt`` to ``output``; return the paths written.

    ``npy`` writes OUTPUT (vectors) and OUTPUT with suffix ``.ids.txt`` (one id per row);
    ``projector`` writes a directory with ``vectors.tsv`` and ``metadata.tsv``.

    Raises:
        OutputExistsError: an output exists and ``force`` is false.
        InputError: ids cannot be written in this format (whitespace in word2vec ids).
    """
    writers: dict[str, Callable[[Embeddings, Path], None]] = {
        "word2vec": lambda e, p: _word2vec(e, p, binary=False),
        "word2vec-binary": lambda e, p: _word2vec(e, p, binary=True),
        "npy": _npy_vectors,
        "parquet": _parquet,
        "projector": _projector,
    }
    if fmt not in writers:
        raise InputError(f"export format {fmt!r} is unknown: use one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "npy":
        ids_path = output.with_suffix(".ids.txt")
        _refuse_existing([output, ids_path], force, directory=False)
        _check_ids(embeddings, "\n\r", "npy ids file")
        _atomic_file(ids_path, lambda p: _ids_file(embeddings, p))
        _atomic_file(output, lambda p: _npy_vectors(embeddings, p))
        return [output, ids_path]
    _refuse_existing([output], force, directory=fmt == "projector")
    if fmt == "projector":
        _atomic_dir(output, lambda p: _projector(embeddings, p))
    else:
        _atomic_file(output, lambda p: writers[fmt](embeddings, p))
    return [output]


def _refuse_existing(paths: list[Path], force: bool, *, directory: bool) -> None:
    """Existing outputs need ``force``; never replace a directory with a file or a foreign directory."""
    for path in paths:
        if path.is_dir() and not directory:
            raise OutputExistsError(f"{str(path)!r} is a directory: give a file name")
        if path.exists() and not path.is_dir() and directory:
            raise OutputExistsError(f"{str(path)!r} is a file: give a directory name for the projector files")
        if path.exists() and not force:
            raise OutputExistsError(f"{str(path)!r} already exists: use --force to overwrite it")
        if path.is_dir() and not (path / "vectors.tsv").exists() and any(path.iterdir()):
            raise OutputExistsError(f"{str(path)!r} is a directory with other files: choose another path")


def _check_ids(embeddings: Embeddings, forbidden: str, what: str) -> None:
    for item in embeddings.ids:
        if any(ch in item for ch in forbidden) or not item:
            raise InputError(
                f"item id {item!r} cannot be written to a {what} (it contains whitespace): "
                "use --format parquet or npy"
            )


def _atomic_file(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _atomic_dir(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        write(tmp)
        if path.exists():
            shutil.rmtree(path)
        os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _word2vec(embeddings: Embeddings, path: Path, *, binary: bool) -> None:
    import numpy as np
    from gensim.models import KeyedVectors

    _check_ids(embeddings, " \t\n\r\v\f", "word2vec file")
    kv = KeyedVectors(vector_size=embeddings.dim, dtype=np.float32)
    kv.add_vectors(embeddings.ids, np.asarray(embeddings.vectors, dtype=np.float32))
    for item, count in zip(embeddings.ids, embeddings.counts):
        kv.set_vecattr(item, "count", int(count))
    kv.save_word2vec_format(str(path), binary=binary, write_header=True)


def _ids_file(embeddings: Embeddings, path: Path) -> None:
    path.write_text("".join(i + "\n" for i in embeddings.ids), encoding="utf-8")


def _npy_vectors(embeddings: Embeddings, path: Path) -> None:
    import numpy as np

    with open(path, "wb") as handle:
        np.save(handle, np.asarray(embeddings.vectors, dtype=np.float32), allow_pickle=False)


def _parquet(embeddings: Embeddings, path: Path) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    vectors = np.ascontiguousarray(embeddings.vectors, dtype=np.float32)
    flat = pa.array(vectors.reshape(-1), type=pa.float32())
    offsets = pa.array(np.arange(0, vectors.size + 1, embeddings.dim, dtype=np.int32))
    columns = {
        "id": pa.array(embeddings.ids, type=pa.string()),
        "vector": pa.ListArray.from_arrays(offsets, flat),
        "count": pa.array(np.asarray(embeddings.counts, dtype=np.int64)),
    }
    if embeddings.names:
        columns["name"] = pa.array([embeddings.names.get(i) for i in embeddings.ids], type=pa.string())
    pq.write_table(pa.table(columns), path)


def _projector(embeddings: Embeddings, directory: Path) -> None:
    import numpy as np

    _check_ids(embeddings, "\t\n\r", "projector metadata file")
    np.savetxt(
        directory / "vectors.tsv",
        np.asarray(embeddings.vectors, dtype=np.float32),
        delimiter="\t",
        fmt="%.7g",
    )
    with open(directory / "metadata.tsv", "w", encoding="utf-8", newline="") as handle:
        header = ["id", "name", "count"] if embeddings.names else ["id", "count"]
        handle.write("\t".join(header) + "\n")
        for item, count in zip(embeddings.ids, embeddings.counts):
            name = _clean(embeddings.names.get(item, ""))
            row = [item, name, str(int(count))] if embeddings.names else [item, str(int(count))]
            handle.write("\t".join(row) + "\n")


def _clean(text: str) -> str:
    return " ".join(text.split())
