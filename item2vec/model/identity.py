"""One model at a time: a model's identity, checked on every part, and a lock for its writers.

Identity. ``save`` gives each model a random ``model_id`` and records in model.json a
fingerprint of every part it writes (``parts``: file name → digest). A reader checks each part
it opens, eagerly or later (``syn1neg.npy`` and ``transitions.npz`` are read at the first query
that needs them), against the model.json it read: a part of another model (one retrained
meanwhile, one copied in by hand, a vocab.tsv reordered) is refused, never paired with the
rest. A digest covers a whole part up to 16 MiB and 256 blocks spread over a larger one, with
its size (and an array's type and shape), so it costs milliseconds on any model. Models saved
before identities existed have no ``model_id``: they load as before, unchecked (backward
compatible).

Writers. ``model_lock`` takes an exclusive ``flock`` on a lock file beside the model directory
(``.NAME.lock``, removed by its holder) for a whole read-change-write (``update``, ``embed``)
or a save: a second writer of the same model fails at once with a clear error instead of
both succeeding and one result being lost.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.errors import Bare, InputError, ModelError, OutputError, param

if TYPE_CHECKING:
    from numpy.typing import NDArray

ID_KEY = "model_id"
PARTS_KEY = "parts"
_WHOLE = 1 << 24  # a part up to this size is hashed whole
_BLOCK, _BLOCKS = 1 << 12, 256  # else this many blocks of this size, spread over it
_HELD: dict[str, int] = {}  # lock files this process holds → the thread holding each


def new_id() -> str:
    return secrets.token_hex(16)


def _digest(read: Callable[[int, int], bytes], size: int, head: bytes = b"") -> str:
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update(head + size.to_bytes(8, "little"))
    if size <= _WHOLE:
        hasher.update(read(0, size))
    else:
        step = (size - _BLOCK) // (_BLOCKS - 1)
        for block in range(_BLOCKS):
            hasher.update(read(block * step, _BLOCK))
    return hasher.hexdigest()


def bytes_digest(data: bytes) -> str:
    """The digest of a part read whole (a TSV file)."""
    return _digest(lambda start, length: data[start : start + length], len(data))


def file_digest(path: Path) -> str:
    """The digest of a file, read in place (blocks of a large one)."""
    with open(path, "rb") as handle:
        return handle_digest(handle)


def handle_digest(handle: Any) -> str:
    """The digest of an open binary file (its position is left at the end)."""
    size = os.fstat(handle.fileno()).st_size

    def read(start: int, length: int) -> bytes:
        handle.seek(start)
        data: bytes = handle.read(length)
        return data

    return _digest(read, size)


def array_digest(array: NDArray[Any]) -> str:
    """The digest of a ``.npy`` part from its array (memory-mapped: only the blocks are read)."""
    import numpy as np

    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    head = f"{array.dtype.str}{tuple(array.shape)}".encode()
    return _digest(lambda start, length: flat[start : start + length].tobytes(), int(flat.size), head)


def manifest(directory: Path) -> dict[str, str]:
    """The digest of every file in a model directory just written (``.npy`` files by their array)."""
    import numpy as np

    parts = {}
    for file in sorted(directory.iterdir()):
        if file.name == "model.json" or not file.is_file():
            continue
        if file.suffix == ".npy":
            parts[file.name] = array_digest(np.load(file, mmap_mode="r", allow_pickle=False))
        else:
            parts[file.name] = file_digest(file)
    return parts


class PartMismatch(Exception):
    """A part does not belong to the model.json that was read (raised to the loader, which retries)."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"{name}: {why}")
        self.name = name
        self.why = why


def expected(meta: Mapping[str, Any], name: str) -> str | None:
    """The digest model.json records for part ``name``; None for a model without an identity.

    Raises:
        PartMismatch: the model has an identity and does not list ``name``.
    """
    if ID_KEY not in meta:
        return None  # saved before identities existed: read unchecked, as it always was
    digest = (meta.get(PARTS_KEY) or {}).get(name)
    if digest is None:
        raise PartMismatch(name, "model.json does not list it")
    return str(digest)


def check(meta: Mapping[str, Any], name: str, digest: Callable[[], str]) -> None:
    """Refuse part ``name`` unless its digest is the one model.json records.

    Raises:
        PartMismatch: the part is not the one this model.json was saved with.
    """
    want = expected(meta, name)
    if want is not None and digest() != want:
        raise PartMismatch(name, f"its fingerprint is not the one model.json's {PARTS_KEY!r} records")


