"""Time `item2vec recommend --events`: candidates for every user of a log, in batches.

    python bench/recommend_batch.py                          # 100,000 users, 20,000 items x 64, k=100
    python bench/recommend_batch.py --items 100000 --approx  # with a stored HNSW index
    python bench/recommend_batch.py --items 100000 --score similar

A synthetic model (random input and output vectors, and transitions: --followers random
followers per item, so every score mode works and the default, hybrid, is what runs) and an
event log of --users users with --events items each (epoch-second times, file order shuffled)
are written to a temporary directory; the timed part is the command as a user runs it: a fresh
process that reads the log, builds every user's decayed-mean query and writes the Parquet
table. Printed: wall seconds, CPU seconds (user + system) and peak RSS from /usr/bin/time -v.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from item2vec.model.embeddings import Embeddings
from item2vec.model.store import save
from item2vec.model.transitions import TransitionMatrix


def random_transitions(rng: np.random.Generator, items: int, followers: int) -> TransitionMatrix:
    """``followers`` distinct random followers per item, heaviest first (as stored)."""
    steps = rng.integers(1, max(2, items // followers), (items, followers))
    indices = ((np.arange(items)[:, None] + np.cumsum(steps, axis=1)) % items).astype(np.int32)  # distinct
    data = np.sort(rng.integers(1, 50, (items, followers)).astype(np.float32) / 4, axis=1)[:, ::-1]
    order = np.lexsort((indices, -data), axis=1)
    indices, data = np.take_along_axis(indices, order, 1), np.take_along_axis(data, order, 1)
    indptr = np.arange(0, items * followers + 1, followers, dtype=np.int64)
    return TransitionMatrix(
        indptr, indices.ravel(), np.ascontiguousarray(data).ravel(), items, steps=10, keep=100
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--events", type=int, default=10, help="events per user")
    parser.add_argument("-k", type=int, default=100)
    parser.add_argument("--followers", type=int, default=20, help="transitions kept per item")
    parser.add_argument("--score", help="--score for recommend (default: the model's, hybrid)")
    parser.add_argument("--approx", action="store_true", help="build an HNSW index and pass --approx")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="item2vec-batch-") as tmp:
        model, log, out = Path(tmp) / "model", Path(tmp) / "events.parquet", Path(tmp) / "candidates.parquet"
        ids = [f"sku{n:06d}" for n in range(args.items)]
        vectors = rng.standard_normal((args.items, args.dim), dtype=np.float32)
        output = rng.standard_normal((args.items, args.dim), dtype=np.float32)
        save(Embeddings(ids=ids, vectors=vectors, counts=np.ones(args.items, dtype=np.int64),
                        meta={"created": time.strftime("%Y-%m-%dT%H:%M:%S")}), model,
             extra={"syn1neg": output}, transitions=random_transitions(rng, args.items, args.followers))  # fmt: skip
        n = args.users * args.events
        order = rng.permutation(n)
        users = np.repeat(np.arange(args.users), args.events)[order]
        table = pa.table({
            "user_id": pa.array([f"u{u}" for u in users.tolist()]),
            "item_id": pa.array(np.array(ids, dtype=object)[rng.integers(0, args.items, n)]),
            "ts": pa.array((1_700_000_000 + rng.integers(0, 10**7, n)).astype(str)),
        })  # fmt: skip
        pq.write_table(table, log)
        binary = str(Path(sys.executable).parent / "item2vec")
        if args.approx:
            subprocess.run([binary, "index", str(model), "--kind", "hnsw"], check=True, capture_output=True)
        command = [
            "/usr/bin/time",
            "-v",
            binary,
            "recommend",
            str(model),
            "--events",
            str(log),
            "--time-col",
            "ts",
            "-k",
            str(args.k),
            "-o",
            str(out),
        ]
        command += (["--approx"] if args.approx else []) + (["--score", args.score] if args.score else [])  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        rows = pq.read_metadata(out).num_rows
    report = dict(line.strip().rsplit(": ", 1) for line in done.stderr.splitlines() if line.startswith("\t"))
    peak = int(report["Maximum resident set size (kbytes)"]) / 1024
    cpu = float(report["User time (seconds)"]) + float(report["System time (seconds)"])
    mode = ("--approx (hnsw)" if args.approx else "exact") + f", {args.score or 'default (hybrid)'}"
    print(f"| {args.users:,} users x {args.events} events | {args.items:,} items x {args.dim} | k={args.k} "
          f"| {mode} | {elapsed:.1f} s | {cpu:.1f} s | {peak:,.0f} MB | {rows:,} rows |")  # fmt: skip
    print("\n".join(line for line in done.stderr.splitlines() if not line.startswith("\t")), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
