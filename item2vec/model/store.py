"""The model directory: atomic save, safe load (no pickle, memory-mapped vectors).

Layout (format version 1)::

    model.json    format version, parameters, input statistics, timings, library versions
    vectors.npy   float32 [items x dim], loaded with allow_pickle=False and mmap
    vocab.tsv     id, count (row order = vector rows)
    items.tsv     id, name (optional item metadata)
    dropped.tsv   id, count of items below --min-count (to explain unknown-item queries)
    syn1neg.npy   float32 output weights of the learned items (training state for ``update``,
                  and the output vectors of ``--score next``)
    transitions.npz  what follows what, counted at training (item2vec.model.transitions): plain
                  arrays, loaded with allow_pickle=False; ``--score hybrid`` needs it

Optional files of a model trained with ``--item-features`` (item2vec.training.features); readers that
do not know them ignore them, so they need no new format version:

    features.npy          float32 [attribute tokens x dim], kept apart from the item vectors
    features.tsv          feature, count (row order = features.npy rows; ``column=value``)
    features_syn1neg.npy  float32 output weights of the attribute tokens (for ``update``)
    item_features.tsv     id, feature: the item → attribute table (``embed``, ``update``)
    inferred.tsv          id, features_used: items whose vector comes from their attributes;
                          they are the last rows of vectors.npy and have no syn1neg row

model.json records the token prefix and columns under "features", and ``update`` appends to
its "updates" list. The format version changes only when a required file changes meaning.

Every save gives the model a new identity (``model_id``) and records a fingerprint of each part
(``parts``); :func:`load` checks each part it reads against them, and so do the readers of the
parts read later (item2vec.model.identity). A directory replaced while it is read is read again
whole, so a reader gets the old model or the new one, never parts of both. Models saved before
identities existed load unchecked, as before.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.errors import Bare, ModelError, OutputExistsError, param
from item2vec.files import check_writable, replace_dir, save_array, temporary_dir, write_errors
from item2vec.model.checks import check_finite, check_meta, check_shape, refuse_link
from item2vec.model.embeddings import Embeddings
from item2vec.model.identity import (
    ID_KEY,
    PARTS_KEY,
    PartMismatch,
    array_digest,
    bytes_digest,
    check,
    manifest,
    mismatch_error,
    model_lock,
    new_id,
    part_checked,
    replaced,
)
from item2vec.render import delimited_line

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from item2vec.model.transitions import TransitionMatrix

FORMAT_VERSION = 1
MODEL_FILE = "model.json"
_REQUIRED = ("model.json", "vectors.npy", "vocab.tsv")
# Every name item2vec writes into a model directory (add new ones here): ``--force`` replaces a
# model directory only when it holds nothing else, so it never deletes a file we did not write.
MODEL_FILES = frozenset(
    {
        *_REQUIRED, "items.tsv", "dropped.tsv", "syn1neg.npy",
        "features.npy", "features.tsv", "features_syn1neg.npy", "item_features.tsv", "inferred.tsv",
        "index.faiss", "index.json", "index-next.faiss", "index-next.json", "transitions.npz",
    }
)  # fmt: skip
csv.field_size_limit(1 << 24)


def is_model_dir(path: Path) -> bool:
    return (path / MODEL_FILE).is_file()


def check_replace(model: Path, target: Path, *, force: bool, command: str) -> None:
    """Refuse ``command`` (``update``, ``embed``) writing over ``model`` itself without ``force``,
    then check ``target`` as :func:`check_output` does.

    Raises:
        OutputExistsError: the target is the model and ``force`` is not given, or see check_output.
        OutputError: see check_output.
    """
    if target.resolve() == model.resolve() and not force:
        raise OutputExistsError(
            f"{command} would replace model {str(model)!r}: use {param('force', True)}, or "
            f"{param('output', Bare('NEW_MODEL'))}",
            param="force",
            value=False,
            fix="pass force, or give a new output",
        )
    check_output(target, force=force)


def check_output(path: Path, *, force: bool) -> None:
    """Refuse an output path that holds something we must not replace, or cannot be written.

    An empty directory is fine; an existing model needs ``force`` and must hold only the files
    item2vec writes (``MODEL_FILES``: ``--force`` never deletes anything else); anything else is
    refused. Run before reading any input, so a refusal comes at once.

    Raises:
        OutputExistsError: a model without ``force``, a model directory with other files in it,
            a file, or a directory that is not a model.
        OutputError: the directory the model goes into is read-only or not ours to write.
    """
    if (not path.exists() and not path.is_symlink()) or (path.is_dir() and not any(path.iterdir())):
        check_writable(path)
        return
    if path.is_dir() and is_model_dir(path):
        if not force:
            raise OutputExistsError(
                f"model directory {str(path)!r} already exists: use {param('force', True)} to replace it",
                param="force",
                value=False,
                fix="pass force to replace it, or choose another output",
            )
        _refuse_foreign_files(path)
        check_writable(path)
        return
    kind = "a file" if not path.is_dir() else "a directory with other files"
    raise OutputExistsError(
        f"output {str(path)!r} is {kind}, not an item2vec model: choose another path "
        f"({param('force', True)} only replaces a model)"
    )


def _refuse_foreign_files(path: Path) -> None:
    others = sorted(p.name + "/" * p.is_dir() for p in path.iterdir() if p.name not in MODEL_FILES)
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise OutputExistsError(
            f"model directory {str(path)!r} also holds files item2vec did not write ({shown}): "
            f"move them out or choose another output ({param('force', True)} replaces only a model's own files)"
        )


def save(
    embeddings: Embeddings,
    path: Path,
    *,
    force: bool = False,
    extra: dict[str, NDArray[np.float32]] | None = None,
    tables: dict[str, tuple[tuple[str, str], list[tuple[Any, Any]]]] | None = None,
    transitions: TransitionMatrix | None = None,
) -> None:
    """Write the model to a temporary directory beside ``path``, then rename it into place.

    ``extra`` arrays are saved as ``NAME.npy``, ``tables`` as ``NAME.tsv`` (header, rows) and
    ``transitions`` as ``transitions.npz``.
    An interrupted save leaves no half-written model; ``path`` is replaced only at the end, and
    without ``force`` never replaces a model another run saved there meanwhile.

    Raises:
        OutputExistsError: ``path`` holds a model (without ``force``), files item2vec did not
            write, or something that is not a model.
        OutputError: the disk is full, or the directory is read-only.
    """
    check_output(path, force=force)
    with write_errors(path), model_lock(path):
        tmp = temporary_dir(path, "tmp")
        try:
            _write_files(tmp, embeddings, extra, tables, transitions)
            _move_into_place(tmp, path, force=force)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def _write_files(
    tmp: Path,
    embeddings: Embeddings,
    extra: dict[str, NDArray[np.float32]] | None,
    tables: dict[str, tuple[tuple[str, str], list[tuple[Any, Any]]]] | None,
    transitions: TransitionMatrix | None = None,
) -> None:
    import numpy as np

    save_array(tmp / "vectors.npy", np.ascontiguousarray(embeddings.vectors, dtype=np.float32))
    for name, array in (extra or {}).items():
        save_array(tmp / f"{name}.npy", np.ascontiguousarray(array, dtype=np.float32))
    _write_tsv(tmp / "vocab.tsv", ("id", "count"), zip(embeddings.ids, (int(c) for c in embeddings.counts)))
    for name, (header, rows) in (tables or {}).items():
        _write_tsv(tmp / f"{name}.tsv", header, rows)
    if transitions is not None:
        from item2vec.model.transitions import TRANSITIONS_FILE, save_transitions

        save_transitions(tmp / TRANSITIONS_FILE, transitions)
    if embeddings.names:
        _write_tsv(tmp / "items.tsv", ("id", "name"), sorted(embeddings.names.items()))
    if embeddings.dropped:
        ranked = sorted(embeddings.dropped.items(), key=lambda kv: (-kv[1], kv[0]))
        _write_tsv(tmp / "dropped.tsv", ("id", "count"), ranked)
    meta = dict(embeddings.meta, format_version=FORMAT_VERSION, items=len(embeddings), dim=embeddings.dim)
    meta[ID_KEY], meta[PARTS_KEY] = new_id(), manifest(tmp)  # a new model, whatever it came from
    (tmp / MODEL_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _move_into_place(tmp: Path, path: Path, *, force: bool) -> None:
    """Rename the finished model to ``path``; without ``force`` never onto a model made meanwhile."""
    try:
        replace_dir(tmp, path, replace=force)
    except OutputExistsError:
        check_output(path, force=force)  # what is there now, in the usual words
        raise


def _write_tsv(path: Path, header: tuple[str, str], rows: Iterable[tuple[Any, Any]]) -> None:
    """A TSV file that reads back exactly: fields with a tab, quote, ``\\n`` or ``\\r`` are quoted."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(delimited_line(header, "\t"))
        handle.writelines(delimited_line(row, "\t") for row in rows)


