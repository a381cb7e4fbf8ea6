"""The Python API in a notebook: result lists and evaluations as tables and DataFrames, the score
kind, the model's HTML, the typed scoring, the progress bar, and export, index and approximate
search from Python, on the hand-built 8-item model."""

from __future__ import annotations

import io
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import item2vec
from item2vec.api import progress as progress_module
from item2vec.errors import ConfigError, InputError, ModelError, OutputExistsError
from item2vec.training.progress import Progress
from tests.conftest import TINY_VECTORS, tiny_embeddings

IDS = list(TINY_VECTORS)


@pytest.fixture
def model() -> item2vec.Model:
    return item2vec.Model(tiny_embeddings())


# --- answers: Results -----------------------------------------------------------------------------


def test_results_are_lists_of_pairs_that_say_what_their_scores_are(model: item2vec.Model) -> None:
    answer = model.similar("apple", k=2)
    assert isinstance(answer, item2vec.Results) and isinstance(answer, list)
    assert answer == [answer[0], answer[1]] and [item for item, _ in answer] == ["pear", "plum"]
    assert (answer.score_kind, answer.scoring, answer.query) == ("cosine", "similar", ("apple",))
    assert repr(answer).startswith("[ItemScore(item='pear', ")  # a list's repr, as before
    copy = pickle.loads(pickle.dumps(answer))
    assert copy == answer and copy.score_kind == "cosine" and copy[0].name == "Green Pear"
    analogy = model.analogy("king - man + woman", k=1)
    assert (analogy.score_kind, analogy.scoring, analogy.query) == (
        "cosine",
        "analogy add",
        ("+king", "+woman", "-man"),
    )
    assert model.analogy("king - man + woman", k=1, method="mul").score_kind == "cosmul"


def test_to_frame_keeps_names_and_the_score_kind(model: item2vec.Model) -> None:
    answer = model.similar("apple", k=3)
    frame = answer.to_frame()
    assert list(frame.columns) == ["rank", "item", "name", "score", "score_kind"]
    assert frame["rank"].tolist() == [1, 2, 3]
    assert frame["item"].tolist() == [r.item for r in answer]
    assert frame["name"].tolist()[:2] == ["Green Pear", "Plum (dark)"] and pd.isna(frame["name"].iloc[2])
    assert frame["score"].tolist() == [r.score for r in answer]
    assert set(frame["score_kind"]) == {"cosine"}
    assert frame.attrs == {"score_kind": "cosine", "scoring": "similar", "query": ["apple"]}
    empty = item2vec.Results(score_kind="hybrid").to_frame()
    assert len(empty) == 0 and list(empty.columns) == list(frame.columns)


def test_hybrid_scores_are_marked_as_such(tiny_model: Path) -> None:
    loaded = item2vec.load(tiny_model)
    hybrid = loaded.recommend(["king"], k=2, score="hybrid")
    assert hybrid.score_kind == "hybrid" and hybrid.scoring.startswith("hybrid(")
    assert set(hybrid.to_frame()["score_kind"]) == {"hybrid"}
    assert "score (hybrid)" in hybrid._repr_html_() and "standardised" in hybrid._repr_html_()
    nxt = loaded.similar("king", k=2, score="next")
    assert (nxt.score_kind, nxt.scoring) == ("cosine", "next")


def test_results_html_is_an_escaped_table(model: item2vec.Model) -> None:
    html = model.similar("plum", k=2)._repr_html_()
    assert html.startswith("<table class='item2vec'><caption") and html.endswith("</table>")
    assert "<th>rank</th><th>item</th><th>name</th><th>score (cosine)</th>" in html
    assert "Plum (dark)" not in html  # the query is not an answer
    assert "<td style='text-align:left'>Red Apple</td>" in html
    named = item2vec.Results([item2vec.ItemScore("a<b", 0.5, "<script>")], scoring="similar")
    assert "&lt;script&gt;" in named._repr_html_() and "<script>" not in named._repr_html_()
    assert "<td style='text-align:right'>0.5000</td>" in named._repr_html_()


# --- the model itself -----------------------------------------------------------------------------


def test_model_html_and_scoring(model: item2vec.Model, tiny_model: Path) -> None:
    html = model._repr_html_()
    assert "<caption style='text-align:left'>item2vec.Model</caption>" in html
    assert "<td style='text-align:left'>items</td><td style='text-align:right'>8</td>" in html
    assert "4 of them named" in html
    assert isinstance(model.scoring, item2vec.Scoring)
    assert model.meta["scoring"] == {"hybrid_weight": 2.0, "hybrid_base": "similar"}  # the tiny model's
    assert model.scoring == item2vec.Scoring(mode="hybrid", weight=2.0, base="similar")
    assert model.scoring.label() == "hybrid(similar,2)" and "hybrid(similar,2)" in html
    loaded = item2vec.load(tiny_model)
    assert str(tiny_model) in loaded._repr_html_()
    recorded = tiny_embeddings()
    recorded.meta["scoring"] = {"score": "similar", "calibration": {"skipped": "too few cases"}}
    chosen = item2vec.Model(recorded)
    assert chosen.scoring == item2vec.Scoring(mode="similar") and chosen.scoring.label() == "similar"
    assert chosen.meta["scoring"]["calibration"] == {"skipped": "too few cases"}  # meta as it is
    broken = tiny_embeddings()
    broken.meta["scoring"] = {"score": "nope"}
    with pytest.raises(ModelError, match=r"^model.json's 'scoring.score' is 'nope'"):
        _ = item2vec.Model(broken).scoring
    assert "default scoring" not in item2vec.Model(broken)._repr_html_()


