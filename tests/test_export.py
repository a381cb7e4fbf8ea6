"""Exports: every format round-trips; outputs are replaced only with force and never half-written."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest

from item2vec.api.errors import python_terms
from item2vec.errors import InputError, OutputExistsError
from item2vec.export import formats as export_module
from item2vec.export.formats import EXPORT_FORMATS, export
from item2vec.model.embeddings import Embeddings
from tests.conftest import TINY_COUNTS, TINY_VECTORS, tiny_embeddings

NO_FAISS = pytest.mark.skipif(importlib.util.find_spec("faiss") is None, reason="faiss is not installed")
# Every format; faiss only where it is installed (the ann extra).
ALL_FORMATS = [pytest.param(f, marks=NO_FAISS) if f == "faiss" else f for f in EXPORT_FORMATS]


def random_embeddings(n: int = 50, dim: int = 7) -> Embeddings:
    """Awkward float32 values (tiny, huge, negative) and counts not in row order."""
    rng = np.random.default_rng(7)
    vectors = (rng.standard_normal((n, dim)) * 10.0 ** rng.integers(-8, 8, (n, dim))).astype(np.float32)
    return Embeddings(
        ids=[f"sku-{i:03d}" if i % 3 else f"ïtem_{i}" for i in range(n)],
        vectors=vectors,
        counts=rng.integers(1, 1000, n).astype(np.int64),
        names={"sku-001": 'First, "quoted"', "ïtem_3": "tab\there  and\nnewline"},
    )


def output_for(fmt: str, tmp_path: Path) -> Path:
    names = {
        "projector": "proj",
        "npy": "vectors.npy",
        "parquet": "vectors.parquet",
        "jsonl": "v.jsonl",
        "faiss": "v.faiss",
    }
    return tmp_path / names.get(fmt, "v.txt")


# round trips ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["word2vec", "word2vec-binary"])
@pytest.mark.parametrize("make", [tiny_embeddings, random_embeddings])
def test_word2vec_round_trip_through_gensim(tmp_path: Path, fmt: str, make: object) -> None:
    from gensim.models import KeyedVectors

    embeddings = make()  # type: ignore[operator]
    path = tmp_path / "vectors.w2v"
    assert export(embeddings, fmt, path) == [path, tmp_path / "vectors.w2v.vocab"]
    kv = KeyedVectors.load_word2vec_format(str(path), binary=fmt == "word2vec-binary")
    # gensim writes the most frequent first (stable for ties), as the C tools do
    order = sorted(range(len(embeddings)), key=lambda r: -int(embeddings.counts[r]))
    assert kv.index_to_key == [embeddings.ids[r] for r in order]
    assert kv.vectors.dtype == np.float32
    assert np.array_equal(kv.vectors, np.asarray(embeddings.vectors)[order])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vectors.w2v", "vectors.w2v.vocab"]


def test_word2vec_text_is_exact_and_in_vocab_order(tmp_path: Path) -> None:
    export(tiny_embeddings(), "word2vec", tmp_path / "v.txt")
    lines = (tmp_path / "v.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "8 4"
    assert lines[1] == "king 1.0 0.0 1.0 0.0"
    assert lines[5] == "prince 1.0 0.0 0.6 0.2"
    assert [line.split(" ")[0] for line in lines[1:]] == list(TINY_VECTORS)


@pytest.mark.parametrize("output", ["vectors.npy", "vectors"])
def test_npy_round_trip(tmp_path: Path, output: str) -> None:
    embeddings = random_embeddings()
    path = tmp_path / output
    ids_path = tmp_path / "vectors.ids.txt"
    assert export(embeddings, "npy", path) == [path, ids_path]
    vectors = np.load(path, allow_pickle=False)
    assert vectors.dtype == np.float32
    assert np.array_equal(vectors, embeddings.vectors)
    assert ids_path.read_text(encoding="utf-8").split("\n") == [*embeddings.ids, ""]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([output, "vectors.ids.txt"])


@pytest.mark.parametrize("names", [True, False])
def test_parquet_round_trip(tmp_path: Path, names: bool) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    embeddings = random_embeddings()
    if not names:
        embeddings.names = {}
    path = tmp_path / "v.parquet"
    assert export(embeddings, "parquet", path, normalize=False) == [path]
    table = pq.read_table(path)
    assert table.column_names == ["id", "vector", "count", "name"][: 4 if names else 3]
    assert table.column("id").to_pylist() == embeddings.ids
    vectors = np.array(table.column("vector").to_pylist(), dtype=np.float32)
    assert np.array_equal(vectors, embeddings.vectors)
    assert table.schema.field("vector").type == pa.list_(pa.float32(), embeddings.dim)
    assert table.column("count").to_pylist() == embeddings.counts.tolist()
    if names:
        assert table.column("name").to_pylist() == [embeddings.names.get(i) for i in embeddings.ids]


def test_parquet_tiny_names(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    export(tiny_embeddings(), "parquet", tmp_path / "v.parquet")
    table = pq.read_table(tmp_path / "v.parquet")
    assert table.column("name").to_pylist() == [
        "King",
        None,
        None,
        None,
        None,
        "Red Apple",
        "Green Pear",
        "Plum (dark)",
    ]
    assert table.column("count").to_pylist() == TINY_COUNTS


def test_projector_tiny_exact(tmp_path: Path) -> None:
    path = tmp_path / "proj"
    assert export(tiny_embeddings(), "projector", path) == [path]
    assert sorted(p.name for p in path.iterdir()) == ["metadata.tsv", "vectors.tsv"]
    assert (path / "vectors.tsv").read_text(encoding="utf-8") == (
        "1\t0\t1\t0\n0\t1\t1\t0\n1\t0\t0\t0\n0\t1\t0\t0\n1\t0\t0.6\t0.2\n0\t0\t0\t1\n0\t0.2\t0\t1\n0.2\t0\t0.3\t1\n"
    )
    assert (path / "metadata.tsv").read_text(encoding="utf-8") == (
        "id\tname\tcount\n"
        "king\tKing\t80\n"
        "queen\t\t70\n"
        "man\t\t60\n"
        "woman\t\t50\n"
        "prince\t\t40\n"
        "apple\tRed Apple\t30\n"
        "pear\tGreen Pear\t20\n"
        "plum\tPlum (dark)\t10\n"
    )


def test_projector_round_trip(tmp_path: Path) -> None:
    embeddings = random_embeddings()
    export(embeddings, "projector", tmp_path / "proj")
    vectors = np.loadtxt(tmp_path / "proj" / "vectors.tsv", delimiter="\t", dtype=np.float64)
    assert vectors.shape == embeddings.vectors.shape
    assert np.allclose(vectors, embeddings.vectors, rtol=1e-6, atol=0)
    rows = (tmp_path / "proj" / "metadata.tsv").read_text(encoding="utf-8").split("\n")
    assert rows[0] == "id\tname\tcount"
    assert rows[-1] == ""
    assert rows[1:-1] == [
        f"{i}\t{' '.join(embeddings.names.get(i, '').split())}\t{c}"
        for i, c in zip(embeddings.ids, embeddings.counts)
    ]
    assert rows[2] == 'sku-001\tFirst, "quoted"\t' + str(embeddings.counts[1])
    assert rows[4] == "ïtem_3\ttab here and newline\t" + str(embeddings.counts[3])


def test_projector_without_names(tmp_path: Path) -> None:
    export(tiny_embeddings(names=False), "projector", tmp_path / "proj")
    metadata = (tmp_path / "proj" / "metadata.tsv").read_text(encoding="utf-8")
    assert metadata == "id\tcount\n" + "".join(f"{i}\t{c}\n" for i, c in zip(TINY_VECTORS, TINY_COUNTS))


def test_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        export(tiny_embeddings(), "glove", tmp_path / "v")
    assert str(info.value) == (
        "export format 'glove' is unknown: use one of word2vec, word2vec-binary, npy, parquet, jsonl, faiss, "
        "projector, torch, safetensors"
    )
    assert (info.value.param, info.value.value) == ("format", "glove")
    assert list(tmp_path.iterdir()) == []


# existing output -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_existing_output_refused_then_replaced_with_force(tmp_path: Path, fmt: str) -> None:
    path = output_for(fmt, tmp_path)
    export(tiny_embeddings(), fmt, path)
    before = {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}
    with pytest.raises(OutputExistsError) as info:
        export(random_embeddings(), fmt, path)
    assert str(info.value) == f"{str(path)!r} already exists: use --force to overwrite it"
    assert (info.value.param, info.value.value, info.value.fix) == ("output", str(path), "overwrite it")
    assert python_terms(info.value.raw) == f"{str(path)!r} already exists: use force=True to overwrite it"
    assert {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()} == before

    written = export(random_embeddings(), fmt, path, force=True)
    after = {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}
    assert sorted(after) == sorted(before)
    assert all(after[p] != before[p] for p in after)
    assert all(p.exists() for p in written)


def test_npy_refused_when_only_ids_file_exists(tmp_path: Path) -> None:
    (tmp_path / "v.ids.txt").write_text("keep\n", encoding="utf-8")
    with pytest.raises(OutputExistsError, match=r"v\.ids\.txt' already exists"):
        export(tiny_embeddings(), "npy", tmp_path / "v.npy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.ids.txt"]


def test_projector_refuses_other_directory_even_with_force(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "keep.txt").write_text("precious", encoding="utf-8")
    with pytest.raises(OutputExistsError) as info:
        export(tiny_embeddings(), "projector", tmp_path / "proj", force=True)
    assert (
        str(info.value) == f"{str(tmp_path / 'proj')!r} is a directory with other files: choose another path"
    )
    assert [p.name for p in (tmp_path / "proj").iterdir()] == ["keep.txt"]


def test_projector_force_keeps_files_it_did_not_write(tmp_path: Path) -> None:
    export(tiny_embeddings(), "projector", tmp_path / "proj")
    (tmp_path / "proj" / "projector_config.json").write_text("{}", encoding="utf-8")
    (tmp_path / "proj" / "notes").mkdir()
    before = sorted(p.name for p in (tmp_path / "proj").iterdir())
    with pytest.raises(OutputExistsError) as info:
        export(random_embeddings(), "projector", tmp_path / "proj", force=True)
    assert str(info.value) == (
        f"{str(tmp_path / 'proj')!r} also holds files the projector export did not write "
        "(notes/, projector_config.json): move them out or choose another path "
        "(--force replaces only vectors.tsv and metadata.tsv)"
    )
    assert sorted(p.name for p in (tmp_path / "proj").iterdir()) == before


# bad ids and failures ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["word2vec", "word2vec-binary"])
@pytest.mark.parametrize(
    ("bad", "why", "fix"),
    [
        ("red apple", "it contains whitespace", "parquet or npy"),
        ("tab\tid", "it contains whitespace", "parquet or npy"),
        ("line\nid", "it contains a line break", "parquet"),
        ("cr\rid", "it contains a line break", "parquet"),
        ("", "it is empty", "parquet"),
    ],
)
def test_word2vec_refuses_ids_with_whitespace(tmp_path: Path, fmt: str, bad: str, why: str, fix: str) -> None:
    embeddings = tiny_embeddings()
    embeddings.ids = [*embeddings.ids[:-1], bad]
    with pytest.raises(InputError) as info:
        export(embeddings, fmt, tmp_path / "v.txt")
    assert (
        str(info.value) == f"item id {bad!r} cannot be written to a word2vec file ({why}): use --format {fix}"
    )
    assert (info.value.param, info.value.expected) == ("format", fix)
    assert list(tmp_path.iterdir()) == []


def test_npy_refuses_ids_with_newlines(tmp_path: Path) -> None:
    embeddings = tiny_embeddings()
    embeddings.ids = [*embeddings.ids[:-1], "line\nid"]
    with pytest.raises(InputError, match="cannot be written to a npy ids file"):
        export(embeddings, "npy", tmp_path / "v.npy")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("fmt", "what"), [("npy", "npy ids file"), ("projector", "projector metadata file")])
@pytest.mark.parametrize("bad", ["cr\rid", "line\nid"])
def test_line_breaks_in_ids_are_refused_naming_parquet(tmp_path: Path, fmt: str, what: str, bad: str) -> None:
    embeddings = tiny_embeddings()
    embeddings.ids = [*embeddings.ids[:-1], bad]
    with pytest.raises(InputError) as info:
        export(embeddings, fmt, output_for(fmt, tmp_path))
    assert str(info.value) == (
        f"item id {bad!r} cannot be written to a {what} (it contains a line break): use --format parquet"
    )
    assert list(tmp_path.iterdir()) == []


def test_npy_and_parquet_keep_ids_with_spaces(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    embeddings = tiny_embeddings()
    embeddings.ids = [*embeddings.ids[:-1], "red plum"]
    export(embeddings, "npy", tmp_path / "v.npy")
    assert (tmp_path / "v.ids.txt").read_text(encoding="utf-8").splitlines()[-1] == "red plum"
    export(embeddings, "parquet", tmp_path / "v.parquet")
    assert pq.read_table(tmp_path / "v.parquet").column("id").to_pylist()[-1] == "red plum"


def test_projector_refuses_ids_with_tabs(tmp_path: Path) -> None:
    embeddings = tiny_embeddings()
    embeddings.ids = [*embeddings.ids[:-1], "tab\tid"]
    with pytest.raises(InputError, match="cannot be written to a projector metadata file"):
        export(embeddings, "projector", tmp_path / "proj")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ALL_FORMATS)
@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failure_leaves_nothing_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, error: BaseException
) -> None:
    def half(embeddings: Embeddings, path: Path, **kwargs: object) -> None:
        target = path / "vectors.tsv" if path.is_dir() else path
        target.write_text("half", encoding="utf-8")
        raise error

    name = {"word2vec": "_word2vec", "word2vec-binary": "_word2vec", "npy": "_npy_vectors"}
    monkeypatch.setattr(export_module, name.get(fmt, f"_{fmt}"), half)
    with pytest.raises(type(error)):
        export(tiny_embeddings(), fmt, output_for(fmt, tmp_path))
    assert list(tmp_path.iterdir()) == []  # npy too: no lone ids file


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_failure_with_force_keeps_previous_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    path = output_for(fmt, tmp_path)
    export(tiny_embeddings(), fmt, path)
    before = {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}

    def half(embeddings: Embeddings, path: Path, **kwargs: object) -> None:
        target = path / "vectors.tsv" if path.is_dir() else path
        target.write_text("half", encoding="utf-8")
        raise KeyboardInterrupt

    name = {"word2vec": "_word2vec", "word2vec-binary": "_word2vec", "npy": "_npy_vectors"}
    monkeypatch.setattr(export_module, name.get(fmt, f"_{fmt}"), half)
    with pytest.raises(KeyboardInterrupt):
        export(tiny_embeddings(), fmt, path, force=True)
    assert {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()} == before
    assert sorted(tmp_path.rglob("*")) == sorted([*before, *([path] if fmt == "projector" else [])])


@pytest.mark.parametrize("failing", ["_npy_vectors", "_ids_file"])
def test_npy_pair_is_replaced_together_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    export(tiny_embeddings(), "npy", tmp_path / "v.npy")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(export_module, failing, interrupted)
    with pytest.raises(KeyboardInterrupt):
        export(random_embeddings(200), "npy", tmp_path / "v.npy", force=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_npy_pair_interrupted_while_renaming_keeps_the_old_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    export(tiny_embeddings(), "npy", tmp_path / "v.npy")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real = os.replace
    calls: list[object] = []

    def replace(src: object, dst: object) -> None:
        calls.append(dst)
        if len(calls) == 4:  # the second file's rename into place
            raise KeyboardInterrupt
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        export(random_embeddings(200), "npy", tmp_path / "v.npy", force=True)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    loaded = np.load(tmp_path / "v.npy")
    assert len(loaded) == len((tmp_path / "v.ids.txt").read_text(encoding="utf-8").splitlines()) == 8


def test_export_without_force_never_replaces_an_output_made_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = export_module._npy_vectors

    def other_run_first(embeddings: Embeddings, path: Path) -> None:
        (tmp_path / "v.ids.txt").write_text("theirs\n", encoding="utf-8")
        real(embeddings, path)

    monkeypatch.setattr(export_module, "_npy_vectors", other_run_first)
    with pytest.raises(OutputExistsError, match=r"v\.ids\.txt' already exists: use --force"):
        export(tiny_embeddings(), "npy", tmp_path / "v.npy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.ids.txt"]
    assert (tmp_path / "v.ids.txt").read_text(encoding="utf-8") == "theirs\n"


def test_full_disk_during_export_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from item2vec.errors import OutputError

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_module, "_parquet", full)
    with pytest.raises(OutputError, match=r"no space left on the device writing .*v\.parquet"):
        export(tiny_embeddings(), "parquet", tmp_path / "v.parquet")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["word2vec", "npy", "parquet"])
def test_file_export_onto_a_directory_is_refused(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / "dir"
    target.mkdir()
    with pytest.raises(OutputExistsError, match="is a directory: give a file name"):
        export(tiny_embeddings(), fmt, target, force=True)


def test_projector_onto_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(OutputExistsError, match="is a file: give a directory name"):
        export(tiny_embeddings(), "projector", target, force=True)
    assert target.read_text() == "x"


def test_exports_get_ordinary_permissions(tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)
    try:
        written = export(tiny_embeddings(), "word2vec", tmp_path / "v.txt")
    finally:
        os.umask(old)
    assert written[0].stat().st_mode & 0o777 == 0o644


# --ids order and the model's own files (issue 22, item 17) ------------------------------------------


@pytest.mark.parametrize("fmt", ["word2vec", "word2vec-binary"])
def test_word2vec_keeps_the_order_of_the_ids_given(tmp_path: Path, fmt: str) -> None:
    from gensim.models import KeyedVectors

    # Before, the rows were sorted by count again: the order asked for was lost.
    ids = ["pear", "king", "apple"]
    export(tiny_embeddings(), fmt, tmp_path / "v.w2v", items=ids)
    kv = KeyedVectors.load_word2vec_format(str(tmp_path / "v.w2v"), binary=fmt == "word2vec-binary")
    assert kv.index_to_key == ids
    stream = io.BytesIO()
    export_module.export_stream(tiny_embeddings(), "word2vec", stream, items=ids)
    assert [line.split()[0] for line in stream.getvalue().decode().splitlines()[1:]] == ids


@pytest.mark.parametrize(
    ("fmt", "name"), [("npy", "vectors.npy"), ("word2vec", "vocab.tsv"), ("parquet", "x.parquet")]
)
def test_an_export_never_writes_into_its_model(tmp_path: Path, fmt: str, name: str) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "vectors.npy").write_bytes(b"model vectors")
    (model / "vocab.tsv").write_text("model vocab\n")
    before = {p.name: p.read_bytes() for p in model.iterdir()}
    with pytest.raises(OutputExistsError) as info:
        export(tiny_embeddings(), fmt, model / name, force=True, model_dir=model)
    assert (info.value.param, info.value.value) == ("output", str(model / name))
    assert str(info.value) == (
        f"{str(model / name)!r} is inside the model directory {str(model)!r}: an export never replaces "
        "the model's files; write it elsewhere"
    )
    assert {p.name: p.read_bytes() for p in model.iterdir()} == before
    with pytest.raises(OutputExistsError, match="is inside the model directory"):
        export(tiny_embeddings(), "projector", model, force=True, model_dir=model)
