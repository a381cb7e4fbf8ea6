"""Exact tests of Embeddings on the hand-built 8-item model (see conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

from item2vec.errors import EmptyResultError, UnknownItemError, flag_name, spell
from item2vec.model.embeddings import Embeddings, Neighbour, format_analogy, parse_analogy, unit_rows
from item2vec.query.neighbours import analogy, similar
from tests.conftest import TINY_VECTORS, tiny_embeddings

IDS = list(TINY_VECTORS)


def cosine(a: str, b: str) -> float:
    u, v = np.array(TINY_VECTORS[a], dtype=np.float64), np.array(TINY_VECTORS[b], dtype=np.float64)
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


def expected_neighbours(query: str) -> list[tuple[str, float]]:
    """All other items by cosine (float64), ties broken by row order."""
    others = [i for i in IDS if i != query]
    ranked = sorted(others, key=lambda i: (-cosine(query, i), IDS.index(i)))
    return [(i, cosine(query, i)) for i in ranked]


# similar -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", IDS)
def test_similar_order_and_scores_match_numpy_cosines(tiny: Embeddings, query: str) -> None:
    got = similar(tiny, [query], k=3)
    want = expected_neighbours(query)[:3]
    assert [n.item for n in got] == [i for i, _ in want]
    assert [n.score for n in got] == pytest.approx([s for _, s in want], abs=1e-6)
    assert [n.rank for n in got] == [1, 2, 3]
    assert {n.query for n in got} == {query}


def test_similar_king_exact(tiny: Embeddings) -> None:
    got = similar(tiny, ["king"], k=3)
    assert [(n.item, n.rank) for n in got] == [("prince", 1), ("man", 2), ("queen", 3)]
    assert got[0].score == pytest.approx(1.6 / (np.sqrt(2) * np.sqrt(1.4)), abs=1e-6)
    assert got[1].score == pytest.approx(1 / np.sqrt(2), abs=1e-6)
    assert got[2].score == pytest.approx(0.5, abs=1e-6)


def test_similar_excludes_query_and_k_larger_than_vocabulary(tiny: Embeddings) -> None:
    got = similar(tiny, ["king"], k=100)
    assert len(got) == len(IDS) - 1
    assert "king" not in [n.item for n in got]
    assert [n.item for n in got] == [i for i, _ in expected_neighbours("king")]
    # the three zero-score items keep row order: woman, apple, pear
    assert [n.item for n in got[-3:]] == ["woman", "apple", "pear"]
    assert [n.rank for n in got] == list(range(1, 8))


def test_similar_k_zero_is_empty(tiny: Embeddings) -> None:
    assert similar(tiny, ["king"], k=0) == []


def test_similar_several_queries_each_answered_in_order(tiny: Embeddings) -> None:
    got = similar(tiny, ["apple", "king"], k=2)
    assert [(n.query, n.rank, n.item) for n in got] == [
        ("apple", 1, "pear"),
        ("apple", 2, "plum"),
        ("king", 1, "prince"),
        ("king", 2, "man"),
    ]


def test_similar_carries_names(tiny: Embeddings) -> None:
    got = similar(tiny, ["apple"], k=2)
    assert [n.name for n in got] == ["Green Pear", "Plum (dark)"]
    assert got[0].as_row(True) == {
        "query": "apple",
        "rank": 1,
        "item": "pear",
        "score": round(got[0].score, 6),
        "name": "Green Pear",
    }
    assert similar(tiny, ["apple"], k=3)[2].as_row(True)["name"] == ""
    assert "name" not in got[0].as_row(False)


def test_similar_combine_uses_mean_and_excludes_all_queries(tiny: Embeddings) -> None:
    got = similar(tiny, ["apple", "pear"], k=100, combine=True)
    units = {i: np.array(v, dtype=np.float64) / np.linalg.norm(v) for i, v in TINY_VECTORS.items()}
    mean = (units["apple"] + units["pear"]) / 2
    scores = {i: float(units[i] @ mean / np.linalg.norm(mean)) for i in IDS if i not in ("apple", "pear")}
    want = sorted(scores, key=lambda i: (-scores[i], IDS.index(i)))
    assert [n.item for n in got] == want
    assert want[0] == "plum"
    assert [n.score for n in got] == pytest.approx([scores[i] for i in want], abs=1e-6)
    assert {n.query for n in got} == {"apple + pear"}
    assert len(got) == len(IDS) - 2


def test_similar_unknown_item_raises(tiny: Embeddings) -> None:
    with pytest.raises(UnknownItemError, match="'quen' is not in the model"):
        similar(tiny, ["king", "quen"])


def test_unit_rows_keeps_zero_rows_zero() -> None:
    rows = unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert rows.dtype == np.float32
    assert rows.tolist() == [[pytest.approx(0.6), pytest.approx(0.8)], [0.0, 0.0]]


# analogy -------------------------------------------------------------------------------------------

ANALOGIES = [
    (["king", "woman"], ["man"]),
    (["king"], ["man"]),
    (["apple", "queen"], ["pear"]),
    (["plum"], []),
    (["prince", "woman"], ["man", "apple"]),
]


def _by_rank(pairs: list[tuple[str, float]]) -> list[str]:
    """Ids in rank order, each run of tied scores (within 1e-6) sorted: gensim's tie order is arbitrary."""
    out: list[str] = []
    tied: list[str] = []
    last = None
    for item, score in pairs:
        if last is not None and abs(score - last) > 1e-6:
            out.extend(sorted(tied))
            tied = []
        tied.append(item)
        last = score
    return out + sorted(tied)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(("positive", "negative"), ANALOGIES)
