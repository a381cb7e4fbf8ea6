"""How good are the embeddings: next-item metrics against baselines, analogies, word pairs.

Next-item evaluation reads held-out sequences: in each, the last item is the target and the
items before it are the history. The query is the last history item (``query="last"``) or a
decayed mean of the last N (``query="history"``; weight ``DECAY**age``). Every method ranks
the whole catalogue except the query items themselves (the engine is in ranking.py).

Methods, all computed on the same training data the model saw:

- ``model``: one row per score mode (``item2vec.query.scoring``): cosine between the query
  vector and every item's input vector (``similar``) or output vector (``next``), or the
  standardised embedding score plus the model's transitions (``hybrid``).
- ``co-occurrence``: for ``--context window`` the items that most often directly followed the
  query item (next-item transitions, P(next | query)); for ``--context set`` the items most
  often in the same basket (P(mate | query)). Ties, and queries never seen, fall back to
  popularity, so the baseline always answers.
- ``sequential-rules`` (SR, Kamehkhosh et al. 2017, as in session-rec): every item up to 10
  steps after the query item scores 1/distance; the top 20 rules of each item are kept and
  popularity fills the rest.
- ``most-popular``: the most frequent training items.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from item2vec.errors import Bare, BelowThresholdError, ConfigError, EmptyResultError, param
from item2vec.evaluation.ranking import Cases, Query, Ranked, rank_dense, rank_sparse
from item2vec.model.embeddings import Embeddings, unit_rows
from item2vec.model.modes import RULES_KEEP, RULES_STEPS
from item2vec.model.transitions import build_transitions
from item2vec.query.scoring import Scorer

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp
    from numpy.typing import NDArray

RANK_METRICS = ("hr", "ndcg", "mrr")
METRICS = (*RANK_METRICS, "coverage")
_METRIC = re.compile(r"^\s*([a-z]+)\s*@\s*(\d+)\s*$", re.IGNORECASE)


# --- metric names --------------------------------------------------------------------------------


def parse_ks(text: str, *, name: str = "ks") -> tuple[int, ...]:
    """``"10,20,50"`` → (10, 20, 50), sorted and unique; ``name`` is the parameter that gave them."""
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        expected = "cut-offs such as 10 or 10,20,50"
        raise ConfigError(
            f"{param(name, text)} is invalid: give {expected}", param=name, value=text, expected=expected
        ) from None
    if not ks or ks[0] < 1:
        expected = "cut-offs of 1 or more, such as 10,20,50"
        raise ConfigError(
            f"{param(name, text)} is invalid: give {expected}", param=name, value=text, expected=expected
        )
    return tuple(ks)


def parse_metric(name: str, *, allowed: tuple[str, ...] = METRICS) -> tuple[str, int]:
    """``"ndcg@10"`` → ("ndcg", 10); a ConfigError lists the valid names otherwise."""
    match = _METRIC.match(name)
    if not match or match.group(1).lower() not in allowed or int(match.group(2)) < 1:
        valid = ", ".join(f"{m}@K" for m in allowed)
        raise ConfigError(f"metric {name!r} does not exist: use one of {valid} (e.g. ndcg@10)")
    return match.group(1).lower(), int(match.group(2))


def parse_threshold(text: str, ks: tuple[int, ...] | None = None) -> tuple[str, float]:
    """``"hr@10=0.2"`` → ("hr@10", 0.2), a ``fail_under`` bar; its cut-off must be among ``ks``."""
    name, sep, value = text.partition("=")
    try:
        bar = float(value)
    except ValueError:
        bar = math.nan
    if not sep or math.isnan(bar):
        raise ConfigError(param="fail_under", value=text, expected="METRIC=VALUE, e.g. hr@10=0.2")
    metric, k = parse_metric(name)
    if ks is not None and k not in ks:
        cutoffs = ",".join(str(c) for c in ks)
        raise ConfigError(
            f"{param('fail_under', text)}: cut-off {k} is not computed ({cutoffs}); add it with {param('k', k)}",
            param="fail_under", value=text, fix=f"add the cut-off with {param('k', k)}",
        )  # fmt: skip
    return f"{metric}@{k}", bar


# --- methods -------------------------------------------------------------------------------------


def rank_model(embeddings: Embeddings, cases: Cases, *, kmax: int, scorer: Scorer | None = None) -> Ranked:
    """Each case's (decayed mean) query against every item: cosine of input vectors, or the
    ``scorer``'s mode (its history's transitions weighted as its vectors are)."""
    if scorer is not None and scorer.mode != "similar":

        def scored(block: sp.csr_matrix) -> NDArray[np.float32]:
            return scorer.scores(scorer.query_vectors(block), scorer.transition_scores(block))

        return rank_dense("model", embeddings.index, cases, scored, kmax=kmax)
    unit = embeddings.unit

    def score(block: sp.csr_matrix) -> NDArray[np.float32]:
        result: NDArray[np.float32] = unit_rows(block @ unit) @ unit.T
        return result

    return rank_dense("model", embeddings.index, cases, score, kmax=kmax)


@dataclass
class Baselines:
    """Item counts, co-occurrence counts and sequential rules of a training corpus."""

    index: dict[str, int]
    counts: NDArray[np.float64]
    following: sp.csr_matrix  # row-normalised: P(item | query item)
    context: str
    rules: sp.csr_matrix | None = None  # sequential rules: sum of 1/distance, top RULES_KEEP a row

    @classmethod
    def fit(cls, sequences: list[list[str]], *, context: str = "window") -> Baselines:
        """Count items, next-item transitions (window) or basket co-occurrences (set), and the
        sequential rules (in file order, for either context)."""
        import numpy as np
        import scipy.sparse as sp

        counts = Counter(item for seq in sequences for item in seq)
        ids = [item for item, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        index = {item: i for i, item in enumerate(ids)}
        codes = np.array([index[item] for seq in sequences for item in seq], dtype=np.int64)
        lengths = np.array([len(seq) for seq in sequences], dtype=np.int64)
        owner = np.repeat(np.arange(len(sequences)), lengths)
        n = len(ids)
        if context == "set":
            incidence = sp.csr_matrix((np.ones(len(codes)), (owner, codes)), shape=(len(sequences), n))
            incidence.data[:] = 1.0  # duplicates summed: count each basket once
            pairs = (incidence.T @ incidence).tocsr()
            pairs.setdiag(0)
        else:
            same = owner[1:] == owner[:-1]
            pairs = sp.csr_matrix(
                (np.ones(int(same.sum())), (codes[:-1][same], codes[1:][same])), shape=(n, n)
            )
        pairs.eliminate_zeros()
        totals = np.asarray(pairs.sum(axis=1)).ravel()
        totals[totals == 0] = 1.0
        following = sp.diags(1.0 / totals) @ pairs
        freq = np.array([counts[i] for i in ids], dtype=np.float64)
        bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        rules = build_transitions(codes.astype(np.int32), bounds, n, steps=RULES_STEPS, keep=RULES_KEEP)
        return cls(index, freq, following.tocsr(), context, rules.to_csr().astype(np.float64))

    def rank_cooccurrence(self, cases: Cases, *, kmax: int) -> Ranked:
        """Most frequent followers (or basket mates) of the query; popularity breaks ties and fills."""
        return rank_sparse("co-occurrence", self.index, cases, self.following, kmax=kmax)

    def rank_rules(self, cases: Cases, *, kmax: int) -> Ranked:
        """Sequential rules of the query (a history's rules summed with its weights); popularity fills."""
        return rank_sparse("sequential-rules", self.index, cases, self.rules, kmax=kmax)

    def rank_popular(self, cases: Cases, *, kmax: int) -> Ranked:
        """The most frequent training items, query items excluded."""
        return rank_sparse("most-popular", self.index, cases, None, kmax=kmax)


@dataclass
class NextItemReport:
    """Metrics per method, plus the notes a person should read."""

    rows: list[dict[str, Any]]
    notes: list[str]


def evaluate_next_item(
    embeddings: Embeddings,
    test: list[list[str]],
    train: list[list[str]] | None,
    *,
    ks: tuple[int, ...] = (10,),
    query: Query = "last",
    history: int = 5,
    context: str | None = None,
    scorers: list[Scorer] | None = None,
) -> NextItemReport:
    """Score the model (one row per scorer; None: ``similar``) and, given its training
    sequences, the baselines on ``test``.

    Raises:
        EmptyResultError: no test sequence has 2+ items, or no test item is in the model.
    """
    cases = Cases.from_sequences(test, query=query, history=history)
    if not len(cases):
        raise EmptyResultError(
            f"none of the {len(test):,} test sequences has 2 or more items: nothing to predict "
            "(check the user/session columns; a split's test file holds whole sequences)"
        )
    known = sum(1 for t in cases.targets if t in embeddings.index)
    if not known and not any(i in embeddings.index for q in cases.queries for i in q):
        sample = ", ".join(repr(t) for t in cases.targets[:3])
        raise EmptyResultError(
            f"none of the {len(cases):,} test cases' items is in the model ({len(embeddings):,} items; "
            f"targets such as {sample}): is the test file from the same data, read with the same "
            f"{param('item_col')}, as the model's training data?",
            param="item_col",
        )
    kmax = max(ks)
    modes: list[Scorer | None] = list(scorers) if scorers else [None]
    ranked = [rank_model(embeddings, cases, kmax=kmax, scorer=s) for s in modes]
    rows = [
        {"method": "model", "score": s.describe() if s else "similar", **r.metrics(ks)}
        for s, r in zip(modes, ranked)
    ]
    if train is not None:
        fitted = Baselines.fit(train, context=context or "window")
        baselines = [fitted.rank_cooccurrence(cases, kmax=kmax), fitted.rank_rules(cases, kmax=kmax),
                     fitted.rank_popular(cases, kmax=kmax)]  # fmt: skip
        rows += [{"method": b.method, "score": None, **b.metrics(ks)} for b in baselines]
    return NextItemReport(rows, _notes(rows, ranked[0], ks))


def _notes(rows: list[dict[str, Any]], model: Ranked, ks: tuple[int, ...]) -> list[str]:
    notes = []
    unanswered = int(((model.top[:, :1] < 0).ravel()).sum()) if model.top.shape[1] else len(model.ranks)
    if unanswered:
        notes.append(
            f"the model could not answer {unanswered:,} of {len(model.ranks):,} cases (query items not in it)"
        )
    key = f"hr@{ks[0]}"
    best = max(rows, key=lambda r: float(r[key]))  # the first of equals: model rows come first
    models = [r for r in rows if r["method"] == "model"]
    top_model = max(models, key=lambda r: float(r[key]))
    if len(rows) > 1:
        others = [r for r in rows if r is not best]
        runner = max(others, key=lambda r: float(r[key]))
        notes.append(
            f"best on {key}: {label(best)} {best[key]:.4f} (next: {label(runner)} {runner[key]:.4f})"
        )
    if best["method"] != "model":
        notes.append(
            f"{best['method']} beats the model on {key} ({best[key]:.4f} vs {top_model[key]:.4f}): "
            "tune it (item2vec tune) or use the baseline"
        )
    return notes


def label(row: dict[str, Any]) -> str:
    """A method row's name in words: ``model (next)``, ``sequential-rules``."""
    return f"model ({row['score']})" if row["method"] == "model" and row.get("score") else str(row["method"])


def check_thresholds(row: dict[str, Any], thresholds: list[tuple[str, float]]) -> None:
    """Raise BelowThresholdError naming every metric of ``row`` below its bar.

    Raises:
        ConfigError: a metric was not computed (its cut-off is not among the cut-offs).
        BelowThresholdError: one or more metrics are below their bars.
    """
    failed = []
    for name, bar in thresholds:
        if name not in row:
            computed = ", ".join(k for k in row if "@" in k)
            raise ConfigError(
                f"{param('fail_under', Bare(name))} was not computed: add its cut-off with {param('k')} "
                f"(computed: {computed})",
                param="fail_under", value=name, fix=f"add its cut-off with {param('k')}",
            )  # fmt: skip
        if float(row[name]) < bar:
            failed.append(f"{name} {float(row[name]):.4f} is below {bar:g}")
    if failed:
        raise BelowThresholdError(
            f"{row['method']}: " + "; ".join(failed) + f" ({param('fail_under')})", param="fail_under"
        )
