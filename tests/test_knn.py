"""Session-kNN baselines: the vectorised engine against a loop port, hand-checked answers, own sessions."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import numpy as np
import pytest

from item2vec.errors import ConfigError
from item2vec.evaluation.knn import KNN_LABELS, KNN_METHODS, KnnParams, SessionKnn, knn_grid, own_sessions
from item2vec.evaluation.ranking import MISS, Cases
from tests.knn_loop import LoopKnn

# --- the loop port on random data ----------------------------------------------------------------


def random_log(seed: int) -> tuple[list[list[str]], dict[str, int], list[list[str]], np.ndarray]:
    """A few hundred sessions with repeats, items outside the catalogue, and leave-last-out cases
    whose prefixes are in the training list (their own sessions) plus cases with none."""
    rng = random.Random(seed)
    items = [f"i{j}" for j in range(70)]
    index = {item: column for column, item in enumerate(items[:55])}  # i55..i69: outside the catalogue

    def session() -> list[str]:
        hot = rng.randrange(0, 50)  # sessions cluster on a window of items, so they overlap
        size = (
            rng.randint(1, 9) if rng.random() < 0.8 else rng.randint(10, 16)
        )  # linear: weights <= 0 past 10
        return [items[min(69, hot + int(rng.expovariate(0.25)))] for _ in range(size)]

    held = [[*session(), rng.choice(items)] for _ in range(60)]
    prefixes = [seq[:-1] for seq in held]
    train = [session() for _ in range(240)] + prefixes
    rng.shuffle(train)
    queries = prefixes + [session() for _ in range(20)]
    own = np.r_[own_sessions(train, prefixes), np.full(20, -1)]
    return train, index, queries, own


POINTS = [
    KnnParams("sknn"),
    KnnParams("sknn", k=4, sample_size=15),
    KnnParams("sknn", k=6, sample_size=25, similarity="jaccard"),
    KnnParams("sknn", k=3, sample_size=0, similarity="jaccard"),
    KnnParams("vsknn"),
    KnnParams("vsknn", k=5, sample_size=20),
    KnnParams("vsknn", k=4, sample_size=30, weighting="log", weighting_score="quadratic", idf_weighting=2),
    KnnParams("vsknn", k=8, sample_size=25, weighting="quadratic", weighting_score="log", idf_weighting=5),
    KnnParams("vsknn", k=6, sample_size=40, weighting="linear", weighting_score="linear"),
    KnnParams("vsknn", k=6, sample_size=10, weighting="same", weighting_score="same"),
    KnnParams("stan"),
    KnnParams("stan", k=5, sample_size=20),
    KnnParams("stan", k=3, sample_size=30, lambda_spw=0.5, lambda_snh=20, lambda_inh=1.0),
    KnnParams("stan", k=10, sample_size=0, lambda_spw=8.0, lambda_snh=100, lambda_inh=0.25),
    KnnParams("stan", k=6, sample_size=20, lambda_spw=1e-5, lambda_snh=40, lambda_inh=1e-5),  # weights 0
]


@pytest.mark.parametrize("params", POINTS, ids=lambda p: p.label())
def test_vectorised_scores_equal_the_loop_port(params: KnnParams) -> None:
    for seed in (1, 2):
        train, index, queries, own = random_log(seed)
        loop = LoopKnn(train, index)
        expected = loop.scores(queries, params, own.tolist())
        got = SessionKnn.fit(train, index).scores(queries, params, own=own)
        assert got.shape == (len(queries), len(index))
        assert got.dtype == np.float64
        assert (got.data > 0).all()
        assert np.allclose(got.toarray(), expected, rtol=1e-9, atol=0)
        assert ((got.toarray() > 0) == (expected > 0)).all()
        assert (expected > 0).sum() > 100
        if params.k < 100:  # the cut changes the answer: k and sample_size really bind
            everything = loop.scores(queries, replace(params, k=10**6, sample_size=0), own.tolist())
            assert not np.allclose(expected, everything)


@pytest.mark.parametrize("method", KNN_METHODS)
def test_sums_by_sort_equal_the_dense_sums(method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks too wide to sum densely per (case, item) sum by a sort: the same floats."""
    from item2vec.evaluation import knn_scores

    train, index, queries, own = random_log(3)
    knn = SessionKnn.fit(train, index)
    dense = knn.scores(queries, KnnParams(method, k=8, sample_size=30), own=own)
    monkeypatch.setattr(knn_scores, "_SUM_CELLS", 0)
    sorted_sums = knn.scores(queries, KnnParams(method, k=8, sample_size=30), own=own)
    assert (dense != sorted_sums).nnz == 0 and dense.nnz > 0


