"""`item2vec similar MODEL - -k 10 -f jsonl` with many ids on stdin, against Faiss and gensim.

    python bench/similar_batch.py                        # 200,000 items x 64, 10,000 ids, 3 runs
    python bench/similar_batch.py --items 50000 --ids 2000 --runs 1 --gensim-ids 200

A model of random vectors (float32) is written to a temporary directory; each job is a fresh
process, timed whole (start, load, search, jsonl written to a file) with its CPU time and peak
RSS from /usr/bin/time -v, in alternating order, and the median of --runs runs is reported:

- item2vec: the command above, the ids on stdin;
- Faiss: IndexFlatIP over the normalised vectors, one batch search of every id with k + 1
  (the id itself is dropped), the same jsonl rows written;
- gensim: KeyedVectors over the same vectors, most_similar in a loop over --gensim-ids ids
  (fewer: it is slow), its loop's time scaled to --ids;
- with --approx, item2vec --approx: the same command over an HNSW index built once by
  ``item2vec index MODEL --kind hnsw`` (its build timed apart), and its recall@k against the
  exact answers of the same run (the share of each id's exact k found, averaged).

    python bench/similar_batch.py --approx --no-gensim    # exact, --approx and Faiss
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from item2vec.model.embeddings import Embeddings
from item2vec.model.store import save

FAISS_JOB = """
import json, sys
import faiss, numpy as np
model, ids_file, out, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
vectors = np.load(f"{model}/vectors.npy")
with open(f"{model}/vocab.tsv", encoding="utf-8") as handle:
    next(handle)
    ids = [line.split("\\t", 1)[0] for line in handle]
row = {item: i for i, item in enumerate(ids)}
queries = [line.strip() for line in open(ids_file, encoding="utf-8") if line.strip()]
unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
index = faiss.IndexFlatIP(unit.shape[1])
index.add(unit)
wanted = np.array([row[q] for q in queries])
scores, found = index.search(unit[wanted], k + 1)
with open(out, "w", encoding="utf-8") as handle:
    for q, r, s in zip(queries, found.tolist(), scores.tolist()):
        picked = [(i, v) for i, v in zip(r, s) if i != row[q] and i >= 0][:k]
        for rank, (i, v) in enumerate(picked, 1):
            handle.write(json.dumps({"query": q, "rank": rank, "item": ids[i], "score": round(v, 6)}) + "\\n")
"""

GENSIM_JOB = """
import json, sys, time
import numpy as np
from gensim.models import KeyedVectors
model, ids_file, out, k, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
vectors = np.load(f"{model}/vectors.npy")
with open(f"{model}/vocab.tsv", encoding="utf-8") as handle:
    next(handle)
    ids = [line.split("\\t", 1)[0] for line in handle]
kv = KeyedVectors(vectors.shape[1], count=len(ids), dtype=np.float32)
kv.add_vectors(ids, vectors)
queries = [line.strip() for line in open(ids_file, encoding="utf-8") if line.strip()][:count]
started = time.perf_counter()
with open(out, "w", encoding="utf-8") as handle:
    for q in queries:
        for rank, (item, score) in enumerate(kv.most_similar(q, topn=k), 1):
            handle.write(json.dumps({"query": q, "rank": rank, "item": item, "score": round(score, 6)}) + "\\n")
print(time.perf_counter() - started)
"""


def timed(
    command: list[str], stdin: Path | None = None, keep: Path | None = None
) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS (MB) and stdout of ``command``, a fresh process under /usr/bin/time -v
    (item2vec's stdout, the jsonl, is kept in a pipe and dropped, or written to ``keep``)."""
    started = time.perf_counter()
    with open(stdin or "/dev/null", "rb") as source:
        done = subprocess.run(["/usr/bin/time", "-v", *command], stdin=source, capture_output=True, text=True)
    if keep is not None:
        keep.write_text(done.stdout, encoding="utf-8")
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[:3]} failed:\n{done.stderr[-2000:]}")
    report = dict(line.strip().rsplit(": ", 1) for line in done.stderr.splitlines() if line.startswith("\t"))
    cpu = float(report["User time (seconds)"]) + float(report["System time (seconds)"])
    return elapsed, cpu, int(report["Maximum resident set size (kbytes)"]) / 1024, done.stdout[-200:]


