"""Exports that vector stores take as they are, read back by their real clients.

Parquet (pyarrow, Polars, DuckDB, LanceDB), JSON Lines, Faiss (IndexIDMap2 + ids file) and the word2vec
counts file (gensim's fvocab). Each client is skipped cleanly where it is not installed
(``pip install -e '.[dev,ann]'`` installs all but LanceDB).
"""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest

from item2vec.errors import InputError, OutputExistsError
from item2vec.export.formats import export, export_stream
from item2vec.model.embeddings import Embeddings, unit_rows
from item2vec.query.neighbours import similar
from tests.conftest import TINY_COUNTS, TINY_VECTORS, tiny_embeddings

K = 5


def planted(n: int = 40, dim: int = 8) -> Embeddings:
    """Random vectors of unequal lengths (no ties among cosines), names on some items, an identity."""
    rng = np.random.default_rng(3)
    vectors = (rng.standard_normal((n, dim)) * rng.uniform(0.1, 5.0, (n, 1))).astype(np.float32)
    ids = [f"SKU-{i:04d}" if i % 4 else f"8512{i}A" for i in range(n)]
    return Embeddings(
        ids=ids,
        vectors=vectors,
        counts=rng.integers(1, 500, n).astype(np.int64),
        names={ids[1]: "WHITE HANGING HEART", ids[2]: 'Mug, "large"'},
        meta={"model_id": "0123abcd", "params": {"dim": dim}},
    )


def item2vec_neighbours(embeddings: Embeddings, item: str, k: int = K) -> list[str]:
    return [n.item for n in similar(embeddings, [item], k)]


# --- Parquet ------------------------------------------------------------------------------------------