def test_the_random_log_has_own_sessions_and_cases_without() -> None:
    _, _, _, own = random_log(1)
    assert (own[:60] >= 0).sum() >= 55
    assert (own[60:] == -1).all()
    assert len(set(own[own >= 0].tolist())) == (own >= 0).sum()


# --- hand-checked answers --------------------------------------------------------------------------

INDEX = {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}
TRAIN = [["a", "b"], ["b", "c", "x"], ["c", "a", "d", "c"]]  # x: outside the catalogue


def scores(query: list[str], params: KnnParams, own: list[int] | None = None) -> list[float]:
    knn = SessionKnn.fit(TRAIN, INDEX)
    own_array = None if own is None else np.array(own)
    row: list[float] = knn.scores([query], params, own=own_array).toarray()[0].tolist()
    return row


def test_sknn_by_hand() -> None:
    # [a] shares a with session 0 ({a,b}) and session 2 ({a,c,d}): cosine 1/√2 and 1/√3
    s0, s2 = 1 / math.sqrt(2), 1 / math.sqrt(3)
    assert scores(["a"], KnnParams("sknn")) == pytest.approx([s0 + s2, s0, s2, s2, 0])
    assert scores(["a"], KnnParams("sknn", k=1)) == pytest.approx([s0, s0, 0, 0, 0])
    assert scores(["a"], KnnParams("sknn", similarity="jaccard")) == pytest.approx(
        [1 / 2 + 1 / 3, 1 / 2, 1 / 3, 1 / 3, 0]
    )


def test_sknn_ties_keep_the_older_session_and_sampling_keeps_the_recent() -> None:
    # [b] ties session 0 ({a,b}) and session 1 ({b,c}, x dropped): cosine 1/√2 each
    tie = 1 / math.sqrt(2)
    assert scores(["b"], KnnParams("sknn", k=1)) == pytest.approx([tie, tie, 0, 0, 0])  # the older
    assert scores(["b"], KnnParams("sknn", sample_size=1)) == pytest.approx([0, tie, tie, 0, 0])  # the newer


def test_vsknn_by_hand() -> None:
    # query [b, a]: div weights b 1/2, a 1; similarity = shared weights / 2 distinct items
    # session 0 {a,b}: 0.75, last shared a is the last query item: decay 1/1
    # session 1 {b,c}: 0.25, last shared b is 2 from the end: decay 1/2
    # session 2 {c,a,d}: 0.5, decay 1
    expected = [0.75 + 0.5, 0.75 + 0.125, 0.125 + 0.5, 0.5, 0]
    assert scores(["b", "a"], KnnParams("vsknn")) == pytest.approx(expected)
    # idf: log(3 sessions / occurrences): a 2, b 2, c 3, d 1 → boosts (1 + idf) per item
    idf = {0: math.log(3 / 2), 1: math.log(3 / 2), 2: math.log(3 / 3), 3: math.log(3 / 1)}
    boosted = [v * (1 + idf[i]) for i, v in enumerate(expected[:4])] + [0]
    assert scores(["b", "a"], KnnParams("vsknn", idf_weighting=1)) == pytest.approx(boosted)


def test_stan_by_hand() -> None:
    # query [a]: one item, weight 1. Ages on the 100-day clock: session 0 is 100 days old,
    # session 2 33.3 days. Session 2 is [c, a, d, c]: a (shared) at 2, d at 3, c last at 4.
    p = KnnParams("stan", lambda_snh=100, lambda_inh=1)
    s0 = 1 / math.sqrt(2) * math.exp(-1)
    s2 = 1 / math.sqrt(3) * math.exp(-1 / 3)
    expected = [s0 + s2, s0 * math.exp(-1), s2 * math.exp(-2), s2 * math.exp(-1), 0]
    assert scores(["a"], p) == pytest.approx(expected)


def test_stan_position_weights_by_hand() -> None:
    # query [d, b]: weights d e^(-1/spw), b 1; session 0 {a,b} shares b, session 2 shares d
    p = KnnParams("stan", lambda_spw=1, lambda_snh=100, lambda_inh=1)
    norm = math.sqrt(math.exp(-2) + 1)
    s0 = 1 / (norm * math.sqrt(2)) * math.exp(-1)
    s1 = 1 / (norm * math.sqrt(2)) * math.exp(-2 / 3)  # session 1 [b, c]: b at 1
    s2 = math.exp(-1) / (norm * math.sqrt(3)) * math.exp(-1 / 3)  # d at 3: a 1 away, c 1 away
    expected = [s0 * math.exp(-1) + s2 * math.exp(-1), s0 + s1, s1 * math.exp(-1) + s2 * math.exp(-1), s2, 0]
    assert scores(["d", "b"], p) == pytest.approx(expected)


# --- own sessions, empty queries, ranking ----------------------------------------------------------