# --- evaluations ------------------------------------------------------------------------------------


def test_an_evaluation_is_shown_as_tables(model: item2vec.Model) -> None:
    report = model.evaluate([["apple", "pear"], ["king", "queen"]], baselines=False, query="last")
    assert isinstance(report, item2vec.EvaluationReport)
    assert report.sections["next-item"][0]["hr@10"] == 1.0  # the fields as before
    assert repr(report).splitlines() == [
        "<item2vec evaluation>",
        "method  protocol  score    seen      cases   hr@10  ndcg@10  mrr@10  coverage@10    cold",
        "------  --------  -------  --------  -----  ------  -------  ------  -----------  ------",
        "model   last      similar  excluded      2  1.0000   0.7500  0.6667       1.0000  0.0000",
        "note: no hybrid row: score=hybrid needs transitions, which this in-memory model was not given: "
        "pass them, or load the model directory",
        "note: no next row: score=next needs output vectors, which this in-memory model was not given: "
        "pass them, or load the model directory",
    ]
    frame = report.to_frame()
    assert frame.to_dict("records") == report.sections["next-item"]
    assert frame.attrs["section"] == "next-item" and len(frame.attrs["notes"]) == 2
    with pytest.raises(KeyError, match="no section 'pairs': this evaluation has 'next-item'"):
        report.to_frame("pairs")
    html = report._repr_html_()
    assert "<caption style='text-align:left'>next-item</caption>" in html
    assert "<th>hr@10</th>" in html and "<li>no hybrid row: score=hybrid needs" in html


def test_evaluate_takes_history_size_and_the_old_name_with_a_warning(model: item2vec.Model) -> None:
    test = [["man", "woman", "king", "queen"]]
    new = model.evaluate(test, baselines=False, query="history", history_size=2)
    with pytest.warns(DeprecationWarning, match=r"^evaluate\(history=\) is now history_size=") as caught:
        old = model.evaluate(test, baselines=False, query="history", history=2)
    assert caught[0].filename == __file__  # points at the caller
    assert old.sections == new.sections
    one = model.evaluate(test, baselines=False, query="history", history_size=1)
    assert one.sections != new.sections  # the value reaches the ranking
    with pytest.raises(TypeError, match=r"got history= \(the old name of history_size=\) and history_size="):
        model.evaluate(test, baselines=False, history=2, history_size=3)
    with pytest.raises(ConfigError) as error:
        model.evaluate(test, baselines=False, history_size=0)
    assert (error.value.param, error.value.value) == ("history_size", 0)
    assert str(error.value).startswith("history_size=0 is invalid")


# --- export, index and approximate search -----------------------------------------------------------


def test_export_writes_what_the_cli_writes(tmp_path: Path, model: item2vec.Model) -> None:
    written = model.export(tmp_path / "v.npy", "npy")
    assert written == [tmp_path / "v.npy", tmp_path / "v.ids.txt"]
    assert np.array_equal(np.load(tmp_path / "v.npy"), model.vectors)
    assert (tmp_path / "v.ids.txt").read_text().split() == IDS
    some = model.export(tmp_path / "some.parquet", format="parquet", ids=["plum", "king"], normalize=True)
    frame = pd.read_parquet(some[0])
    assert frame["id"].tolist() == ["plum", "king"]
    assert np.linalg.norm(np.stack(frame["vector"].to_list()), axis=1) == pytest.approx([1.0, 1.0], abs=1e-6)
    with pytest.raises(OutputExistsError) as exists:
        model.export(tmp_path / "v.npy", "npy")
    assert "force=True" in str(exists.value)
    model.export(tmp_path / "v.npy", "npy", force=True)
    with pytest.raises(InputError) as refused:
        model.export(tmp_path / "v.npy.gz", format="npy")
    assert refused.value.param == "format"
    with pytest.raises(TypeError, match=r"^ids must be a list of item ids"):
        model.export(tmp_path / "x.npy", "npy", ids="king")


def assert_same(ours: item2vec.Results, exact: item2vec.Results) -> None:
    assert [r.item for r in ours] == [r.item for r in exact]
    assert [r.score for r in ours] == pytest.approx([r.score for r in exact], abs=1e-6)
    assert (ours.score_kind, ours.scoring) == (exact.score_kind, exact.scoring)


