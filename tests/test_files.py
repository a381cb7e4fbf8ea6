"""Atomic writers: sets of files replaced together or not at all, no-replace renames, write errors."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from item2vec import files
from item2vec.errors import OutputError, OutputExistsError
from item2vec.files import atomic_dir, atomic_file, atomic_files, check_writable, replace_dir


def writer(text: str) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return write


def contents(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.iterdir())}


def old_pair(tmp_path: Path) -> dict[Path, Callable[[Path], None]]:
    atomic_files({tmp_path / "a": writer("old a"), tmp_path / "b": writer("old b")})
    return {tmp_path / "a": writer("new a"), tmp_path / "b": writer("new b")}


def test_all_files_written_and_replaced(tmp_path: Path) -> None:
    new = old_pair(tmp_path)
    assert contents(tmp_path) == {"a": "old a", "b": "old b"}
    atomic_files(new)
    assert contents(tmp_path) == {"a": "new a", "b": "new b"}


@pytest.mark.parametrize("error", [OSError("broken"), KeyboardInterrupt()])
def test_a_failed_writer_changes_nothing(tmp_path: Path, error: BaseException) -> None:
    new = old_pair(tmp_path)

    def half(tmp: Path) -> None:
        tmp.write_text("half", encoding="utf-8")
        raise error

    with pytest.raises(type(error)):
        atomic_files({**new, tmp_path / "b": half})
    assert contents(tmp_path) == {"a": "old a", "b": "old b"}
    with pytest.raises(type(error)):
        atomic_files({tmp_path / "c": writer("c"), tmp_path / "d": half})
    assert contents(tmp_path) == {"a": "old a", "b": "old b"}


@pytest.mark.parametrize("failing_call", [1, 2, 3, 4])
def test_interrupted_renames_put_the_old_files_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_call: int
) -> None:
    new = old_pair(tmp_path)
    real = os.replace
    calls = []

    def replace(src: object, dst: object) -> None:
        calls.append(dst)
        if len(calls) == failing_call:
            raise KeyboardInterrupt
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        atomic_files(new)
    assert contents(tmp_path) == {"a": "old a", "b": "old b"}


def test_without_replace_a_target_that_appeared_meanwhile_is_kept(tmp_path: Path) -> None:
    def other_run_wins(tmp: Path) -> None:
        tmp.write_text("mine", encoding="utf-8")
        (tmp_path / "b").write_text("theirs", encoding="utf-8")

    with pytest.raises(OutputExistsError) as info:
        atomic_files({tmp_path / "a": writer("mine"), tmp_path / "b": other_run_wins}, replace=False)
    assert str(info.value) == f"{str(tmp_path / 'b')!r} already exists: use --force to overwrite it"
    assert (info.value.param, info.value.value, info.value.fix) == (
        "output",
        str(tmp_path / "b"),
        "overwrite it",
    )
    assert contents(tmp_path) == {"b": "theirs"}


def test_without_hard_links_the_no_replace_check_still_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(*_args: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    atomic_file(tmp_path / "a", writer("one"), replace=False)
    assert contents(tmp_path) == {"a": "one"}
    with pytest.raises(OutputExistsError):
        atomic_file(tmp_path / "a", writer("two"), replace=False)
    assert contents(tmp_path) == {"a": "one"}


def test_results_get_ordinary_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_files({tmp_path / "a": writer("a")}, replace=False)
    finally:
        os.umask(old)
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o644


# directories ---------------------------------------------------------------------------------------


def test_replace_dir_without_replace_refuses_a_directory_made_meanwhile(tmp_path: Path) -> None:
    new = tmp_path / ".new"
    new.mkdir()
    (new / "x").write_text("mine", encoding="utf-8")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("theirs", encoding="utf-8")
    with pytest.raises(OutputExistsError) as info:
        replace_dir(new, tmp_path / "out", replace=False)
    assert str(info.value) == f"{str(tmp_path / 'out')!r} already exists: use --force to replace it"
    assert (info.value.param, info.value.fix) == ("output", "replace it")
    assert contents(tmp_path / "out") == {"x": "theirs"}


@pytest.mark.parametrize("after", [False, True])
def test_replace_dir_puts_the_old_directory_back_when_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after: bool
) -> None:
    atomic_dir(tmp_path / "out", lambda d: (d / "x").write_text("old", encoding="utf-8"))
    real = os.rename

    def rename(src: object, dst: object) -> None:
        if Path(str(dst)) == tmp_path / "out" and ".tmp-" in str(src):
            if after:  # Ctrl-C just after the new directory went into place
                real(src, dst)  # type: ignore[arg-type]
            raise KeyboardInterrupt
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        atomic_dir(tmp_path / "out", lambda d: (d / "x").write_text("new", encoding="utf-8"))
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert contents(tmp_path / "out") == {"x": "old"}


# write errors --------------------------------------------------------------------------------------


def test_a_full_disk_is_one_error_naming_the_path(tmp_path: Path) -> None:
    atomic_file(tmp_path / "a", writer("old"))

    def full(tmp: Path) -> None:
        tmp.write_text("half", encoding="utf-8")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError) as info:
        atomic_files({tmp_path / "b": writer("b"), tmp_path / "a": full})
    assert str(info.value) == (
        f"no space left on the device writing {str(tmp_path / 'a')!r}: free some space or choose "
        "another output path (nothing was written)"
    )
    assert contents(tmp_path) == {"a": "old"}


def test_a_full_disk_in_a_directory_write(tmp_path: Path) -> None:
    def full(directory: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match="no space left on the device writing"):
        atomic_dir(tmp_path / "out", full)
    assert list(tmp_path.iterdir()) == []


def test_other_os_errors_keep_their_type(tmp_path: Path) -> None:
    def broken(tmp: Path) -> None:
        raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(OSError) as info:
        atomic_file(tmp_path / "a", broken)
    assert not isinstance(info.value, OutputError)


@pytest.mark.parametrize(
    ("code", "reason"), [(errno.EACCES, "permission denied"), (errno.EROFS, "read-only file system")]
)
def test_check_writable_refuses_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, reason: str
) -> None:
    def refused(**_kwargs: object) -> str:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(files.tempfile, "mkdtemp", refused)
    with pytest.raises(OutputError) as info:
        check_writable(tmp_path / "new" / "model")
    assert str(info.value) == (
        f"cannot write {str(tmp_path / 'new' / 'model')!r} ({reason}): choose another output path "
        "or make its directory writable"
    )


def test_check_writable_leaves_nothing_and_refuses_a_file_in_the_way(tmp_path: Path) -> None:
    check_writable(tmp_path / "a" / "b")
    check_writable(tmp_path, inside=True)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(OutputError) as info:
        check_writable(tmp_path / "file" / "model")
    assert str(info.value) == (
        f"cannot create {str(tmp_path / 'file' / 'model')!r}: {str(tmp_path / 'file')!r} is a file, "
        "not a directory"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_check_writable_on_a_real_read_only_directory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            check_writable(locked / "model")
    finally:
        locked.chmod(0o755)


def test_a_short_write_without_errno_on_a_full_disk_is_no_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """numpy's tofile says only "76800 requested and 14304 written"; the file system says why."""

    class Full:
        f_bavail = 0

    def numpy_short_write(tmp: Path) -> None:
        raise OSError("76800 requested and 14304 written")

    monkeypatch.setattr(os, "statvfs", lambda _path: Full())
    with pytest.raises(OutputError, match="no space left on the device writing"):
        atomic_file(tmp_path / "v.npy", numpy_short_write)
    monkeypatch.undo()
    with pytest.raises(OSError, match="requested and") as info:
        atomic_file(tmp_path / "v.npy", numpy_short_write)  # room left: not a full disk
    assert not isinstance(info.value, OutputError)
    assert list(tmp_path.iterdir()) == []


def test_save_array_writes_what_np_save_writes(tmp_path: Path) -> None:
    import numpy as np

    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    files.save_array(tmp_path / "a.npy", array)
    np.save(tmp_path / "b.npy", array)
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()
    assert np.array_equal(np.load(tmp_path / "a.npy", allow_pickle=False), array)