@pytest.mark.parametrize("method", KNN_METHODS)
def test_the_own_session_is_never_a_neighbour(method: str) -> None:
    train = [["a", "b"], ["c", "d"]]
    knn = SessionKnn.fit(train, INDEX)
    alone = knn.scores([["a"]], KnnParams(method), own=np.array([0]))
    assert alone.nnz == 0  # its only overlap is its own session
    assert knn.scores([["a"]], KnnParams(method), own=np.array([-1])).nnz == 2


@pytest.mark.parametrize("method", KNN_METHODS)
def test_the_own_session_is_removed_before_sampling(method: str) -> None:
    knn = SessionKnn.fit([["a", "b"], ["a", "c"], ["a", "d"]], INDEX)
    got = knn.scores([["a"]], KnnParams(method, sample_size=1), own=np.array([2]))
    assert sorted(got.indices.tolist()) == [0, 2]  # session 1, the next most recent, fills the sample
    got = knn.scores([["a"]], KnnParams(method, sample_size=1), own=np.array([0]))
    assert sorted(got.indices.tolist()) == [0, 3]


@pytest.mark.parametrize("method", KNN_METHODS)
def test_empty_and_unknown_queries_score_nothing(method: str) -> None:
    knn = SessionKnn.fit(TRAIN, INDEX)
    got = knn.scores([[], ["zzz"], ["a"]], KnnParams(method))
    assert got.shape == (3, 5)
    assert np.diff(got.indptr).tolist()[:2] == [0, 0]
    assert got[2].nnz > 0
    assert knn.scores([], KnnParams(method)).shape == (0, 5)


def test_rank_allows_seen_items_only_when_asked() -> None:
    knn = SessionKnn.fit(TRAIN, INDEX)
    cases = Cases([["a"], ["b", "a"]], ["a", "c"])
    kept = knn.rank(cases, KnnParams("vsknn"), kmax=5)
    assert kept.method == "v-sknn"
    assert kept.ranks.tolist() == [0, 2]  # a is the best answer to [a]; [b, a] ranks a, b, c
    assert kept.top[1].tolist() == [0, 1, 2, 3, 4]
    dropped = knn.rank(cases, KnnParams("vsknn"), kmax=5, exclude_seen=True)
    assert dropped.ranks.tolist() == [MISS, 0]
    assert 0 not in dropped.top[0].tolist()
    assert dropped.top[1].tolist()[:3] == [2, 3, 4]


def test_own_sessions_claims_each_training_sequence_once() -> None:
    train = [["a", "b"], ["c"], ["a", "b"], ["d"]]
    prefixes = [["a", "b"], ["a", "b"], ["a", "b"], ["c"], ["x"], ["b", "a"]]
    assert own_sessions(train, prefixes).tolist() == [0, 2, -1, 1, -1, -1]
    assert own_sessions([], [["a"]]).tolist() == [-1]


def test_own_sessions_finds_the_older_history_of_a_split_train_file() -> None:
    """Trained on split's train.csv (each sequence without its last two items) and evaluated on
    test.csv: the copy is the prefix without its last item. Exact copies are claimed first."""
    whole = [["a", "b", "c", "d"], ["a", "b", "c", "e"], ["x", "y", "z"], ["p", "q"]]
    train = [seq[:-2] for seq in whole if len(seq) > 2]  # [a b] [a b] [x]
    prefixes = [seq[:-1] for seq in whole]  # [a b c] [a b c] [x y] [p]
    assert own_sessions(train, prefixes).tolist() == [0, 1, 2, -1]
    # An exact copy beats a shortened one even for a later case; each sequence is claimed once.
    train = [["a", "b"], ["a", "b", "c"], ["a"]]
    assert own_sessions(train, [["a", "b", "c"], ["a", "b"], ["a", "b"], ["a", "b"]]).tolist() == [
        1,
        0,
        2,
        -1,
    ]
    # The validation file against train.csv, and test.csv against train + valid: exact copies.
    valid = [seq[:-1] for seq in whole]
    merged = [seq[:-2] for seq in whole if len(seq) > 2] + valid
    assert own_sessions(merged, prefixes).tolist() == [3, 4, 5, 6]


# --- parameters -------------------------------------------------------------------------------------


