"""Exact search vs HNSW vs LSH vs IVF-PQ on synthetic item vectors, and `similar`'s cold start.

    python bench/ann.py                     # 1,000,000 items x 128 dims (about 15 minutes on 2 cores)
    python bench/ann.py --items 100000      # smaller
    python bench/ann.py --smoke             # seconds: the test suite runs this

The vectors are clustered like trained embeddings: ``items / 1000`` random centres, each item
its centre plus Gaussian noise (``--noise`` per dimension), so an item's true neighbours are
mostly, but not only, in its own cluster. Queries are sampled items; each is excluded from its
own answers. Every index is built and searched through item2vec.query.index exactly as
``item2vec index`` / ``similar --approx`` do, including the exact re-scoring of the shortlist.

Columns: build (s); size (MB of the index, which is what it holds in memory; exact search
holds a unit-length copy of the vectors); p50/p99 single-query latency (ms, one thread, one
query at a time, re-scoring included); batch (queries/s, --batch queries per call, all
threads); recall@10 against exact search. Cold start: wall time of a fresh
``item2vec similar MODEL ID -k 10`` process, files in the page cache (median of 3).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from common import median_seconds

from item2vec.model.embeddings import Embeddings
from item2vec.model.store import load, save
from item2vec.query.index import AnnIndex, IndexParams, build, single_threaded, store
from item2vec.query.neighbours import similar
from item2vec.query.topk import top_k

ROOT = Path(__file__).resolve().parents[1]
K = 10


def synthetic(items: int, dim: int, noise: float, seed: int = 0) -> Embeddings:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(1, items // 1000), dim)).astype(np.float32)
    vectors = np.empty((items, dim), dtype=np.float32)
    for start in range(0, items, 100_000):
        stop = min(items, start + 100_000)
        vectors[start:stop] = centres[np.arange(start, stop) % len(centres)]
        vectors[start:stop] += noise * rng.standard_normal(size=(stop - start, dim), dtype=np.float32)
    return Embeddings(
        ids=[f"item{n:07d}" for n in range(items)],
        vectors=vectors,
        counts=np.ones(items, dtype=np.int64),
        meta={"created": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()), "engine": "synthetic"},
    )


def exact_truth(embeddings: Embeddings, queries: np.ndarray) -> np.ndarray:
    out = []
    unit = embeddings.unit
    for start in range(0, len(queries), 64):
        rows = queries[start : start + 64]
        scores = unit[rows] @ unit.T
        scores[np.arange(len(rows)), rows] = -np.inf
        out.append(top_k(scores, K)[0])
    return np.concatenate(out)


def percentiles(millis: list[float]) -> tuple[float, float]:
    return float(np.percentile(millis, 50)), float(np.percentile(millis, 99))


def timed(fn: Callable[[int], Any], rows: np.ndarray) -> tuple[list[float], list[Any]]:
    millis, answers = [], []
    for row in rows.tolist():
        started = time.perf_counter()
        answers.append(fn(row))
        millis.append((time.perf_counter() - started) * 1000)
    return millis, answers


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[f >= 0].tolist()) & set(t.tolist())) / K for f, t in zip(found, truth)]))


def measure_exact(
    embeddings: Embeddings, queries: np.ndarray, truth: np.ndarray, batch: int
) -> dict[str, Any]:
    embeddings.unit  # noqa: B018 - computed once, as a long-running process would
    singles = queries[: min(len(queries), 200)]
    millis, _ = timed(lambda row: similar(embeddings, [embeddings.ids[row]], K), singles)
    rows = np.resize(queries, batch)
    started = time.perf_counter()
    for start in range(0, len(rows), 256):
        block = rows[start : start + 256]
        scores = embeddings.unit[block] @ embeddings.unit.T
        scores[np.arange(len(block)), block] = -np.inf
        top_k(scores, K)
    rate = len(rows) / (time.perf_counter() - started)
    p50, p99 = percentiles(millis)
    size = embeddings.vectors.nbytes / 2**20  # the memory-mapped vectors it scans
    return {"method": "exact (numpy)", "build": 0.0, "size": size, "p50": p50, "p99": p99, "qps": rate,
            "recall": 1.0, "note": f"{len(singles)} single queries, batch of {batch}"}  # fmt: skip


def search_fn(index: AnnIndex, embeddings: Embeddings) -> Callable[[int], np.ndarray]:
    vectors = embeddings.vectors

    def one(row: int) -> np.ndarray:
        exclude = (np.zeros(1, dtype=np.int64), np.array([row], dtype=np.int64))
        return index.search(vectors, np.asarray(vectors[row : row + 1]), K, exclude=exclude, most_excluded=1)[
            0
        ][0]

    return one


def measure_index(
    embeddings: Embeddings, index: AnnIndex, queries: np.ndarray, truth: np.ndarray, batch: int, label: str
) -> dict[str, Any]:
    with single_threaded():
        millis, answers = timed(search_fn(index, embeddings), queries)
    rows = np.resize(queries, batch)
    started = time.perf_counter()
    for start in range(0, len(rows), 4096):
        block = rows[start : start + 4096]
        pairs = (np.arange(len(block), dtype=np.int64), block.astype(np.int64))
        index.search(
            embeddings.vectors, np.asarray(embeddings.vectors[block]), K, exclude=pairs, most_excluded=1
        )
    rate = len(rows) / (time.perf_counter() - started)
    p50, p99 = percentiles(millis)
    size = len(faiss.serialize_index(index.faiss_index)) / 2**20
    note = ", ".join(f"{k}={v}" for k, v in index.params.recorded().items())
    return {"method": label, "build": index.info["build_seconds"], "size": size, "p50": p50, "p99": p99,
            "qps": rate, "recall": recall(np.array(answers), truth), "note": note}  # fmt: skip


def tune(index: AnnIndex, value: int | None) -> None:
    """Set the search-time parameter (HNSW efSearch, IVF probes) in place; None keeps it."""
    if value is None:
        return
    if index.kind == "hnsw":
        index.faiss_index.hnsw.efSearch = value
    else:
        index.faiss_index.nprobe = value


def cold_start(model: Path, item: str, approx: bool, runs: int = 3) -> float:
    command = [str(Path(sys.executable).parent / "item2vec"), "similar", str(model), item, "-k", "10"]
    if approx:
        command.append("--approx")
    return median_seconds(lambda: subprocess.run(command, check=True, capture_output=True), runs)


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| method | build s | size MB | p50 ms | p99 ms | batch q/s | recall@10 | parameters |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['build']:.1f} | {r['size']:,.1f} | {r['p50']:.3f} | {r['p99']:.3f} "
            f"| {r['qps']:,.0f} | {r['recall']:.3f} | {r['note']} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--noise", type=float, default=0.8)
    parser.add_argument("--queries", type=int, default=1000, help="single queries per method")
    parser.add_argument("--batch", type=int, default=10_000, help="queries in the throughput run")
    parser.add_argument("--kinds", default="exact,hnsw,lsh,ivfpq")
    parser.add_argument("--model", type=Path, help="where to write the synthetic model (default: a temp dir)")
    parser.add_argument("--smoke", action="store_true", help="3,000 items x 32: a few seconds")
    args = parser.parse_args()
    if args.smoke:
        args.items, args.dim, args.queries, args.batch = 3000, 32, 50, 500
        faiss.omp_set_num_threads(1)
    kinds = args.kinds.split(",")
    with tempfile.TemporaryDirectory(prefix="item2vec-ann-") as tmp:
        model = args.model or Path(tmp) / "model"
        started = time.perf_counter()
        save(synthetic(args.items, args.dim, args.noise), model, force=True)
        embeddings = load(model)
        print(f"# {args.items:,} items x {args.dim} (noise {args.noise}), model written in "
              f"{time.perf_counter() - started:.1f} s; {os.cpu_count()} CPUs, faiss {faiss.__version__}",
              flush=True)  # fmt: skip
        queries = np.sort(np.random.default_rng(1).choice(args.items, size=args.queries, replace=False))
        truth = exact_truth(embeddings, queries)
        rows = run_all(embeddings, model, kinds, queries, truth, args.batch)
        print(table(rows))
        if not args.smoke:
            item = embeddings.ids[int(queries[0])]
            print(f"\ncold start, `item2vec similar MODEL {item} -k 10`: exact {cold_start(model, item, False):.2f} s",
                  end="", flush=True)  # fmt: skip
            if (model / "index.faiss").exists():
                print(f"; --approx (hnsw) {cold_start(model, item, True):.2f} s", end="")
            print()
    return 0


def run_all(
    embeddings: Embeddings, model: Path, kinds: list[str], queries: np.ndarray, truth: np.ndarray, batch: int
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if "exact" in kinds:
        rows.append(measure_exact(embeddings, queries, truth, min(batch, 1000)))
        print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
        del embeddings.__dict__["unit"]  # free the unit copy before the indexes
    for kind in [k for k in ("lsh", "ivfpq", "hnsw") if k in kinds]:
        index = build(embeddings, IndexParams(kind=kind))
        if kind == "hnsw":
            store(index, model)  # the last one stored: the cold start of --approx uses it
        settings: list[int | None] = {"hnsw": [16, 32, 64, 128], "ivfpq": [4, 16, 64]}.get(kind, [None])
        for value in settings:
            tune(index, value)
            label = kind if value is None else f"{kind} ({'ef' if kind == 'hnsw' else 'probes'} {value})"
            row = measure_index(
                embeddings, index, queries, truth, batch if kind != "lsh" else batch // 5, label
            )
            if value is not None:
                key = "ef_search" if kind == "hnsw" else "probes"
                row["note"] = row["note"].replace(f"{key}={index.params.recorded()[key]}", f"{key}={value}")
            rows.append(row)
            print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
        del index
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
