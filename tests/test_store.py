"""The model directory: round trip, safe files only, errors, check_output, atomic save."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from item2vec.errors import ModelError, OutputExistsError
from item2vec.model import store
from item2vec.model.embeddings import Embeddings
from item2vec.model.store import check_output, load, save
from item2vec.query.neighbours import similar
from tests.conftest import TINY_COUNTS, TINY_NAMES, TINY_VECTORS, tiny_embeddings


def assert_same(loaded: Embeddings, original: Embeddings) -> None:
    assert loaded.ids == original.ids
    assert loaded.vectors.dtype == np.float32
    assert np.array_equal(loaded.vectors, original.vectors)
    assert loaded.counts.dtype == np.int64
    assert loaded.counts.tolist() == original.counts.tolist()
    assert loaded.names == original.names
    assert loaded.dropped == original.dropped


# round trip ----------------------------------------------------------------------------------------


def test_round_trip(tiny_model: Path) -> None:
    loaded = load(tiny_model)
    assert loaded.ids == list(TINY_VECTORS)
    assert loaded.vectors.tolist() == np.array(list(TINY_VECTORS.values()), dtype=np.float32).tolist()
    assert loaded.counts.tolist() == TINY_COUNTS
    assert loaded.names == TINY_NAMES
    assert loaded.dropped == {"duke": 3}
    meta = dict(loaded.meta)
    assert len(meta.pop("model_id")) == 32  # the model's identity and its parts' fingerprints
    assert sorted(meta.pop("parts")) == [
        "dropped.tsv", "items.tsv", "syn1neg.npy", "transitions.npz", "vectors.npy", "vocab.tsv"
    ]  # fmt: skip
    assert meta == {
        "params": {"min_count": 5, "dim": 4},
        "engine": "hand-built",
        "scoring": {"hybrid_weight": 2.0, "hybrid_base": "similar"},
        "format_version": 1,
        "items": 8,
        "dim": 4,
    }
    assert_same(loaded, tiny_embeddings())


def test_vectors_are_memory_mapped(tiny_model: Path) -> None:
    assert isinstance(load(tiny_model).vectors, np.memmap)
    eager = load(tiny_model, mmap=False)
    assert not isinstance(eager.vectors, np.memmap)
    assert np.array_equal(eager.vectors, tiny_embeddings().vectors)


def test_loaded_model_answers_like_the_original(tiny_model: Path) -> None:
    assert similar(load(tiny_model), ["king"], k=3) == similar(tiny_embeddings(), ["king"], k=3)


def test_round_trip_awkward_ids_and_names(tmp_path: Path) -> None:
    ids = ["00123", "85123A", 'say "hi"', "tab\there", "new\nline", " spaced ", "ünï", "sku-9"]
    original = Embeddings(
        ids=ids,
        vectors=np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32),
        counts=np.arange(8, 0, -1, dtype=np.int64),
        names={"00123": 'Mug, "large"\tblue', "sku-9": "line\nbreak"},
        dropped={"rare one": 2, "x\ty": 1},
    )
    save(original, tmp_path / "m")
    assert_same(load(tmp_path / "m"), original)


@pytest.mark.parametrize("cr", ["a\rb", "\r", "end\r", "crlf\r\ninside", '"\r"'])
def test_round_trip_carriage_returns(tmp_path: Path, cr: str) -> None:
    ids = ["plain", cr, "tab\there", "new\nline"]
    original = Embeddings(
        ids=ids,
        vectors=np.eye(4, dtype=np.float32),
        counts=np.array([4, 3, 2, 1], dtype=np.int64),
        names={cr: f"name {cr}", "plain": "carriage\rreturn"},
        dropped={cr + "x": 1},
    )
    save(original, tmp_path / "m", tables={"extra": (("id", "value"), [(cr, "a\rb")])})
    assert_same(load(tmp_path / "m"), original)
    assert store.read_tsv(tmp_path / "m" / "extra.tsv") == [[cr, "a\rb"]]


def test_vocab_with_line_breaks_is_read_back_by_other_tools(tmp_path: Path) -> None:
    import pandas as pd

    ids = ["a\rb", "c\nd", "e\tf", 'g"h', "plain"]
    save(Embeddings(ids=ids, vectors=np.eye(5, dtype=np.float32), counts=np.arange(5, 0, -1)), tmp_path / "m")
    frame = pd.read_csv(tmp_path / "m" / "vocab.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert frame["id"].tolist() == ids


def test_round_trip_without_names_or_dropped(tmp_path: Path) -> None:
    original = tiny_embeddings(names=False)
    original.dropped = {}
    save(original, tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "vectors.npy", "vocab.tsv"]
    assert_same(load(tmp_path / "m"), original)


def test_file_contents(tiny_model: Path) -> None:
    vocab = (tiny_model / "vocab.tsv").read_text(encoding="utf-8")
    assert vocab == "id\tcount\n" + "".join(f"{i}\t{c}\n" for i, c in zip(TINY_VECTORS, TINY_COUNTS))
    items = (tiny_model / "items.tsv").read_text(encoding="utf-8")
    assert items == "id\tname\napple\tRed Apple\nking\tKing\npear\tGreen Pear\nplum\tPlum (dark)\n"
    assert (tiny_model / "dropped.tsv").read_text(encoding="utf-8") == "id\tcount\nduke\t3\n"


def test_only_safe_files(tmp_path: Path) -> None:
    extra = {"syn1neg": np.ones((8, 4), dtype=np.float64)}
    save(tiny_embeddings(), tmp_path / "m", extra=extra)
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert files == ["dropped.tsv", "items.tsv", "model.json", "syn1neg.npy", "vectors.npy", "vocab.tsv"]
    assert all(p.is_file() and p.suffix in {".npy", ".tsv", ".json"} for p in (tmp_path / "m").iterdir())
    for npy in (tmp_path / "m").glob("*.npy"):
        array = np.load(npy, allow_pickle=False)
        assert array.dtype == np.float32
    assert np.array_equal(np.load(tmp_path / "m" / "syn1neg.npy", allow_pickle=False), np.ones((8, 4)))
    json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))


def test_save_creates_parent_directories(tmp_path: Path) -> None:
    save(tiny_embeddings(), tmp_path / "a" / "b" / "m")
    assert load(tmp_path / "a" / "b" / "m").ids == list(TINY_VECTORS)


# load errors ---------------------------------------------------------------------------------------


def test_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "nope"
    with pytest.raises(ModelError) as info:
        load(path)
    assert str(info.value) == f"model directory {str(path)!r} does not exist: train one with 'item2vec train'"


def test_directory_without_model_json(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as info:
        load(tmp_path)
    assert str(info.value) == f"{str(tmp_path)!r} is not an item2vec model directory (no model.json)"


def test_file_instead_of_directory(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(ModelError, match="is not an item2vec model directory"):
        load(path)


def test_model_json_not_json(tiny_model: Path) -> None:
    (tiny_model / "model.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError) as info:
        load(tiny_model)
    assert str(info.value).startswith(f"model {str(tiny_model)!r} is corrupt: model.json is not valid JSON (")


def test_model_json_not_an_object(tiny_model: Path) -> None:
    (tiny_model / "model.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ModelError) as info:
        load(tiny_model)
    assert str(info.value) == f"model {str(tiny_model)!r} is corrupt: model.json is not a JSON object"


@pytest.mark.parametrize(("version", "shown"), [(2, "2"), (None, "None"), ("1", "'1'")])
def test_other_format_version(tiny_model: Path, version: object, shown: str) -> None:
    meta = json.loads((tiny_model / "model.json").read_text(encoding="utf-8"))
    meta["format_version"] = version
    (tiny_model / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError) as info:
        load(tiny_model)
    assert str(info.value) == (
        f"model {str(tiny_model)!r} has format version {shown}; this item2vec reads version 1: "
        "retrain the model or use a matching item2vec"
    )


@pytest.mark.parametrize("name", ["vectors.npy", "vocab.tsv"])
def test_required_file_missing(tiny_model: Path, name: str) -> None:
    (tiny_model / name).unlink()
    with pytest.raises(ModelError) as info:
        load(tiny_model)
    assert str(info.value) == f"model {str(tiny_model)!r} is incomplete: {name} is missing; retrain it"


def test_vector_rows_differ_from_vocab(tiny_model: Path) -> None:
    np.save(tiny_model / "vectors.npy", np.zeros((7, 4), dtype=np.float32))
    with pytest.raises(ModelError) as info:
        load(tiny_model)
    assert str(info.value) == (
        f"model {str(tiny_model)!r} is corrupt: vectors.npy is float32 (7, 4) "
        "but vocab.tsv lists 8 items; retrain it"
    )


@pytest.mark.parametrize(
    ("array", "shown"),
    [(np.zeros((8, 4), dtype=np.float64), "float64 (8, 4)"), (np.zeros(8, dtype=np.float32), "float32 (8,)")],
)
def test_vectors_of_wrong_dtype_or_shape(tiny_model: Path, array: np.ndarray, shown: str) -> None:
    np.save(tiny_model / "vectors.npy", array)
    with pytest.raises(ModelError) as info:
        load(tiny_model)
    assert f"vectors.npy is {shown} but vocab.tsv lists 8 items" in str(info.value)


def test_vectors_not_npy(tiny_model: Path) -> None:
    (tiny_model / "vectors.npy").write_bytes(b"not a numpy file")
    with pytest.raises(ModelError, match=r"is corrupt \(.*\); retrain it"):
        load(tiny_model)


def test_vocab_with_bad_count(tiny_model: Path) -> None:
    (tiny_model / "vocab.tsv").write_text("id\tcount\nking\tmany\n", encoding="utf-8")
    with pytest.raises(ModelError, match=r"is corrupt \(.*'many'.*\); retrain it"):
        load(tiny_model)


class _Trap:
    """Unpickling this runs os.mkdir(marker): proof that a loader unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.marker),))


