"""Side information for cold items, and `update` against retraining, on Online Retail.

Sequences are invoices (one basket each, in file order; cancellations and returns dropped).
Attributes are derived honestly from the product data itself:
  * ``pre3``  - the first three characters of the StockCode (product family, e.g. 851.., 220..)
  * ``word``  - each word of the description (3+ letters, a few stop words removed)
  * ``price`` - band of the median UnitPrice (<1, 1-2, 2-4, 4-8, 8+)

Part 1, cold items. 10% of items (with 5+ events) are held out of training entirely (their
events are removed from the training baskets); 10% of invoices are test baskets. A test case is
a pair (item, next item in the basket); HR@10 is the share of cases whose next item is among the
10 items most similar to the current one (cosine, the current item excluded), every item of the
catalogue (learned and held out) being a candidate. Cases whose target is held out compare:
  * random vectors for held-out items, popularity (can never name an unseen item), attribute
    overlap (rank by Jaccard similarity of attributes, ties by popularity),
  * attributes in training, two ways: "sentences" (what `train --item-features` does: the
    sequences plus [item, attr...] x5 for each item) and "interleave" (each item occurrence
    followed by its attributes); cold vectors either the mean of the attribute-token vectors,
    or the mean over the item's attributes of the mean unit vector of the learned items carrying
    each attribute ("mates", what `train` and `embed` do).
Cases whose target is a learned item show what attributes cost or bring to normal items.

Part 2, update. Invoices ordered by date: the first 80% are "old", the next 10% "new", the last
10% test. `update` (old model + new data) against `train` on old+new: wall time of the command
and HR@10 on the test baskets.

With --movielens (the RecBole wheel, as bench/tune_presets.py uses it), part 1 also runs on
MovieLens 100K user histories (ordered by time) with genres and release decade as attributes.

Usage: nice python bench/features_quality.py [EVENTS.csv.gz] [--epochs 10] [--workers 2]
           [--movielens recbole-1.2.1-py3-none-any.whl] [--only cold|update|movielens]
           [--modes interleave,sentences]
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from common import RETAIL, movielens_histories, recbole_text, retail_path

from item2vec.corpus.options import SessionOptions
from item2vec.training.config import TrainConfig
from item2vec.training.features import (
    FeatureOptions,
    FeatureSpace,
    attribute_sentences,
    interleave,
    split_trained,
)
from item2vec.training.gensim_engine import train
from item2vec.training.pipeline import run_training
from item2vec.training.requests import TrainRequest
from item2vec.training.update import run_update

STOP = {"SET", "AND", "THE", "WITH", "FOR", "OF", "IN", "DESIGN", "SMALL", "LARGE", "MINI"}
PREFIX = "~f:"
K = 10


def read_retail(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = frame[(~frame.InvoiceNo.str.startswith("C")) & (frame.Quantity.astype(float) > 0)]
    frame = frame[frame.StockCode != ""]
    frame["date"] = pd.to_datetime(frame.InvoiceDate)
    return frame


def baskets(frame: pd.DataFrame) -> list[list[str]]:
    out = []
    for _, group in frame.groupby("InvoiceNo", sort=False):
        items = list(dict.fromkeys(group.StockCode))
        if len(items) >= 2:
            out.append(items)
    return out


def attribute_table(frame: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    desc = frame.groupby("StockCode").Description.agg(lambda s: s.value_counts().index[0])
    price = frame.groupby("StockCode").UnitPrice.agg(lambda s: float(np.median(s.astype(float))))
    bands = np.digitize(price.values, [1, 2, 4, 8])
    table: dict[str, tuple[str, ...]] = {}
    for code, text, band in zip(desc.index, desc.values, bands):
        words = [w for w in re.findall(r"[A-Z]{3,}", str(text).upper()) if w not in STOP]
        tokens = [f"pre3={code[:3]}", f"price=p{band}", *(f"word={w}" for w in dict.fromkeys(words))]
        table[code] = tuple(tokens)
    return table


def pairs(seqs: list[list[str]]) -> list[tuple[str, str]]:
    return [(s[i], s[i + 1]) for s in seqs for i in range(len(s) - 1)]


def unit(m: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(m, axis=1, keepdims=True)
    n[n == 0] = 1
    return (m / n).astype(np.float32)


def hit_rate(scores_for, ids: list[str], cases: list[tuple[str, str]]) -> float:
    """scores_for(query rows) -> [len(rows) x len(ids)] scores; unknown queries count as misses."""
    index = {item: r for r, item in enumerate(ids)}
    known = [(index[a], index.get(b, -1)) for a, b in cases if a in index]
    hits = 0
    for start in range(0, len(known), 2000):
        chunk = np.array(known[start : start + 2000])
        scores = scores_for(chunk[:, 0])
        scores[np.arange(len(chunk)), chunk[:, 0]] = -np.inf
        top = np.argpartition(-scores, K, axis=1)[:, :K]
        hits += int((top == chunk[:, 1:2]).any(axis=1).sum())
    return hits / len(cases) if cases else float("nan")


def cosine(vectors: np.ndarray):
    u = unit(vectors)
    return lambda rows: u[rows] @ u.T


def popularity(ids: list[str], counts: Counter):
    pop = np.array([counts.get(i, 0) for i in ids], dtype=np.float32)
    return lambda rows: np.tile(pop, (len(rows), 1))


def jaccard(ids: list[str], table: dict[str, tuple[str, ...]], counts: Counter):
    vocab = {t: j for j, t in enumerate(sorted({t for ts in table.values() for t in ts}))}
    m = np.zeros((len(ids), len(vocab)), dtype=np.float32)
    for r, item in enumerate(ids):
        for t in table.get(item, ()):
            m[r, vocab[t]] = 1
    size = m.sum(axis=1)
    pop = np.array([counts.get(i, 0) for i in ids], dtype=np.float32)
    tie = 1e-3 * pop / max(1.0, pop.max())

    def score(rows: np.ndarray) -> np.ndarray:
        inter = m[rows] @ m.T
        union = size[rows, None] + size[None, :] - inter
        return inter / np.maximum(union, 1) + tie

    return score


def mates_vectors(items: list[str], table, learned_ids: list[str], learned_vecs: np.ndarray) -> np.ndarray:
    """Cold vector = mean over its attributes of the mean unit vector of learned items with it."""
    u = unit(learned_vecs)
    by_token: dict[str, list[int]] = {}
    for r, item in enumerate(learned_ids):
        for t in table.get(item, ()):
            by_token.setdefault(t, []).append(r)
    centroid = {t: u[rows].mean(axis=0) for t, rows in by_token.items()}
    out = []
    for item in items:
        parts = [centroid[t] for t in table.get(item, ()) if t in centroid]
        out.append(np.mean(parts, axis=0) if parts else np.zeros(u.shape[1], dtype=np.float32))
    return np.array(out, dtype=np.float32)


def train_items(seqs, config, table=None, mode="interleave"):
    """Returns (ids, vectors, space or None) with held-out items inferred when a table is given."""
    if table is None:
        trained = train(seqs, config=config)
        return trained.ids, trained.vectors, None, trained.seconds
    with_sentences = None
    if mode == "interleave":
        corpus = interleave(seqs, table, PREFIX)
    else:  # what `train --item-features` does
        corpus, with_sentences = attribute_sentences(seqs, table, PREFIX)
    trained = train(corpus, config=config)
    options = FeatureOptions("", "item_id", ())
    result, space = split_trained(
        trained, prefix=PREFIX, options=options, table=table, with_sentences=with_sentences
    )
    return result.ids, result.vectors, space, trained.seconds


def movielens(path: Path) -> tuple[list[list[str]], dict[str, tuple[str, ...]]]:
    """User histories ordered by time; attributes: genres and release decade."""
    seqs = movielens_histories(path)
    table: dict[str, tuple[str, ...]] = {}
    for line in recbole_text(path, "ml-100k.item").splitlines()[1:]:
        item, _, year, genres = [*line.split("\t"), "", "", "", ""][:4]
        tokens = [f"genre={g}" for g in genres.split()]
        if year.strip().isdigit():
            tokens.append(f"decade={int(year) // 10 * 10}")
        table[item] = tuple(tokens)
    return list(seqs.values()), table


def part_cold(
    seqs: list[list[str]], table: dict[str, tuple[str, ...]], config: TrainConfig, seed: int, modes: list[str]
) -> list[tuple[str, str, str, str]]:
    rng = random.Random(seed)
    seqs = list(seqs)
    rng.shuffle(seqs)
    cut = len(seqs) // 10
    test, train_seqs = seqs[:cut], seqs[cut:]
    counts = Counter(i for s in train_seqs for i in s)
    frequent = sorted(i for i, c in counts.items() if c >= 5)
    held = set(rng.sample(frequent, len(frequent) // 10))
    train_seqs = [[i for i in s if i not in held] for s in train_seqs]
    train_seqs = [s for s in train_seqs if len(s) >= 2]
    counts = Counter(i for s in train_seqs for i in s)
    cases = pairs(test)
    cold = [c for c in cases if c[1] in held and c[0] not in held]
    warm = [c for c in cases if c[1] not in held and c[0] not in held]
    warm = rng.sample(warm, min(len(warm), 20000))
    print(f"{len(train_seqs):,} training sequences, {len(counts):,} items, {len(held):,} held out; "
          f"{len(cold):,} cold-target and {len(warm):,} normal test cases", flush=True)  # fmt: skip
    catalogue = sorted(set(counts) | held)
    rows: list[tuple[str, str, str, str]] = []

    base_ids, base_vecs, _, secs0 = train_items(train_seqs, config)
    learned = dict(zip(base_ids, base_vecs))
    dim = base_vecs.shape[1]
    noise = np.random.default_rng(seed)  # random vectors for items without a learned one
    vecs = np.array(
        [learned[i] if i in learned else noise.normal(size=dim) for i in catalogue], dtype=np.float32
    )
    rows.append(("random vector for held-out items", f"{hit_rate(cosine(vecs), catalogue, cold):.4f}",
                 f"{hit_rate(cosine(vecs), catalogue, warm):.4f}", f"{secs0:.0f}"))  # fmt: skip
    pop = popularity(catalogue, counts)
    rows.append(
        ("popularity", f"{hit_rate(pop, catalogue, cold):.4f}", f"{hit_rate(pop, catalogue, warm):.4f}", "-")
    )
    jac = jaccard(catalogue, table, counts)
    rows.append(("attribute overlap (Jaccard, ties by popularity)", f"{hit_rate(jac, catalogue, cold):.4f}",
                 f"{hit_rate(jac, catalogue, warm):.4f}", "-"))  # fmt: skip
    mates = mates_vectors(sorted(held), table, base_ids, base_vecs)
    with_mates = dict(learned, **dict(zip(sorted(held), mates)))
    vecs = np.array([with_mates.get(i, noise.normal(size=dim)) for i in catalogue], dtype=np.float32)
    rows.append(("no features in training; cold = mean of attribute-mates", f"{hit_rate(cosine(vecs), catalogue, cold):.4f}",
                 f"{hit_rate(cosine(vecs), catalogue, warm):.4f}", "-"))  # fmt: skip
    held_table = {i: t for i, t in table.items() if i in counts or i in held}
    for mode in modes:
        ids, vectors, space, secs = train_items(train_seqs, config, held_table, mode)
        got = dict(zip(ids, vectors))
        zero = np.zeros(dim, dtype=np.float32)
        assert isinstance(space, FeatureSpace)
        tokens = dict(zip(space.tokens, unit(space.vectors)))
        by_tokens = {
            i: np.mean([tokens[t] for t in table[i] if t in tokens] or [zero], axis=0) for i in space.inferred
        }
        vecs = np.array(
            [by_tokens[i] if i in by_tokens else got.get(i, zero) for i in catalogue], dtype=np.float32
        )
        rows.append((f"--item-features ({mode}); cold = mean of attribute-token vectors",
                     f"{hit_rate(cosine(vecs), catalogue, cold):.4f}", f"{hit_rate(cosine(vecs), catalogue, warm):.4f}",
                     f"{secs:.0f}"))  # fmt: skip
        vecs = np.array([got.get(i, zero) for i in catalogue], dtype=np.float32)
        rows.append((f"--item-features ({mode}); cold = mean of attribute-mates (item2vec's rule)",
                     f"{hit_rate(cosine(vecs), catalogue, cold):.4f}", f"{hit_rate(cosine(vecs), catalogue, warm):.4f}", "-"))  # fmt: skip
    return rows


def part_update(frame, epochs: int, workers: int, root: Path) -> list[tuple[str, str, str]]:
    order = frame.groupby("InvoiceNo").date.min().sort_values().index.tolist()
    n = len(order)
    parts = {
        "old": order[: n * 8 // 10],
        "new": order[n * 8 // 10 : n * 9 // 10],
        "test": order[n * 9 // 10 :],
    }
    cols = ["InvoiceNo", "StockCode"]
    files = {}
    for name, invoices in parts.items():
        files[name] = root / f"{name}.csv"
        frame[frame.InvoiceNo.isin(set(invoices))][cols].to_csv(files[name], index=False)
    files["oldnew"] = root / "oldnew.csv"
    frame[frame.InvoiceNo.isin(set(parts["old"]) | set(parts["new"]))][cols].to_csv(
        files["oldnew"], index=False
    )
    session = SessionOptions(item_col="StockCode", user_col=None, session_col="InvoiceNo")
    request = TrainRequest.from_values(
        {"epochs": epochs, "workers": workers, "context": "set"}, session=session
    )
    run_training([str(files["old"])], request=request, output=root / "old")
    test = baskets(frame[frame.InvoiceNo.isin(set(parts["test"]))])
    cases = pairs(test)
    rows = []
    started = time.perf_counter()
    run_training([str(files["oldnew"])], request=request, output=root / "retrained")
    rows.append(("train on old+new (from scratch)", time.perf_counter() - started, root / "retrained"))
    base_alpha = TrainConfig.from_preset("recsys").alpha
    # Explicit rates: the trained one, / 5, and / 20 (update's default since this measurement).
    for update_epochs, alpha in [(epochs, base_alpha), (epochs // 2, base_alpha), (epochs, base_alpha / 5),
                                 (epochs // 2, base_alpha / 5), (epochs, base_alpha / 20), (epochs // 2, base_alpha / 20)]:  # fmt: skip
        out = root / f"updated{update_epochs}-{alpha}"
        started = time.perf_counter()
        overrides = {"epochs": update_epochs, "workers": workers, "alpha": alpha}
        run_update(root / "old", [str(files["new"])], output=out, overrides=overrides)
        label = f"update old model with new ({update_epochs} epochs, alpha {alpha:g})"
        rows.append((label, time.perf_counter() - started, out))
    rows.append(("old model, not updated", 0.0, root / "old"))
    from item2vec.model.store import load

    out_rows = []
    for label, seconds, path in rows:
        emb = load(path)
        out_rows.append(
            (label, f"{seconds:.1f}", f"{hit_rate(cosine(np.asarray(emb.vectors)), emb.ids, cases):.4f}")
        )
    print(f"update: {len(cases):,} test cases from {len(test):,} baskets", flush=True)
    return out_rows


def print_cold(rows: list[tuple[str, str, str, str]], title: str) -> None:
    print(
        f"\n{title}\n\n| method | HR@10, held-out targets | HR@10, normal targets | train s |\n|---|---:|---:|---:|"
    )
    for row in rows:
        print("| " + " | ".join(row) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", nargs="?", type=Path, default=RETAIL)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--modes", default="interleave,sentences", help="feature modes to train")
    parser.add_argument("--only", choices=["cold", "update", "movielens"])
    parser.add_argument(
        "--movielens", type=Path, help="recbole wheel, or the directory of ml-100k.inter/.item"
    )
    args = parser.parse_args()
    modes = args.modes.split(",")
    if args.movielens and args.only in (None, "movielens"):
        config = TrainConfig.from_preset("recsys", epochs=args.epochs, workers=args.workers, seed=args.seed)
        print_cold(part_cold(*movielens(args.movielens), config, args.seed, modes), "MovieLens 100K")
    if args.only == "movielens":
        return
    frame = read_retail(retail_path(args.events))
    config = TrainConfig.from_preset(
        "recsys", epochs=args.epochs, workers=args.workers, seed=args.seed, context="set"
    )
    if args.only != "update":
        print_cold(
            part_cold(baskets(frame), attribute_table(frame), config, args.seed, modes), "Online Retail"
        )
    if args.only != "cold":
        with tempfile.TemporaryDirectory() as tmp:
            rows2 = part_update(frame, args.epochs, args.workers, Path(tmp))
        print("\n| model | command wall s | HR@10 next item |\n|---|---:|---:|")
        for row in rows2:
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
