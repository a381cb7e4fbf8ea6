"""What `--context set` (reshuffle + fixed window) keeps of full pairwise basket context.

Baskets are Online Retail invoices. 10% of baskets are held out; for each held-out basket one
item is hidden and the mean of the others is the query (basket completion, HR@10). Compared:
  * full pairwise: gensim skip-gram with a window as wide as the largest basket and no window
    shrinking, i.e. every basket mate is context (Item2Vec as published; quadratic cost);
  * item2vec `--context set` with window 5 and 10 (reshuffled every epoch; linear cost).
Also the overlap of each item's 10 nearest neighbours with the full-pairwise model's.

Usage: python bench/set_context.py [EVENTS.csv.gz] [--epochs 5]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import numpy as np
from common import RETAIL, retail_path

from item2vec.corpus.events import open_source
from item2vec.corpus.options import SessionOptions
from item2vec.corpus.sequences import load_corpus
from item2vec.model.embeddings import Embeddings
from item2vec.query.neighbours import similar
from item2vec.training.config import TrainConfig
from item2vec.training.gensim_engine import train


def full_pairwise(baskets: list[list[str]], config: TrainConfig) -> tuple[Embeddings, float]:
    from gensim.models import Word2Vec

    widest = max(len(b) for b in baskets)
    started = time.perf_counter()
    model = Word2Vec(
        baskets, sg=1, vector_size=config.dim, window=widest, negative=config.negative,
        ns_exponent=config.ns_exponent, sample=config.sample, min_count=config.min_count,
        epochs=config.epochs, workers=config.workers, seed=config.seed, shrink_windows=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    ids = list(model.wv.index_to_key)
    return Embeddings(ids=ids, vectors=model.wv.vectors, counts=np.ones(len(ids), dtype=np.int64)), seconds


def linear(baskets: list[list[str]], config: TrainConfig) -> tuple[Embeddings, float]:
    trained = train(baskets, config=config)
    emb = Embeddings(ids=trained.ids, vectors=trained.vectors, counts=np.asarray(trained.counts))
    return emb, trained.seconds


def completion_hr(emb: Embeddings, cases: list[tuple[list[str], str]], k: int = 10) -> float:
    hits = 0
    for rest, target in cases:
        known = [i for i in rest if i in emb.index]
        if not known:
            continue
        top = [n.item for n in similar(emb, known, k=k, combine=True)]
        hits += target in top
    return hits / len(cases)


def overlap(a: Embeddings, b: Embeddings, k: int = 10) -> float:
    common = [i for i in a.ids if i in b.index]
    top_a = {}
    for n in similar(a, common, k=k):
        top_a.setdefault(n.query, set()).add(n.item)
    total = 0.0
    for n_query, items in _grouped(similar(b, common, k=k)).items():
        total += len(items & top_a[n_query]) / k
    return total / len(common)


def _grouped(rows: list) -> dict[str, set[str]]:  # type: ignore[type-arg]
    out: dict[str, set[str]] = {}
    for n in rows:
        out.setdefault(n.query, set()).add(n.item)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("events", nargs="?", default=str(RETAIL))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="WINDOW:EPOCHS",
        help="linear runs to compare (default 5:5, 10:5, 25:5, 5:20)",
    )
    parser.add_argument(
        "--no-full", action="store_true", help="skip the quadratic baseline (overlap is then not computed)"
    )
    args = parser.parse_args()
    options = SessionOptions(user_col=None, session_col="InvoiceNo", item_col="StockCode")
    baskets = load_corpus([open_source(str(retail_path(Path(args.events))))], None, options).sequences
    rng = random.Random(0)
    rng.shuffle(baskets)
    cut = len(baskets) // 10
    held, kept = baskets[:cut], baskets[cut:]
    cases = []
    for basket in held:
        hidden = rng.randrange(len(basket))
        cases.append((basket[:hidden] + basket[hidden + 1 :], basket[hidden]))
    sizes = sorted(len(b) for b in kept)
    print(
        f"{len(kept):,} training baskets (median {sizes[len(sizes) // 2]}, largest {sizes[-1]} items), {len(cases):,} completion cases"
    )
    base = TrainConfig.from_preset("recsys", epochs=args.epochs, workers=2, context="set")
    full, full_s = (None, 0.0) if args.no_full else full_pairwise(kept, base)
    if full is not None:
        label = f"full pairwise (window {sizes[-1]}), {args.epochs} epochs"
        print(f"{label:40s} {full_s:7.1f} s  HR@10 {completion_hr(full, cases):.4f}", flush=True)
    for spec in args.set or ["5:5", "10:5", "25:5", "5:20"]:
        window, epochs = (int(x) for x in spec.split(":"))
        config = TrainConfig.from_preset("recsys", epochs=epochs, workers=2, context="set", window=window)
        emb, seconds = linear(kept, config)
        line = f"{f'--context set --window {window}, {epochs} epochs':40s} {seconds:7.1f} s  HR@10 {completion_hr(emb, cases):.4f}"
        if full is not None:
            line += f"  neighbour overlap@10 with full {overlap(full, emb):.3f}  time ratio {seconds / full_s:.3f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
