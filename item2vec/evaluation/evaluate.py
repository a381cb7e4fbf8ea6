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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from item2vec.errors import Bare, BelowThresholdError, ConfigError, EmptyResultError, check_choice, param
from item2vec.evaluation.baselines import Baselines as Baselines  # re-exported: bench scripts import it here
from item2vec.evaluation.ranking import PROTOCOLS, Cases, CountFn, Query, Ranked, rank_dense
from item2vec.model.embeddings import Embeddings, unit_rows
from item2vec.model.modes import DECAY
from item2vec.query.scoring import Scorer

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp
    from numpy.typing import NDArray

    from item2vec.evaluation.knn import KnnParams, SessionKnn

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


def rank_model(
    embeddings: Embeddings,
    cases: Cases,
    *,
    kmax: int,
    scorer: Scorer | None = None,
    repeats: bool = False,
    drop_last: bool | None = None,
    count: CountFn | None = None,
) -> Ranked:
    """Each case's (decayed mean) query against every item: cosine of input vectors, or the
    ``scorer``'s mode (its history's transitions weighted as its vectors are; its items weigh
    the scoring's ``decay ** age``).

    Query items are left out. With ``repeats`` (a whole-history case, as ``recommend`` answers
    it), every item of the case's whole history is left out, or, when the scorer has a repeat
    weight, comes back raised by it (``item2vec.query.repeats``; R weighs each occurrence
    ``DECAY ** age``), the most recent item left out when ``drop_last`` (None: when the model
    dropped consecutive repeats). ``count``: see :func:`rank_dense` (ranks only).
    """
    if scorer is not None:

        def scored(block: sp.csr_matrix) -> NDArray[np.float32]:
            return scorer.scores(scorer.query_vectors(block), scorer.transition_scores(block))

        if drop_last is None:
            from item2vec.query.repeats import drops_repeats

            drop_last = drops_repeats(embeddings.meta)
        seen = _seen_raiser(embeddings, cases, scorer, drop_last) if repeats else None
        decay = scorer.scoring.decay
        return rank_dense(
            "model", embeddings.index, cases, scored, kmax=kmax, seen=seen, decay=decay, count=count
        )
    unit = embeddings.unit

    def score(block: sp.csr_matrix) -> NDArray[np.float32]:
        result: NDArray[np.float32] = unit_rows(block @ unit) @ unit.T
        return result

    return rank_dense("model", embeddings.index, cases, score, kmax=kmax, count=count)


def _seen_raiser(
    embeddings: Embeddings, cases: Cases, scorer: Scorer, drop_last: bool
) -> Callable[[int, int, NDArray[np.float32]], None]:
    """What ``rank_dense`` does to a block's seen items (the whole history's): leave them out, or
    raise them by the scorer's repeat weight x R x the query's spread."""
    import numpy as np

    from item2vec.evaluation.ranking import query_matrix, seen_items
    from item2vec.query.repeats import seen_pairs

    repeat = scorer.scoring.repeat
    seen = seen_items(embeddings.index, cases.histories)
    matrix, latest = seen.recency, seen.latest
    weights = query_matrix(embeddings.index, cases.queries, scorer.scoring.decay)

    def raise_seen(start: int, stop: int, scores: NDArray[np.float32]) -> None:
        rows, items, r = seen_pairs(matrix[start:stop])
        if repeat is None:
            scores[rows, items] = -np.inf
            return
        unit = unit_rows(scorer.query_vectors(weights[start:stop]))
        spread = scorer.kind.spread(scorer.parts, scorer.scoring, unit)
        scores[rows, items] += (repeat * r * spread[rows]).astype(np.float32)
        if drop_last:  # the latest item: never its own next item where repeats were dropped
            own = latest[start:stop]
            scores[np.flatnonzero(own >= 0), own[own >= 0]] = -np.inf

    return raise_seen