def _part_bytes(path: Path, fits: Callable[[str, Callable[[], str]], None]) -> str:
    """A model file's text, its fingerprint handed to ``fits`` (never through a symbolic link)."""
    refuse_link(path)
    data = path.read_bytes()
    fits(path.name, lambda: bytes_digest(data))
    return data.decode("utf-8")


def _tsv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter="\t"))[1:]


def read_tsv(path: Path, meta: dict[str, Any] | None = None) -> list[list[str]]:
    """The rows of a model TSV file, header skipped; checked against ``meta``'s fingerprints if given.

    Raises:
        ModelError: the file is a symbolic link, or not the one ``meta``'s model was saved with.
    """

    def fits(name: str, digest: Callable[[], str]) -> None:
        if meta is not None:
            part_checked(path.parent, meta, name, digest)

    return _tsv_rows(_part_bytes(path, fits))


def _read_vocab(text: str) -> tuple[list[str], NDArray[np.int64]]:
    """Ids and counts of vocab.tsv; a fast split when nothing is quoted (a million rows in ~0.3 s)."""
    import numpy as np

    body = text.partition("\n")[2]
    if '"' not in text and "\r" not in text and body.count("\t") == body.count("\n"):
        cells = body.replace("\n", "\t").split("\t")
        return cells[0:-1:2], np.array(cells[1::2], dtype=np.int64)
    rows = _tsv_rows(text)
    return [r[0] for r in rows], np.array([int(r[1]) for r in rows], dtype=np.int64)


