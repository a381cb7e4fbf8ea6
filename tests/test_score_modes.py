"""The registry of score modes and the Scoring value: a new mode is one class, seen everywhere;
model.json's scoring record is checked where it is read; the hybrid weight is bounded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli
from item2vec.errors import ConfigError, ModelError
from item2vec.model.modes import MAX_HYBRID_WEIGHT, TUNE_WEIGHTS, mode_names
from item2vec.model.scoring_record import Scoring
from item2vec.query.score_modes import ScoreMode, register, registered, score_mode, unregister
from item2vec.query.scoring import make_scorer, open_parts
from item2vec.query.scoring_parts import ScoringParts
from tests.conftest import TINY_VECTORS, tiny_embeddings, tiny_output, tiny_transitions

IDS = list(TINY_VECTORS)
HUGE = "hybrid_weight=1e+39 is invalid: use a number from 0 to 1000, e.g. 2"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


class Far(ScoreMode):
    """A toy mode: the items least like the query first (minus the input-vector cosine, times a weight)."""

    name = "far"
    help = "items unlike it"
    uses = ("weight",)

    def scores(self, parts: ScoringParts, scoring: Scoring, unit: Any, transitions: Any) -> Any:
        return -scoring.weight * parts.cosines("similar", unit)


@pytest.fixture
def far() -> Iterator[ScoreMode]:
    register(Far)
    yield score_mode("far")
    unregister("far")


def test_the_shipped_modes_in_order() -> None:
    assert list(registered()) == ["similar", "next", "hybrid"] == list(mode_names())
    assert [m.uses for m in registered().values()] == [(), (), ("weight", "base", "steps", "direction")]


def test_a_new_mode_is_one_class_that_everything_offers(far: ScoreMode, tiny_model: Path) -> None:
    assert "far" in mode_names()
    # the command line: --score's choices, and the answer
    result = run("similar", tiny_model, "king", "-k", "2", "--score", "far", "-f", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == ["king,1,woman,-0.0,", "king,2,apple,-0.0,Red Apple"]
    assert run("similar", tiny_model, "king", "--score", "near").exit_code == 2
    # the scorer and its description (the weight it reads; no base, no steps)
    scorer = make_scorer(open_parts(tiny_embeddings(), None), "far", hybrid_weight=2.0)
    assert scorer.describe() == "far (weight 2)" and scorer.scoring.record() == {
        "score": "far",
        "hybrid_weight": 2.0,
    }
    # tune's grid: one choice per weight
    from item2vec.evaluation.tune_modes import choices

    assert choices(("far",)) == [Scoring("far", w) for w in TUNE_WEIGHTS]
    assert Scoring("far", 4.0) in choices()
    # the server: /health, the request's accepted values, the OpenAPI enum
    from fastapi.testclient import TestClient

    from item2vec.query.server import load_for_serving, make_app
    from item2vec.query.server_scoring import open_scoring

    embeddings = load_for_serving(tiny_model)
    parts, searcher = open_scoring(embeddings, tiny_model)
    client = TestClient(make_app(embeddings, parts=parts, searcher=searcher))
    assert client.get("/health").json()["scores"] == ["similar", "next", "hybrid", "far"]
    answer = client.get("/similar", params={"item": "king", "k": 1, "score": "far"}).json()
    assert (answer["score"], answer["results"][0]["item"]) == (
        "far (weight 2)",
        "woman",
    )  # the weight the model records
    spec = client.get("/openapi.json").json()["paths"]["/similar"]["get"]["parameters"]
    assert {"enum": ["similar", "next", "hybrid", "far"]}.items() <= next(
        p for p in spec if p["name"] == "score"
    )["schema"].items()
    # the Python API
    import item2vec

    model = item2vec.load(tiny_model)
    assert [s.item for s in model.similar("king", k=1, score="far")] == ["woman"]


def test_an_unregistered_mode_is_refused_everywhere(tiny_model: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        make_scorer(open_parts(tiny_embeddings(), None), "far")
    assert (caught.value.param, caught.value.value) == ("score", "far")
    assert str(caught.value) == "--score 'far' is unknown: use one of similar, next, hybrid"


# --- Scoring and model.json ------------------------------------------------------------------------


def test_scoring_record_round_trip_and_words() -> None:
    one_step = Scoring("hybrid", 4.0, "similar", 1)
    assert one_step.record() == {
        "score": "hybrid",
        "hybrid_weight": 4.0,
        "hybrid_base": "similar",
        "transition_steps": 1,
    }
    assert Scoring.from_record({"scoring": one_step.record()}) == one_step
    assert Scoring("next").record() == {"score": "next"}
    assert one_step.label() == "hybrid(similar,4,1 step)" and Scoring("next").label() == "next"
    assert score_mode("hybrid").describe(one_step) == "hybrid (similar, weight 4, 1 step)"
    assert score_mode("hybrid").describe(Scoring("hybrid", 8.0, "next")) == "hybrid (next, weight 8)"
    # the steps the transitions were counted over, when the record does not say
    assert Scoring.from_record({"transitions": {"steps": 1, "keep": 100}}).steps == 1


def test_a_scorer_describes_a_one_step_hybrid(tiny_model: Path) -> None:
    meta = json.loads((tiny_model / "model.json").read_text())
    meta["scoring"]["transition_steps"] = 1
    (tiny_model / "model.json").write_text(json.dumps(meta))
    result = run(
        "evaluate", tiny_model, _tests(tiny_model), "--score", "hybrid", "--no-baselines", "-f", "csv"
    )
    assert result.exit_code == 0, result.output
    assert "hybrid (similar, weight 2, 1 step)" in result.stdout


def _tests(tiny_model: Path) -> Path:
    path = tiny_model.parent / "test.txt"
    path.write_text("king queen\napple pear\n")
    return path


@pytest.mark.parametrize(
    ("edit", "key", "shown"),
    [
        ({"scoring": "hybrid"}, "scoring", "'hybrid'"),
        ({"scoring": {"hybrid_weight": "8"}}, "scoring.hybrid_weight", "'8'"),
        ({"scoring": {"hybrid_weight": 1e39}}, "scoring.hybrid_weight", "1e+39"),
        ({"scoring": {"score": "best"}}, "scoring.score", "'best'"),
        ({"scoring": {"hybrid_base": 3}}, "scoring.hybrid_base", "3"),
        ({"transitions": "x"}, "transitions", "'x'"),
        ({"transitions": {"steps": -1}}, "transitions.steps", "-1"),
        ({"scoring": {"transition_direction": "back"}}, "scoring.transition_direction", "'back'"),
        ({"transitions": {"steps": 10, "direction": "sideways"}}, "transitions.direction", "'sideways'"),
    ],
)
def test_a_hand_edited_scoring_record(tiny_model: Path, edit: dict[str, Any], key: str, shown: str) -> None:
    meta = json.loads((tiny_model / "model.json").read_text())
    meta.update(edit)
    (tiny_model / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError) as caught:
        Scoring.from_record(meta)
    assert str(caught.value).startswith(f"model.json's {key!r} is {shown}, not ")
    # recommend reads the record: one line naming model.json, never a flag the user did not give
    result = run("recommend", tiny_model, "--history", "apple")
    assert result.exit_code == 1 and "Traceback" not in result.output
    # (the model's loading may refuse a record of the wrong type first, in its own words)
    assert result.stderr.startswith("Error: ") and "model.json" in result.stderr and "--" not in result.stderr
    assert key.split(".")[-1] in result.stderr
    if key.startswith("scoring"):  # a mode given in full does not need the record: similar answers
        assert run("similar", tiny_model, "apple", "-k", "1").exit_code == 0
        assert run("recommend", tiny_model, "--history", "apple", "--score", "next").exit_code == 0


# --- the hybrid weight's bound ---------------------------------------------------------------------


def test_the_bound_itself() -> None:
    assert Scoring.checked("hybrid", MAX_HYBRID_WEIGHT).weight == 1000.0
    for bad in (1e39, 1000.5, float("inf"), -1, "8", True):
        with pytest.raises(ConfigError) as caught:
            Scoring.checked("hybrid", bad)
        assert (
            caught.value.param == "hybrid_weight"
            and caught.value.expected == "a number from 0 to 1000, e.g. 2"
        )


def test_a_huge_weight_is_refused_by_every_edge(tiny_model: Path, tmp_path: Path) -> None:
    for command in (["similar", tiny_model, "apple"], ["recommend", tiny_model, "--history", "apple"]):
        result = run(*command, "--score", "hybrid", "--hybrid-weight", "1e39")
        assert result.exit_code == 1
        assert (
            result.stderr == "Error: --hybrid-weight 1e+39 is invalid: use a number from 0 to 1000, e.g. 2\n"
        )
    import item2vec

    model = item2vec.load(tiny_model)
    with pytest.raises(ConfigError) as caught:
        model.similar("apple", score="hybrid", hybrid_weight=1e39)
    assert str(caught.value) == HUGE
    assert (caught.value.param, caught.value.value) == ("hybrid_weight", 1e39)
    with pytest.raises(ConfigError, match=r"^hybrid_weight=1e"):
        model.recommend(["apple"], hybrid_weight=1e39)
    # train checks what it would record before it trains
    seqs = tmp_path / "seqs.txt"
    seqs.write_text("a b c\nb a\nc a b d\n" * 5)
    result = run("train", seqs, "-o", tmp_path / "m", "--epochs", "1", "--hybrid-weight", "1e39")
    assert result.exit_code == 1
    assert "--hybrid-weight 1e+39 is invalid: use a number from 0 to 1000, e.g. 2" in result.stderr
    assert not (tmp_path / "m").exists()


def test_hybrid_scores_stay_finite_at_the_bound() -> None:
    parts = ScoringParts(tiny_embeddings(), output=tiny_output(), transitions=tiny_transitions())
    answer = make_scorer(parts, "hybrid", hybrid_weight=MAX_HYBRID_WEIGHT).similar(IDS, 7)
    assert len(answer) == 8 * 7 and np.isfinite([n.score for n in answer]).all()


def test_the_reports_notes_name_flags(tmp_path: Path) -> None:
    from item2vec.query.scoring import ScoreRequest
    from item2vec.visual.html_report import evaluation_sections

    test = tmp_path / "test.txt"
    test.write_text("king queen\napple pear\n")
    scoring = ScoreRequest(parts=ScoringParts(tiny_embeddings()))  # in memory: no output vectors
    _, notes = evaluation_sections(tiny_embeddings(), [str(test)], train_files=[], baselines=False, ks=(1,),
                                   scoring=scoring)  # fmt: skip
    assert "no next row: --score next needs output vectors, which this in-memory model was not given: " in [
        n[: len("no next row: --score next needs output vectors, which this in-memory model was not given: ")]
        for n in notes
    ]