@dataclass
class NextItemReport:
    """Metrics per method and protocol, the notes a person should read, and each row's ranks
    (``ranked[i]`` is ``rows[i]``'s: per case, where its target landed)."""

    rows: list[dict[str, Any]]
    notes: list[str]
    ranked: list[Ranked] = field(default_factory=list)


def evaluate_next_item(
    embeddings: Embeddings,
    test: list[list[str]],
    train: list[list[str]] | None,
    *,
    ks: tuple[int, ...] = (10,),
    protocols: tuple[Query, ...] = ("last",),
    history: int = 5,
    context: str | None = None,
    scorers: list[Scorer] | None = None,
) -> NextItemReport:
    """Score the model (one row per scorer; None: ``similar``) and, given its training
    sequences, the baselines on ``test``, under each protocol: the query is the last item before
    the target (``last``), or the whole history before it (``history``: the model queries with
    its last ``history`` items and scores seen items as ``recommend`` does; the baselines read
    the whole history).

    Raises:
        EmptyResultError: no test sequence has 2+ items, or no test item is in the model.
        ConfigError: an unknown protocol.
    """
    for protocol in protocols:
        check_choice("query", protocol, PROTOCOLS, quoted=True)
    everything = Cases.from_sequences(test, query="history", history=None)
    _check_cases(embeddings, everything, len(test))
    kmax = max(ks)
    modes: list[Scorer | None] = list(scorers) if scorers else [None]
    fitted = Baselines.fit(train, context=context or "window") if train is not None else None
    knn = (
        _session_knn(fitted, train, everything, embeddings.meta)
        if fitted is not None and train is not None
        else None
    )
    rows: list[dict[str, Any]] = []
    ranked: list[Ranked] = []
    notes: list[str] = []
    for protocol in protocols:
        model_cases = Cases.from_sequences(test, query=protocol, history=history)
        found = [rank_model(embeddings, model_cases, kmax=kmax, scorer=s, repeats=protocol == "history")
                 for s in modes]  # fmt: skip
        block = [{"method": "model", "protocol": protocol, "score": _score_words(s, protocol),
                  "seen": _seen_words(s, protocol), **r.metrics(ks)} for s, r in zip(modes, found)]  # fmt: skip
        if fitted is not None and knn is not None:
            cases = Cases.from_sequences(test, query=protocol, history=None)
            for seen, result in _baselines(fitted, knn, cases, kmax, protocol):
                block.append({"method": result.method, "protocol": protocol, "score": None, "seen": seen,
                              **result.metrics(ks)})  # fmt: skip
                found.append(result)
        rows += block
        ranked += found
        notes += _notes(block, found[0], ks, protocol if len(protocols) > 1 else None)
    return NextItemReport(rows, notes, ranked)


