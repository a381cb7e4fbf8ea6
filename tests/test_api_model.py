"""``item2vec.Model`` on the hand-built 8-item model: every method, with exact answers."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from gensim.models import KeyedVectors

import item2vec
from item2vec.cli import cli
from item2vec.errors import ConfigError, EmptyResultError, InputError, ModelError, OutputExistsError
from tests.conftest import TINY_COUNTS, TINY_VECTORS, tiny_embeddings
from tests.test_users import USER_LOG

IDS = list(TINY_VECTORS)
TINY = np.array([TINY_VECTORS[i] for i in IDS], dtype=np.float32)


@pytest.fixture
def model() -> item2vec.Model:
    return item2vec.Model(tiny_embeddings())


def cosine(a: str, b: str) -> float:
    """In float64, of the float32 vectors the model holds."""
    x, y = (np.array(TINY_VECTORS[i], dtype=np.float32).astype(np.float64) for i in (a, b))
    return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))


def assert_pairs(ours: list[item2vec.ItemScore], gensims: list[tuple[str, float]]) -> None:
    """The same items as gensim's answer, with the same scores to float32 precision."""
    assert [item for item, _ in ours] == [item for item, _ in gensims]
    assert [score for _, score in ours] == pytest.approx([score for _, score in gensims], abs=1e-6)


# --- a read-only mapping of id to vector ---------------------------------------------------------


def test_ids_vectors_counts_names(model: item2vec.Model) -> None:
    assert list(model.ids) == IDS and len(model) == 8 and list(model) == IDS and model.dim == 4
    assert np.array_equal(model.vectors, TINY) and model.vectors.dtype == np.float32
    assert model.counts.tolist() == TINY_COUNTS
    assert dict(model.names) == {
        "apple": "Red Apple",
        "pear": "Green Pear",
        "plum": "Plum (dark)",
        "king": "King",
    }
    assert model.meta["engine"] == "hand-built"
    with pytest.raises(ValueError, match="read-only"):
        model.vectors[0, 0] = 5.0
    assert repr(model) == "<item2vec.Model: 8 items, dim 4>"


def test_lookups(model: item2vec.Model) -> None:
    assert model.vector("king").tolist() == [1.0, 0.0, 1.0, 0.0]
    assert model["queen"].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert model[["man", "woman"]].tolist() == [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]
    assert "king" in model and "duke" not in model and 5 not in model
    assert model.similarity("king", "queen") == 0.5
    assert model.similarity("king", "prince") == pytest.approx(cosine("king", "prince"), abs=1e-12)
    assert model.find("pear") == ["pear"] and model.find("p") == ["apple", "pear", "plum"]


def test_an_unknown_item_is_a_key_error_that_says_why(model: item2vec.Model) -> None:
    with pytest.raises(KeyError) as caught:
        model["duke"]
    assert isinstance(caught.value, item2vec.ItemNotFoundError)
    assert isinstance(caught.value, item2vec.Item2VecError)
    assert str(caught.value) == (
        "item 'duke' is not in the model (8 items; it occurred 3 times, below min_count=5): "
        "retrain with a lower min_count= to keep it"
    )
    with pytest.raises(item2vec.ItemNotFoundError, match=r"did you mean 'king'\?$"):
        model.similar("kng")
    with pytest.raises(TypeError, match=r"^item ids are strings: give '17850', not int 17850$"):
        model.vector(17850)  # type: ignore[arg-type]


# --- questions -----------------------------------------------------------------------------------


