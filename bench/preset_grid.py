"""Next-item accuracy of candidate presets on purchase histories (leave-last-out).

Sessions are customers' purchase histories of the Online Retail log ordered by time. For each
history of 3+ items the last item is the target and the one before it the query; the model
trains on everything but the targets. HR@10 and MRR@10 of the query's nearest items (ranked
by item2vec.evaluation.evaluate, as `item2vec evaluate` does), with most-popular and next-item
co-occurrence baselines computed on the same training data. bench/tune_presets.py supersedes
this grid (train/valid/test split, Optuna search, a second dataset).

Usage: python bench/preset_grid.py [EVENTS.csv.gz] [--quick]
"""

from __future__ import annotations

import sys
import time

import numpy as np
from common import retail_path

from item2vec.corpus.events import open_source
from item2vec.corpus.options import SessionOptions
from item2vec.corpus.sequences import load_corpus
from item2vec.evaluation.evaluate import Baselines, rank_model
from item2vec.evaluation.ranking import Cases, Ranked
from item2vec.model.embeddings import Embeddings
from item2vec.training.config import TrainConfig
from item2vec.training.gensim_engine import train


def split(sequences: list[list[str]]) -> tuple[list[list[str]], Cases]:
    train_part = [seq[:-1] if len(seq) >= 3 else seq for seq in sequences]
    return train_part, Cases.from_sequences(seq for seq in sequences if len(seq) >= 3)


def baselines(train_part: list[list[str]], cases: Cases) -> dict[str, tuple[float, float]]:
    fitted = Baselines.fit(train_part)
    return {
        "most-popular": _hr_mrr(fitted.rank_popular(cases, kmax=10)),
        "next-item co-occurrence": _hr_mrr(fitted.rank_cooccurrence(cases, kmax=10)),
    }


def _hr_mrr(ranked: Ranked) -> tuple[float, float]:
    row = ranked.metrics((10,))
    return row["hr@10"], row["mrr@10"]


def evaluate(
    train_part: list[list[str]], cases: Cases, config: TrainConfig, sg: int = 1
) -> tuple[float, float, float]:
    started = time.perf_counter()
    if sg == 0:
        from gensim.models import Word2Vec

        model = Word2Vec(train_part, workers=config.workers, seed=config.seed)  # raw gensim defaults (CBOW)
        ids, vectors, counts = (
            list(model.wv.index_to_key),
            model.wv.vectors,
            np.ones(len(model.wv), dtype=np.int64),
        )
    else:
        trained = train(train_part, config=config)
        ids, vectors, counts = trained.ids, trained.vectors, np.asarray(trained.counts)
    seconds = time.perf_counter() - started
    hr, mrr = _hr_mrr(rank_model(Embeddings(ids=ids, vectors=vectors, counts=counts), cases, kmax=10))
    return hr, mrr, seconds


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = args[0] if args else str(retail_path())
    options = SessionOptions(user_col="CustomerID", item_col="StockCode", time_col="InvoiceDate")
    corpus = load_corpus([open_source(path)], None, options)
    train_part, cases = split(corpus.sequences)
    print(f"{len(train_part):,} histories, {len(cases):,} test cases", flush=True)
    for name, (hr, mrr) in baselines(train_part, cases).items():
        print(f"{name:40s} HR@10 {hr:.4f}  MRR@10 {mrr:.4f}", flush=True)
    base = {"min_count": 3, "workers": 2, "seed": 1}
    grid: list[tuple[str, dict[str, object], int]] = [
        ("raw gensim defaults (CBOW)", {}, 0),
        ("text preset (skip-gram)", {"preset": "text", "min_count": 5}, 1),
        ("recsys preset", {}, 1),
    ]
    for key, values in {
        "ns_exponent": [0.75, 0.0, 0.5, -1.0],
        "sample": [0.0, 1e-5, 1e-3],
        "window": [3, 5, 10],
        "epochs": [10, 20, 40],
        "dim": [32, 64, 128],
        "negative": [5, 10, 20],
    }.items():
        grid.extend((f"recsys {key}={v}", {key: v}, 1) for v in values)
    if "--quick" in sys.argv:
        grid = grid[:3]
    for label, overrides, sg in grid:
        settings = {**base, **overrides}
        preset = str(settings.pop("preset", "recsys"))
        config = TrainConfig.from_preset(preset, **settings)
        hr, mrr, seconds = evaluate(train_part, cases, config, sg=sg)
        print(f"{label:40s} HR@10 {hr:.4f}  MRR@10 {mrr:.4f}  ({seconds:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
