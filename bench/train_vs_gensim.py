"""`item2vec train` end to end vs raw gensim on identical sequences and parameters.

For each dataset, every run trains twice in fresh processes, alternating order:
  * item2vec: `item2vec train INPUT ... -q` (process start, reading, sessionizing, training, saving);
  * gensim:   a script that loads the very same sequences into a list (not timed), then times
              `Word2Vec(sentences, sg=1, <identical parameters>)`.
Reported: median (min-max) wall seconds of each, the ratio item2vec / gensim (target <= 1.10),
item2vec's training-only time from model.json against gensim's, and peak RSS of each process.

Usage: python bench/train_vs_gensim.py [--runs 3] [--only retail|text] [--smoke]
`--smoke` runs once on a small generated log (used by the test suite).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from item2vec.config import TrainConfig
from item2vec.events import open_source
from item2vec.sequences import SessionOptions, load_corpus

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
BIN = Path(sys.executable).parent / "item2vec"

GENSIM_SCRIPT = """
import json, sys, time
from gensim.models import Word2Vec
params = json.loads(sys.argv[2])
with open(sys.argv[1], encoding="utf-8") as handle:
    sentences = [line.split() for line in handle]
started = time.perf_counter()
Word2Vec(sentences, sg=1, hs=0, **params)
print(time.perf_counter() - started)
"""


def datasets(smoke: bool, tmp: Path) -> list[dict[str, object]]:
    if smoke:
        path = tmp / "smoke.csv"
        rng = random.Random(0)
        rows = [f"u{u},{u % 4}-{rng.randrange(20)}" for u in range(400) for _ in range(5)]
        path.write_text("user_id,item_id\n" + "\n".join(rows) + "\n")
        return [
            {
                "name": "smoke",
                "args": [str(path)],
                "session": SessionOptions(),
                "fmt": None,
                "preset": "recsys",
                "epochs": 2,
            }
        ]
    retail = SHARED / "online_retail" / "online_retail.csv.gz"
    text = SHARED / "gutenberg" / "corpus.txt.gz"
    return [
        {
            "name": "retail",
            "args": [
                str(retail),
                "--user-col",
                "CustomerID",
                "--item-col",
                "StockCode",
                "--time-col",
                "InvoiceDate",
            ],
            "session": SessionOptions(user_col="CustomerID", item_col="StockCode", time_col="InvoiceDate"),
            "fmt": None,
            "preset": "recsys",
            "epochs": None,
        },
        {
            "name": "text",
            "args": [str(text)],
            "session": SessionOptions(),
            "fmt": "text",
            "preset": "text",
            "epochs": None,
        },
    ]


def measure(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss / 1024, out


def bench(data: dict[str, object], runs: int, workers: int, tmp: Path) -> dict[str, object]:
    config = TrainConfig.from_preset(str(data["preset"]), workers=workers, epochs=data["epochs"])
    corpus = load_corpus([open_source(str(data["args"][0]))], data["fmt"], data["session"])  # type: ignore[index,arg-type]
    seq_file = tmp / f"{data['name']}.seq"
    seq_file.write_text("".join(" ".join(s) + "\n" for s in corpus.sequences), encoding="utf-8")
    params = {
        "vector_size": config.dim, "window": config.window, "negative": config.negative,
        "ns_exponent": config.ns_exponent, "sample": config.sample, "epochs": config.epochs,
        "min_count": config.min_count, "alpha": config.alpha, "workers": workers, "seed": config.seed,
    }  # fmt: skip
    flags = [
        "--preset", config.preset, "--dim", str(config.dim), "--window", str(config.window),
        "--negative", str(config.negative), "--ns-exponent", str(config.ns_exponent), "--sample", str(config.sample),
        "--epochs", str(config.epochs), "--min-count", str(config.min_count), "--alpha", str(config.alpha),
        "--workers", str(workers), "--seed", str(config.seed), "--context", "window",
    ]  # fmt: skip
    if data["fmt"]:
        flags += ["--input-format", str(data["fmt"])]
    ours, theirs, ours_train, ours_rss, theirs_rss = [], [], [], [], []
    for run in range(runs):
        model = tmp / f"{data['name']}-model"
        cmd_ours = [str(BIN), "train", *data["args"], "-o", str(model), "--force", "-q", *flags]  # type: ignore[misc]
        cmd_theirs = [sys.executable, "-c", GENSIM_SCRIPT, str(seq_file), json.dumps(params)]
        order = [("ours", cmd_ours), ("gensim", cmd_theirs)]
        for who, cmd in order if run % 2 == 0 else order[::-1]:
            wall, rss, out = measure(cmd)
            if who == "ours":
                ours.append(wall)
                ours_rss.append(rss)
                ours_train.append(json.loads((model / "model.json").read_text())["training"]["train_seconds"])
            else:
                theirs.append(float(out.strip()))
                theirs_rss.append(rss)
    return {
        "dataset": data["name"],
        "sequences": len(corpus.sequences),
        "tokens": corpus.stats.tokens,
        "params": f"{config.preset} dim {config.dim} window {config.window} epochs {config.epochs} workers {workers}",
        "item2vec_end_to_end": ours,
        "item2vec_train_only": ours_train,
        "gensim_train": theirs,
        "item2vec_rss_mb": ours_rss,
        "gensim_rss_mb": theirs_rss,
    }


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def report(results: list[dict[str, object]], runs: int) -> str:
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"median (min-max) of {runs} runs",
        "",
        "| dataset | sequences | items | parameters | item2vec end to end, s | gensim train, s | ratio | "
        "item2vec train only, s | ratio | peak RSS item2vec / gensim, MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ours, theirs, train_only = r["item2vec_end_to_end"], r["gensim_train"], r["item2vec_train_only"]
        ratio = statistics.median(ours) / statistics.median(theirs)  # type: ignore[arg-type]
        train_ratio = statistics.median(train_only) / statistics.median(theirs)  # type: ignore[arg-type]
        lines.append(
            f"| {r['dataset']} | {r['sequences']:,} | {r['tokens']:,} | {r['params']} | {spread(ours)} | "  # type: ignore[arg-type]
            f"{spread(theirs)} | {ratio:.2f} | {spread(train_only)} | {train_ratio:.2f} | "  # type: ignore[arg-type]
            f"{statistics.median(r['item2vec_rss_mb']):.0f} / {statistics.median(r['gensim_rss_mb']):.0f} |"  # type: ignore[arg-type]
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", choices=["retail", "text"])
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        chosen = [d for d in datasets(args.smoke, tmp) if not args.only or d["name"] == args.only]
        results = [bench(d, 1 if args.smoke else args.runs, args.workers, tmp) for d in chosen]
    print(report(results, 1 if args.smoke else args.runs))


if __name__ == "__main__":
    main()