def test_similar_returns_pairs_that_carry_names(model: item2vec.Model) -> None:
    answer = model.similar("king", k=3)
    assert [(item, round(score, 6)) for item, score in answer] == [
        ("prince", round(cosine("king", "prince"), 6)),
        ("man", 0.707107),
        ("queen", 0.5),
    ]
    assert answer[0] == ("prince", answer[0].score) and answer[0].name is None
    fruit = model.similar("apple", k=2)
    assert [(r.item, r.name) for r in fruit] == [("pear", "Green Pear"), ("plum", "Plum (dark)")]
    assert (
        repr(fruit[0])
        == f"ItemScore(item='pear', score={round(cosine('apple', 'pear'), 6)}, name='Green Pear')"
    )
    assert pickle.loads(pickle.dumps(fruit[0])).name == "Green Pear"
    assert fruit[0]._replace(score=1.0).name == "Green Pear"
    combined = model.similar(["apple", "pear"], k=1)
    assert [r.item for r in combined] == ["plum"]
    assert_pairs(combined, model.to_keyed_vectors().most_similar(["apple", "pear"], topn=1))


def test_similar_checks_k_and_the_query(model: item2vec.Model) -> None:
    with pytest.raises(ConfigError, match=r"^k=0 is invalid: use 1 or more$"):
        model.similar("king", k=0)
    with pytest.raises(TypeError, match=r"^k must be a whole number \(int\), not str"):
        model.similar("king", k="3")  # type: ignore[arg-type]
    with pytest.raises(EmptyResultError, match=r"^no item ids were given"):
        model.similar([])
    assert model.similar("king", topn=3) == model.similar("king", k=3)
    assert model.analogy("king - man + woman", topn=2) == model.analogy("king - man + woman", k=2)
    with pytest.raises(TypeError, match=r"^give k=3 or topn=2, not both"):
        model.similar("king", k=3, topn=2)
    with pytest.raises(TypeError, match=r"^give an item id \(a string\) or a list of them, not int \(1\)$"):
        model.similar(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^history_size must be a whole number \(int\), not float \(2.5\)$"):
        model.recommend(["king"], history_size=2.5, score="similar")  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as caught:
        model.user_vector(["king"], history_size=0)
    assert (caught.value.param, caught.value.value) == ("history_size", 0)


def test_analogy_as_an_expression_or_lists(model: item2vec.Model) -> None:
    expected = model.to_keyed_vectors().most_similar(positive=["king", "woman"], negative=["man"], topn=2)
    assert_pairs(model.analogy("king - man + woman", k=2), expected)
    assert_pairs(model.analogy(["king", "woman"], ["man"], k=2), expected)
    assert model.analogy(["king", "woman"], "man", k=1)[0].item == "queen"
    cosmul = model.to_keyed_vectors().most_similar_cosmul(
        positive=["king", "woman"], negative=["man"], topn=1
    )
    mul = model.analogy(["king", "woman"], ["man"], k=1, method="mul")
    assert mul[0].item == cosmul[0][0] == "queen" and mul[0].score == pytest.approx(cosmul[0][1], rel=1e-5)
    with pytest.raises(ConfigError, match=r"^method='avg' is unknown: use 'add' or 'mul'$"):
        model.analogy("king - man + woman", method="avg")  # type: ignore[arg-type]


def test_recommend_and_the_user_vector(model: item2vec.Model) -> None:
    with pytest.warns(item2vec.Item2VecWarning, match=r"^skipped: item 'nope' is not in the model"):
        answer = model.recommend(["apple", "nope"], k=2, score="similar")
    assert [r.item for r in answer] == ["pear", "plum"]
    assert answer[0].score == pytest.approx(cosine("apple", "pear"), abs=1e-6)
    assert [r.item for r in model.recommend(["apple"], k=1, keep_seen=True, score="similar")] == ["apple"]
    vector = model.user_vector(["man", "woman"], decay=0.5)
    assert vector.dtype == np.float32
    assert vector.tolist() == pytest.approx([1 / 3, 2 / 3, 0.0, 0.0], abs=1e-7)
    assert model.user_vector(["king", "man", "woman"], history_size=2, decay=0.5).tolist() == pytest.approx(
        [1 / 3, 2 / 3, 0.0, 0.0], abs=1e-7
    )
    with pytest.raises(ConfigError, match=r"^decay=0 is invalid"):
        model.user_vector(["man"], decay=0)
    with (
        pytest.raises(EmptyResultError, match=r"^none of the 1 query items is in the model$"),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        model.recommend(["nope"], score="similar")
    with pytest.raises(ModelError, match=r"^score=hybrid needs transitions, which this in-memory model"):
        model.recommend(["apple"])  # the default mode, and this hand-built model counted none


def test_evaluate_next_item_with_and_without_baselines(model: item2vec.Model) -> None:
    test = [["apple", "pear"], ["king", "queen"]]  # pear is apple's nearest; queen is king's third
    alone = model.evaluate(test, baselines=False, query="last")
    assert alone.sections == {
        "next-item": [
            {"method": "model", "protocol": "last", "score": "similar", "seen": "excluded", "cases": 2,
             "hr@10": 1.0, "ndcg@10": 0.75, "mrr@10": 0.6667, "coverage@10": 1.0, "cold": 0.0}
        ]
    }  # fmt: skip
    protocols = model.evaluate(test, baselines=False).sections["next-item"]
    assert [r["protocol"] for r in protocols] == ["last", "history"]  # both by default
    assert alone.notes == [  # the hand-built model has neither transitions nor output vectors
        "no hybrid row: score=hybrid needs transitions, which this in-memory model was not given: "
        "pass them, or load the model directory",
        "no next row: score=next needs output vectors, which this in-memory model was not given: "
        "pass them, or load the model directory",
    ]
    train = [["apple", "pear", "plum"], ["king", "queen"], ["man", "woman"]]
    both = model.evaluate(test, train=train, k=(3, 1), query="last")
    assert [(r["method"], r["hr@1"], r["hr@3"]) for r in both.sections["next-item"]] == [
        ("model", 0.5, 1.0),
        ("co-occurrence", 1.0, 1.0),
        ("sequential-rules", 1.0, 1.0),
        ("sknn", 1.0, 1.0),
        ("v-sknn", 1.0, 1.0),
        ("stan", 1.0, 1.0),
        ("most-popular", 0.0, 0.5),
    ]
    assert both.notes[2:] == [
        "best on hr@1: co-occurrence 1.0000 (next: sequential-rules 1.0000)",
        "co-occurrence beats the model on hr@1 (1.0000 vs 0.5000): tune it (item2vec tune) or use the baseline",
    ]
    only = model.evaluate(test, baselines=False, score="similar", query="last")
    assert [r["score"] for r in only.sections["next-item"]] == ["similar"] and only.notes == []


def test_evaluate_errors(model: item2vec.Model) -> None:
    with pytest.raises(TypeError, match=r"^evaluate\(\) needs test data, analogies="):
        model.evaluate()
    with pytest.raises(InputError) as caught:
        model.evaluate([["apple", "pear"]])
    assert str(caught.value) == (
        "the baselines need the model's training data, but it names no input: "
        "pass it with train=FILE (or baselines=False)"
    )
    with pytest.raises(ConfigError, match=r"^k=0 is invalid"):
        model.evaluate([["apple", "pear"]], k=0, baselines=False)
    with pytest.raises(ConfigError, match=r"^query='first' is unknown: use 'last', 'history' or 'both'$"):
        model.evaluate([["apple", "pear"]], query="first", baselines=False)  # type: ignore[arg-type]


def test_a_model_trained_here_keeps_its_corpus_for_the_baselines() -> None:
    sessions = [["a", "b", "c"], ["b", "c", "d"], ["a", "c", "d"]] * 20
    trained = item2vec.train(sessions, dim=8, epochs=2, min_count=1, workers=1)
    rows = trained.evaluate([["a", "b"], ["c", "d"]], query="last").sections["next-item"]
    assert [(r["method"], (r.get("score") or "").split(" ")[0]) for r in rows] == [
        ("model", "hybrid"), ("model", "similar"), ("model", "next"), ("co-occurrence", ""),
        ("sequential-rules", ""), ("sknn", ""), ("v-sknn", ""), ("stan", ""), ("most-popular", ""),
    ]  # fmt: skip
    assert [r.item for r in trained.recommend(["a"], k=2)] == [
        r.item for r in trained.recommend(["a"], k=2, score="hybrid")
    ]


# --- files and other tools -----------------------------------------------------------------------


def test_save_and_load(tmp_path: Path, model: item2vec.Model) -> None:
    path = model.save(tmp_path / "m")
    assert path == tmp_path / "m" and model.path == path
    loaded = item2vec.load(path)
    assert list(loaded.ids) == IDS and np.array_equal(loaded.vectors, model.vectors)
    assert dict(loaded.names) == dict(model.names) and loaded.meta["format_version"] == 1
    with pytest.raises(OutputExistsError) as caught:
        model.save(path)
    assert str(caught.value) == f"model directory {str(path)!r} already exists: use force=True to replace it"
    model.save(path, force=True)
    (path / "syn1neg.npy").write_bytes((path / "vectors.npy").read_bytes())  # training state travels too
    loaded = item2vec.load(path)
    copy = loaded.save(tmp_path / "copy")
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in path.iterdir())
    assert loaded.save(copy, force=True) == copy
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    with pytest.raises(
        OutputExistsError, match=r"not an item2vec model: choose another path \(force=True only"
    ):
        loaded.save(tmp_path / "foreign", force=True)
    assert (tmp_path / "foreign" / "notes.txt").read_text() == "mine"


def test_saving_a_loaded_model_whose_directory_changed_is_refused(
    tmp_path: Path, model: item2vec.Model
) -> None:
    loaded = item2vec.load(model.save(tmp_path / "m"))
    retrained = tiny_embeddings()
    retrained.meta["engine"] = "retrained"
    item2vec.Model(retrained).save(tmp_path / "m", force=True)
    with pytest.raises(ModelError, match=r"changed after it was loaded: load it again, then save$"):
        loaded.save(tmp_path / "elsewhere")


def test_to_keyed_vectors_equals_the_word2vec_export(tmp_path: Path, tiny_model: Path) -> None:
    exported = tmp_path / "tiny.w2v"
    result = CliRunner().invoke(cli, ["export", str(tiny_model), "-f", "word2vec", "-o", str(exported)])
    assert result.exit_code == 0, result.output
    written = KeyedVectors.load_word2vec_format(str(exported))
    ours = item2vec.load(tiny_model).to_keyed_vectors()
    assert ours.index_to_key == written.index_to_key == IDS
    assert np.array_equal(ours.vectors, written.vectors) and ours.vectors.dtype == np.float32
    assert [ours.get_vecattr(i, "count") for i in IDS] == TINY_COUNTS


def test_to_frame(model: item2vec.Model) -> None:
    frame = model.to_frame()
    assert list(frame.columns) == ["id", "name", "count", "vector"]
    assert frame["id"].tolist() == IDS and frame["count"].tolist() == TINY_COUNTS
    assert frame["name"].iloc[0] == "King" and pd.isna(frame["name"].iloc[1])
    assert np.array_equal(np.stack(frame["vector"].to_list()), TINY)


def test_to_torch_round_trips(model: item2vec.Model) -> None:
    embedding = model.to_torch()
    rows = model.row_index()
    assert isinstance(embedding, torch.nn.Embedding) and embedding.padding_idx == 0
    assert tuple(embedding.weight.shape) == (9, 4) and not embedding.weight.requires_grad
    assert embedding.weight[0].tolist() == [0.0] * 4 and rows["king"] == 1 and rows["plum"] == 8
    looked_up = embedding(torch.tensor([[rows["queen"], rows["apple"], 0]]))
    assert np.array_equal(
        looked_up[0].numpy(), np.stack([model["queen"], model["apple"], np.zeros(4, np.float32)])
    )
    plain = model.to_torch(padding=False, freeze=False)
    assert plain.padding_idx is None and plain.weight.requires_grad
    assert np.array_equal(plain.weight.detach().numpy(), TINY)
    assert model.row_index(padding=False)["king"] == 0


# --- user vectors for a whole log -----------------------------------------------------------------


@pytest.fixture
def log_csv(tmp_path: Path) -> Path:
    path = tmp_path / "log.csv"
    path.write_text(USER_LOG)
    return path


def test_user_vectors_of_a_log_are_the_user_vector_of_each_history(
    model: item2vec.Model, log_csv: Path
) -> None:
    with pytest.warns(
        item2vec.Item2VecWarning, match=r"^1 users had no item in the model and got no vector$"
    ):
        users, vectors = model.user_vectors(log_csv, time="ts", decay=0.5)
    assert users == ["u1", "u2"] and vectors.shape == (2, 4)
    assert vectors[0] == pytest.approx(model.user_vector(["man", "woman", "king"], decay=0.5), abs=1e-6)
    assert vectors[1] == pytest.approx(model.user_vector(["apple"]), abs=1e-6)
    with pytest.warns(item2vec.Item2VecWarning):
        from_frame = model.user_vectors(pd.read_csv(log_csv, dtype=str), time="ts", decay=0.5)
    assert from_frame[0] == users and np.array_equal(from_frame[1], vectors)
    with pytest.raises(
        TypeError, match=r"^events must be a DataFrame, a pyarrow Table or file paths, not int$"
    ):
        model.user_vectors(3)


# --- candidate filters ---------------------------------------------------------------------------


def test_similar_and_recommend_take_candidate_filters(model: item2vec.Model) -> None:
    every = [pair.item for pair in model.similar("king", 7)]
    got = model.similar("king", 2, exclude=["queen", "man"], where="count>=40")
    assert (
        [pair.item for pair in got] == [i for i in every if i in ("woman", "prince")] == ["prince", "woman"]
    )
    assert [pair.item for pair in model.similar("apple", 2, where={"name": ["Green Pear", "King"]})] == [
        "pear",
        "king",
    ]
    ranked = [pair.item for pair in model.recommend(["apple"], 7, score="similar")]
    kept = [
        pair.item for pair in model.recommend(["apple"], 2, score="similar", only=["king", "plum", "queen"])
    ]
    assert kept == [i for i in ranked if i in ("king", "plum", "queen")][:2]


def test_filter_notes_are_warnings_in_python_terms(model: item2vec.Model) -> None:
    with pytest.warns(item2vec.Item2VecWarning) as caught:
        found = model.similar("king", 2, exclude=["ghost"], only=["apple"])
    assert [pair.item for pair in found] == ["apple"]
    assert [str(w.message) for w in caught] == [
        "exclude='ghost' is not in the model: ignored",
        "the filters keep 1 item, so fewer than 2 are left ('king' has 1)",
    ]
    assert caught[0].filename == __file__


def test_filter_errors_name_the_keywords(model: item2vec.Model) -> None:
    with pytest.raises(EmptyResultError) as empty:
        model.similar("king", where="count>100")
    assert empty.value.param == "item_where"
    assert (
        str(empty.value)
        == "where=count>100 leaves no item to answer with (of the model's 8 items): loosen it"
    )
    with pytest.raises(ConfigError) as column:
        model.recommend(["apple"], score="similar", where={"category": "toys"})
    assert str(column.value).startswith("where=category=toys names column 'category'")
    with pytest.raises(EmptyResultError) as nothing:
        model.recommend(["apple"], score="similar", only=["ghost"])
    assert nothing.value.param == "only"
    assert (
        str(nothing.value) == "only='ghost' leaves no item to answer with (of the model's 8 items): loosen it"
    )
