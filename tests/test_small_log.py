"""On a small log train tries a few training parameters on the calibration's held-out items."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from item2vec.cli import cli
from item2vec.corpus.packed import Packed
from item2vec.training import holdout
from item2vec.training.config import TrainConfig
from item2vec.training.small_log import GRID, SMALL_LOG_TOKENS, points, search, why_not
from tests.conftest import planted


def test_only_a_small_log_with_parameters_left_to_the_recsys_preset_searches() -> None:
    recsys = TrainConfig.from_preset("recsys")
    assert why_not(recsys, frozenset(), 1000) is None
    assert why_not(recsys, None, 1000) == "window and epochs were given"
    assert why_not(recsys, frozenset({"window", "epochs"}), 1000) is not None
    assert why_not(TrainConfig.from_preset("text"), frozenset(), 1000) == "the text preset"
    assert "more than the 150,000 of a small log" in str(why_not(recsys, frozenset(), SMALL_LOG_TOKENS + 1))


def test_the_grid_changes_only_what_was_left_to_the_preset() -> None:
    recsys = TrainConfig.from_preset("recsys")
    every = points(recsys, frozenset())
    assert every[0] == recsys and len(every) == 1 + len(GRID)
    windowless = points(recsys, frozenset({"window"}))
    assert all(p.window == recsys.window for p in windowless)
    assert [p.epochs for p in windowless] == [recsys.epochs, 50]
    at_15 = points(replace(recsys, window=15), frozenset())
    assert len(at_15) == len({(p.window, p.epochs) for p in at_15}) == 4  # none twice


class Judge:
    """Scores a trial by its epochs (more is better here) and keeps the best, to test the search."""

    def __init__(self) -> None:
        self.scored: list[int] = []

    def score(self, embeddings: Any, output: Any, transitions: Any, held_out: Any) -> Any:
        self.scored.append(len(embeddings))
        cases = len(held_out)
        return np.ones(cases), np.full(cases, 0.1), "similar"

    def choose(self, outcomes: list[Any], groups: Any) -> tuple[int, str]:
        assert all(len(o[0]) == len(groups) for o in outcomes)
        return len(outcomes) - 1, "the last one"


def held_out_of(lists: list[list[str]]) -> holdout.HeldOut:
    found = holdout.hold_out(Packed.from_lists(lists), seed=1, window=3, catalogue=40)
    assert isinstance(found, holdout.HeldOut)
    return found


def test_search_keeps_the_judges_choice_and_its_own_training(tmp_path: Path) -> None:
    lists = planted(tmp_path / "w.txt")
    held = held_out_of(lists)
    config = TrainConfig.from_preset("recsys", dim=8, epochs=2, workers=1, seed=1, min_count=1)
    judge = Judge()
    kept, record = search(held, config, frozenset({"epochs"}), judge)
    assert [t["window"] for t in record["tried"]] == [8, 3, 15]  # the window points alone: epochs were given
    assert kept.config.window == 15 and record["chosen"] == {"window": 15, "epochs": 2}
    assert record["why"] == "the last one" and record["untried"] == 0
    assert kept.trained.vectors.shape == (40, 8) and judge.scored == [40, 40, 40]
    alone, short = search(held, config, frozenset(), Judge(), budget=0.0)
    assert len(short["tried"]) == 1 and short["untried"] == len(points(config, frozenset())) - 1
    assert alone.config == config


def test_train_searches_a_small_log_and_says_what_it_kept(tmp_path: Path) -> None:
    walks = tmp_path / "w.txt"
    planted(walks)
    runner = CliRunner()
    fast = ["--dim", "8", "--workers", "1", "--seed", "1", "--min-count", "1"]
    result = runner.invoke(cli, ["train", str(walks), "-o", str(tmp_path / "m"), *fast])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    search_record = meta["search"]
    assert len(search_record["tried"]) >= 2 and {"window", "epochs"} == set(search_record["chosen"]) - {
        "min_count"
    }
    assert meta["params"]["window"] == search_record["chosen"]["window"]
    assert meta["params"]["epochs"] == search_record["chosen"]["epochs"]
    assert "Small log: kept --window " in result.output and "trials in" in result.output
    fixed = runner.invoke(
        cli, ["train", str(walks), "-o", str(tmp_path / "f"), *fast, "--window", "5", "--epochs", "3"]
    )
    assert fixed.exit_code == 0, fixed.output
    skipped = json.loads((tmp_path / "f" / "model.json").read_text())["search"]
    assert skipped == {"skipped": "window and epochs were given"}
    assert "Small log" not in fixed.output
    none = runner.invoke(cli, ["train", str(walks), "-o", str(tmp_path / "n"), *fast, "--no-calibrate"])
    assert none.exit_code == 0 and "search" not in json.loads((tmp_path / "n" / "model.json").read_text())


@pytest.mark.parametrize("given", [frozenset({"window"}), frozenset({"epochs"})])
def test_a_given_value_is_never_searched(given: frozenset[str]) -> None:
    recsys = TrainConfig.from_preset("recsys")
    name = next(iter(given))
    assert {getattr(p, name) for p in points(recsys, given)} == {getattr(recsys, name)}