_ATTEMPTS = 8  # reads of a model replaced meanwhile, ~1.3 s of waits in all, before giving up


def load(path: Path | str, *, mmap: bool = True) -> Embeddings:
    """Load a model directory. Never unpickles, never runs code from the directory.

    Every part is checked against model.json's fingerprints; a model replaced while it is read
    (``train --force``, ``update``) is read again from the start, so the result is the old
    model or the new one, never parts of both.

    Raises:
        ModelError: the directory is missing, incomplete, corrupt, or of another format version,
            or one of its parts belongs to another model.
    """
    path = Path(path)
    for attempt in range(_ATTEMPTS):
        last = attempt == _ATTEMPTS - 1
        if attempt:
            time.sleep(0.01 * 2 ** min(attempt, 6))
        before = _inode(path)
        try:
            meta = read_meta(path)
        except ModelError:
            if not last and _being_replaced(path, before):
                continue  # the moment between the two renames of a replacement
            raise
        try:
            return _load_parts(path, meta, mmap=mmap)
        except PartMismatch as exc:
            if last or not replaced(path, meta):
                raise mismatch_error(path, meta, exc) from None
    raise AssertionError("unreachable: the last attempt returns or raises")


def _inode(path: Path) -> int | None:
    """The directory's inode number (None when absent): a replacement gives ``path`` another one."""
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _being_replaced(path: Path, before: int | None) -> bool:
    """Whether reading model.json failed at the moment of a replacement (files.replace_dir renames
    the old directory aside, then the new one in): the old copy is aside, or another directory
    with a model.json is at ``path`` now. A corrupt model.json is not retried."""
    if any(path.parent.glob(f".{path.name}.old-*")):
        return True
    return _inode(path) != before and (path / MODEL_FILE).is_file()