@pytest.mark.parametrize("method", ["add", "mul"])
def test_analogy_matches_gensim(
    tiny: Embeddings, positive: list[str], negative: list[str], method: str
) -> None:
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=tiny.dim)
    kv.add_vectors(tiny.ids, np.asarray(tiny.vectors))
    query = kv.most_similar if method == "add" else kv.most_similar_cosmul
    want = [(i, float(s)) for i, s in query(positive=positive, negative=negative, topn=10)]
    got = analogy(tiny, positive, negative, k=10, method=method)  # type: ignore[arg-type]
    assert len(got) == len(want) == len(IDS) - len(positive) - len(negative)
    assert _by_rank([(n.item, n.score) for n in got]) == _by_rank(want)
    assert [n.score for n in got] == pytest.approx([s for _, s in want], abs=1e-6)
    assert not {n.item for n in got} & {*positive, *negative}


@pytest.mark.parametrize("method", ["add", "mul"])
def test_analogy_king_minus_man_plus_woman_is_queen(tiny: Embeddings, method: str) -> None:
    got = analogy(tiny, ["king", "woman"], ["man"], k=3, method=method)  # type: ignore[arg-type]
    assert got[0].item == "queen"
    assert [n.rank for n in got] == [1, 2, 3]
    assert {n.query for n in got} == {"king + woman - man"}
    assert not {n.item for n in got} & {"king", "woman", "man"}


def test_analogy_add_score_is_cosine_to_combination(tiny: Embeddings) -> None:
    units = {i: np.array(v, dtype=np.float64) / np.linalg.norm(v) for i, v in TINY_VECTORS.items()}
    target = units["king"] - units["man"] + units["woman"]
    want = float(units["queen"] @ target / np.linalg.norm(target))
    assert analogy(tiny, ["king", "woman"], ["man"], k=1)[0].score == pytest.approx(want, abs=1e-6)


def test_analogy_label_and_k(tiny: Embeddings) -> None:
    got = analogy(tiny, ["king", "woman"], ["man"], k=1, label="king - man + woman")
    assert got == [Neighbour("king - man + woman", 1, "queen", got[0].score, None)]


def test_analogy_needs_a_positive_item(tiny: Embeddings) -> None:
    with pytest.raises(EmptyResultError, match="at least one positive item"):
        analogy(tiny, [], ["man"])


def test_analogy_unknown_item_raises(tiny: Embeddings) -> None:
    with pytest.raises(UnknownItemError, match="'duke' is not in the model"):
        analogy(tiny, ["king"], ["duke"])


def test_format_analogy() -> None:
    assert format_analogy(["king", "woman"], ["man"]) == "king + woman - man"
    assert format_analogy(["a"], []) == "a"


# parse_analogy -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "positive", "negative"),
    [
        ("king - man + woman", ["king", "woman"], ["man"]),
        ("  king   -  man +   woman  ", ["king", "woman"], ["man"]),
        ("king", ["king"], []),
        ("- man + woman", ["woman"], ["man"]),
        ("+ king - man", ["king"], ["man"]),
        ("sku-9 - sku-1", ["sku-9"], ["sku-1"]),
        ("sku-9 + sku-10 - sku-1 - sku-2", ["sku-9", "sku-10"], ["sku-1", "sku-2"]),
        ("a+b - c-d", ["a+b"], ["c-d"]),
        ("-5 + +7", ["-5", "+7"], []),
    ],
)
def test_parse_analogy(expression: str, positive: list[str], negative: list[str]) -> None:
    assert parse_analogy(expression) == (positive, negative)


@pytest.mark.parametrize(
    "expression", ["", "   ", "-", "+", "- ", "king - man +", "king - man + ", "king - + woman", "- + woman"]
)
def test_parse_analogy_empty_term_raises(expression: str) -> None:
    with pytest.raises(EmptyResultError) as info:
        parse_analogy(expression)
    assert str(info.value) == (f"analogy {expression!r} has an empty term: write it as 'king - man + woman'")


# unknown items -------------------------------------------------------------------------------------


def test_unknown_item_below_min_count(tiny: Embeddings) -> None:
    with pytest.raises(UnknownItemError) as info:
        tiny.position("duke")
    assert str(info.value) == (
        "item 'duke' is not in the model (8 items; it occurred 3 times, below --min-count 5): "
        "retrain with a lower --min-count to keep it"
    )