def test_index_and_approximate_search(tmp_path: Path, tiny_model: Path) -> None:
    pytest.importorskip("faiss")
    loaded = item2vec.load(tiny_model)
    exact = loaded.similar("king", k=3)
    report = loaded.index("flat", check=4)
    assert report["kind"] == "flat" and report["items"] == 8 and report["next"] is True
    assert report["file"] == str(tiny_model / "index.faiss") and report["check"]["recall@10"] == 1.0
    assert_same(loaded.similar("king", k=3, approx=True), exact)  # flat: the exact answer, re-scored
    assert_same(
        loaded.recommend(["king"], k=2, score="next", approx=True),
        loaded.recommend(["king"], k=2, score="next"),
    )
    assert_same(item2vec.load(tiny_model).similar("king", k=3, approx=True), exact)  # stored: the CLI's index
    other = item2vec.load(item2vec.Model(tiny_embeddings()).save(tmp_path / "no-index"))
    with pytest.raises(
        ModelError,
        match=r"^approx=True needs an index, and this model has none: build one with model.index\(\)",
    ):
        other.similar("king", approx=True)
    in_memory = item2vec.Model(tiny_embeddings())
    with pytest.raises(ModelError) as missing:
        in_memory.similar("king", approx=True)
    assert missing.value.param == "approx" and "model.index()" in str(missing.value)
    assert in_memory.index("hnsw", hnsw_m=4)["file"] is None
    assert [r.item for r in in_memory.similar("king", k=3, approx=True)] == [r.item for r in exact]
    assert [r.item for r in in_memory.analogy("king - man + woman", k=2, approx=True)] == [
        r.item for r in in_memory.analogy("king - man + woman", k=2)
    ]
    with pytest.raises(ConfigError) as mul:
        in_memory.analogy("king - man + woman", method="mul", approx=True)
    assert (mul.value.param, mul.value.value) == ("method", "mul")
    saved = in_memory.save(tmp_path / "m")
    assert (saved / "index.faiss").is_file()
    assert [r.item for r in item2vec.load(saved).similar("king", k=3, approx=True)] == [r.item for r in exact]


def test_index_errors_name_python_parameters(model: item2vec.Model) -> None:
    pytest.importorskip("faiss")
    with pytest.raises(ConfigError) as unknown:
        model.index("annoy")
    assert (unknown.value.param, str(unknown.value)) == (
        "kind",
        "kind='annoy' is unknown: use one of flat, hnsw, lsh, ivfpq",
    )
    with pytest.raises(ConfigError) as bad:
        model.index("hnsw", ef_search=0)
    assert (bad.value.param, bad.value.value) == ("ef_search", 0)
    with pytest.raises(TypeError, match=r"^index\(\) got an unexpected keyword argument 'm'"):
        model.index("hnsw", m=4)
    with pytest.raises(TypeError, match=r"^approx must be True or False"):
        model.similar("king", approx="yes")  # type: ignore[arg-type]


# --- progress ---------------------------------------------------------------------------------------


def report(epoch: int, fraction: float) -> Progress:
    return Progress(epoch=epoch, epochs=2, fraction=fraction, items_per_second=1234.0, eta_seconds=1.0)


def test_progress_bar_draws_and_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    bar = progress_module.ProgressBar()
    bar(report(1, 0.5))
    bar(report(2, 1.0))
    text = stream.getvalue()
    assert "training:  50%" in text and "training: 100%" in text and "epoch 2/2, 1,234 items/s" in text
    assert bar._bar is None  # closed on the last record


def test_progress_auto_shows_a_bar_only_when_someone_watches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_module, "interactive", lambda: False)
    assert progress_module.resolve("auto") is None
    monkeypatch.setattr(progress_module, "interactive", lambda: True)
    assert isinstance(progress_module.resolve("auto"), progress_module.ProgressBar)
    assert isinstance(progress_module.resolve(True), progress_module.ProgressBar)
    assert progress_module.resolve(False) is None and progress_module.resolve(None) is None
    seen: list[Progress] = []
    assert progress_module.resolve(seen.append) == seen.append
    with pytest.raises(TypeError, match=r"^progress must be 'auto', True, False, None or a function"):
        progress_module.resolve("bar")  # type: ignore[arg-type]


def test_tests_and_pipes_are_not_interactive() -> None:
    assert progress_module.interactive() is False  # pytest captures stderr; no IPython shell runs


def test_train_shows_the_bar_when_asked_and_a_callback_still_works(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sessions = [["a", "b", "c"], ["b", "c", "d"], ["a", "c", "d"]] * 10
    options = {"dim": 4, "epochs": 2, "min_count": 1, "workers": 1, "seed": 1, "calibrate": False}
    item2vec.train(sessions, **options)  # type: ignore[arg-type]
    assert capsys.readouterr().err == ""  # auto: nobody watches a test
    item2vec.train(sessions, progress=True, **options)  # type: ignore[arg-type]
    assert "training: 100%" in capsys.readouterr().err
    seen: list[Progress] = []
    item2vec.train(sessions, progress=seen.append, **options)  # type: ignore[arg-type]
    assert seen[-1].fraction == 1.0 and capsys.readouterr().err == ""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        item2vec.train(sessions, progress=False, **options)  # type: ignore[arg-type]