def current_id(path: Path) -> str | None:
    """The ``model_id`` of the model.json at ``path`` now (None if unreadable or absent)."""
    import json

    try:
        meta = json.loads((path / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = meta.get(ID_KEY) if isinstance(meta, dict) else None
    return found if isinstance(found, str) else None


def replaced(path: Path, meta: Mapping[str, Any]) -> bool:
    """Whether the model at ``path`` is no longer the one ``meta`` was read from."""
    return ID_KEY in meta and current_id(path) != meta[ID_KEY]


def replaced_error(path: Path) -> ModelError:
    return ModelError(
        f"the model at {str(path)!r} was replaced since it was loaded: load it again",
        value=str(path),
        fix="load the model again",
    )


def mismatch_error(path: Path, meta: Mapping[str, Any], exc: PartMismatch) -> ModelError:
    """The error for a part that does not fit: the model was replaced, or the part is foreign."""
    if replaced(path, meta):
        return replaced_error(path)
    return ModelError(
        f"model {str(path)!r} is corrupt: {exc.name} does not belong to it ({exc.why}): put back "
        "the model's own file, or retrain the model",
        value=str(path),
        fix="put back the model's own file, or retrain the model",
    )


def part_checked(path: Path, meta: Mapping[str, Any], name: str, digest: Callable[[], str]) -> None:
    """:func:`check`, with the error a reader shows (for a part opened after the model was loaded).

    Raises:
        ModelError: the model was replaced since ``meta`` was read, or the part is not its own.
    """
    try:
        check(meta, name, digest)
    except PartMismatch as exc:
        raise mismatch_error(path, meta, exc) from None


INPUT_DIGESTS = "input_digests"


def with_input_digests(record: dict[str, Any]) -> dict[str, Any]:
    """model.json's ``input`` record with the fingerprint of each input file (None for stdin).

    ``evaluate`` opens the files a model.json names (to count its baselines) only when they are
    these files: a model from elsewhere cannot make it read a file the user did not name.
    """
    paths = record.get("input_paths") or []
    digests = [file_digest(Path(p)) if os.path.isfile(p) else None for p in paths]
    return {**record, INPUT_DIGESTS: digests}


def check_named_inputs(record: Mapping[str, Any], paths: list[str], shown: list[str]) -> None:
    """Refuse to open input files model.json names unless each is the file the model was trained on.

    Raises:
        InputError: model.json records no fingerprint of a file (an older model, or one from
            elsewhere), or the file at that path is not the one the model was trained on.
    """
    digests = list(record.get(INPUT_DIGESTS) or [])
    for i, path in enumerate(paths):
        name = shown[i] if i < len(shown) else path
        want = digests[i] if i < len(digests) else None
        if not isinstance(want, str):
            why = (
                f"model.json records no fingerprint of its input {name!r} ({path}) to check that file against"
            )
        elif os.path.islink(path) or file_digest(Path(path)) != want:
            why = f"its input {name!r} ({path}) is not the file the model was trained on (it changed since)"
        else:
            continue
        raise InputError(
            f"the baselines need the model's training data, but {why}; item2vec opens only the files "
            f"you name: pass it with {_TRAIN} (or {param('baselines', False)})",
            value=path,
            fix=f"pass the training data with {_TRAIN}, or {param('baselines', False)}",
        )


@contextmanager
def model_lock(path: Path) -> Iterator[None]:
    """Hold the write lock of the model at ``path`` (reentrant in one thread).

    Raises:
        OutputError: another run (or thread) is writing this model now.
    """
    try:
        import fcntl
    except ImportError:  # no flock (Windows): the no-replace rename still guards new outputs
        yield
        return
    lock = path.parent / f".{path.name}.lock"
    key = os.path.abspath(lock)
    if _HELD.get(key) == threading.get_ident():
        yield
        return
    fd = _acquire(lock, path, fcntl)
    _HELD[key] = threading.get_ident()
    try:
        yield
    finally:
        del _HELD[key]
        lock.unlink(missing_ok=True)  # while still holding it: a waiter re-checks the file
        os.close(fd)


def _acquire(lock: Path, path: Path, fcntl: Any) -> int:
    """An open descriptor of ``lock``, flock-ed, that is still the file at that name."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(
                f"model {str(path)!r} is being written by another item2vec run: wait for it to "
                f"finish, then run again (a second writer would lose one of the two results)",
                param="output",
                value=str(path),
                fix="wait for the other run to finish, then run again",
            ) from None
        held = os.fstat(fd)
        try:
            now = os.stat(lock)
        except FileNotFoundError:
            now = None
        if now is not None and (now.st_ino, now.st_dev) == (held.st_ino, held.st_dev):
            return fd
        os.close(fd)  # its holder removed it as we opened it: lock the new one


__all__ = [
    "ID_KEY",
    "PARTS_KEY",
    "PartMismatch",
    "array_digest",
    "bytes_digest",
    "check",
    "check_named_inputs",
    "current_id",
    "expected",
    "file_digest",
    "handle_digest",
    "manifest",
    "mismatch_error",
    "model_lock",
    "new_id",
    "part_checked",
    "replaced",
    "replaced_error",
    "with_input_digests",
]


_TRAIN = param("train_files", Bare("FILE"))