def test_unknown_item_suggests_close_ids(tiny: Embeddings) -> None:
    with pytest.raises(UnknownItemError) as info:
        similar(tiny, ["quen"])
    assert str(info.value) == (
        "item 'quen' is not in the model (8 items; it was not in the training data); did you mean 'queen'?"
    )


def test_unknown_item_suggests_names(tiny: Embeddings) -> None:
    with pytest.raises(UnknownItemError) as info:
        tiny.position("dark")
    assert str(info.value).endswith("did you mean 'plum' (Plum (dark))?")
    assert tiny.suggest("green") == ["'queen'", "'pear' (Green Pear)"]


def test_unknown_item_suggestion_not_repeated(tiny: Embeddings) -> None:
    # "Apple" is close to the id 'apple' and is in its name: suggest it once.
    assert tiny.suggest("Apple") == ["'apple'"]


def test_unknown_item_without_suggestion(tiny: Embeddings) -> None:
    with pytest.raises(UnknownItemError) as info:
        tiny.position("zzzz")
    assert str(info.value) == "item 'zzzz' is not in the model (8 items; it was not in the training data)"


def test_unknown_item_count_uses_thousands_separator() -> None:
    ids = [f"i{n}" for n in range(1234)]
    embeddings = Embeddings(
        ids=ids, vectors=np.eye(1234, 2, dtype=np.float32), counts=np.ones(1234, np.int64)
    )
    with pytest.raises(UnknownItemError, match=r"\(1,234 items; it was not in the training data\)"):
        embeddings.position("zzzz")


# find_by_name and resolve --------------------------------------------------------------------------


def test_find_by_name_case_insensitive_substring(tiny: Embeddings) -> None:
    assert tiny.find_by_name("APPLE") == [IDS.index("apple")]
    assert tiny.find_by_name("p") == [IDS.index("apple"), IDS.index("pear"), IDS.index("plum")]
    assert tiny.find_by_name("nothing") == []
    assert tiny.find_by_name("") == []
    assert tiny_embeddings(names=False).find_by_name("apple") == []


def test_find_by_name_most_frequent_first() -> None:
    embeddings = Embeddings(
        ids=["a", "b", "c", "d"],
        vectors=np.eye(4, dtype=np.float32),
        counts=np.array([1, 5, 3, 5], dtype=np.int64),
        names={"a": "Blue Cup", "b": "red cup", "c": "CUP", "d": "Cupboard", "gone": "cup"},
    )
    # b and d tie on count: row order; "gone" is not in the vocabulary
    assert embeddings.find_by_name("cup") == [1, 3, 2, 0]


def test_resolve_ids(tiny: Embeddings) -> None:
    assert tiny.resolve(["king", "pear"]) == (["king", "pear"], [])


def test_resolve_unknown_id_raises(tiny: Embeddings) -> None:
    with pytest.raises(UnknownItemError, match="'quen' is not in the model"):
        tiny.resolve(["king", "quen"])


def test_resolve_title_takes_most_frequent_with_note(tiny: Embeddings) -> None:
    found, notes = tiny.resolve([], ("P",))
    assert (found, [spell(n, flag_name) for n in notes]) == (
        ["apple"],
        [
            "--title 'P' matches 3 items; using the most frequent, 'apple' (Red Apple); "
            "pass an id to choose another"
        ],
    )


def test_resolve_single_title_match_has_no_note(tiny: Embeddings) -> None:
    assert tiny.resolve(["king"], ("green",)) == (["king", "pear"], [])


def test_resolve_title_matching_nothing(tiny: Embeddings) -> None:
    with pytest.raises(UnknownItemError) as info:
        tiny.resolve([], ("zzz",))
    assert str(info.value) == "--title 'zzz' matches nothing: no item name contains it"
    assert (info.value.param, info.value.value) == ("title", "zzz")
    with pytest.raises(UnknownItemError) as info:
        tiny_embeddings(names=False).resolve([], ("apple",))
    assert (
        str(info.value) == "--title 'apple' matches nothing: the model has no item names (train with --items)"
    )


def test_resolve_skip_unknown_gives_notes(tiny: Embeddings) -> None:
    found, notes = tiny.resolve(["quen", "king", "duke"], skip_unknown=True)
    assert found == ["king"]
    assert [spell(n, flag_name) for n in notes] == [
        "skipped: item 'quen' is not in the model (8 items; it was not in the training data); "
        "did you mean 'queen'?",
        "skipped: item 'duke' is not in the model (8 items; it occurred 3 times, below --min-count 5): "
        "retrain with a lower --min-count to keep it",
    ]


def test_resolve_nothing_left_raises(tiny: Embeddings) -> None:
    with pytest.raises(EmptyResultError) as info:
        tiny.resolve(["quen", "duke"], skip_unknown=True)
    assert str(info.value) == "none of the 2 query items is in the model"
    with pytest.raises(EmptyResultError):
        tiny.resolve([])
