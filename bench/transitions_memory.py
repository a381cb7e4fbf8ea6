"""Transitions in bounded memory and the cost of calibration (issue 22, items 1 and 2), in one run.

1. The transitions stage alone (``build_transitions``, 10 steps, top 100 followers, each pair
   weighted by its sequence's length as a model's are; counted ahead and both ways) on a
   Zipf-like corpus over 1M items (sequences of ``--length`` items on average), at each size of ``--tokens``,
   in a fresh process under ``/usr/bin/time -v``: peak RSS and seconds, against the same stage
   before bounded counting (``--old FILE``: a copy of the old ``item2vec/model/transitions.py``,
   e.g. ``git show 6fa5408:item2vec/model/transitions.py > /tmp/old_transitions.py``; it is run
   only where its memory fits, ``--old-max``). Loading the corpus alone is measured too.
2. ``train`` on Online Retail (``--context window --epochs 5 --workers 2``), the default
   (calibrating) against ``--no-calibrate``, alternating, medians of ``--repeats`` runs: the
   ratio of wall times, calibration's own seconds against the rest, and peak RSS of each; with
   ``--old-tree DIR`` (the tree before, e.g. ``git archive 6fa5408 | tar -x -C /tmp/old``) the
   same pair from that tree, in the same alternation.

Every peak is "Maximum resident set size" of ``/usr/bin/time -v``.

Usage: python bench/transitions_memory.py [--tokens 10000000 50000000] [--length 20] [--old FILE]
       [--old-tree DIR] [--retail PATH] [--repeats 3] [--skip-train] [--skip-stage]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, retail_path

OUT = ROOT / "bench" / "out" / "transitions"
ITEMS = 1_000_000
RETAIL_COLUMNS = ["--user-col", "CustomerID", "--item-col", "StockCode", "--time-col", "InvoiceDate"]


def make_corpus(tokens: int, items: int, length: int, path: Path, seed: int = 0) -> None:
    """Zipf-like item codes (exponent 1) and sequences of 1 + Poisson(length - 1) items, as .npy files."""
    import numpy as np

    if (path / "codes.npy").exists():
        return
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, items + 1)
    cdf = np.cumsum(weights / weights.sum())
    codes = np.empty(tokens, dtype=np.int32)
    for start in range(0, tokens, 5_000_000):
        size = min(5_000_000, tokens - start)
        codes[start : start + size] = np.minimum(np.searchsorted(cdf, rng.random(size)), items - 1)
    lengths = 1 + rng.poisson(length - 1, size=tokens // max(1, length - 1))
    ends = np.cumsum(lengths)
    ends = ends[ends < tokens]
    bounds = np.concatenate([[0], ends, [tokens]]).astype(np.int64)
    np.save(path / "codes.npy", codes)
    np.save(path / "bounds.npy", bounds)


def stage(corpus: Path, old: str | None, load_only: bool, both: bool) -> None:
    """Run the transitions stage once (the measured child process)."""
    import numpy as np

    codes = np.load(corpus / "codes.npy")
    bounds = np.load(corpus / "bounds.npy")
    if load_only:
        return
    if old:
        import importlib.util

        spec = importlib.util.spec_from_file_location("old_transitions", old)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["old_transitions"] = module
        spec.loader.exec_module(module)
        build = module.build_transitions
        started = time.perf_counter()
        matrix = build(codes, bounds, ITEMS, steps=10, keep=100)
    else:
        from item2vec.model.transitions import build_transitions

        started = time.perf_counter()
        matrix = build_transitions(codes, bounds, ITEMS, steps=10, keep=100, per_length=True, both=both)
    print(
        json.dumps(
            {"seconds": time.perf_counter() - started, "entries": matrix.nnz, "mb": matrix.nbytes / 2**20}
        )
    )


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of a command under /usr/bin/time -v."""
    started = time.perf_counter()
    tree = (env or {}).get("PYTHONPATH")  # python -m puts the working folder first: run from the tree
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True,
                          cwd=tree or ROOT, env=env)  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return wall, int(found.group(1)) / 1024 if found else float("nan"), done.stdout


