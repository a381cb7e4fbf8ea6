"""Held-out cases on small logs: more than one per sequence, and a real floor (issue 23, item 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from item2vec.cli import cli
from item2vec.corpus.packed import Packed
from item2vec.training import holdout
from tests.conftest import planted

FAST = ["--dim", "8", "--epochs", "3", "--min-count", "1", "--sample", "0", "--workers", "1", "--seed", "3"]


def cli_run(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def walks(path: Path, sequences: int, length: int, seed: int = 0) -> None:
    """Random walks over 40 items in 4 groups (tests.conftest.planted)."""
    planted(path, sequences, length, seed)


def test_a_small_log_holds_out_the_last_items_of_a_sequence_each_a_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(holdout, "FLOOR_CASES", 1)
    monkeypatch.setattr(holdout, "MAX_SHARE", 1.0)
    packed = Packed.from_lists([["a", "b", "c", "d", "e", "f"], ["g", "h", "i"], ["j", "k"]])
    held = holdout.hold_out(packed, seed=1, window=2, catalogue=11)
    assert isinstance(held, holdout.HeldOut)
    assert len(held) == 4 and held.sampled.tolist() == [0, 1]  # "j k" is too short to keep two items
    assert held.reduced.to_lists() == [["a", "b", "c"], ["g", "h"], ["j", "k"]]  # 3 at most, 2+ kept
    assert held.groups.tolist() == [0, 0, 0, 1]
    assert (held.queries, held.targets) == (["c", "d", "e", "h"], ["d", "e", "f", "i"])
    assert held.prefixes == [["a", "b", "c"], ["a", "b", "c", "d"], ["a", "b", "c", "d", "e"], ["g", "h"]]
    assert held.tails().to_lists() == [["b", "c", "d"], ["c", "d", "e"], ["d", "e", "f"], ["g", "h", "i"]]
    assert held.unseen().tolist() == [3, 4, 5, 8]  # d, e, f and i have no other event
    assert held.tails(held.unseen()[1:2]).to_lists() == [["c", "d", "e"]]
    assert held.record() == {
        "cases": 4, "sequences": 3, "held_out_share": round(4 / 11, 4), "folded_in": 4,
        "from_sequences": 2, "per_sequence": 3,
    }  # fmt: skip


def test_the_one_item_case_keeps_its_meaning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(holdout, "FLOOR_CASES", 1)
    monkeypatch.setattr(holdout, "MAX_SHARE", 0.25)  # 3 of 12 tokens: one item of each
    packed = Packed.from_lists([["a", "b", "c", "d"], ["e", "f", "g", "h"], ["i", "j", "k", "l"]])
    held = holdout.hold_out(packed, seed=1, window=1, catalogue=12)
    assert isinstance(held, holdout.HeldOut) and held.taken is None
    assert held.groups.tolist() == held.sampled.tolist() == [0, 1, 2]
    assert (held.queries, held.targets) == (["c", "g", "k"], ["d", "h", "l"])
    assert held.prefixes == [["a", "b", "c"], ["e", "f", "g"], ["i", "j", "k"]]
    assert held.record() == {"cases": 3, "sequences": 3, "held_out_share": 0.25, "folded_in": 3}


def test_more_cases_come_from_as_many_sequences_as_possible_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(holdout, "FLOOR_CASES", 1)
    monkeypatch.setattr(holdout, "MAX_SHARE", 0.15)  # 15 of 100 tokens
    packed = Packed.from_lists([[f"s{s}i{j}" for j in range(10)] for s in range(10)])
    held = holdout.hold_out(packed, seed=4, window=2, catalogue=100)
    again = holdout.hold_out(packed, seed=4, window=2, catalogue=100)
    assert isinstance(held, holdout.HeldOut) and isinstance(again, holdout.HeldOut)
    assert held.taken is not None and again.taken is not None
    assert len(held) == 15 and held.sampled.tolist() == list(range(10))
    assert sorted(held.taken.tolist()) == [1] * 5 + [2] * 5
    assert held.taken.tolist() == again.taken.tolist()  # the seed decides which give two


def test_a_log_that_skipped_under_500_cases_now_holds_some_out() -> None:
    # 150 sequences of 20: 5% of 3,000 tokens allows 150 cases, one each (skipped before: under 500)
    one = holdout.hold_out(Packed.from_lists([[f"i{(s + j) % 30}" for j in range(20)] for s in range(150)]),
                           seed=1, window=3, catalogue=30)  # fmt: skip
    assert isinstance(one, holdout.HeldOut) and len(one) == 150 and one.taken is None
    # 60 sequences of 40: 5% of 2,400 tokens allows 120 cases, two of each
    two = holdout.hold_out(Packed.from_lists([[f"i{(s + j) % 30}" for j in range(40)] for s in range(60)]),
                           seed=1, window=3, catalogue=30)  # fmt: skip
    assert isinstance(two, holdout.HeldOut) and len(two) == 120
    assert two.record()["from_sequences"] == 60 and two.record()["per_sequence"] == 2


def test_below_the_floor_it_says_why() -> None:
    why = holdout.hold_out(Packed.from_lists([["a", "b", "c", "d"]] * 30), seed=1, window=2, catalogue=4)
    assert why == "30 sequences of 3+ items allow 6 held-out cases, fewer than the 100 calibration needs"
    few = holdout.hold_out(Packed.from_lists([["a", "b", "c", "d"]] * 45), seed=1, window=2, catalogue=4)
    assert few == "45 sequences of 3+ items allow 9 held-out cases, fewer than the 100 calibration needs"
    # the sequences bind: 40 of 4 items give at most 2 each
    short = holdout.hold_out(Packed.from_lists([["a", "b", "c", "d"] * 200] + [["a", "b", "c"]] * 40), seed=1,
                             window=2, catalogue=4)  # fmt: skip
    assert short == "41 sequences of 3+ items allow 43 held-out cases, fewer than the 100 calibration needs"


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 12), min_size=1, max_size=40),
    share=st.sampled_from([0.05, 0.1, 0.3, 1.0]),
    seed=st.integers(0, 3),
)
def test_every_sequence_keeps_two_items_and_the_share_holds(
    lengths: list[int], share: float, seed: int
) -> None:
    lists = [[f"i{(7 * s + j) % 13}" for j in range(n)] for s, n in enumerate(lengths)]
    packed = Packed.from_lists(lists)
    old_floor, old_share = holdout.FLOOR_CASES, holdout.MAX_SHARE
    holdout.FLOOR_CASES, holdout.MAX_SHARE = 1, share
    try:
        held = holdout.hold_out(packed, seed=seed, window=2, catalogue=13)
    finally:
        holdout.FLOOR_CASES, holdout.MAX_SHARE = old_floor, old_share
    if isinstance(held, str):
        assert int(share * packed.tokens) == 0 or max(lengths) < holdout.MIN_LENGTH
        return
    assert len(held) <= share * packed.tokens
    reduced = held.reduced.to_lists()
    groups = held.groups.tolist()
    assert groups == sorted(groups)
    for s, seq in enumerate(lists):
        taken = groups.count(s)
        assert taken <= holdout.PER_SEQUENCE
        assert reduced[s] == seq[: len(seq) - taken]  # a suffix is held out
        assert taken == 0 or len(reduced[s]) >= 2  # never fewer than 2 items to train on
    cases = list(zip(groups, held.prefixes, held.queries, held.targets))
    for s, prefix, query, target in cases:
        assert prefix[-1] == query and lists[s][: len(prefix) + 1] == [*prefix, target]
    assert held.reduced.tokens + len(held) == packed.tokens


def test_train_calibrates_a_small_log_on_several_items_of_a_sequence(tmp_path: Path) -> None:
    seqs = tmp_path / "walks.txt"
    walks(seqs, sequences=60, length=40)  # 60 sequences: one case each was under 500 (and under 100)
    result = cli_run("train", seqs, "-o", tmp_path / "m", *FAST)
    assert result.exit_code == 0, result.output
    calibrated = json.loads((tmp_path / "m" / "model.json").read_text())["scoring"]["calibration"]
    assert (calibrated["cases"], calibrated["from_sequences"], calibrated["per_sequence"]) == (120, 60, 2)
    assert calibrated["held_out_share"] == 0.05
    assert (
        f"Scoring: {calibrated['chosen']} for recommend, calibrated on 120 held-out items "
        "(up to the last 2 of 60 sequences)" in result.output
    )


def test_train_on_a_tiny_log_still_says_why_it_did_not_calibrate(tmp_path: Path) -> None:
    seqs = tmp_path / "walks.txt"
    walks(seqs, sequences=30, length=20)
    result = cli_run("train", seqs, "-o", tmp_path / "m", *FAST)
    assert result.exit_code == 0, result.output
    why = "30 sequences of 3+ items allow 30 held-out cases, fewer than the 100 calibration needs"
    assert f"Scoring: the default, not calibrated ({why})" in result.output
    assert json.loads((tmp_path / "m" / "model.json").read_text())["scoring"] == {
        "calibration": {"skipped": why}
    }