def _load_parts(path: Path, meta: dict[str, Any], *, mmap: bool) -> Embeddings:
    """The model's parts, each checked for what it holds, then against ``meta``'s fingerprints.

    Raises:
        PartMismatch: a part is not the one ``meta``'s model was saved with, or the model was
            replaced while it was read (the caller reads it again).
        ModelError: the model is incomplete or corrupt.
    """
    try:
        embeddings, mismatches = _read_parts(path, meta, mmap=mmap)
    except ModelError:
        if replaced(path, meta):  # parts of two models do not fit: read the new one
            raise PartMismatch("the model", "it was replaced while it was read") from None
        raise
    if mismatches:
        raise mismatches[0]
    return embeddings


def _read_parts(path: Path, meta: dict[str, Any], *, mmap: bool) -> tuple[Embeddings, list[PartMismatch]]:
    import numpy as np

    mismatches: list[PartMismatch] = []

    def fits(name: str, digest: Callable[[], str]) -> None:
        try:
            check(meta, name, digest)
        except PartMismatch as exc:
            mismatches.append(exc)

    for name in (*_REQUIRED, "items.tsv", "dropped.tsv"):
        refuse_link(path / name)
    for name in _REQUIRED:
        if not (path / name).is_file():
            raise ModelError(f"model {str(path)!r} is incomplete: {name} is missing; retrain it")
    try:
        vectors = np.load(path / "vectors.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
        fits("vectors.npy", lambda: array_digest(vectors))
        ids, counts = _read_vocab(_part_bytes(path / "vocab.tsv", fits))
        names = (
            dict((r[0], r[1]) for r in _tsv_rows(_part_bytes(path / "items.tsv", fits)))
            if (path / "items.tsv").is_file()
            else {}
        )
        dropped = (
            {r[0]: int(r[1]) for r in _tsv_rows(_part_bytes(path / "dropped.tsv", fits))}
            if (path / "dropped.tsv").is_file()
            else {}
        )
    except (ValueError, IndexError, OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"model {str(path)!r} is corrupt ({exc}); retrain it") from None
    if vectors.dtype != np.float32 or vectors.ndim != 2 or vectors.shape[0] != len(ids):
        raise ModelError(
            f"model {str(path)!r} is corrupt: vectors.npy is {vectors.dtype} {vectors.shape} "
            f"but vocab.tsv lists {len(ids):,} items; retrain it"
        )
    check_shape(meta, vectors.shape, path)
    check_finite(vectors, path, "vectors.npy", ids)
    embeddings = Embeddings(ids=ids, vectors=vectors, counts=counts, names=names, meta=meta, dropped=dropped)
    return embeddings, mismatches


def read_meta(path: Path) -> dict[str, Any]:
    """Read and check model.json."""
    if not path.exists():
        raise ModelError(f"model directory {str(path)!r} does not exist: train one with 'item2vec train'")
    if not path.is_dir() or not is_model_dir(path):
        raise ModelError(f"{str(path)!r} is not an item2vec model directory (no {MODEL_FILE})")
    try:
        meta = json.loads((path / MODEL_FILE).read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise ModelError(f"model {str(path)!r} is corrupt: {MODEL_FILE} is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise ModelError(f"model {str(path)!r} is corrupt: {MODEL_FILE} is not a JSON object")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelError(
            f"model {str(path)!r} has format version {version!r}; this item2vec reads version "
            f"{FORMAT_VERSION}: retrain the model or use a matching item2vec"
        )
    check_meta(meta, path)
    return meta
