"""Time `item2vec recommend --events`: candidates for every user of a log, in batches.

    python bench/recommend_batch.py                          # 100,000 users, 20,000 items x 64, k=100
    python bench/recommend_batch.py --items 100000 --approx  # with a stored HNSW index

A synthetic model (random vectors) and an event log of --users users with --events items each
(epoch-second times, file order shuffled) are written to a temporary directory; the timed part
is the command as a user runs it: a fresh process that reads the log, builds every user's
decayed-mean query and writes the Parquet table.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--events", type=int, default=10, help="events per user")
    parser.add_argument("-k", type=int, default=100)
    parser.add_argument("--approx", action="store_true", help="build an HNSW index and pass --approx")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="item2vec-batch-") as tmp:
        model, log, out = Path(tmp) / "model", Path(tmp) / "events.parquet", Path(tmp) / "candidates.parquet"
        ids = [f"sku{n:06d}" for n in range(args.items)]
        vectors = rng.standard_normal((args.items, args.dim), dtype=np.float32)
        save(Embeddings(ids=ids, vectors=vectors, counts=np.ones(args.items, dtype=np.int64),
                        meta={"created": time.strftime("%Y-%m-%dT%H:%M:%S")}), model)  # fmt: skip
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
        command = [binary, "recommend", str(model), "--events", str(log), "--time-col", "ts",
                   "-k", str(args.k), "-o", str(out)] + (["--approx"] if args.approx else [])  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        rows = pq.read_metadata(out).num_rows
    mode = "--approx (hnsw)" if args.approx else "exact"
    print(f"| {args.users:,} users x {args.events} events | {args.items:,} items x {args.dim} | k={args.k} "
          f"| {mode} | {elapsed:.1f} s | {rows:,} rows |")  # fmt: skip
    print(done.stderr.strip(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
