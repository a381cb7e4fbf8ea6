from __future__ import annotations

import itertools
import random
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from item2vec.errors import EmptyResultError
from item2vec.model.embeddings import Embeddings
from item2vec.query.neighbours import similar
from item2vec.training.config import TrainConfig
from item2vec.training.gensim_engine import EpochCorpus, Progress, train


def planted(clusters: int, size: int, sessions: int, length: int, seed: int) -> list[list[str]]:
    """Sessions that each draw items from one of several disjoint clusters."""
    rng = random.Random(seed)
    out = []
    for _ in range(sessions):
        c = rng.randrange(clusters)
        out.append([f"c{c}-i{rng.randrange(size)}" for _ in range(length)])
    return out


def fast(**overrides: object) -> TrainConfig:
    values: dict[str, object] = {"dim": 16, "epochs": 8, "min_count": 1, "workers": 1, "sample": 0.0}
    return TrainConfig.from_preset("recsys", **{**values, **overrides})


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    clusters=st.integers(2, 4),
    size=st.integers(4, 8),
    seed=st.integers(0, 10_000),
    context=st.sampled_from(["window", "set"]),
)
@pytest.mark.slow
def test_neighbours_stay_in_their_cluster(clusters: int, size: int, seed: int, context: str) -> None:
    sequences = planted(clusters, size, sessions=150 * clusters, length=6, seed=seed)
    trained = train(sequences, config=fast(seed=seed, context=context))
    emb = Embeddings(ids=trained.ids, vectors=trained.vectors, counts=np.asarray(trained.counts))
    for item in emb.ids:
        cluster = item.split("-")[0]
        for neighbour in similar(emb, [item], k=3):
            assert neighbour.item.split("-")[0] == cluster, (item, neighbour)


def test_counts_and_dropped_items() -> None:
    sequences = [["a", "b", "c"], ["a", "b"], ["a", "rare"]]
    trained = train(sequences, config=fast(min_count=2))
    assert dict(zip(trained.ids, trained.counts)) == {"a": 3, "b": 2}
    assert trained.dropped == {"c": 1, "rare": 1}
    assert trained.vectors.dtype == np.float32
    assert trained.vectors.shape == (2, 16)


@pytest.mark.parametrize("context", ["window", "set"])
def test_same_seed_one_worker_is_identical(context: str) -> None:
    sequences = planted(3, 6, sessions=200, length=5, seed=1)
    first = train(sequences, config=fast(seed=7, context=context))
    second = train(sequences, config=fast(seed=7, context=context))
    third = train(sequences, config=fast(seed=8, context=context))
    assert first.ids == second.ids
    assert np.array_equal(first.vectors, second.vectors)
    assert not np.array_equal(first.vectors, third.vectors)


@pytest.mark.slow
def test_identical_across_processes_with_different_hash_seeds() -> None:
    code = (
        "import sys, hashlib; sys.path.insert(0, '.');"
        "from tests.test_train import planted, fast; from item2vec.training.gensim_engine import train;"
        "t = train(planted(3, 6, 200, 5, 1), config=fast(seed=3, context='set'));"
        "print(hashlib.sha256(t.vectors.tobytes()).hexdigest(), t.ids[:3])"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": h},
        ).stdout
        for h in ("1", "2")
    }
    assert len(outputs) == 1


def test_set_context_reshuffles_each_epoch_deterministically() -> None:
    corpus = EpochCorpus([list("abcdefgh")], config=fast(context="set", seed=5))
    scan, first, second = list(corpus), list(corpus), list(corpus)
    assert scan == [list("abcdefgh")]
    assert sorted(first[0]) == list("abcdefgh")
    assert first != second
    again = EpochCorpus([list("abcdefgh")], config=fast(context="set", seed=5))
    assert [list(again) for _ in range(3)] == [scan, first, second]


