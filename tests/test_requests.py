"""One request per job, shared by the CLI and the API: every TrainConfig field reaches both edges."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import numpy as np
import pytest

import item2vec
from item2vec.api.params import train_request
from item2vec.cli import cli
from item2vec.corpus.options import SessionOptions
from item2vec.corpus.packed import Corpus, CorpusStats
from item2vec.errors import ConfigError
from item2vec.evaluation.runner import EvaluateRequest, SequencesReader, run_evaluation
from item2vec.training.config import TrainConfig, field_names
from item2vec.training.pipeline import resolve_config
from item2vec.training.requests import TrainRequest
from item2vec.training.spark_io import SparkOptions
from item2vec.training.walks import WalkOptions

SESSION = SessionOptions(item_col="item_id", user_col="user_id")


def test_every_trainconfig_field_is_a_train_option_and_an_api_parameter() -> None:
    # A new training parameter is one TrainConfig field: this fails until both edges take it.
    options = {p.name: p for p in cli.commands["train"].params}
    keywords = inspect.signature(item2vec.train).parameters
    for name in field_names():
        assert name in options, f"train has no --{name.replace('_', '-')} option for TrainConfig.{name}"
        assert options[name].opts == [f"--{name.replace('_', '-')}"]
        assert name in keywords, f"item2vec.train() has no {name}= parameter for TrainConfig.{name}"
        assert keywords[name].kind is inspect.Parameter.KEYWORD_ONLY and keywords[name].default is None


def test_train_options_take_the_fields_help_and_choices() -> None:
    options = {p.name: p for p in cli.commands["train"].params}
    assert options["dim"].help == "Vector dimensions."
    assert options["seed"].help == "Random seed; with --workers 1 runs repeat exactly."
    assert list(options["context"].type.choices) == ["window", "set"]  # type: ignore[attr-defined]
    assert list(options["corpus_mode"].type.choices) == ["auto", "stream", "file"]  # type: ignore[attr-defined]
    assert options["max_vocab"].type.name == "integer" and options["sample"].type.name == "float"


def test_help_shows_the_training_parameters() -> None:
    doc = inspect.getdoc(item2vec.train) or ""
    for name in field_names():
        assert f"{name}:" in doc
    assert "vector_size" in inspect.signature(item2vec.train).parameters


def test_gensim_names_are_aliases() -> None:
    request = train_request(
        {}, {"vector_size": 32, "iter": 3, "max_final_vocab": 9}, config=None, session=SESSION
    )
    assert (request.config.dim, request.config.epochs, request.config.max_vocab) == (32, 3, 9)
    assert request.given == frozenset({"dim", "epochs", "max_vocab"})
    with pytest.raises(
        TypeError, match=r"^train\(\) got iter= \(gensim's name for epochs\) and epochs=: give one"
    ):
        train_request({"epochs": 2}, {"iter": 3}, config=None, session=SESSION)
    with pytest.raises(TypeError, match=r"^train\(\) got vector_size= .* and its other alias=: give one"):
        train_request({}, {"size": 8, "vector_size": 8}, config=None, session=SESSION)


def test_a_trainconfig_is_used_as_it_is_and_keywords_replace_its_fields() -> None:
    config = TrainConfig.from_preset("text", dim=10)
    request = train_request({"window": 2}, {}, config=config, session=SESSION)
    assert request.config == dataclasses.replace(config, window=2) and request.given is None
    with pytest.raises(TypeError, match=r"^config= holds every parameter"):
        train_request({"preset": "recsys"}, {}, config=config, session=SESSION)
    with pytest.raises(TypeError, match=r"^config must be an item2vec.TrainConfig, not dict$"):
        train_request({}, {}, config={"dim": 8}, session=SESSION)
    with pytest.raises(ConfigError) as caught:
        train_request({"window": 0}, {}, config=config, session=SESSION)
    assert (caught.value.param, caught.value.value) == ("window", 0)


def corpus(input_format: str, sequences: list[list[str]]) -> Corpus:
    stats = CorpusStats(input_format=input_format, inputs=["x"], events_read=0, sessions=len(sequences),
                        tokens=sum(map(len, sequences)))  # fmt: skip
    return Corpus(sequences, stats)


def test_the_preset_follows_the_input_and_given_values_win() -> None:
    request = TrainRequest.from_values({"dim": 16, "window": None}, session=SESSION)
    assert request.given == frozenset({"dim"}) and request.preset is None
    text, profile = resolve_config(request, corpus("text", [["a", "b"]]))
    assert (text.preset, text.dim, text.window, text.min_count) == ("text", 16, 5, 5) and profile == {}
    # recsys without a min_count: every item is kept.
    recsys, profile = resolve_config(request, corpus("sequences", [["a", "b"], ["c", "d"]]))
    assert (recsys.preset, recsys.dim, recsys.min_count, profile) == ("recsys", 16, 1, {})
    fixed = TrainRequest.from_values({"min_count": 4, "preset": "recsys"}, session=SESSION)
    config, profile = resolve_config(fixed, corpus("text", [["a", "b"]]))
    assert (config.preset, config.min_count, profile) == ("recsys", 4, {})
    exact = TrainRequest(config=TrainConfig(min_count=7), session=SESSION)
    assert resolve_config(exact, corpus("text", [["a", "b"]])) == (exact.config, {})


def test_values_are_checked_when_the_request_is_made() -> None:
    with pytest.raises(ConfigError) as caught:
        TrainRequest.from_values({"dim": 0}, session=SESSION)
    assert (caught.value.param, caught.value.value) == ("dim", 0)
    with pytest.raises(ConfigError) as unknown:
        TrainRequest.from_values({"dimension": 8}, session=SESSION)
    assert unknown.value.param == "dimension"


def test_spark_takes_neither_walks_nor_features() -> None:
    spark = SparkOptions(quiet=True)
    walks = WalkOptions.from_options("deepwalk")
    assert walks is not None
    with pytest.raises(ConfigError) as caught:
        TrainRequest(config=TrainConfig(), session=SESSION, spark=spark, walks=walks)
    assert caught.value.param == "walks"
    assert str(caught.value) == "--walks deepwalk is not supported with --engine spark: use --engine gensim"


def test_gensim_and_mllib_arguments_come_from_the_config() -> None:
    config = TrainConfig(dim=7, window=3, negative=4, ns_exponent=0.5, sample=0.01, epochs=2, min_count=2,
                         max_vocab=50, alpha=0.1, workers=1, seed=9, context="set")  # fmt: skip
    assert config.gensim_params() == {
        "sg": 1, "hs": 0, "vector_size": 7, "window": 3, "negative": 4, "ns_exponent": 0.5, "sample": 0.01,
        "min_count": 2, "max_final_vocab": 50, "alpha": 0.1, "seed": 9, "workers": 1, "epochs": 2,
        "shrink_windows": False,
    }  # fmt: skip
    assert config.mllib_params() == {
        "vectorSize": 7,
        "windowSize": 3,
        "minCount": 2,
        "maxIter": 2,
        "stepSize": 0.1,
        "seed": 9,
    }


def test_the_api_trains_with_gensim_names_and_a_config(tmp_path: Path) -> None:
    sequences = [["a", "b", "c"], ["b", "c", "d"]] * 5
    model = item2vec.train(sequences, vector_size=6, iter=2, min_count=1, workers=1, calibrate=False)
    assert model.dim == 6
    assert model.meta["params"]["epochs"] == 2
    config = TrainConfig(dim=5, epochs=1, min_count=1, workers=1)
    model = item2vec.train(sequences, config=config, calibrate=False)
    assert model.meta["params"] == config.as_dict()


@pytest.mark.parametrize(
    ("values", "name"),
    [({"ks": (0,)}, "k"), ({"ks": ()}, "k"), ({"query": "first"}, "query"), ({"history": 0}, "history")],
)
def test_an_evaluate_request_checks_its_values(values: dict[str, object], name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        EvaluateRequest(**values)  # type: ignore[arg-type]
    assert caught.value.param == name


def test_evaluate_reads_test_and_training_data_with_the_models_session_options() -> None:
    from item2vec.model.embeddings import Embeddings

    seen: list[tuple[str, SessionOptions]] = []

    def reader(name: str) -> SequencesReader:
        def read(session: SessionOptions) -> list[list[str]]:
            seen.append((name, session))
            return [["a", "b"], ["b", "a"]]

        return read

    vectors = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    embeddings = Embeddings(ids=["a", "b"], vectors=vectors, counts=np.array([2, 2]), meta={})
    request = EvaluateRequest(test=reader("test"), train=reader("train"), session_overrides={"min_length": 3},
                              scores=("similar",))  # fmt: skip
    evaluation = run_evaluation(embeddings, request=request)
    assert [name for name, _ in seen] == ["test", "train"]
    assert (seen[0][1].min_length, seen[1][1].min_length) == (3, 2)  # overrides apply to the test data
    assert [row["method"] for row in evaluation.sections["next-item"] if row["protocol"] == "last"] == [
        "model", "co-occurrence", "sequential-rules", "sknn", "v-sknn", "stan", "most-popular"
    ]  # fmt: skip
