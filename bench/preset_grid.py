"""Next-item accuracy of candidate presets on purchase histories (leave-last-out).

Sessions are customers' purchase histories of the Online Retail log ordered by time. For each
history of 3+ items the last item is the target and the one before it the query; the model
trains on everything but the targets. HR@10 and MRR@10 of `similar(query)`, with
most-popular and next-item co-occurrence baselines computed on the same training data.

Usage: python bench/preset_grid.py [EVENTS.csv.gz] [--quick]
"""

from __future__ import annotations

import itertools
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from item2vec.config import TrainConfig
from item2vec.embeddings import Embeddings
from item2vec.events import open_source
from item2vec.sequences import SessionOptions, load_corpus
from item2vec.train import train

DEFAULT = Path(__file__).resolve().parents[2] / "shared/data/online_retail/online_retail.csv.gz"


def split(sequences: list[list[str]]) -> tuple[list[list[str]], list[tuple[str, str]]]:
    train_part, cases = [], []
    for seq in sequences:
        if len(seq) >= 3:
            cases.append((seq[-2], seq[-1]))
            train_part.append(seq[:-1])
        else:
            train_part.append(seq)
    return train_part, cases


def hit_rate(ranked: dict[str, list[str]], cases: list[tuple[str, str]], k: int = 10) -> tuple[float, float]:
    hits, rr = 0, 0.0
    for query, target in cases:
        top = ranked.get(query, [])[:k]
        if target in top:
            hits += 1
            rr += 1 / (top.index(target) + 1)
    return hits / len(cases), rr / len(cases)


def baselines(train_part: list[list[str]], cases: list[tuple[str, str]]) -> dict[str, tuple[float, float]]:
    popular = [i for i, _ in Counter(i for s in train_part for i in s).most_common(11)]
    following: dict[str, Counter[str]] = defaultdict(Counter)
    for seq in train_part:
        for a, b in itertools.pairwise(seq):
            following[a][b] += 1
    queries = {q for q, _ in cases}
    pop = {q: [i for i in popular if i != q] for q in queries}
    cooc = {q: [i for i, _ in following[q].most_common(10)] for q in queries}
    return {"most-popular": hit_rate(pop, cases), "next-item co-occurrence": hit_rate(cooc, cases)}


def evaluate(
    train_part: list[list[str]], cases: list[tuple[str, str]], config: TrainConfig, sg: int = 1
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
    emb = Embeddings(ids=ids, vectors=vectors, counts=counts)
    queries = sorted({q for q, _ in cases if q in emb.index})
    ranked: dict[str, list[str]] = defaultdict(list)
    for n in emb.similar(queries, k=10):
        ranked[n.query].append(n.item)
    hr, mrr = hit_rate(ranked, cases)
    return hr, mrr, seconds


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = args[0] if args else str(DEFAULT)
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
