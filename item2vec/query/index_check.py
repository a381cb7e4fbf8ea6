"""The ``index`` command's work: build and store an index, then check it against exact search.

A model with output vectors gets a second index over them (``--score next``). The check
samples items as queries (each item excluded from its own answers), compares the index's top k
with exact search (recall@k), and times single queries on one thread — for ``similar`` (the
input vectors' index), and, where the model has what they need, for ``next`` (the output
vectors' index) and ``hybrid`` (the base index's shortlist plus the transitions, re-scored).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.files import check_writable
from item2vec.model.embeddings import Embeddings
from item2vec.model.scoring_record import Scoring
from item2vec.query.index import (
    FILES,
    INDEX_FILE,
    AnnIndex,
    IndexParams,
    build,
    single_threaded,
    store,
)
from item2vec.query.neighbours import similar
from item2vec.query.score_modes import registered
from item2vec.query.scoring import ScoringParts, make_scorer, open_parts
from item2vec.query.searcher import Searcher
from item2vec.query.topk import top_k

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


def build_and_store(path: Path | str, params: IndexParams, *, check: int = 0, k: int = 10) -> dict[str, Any]:
    """Build the index for the model at ``path``, store it there, optionally check it.

    Args:
        check: with a positive number, compare that many sampled queries with exact search.

    Returns:
        A report: kind, parameters, build time, file size, and with ``check`` recall@k and
        single-query latency (approximate and exact).
    """
    from item2vec.model.store import load

    path = Path(path)
    embeddings = load(path)
    check_writable(path / INDEX_FILE)  # before a build that may take minutes
    index = build(embeddings, params)
    size = store(index, path)
    report: dict[str, Any] = {
        "kind": index.kind,
        "file": str(path / INDEX_FILE),
        "items": len(embeddings),
        "dim": embeddings.dim,
        "params": index.info["params"],
        "build_seconds": index.info["build_seconds"],
        "size_mb": round(size / 2**20, 2),
    }
    parts = open_parts(embeddings, path)
    if parts.missing_output("next") is None:
        output = build(embeddings, params, output=parts.output_vectors("next"))
        output_size = store(output, path)
        report["next"] = {"file": str(path / FILES["output"][0]), "build_seconds": output.info["build_seconds"],
                          "size_mb": round(output_size / 2**20, 2)}  # fmt: skip
    if check:
        report["check"] = check_index(embeddings, index, queries=check, k=k)
        report["check"].update(_check_modes(parts, queries=check, k=k))
    return report


def _check_modes(parts: ScoringParts, *, queries: int, k: int) -> dict[str, Any]:
    """check_mode for each mode the model can score (in its recorded scoring) other than plain
    search of the input vectors' index, which check_index measures."""
    from dataclasses import replace

    default = Scoring.from_record(parts.embeddings.meta)
    found = {}
    for name, mode in registered().items():
        scoring = replace(default, mode=name)
        if mode.plain or mode.missing(parts, scoring):  # check_index measures plain search
            continue
        found[name] = check_mode(parts, scoring, queries=queries, k=k)
    return found


def check_mode(
    parts: ScoringParts, mode: str | Scoring, *, queries: int = 1000, k: int = 10, seed: int = 0
) -> dict[str, Any]:
    """Recall@k of ``--approx`` against exact scoring in ``mode``, and its single-query latency."""
    import numpy as np

    embeddings = parts.embeddings
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(embeddings), size=min(queries, len(embeddings)), replace=False))
    items = [embeddings.ids[r] for r in sample.tolist()]
    exact = make_scorer(parts, mode)
    want: dict[str, set[str]] = {item: set() for item in items}
    for n in exact.similar(items, k):
        want[n.query].add(n.item)
    approx = make_scorer(open_parts(embeddings, parts.path), mode, searcher=Searcher(embeddings, parts.path))
    hits, millis = [], []
    with single_threaded():
        for item in items:
            started = time.perf_counter()
            found = {n.item for n in approx.similar([item], k)}
            millis.append((time.perf_counter() - started) * 1000)
            hits.append(len(found & want[item]) / max(1, min(k, len(want[item]))))
    return {
        f"recall@{k}": round(float(np.mean(hits)), 4),
        "p50_ms": round(float(np.percentile(millis, 50)), 3),
        "p99_ms": round(float(np.percentile(millis, 99)), 3),
    }


def check_index(
    embeddings: Embeddings, index: AnnIndex, *, queries: int = 1000, k: int = 10, seed: int = 0
) -> dict[str, Any]:
    """Recall@k against exact search and single-query latency, on sampled items as queries.

    Each query is an item's own vector, the item itself excluded from both answers.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(embeddings), size=min(queries, len(embeddings)), replace=False))
    exact = _exact_neighbours(embeddings, sample, k)
    with single_threaded():
        found, approx_ms = _timed_singles(embeddings, index, sample, k)
    exact_ms = _timed_exact(embeddings, sample[: min(len(sample), 100)], k)
    hits = [len(set(a) & set(e)) / max(1, min(k, len(e))) for a, e in zip(found, exact)]
    return {
        "queries": len(sample),
        f"recall@{k}": round(float(np.mean(hits)), 4),
        "p50_ms": round(float(np.percentile(approx_ms, 50)), 3),
        "p99_ms": round(float(np.percentile(approx_ms, 99)), 3),
        "exact_p50_ms": round(float(np.percentile(exact_ms, 50)), 3),
    }


def _exact_neighbours(embeddings: Embeddings, sample: NDArray[np.int64], k: int) -> list[list[int]]:
    import numpy as np

    out: list[list[int]] = []
    unit = embeddings.unit
    step = max(1, (1 << 24) // max(1, len(embeddings)))
    for start in range(0, len(sample), step):
        rows = sample[start : start + step]
        scores = unit[rows] @ unit.T
        scores[np.arange(len(rows)), rows] = -np.inf
        best, _ = top_k(scores, k)
        out.extend([int(r) for r in row if r >= 0] for row in best)
    return out


def _timed_singles(
    embeddings: Embeddings, index: AnnIndex, sample: NDArray[np.int64], k: int
) -> tuple[list[list[int]], list[float]]:
    import numpy as np

    found: list[list[int]] = []
    millis: list[float] = []
    for row in sample.tolist():
        started = time.perf_counter()
        query = np.asarray(embeddings.vectors[row : row + 1])
        exclude = (np.zeros(1, dtype=np.int64), np.array([row], dtype=np.int64))
        rows, _ = index.search(embeddings.vectors, query, k, exclude=exclude, most_excluded=1)
        millis.append((time.perf_counter() - started) * 1000)
        found.append([int(r) for r in rows[0] if r >= 0])
    return found, millis


def _timed_exact(embeddings: Embeddings, sample: NDArray[np.int64], k: int) -> list[float]:
    millis: list[float] = []
    for row in sample.tolist():
        started = time.perf_counter()
        similar(embeddings, [embeddings.ids[row]], k)
        millis.append((time.perf_counter() - started) * 1000)
    return millis