def test_parquet_vector_is_a_fixed_size_list_of_unit_vectors_with_the_metric_in_metadata(
    tmp_path: Path,
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    embeddings = planted()
    export(embeddings, "parquet", tmp_path / "v.parquet")
    table = pq.read_table(tmp_path / "v.parquet")
    assert table.column_names == ["id", "vector", "count", "name"]
    assert table.schema.field("vector").type == pa.list_(pa.float32(), 8)
    vectors = np.array(table.column("vector").to_pylist(), dtype=np.float32)
    assert np.array_equal(vectors, unit_rows(embeddings.vectors))
    assert table.schema.metadata == {
        b"item2vec.metric": b"cosine",
        b"item2vec.normalized": b"true",
        b"item2vec.dim": b"8",
        b"item2vec.model_id": b"0123abcd",
    }
    assert table.column("count").to_pylist() == embeddings.counts.tolist()
    assert table.column("name").to_pylist()[:3] == [None, "WHITE HANGING HEART", 'Mug, "large"']


def test_parquet_no_normalize_keeps_the_lengths_and_says_so(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    embeddings = tiny_embeddings()  # no model_id: none written
    export(embeddings, "parquet", tmp_path / "v.parquet", normalize=False)
    table = pq.read_table(tmp_path / "v.parquet")
    assert np.array_equal(np.array(table.column("vector").to_pylist(), dtype=np.float32), embeddings.vectors)
    assert table.schema.metadata == {
        b"item2vec.metric": b"cosine",
        b"item2vec.normalized": b"false",
        b"item2vec.dim": b"4",
    }
    export(embeddings, "parquet", tmp_path / "h.parquet", dtype="float16")
    assert pq.read_table(tmp_path / "h.parquet").schema.field("vector").type == pa.list_(pa.float16(), 4)


def test_duckdb_ranks_the_parquet_export_as_item2vec_does_without_a_cast(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    import pyarrow.parquet as pq

    embeddings = planted()
    path = tmp_path / "items.parquet"
    export(embeddings, "parquet", path)
    query = embeddings.ids[5]
    expected = item2vec_neighbours(embeddings, query)
    # Over Arrow (pyarrow or Polars hand it over), the column is FLOAT[8]: array_cosine_similarity.
    items = pq.read_table(path)  # noqa: F841 (DuckDB reads the local by name)
    con = duckdb.connect()
    described = con.sql("DESCRIBE SELECT vector FROM items").fetchall()
    assert described[0][1] == "FLOAT[8]"
    sql = (
        "SELECT b.id FROM {src} a, {src} b WHERE a.id = ? AND b.id <> a.id "
        "ORDER BY {fn}(a.vector, b.vector) DESC LIMIT ?"
    )
    rows = con.execute(sql.format(src="items", fn="array_cosine_similarity"), [query, K]).fetchall()
    assert [r[0] for r in rows] == expected
    # Straight from the file DuckDB's Parquet reader gives FLOAT[]: list_cosine_similarity, no cast.
    source = f"read_parquet('{path}')"
    rows = con.execute(sql.format(src=source, fn="list_cosine_similarity"), [query, K]).fetchall()
    assert [r[0] for r in rows] == expected
    # Unit vectors: the inner product ranks alike.
    rows = con.execute(sql.format(src=source, fn="list_inner_product"), [query, K]).fetchall()
    assert [r[0] for r in rows] == expected


def test_polars_reads_the_vector_as_an_array_and_ranks_as_item2vec(tmp_path: Path) -> None:
    pl = pytest.importorskip("polars")

    embeddings = planted()
    export(embeddings, "parquet", tmp_path / "items.parquet")
    frame = pl.read_parquet(tmp_path / "items.parquet")
    assert frame.schema["vector"] == pl.Array(pl.Float32, 8)
    matrix = frame["vector"].to_numpy()
    query = embeddings.ids[7]
    scores = matrix @ matrix[frame["id"].to_list().index(query)]
    order = [frame["id"][int(r)] for r in np.argsort(-scores, kind="stable") if frame["id"][int(r)] != query]
    assert order[:K] == item2vec_neighbours(embeddings, query)


def test_lancedb_default_metric_on_the_parquet_export_gives_item2vec_neighbours(tmp_path: Path) -> None:
    lancedb = pytest.importorskip("lancedb")
    import pyarrow.parquet as pq

    embeddings = planted()
    export(embeddings, "parquet", tmp_path / "items.parquet")
    table = lancedb.connect(tmp_path / "db").create_table("items", pq.read_table(tmp_path / "items.parquet"))
    query = embeddings.ids[13]
    vector = unit_rows(embeddings.vectors[[13]])[0]
    found = table.search(vector).limit(K + 1).to_arrow().column("id").to_pylist()  # L2, LanceDB's default
    assert [i for i in found if i != query] == item2vec_neighbours(embeddings, query)


# --- JSON Lines ---------------------------------------------------------------------------------------


def test_jsonl_is_exact_for_the_tiny_model(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    assert export(tiny_embeddings(), "jsonl", path, normalize=False) == [path]
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 8
    assert lines[0] == (
        '{"id": "king", "index": 0, "vector": [1.0, 0.0, 1.0, 0.0], "payload": {"count": 80, "name": "King"}}'
    )
    assert lines[1] == '{"id": "queen", "index": 1, "vector": [0.0, 1.0, 1.0, 0.0], "payload": {"count": 70}}'
    assert [json.loads(line)["id"] for line in lines] == list(TINY_VECTORS)
    assert [json.loads(line)["payload"]["count"] for line in lines] == TINY_COUNTS


def test_jsonl_round_trips_unit_vectors_ids_and_payloads(tmp_path: Path) -> None:
    embeddings = planted()
    export(embeddings, "jsonl", tmp_path / "items.jsonl")
    records = [json.loads(line) for line in (tmp_path / "items.jsonl").open(encoding="utf-8")]
    assert [r["id"] for r in records] == embeddings.ids
    assert [r["index"] for r in records] == list(range(len(embeddings)))
    vectors = np.array([r["vector"] for r in records], dtype=np.float32)
    assert np.array_equal(vectors, unit_rows(embeddings.vectors))  # shortest float32 text is exact
    assert records[1]["payload"] == {"count": int(embeddings.counts[1]), "name": "WHITE HANGING HEART"}
    assert records[0]["payload"] == {"count": int(embeddings.counts[0])}  # no null names


def test_qdrant_loads_the_jsonl_export_as_it_is_and_gives_item2vec_neighbours(tmp_path: Path) -> None:
    qdrant = pytest.importorskip("qdrant_client")
    from qdrant_client import models

    embeddings = planted()
    export(embeddings, "jsonl", tmp_path / "items.jsonl")
    records = [json.loads(line) for line in (tmp_path / "items.jsonl").open(encoding="utf-8")]
    client = qdrant.QdrantClient(":memory:")  # local mode: no server, no network
    client.create_collection(
        "items",
        vectors_config=models.VectorParams(size=len(records[0]["vector"]), distance=models.Distance.COSINE),
    )
    points = [
        models.PointStruct(id=r["index"], vector=r["vector"], payload={"id": r["id"], **r["payload"]})
        for r in records
    ]
    client.upsert("items", points=points)
    for row, item in enumerate(embeddings.ids[:5]):
        found = client.query_points(
            "items", query=records[row]["vector"], limit=K + 1, with_payload=True
        ).points
        answer = [p.payload["id"] for p in found if p.payload is not None and p.payload["id"] != item][:K]
        assert answer == item2vec_neighbours(embeddings, item)


def test_jsonl_goes_to_a_stream_as_to_a_file(tmp_path: Path) -> None:
    export(planted(), "jsonl", tmp_path / "items.jsonl")
    stream = io.BytesIO()
    export_stream(planted(), "jsonl", stream)
    assert stream.getvalue() == (tmp_path / "items.jsonl").read_bytes()


def test_jsonl_gives_the_neighbours_a_vector_store_would(tmp_path: Path) -> None:
    """Loaded as a Qdrant/Chroma loader would (index as the point id), dot products rank as item2vec."""
    embeddings = planted()
    export(embeddings, "jsonl", tmp_path / "items.jsonl")
    points = {r["index"]: r for r in map(json.loads, (tmp_path / "items.jsonl").open(encoding="utf-8"))}
    query = points[9]
    scored = sorted(
        (p for p in points.values() if p["index"] != 9),
        key=lambda p: -float(np.dot(np.float32(p["vector"]), np.float32(query["vector"]))),
    )
    assert [p["id"] for p in scored[:K]] == item2vec_neighbours(embeddings, query["id"])


# --- Faiss --------------------------------------------------------------------------------------------


def test_faiss_export_carries_its_ids_and_finds_item2vec_neighbours(tmp_path: Path) -> None:
    faiss = pytest.importorskip("faiss")

    embeddings = planted()
    path = tmp_path / "items.faiss"
    ids_path = tmp_path / "items.ids.txt"
    assert export(embeddings, "faiss", path) == [path, ids_path]
    assert ids_path.read_text(encoding="utf-8") == "".join(i + "\n" for i in embeddings.ids)  # no header
    index = faiss.read_index(str(path))
    assert isinstance(index, faiss.IndexIDMap2)
    assert index.metric_type == faiss.METRIC_INNER_PRODUCT
    assert index.ntotal == len(embeddings)
    assert faiss.vector_to_array(index.id_map).tolist() == list(range(len(embeddings)))
    assert np.array_equal(index.reconstruct(3), unit_rows(embeddings.vectors)[3])
    ids = ids_path.read_text(encoding="utf-8").splitlines()
    query = embeddings.ids[11]
    vector = unit_rows(embeddings.vectors[[11]])  # the caller normalises queries
    _, found = index.search(vector, K + 1)
    assert [ids[i] for i in found[0] if ids[i] != query] == item2vec_neighbours(embeddings, query)


def test_faiss_refuses_no_normalize_and_float16(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        export(tiny_embeddings(), "faiss", tmp_path / "v.faiss", normalize=False)
    assert (info.value.param, info.value.value) == ("normalize", False)
    assert str(info.value) == (
        "--format faiss holds unit-length vectors (its inner product is the cosine that item2vec ranks by): "
        "drop --no-normalize"
    )
    with pytest.raises(InputError) as info:
        export(tiny_embeddings(), "faiss", tmp_path / "v.faiss", dtype="float16")
    assert (info.value.param, info.value.value) == ("dtype", "float16")
    assert list(tmp_path.iterdir()) == []


def test_faiss_without_faiss_names_the_extra_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    from item2vec.errors import MissingDependencyError

    real = importlib.import_module

    def no_faiss(name: str, *args: object) -> object:
        if name == "faiss":
            raise ImportError(name)
        return real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib, "import_module", no_faiss)
    with pytest.raises(MissingDependencyError) as info:
        export(tiny_embeddings(), "faiss", tmp_path / "v.faiss")
    assert (
        str(info.value)
        == "--format faiss needs faiss-cpu, which is not installed: pip install 'item2vec[ann]'"
    )
    assert list(tmp_path.iterdir()) == []


def test_faiss_refuses_ids_with_line_breaks(tmp_path: Path) -> None:
    embeddings = tiny_embeddings()
    embeddings.ids = [*embeddings.ids[:-1], "line\nid"]
    with pytest.raises(InputError) as info:
        export(embeddings, "faiss", tmp_path / "v.faiss")
    assert (info.value.param, info.value.expected) == ("format", "parquet")
    assert str(info.value) == (
        "item id 'line\\nid' cannot be written to a faiss ids file (it contains a line break): use --format parquet"
    )
    assert list(tmp_path.iterdir()) == []


def test_faiss_pair_is_refused_when_its_ids_file_exists(tmp_path: Path) -> None:
    pytest.importorskip("faiss")
    (tmp_path / "v.ids.txt").write_text("keep\n", encoding="utf-8")
    with pytest.raises(OutputExistsError) as info:
        export(tiny_embeddings(), "faiss", tmp_path / "v.faiss")
    assert (info.value.param, info.value.value) == ("output", str(tmp_path / "v.ids.txt"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.ids.txt"]
    export(tiny_embeddings(), "faiss", tmp_path / "v.faiss", force=True)
    assert (tmp_path / "v.ids.txt").read_text(encoding="utf-8").splitlines() == list(TINY_VECTORS)


# --- word2vec counts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["word2vec", "word2vec-binary"])
def test_gensim_reads_back_the_real_counts(tmp_path: Path, fmt: str) -> None:
    from gensim.models import KeyedVectors

    embeddings = planted()
    path = tmp_path / "items.w2v"
    vocab = tmp_path / "items.w2v.vocab"
    assert export(embeddings, fmt, path) == [path, vocab]
    kv = KeyedVectors.load_word2vec_format(str(path), binary=fmt == "word2vec-binary", fvocab=str(vocab))
    assert {i: kv.get_vecattr(i, "count") for i in kv.index_to_key} == dict(
        zip(embeddings.ids, embeddings.counts.tolist())
    )
    without = KeyedVectors.load_word2vec_format(str(path), binary=fmt == "word2vec-binary")
    assert without.get_vecattr(without.index_to_key[0], "count") == len(embeddings)  # synthetic


def test_word2vec_counts_file_is_the_c_tools_save_vocab_format(tmp_path: Path) -> None:
    export(tiny_embeddings(), "word2vec", tmp_path / "v.txt")
    assert (tmp_path / "v.txt.vocab").read_text(encoding="utf-8") == (
        "king 80\nqueen 70\nman 60\nwoman 50\nprince 40\napple 30\npear 20\nplum 10\n"
    )
    export(tiny_embeddings(), "word2vec", tmp_path / "o.txt.gz", items=["pear", "king"])
    assert (tmp_path / "o.txt.vocab").read_text(encoding="utf-8") == "pear 20\nking 80\n"  # plain text
    export(tiny_embeddings(), "word2vec-binary", tmp_path / "v.bin")  # beside the text one: no clash
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "o.txt.gz",
        "o.txt.vocab",
        "v.bin",
        "v.bin.vocab",
        "v.txt",
        "v.txt.vocab",
    ]


def test_word2vec_pair_is_refused_when_its_counts_file_exists(tmp_path: Path) -> None:
    (tmp_path / "v.txt.vocab").write_text("keep 1\n", encoding="utf-8")
    with pytest.raises(OutputExistsError) as info:
        export(tiny_embeddings(), "word2vec", tmp_path / "v.txt")
    assert (info.value.param, info.value.value) == ("output", str(tmp_path / "v.txt.vocab"))
    assert str(info.value) == f"{str(tmp_path / 'v.txt.vocab')!r} already exists: use --force to overwrite it"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.txt.vocab"]


# --- the Python API ---------------------------------------------------------------------------------


def test_model_export_takes_the_format_defaults_and_words_errors_in_python(
    tiny_model: Path, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    import item2vec

    model = item2vec.load(tiny_model)
    model.export(tmp_path / "v.parquet", format="parquet")
    assert pq.read_schema(tmp_path / "v.parquet").metadata[b"item2vec.normalized"] == b"true"
    with pytest.raises(InputError) as info:
        model.export(tmp_path / "v.faiss", format="faiss", normalize=False)
    assert str(info.value) == (
        "format=faiss holds unit-length vectors (its inner product is the cosine that item2vec ranks by): "
        "drop normalize=False"
    )
    if importlib.util.find_spec("faiss") is not None:
        written = model.export(tmp_path / "v.faiss", format="faiss")
        assert written == [tmp_path / "v.faiss", tmp_path / "v.ids.txt"]
