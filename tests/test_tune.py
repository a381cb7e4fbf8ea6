from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli
from item2vec.errors import ConfigError, EmptyResultError, MissingDependencyError
from item2vec.evaluation.eval_inputs import merge_validation, sample_sequences
from item2vec.evaluation.knn_params import knn_params_from_meta
from item2vec.evaluation.tune import TrialReport, TuneOptions, parse_fixed, search
from item2vec.evaluation.tune_table import trial_header, trial_line
from item2vec.model.modes import TUNE_WEIGHTS
from item2vec.training.config import PRESETS

# Small and quick: the search covers window, negative, ns-exponent, sample, alpha and context.
QUICK = ["--fix", "dim=8", "--fix", "epochs=5", "--workers", "1", "--min-count", "1", "--seed", "3"]


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def cycles(users: int, seed: int = 0) -> list[list[str]]:
    """Each user walks a cycle of 6 items in one of three clusters."""
    rng = random.Random(seed)
    out = []
    for u in range(users):
        start = rng.randrange(6)
        out.append([f"{u % 3}{(start + s) % 6}" for s in range(5)])
    return out


@pytest.fixture
def split_dir(tmp_path: Path) -> Path:
    lines = ["user_id,item_id,ts"]
    for u, seq in enumerate(cycles(90)):
        lines += [f"u{u},{item},{1000 + s}" for s, item in enumerate(seq)]
    (tmp_path / "events.csv").write_text("\n".join(lines) + "\n")
    result = run("split", tmp_path / "events.csv", "-o", tmp_path / "split", "--time-col", "ts")
    assert result.exit_code == 0, result.output
    return tmp_path / "split"


