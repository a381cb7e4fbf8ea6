"""Atomic writes: a temporary name beside the target, renamed into place when complete.

An interrupted or failed write leaves the target as it was and no temporary file behind. An
output of several files (an export pair, a split, an index) is written as a set: every file to a
temporary first, then all renamed into place, the old ones put back if any rename fails.
Without ``replace`` a target that appeared meanwhile (another run wrote it) is refused, not
overwritten: the rename itself is the check. A full disk, a read-only file system or a missing
permission becomes one ``OutputError`` naming the path.
Results get the usual permissions (0666 / 0777 less the umask), not mkstemp's private 0600.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from item2vec.errors import OutputError, OutputExistsError, param

_NO_ROOM = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_NOT_ALLOWED = {errno.EACCES, errno.EPERM, errno.EROFS}
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV, errno.ENOSYS}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def no_space(exc: OSError, path: Path | None = None) -> bool:
    """Whether ``exc`` says the disk (or the user's quota) is full.

    Some writers lose the errno of a short write (numpy's ``tofile``: "N requested and M
    written"); for those, a file system with no block left beside ``path`` says it.
    """
    if exc.errno in _NO_ROOM:
        return True
    if exc.errno is not None or path is None:
        return False
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        return os.statvfs(existing).f_bavail == 0
    except (OSError, AttributeError):  # no statvfs on Windows
        return False


def save_array(path: Path, array: Any) -> None:
    """``np.save`` without pickle, through ``write`` so that a full disk raises ENOSPC.

    To a real file numpy writes with ``tofile``, whose short write on a full disk is an
    OSError without an errno; through a plain writer it writes in chunks with ``write``.
    """
    import numpy as np

    with open(path, "wb") as handle:
        np.save(_Writer(handle), array, allow_pickle=False)


class _Writer:
    """Only ``write``: numpy does not take it for a real file."""

    def __init__(self, handle: BinaryIO) -> None:
        self.write = handle.write


def output_error(exc: OSError, path: Path) -> OutputError | None:
    """The one-line error for a full disk or a refused write to ``path``; None for other errors."""
    if no_space(exc, path):
        return OutputError(
            f"no space left on the device writing {str(path)!r}: free some space or choose another "
            "output path (nothing was written)"
        )
    if exc.errno in _NOT_ALLOWED:
        reason = "read-only file system" if exc.errno == errno.EROFS else "permission denied"
        return OutputError(
            f"cannot write {str(path)!r} ({reason}): choose another output path or make its "
            "directory writable"
        )
    return None


@contextmanager
def write_errors(path: Path) -> Iterator[None]:
    """Turn a full disk or a refused write inside the block into an ``OutputError`` for ``path``."""
    try:
        yield
    except OSError as exc:
        error = output_error(exc, path)
        if error is None:
            raise
        raise error from None


def check_writable(path: Path, *, inside: bool = False) -> None:
    """Refuse early an output ``path`` that cannot be written (read-only, no permission, disk full).

    A cheap probe, run before reading or training: create and remove an empty directory where
    the output will be made: beside ``path``, or in it with ``inside`` (a directory the output
    files go into), or in the nearest ancestor that exists.

    Raises:
        OutputError: no permission, a read-only file system, a full disk, or a file in the way.
    """
    existing = path if inside else path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"cannot create {str(path)!r}: {str(existing)!r} is a file, not a directory")
    with write_errors(path):
        os.rmdir(tempfile.mkdtemp(prefix=".item2vec-probe-", dir=existing))


def atomic_files(writers: Mapping[Path, Callable[[Path], None]], *, replace: bool = True) -> None:
    """Write several files as one output: all of them are in place at the end, or none is.

    Each ``write(tmp)`` fills a temporary file beside its target. Only when every one is complete
    are they renamed into place; an existing target is moved aside first, put back if a later
    step fails (Ctrl-C included), and deleted at the end.

    Raises:
        OutputExistsError: without ``replace``, a target exists by the time it would be renamed.
        OutputError: the disk is full, or a directory is read-only.
    """
    temps: dict[Path, Path] = {}
    try:
        for path, write in writers.items():
            with write_errors(path):
                temps[path] = tmp = _temp_beside(path, ".tmp")
                write(tmp)
                os.chmod(tmp, 0o666 & ~_umask())
        _commit(temps, replace=replace)
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)


def _temp_beside(path: Path, suffix: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    return Path(name)


def _commit(temps: dict[Path, Path], *, replace: bool) -> None:
    """Rename every temporary onto its target; on any failure undo the renames done so far."""
    aside: dict[Path, Path] = {}
    placed: list[Path] = []
    try:
        for path, tmp in temps.items():
            with write_errors(path):
                if replace and (path.exists() or path.is_symlink()):
                    _move_aside(path, aside)
                with _signals_held():  # a rename and its record: both or neither
                    _place(tmp, path, replace=replace)
                    placed.append(path)
    except BaseException:
        with _signals_held():
            for path in placed:
                path.unlink(missing_ok=True)
            for path, old in aside.items():
                os.replace(old, path)
        raise
    for old in aside.values():
        old.unlink(missing_ok=True)


def _move_aside(path: Path, aside: dict[Path, Path]) -> None:
    """Rename ``path`` to a temporary name beside it, recorded in ``aside`` (both or neither)."""
    old = _temp_beside(path, ".old")
    try:
        with _signals_held():
            os.replace(path, old)
            aside[path] = old
    finally:
        if path not in aside:
            old.unlink(missing_ok=True)


def _exists(path: Path, fix: str) -> OutputExistsError:
    return OutputExistsError(
        f"{str(path)!r} already exists: use {param('force', True)} to {fix}",
        param="output",
        value=str(path),
        fix=fix,
    )


def _place(tmp: Path, path: Path, *, replace: bool) -> None:
    """Rename ``tmp`` to ``path``; without ``replace`` a hard link makes the no-replace check atomic."""
    if replace:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise _exists(path, "overwrite it") from None
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        if path.exists() or path.is_symlink():  # no hard links here: check, then rename
            raise _exists(path, "overwrite it") from None
        os.replace(tmp, path)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold back Ctrl-C and SIGTERM (where the platform can) while a rollback puts files back."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def atomic_file(path: Path, write: Callable[[Path], None], *, replace: bool = True) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``."""
    atomic_files({path: write}, replace=replace)


def atomic_bytes(path: Path, data: bytes, *, replace: bool = True) -> None:
    """Write ``data`` to ``path`` atomically."""

    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    atomic_file(path, write, replace=replace)


def temporary_dir(path: Path, label: str) -> Path:
    """A new empty directory beside ``path`` (mode 0777 less the umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{label}-", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    return tmp


def atomic_dir(path: Path, write: Callable[[Path], None], *, replace: bool = True) -> None:
    """Call ``write(tmp)`` on a temporary directory beside ``path``, then move it to ``path``.

    An existing ``path`` is replaced only once the new directory is complete (see ``replace_dir``).
    """
    with write_errors(path):
        tmp = temporary_dir(path, "tmp")
    try:
        with write_errors(path):
            write(tmp)
            replace_dir(tmp, path, replace=replace)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def replace_dir(new: Path, path: Path, *, replace: bool = True) -> None:
    """Rename the directory ``new`` to ``path``.

    With ``replace`` an existing ``path`` is moved aside first, put back if the rename fails, and
    deleted after. A ``path`` that is absent (or empty) when the rename happens is never
    replaced by a directory that appears meanwhile: a directory cannot be renamed onto a
    non-empty one, so of two concurrent runs one fails.

    Raises:
        OutputExistsError: ``path`` exists and ``replace`` is off, or another run made it meanwhile.
    """
    if not replace or not (path.exists() or path.is_symlink()):
        _rename_dir(new, path)
        return
    old = temporary_dir(path, "old")
    previous = old / "previous"
    try:
        os.rename(path, previous)
        _rename_dir(new, path)
    except BaseException:
        with _signals_held():  # undo by what is on disk, wherever the interruption came
            if previous.exists():
                if not new.exists():
                    os.rename(path, new)  # the caller deletes it
                os.rename(previous, path)
            os.rmdir(old)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _rename_dir(new: Path, path: Path) -> None:
    try:
        os.rename(new, path)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise _exists(path, "replace it") from None
        raise
