"""What the arrays of an ``.npz`` declare, read from their ``.npy`` headers without reading them.

``np.load`` decompresses a member whole before anyone can look at its shape: a few megabytes of
deflated zeros can declare gigabytes. A reader checks the declared sizes here first, and reads
only the small members (a shape, a version) whole.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["SMALL_BYTES", "declared_arrays"]
SMALL_BYTES = 1024  # a member this size or larger is not read whole by declared_arrays


def declared_arrays(
    path: str | Path, names: Iterable[str], small: Iterable[str] = ()
) -> tuple[dict[str, tuple[int, int]], dict[str, Any]] | None:
    """(values, bytes per value) that each member of ``names`` declares (0 bytes: an object array),
    and the members of ``small`` read whole (None where one is ``SMALL_BYTES`` or more, or not a
    plain array). Members that are missing are left out; None when the file cannot be read as a
    zip of ``.npy`` headers (``np.load`` then says what is wrong with it)."""
    try:
        with zipfile.ZipFile(Path(path)) as archive:
            present = set(archive.namelist())
            headers = {k: _header(archive, k + ".npy") for k in names if k + ".npy" in present}
            arrays = {k: _small(archive, k + ".npy") for k in small if k + ".npy" in present}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile):
        return None
    return headers, arrays


def _header(archive: zipfile.ZipFile, name: str) -> tuple[int, int]:
    import math

    import numpy as np

    with archive.open(name) as member:
        version = np.lib.format.read_magic(member)
        read = (
            np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read(member)
    return math.prod(shape), 0 if dtype.hasobject else dtype.itemsize


def _small(archive: zipfile.ZipFile, name: str) -> Any:
    import io

    import numpy as np

    with archive.open(name) as member:
        content = member.read(SMALL_BYTES)
    if len(content) >= SMALL_BYTES:
        return None
    try:
        return np.lib.format.read_array(io.BytesIO(content), allow_pickle=False)
    except (ValueError, OSError, EOFError):
        return None