def stage_rows(sizes: list[int], length: int, old: str | None, old_max: int) -> list[str]:
    rows = ["| tokens | version | stage s | peak RSS MB | entries | matrix MB |", "|---|---|---|---|---|---|"]
    for tokens in sizes:
        corpus = OUT / f"zipf-{tokens}-{length}"
        make_corpus(tokens, ITEMS, length, corpus)
        me = [sys.executable, __file__, "--stage", str(corpus)]
        _, base, _ = timed([*me, "--load-only"])
        rows.append(f"| {tokens:,} | corpus loaded only | – | {base:,.0f} | – | – |")
        versions = [("bounded (this tree), ahead", []), ("bounded (this tree), both ways", ["--both"])]
        if old and tokens <= old_max:
            versions.append(("before (all pairs at once)", ["--old", old]))
        for name, extra in versions:
            _, peak, out = timed([*me, *extra])
            got = json.loads(out.strip().splitlines()[-1])
            rows.append(
                f"| {tokens:,} | {name} | {got['seconds']:.1f} | {peak:,.0f} | {got['entries']:,} | {got['mb']:.1f} |"
            )
            print(rows[-1], flush=True)
    return rows


def train_once(data: Path, calibrate: bool, out: Path, tree: Path | None) -> dict[str, float]:
    cmd = [sys.executable, "-m", "item2vec", "train", str(data), "-o", str(out), "--force", *RETAIL_COLUMNS,
           "--context", "window", "--epochs", "5", "--workers", "2", "-q"] + ([] if calibrate else ["--no-calibrate"])  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(tree)} if tree else None
    wall, peak, _ = timed(cmd, env)
    meta = json.loads((out / "model.json").read_text())
    calibration = (meta.get("scoring") or {}).get("calibration") or {}
    return {"wall": wall, "peak": peak, "calibration": float(calibration.get("seconds", 0.0)),
            "printed_peak": float(meta["training"]["peak_rss_mb"])}  # fmt: skip


def train_rows(data: Path, repeats: int, old_tree: Path | None) -> list[str]:
    trees = {"this tree": None, **({"before": old_tree} if old_tree else {})}
    runs: dict[tuple[str, bool], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            for name, tree in trees.items():
                for calibrate in (True, False):
                    got = train_once(data, calibrate, Path(tmp) / "m", tree)
                    runs.setdefault((name, calibrate), []).append(got)
                    print(name, calibrate, got, flush=True)

    def median(name: str, calibrate: bool, key: str) -> float:
        return statistics.median(r[key] for r in runs[(name, calibrate)])

    lines = [
        "| tree | train (Online Retail, window, 5 epochs, 2 workers) | wall s | calibration s | "
        "peak RSS MB (time -v) | peak MB in model.json |",
        "|---|---|---|---|---|---|",
    ]
    for name in trees:
        for c in (True, False):
            lines.append(
                f"| {name} | {'default (calibrates)' if c else '--no-calibrate'} | {median(name, c, 'wall'):.1f} | "
                f"{median(name, c, 'calibration'):.1f} | {median(name, c, 'peak'):,.0f} | "
                f"{median(name, c, 'printed_peak'):,.0f} |"
            )
    lines.append("")
    for name in trees:
        cal = median(name, True, "calibration")
        rest = median(name, True, "wall") - cal
        lines.append(
            f"- {name}, medians of {repeats}: default ÷ --no-calibrate wall "
            f"{median(name, True, 'wall') / median(name, False, 'wall'):.2f}; calibration ÷ the rest of "
            f"train {cal / rest:.2f}; peak RSS default ÷ --no-calibrate "
            f"{median(name, True, 'peak') / median(name, False, 'peak'):.2f}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, nargs="*", default=[10_000_000, 50_000_000])
    parser.add_argument("--old", help="the old item2vec/model/transitions.py, to compare against")
    parser.add_argument("--old-max", type=int, default=10_000_000, help="largest corpus the old version gets")
    parser.add_argument("--length", type=int, default=20, help="mean sequence length of the corpus")
    parser.add_argument("--old-tree", type=Path, help="a checkout of the tree before, to run train from")
    parser.add_argument("--retail", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-stage", action="store_true")
    parser.add_argument("--stage", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--load-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--both", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        stage(args.stage, args.old, args.load_only, args.both)
        return
    os.environ.setdefault("PYTHONHASHSEED", "0")
    lines = [] if args.skip_stage else stage_rows(args.tokens, args.length, args.old, args.old_max)
    if not args.skip_train:
        lines += ["", *train_rows(retail_path(args.retail), args.repeats, args.old_tree)]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