@pytest.mark.parametrize("mmap", [True, False])
def test_pickled_vectors_are_refused_without_unpickling(tiny_model: Path, tmp_path: Path, mmap: bool) -> None:
    marker = tmp_path / "unpickled"
    trap = np.empty((8, 4), dtype=object)
    trap[:] = _Trap(marker)
    np.save(tiny_model / "vectors.npy", trap, allow_pickle=True)
    with pytest.raises(ModelError, match="is corrupt"):
        load(tiny_model, mmap=mmap)
    assert not marker.exists()
    # the trap is real: a pickle-allowing load does run it
    np.load(tiny_model / "vectors.npy", allow_pickle=True)
    assert marker.is_dir()


# check_output --------------------------------------------------------------------------------------


def test_check_output_missing_or_empty_is_fine(tmp_path: Path) -> None:
    check_output(tmp_path / "new", force=False)
    (tmp_path / "empty").mkdir()
    check_output(tmp_path / "empty", force=False)
    save(tiny_embeddings(), tmp_path / "empty")
    assert load(tmp_path / "empty").ids == list(TINY_VECTORS)


def test_existing_model_refused_without_force(tiny_model: Path) -> None:
    with pytest.raises(OutputExistsError) as info:
        save(tiny_embeddings(names=False), tiny_model)
    assert str(info.value) == f"model directory {str(tiny_model)!r} already exists: use --force to replace it"
    assert load(tiny_model).names == TINY_NAMES