def test_labels_and_grids() -> None:
    assert KnnParams("stan").label() == "stan(k=100,sample=500,spw=1.02,snh=5,inh=2.05)"
    assert KnnParams("sknn").label() == "sknn(k=100,sample=500,sim=cosine)"
    assert KnnParams("vsknn").label() == "v-sknn(k=100,sample=500,w=div,ws=div,idf=0)"
    assert KNN_LABELS == {"sknn": "sknn", "vsknn": "v-sknn", "stan": "stan"}
    for method in KNN_METHODS:
        grid = knn_grid(method)
        assert 6 <= len(grid) <= 16
        assert len({p.label() for p in grid}) == len(grid)
        assert all(p.method == method for p in grid)
    stan = knn_grid("stan")
    assert any(p.lambda_spw == pytest.approx(1.025) and p.lambda_inh == pytest.approx(2.05) for p in stan)
    assert {p.lambda_spw for p in knn_grid("stan", mean_length=8)} == {2.0, 8.0}
    assert SessionKnn.fit(TRAIN, INDEX).mean_length == pytest.approx(8 / 3)


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"method": "knn"}, "method"),
        ({"method": "sknn", "similarity": "dice"}, "similarity"),
        ({"method": "vsknn", "weighting_score": "div_score"}, "weighting_score"),
        ({"method": "sknn", "k": 0}, "k"),
        ({"method": "sknn", "sample_size": -1}, "sample_size"),
        ({"method": "vsknn", "idf_weighting": -1}, "idf_weighting"),
        ({"method": "stan", "lambda_snh": 0}, "lambda_snh"),
    ],
)
def test_bad_parameters_are_refused(fields: dict[str, object], name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        KnnParams(**fields)  # type: ignore[arg-type]
    assert caught.value.param == name


# --- tuned on validation (knn_tune) ----------------------------------------------------------------


@pytest.mark.parametrize("exclude", [True, False])
def test_target_ranks_equal_rank_scores(exclude: bool) -> None:
    """tune ranks only the targets (no top lists): the same ranks as evaluate's rank_scores."""
    from item2vec.evaluation.knn_tune import target_ranks
    from item2vec.evaluation.ranking import query_matrix, rank_scores

    train, index, queries, own = random_log(4)
    rng = random.Random(4)
    # Targets: scored or not, in the query (seen), outside the catalogue.
    targets = [rng.choice([*q, "i60", "i3", "i40", f"i{rng.randrange(55)}"]) if q else "i1" for q in queries]
    cases = Cases(queries, targets)
    seen = (query_matrix(index, queries) != 0).astype(np.int8).tocsr()
    codes = np.array([index.get(t, -1) for t in targets])
    knn = SessionKnn.fit(train, index)
    for method in KNN_METHODS:
        scores = knn.scores(queries, KnnParams(method, k=5, sample_size=20), own=own)
        expected = rank_scores(method, index, cases, scores, kmax=10, exclude_seen=exclude).ranks
        got = target_ranks(scores, seen, codes, exclude_seen=exclude)
        assert got.tolist() == expected.tolist()
        assert (got == MISS).any() and (got < MISS).sum() > 10


def test_evaluate_ranks_the_knn_methods_with_the_recorded_parameters() -> None:
    """model.json's "baselines" record (tune's choices) sets evaluate's session-kNN parameters."""
    from item2vec.errors import ModelError
    from item2vec.evaluation.evaluate import evaluate_next_item
    from tests.conftest import tiny_embeddings

    rng = random.Random(7)
    items = ["apple", "pear", "plum", "king", "queen", "prince"]
    train = [[rng.choice(items) for _ in range(rng.randint(2, 5))] for _ in range(40)]
    test = [[*seq, rng.choice(items)] for seq in train[:15]]

    def stan_row(embeddings_meta: dict[str, object]) -> dict[str, object]:
        embeddings = tiny_embeddings()
        embeddings.meta.update(embeddings_meta)
        report = evaluate_next_item(embeddings, test, train, ks=(1, 3), protocols=("history",))
        return next(r for r in report.rows if r["method"] == "stan" and r["seen"] == "kept")

    recorded = {"baselines": {"knn": {"stan": {"k": 1, "sample_size": 3, "lambda_inh": 0.5}}}}
    cases = Cases.from_sequences(test, query="history", history=None)
    from item2vec.evaluation.baselines import Baselines

    index = Baselines.fit(train).index
    knn = SessionKnn.fit(train, index)
    own = own_sessions(train, cases.histories)
    found = []
    for meta, params in (
        ({}, KnnParams("stan")),
        (recorded, KnnParams("stan", k=1, sample_size=3, lambda_inh=0.5)),
    ):
        expected = knn.rank(cases, params, kmax=3, own=own, exclude_seen=False).metrics((1, 3))
        row = stan_row(meta)
        found.append({key: row[key] for key in ("hr@1", "hr@3", "ndcg@3")})
        assert found[-1] == {key: expected[key] for key in ("hr@1", "hr@3", "ndcg@3")}
    assert found[0] != found[1]  # the record changed the answers
    with pytest.raises(ModelError, match=r"model.json's 'baselines\.knn\.stan\.k' is 0"):
        stan_row({"baselines": {"knn": {"stan": {"k": 0}}}})
