"""Atomic writes: a temporary name beside the target, renamed into place when complete.

An interrupted or failed write leaves the target as it was and no temporary file behind.
Results get the usual permissions (0666 / 0777 less the umask), not mkstemp's private 0600.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_file(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""

    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    atomic_file(path, write)


def temporary_dir(path: Path, label: str) -> Path:
    """A new empty directory beside ``path`` (mode 0777 less the umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{label}-", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    return tmp


def atomic_dir(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary directory beside ``path``, then move it to ``path``.

    An existing ``path`` is replaced only once the new directory is complete.
    """
    tmp = temporary_dir(path, "tmp")
    try:
        write(tmp)
        replace_dir(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def replace_dir(new: Path, path: Path) -> None:
    """Rename ``new`` to ``path``, moving an existing ``path`` aside first and deleting it after."""
    if not path.exists():
        os.rename(new, path)
        return
    old = temporary_dir(path, "old")
    os.rename(path, old / "previous")
    os.rename(new, path)
    shutil.rmtree(old, ignore_errors=True)
