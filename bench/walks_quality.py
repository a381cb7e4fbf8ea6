"""Do graph walks help next-item accuracy? Sessions vs walks vs walks + sessions, on rare items too.

Per dataset, the split and scoring of bench/tune_presets.py (see docs/evaluation.md): `split
--by last` of each user's history ordered by time, models trained on TRAIN + VALID, scored on
TEST with the item before the target as the query, the whole catalogue ranked. Every model uses
the recsys preset (config.PRESETS, 25 epochs), `--workers 2`, seed 1; the walks are built from
the same training sequences with item2vec.training.walks (seed 1). Reported: HR@10 and NDCG@10 on all
test cases, and HR@10 on the cases whose target is among the rarest third of the training
items (items ordered by training count, ties by id); the co-occurrence baseline is scored the
same way for reference.

Usage:
  nice python bench/walks_quality.py [--retail CSV] [--movielens WHEEL_OR_INTER] [--only retail|movielens]
      [--walks-per-node 10] [--walk-length 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from common import RETAIL, SAMPLE_RETAIL, movielens_csv, retail_path

from item2vec.corpus.options import SessionOptions
from item2vec.corpus.sequences import read_sequences
from item2vec.corpus.split import split_events
from item2vec.evaluation.eval_inputs import merge_validation
from item2vec.evaluation.evaluate import Baselines, rank_model
from item2vec.evaluation.ranking import Cases, Ranked
from item2vec.model.embeddings import Embeddings
from item2vec.training.config import TrainConfig
from item2vec.training.gensim_engine import train
from item2vec.training.walks import WalkOptions, walk_corpus

K = 10


def rare_targets(sequences: list[list[str]], cases: Cases) -> np.ndarray:
    """Mask of the cases whose target is among the rarest third of the training items."""
    counts = Counter(item for seq in sequences for item in seq)
    ranked = sorted(counts, key=lambda item: (counts[item], item))
    rare = set(ranked[: len(ranked) // 3])
    return np.array([target in rare for target in cases.targets])


def row(label: str, ranked: Ranked, rare: np.ndarray, extra: str = "", seconds: float | None = None) -> str:
    metrics = ranked.metrics((K,))
    hits = ranked.ranks < K
    took = f"{seconds:.0f}" if seconds is not None else ""
    return (
        f"| {label} | {metrics[f'hr@{K}']:.4f} | {metrics[f'ndcg@{K}']:.4f} | {hits[rare].mean():.4f} | "
        f"{metrics['cold']:.4f} | {extra} | {took} |"
    )


def run_dataset(
    name: str, events: Path, session: SessionOptions, args: argparse.Namespace, tmp: Path
) -> None:
    summary = split_events(str(events), tmp / name.split()[0], session=session)
    train_seqs = read_sequences([str(summary.files["train"])], session).sequences
    valid_seqs = read_sequences([str(summary.files["valid"])], session).sequences
    test_seqs = read_sequences([str(summary.files["test"])], session).sequences
    full = merge_validation(train_seqs, valid_seqs)
    cases = Cases.from_sequences(test_seqs)
    rare = rare_targets(full, cases)
    print(f"\n### {name}: {len(full):,} sequences, {sum(map(len, full)):,} items, {len(cases):,} test cases "
          f"({int(rare.sum()):,} with a target in the rarest third of items)\n", flush=True)  # fmt: skip
    print(f"| training corpus | HR@{K} | NDCG@{K} | HR@{K} rare third | cold | corpus items | train s |")
    print("|---|---|---|---|---|---|---|", flush=True)
    fitted = Baselines.fit(full, context="window")
    print(
        row("co-occurrence baseline (next item)", fitted.rank_cooccurrence(cases, kmax=K), rare), flush=True
    )
    config = TrainConfig.from_preset("recsys", workers=args.workers, seed=1)
    runs: list[tuple[str, WalkOptions | None]] = [("sessions (recsys preset)", None)]
    shape = {"walks_per_node": args.walks_per_node, "walk_length": args.walk_length}
    for method, p, q in (("deepwalk", 1.0, 1.0), ("node2vec", args.p, args.q)):
        for mix in ("walks", "both"):
            options = WalkOptions(method=method, p=p, q=q, mix=mix, **shape)  # type: ignore[arg-type]
            bias = f" p={p:g} q={q:g}" if method == "node2vec" else ""
            runs.append(
                (f"{method}{bias}, {'walks only' if mix == 'walks' else 'walks + sessions'}", options)
            )
    for label, options in runs:
        started = time.perf_counter()
        sequences = walk_corpus(full, options, seed=1).sequences if options else full
        trained = train(sequences, config=config)
        emb = Embeddings(ids=trained.ids, vectors=trained.vectors, counts=np.asarray(trained.counts))
        ranked = rank_model(emb, cases, kmax=K)
        tokens = f"{sum(map(len, sequences)):,}"
        print(row(label, ranked, rare, tokens, time.perf_counter() - started), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--retail", type=Path, default=RETAIL)
    parser.add_argument("--sample-data", action="store_true", help="use sample_data/online_retail.csv.gz")
    parser.add_argument("--movielens", type=Path, help="recbole wheel or ml-100k.inter")
    parser.add_argument("--only", choices=["retail", "movielens"])
    parser.add_argument("--walks-per-node", type=int, default=WalkOptions().walks_per_node)
    parser.add_argument("--walk-length", type=int, default=WalkOptions().walk_length)
    parser.add_argument("--p", type=float, default=0.5)
    parser.add_argument("--q", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    retail = SAMPLE_RETAIL if args.sample_data else retail_path(args.retail)
    print(f"<!-- walks: {args.walks_per_node} per node, {args.walk_length} items each, directed -->")
    with tempfile.TemporaryDirectory() as tmp:
        if args.movielens and args.only in (None, "movielens"):
            events = movielens_csv(args.movielens, Path(tmp))
            session = SessionOptions(user_col="user_id", item_col="item_id", time_col="timestamp")
            run_dataset("movielens-100k", events, session, args, Path(tmp))
        if args.only in (None, "retail"):
            session = SessionOptions(user_col="CustomerID", item_col="StockCode", time_col="InvoiceDate")
            run_dataset(f"retail ({retail.name})", retail, session, args, Path(tmp))


if __name__ == "__main__":
    main()