def test_existing_model_replaced_with_force(tiny_model: Path) -> None:
    replacement = tiny_embeddings(names=False)
    replacement.vectors = replacement.vectors * 2
    save(replacement, tiny_model, force=True)
    loaded = load(tiny_model)
    assert loaded.names == {}
    assert not (tiny_model / "items.tsv").exists()
    assert np.array_equal(loaded.vectors, replacement.vectors)
    assert sorted(p.name for p in tiny_model.parent.iterdir()) == ["tiny"]


@pytest.mark.parametrize("force", [False, True])
def test_non_model_directory_refused(tmp_path: Path, force: bool) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("precious", encoding="utf-8")
    with pytest.raises(OutputExistsError) as info:
        save(tiny_embeddings(), tmp_path / "out", force=force)
    assert str(info.value) == (
        f"output {str(tmp_path / 'out')!r} is a directory with other files, not an item2vec model: "
        "choose another path (--force only replaces a model)"
    )
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("force", [False, True])
def test_file_refused(tmp_path: Path, force: bool) -> None:
    (tmp_path / "out").write_text("precious", encoding="utf-8")
    with pytest.raises(OutputExistsError) as info:
        save(tiny_embeddings(), tmp_path / "out", force=force)
    assert str(info.value) == (
        f"output {str(tmp_path / 'out')!r} is a file, not an item2vec model: "
        "choose another path (--force only replaces a model)"
    )
    assert (tmp_path / "out").read_text(encoding="utf-8") == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_force_refuses_a_model_directory_holding_other_files(tiny_model: Path) -> None:
    (tiny_model / "NOTES.md").write_text("my notes", encoding="utf-8")
    (tiny_model / "plots").mkdir()
    (tiny_model / "plots" / "map.png").write_bytes(b"png")
    before = sorted(p.name for p in tiny_model.iterdir())
    with pytest.raises(OutputExistsError) as info:
        save(tiny_embeddings(names=False), tiny_model, force=True)
    assert str(info.value) == (
        f"model directory {str(tiny_model)!r} also holds files item2vec did not write (NOTES.md, plots/): "
        "move them out or choose another output (--force replaces only a model's own files)"
    )
    assert sorted(p.name for p in tiny_model.iterdir()) == before
    assert (tiny_model / "plots" / "map.png").read_bytes() == b"png"
    assert load(tiny_model).names == TINY_NAMES


