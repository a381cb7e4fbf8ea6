from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli
from item2vec.errors import ConfigError, MissingDependencyError, ModelError
from item2vec.model.embeddings import Embeddings
from item2vec.model.store import load, save
from item2vec.query.index import IndexParams, build, load_index, store
from item2vec.query.index_check import check_index
from item2vec.query.neighbours import similar
from item2vec.query.scoring import make_scorer, open_parts
from item2vec.query.searcher import Searcher, open_searcher

faiss = pytest.importorskip("faiss")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """OpenMP start-up dominates on tiny indexes (and on a busy machine): use one thread."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


def run(*args: str | Path, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def planted(items: int = 600, dim: int = 16, clusters: int = 12, seed: int = 0) -> Embeddings:
    """Items in tight clusters around random centres: true neighbours share a cluster."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    vectors = centres[np.arange(items) % clusters] + 0.15 * rng.normal(size=(items, dim))
    return Embeddings(
        ids=[f"i{n:04d}" for n in range(items)],
        vectors=vectors.astype(np.float32),
        counts=np.full(items, 5, dtype=np.int64),
        meta={"created": "2024-01-01T00:00:00+00:00"},
    )


@pytest.mark.parametrize("kind", ["flat", "hnsw", "lsh"])
def test_approx_similar_equals_exact_on_the_tiny_model(tiny_model: Path, kind: str) -> None:
    built = run("index", tiny_model, "--kind", kind, "-f", "json")
    assert built.exit_code == 0, built.output
    exact = run("similar", tiny_model, "king", "apple", "pear", "-k", "3", "-f", "jsonl")
    approx = run("similar", tiny_model, "king", "apple", "pear", "-k", "3", "-f", "jsonl", "--approx")
    assert approx.exit_code == 0, approx.output
    assert approx.stdout == exact.stdout


def test_index_stores_the_faiss_file_and_its_parameters(tiny_model: Path) -> None:
    result = run("index", tiny_model, "--kind", "hnsw", "--hnsw-m", "8", "--ef-search", "40", "-f", "json")
    assert result.exit_code == 0, result.output
    assert "building a hnsw index" in result.stderr
    report = json.loads(result.stdout)
    assert report["kind"] == "hnsw" and report["items"] == 8 and report["dim"] == 4
    assert report["params"] == {"hnsw_m": 8, "ef_construction": 80, "ef_search": 40, "rerank": 1}
    info = json.loads((tiny_model / "index.json").read_text())
    assert info["kind"] == "hnsw" and info["params"] == report["params"]
    assert info["bytes"] == (tiny_model / "index.faiss").stat().st_size
    assert info["faiss"] == faiss.__version__
    assert not [p for p in tiny_model.iterdir() if p.name.startswith(".")]  # no temporary files left
    assert load_index(tiny_model, load(tiny_model)).faiss_index.hnsw.efSearch == 40