@pytest.mark.slow
def test_tune_end_to_end_and_its_toml_trains(split_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "best.toml"
    model = tmp_path / "model"
    result = run(
        "tune", split_dir / "train.csv", split_dir / "valid.csv", "--time-col", "ts", "--trials", "3",
        "--metric", "hr@5", *QUICK, "-c", config, "-o", model, "-f", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["metric"] == "hr@5" and record["trials"] == 3 and record["validation_cases"] == 90
    assert 0 <= record["best"] <= 1
    assert result.stderr.splitlines()[0].split()[:4] == ["trial", "state", "hr@5", "best"]
    assert result.stderr.splitlines()[1].split()[:2] == ["0", "complete"]  # trial 0: the preset
    text = config.read_text()
    assert "[train]\n" in text and 'time-col = "ts"' in text and "dim = 8" in text
    assert f'score = "{record["param.score"]}"' in text  # the winner's score mode
    assert "min-count = 1" in text
    # The final model: trained on train + valid with the best configuration, inputs recorded.
    meta = json.loads((model / "model.json").read_text())
    assert meta["input"]["merged_validation"] is True
    assert meta["input"]["sessions"] == 90 and meta["input"]["tokens"] == 90 * 4
    assert meta["params"]["window"] == record["param.window"]
    assert meta["scoring"]["score"] == record["param.score"]  # recommend's default for this model
    # The session-kNN methods tuned on the same validation cases: shown, and recorded for evaluate.
    table = result.stderr[result.stderr.index("the best trial beside session-kNN") :].splitlines()
    assert table[0] == "the best trial beside session-kNN tuned on the same 90 validation cases:"
    assert table[1].split() == ["method", "seen", "hr@5", "seconds", "parameters"]
    assert [line.split()[0] for line in table[2:6]] == ["model", "sknn", "v-sknn", "stan"]
    assert table[2].split()[2] == f"{record['best']:.4f}"
    baselines = meta["baselines"]
    assert (baselines["chosen_on"], baselines["metric"], baselines["protocol"]) == (
        "validation",
        "hr@5",
        "last",
    )
    assert baselines["validation_cases"] == 90 and baselines["tuned_model"] == record["best"]
    assert set(baselines["knn"]) == {"sknn", "vsknn", "stan"}
    assert {m: s["hr@5"] for m, s in baselines["scores"].items()} == {
        m: record[f"knn.{m}"] for m in ("sknn", "vsknn", "stan")
    }
    assert all(s["seen"] == "excluded" for s in baselines["scores"].values())  # the last-item protocol
    chosen = knn_params_from_meta(meta)
    assert all(chosen[m].record() == baselines["knn"][m] for m in chosen)
    assert "knn" not in text and "baselines" not in text  # train --config has no key for them
    # The TOML round-trips into train --config.
    again = tmp_path / "again"
    trained = run("train", split_dir / "train.csv", "--config", config, "-o", again, "-q")
    assert trained.exit_code == 0, trained.output
    params = json.loads((again / "model.json").read_text())["params"]
    # The same mode (train keeps a given mode and calibrates only how it scores whole histories).
    mode = ("score", "hybrid_weight", "hybrid_base")
    again_scoring = json.loads((again / "model.json").read_text())["scoring"]
    assert {k: again_scoring.get(k) for k in mode} == {k: meta["scoring"].get(k) for k in mode}
    assert {
        k: params[k] for k in ("dim", "window", "negative", "ns_exponent", "sample", "alpha", "context")
    } == {
        k: meta["params"][k]
        for k in ("dim", "window", "negative", "ns_exponent", "sample", "alpha", "context")
    }
    # evaluate rebuilds the baselines from train + valid, as the model saw them.
    evaluated = run("evaluate", model, split_dir / "test.csv", "-f", "json")
    assert evaluated.exit_code == 0, evaluated.output
    rows = {r["method"]: r for r in json.loads(evaluated.stdout)["next-item"]}
    assert rows["co-occurrence"]["hr@10"] == 1.0


def test_every_trial_is_scored_in_each_mode_of_the_grid() -> None:
    from item2vec.evaluation.evaluate import rank_model
    from item2vec.evaluation.ranking import Cases
    from item2vec.evaluation.tune_modes import Choice, ModeScorer, choices
    from item2vec.query.scoring import Scorer, ScoringParts
    from tests.conftest import tiny_embeddings, tiny_output

    train = [["apple", "pear", "plum"], ["king", "queen"], ["apple", "king"], ["queen", "king", "prince"]]
    cases = Cases([["apple"], ["king"], ["queen"], ["pear"]], ["pear", "queen", "king", "plum"])
    grid = choices()
    assert (
        len(grid) == 2 + 2 * len(TUNE_WEIGHTS)
        and grid[0] == Choice("similar")
        and grid[-1] == Choice("hybrid", TUNE_WEIGHTS[-1], "next")
    )
    tiny = tiny_embeddings()
    scorer = ModeScorer(train, cases, grid, ("ndcg", 3))
    value, choice = scorer.best(tiny.ids, tiny.vectors, tiny_output())
    transitions = scorer.transitions(tiny.ids)
    assert transitions.row(tiny.ids.index("apple"))[0].tolist() == [0, 6, 7]  # king 1, pear 1, plum 0.5
    parts = ScoringParts(tiny, output=tiny_output(), transitions=transitions)
    values = [rank_model(tiny, cases, kmax=3, scorer=Scorer(parts, c)).metrics((3,))["ndcg@3"] for c in grid]
    assert value == max(values) and choice == grid[values.index(max(values))]
    assert choices(("next", "hybrid"), weight=2.0, base="similar") == [
        Choice("next"),
        Choice("hybrid", 2.0, "similar"),
    ]
    assert Choice("hybrid", 2.0, "next").record() == {
        "score": "hybrid",
        "hybrid_weight": 2.0,
        "hybrid_base": "next",
    }
    with pytest.raises(ConfigError, match="--hybrid-weight -1 is invalid"):
        TuneOptions(scores=("hybrid",), hybrid_weight=-1)
    with pytest.raises(ConfigError) as huge:
        choices(("hybrid",), weight=1e39)
    assert (huge.value.param, huge.value.value) == ("hybrid_weight", 1e39)
    assert choices(steps=(10, 1))[len(grid) :] == [c.with_steps(1) for c in grid if c.mode == "hybrid"]


def test_the_search_covers_min_count_and_keeps_the_modes_asked_for() -> None:
    seqs = cycles(60)
    train, valid = [s[:-1] for s in seqs], seqs
    options = TuneOptions(trials=2, fixed={"dim": 8, "epochs": 2, "workers": 1}, scores=("next",))
    result = search(train, valid, options=options)
    assert result.scoring == {"score": "next"}
    assert result.trials[0].params["min_count"] == PRESETS["recsys"]["min_count"]  # trial 0: the preset
    assert all(t.params["score"] == "next" for t in result.trials)
    fixed = TuneOptions(trials=1, fixed={"dim": 8, "epochs": 2, "workers": 1, "min_count": 1},
                        scores=("hybrid",), hybrid_weight=4.0, hybrid_base="next")  # fmt: skip
    result = search(train, valid, options=fixed)
    assert result.scoring == {"score": "hybrid", "hybrid_weight": 4.0, "hybrid_base": "next"}
    assert "min_count" not in result.trials[0].params


def test_no_baselines_skips_the_knn_grid(split_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "best.toml"
    result = run(
        "tune", split_dir / "train.csv", split_dir / "valid.csv", "--time-col", "ts", "--trials", "1",
        *QUICK, "-c", config, "--no-baselines", "-f", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "session-kNN" not in result.stderr
    assert not [key for key in json.loads(result.stdout) if key.startswith("knn.")]


def test_ctrl_c_in_the_knn_grid_keeps_the_search(
    split_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from item2vec.evaluation import tune_run

    def interrupt(*args: object, **kwargs: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(tune_run, "tune_knn", interrupt)
    config = tmp_path / "best.toml"
    result = run(
        "tune", split_dir / "train.csv", split_dir / "valid.csv", "--time-col", "ts", "--trials", "1",
        *QUICK, "-c", config, "-f", "json",
    )  # fmt: skip
    assert result.exit_code == 130
    assert "session-kNN" not in result.stderr and "Interrupted: kept the best trial so far." in result.stderr
    record = json.loads(result.stdout)
    assert record["interrupted"] is True and record["trials"] == 1 and "knn.sknn" not in record
    assert "[train]" in config.read_text()


def test_the_knn_methods_are_tuned_on_the_validation_cases() -> None:
    """Each method's point is its grid's best on the cases the trials are scored on; on the
    history protocol seen items are tried kept and left out."""
    from item2vec.evaluation.knn import SessionKnn, own_sessions
    from item2vec.evaluation.knn_params import knn_grid
    from item2vec.evaluation.knn_tune import popularity_index, tune_knn
    from item2vec.evaluation.ranking import Cases, rank_scores

    seqs = cycles(60)
    train, valid = [s[:-1] for s in seqs], seqs
    for query, seens in (("last", [True]), ("history", [False, True])):
        chosen = tune_knn(train, valid, query=query, metric="ndcg@3")  # type: ignore[arg-type]
        cases = Cases.from_sequences(valid, query=query, history=None)  # type: ignore[arg-type]
        index = popularity_index(train)
        knn = SessionKnn.fit(train, index)
        own = own_sessions(train, cases.histories)
        assert (own >= 0).all()  # every case's own history is in train, and never its neighbour
        for choice in chosen:
            values = [
                rank_scores(
                    "x", index, cases, knn.scores(cases.queries, p, own=own), kmax=3, exclude_seen=e
                ).metrics((3,))["ndcg@3"]
                for p in knn_grid(choice.params.method, mean_length=knn.mean_length)
                for e in seens
            ]
            assert choice.value == max(values) and choice.points == len(values)
            assert choice.seen in (["excluded"] if query == "last" else ["kept", "excluded"])


def test_the_baselines_record_round_trips_and_a_bad_one_is_named() -> None:
    from item2vec.errors import ModelError
    from item2vec.evaluation.knn_params import KnnParams
    from item2vec.evaluation.knn_tune import KnnChoice, baselines_record

    picked = [
        KnnChoice(KnnParams("sknn", k=50, sample_size=2500, similarity="jaccard"), "kept", 0.41, 24, 1.0),
        KnnChoice(KnnParams("stan", k=500, lambda_spw=4.0, lambda_snh=100.0, lambda_inh=8.0), "excluded", 0.4, 32, 1.0),
    ]  # fmt: skip
    record = baselines_record(picked, metric="hr@10", query="history", cases=12, model=0.38)
    meta = json.loads(json.dumps({"baselines": record}))
    params = knn_params_from_meta(meta)
    assert params == {"sknn": picked[0].params, "vsknn": KnnParams("vsknn"), "stan": picked[1].params}
    assert meta["baselines"]["scores"]["sknn"] == {"seen": "kept", "hr@10": 0.41}
    assert knn_params_from_meta({}) == {m: KnnParams(m) for m in ("sknn", "vsknn", "stan")}
    bad: list[tuple[dict[str, Any], str]] = [
        ({"baselines": [1]}, "'baselines' is [1], not a record such as"),
        ({"baselines": {"knn": 3}}, "'baselines.knn' is 3, not a record such as"),
        ({"baselines": {"knn": {"sknnn": {}}}}, "'baselines.knn.sknnn' is {}, not a method: one of sknn"),
        ({"baselines": {"knn": {"stan": "k=5"}}}, "'baselines.knn.stan' is 'k=5', not a record of its"),
        ({"baselines": {"knn": {"sknn": {"kk": 5}}}}, "'baselines.knn.sknn.kk' is 5, not a field of sknn"),
        ({"baselines": {"knn": {"sknn": {"k": "5"}}}}, "'baselines.knn.sknn.k' is '5', not a whole number"),
        ({"baselines": {"knn": {"sknn": {"k": True}}}}, "'baselines.knn.sknn.k' is True, not a whole number"),
        ({"baselines": {"knn": {"sknn": {"k": 0}}}}, "'baselines.knn.sknn.k' is 0, not 1 or more"),
        ({"baselines": {"knn": {"sknn": {"similarity": "dot"}}}}, "'baselines.knn.sknn.similarity' is 'dot'"),
        (
            {"baselines": {"knn": {"stan": {"lambda_snh": -1}}}},
            "'baselines.knn.stan.lambda_snh' is -1, not a",
        ),
        (
            {"baselines": {"knn": {"vsknn": {"idf_weighting": float("nan")}}}},
            "'baselines.knn.vsknn.idf_weighting' is nan, not a finite",
        ),
    ]
    for meta, message in bad:
        with pytest.raises(ModelError, match="model.json's " + re.escape(message)):
            knn_params_from_meta(meta)
    assert (
        knn_params_from_meta({"baselines": {"knn": {"stan": {"lambda_snh": 20}}}})["stan"].lambda_snh == 20.0
    )


def test_tune_refuses_to_overwrite_a_config(split_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "best.toml").write_text("")
    result = run("tune", split_dir / "train.csv", split_dir / "valid.csv", "-c", tmp_path / "best.toml")
    assert result.exit_code == 2 and "exists: use --force" in result.output


def test_ctrl_c_keeps_the_best_so_far() -> None:
    seqs = cycles(60)
    train, valid = [s[:-1] for s in seqs], seqs

    def interrupt(trial: TrialReport) -> None:
        raise KeyboardInterrupt

    options = TuneOptions(trials=5, fixed={"dim": 8, "epochs": 3, "workers": 1, "min_count": 1})
    result = search(train, valid, options=options, report=interrupt)
    assert result.interrupted and len(result.trials) == 1
    assert (
        result.config.dim == 8 and result.config.window == PRESETS["recsys"]["window"]
    )  # trial 0: the preset


def test_cli_ctrl_c_writes_the_best_and_exits_130(
    split_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from item2vec.evaluation import tune as tune_module

    trained = tune_module.train
    calls = []

    def second_interrupts(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the middle of trial 1
        return trained(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tune_module, "train", second_interrupts)
    config = tmp_path / "best.toml"
    result = run(
        "tune", split_dir / "train.csv", split_dir / "valid.csv", "--time-col", "ts", "--trials", "4",
        *QUICK, "-c", config, "-q", "-f", "json",
    )  # fmt: skip
    assert result.exit_code == 130
    assert result.stderr == "Interrupted: kept the best trial so far.\n"  # no optuna traceback, even with -q
    assert json.loads(result.stdout)["interrupted"] is True
    assert "[train]" in config.read_text()


def test_tune_toml_feeds_evaluate_update_split_and_recommend(split_dir: Path, tmp_path: Path) -> None:
    """The [train] table tune writes: each command takes the options it has and skips train's own."""
    config = tmp_path / "best.toml"
    config.write_text(
        '[train]\nitem-col = "sku"\nuser-col = "customer"\ntime-col = "when"\ndim = 8\nepochs = 2\n'
        "min-count = 1\nseed = 3\nsample = 0.0\nwindow = 2\n"
    )
    renamed = tmp_path / "renamed.csv"
    text = (split_dir / "train.csv").read_text().replace("user_id,item_id,ts", "customer,sku,when")
    renamed.write_text(text)
    model = tmp_path / "m"
    assert run("train", renamed, "--config", config, "-o", model, "--workers", "1", "-q").exit_code == 0
    test = tmp_path / "test.csv"
    test.write_text((split_dir / "test.csv").read_text().replace("user_id,item_id,ts", "customer,sku,when"))
    evaluated = run("evaluate", model, test, "--config", config, "--no-baselines", "-f", "json")
    assert evaluated.exit_code == 0, evaluated.output
    updated = run("update", model, test, "--config", config, "-o", tmp_path / "m2", "--workers", "1", "-q")
    assert updated.exit_code == 0, updated.output
    parts = run("split", renamed, "--config", config, "-o", tmp_path / "parts", "-q")
    assert parts.exit_code == 0, parts.output
    recommended = run("recommend", model, "--events", test, "--config", config, "-k", "1", "-f", "csv")
    assert recommended.exit_code == 0, recommended.output
    assert recommended.stdout.splitlines()[0] == "user,rank,item,score"
    history = run("recommend", model, "--history", "00", "--config", config, "-k", "1")  # columns unused
    assert history.exit_code == 0, history.output
    # A key that no command has is still an error, naming the table it is in.
    config.write_text("[train]\nitem-column = 'sku'\n")
    wrong = run("evaluate", model, test, "--config", config)
    assert wrong.exit_code == 2
    assert "[train] unknown option 'item-column'" in wrong.output
    config.write_text("[evaluate]\ndim = 8\n")  # in evaluate's own table, train's options are errors
    assert "[evaluate] unknown option 'dim'" in run("evaluate", model, test, "--config", config).output
    config.write_text("[evaluate]\nks = '1,5'\nhistory-size = 3\nquery = 'history'\n[tune]\ntrials = 2\n")
    own = run("evaluate", model, test, "--config", config, "--no-baselines", "-f", "json")
    assert own.exit_code == 0, own.output
    assert "hr@5" in json.loads(own.stdout)["next-item"][0]
    config.write_text("[evalute]\nks = '1,5'\n")
    assert "unknown table [evalute]" in run("evaluate", model, test, "--config", config).output


def test_tune_errors() -> None:
    with pytest.raises(
        ConfigError, match="metric 'coverage@10' does not exist: use one of hr@K, ndcg@K, mrr@K"
    ):
        TuneOptions(metric="coverage@10")
    with pytest.raises(ConfigError, match="--fraction 0 is invalid") as fraction:
        TuneOptions(sample=0)
    assert (fraction.value.param, fraction.value.value) == ("fraction", 0)
    with pytest.raises(
        ConfigError, match="--fix 'size=3' is invalid: use NAME=VALUE with NAME one of dim, window"
    ):
        parse_fixed(["size=3"])
    with pytest.raises(ConfigError, match="dim takes a whole number") as fixed:
        parse_fixed(["dim=big"])
    assert (fixed.value.param, fixed.value.value) == ("fix", "dim=big")
    assert parse_fixed(["ns-exponent=0.5", "context=set"]) == {"ns_exponent": 0.5, "context": "set"}
    with pytest.raises(EmptyResultError, match="the validation data has no sequence of 2\\+ items"):
        search([["a", "b"]], [["a"]], options=TuneOptions(trials=1))


def test_missing_optuna_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'item2vec\[tune\]'"):
        search([["a", "b"]], [["a", "b"]], options=TuneOptions(trials=1))


def test_trial_table_lines() -> None:
    params = {"dim": 64, "ns_exponent": -0.5, "context": "set", "min_count": 2, "score": "hybrid(next,4)"}
    report = TrialReport(4, "complete", 0.3, 0.3, params, 1.25)
    assert trial_header("hr@10").split()[:4] == ["trial", "state", "hr@10", "best"]
    assert trial_header("hr@10").split()[-4:] == ["min", "context", "score", "seconds"]
    assert trial_line(report).split() == [
        "4", "complete", "0.3000", "0.3000", "64", "-", "-", "-0.50", "-", "-", "-", "2", "set",
        "hybrid(next,4)", "1.2",
    ]  # fmt: skip


def test_merge_validation_keeps_each_sequence_once() -> None:
    train = [["a", "b"], ["c"], ["x", "y"], ["a", "b"]]
    valid = [["a", "b", "c"], ["x", "y", "z"]]
    assert merge_validation(train, valid) == [["c"], ["a", "b"], ["a", "b", "c"], ["x", "y", "z"]]


def test_sample_keeps_a_validation_case_with_its_history() -> None:
    rng = random.Random(1)
    seqs = [[f"i{rng.randrange(50)}" for _ in range(rng.randrange(2, 6))] for _ in range(400)]
    train = [s[:-1] for s in seqs]
    kept_train = sample_sequences(train, 0.3, seed=5)
    kept_valid = sample_sequences(seqs, 0.3, seed=5, held_out=True)
    assert 0.15 < len(kept_valid) / len(seqs) < 0.45
    assert sorted(map(tuple, kept_train)) == sorted(tuple(s[:-1]) for s in kept_valid)
    assert sample_sequences(train, 1.0, seed=5) is train