def _check_cases(embeddings: Embeddings, cases: Cases, sequences: int) -> None:
    if not len(cases):
        raise EmptyResultError(
            f"none of the {sequences:,} test sequences has 2 or more items: nothing to predict "
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


def _score_words(scorer: Scorer | None, protocol: str) -> str:
    """A model row's way of scoring, with its history decay on the history protocol when not the default."""
    if scorer is None:
        return "similar"
    if protocol == "history" and scorer.scoring.decay != DECAY:
        return f"{scorer.describe()}, decay {scorer.scoring.decay:g}"
    return scorer.describe()


def _seen_words(scorer: Scorer | None, protocol: str) -> str:
    """What a model row did with the history's own items."""
    if protocol == "history" and scorer is not None and scorer.scoring.repeat is not None:
        return f"repeat {scorer.scoring.repeat:g}"
    return "excluded"


@dataclass
class _Knn:
    """Session-kNN fitted once for every protocol: the model, each case's own training sequence
    (the same whole history under either protocol) and each method's parameters."""

    model: SessionKnn
    own: NDArray[np.int64]
    params: dict[str, KnnParams]


def _session_knn(fitted: Baselines, train: list[list[str]], cases: Cases, meta: dict[str, Any]) -> _Knn:
    """SKNN, V-SKNN and STAN on the training data, with the parameters model.json's "baselines"
    record holds (tune chose them on validation data), else session-rec's defaults."""
    from item2vec.evaluation.knn import SessionKnn, own_sessions
    from item2vec.evaluation.knn_params import knn_params_from_meta

    return _Knn(
        SessionKnn.fit(train, fitted.index), own_sessions(train, cases.histories), knn_params_from_meta(meta)
    )


def _baselines(
    fitted: Baselines, knn: _Knn, cases: Cases, kmax: int, protocol: str
) -> list[tuple[str, Ranked]]:
    """The baselines' rows of one protocol: co-occurrence and SR, the session-kNN methods (seen
    items kept, as session-rec ranks them, and for the whole-history protocol also left out),
    most-popular."""
    from item2vec.evaluation.knn_params import KNN_METHODS

    out = [
        ("excluded", fitted.rank_cooccurrence(cases, kmax=kmax)),
        ("excluded", fitted.rank_rules(cases, kmax=kmax)),
    ]
    for method in KNN_METHODS:
        params = knn.params[method]
        if protocol == "history":
            out.append(("kept", knn.model.rank(cases, params, kmax=kmax, own=knn.own, exclude_seen=False)))
        out.append(("excluded", knn.model.rank(cases, params, kmax=kmax, own=knn.own, exclude_seen=True)))
    out.append(("excluded", fitted.rank_popular(cases, kmax=kmax)))
    return out


def _notes(rows: list[dict[str, Any]], model: Ranked, ks: tuple[int, ...], protocol: str | None) -> list[str]:
    notes = []
    where = f" ({protocol} protocol)" if protocol else ""
    unanswered = int(((model.top[:, :1] < 0).ravel()).sum()) if model.top.shape[1] else len(model.ranks)
    if unanswered:
        notes.append(
            f"the model could not answer {unanswered:,} of {len(model.ranks):,} cases{where}: their query items "
            "are not in it"
        )
    key = f"hr@{ks[0]}"
    best = max(rows, key=lambda r: float(r[key]))  # the first of equals: model rows come first
    models = [r for r in rows if r["method"] == "model"]
    top_model = max(models, key=lambda r: float(r[key]))
    if len(rows) > 1:
        others = [r for r in rows if r is not best]
        runner = max(others, key=lambda r: float(r[key]))
        notes.append(
            f"best on {key}{where}: {label(best)} {best[key]:.4f} (next: {label(runner)} {runner[key]:.4f})"
        )
    if best["method"] != "model":
        notes.append(
            f"{label(best)} beats the model on {key}{where} ({best[key]:.4f} vs {top_model[key]:.4f}): "
            "tune it (item2vec tune) or use the baseline"
        )
    return notes


def label(row: dict[str, Any]) -> str:
    """A method row's name in words: ``model (next)``, ``sequential-rules``, ``stan (seen kept)``."""
    if row["method"] == "model" and row.get("score"):
        return f"model ({row['score']})"
    return f"{row['method']} (seen kept)" if row.get("seen") == "kept" else str(row["method"])


def parse_gate(text: str, ks: tuple[int, ...] | None = None) -> tuple[str | None, str, float]:
    """``"history:hr@10=0.2"`` → ("history", "hr@10", 0.2): a ``fail_under`` bar and the protocol
    it gates (None: every protocol computed).

    Raises:
        ConfigError: an unknown protocol, or a bar :func:`parse_threshold` refuses.
    """
    protocol, sep, rest = text.partition(":")
    if not sep:
        return (None, *parse_threshold(text, ks))
    check_choice("fail_under", protocol.strip(), PROTOCOLS, quoted=True)
    return (protocol.strip(), *parse_threshold(rest, ks))


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
        where = f" ({row['protocol']} protocol)" if row.get("protocol") else ""
        raise BelowThresholdError(
            f"{row['method']}{where}: " + "; ".join(failed) + f" ({param('fail_under')})", param="fail_under"
        )