def recall(exact: Path, approx: Path) -> float:
    """Mean over queries of the share of the exact answer's items the approximate answer has."""
    import json

    def answers(path: Path) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            out.setdefault(row["query"], set()).add(row["item"])
        return out

    want, got = answers(exact), answers(approx)
    return statistics.mean(len(items & got.get(q, set())) / len(items) for q, items in want.items())


def build(tmp: Path, items: int, dim: int, ids: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    model = tmp / "model"
    names = [f"sku{n:07d}" for n in range(items)]
    vectors = rng.standard_normal((items, dim), dtype=np.float32)
    save(Embeddings(ids=names, vectors=vectors, counts=np.ones(items, dtype=np.int64), meta={}), model)
    ids_file = tmp / "ids.txt"
    ids_file.write_text("".join(f"{names[r]}\n" for r in rng.choice(items, ids, replace=False)))
    return model, ids_file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--ids", type=int, default=10_000)
    parser.add_argument("--gensim-ids", type=int, default=1_000)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-gensim", action="store_true")
    parser.add_argument("--approx", action="store_true", help="also item2vec --approx over an HNSW index")
    args = parser.parse_args()
    binary = str(Path(sys.executable).parent / "item2vec")
    with tempfile.TemporaryDirectory(prefix="item2vec-similar-") as name:
        tmp = Path(name)
        model, ids_file = build(tmp, args.items, args.dim, args.ids)
        out = tmp / "out.jsonl"
        jobs = {
            "item2vec": ([binary, "similar", str(model), "-", "-k", str(args.k), "-f", "jsonl"], ids_file),
            "faiss": ([sys.executable, "-c", FAISS_JOB, str(model), str(ids_file), str(out), str(args.k)], None),
            "gensim": ([sys.executable, "-c", GENSIM_JOB, str(model), str(ids_file), str(out), str(args.k),
                        str(args.gensim_ids)], None),
        }  # fmt: skip
        if args.no_gensim:
            del jobs["gensim"]
        if args.approx:
            built = timed([binary, "index", str(model), "--kind", "hnsw"])
            print(
                f"# index --kind hnsw: {built[0]:.1f} s, CPU {built[1]:.1f} s, {built[2]:.0f} MB", flush=True
            )
            jobs["item2vec --approx"] = ([*jobs["item2vec"][0], "--approx"], ids_file)
        kept = {"item2vec": tmp / "exact.jsonl", "item2vec --approx": tmp / "approx.jsonl"}
        recalls: list[float] = []
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in jobs}
        scale = args.ids / min(args.ids, args.gensim_ids)
        for run in range(args.runs):
            for job, (command, stdin) in jobs.items():
                elapsed, cpu, peak, stdout = timed(command, stdin, kept.get(job) if args.approx else None)
                if job == "item2vec --approx":
                    recalls.append(recall(kept["item2vec"], kept[job]))
                if job == "gensim":  # the query loop scaled to --ids, the start and load once
                    loop = float(stdout.strip().splitlines()[-1])
                    elapsed, cpu = elapsed + loop * (scale - 1), cpu + loop * (scale - 1)
                results[job].append((elapsed, cpu, peak))
                print(f"# run {run + 1} {job}: {elapsed:.1f} s, CPU {cpu:.1f} s, {peak:.0f} MB",
                      file=sys.stderr, flush=True)  # fmt: skip
    seconds = {job: statistics.median(r[0] for r in runs) for job, runs in results.items()}
    cpus = {job: statistics.median(r[1] for r in runs) for job, runs in results.items()}
    peaks = {job: max(r[2] for r in runs) for job, runs in results.items()}
    print(f"# {args.items:,} items x {args.dim}, {args.ids:,} ids, k={args.k}; medians of {args.runs} runs")
    if recalls:
        print(f"# item2vec --approx: recall@{args.k} against exact {statistics.median(recalls):.4f}")
    print("| job | wall s | ÷ item2vec | CPU s (user + sys) | ÷ item2vec | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for job in seconds:
        note = f" ({args.gensim_ids:,} ids, scaled)" if job == "gensim" else ""
        print(f"| {job}{note} | {seconds[job]:.1f} | {seconds[job] / seconds['item2vec']:.2f} "
              f"| {cpus[job]:.1f} | {cpus[job] / cpus['item2vec']:.2f} | {peaks[job]:,.0f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
