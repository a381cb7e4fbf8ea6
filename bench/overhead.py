"""`item2vec train` against a raw pandas + gensim script doing the same job, on Online Retail.

The raw script (``--raw-child``, run as its own process) reads the CSV with pandas, drops rows
without a customer, orders each customer's events by time (stable), drops consecutive repeats
and histories shorter than 2, trains gensim ``Word2Vec`` skip-gram with the recsys preset's
parameters (dim, window, negative, sample, ns_exponent, min_count, alpha, seed; the shrinking
window of ``--context window``) for the same epochs and workers, and saves the vectors with
``model.wv.save_word2vec_format``. Against it: ``item2vec train`` by default (which calibrates
its scoring on held-out last items) and with ``--no-calibrate``, same columns and settings.

The three run alternating, ``--repeats`` rounds; the table gives median wall seconds (min–max),
the ratio of each median to the raw script's, the same for CPU seconds (user + system, every
thread; less moved by other processes than wall time), and the median peak RSS of each child
(``os.wait4``'s ``ru_maxrss``, what ``/usr/bin/time -v`` calls "Maximum resident set size").
The load average before and after is printed: the machine may be shared.

Usage: python bench/overhead.py [--retail PATH] [--repeats 3] [--epochs 5] [--workers 2] [--tree DIR]

(``--tree DIR``: run item2vec from another checkout, e.g. ``git archive HEAD | tar -x -C DIR``,
while the working tree is mid-edit.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common import retail_path, spread

ROOT = Path(__file__).resolve().parent.parent
RETAIL_COLUMNS = ["--user-col", "CustomerID", "--item-col", "StockCode", "--time-col", "InvoiceDate"]


@dataclass(frozen=True)
class Child:
    """One child process: wall seconds, CPU seconds (user + system, all its threads) and peak RSS MB."""

    seconds: float
    cpu: float
    peak_mb: float


def run_child(cmd: list[str], env: dict[str, str]) -> Child:
    """Run ``cmd`` to the end (exit with its stderr's tail if it fails), measured by ``os.wait4``."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(
                f"command failed: {' '.join(cmd)}\n{err.read().decode(errors='replace')[-2000:]}"
            )
    return Child(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def raw_child(data: str, out: str, epochs: int, workers: int, min_count: int) -> None:
    """The raw pandas + gensim script (run in its own process; imports nothing of item2vec)."""
    import numpy as np
    import pandas as pd
    from gensim.models import Word2Vec

    frame = pd.read_csv(
        data, usecols=["CustomerID", "StockCode", "InvoiceDate"], dtype={"CustomerID": str, "StockCode": str}
    ).dropna()
    frame["time"] = pd.to_datetime(frame["InvoiceDate"])
    frame = frame.sort_values(["CustomerID", "time"], kind="stable")
    users = frame["CustomerID"].to_numpy()
    items = frame["StockCode"].to_numpy()
    keep = np.ones(len(items), dtype=bool)
    keep[1:] = (items[1:] != items[:-1]) | (users[1:] != users[:-1])  # consecutive repeats
    users, items = users[keep], items[keep]
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    sentences = [s.tolist() for s in np.split(items, starts[1:]) if len(s) >= 2]
    model = Word2Vec(
        sentences, sg=1, hs=0, vector_size=64, window=8, negative=10, ns_exponent=0.0, sample=1e-4,
        min_count=min_count, alpha=0.05, seed=1, workers=workers, epochs=epochs, shrink_windows=True,
    )  # fmt: skip
    model.wv.save_word2vec_format(out)
    print(json.dumps({"sentences": len(sentences), "items": len(model.wv)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--retail", type=Path, help="the Online Retail CSV (default: ../shared/data)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--min-count", type=int, default=1, help="the raw script's (item2vec's recsys: 1, every item)"
    )
    parser.add_argument(
        "--tree", type=Path, default=ROOT, help="the checkout to run item2vec from (e.g. a git archive)"
    )
    parser.add_argument("--raw-child", nargs=2, metavar=("DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_child:
        raw_child(args.raw_child[0], args.raw_child[1], args.epochs, args.workers, args.min_count)
        return

    data = retail_path(args.retail)
    settings = ["--context", "window", "--epochs", str(args.epochs), "--workers", str(args.workers), "-q"]
    runs: dict[str, list[Child]] = {
        "raw pandas + gensim": [],
        "train (default)": [],
        "train --no-calibrate": [],
    }
    stages: dict[str, list[float]] = {"read": [], "training": [], "calibration": []}
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            for name in runs:
                out = Path(tmp) / (
                    "raw" if name.startswith("raw") else "no-cal" if "no-cal" in name else "default"
                )
                if name.startswith("raw"):
                    cmd = [sys.executable, __file__, "--raw-child", str(data), str(out / "vectors.txt"),
                           "--epochs", str(args.epochs), "--workers", str(args.workers),
                           "--min-count", str(args.min_count)]  # fmt: skip
                    out.mkdir(exist_ok=True)
                else:
                    cmd = [sys.executable, "-m", "item2vec", "train", str(data), "-o", str(out), "--force",
                           *RETAIL_COLUMNS, *settings] + (["--no-calibrate"] if "no-cal" in name else [])  # fmt: skip
                got = run_child(cmd, env={**os.environ, "PYTHONPATH": str(args.tree)})
                runs[name].append(got)
                if name == "train (default)":
                    meta = json.loads((out / "model.json").read_text())
                    cal = ((meta.get("scoring") or {}).get("calibration") or {}).get("seconds", 0.0)
                    stages["calibration"].append(float(cal))
                    stages["training"].append(float(meta["training"].get("train_seconds", 0.0)))
                    stages["read"].append(float(meta["training"].get("read_seconds", 0.0)))
                print(
                    f"{name}: {got.seconds:.1f} s, CPU {got.cpu:.1f} s, peak {got.peak_mb:.0f} MB", flush=True
                )
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    raw = statistics.median(r.seconds for r in runs["raw pandas + gensim"])
    raw_cpu = statistics.median(r.cpu for r in runs["raw pandas + gensim"])
    print()
    print(f"Online Retail ({data.name}), --context window, {args.epochs} epochs, {args.workers} workers, "
          f"medians of {args.repeats} alternating runs")  # fmt: skip
    print()
    print("| run | wall s, median (min–max) | ÷ raw | CPU s (user + system), median (min–max) | ÷ raw | "
          "peak RSS MB, median (min–max) |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name, done in runs.items():
        wall = statistics.median(r.seconds for r in done)
        cpu = statistics.median(r.cpu for r in done)
        print(f"| {name} | {spread([r.seconds for r in done])} | {wall / raw:.2f} | "
              f"{spread([r.cpu for r in done])} | {cpu / raw_cpu:.2f} | "
              f"{spread([r.peak_mb for r in done], '{:,.0f}')} |")  # fmt: skip
    print()
    print(
        "train (default), model.json's stages: " + ", ".join(f"{k} {spread(v)} s" for k, v in stages.items())
    )
    print(f"load average after: {load}")


if __name__ == "__main__":
    main()