def test_window_context_keeps_order() -> None:
    corpus = EpochCorpus([list("abc")], config=fast())
    assert [list(corpus) for _ in range(3)] == [[list("abc")]] * 3


def test_progress_reports_reach_the_end() -> None:
    seen: list[Progress] = []
    train(planted(2, 5, 100, 5, 0), config=fast(epochs=3), progress=seen.append)
    assert [p.epoch for p in seen][-1] == 3
    assert seen[-1].fraction == pytest.approx(1.0)
    assert all(a.fraction <= b.fraction for a, b in itertools.pairwise(seen))


def test_everything_below_min_count() -> None:
    with pytest.raises(
        EmptyResultError, match=r"all 3 items are below --min-count 5 .* use --min-count 1 or lower"
    ):
        train([["a", "b", "a"], ["c", "b"]], config=fast(min_count=5))


def test_packed_corpus_trains_exactly_like_lists() -> None:
    from item2vec.corpus.packed import Packed

    sequences = [*planted(3, 6, sessions=200, length=5, seed=4), ["rare", "c0-i1"]]
    from_lists = train(sequences, config=fast(min_count=2, corpus_mode="stream"))
    from_packed = train(Packed.from_lists(sequences), config=fast(min_count=2, corpus_mode="stream"))
    assert from_packed.ids == from_lists.ids
    assert from_packed.counts == from_lists.counts
    assert from_packed.dropped == from_lists.dropped == {"rare": 1}
    assert np.array_equal(from_packed.vectors, from_lists.vectors)
    assert from_packed.feed == "stream"


def test_corpus_file_mode_keeps_ids_and_clusters() -> None:
    from item2vec.corpus.packed import Packed

    sequences = [
        [s.replace("-", " id ") for s in seq] for seq in planted(3, 6, sessions=300, length=6, seed=2)
    ]
    seen: list[list[str]] = []
    trained = train(
        Packed.from_lists(sequences),
        config=fast(corpus_mode="file"),
        on_epoch=lambda epoch, ids, vectors, output: seen.append(ids),
    )
    assert trained.feed == "file"
    assert sorted(trained.ids) == sorted({i for s in sequences for i in s})
    assert seen[-1] == trained.ids
    emb = Embeddings(ids=trained.ids, vectors=trained.vectors, counts=np.asarray(trained.counts))
    for item in emb.ids:
        assert all(n.item.split(" ")[0] == item.split(" ")[0] for n in similar(emb, [item], k=3))


def test_corpus_file_mode_reports_progress_each_epoch() -> None:
    reports: list[Progress] = []
    train(planted(2, 4, 50, 4, seed=1), config=fast(corpus_mode="file", epochs=3), progress=reports.append)
    assert [r.epoch for r in reports] == [1, 2, 3]
    assert reports[-1].fraction == 1.0


def test_corpus_file_mode_refuses_set_context() -> None:
    from item2vec.errors import ConfigError

    with pytest.raises(ConfigError, match="--corpus-mode file cannot reshuffle"):
        train([["a", "b"]], config=fast(corpus_mode="file", context="set"))


def test_auto_feed_choice() -> None:
    from item2vec.corpus.packed import Packed
    from item2vec.training.gensim_engine import FILE_MIN_TOKENS, FILE_MIN_WORKERS, choose_feed

    big = Packed.from_lists([["a", "b"] * (FILE_MIN_TOKENS // 2)])
    assert choose_feed(fast(workers=FILE_MIN_WORKERS), big) == "file"
    assert choose_feed(fast(workers=FILE_MIN_WORKERS - 1), big) == "stream"
    assert choose_feed(fast(workers=FILE_MIN_WORKERS, context="set"), big) == "stream"
    assert choose_feed(fast(workers=FILE_MIN_WORKERS), Packed.from_lists([["a", "b"]])) == "stream"
    assert choose_feed(fast(workers=1, corpus_mode="file"), [["a", "b"]]) == "file"