def test_foreign_files_are_listed_up_to_five(tiny_model: Path) -> None:
    for n in range(7):
        (tiny_model / f"note{n}.txt").write_text("x", encoding="utf-8")
    with pytest.raises(
        OutputExistsError, match=r"\(note0.txt, note1.txt, note2.txt, note3.txt, note4.txt and 2 more\)"
    ):
        check_output(tiny_model, force=True)


def test_force_replaces_every_file_item2vec_writes(tmp_path: Path) -> None:
    path = tmp_path / "m"
    save(tiny_embeddings(), path, extra={"syn1neg": np.ones((8, 4), dtype=np.float32)})
    for name in sorted(store.MODEL_FILES - {p.name for p in path.iterdir()}):
        (path / name).write_bytes(b"from an earlier version of this model")
    save(tiny_embeddings(names=False), path, force=True)
    assert sorted(p.name for p in path.iterdir()) == ["dropped.tsv", "model.json", "vectors.npy", "vocab.tsv"]


def test_save_without_force_refuses_a_model_made_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs with the same -o: the one that finishes second fails instead of replacing the first."""
    path = tmp_path / "m"
    real = store._write_tsv
    other = tiny_embeddings(names=False)
    other.ids = [f"other-{i}" for i in other.ids]

    def other_run_finishes_first(*args: object) -> None:
        if not path.exists():
            monkeypatch.setattr(store, "_write_tsv", real)
            save(other, path)  # between our check and our rename
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_write_tsv", other_run_finishes_first)
    with pytest.raises(OutputExistsError) as info:
        save(tiny_embeddings(), path)
    assert str(info.value) == f"model directory {str(path)!r} already exists: use --force to replace it"
    assert load(path).ids == other.ids
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_save_into_an_empty_directory_made_meanwhile_is_fine(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    save(tiny_embeddings(), tmp_path / "m")
    assert load(tmp_path / "m").ids == list(TINY_VECTORS)


def test_full_disk_during_save_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from item2vec.errors import OutputError

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    with pytest.raises(OutputError) as info:
        save(tiny_embeddings(), tmp_path / "m")
    assert str(info.value) == (
        f"no space left on the device writing {str(tmp_path / 'm')!r}: free some space or choose another "
        "output path (nothing was written)"
    )
    assert list(tmp_path.iterdir()) == []


def test_check_output_probes_that_the_parent_is_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from item2vec.errors import OutputError

    def read_only(**_kwargs: object) -> str:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    with pytest.raises(OutputError, match=r"cannot write '.*/m' \(read-only file system\)"):
        check_output(tmp_path / "m", force=False)


# atomic save ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_interrupted_save_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    def fail(*args: object) -> None:
        raise error

    monkeypatch.setattr(store, "_write_tsv", fail)
    with pytest.raises(type(error)):
        save(tiny_embeddings(), tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_interrupted_save_keeps_previous_model(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    before = {p.name: p.read_bytes() for p in tiny_model.iterdir()}
    calls = []

    def fail_late(*args: object) -> None:
        calls.append(args)
        if len(calls) == 2:  # vocab.tsv written, items.tsv not
            raise error

    monkeypatch.setattr(store, "_write_tsv", fail_late)
    replacement = tiny_embeddings()
    replacement.vectors = replacement.vectors * 3
    with pytest.raises(type(error)):
        save(replacement, tiny_model, force=True)
    assert sorted(p.name for p in tiny_model.parent.iterdir()) == ["tiny"]
    assert {p.name: p.read_bytes() for p in tiny_model.iterdir()} == before
    assert_same(load(tiny_model), tiny_embeddings())


def test_interrupted_meta_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "replace_dir", fail)
    with pytest.raises(KeyboardInterrupt):
        save(tiny_embeddings(), tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


def test_saved_model_is_readable_by_others(tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)
    try:
        save(tiny_embeddings(), tmp_path / "m")
    finally:
        os.umask(old)
    assert (tmp_path / "m").stat().st_mode & 0o777 == 0o755
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in (tmp_path / "m").iterdir())
