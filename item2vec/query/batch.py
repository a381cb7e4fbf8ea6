"""Every user of an event log, or every item, at once: matrix work, one product per batch of
queries against the whole catalogue (or one index search per batch), with batches sized so the
score matrix stays within ``cells`` floats, and rows streamed to a Parquet or CSV file (or a
sink) as they are made, so memory stays bounded however many rows are written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from item2vec.corpus.tables import check_table_output, write_table
from item2vec.model.embeddings import Embeddings, unit_rows
from item2vec.query.scoring import Scorer, open_parts
from item2vec.query.topk import SCORE_BUDGET, block_rows, blocks, product, top_k

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import scipy.sparse as sp
    from numpy.typing import NDArray

    from item2vec.query.filters import CandidateFilter
    from item2vec.query.index import AnnIndex


from item2vec.query.histories import EventColumns, read_histories
from item2vec.query.recommend import DECAY, HISTORY_SIZE

STDOUT = "<stdout>"
CELLS = SCORE_BUDGET // 4  # scores held at once (queries x catalogue), as float32
MOST_SEEN = 1000  # with an index, the shortlist widens by at most this many seen items
Sink = Callable[["pa.RecordBatch"], None]
Ranked = tuple[int, "NDArray[np.int64]", "NDArray[np.float32]"]  # first query, top rows, scores
WORKERS = min(2, os.cpu_count() or 1)  # threads scoring blocks of a mode other than similar


@dataclass
class BatchSummary:
    """What a batch run read and wrote."""

    output: str
    queries: int
    rows: int
    seconds: float
    events: int = 0
    skipped: int = 0

    def line(self, what: str) -> str:
        text = (
            f"wrote {self.rows:,} rows for {self.queries:,} {what} to {self.output} in {self.seconds:.1f} s"
        )
        if self.skipped:
            text += f"; {self.skipped:,} {what} had no item in the model and got no rows"
        return text


def recommend_events(
    embeddings: Embeddings,
    inputs: list[str],
    output: Path | None,
    *,
    columns: EventColumns,
    k: int = 10,
    decay: float | None = None,
    history_size: int = HISTORY_SIZE,
    keep_seen: bool | None = None,
    input_format: str | None = None,
    force: bool = False,
    cells: int = CELLS,
    sink: Sink | None = None,
    scorer: Scorer | None = None,
) -> BatchSummary:
    """Top-``k`` candidates for every user of an event log, written to ``output`` (or given to ``sink``).

    One row per user and rank: ``user, rank, item, score`` (and ``name`` when the model has
    names; ``session`` instead of ``user`` when the log is grouped by sessions), scored by
    ``scorer`` (None: the ``similar`` mode). When the scorer has a searcher (``--approx``),
    candidates come from its index (re-scored exactly); otherwise every item is scored. The
    scorer's candidate filters, if any, keep each answer to the items that pass. With
    ``output`` None every record batch goes to ``sink`` as it is made.

    Many parameters: the options of ``recommend --events``, keyword-only, each with its default.
    """
    started = time.perf_counter()
    if output is not None:
        check_table_output(output, force=force)
    if decay is None:  # the scorer's: the model's recorded history decay, else the default
        decay = scorer.scoring.decay if scorer is not None else DECAY
    repeats = scorer is not None and scorer.scoring.repeat is not None and keep_seen is not False
    histories = read_histories(embeddings, inputs, columns, decay=decay, history_size=history_size,
                               input_format=input_format, repeats=repeats)  # fmt: skip
    keep = repeats or bool(keep_seen)  # seen items as recommend treats one history's
    seen = None if keep and not repeats else (histories.seen_users, histories.seen_items)
    # Each user's query summed as one history alone sums it (not the decayed mean), so a user
    # of the log gets exactly what ``recommend`` gives their history, bit for bit.
    queries = (scorer or Scorer(open_parts(embeddings, None))).query_vectors(histories.weights)
    latest = None
    if repeats and histories.latest is not None:
        from item2vec.query.repeats import drops_repeats

        latest = histories.latest if drops_repeats(embeddings.meta) else None
    batches = _ranked(embeddings, queries, k, seen=seen, cells=cells, scorer=scorer, weights=histories.weights,
                      recency=histories.recency if repeats else None, latest=latest)  # fmt: skip
    written = _emit(output, _rows(embeddings, histories.users, batches, columns.label), sink)
    return BatchSummary(
        output=str(output) if output is not None else STDOUT,
        queries=len(histories.users),
        rows=written,
        seconds=time.perf_counter() - started,
        events=histories.events,
        skipped=histories.skipped,
    )


def neighbour_table(
    embeddings: Embeddings,
    output: Path | None,
    *,
    k: int = 10,
    force: bool = False,
    cells: int = CELLS,
    sink: Sink | None = None,
    scorer: Scorer | None = None,
) -> BatchSummary:
    """The item-to-item table: each item's ``k`` best items, ``query, rank, item, score`` (``name``),
    by ``scorer``'s mode (None: ``similar``, the nearest by cosine).

    Written to ``output``, or with ``output`` None given to ``sink`` batch by batch.
    """
    import numpy as np
    import scipy.sparse as sp

    started = time.perf_counter()
    if output is not None:
        check_table_output(output, force=force)
    n = len(embeddings)
    self_pairs = (np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64))
    batches = _ranked(embeddings, None, k, seen=self_pairs, cells=cells, scorer=scorer,
                      weights=sp.identity(n, dtype=np.float64, format="csr"))  # fmt: skip
    written = _emit(output, _rows(embeddings, embeddings.ids, batches, "query"), sink)
    shown = str(output) if output is not None else STDOUT
    return BatchSummary(output=shown, queries=n, rows=written, seconds=time.perf_counter() - started)


def _emit(output: Path | None, batches: Iterator[pa.RecordBatch], sink: Sink | None) -> int:
    """Write ``batches`` to ``output``, or hand each to ``sink``; the rows written."""
    if output is not None:
        return write_table(output, batches)
    if sink is None:
        raise ValueError("give an output file or a sink")
    rows = 0
    for batch in batches:
        sink(batch)
        rows += batch.num_rows
    return rows


def _ranked(
    embeddings: Embeddings,
    queries: NDArray[np.float32] | None,
    k: int,
    *,
    seen: tuple[NDArray[np.int64], NDArray[np.int64]] | None,
    cells: int,
    scorer: Scorer | None = None,
    weights: sp.csr_matrix | None = None,
    recency: sp.csr_matrix | None = None,
    latest: NDArray[np.int64] | None = None,
) -> Iterator[tuple[int, NDArray[np.int64], NDArray[np.float32]]]:
    """(first query, top rows, scores) per batch; ``queries=None`` means the items themselves.

    ``seen`` holds (query, item row) pairs to exclude, sorted by query. A scorer in another mode
    than ``similar`` scores each batch (``weights``: the queries' items, for its transitions).
    A scorer's candidate filters (``Scorer.candidates``) apply within each block before its top
    ``k`` is cut, as for one query alone: the items left out are masked like the seen ones (or
    only the kept ones ranked), and an index's shortlist is widened until ``k`` pass. With
    ``recency`` (the scorer's repeat weight applies), the ``seen`` items are scored again and
    merged in (``item2vec.query.repeats``), as for one history; ``latest`` (each query's most
    recent item row) stays out.
    """
    import numpy as np

    other = scorer is not None and (not scorer.kind.plain or recency is not None)
    index = scorer.index() if scorer is not None and not other else None
    approx = scorer is not None and scorer.approx
    candidates = scorer.candidates if scorer is not None else None
    total = len(embeddings) if queries is None else len(queries)
    rerank = (index.params.rerank if index is not None else None) or 1
    # with candidate filters an index's shortlist starts k x catalogue / passing items wide
    wide = (
        k if candidates is None else min(len(embeddings), -(-k * len(embeddings) // max(1, candidates.count)))
    )
    width = wide * rerank + 64 if approx else len(embeddings)
    step = block_rows(width * (embeddings.dim if approx else 1), cells * 4)
    step = min(step, 4096) if approx else step
    exact = not other and index is None
    buffer = (
        np.empty((max(1, min(max(2, step) + 1, total)), len(embeddings)), dtype=np.float32) if exact else None
    )

    def scored(start: int, stop: int) -> tuple[int, NDArray[np.int64], NDArray[np.float32]]:
        """One block by the scorer's mode (its buffers are per thread)."""
        assert scorer is not None and weights is not None
        block = np.asarray(embeddings.vectors[start:stop]) if queries is None else queries[start:stop]
        pairs = _pairs_in(seen, start, stop)
        most = min(MOST_SEEN, int(np.bincount(pairs[0]).max())) if len(pairs[0]) else 0
        trans = scorer.transition_scores(weights[start:stop])
        rows, scores = scorer.top(block.astype(np.float32), trans, k, exclude=pairs, most_excluded=most)
        if recency is not None:  # the seen items raised by the repeat weight, the latest left out
            banned = None if latest is None else (np.arange(stop - start, dtype=np.int64), latest[start:stop])
            rows, scores = scorer.with_seen(block.astype(np.float32), trans, (rows, scores), recency[start:stop], k,
                                            banned)  # fmt: skip
        return start, rows, scores

    if other:  # blocks on WORKERS threads (numpy and BLAS let go of the GIL), in order
        with _blas_threads(1 if WORKERS > 1 else None):
            yield from _in_turn(blocks(total, step), scored)
        return
    for start, stop in blocks(total, step):
        block = (
            np.asarray(embeddings.vectors[start:stop]) if queries is None else queries[start:stop]
        ).astype(np.float32)
        pairs = _pairs_in(seen, start, stop)
        most = min(MOST_SEEN, int(np.bincount(pairs[0]).max())) if len(pairs[0]) else 0
        if index is not None:
            rows, scores = _searched(embeddings, index, block, k, pairs, most, candidates)
        else:  # as ``similar`` scores one query: q · v / |v|, into the reused buffer
            matrix = product(unit_rows(block), embeddings.vectors, buffer)
            np.multiply(matrix, embeddings.inverse_norms, out=matrix)
            if candidates is not None:  # as one query alone is filtered (Scorer.top)
                rows, scores = candidates.best(matrix, k, pairs)
            else:
                matrix[pairs] = -np.inf
                rows, scores = top_k(matrix, k)
        yield start, rows, scores


def _searched(
    embeddings: Embeddings,
    index: AnnIndex,
    block: NDArray[np.float32],
    k: int,
    pairs: tuple[NDArray[np.int64], NDArray[np.int64]],
    most: int,
    candidates: CandidateFilter | None,
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """One block's ``k`` best from the index; with candidate filters, the shortlist is widened
    until ``k`` that pass survive (:meth:`CandidateFilter.over_fetch`), as for one query."""
    vectors = embeddings.vectors
    if candidates is None:
        return index.search(vectors, block, k, exclude=pairs, most_excluded=most)
    return candidates.over_fetch(
        lambda n: index.search(vectors, block, n, exclude=pairs, most_excluded=most), k
    )


def _in_turn(spans: list[tuple[int, int]], work: Callable[[int, int], Ranked]) -> Iterator[Ranked]:
    """``work(start, stop)`` of each span on ``WORKERS`` threads, yielded in the spans' order, at
    most one more span pending than there are threads (memory stays bounded)."""
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    if WORKERS < 2 or len(spans) < 2:
        yield from (work(start, stop) for start, stop in spans)
        return
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="item2vec-block") as pool:
        pending: deque[Future[Ranked]] = deque()
        for start, stop in spans:
            pending.append(pool.submit(work, start, stop))
            if len(pending) > WORKERS:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _blas_threads(limit: int | None) -> AbstractContextManager[object]:
    """BLAS on at most ``limit`` threads while in the block (None: as it is). With a thread per
    core scoring blocks, BLAS's own threads only compete with them (20% more CPU measured on 2
    cores); the same sums either way (a product's threads split its rows and columns, not the
    sums)."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    if limit is None:
        return nullcontext()
    limits: AbstractContextManager[object] = threadpool_limits(limit, user_api="blas")
    return limits


def _pairs_in(
    seen: tuple[NDArray[np.int64], NDArray[np.int64]] | None, start: int, stop: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    import numpy as np

    if seen is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lo, hi = np.searchsorted(seen[0], [start, stop])
    return seen[0][lo:hi] - start, seen[1][lo:hi]


def _rows(
    embeddings: Embeddings,
    labels: list[str],
    batches: Iterator[tuple[int, NDArray[np.int64], NDArray[np.float32]]],
    label_col: str,
) -> Iterator[pa.RecordBatch]:
    """Arrow record batches of ``label_col, rank, item, score``; padding rows dropped."""
    import numpy as np
    import pyarrow as pa

    ids = pa.array(embeddings.ids, type=pa.string())
    item_names = (
        pa.array([embeddings.names.get(i, "") for i in embeddings.ids], type=pa.string())
        if embeddings.names
        else None
    )
    names = pa.array(labels, type=pa.string())
    columns = [label_col, "rank", "item", "score"] + (["name"] if item_names is not None else [])
    for start, rows, scores in batches:
        keep = rows >= 0
        owner = np.repeat(np.arange(len(rows)), keep.sum(axis=1)) + start
        ranks = (np.cumsum(keep, axis=1)[keep]).astype(np.int32)
        picked = pa.array(rows[keep])
        arrays = [
            names.take(pa.array(owner)),
            pa.array(ranks),
            ids.take(picked),
            pa.array(scores[keep].astype(np.float32)),
        ]
        if item_names is not None:
            arrays.append(item_names.take(picked))
        yield pa.RecordBatch.from_arrays(arrays, names=columns)