def test_flat_index_check_reports_full_recall(tiny_model: Path) -> None:
    result = run("index", tiny_model, "--kind", "flat", "--check", "--queries", "8", "-f", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    check = report["check"]
    assert check["queries"] == 8 and check["recall@10"] == 1.0
    assert set(check) == {"queries", "recall@10", "p50_ms", "p99_ms", "exact_p50_ms", "next", "hybrid"}
    # The output vectors get their own index; next and hybrid are checked through it and the transitions.
    assert report["next"]["file"] == str(tiny_model / "index-next.faiss")
    assert json.loads((tiny_model / "index-next.json").read_text())["vectors"] == "output"
    assert check["next"]["recall@10"] == 1.0 and check["hybrid"]["recall@10"] == 1.0
    assert set(check["next"]) == {"recall@10", "p50_ms", "p99_ms"}


@pytest.mark.parametrize(
    ("params", "floor"),
    [
        (IndexParams(kind="hnsw"), 0.97),
        (IndexParams(kind="lsh"), 0.9),
        (IndexParams(kind="ivfpq", lists=8, probes=4), 0.9),
        (IndexParams(kind="ivfpq", lists=8, probes=4, rerank=1, pq_m=2), 0.0),
    ],
    ids=["hnsw", "lsh", "ivfpq", "ivfpq-coarse"],
)
def test_indexes_recall_planted_neighbours(params: IndexParams, floor: float) -> None:
    embeddings = planted()
    index = build(embeddings, params)
    check = check_index(embeddings, index, queries=100, k=10)
    assert check["recall@10"] >= floor
    rows, scores = index.search(embeddings.vectors, embeddings.vectors[:5], 10)
    assert ((rows % 12) == (np.arange(5)[:, None] % 12)).mean() > 0.9  # neighbours stay in the cluster
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # scores are exact cosines, best first
    exact = (embeddings.unit[:5] @ embeddings.unit.T)[np.arange(5)[:, None], rows]
    np.testing.assert_allclose(scores, exact, rtol=1e-5, atol=1e-6)


def test_ivfpq_needs_enough_items_and_a_dividing_pq_m(tiny_model: Path) -> None:
    result = run("index", tiny_model, "--kind", "ivfpq")
    assert result.exit_code == 1
    assert "an ivfpq index needs at least 256 items to train its codebooks (the model has 8)" in result.output
    with pytest.raises(ConfigError, match="--pq-m 5 is invalid: it must divide the dimension 16"):
        IndexParams(kind="ivfpq", pq_m=5).resolved(600, 16)
    with pytest.raises(ConfigError, match="--lists 700 is more than the model's 600 items"):
        IndexParams(kind="ivfpq", lists=700).resolved(600, 16)


def test_default_parameters_follow_the_model_size() -> None:
    params = IndexParams(kind="ivfpq").resolved(1_000_000, 128)
    assert (params.lists, params.pq_m, params.rerank) == (4000, 32, 10)
    assert IndexParams(kind="lsh").resolved(100, 64).bits == 256
    assert IndexParams(kind="hnsw").resolved(100, 64).rerank == 1


def test_approx_without_an_index_says_how_to_build_one(tiny_model: Path) -> None:
    result = run("similar", tiny_model, "king", "--approx")
    assert result.exit_code == 1
    assert (
        f"Error: model '{tiny_model}' has no index: build one with 'item2vec index {tiny_model} --kind hnsw'"
        in (result.output)
    )


def test_an_index_of_another_model_is_refused(tiny_model: Path, tmp_path: Path) -> None:
    assert run("index", tiny_model, "--kind", "flat").exit_code == 0
    other = tmp_path / "other"
    save(planted(items=20, dim=4), other)
    for name in ("index.faiss", "index.json"):
        shutil.copy(tiny_model / name, other / name)
    result = run("similar", other, "i0001", "--approx")
    assert result.exit_code == 1
    assert "was built for another version of the model (8 items x 4" in result.output
    assert f"rebuild it with 'item2vec index {other} --kind flat'" in result.output


def test_a_corrupt_index_is_reported(tiny_model: Path) -> None:
    assert run("index", tiny_model, "--kind", "flat").exit_code == 0
    size = (tiny_model / "index.faiss").stat().st_size
    (tiny_model / "index.faiss").write_bytes(b"\0" * size)
    with pytest.raises(ModelError, match=r"index of .* is corrupt"):
        load_index(tiny_model, load(tiny_model))


def test_analogy_approx_uses_the_index_for_add_only(tiny_model: Path) -> None:
    assert run("index", tiny_model, "--kind", "hnsw").exit_code == 0
    exact = run("analogy", tiny_model, "king - man + woman", "-k", "2", "-f", "csv")
    approx = run("analogy", tiny_model, "king - man + woman", "-k", "2", "-f", "csv", "--approx")
    assert approx.exit_code == 0, approx.output
    assert approx.stdout == exact.stdout
    assert approx.stdout.splitlines()[1].startswith("king - man + woman,1,queen,")
    mul = run("analogy", tiny_model, "king - man + woman", "--method", "mul", "--approx")
    assert mul.exit_code == 1
    assert "--method mul scores every item, so it cannot use an index: use --method add" in mul.output


def test_a_searcher_answers_batches_through_the_index(tiny_model: Path) -> None:
    embeddings = load(tiny_model)
    store(build(embeddings, IndexParams(kind="flat")), tiny_model)
    expected = [n.as_row(True) for n in similar(embeddings, ["king", "queen"], 3, combine=True)]
    searcher = open_searcher(tiny_model, embeddings)
    got = similar(embeddings, ["king", "queen"], 3, combine=True, index=searcher.index("similar"))
    assert [n.as_row(True) for n in got] == expected
    scorer = make_scorer(open_parts(embeddings, tiny_model), "similar", searcher=searcher)
    assert [n.as_row(True) for n in scorer.similar(["king", "queen"], 3, combine=True)] == expected
    assert searcher.kind == "flat" and not hasattr(embeddings, "searcher")  # the model is not changed


def test_a_searcher_without_the_output_index(tiny_model: Path) -> None:
    embeddings = load(tiny_model)
    store(build(embeddings, IndexParams(kind="flat")), tiny_model)
    searcher = Searcher(embeddings, tiny_model)
    assert searcher.has("similar") and not searcher.has("next")
    with pytest.raises(ModelError, match="no index of its output vectors"):
        make_scorer(open_parts(embeddings, tiny_model), "next", searcher=searcher)


def test_interrupted_store_keeps_the_previous_index_pair(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embeddings = load(tiny_model)
    store(build(embeddings, IndexParams(kind="flat")), tiny_model)
    before = {p.name: p.read_bytes() for p in tiny_model.iterdir()}
    real = Path.write_text

    def interrupted(self: Path, *args: object, **kwargs: object) -> int:
        if self.name.startswith(".index.json."):
            raise KeyboardInterrupt  # index.faiss written, index.json not yet
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store(build(embeddings, IndexParams(kind="hnsw")), tiny_model)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tiny_model.iterdir()} == before
    assert load_index(tiny_model, embeddings).info["kind"] == "flat"


def test_full_disk_while_storing_an_index(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = sorted(p.name for p in tiny_model.iterdir())

    def full(*_args: object) -> None:
        raise RuntimeError(
            "Error: 'ret == (size * 4)' failed: write error in x: 8147 != 38400 (No space left on device)"
        )

    monkeypatch.setattr(faiss, "write_index", full)
    result = run("index", tiny_model, "--kind", "flat")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        f"Error: no space left on the device writing '{tiny_model / 'index.faiss'}': "
        "free some space or choose another output path (nothing was written)\n"
    )
    assert sorted(p.name for p in tiny_model.iterdir()) == before


def test_missing_faiss_names_the_extra(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "faiss", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'item2vec\[ann\]'"):
        build(load(tiny_model), IndexParams(kind="flat"))


@pytest.mark.slow
def test_benchmark_smoke_run() -> None:
    result = subprocess.run(
        [sys.executable, "bench/ann.py", "--smoke"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "| method |" in result.stdout and "| hnsw" in result.stdout
