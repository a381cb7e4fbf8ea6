"""`train --engine gensim` vs `--engine spark` on the full Online Retail log: time and next-item HR@10.

Customers' purchase histories ordered by InvoiceDate are split with `item2vec split --by last`
(the last item of each history is the test target); both engines train on the train file with
the same CLI, and `item2vec evaluate --query last` scores them on the test file. Each run is a
fresh `item2vec train` process, so Spark's times include starting its JVM (reported apart as
the wall time minus model.json's read and train seconds).

Usage:
  nice python bench/spark_vs_gensim.py [--retail CSV] [--master 'local[2]']
      [--partitions 1,2,4] [--spark-epochs 5] [--variant 'LABEL=--epochs 10 --window 5' ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from common import RETAIL, retail_path

COLUMNS = ["--user-col", "CustomerID", "--item-col", "StockCode", "--time-col", "InvoiceDate"]
ITEM2VEC = [sys.executable, "-m", "item2vec"]


def run(args: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(ITEM2VEC + args, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"item2vec {shlex.join(args)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def train_and_score(label: str, train: Path, test: Path, model: Path, extra: list[str]) -> str:
    wall = run(["train", str(train), "-o", str(model), "--force", "-q", *COLUMNS, *extra])
    meta = json.loads((model / "model.json").read_text())
    spent = meta["training"]
    out = subprocess.run(
        [*ITEM2VEC, "evaluate", str(model), str(test), "--no-baselines", "-f", "json"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    hr = next(r for r in json.loads(out)["next-item"] if r["method"] == "model")["hr@10"]
    overhead = wall - spent["read_seconds"] - spent["train_seconds"]
    return (
        f"| {label} | {hr:.4f} | {wall:.0f} | {spent['read_seconds']:.0f} | {spent['train_seconds']:.0f} "
        f"| {overhead:.0f} | {meta['items']:,} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--retail", type=Path, default=RETAIL)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--partitions", default="1,2,4")
    parser.add_argument("--spark-epochs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--variant", action="append", default=[], help="LABEL=spark train options")
    args = parser.parse_args()
    print(f"<!-- {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at start -->", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        run(["split", str(retail_path(args.retail)), "-o", str(out / "split"), *COLUMNS])
        train = next((out / "split").glob("train.*"))
        test = next((out / "split").glob("test.*"))
        print("| engine and options | HR@10 | wall s | read s | train s | start+save s | items |")
        print("|---|---|---|---|---|---|---|", flush=True)
        gensim = ["--engine", "gensim", "--workers", str(args.workers), "--seed", "1"]
        print(
            train_and_score(f"gensim recsys preset, {args.workers} workers", train, test, out / "g", gensim),
            flush=True,
        )
        spark = ["--engine", "spark", "--spark-master", args.master, "--seed", "1"]
        for parts in args.partitions.split(","):
            extra = [*spark, "--spark-partitions", parts, "--epochs", str(args.spark_epochs)]
            label = f"spark {args.master}, {parts} partition(s), --epochs {args.spark_epochs}"
            print(train_and_score(label, train, test, out / f"s{parts}", extra), flush=True)
        for variant in args.variant:
            label, _, options = variant.partition("=")
            extra = [*spark, *shlex.split(options)]
            print(train_and_score(f"spark {args.master}, {label}", train, test, out / "v", extra), flush=True)
    print(f"<!-- load average {os.getloadavg()[0]:.1f} at the end -->")


if __name__ == "__main__":
    main()
