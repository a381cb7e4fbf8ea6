"""Exact batched top-k: every block size gives what one query alone gives, ties included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from item2vec.model.embeddings import Embeddings, unit_rows
from item2vec.query.batch import neighbour_table
from item2vec.query.topk import block_rows, cosine_top, product, top_k


def reference(scores: np.ndarray, k: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each row sorted in full: by score, descending, then by item row; -inf is padding."""
    k = min(k, scores.shape[1])
    best = np.full((len(scores), k), -1, dtype=np.int64)
    picked = np.full((len(scores), k), -np.inf, dtype=np.float32)
    for i, row in enumerate(scores):
        items = np.arange(len(row)) if rows is None else rows[i]
        order = np.lexsort((items, -row))[:k]
        best[i], picked[i] = items[order], row[order]
    best[~np.isfinite(picked)] = -1
    return best, picked


def tied(shape: tuple[int, int], seed: int) -> np.ndarray:
    """Scores from a handful of values: every row is full of ties, some at the k-th place."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 12, shape).astype(np.float32) / 4
    scores[0] = 1.0  # a row of one value
    scores[1, ::2] = -np.inf  # half the row excluded
    scores[2, 3:] = -np.inf  # fewer entries than k
    return scores


@pytest.mark.parametrize("width", [7, 300, 9000, 20_011])  # narrow rows, and chunked ones with a tail
@pytest.mark.parametrize("k", [1, 10, 100])
def test_top_k_is_a_full_sort_cut_at_k(width: int, k: int) -> None:
    for values in (tied((6, width), width + k), np.random.default_rng(k).standard_normal((6, width))):
        scores = np.asarray(values, dtype=np.float32)
        got, want = top_k(scores, k), reference(scores, k)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_top_k_of_a_shortlist_breaks_ties_by_item_row() -> None:
    scores = tied((5, 9000), 3)
    rows = np.stack([np.random.default_rng(i).permutation(9000) for i in range(5)])
    got, want = top_k(scores, 10, rows=rows), reference(scores, 10, rows)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_top_k_pads_and_skips_nan() -> None:
    scores = np.array([[0.5, np.nan, -np.inf, 0.25]], dtype=np.float32)
    rows, values = top_k(scores, 3)
    assert rows.tolist() == [[0, 3, -1]]
    assert values.tolist() == [[0.5, 0.25, -np.inf]]
    assert top_k(scores, 0)[0].shape == (1, 0)


def test_blocks_never_leave_a_query_alone() -> None:
    from item2vec.query.topk import blocks

    assert blocks(7, 3) == [(0, 3), (3, 7)]
    assert blocks(6, 3) == [(0, 3), (3, 6)]
    assert blocks(1, 3) == [(0, 1)]
    assert blocks(5, 1) == [(0, 2), (2, 5)]  # two at least, whatever the budget
    assert blocks(0, 3) == []


def test_block_rows_keeps_scores_within_the_budget() -> None:
    assert block_rows(200_000, 64 << 20) == 83  # 83 x 200,000 float32 = 63.3 MiB
    assert block_rows(10, 64 << 20) == (64 << 20) // 40
    assert block_rows(10**9, 1) == 1


def tied_vectors(n: int, seed: int) -> np.ndarray:
    """Vectors from a small set (many exact duplicates, so cosines tie), each of length 1 or 2 and
    with entries 0 or ±1: every cosine is exact, whichever BLAS kernel sums it (one query or a
    block of them)."""
    rng = np.random.default_rng(seed)
    patterns = np.vstack([np.eye(4), -np.eye(4), np.array(np.meshgrid(*[[-1, 1]] * 4)).reshape(4, -1).T])
    return patterns[rng.integers(0, len(patterns), n)].astype(np.float32)


def inverse(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1)
    norms[norms == 0] = 1
    out: np.ndarray = (1 / norms).astype(np.float32)
    return out


@pytest.mark.parametrize(
    "vectors", [tied_vectors(9000, 0), np.random.default_rng(1).standard_normal((9000, 16))]
)
def test_one_query_alone_scores_as_in_any_batch(vectors: np.ndarray) -> None:
    """Blocks of any size rank and score alike; a lone query too where cosines are exact (BLAS
    may round a lone row's last bit otherwise)."""
    exact = vectors.shape[1] == 4
    vectors = vectors.astype(np.float32)
    queries = unit_rows(vectors[:40])
    exclude = (np.arange(40, dtype=np.int64), np.arange(40, dtype=np.int64))  # each query itself
    whole = list(cosine_top(queries, vectors, inverse(vectors), 10, exclude=exclude))
    assert len(whole) == 1
    small = list(cosine_top(queries, vectors, inverse(vectors), 10, exclude=exclude, budget=3 * 9000 * 4))
    assert [start for start, _, _ in small] == list(range(0, 37, 3))  # the 40th query joins the last
    for q in range(40):
        start, rows, scores = small[min(q // 3, 12)]
        np.testing.assert_array_equal(rows[q - start], whole[0][1][q])
        np.testing.assert_array_equal(scores[q - start], whole[0][2][q])
        assert q not in rows[q - start]
        if exact:
            (_, rows, scores), *_ = cosine_top(queries[q : q + 1], vectors, inverse(vectors), 10,
                                               exclude=(np.zeros(1, np.int64), np.array([q])))  # fmt: skip
            np.testing.assert_array_equal(rows[0], whole[0][1][q])
            np.testing.assert_array_equal(scores[0], whole[0][2][q])
    full = product(queries, vectors) * inverse(vectors)
    full[exclude] = -np.inf
    want = reference(full, 10)
    np.testing.assert_array_equal(whole[0][1], want[0])
    np.testing.assert_array_equal(whole[0][2], want[1])


@pytest.mark.slow
def test_similar_all_is_every_item_asked_alone(tmp_path: Path) -> None:
    """similar --all (neighbour_table), in blocks of 7 items, ties included, gives exactly what
    each item gets as a query of its own."""
    import pyarrow as pa

    vectors = tied_vectors(9000, 2)
    embeddings = Embeddings(ids=[f"i{n}" for n in range(9000)], vectors=vectors,
                            counts=np.ones(9000, dtype=np.int64))  # fmt: skip
    batches: list[pa.RecordBatch] = []
    summary = neighbour_table(embeddings, None, k=5, cells=7 * 9000, sink=batches.append)
    assert (summary.queries, summary.rows) == (9000, 45_000)
    table = pa.Table.from_batches(batches).to_pydict()
    for q in (0, 1, 6, 7, 4321, 8999):
        (_, rows, scores), *_ = cosine_top(unit_rows(vectors[q : q + 1]), vectors, inverse(vectors), 5,
                                           exclude=(np.zeros(1, np.int64), np.array([q])))  # fmt: skip
        assert table["item"][q * 5 : q * 5 + 5] == [f"i{r}" for r in rows[0]]
        assert table["score"][q * 5 : q * 5 + 5] == scores[0].tolist()


def test_many_ids_answer_as_each_id_alone() -> None:
    """``similar -`` with many ids (cosine_answer): the same rows as one id at a time, ties included."""
    from item2vec.query.topk import cosine_answer

    vectors = tied_vectors(9000, 4)
    embeddings = Embeddings(ids=[f"i{n}" for n in range(9000)], vectors=vectors,
                            counts=np.ones(9000, dtype=np.int64))  # fmt: skip
    rows = list(range(0, 9000, 300))
    labels = [embeddings.ids[r] for r in rows]
    queries = unit_rows(vectors[rows])
    together = cosine_answer(embeddings, labels, queries, [{r} for r in rows], 5)
    alone = [
        n
        for i, r in enumerate(rows)
        for n in cosine_answer(embeddings, [labels[i]], queries[i : i + 1], [{r}], 5)
    ]
    assert together == alone
    assert len(together) == 5 * len(rows)
    assert all(n.item != n.query for n in together)


@pytest.mark.parametrize(
    "vectors",
    [tied_vectors(9000, 5), np.random.default_rng(6).standard_normal((9000, 16)), tied_vectors(3000, 5)],
)
def test_standardised_top_is_the_dense_hybrid_bit_for_bit(vectors: np.ndarray) -> None:
    """z = (c - mean) / std + additions, scored for a few items only (or, under 4,096 items, for
    all in place), ranks and scores as the dense formula does (ties included), with exclusions
    and rows of additions."""
    import scipy.sparse as sp

    from item2vec.query.topk import standardised_top

    vectors = vectors.astype(np.float32)
    n = len(vectors)
    rng = np.random.default_rng(7)
    unit = unit_rows(vectors[rng.integers(0, n, 30)])
    unit[3] = 0  # a zero query: every cosine is 0
    mean = rng.uniform(-0.2, 0.2, 30).astype(np.float32)
    std = rng.uniform(0.05, 0.5, 30).astype(np.float32)
    counts = rng.integers(0, 12, 30)
    owner = np.repeat(np.arange(30), counts)
    added = sp.csr_matrix(
        (rng.integers(1, 5, len(owner)).astype(np.float32) / 2, (owner, rng.integers(0, n, len(owner)))),
        shape=(30, n),
    )
    added.sum_duplicates()
    exclude = (np.repeat(np.arange(30), 3), rng.integers(0, n, 90))
    cosines = product(unit, vectors) * inverse(vectors)
    dense = ((cosines - mean[:, None]) / std[:, None]).astype(np.float32)
    rows = np.repeat(np.arange(30), np.diff(added.indptr))
    dense[rows, added.indices] += added.data.astype(np.float32)
    dense[exclude] = -np.inf
    for k in (1, 10, 50):
        want = reference(dense, k)
        got = standardised_top(
            unit, vectors, inverse(vectors), k, mean=mean, std=std, added=added, exclude=exclude
        )
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_standardised_top_scores_a_row_in_full_when_it_must(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without slack for rounding, a huge mean makes every cosine one standard score: the bound
    shows nothing, and the row is scored in full."""
    import item2vec.query.topk as topk
    from item2vec.query.topk import standardised_top

    monkeypatch.setattr(topk, "_ROUNDING", 0.0)
    full: list[tuple[int, ...]] = []

    def spied(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        full.append(scores.shape)
        return top_k(scores, k)

    monkeypatch.setattr(topk, "top_k", spied)

    vectors = tied_vectors(9000, 8)
    unit = unit_rows(vectors[:2])
    mean, std = np.array([1e6, 0.0], dtype=np.float32), np.array([1.0, 1.0], dtype=np.float32)
    got = standardised_top(unit, vectors, inverse(vectors), 5, mean=mean, std=std)
    dense = ((product(unit, vectors) * inverse(vectors) - mean[:, None]) / std[:, None]).astype(np.float32)
    want = reference(dense, 5)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert full and all(shape == (1, 9000) for shape in full)  # rows scored one at a time, in full


@pytest.mark.parametrize("mode", ["similar", "next", "hybrid"])
def test_every_score_mode_ranks_a_batch_as_each_query_alone(tmp_path: Path, mode: str) -> None:
    """Scorer.top over a block of histories gives what each history gets alone, and what the
    dense scores give, bit for bit, ties included (hybrid: transitions added, seen items left out)."""
    import scipy.sparse as sp

    from item2vec.model.store import load, save
    from item2vec.model.transitions import TransitionMatrix
    from item2vec.query.scoring import make_scorer, open_parts, query_weights

    n, rng = 9000, np.random.default_rng(9)
    followers = (np.arange(n)[:, None] + rng.integers(1, 40, (n, 4)).cumsum(axis=1)) % n
    transitions = TransitionMatrix(np.arange(0, 4 * n + 1, 4, dtype=np.int64), followers.ravel().astype(np.int32),
                                   np.tile(np.array([3, 2, 1, 0.5], dtype=np.float32), n), n, steps=10, keep=100)  # fmt: skip
    save(Embeddings(ids=[f"i{r}" for r in range(n)], vectors=tied_vectors(n, 10), counts=np.ones(n, dtype=np.int64)),
         tmp_path / "m", extra={"syn1neg": tied_vectors(n, 11)}, transitions=transitions)  # fmt: skip
    embeddings = load(tmp_path / "m")
    scorer = make_scorer(open_parts(embeddings, tmp_path / "m"), mode)
    histories = [list(rng.integers(0, n, 1)) for _ in range(12)]  # one item: an exact unit query
    weights = query_weights(n, histories, [[1.0]] * 12)
    queries, added = scorer.query_vectors(weights), scorer.transition_scores(weights)
    seen = (np.repeat(np.arange(12), 1), np.array(histories).ravel())
    order = np.lexsort((seen[1], seen[0]))
    seen = (seen[0][order], seen[1][order])
    rows, scores = scorer.top(queries, added, 10, exclude=seen)
    dense = scorer.scores(queries, added)
    dense[seen] = -np.inf
    want = reference(dense, 10)
    np.testing.assert_array_equal(rows, want[0])
    np.testing.assert_array_equal(scores, want[1])
    for q in range(12):
        one = sp.csr_matrix(added[q]) if added is not None else None
        alone = scorer.top(
            queries[q : q + 1], one, 10, exclude=(np.zeros(1, np.int64), np.sort(histories[q]))
        )
        np.testing.assert_array_equal(alone[0][0], rows[q])
        np.testing.assert_array_equal(alone[1][0], scores[q])
