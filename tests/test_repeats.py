"""Repeat-aware recommendations: a scoring's repeat weight brings a history's own items back."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from item2vec.cli import cli
from item2vec.errors import ConfigError, ModelError
from item2vec.evaluation.evaluate import rank_model
from item2vec.evaluation.ranking import Cases
from item2vec.model.scoring_record import Scoring
from item2vec.query.recommend import DECAY, recommend
from item2vec.query.repeats import history_recency, merge
from item2vec.query.scoring import Scorer, ScoringParts, query_weights, resolve_scoring
from tests.conftest import tiny_embeddings, tiny_output, tiny_transitions

MODES = [
    Scoring("similar"),
    Scoring("next"),
    Scoring("hybrid", 2.0, "similar"),
    Scoring("hybrid", 8.0, "next"),
]


def scorer_for(scoring: Scoring) -> Scorer:
    embeddings = tiny_embeddings()
    parts = ScoringParts(embeddings, output=tiny_output(), transitions=tiny_transitions())
    return Scorer(parts, scoring)


def brute_force(scorer: Scorer, history: list[str], k: int, decay: float = DECAY) -> list[tuple[str, float]]:
    """Every item scored in the mode, seen ones raised by weight x R x spread, sorted (ties: lower row)."""
    emb = scorer.embeddings
    rows = [emb.position(i) for i in history]
    recent = rows[-5:]
    weights = query_weights(
        len(emb), [recent], [[decay ** (len(recent) - 1 - a) for a in range(len(recent))]]
    )
    queries = scorer.query_vectors(weights)
    scores = scorer.scores(queries, scorer.transition_scores(weights))[0].astype(np.float64)
    unit = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    spread = float(scorer.kind.spread(scorer.parts, scorer.scoring, unit.astype(np.float32))[0])
    for age, row in enumerate(reversed(rows)):
        scores[row] += scorer.scoring.repeat * decay**age * spread  # type: ignore[operator]
    order = sorted(range(len(scores)), key=lambda r: (-scores[r], r))[:k]
    return [(emb.ids[r], float(scores[r])) for r in order]


@pytest.mark.parametrize("scoring", MODES, ids=lambda s: s.label())
@pytest.mark.parametrize("repeat", [0.0, 0.5, 4.0])
def test_seen_items_come_back_raised_as_the_definition_says(scoring: Scoring, repeat: float) -> None:
    scorer = scorer_for(replace(scoring, repeat=repeat))
    history = ["apple", "king", "pear", "apple", "queen"]
    found = recommend(scorer.embeddings, history, 8, scorer=scorer)
    expected = brute_force(scorer, history, 8)
    assert [n.item for n in found.neighbours] == [item for item, _ in expected]
    assert np.allclose([n.score for n in found.neighbours], [score for _, score in expected], atol=1e-4)


def test_without_a_repeat_weight_seen_items_are_left_out_and_keep_seen_overrides() -> None:
    history = ["apple", "king"]
    plain = scorer_for(Scoring("similar"))
    left_out = recommend(plain.embeddings, history, 8, scorer=plain)
    assert not {"apple", "king"} & {n.item for n in left_out.neighbours}
    kept = recommend(plain.embeddings, history, 8, scorer=plain, keep_seen=True)
    assert {"apple", "king"} <= {n.item for n in kept.neighbours}
    repeating = scorer_for(Scoring("similar", repeat=8.0))
    raised = recommend(repeating.embeddings, history, 2, scorer=repeating)
    assert [n.item for n in raised.neighbours] == ["king", "apple"]  # the latest first: R 1 vs 0.7
    excluded = recommend(repeating.embeddings, history, 8, scorer=repeating, keep_seen=False)
    assert [n.item for n in excluded.neighbours] == [n.item for n in left_out.neighbours]


def test_frequency_counts_as_recency_does() -> None:
    scorer = scorer_for(Scoring("similar", repeat=8.0))
    # pear seen three times long ago outweighs plum seen once, one step more recent than the last pear
    history = ["pear", "pear", "pear", "plum", "man"]
    top = recommend(scorer.embeddings, history, 3, scorer=scorer).neighbours
    recency = history_recency(8, [scorer.embeddings.position(i) for i in history], DECAY).toarray()[0]
    pear, plum = scorer.embeddings.position("pear"), scorer.embeddings.position("plum")
    assert recency[pear] == pytest.approx(DECAY**2 + DECAY**3 + DECAY**4)
    assert recency[pear] > recency[plum] == pytest.approx(DECAY)
    shown = [n.item for n in top]
    assert "pear" in shown and ("plum" not in shown or shown.index("pear") < shown.index("plum"))


def test_evaluate_ranks_a_history_as_recommend_answers_it() -> None:
    histories = [["apple", "king", "pear"], ["queen", "man", "queen", "woman"], ["plum", "prince"]]
    targets = ["king", "queen", "plum"]
    for scoring in MODES:
        scorer = scorer_for(replace(scoring, repeat=1.0))
        cases = Cases([h[-5:] for h in histories], targets, histories)
        ranks = rank_model(scorer.embeddings, cases, kmax=8, scorer=scorer, repeats=True).ranks
        for history, target, rank in zip(histories, targets, ranks.tolist()):
            answer = [n.item for n in recommend(scorer.embeddings, history, 8, scorer=scorer).neighbours]
            assert answer.index(target) == rank, scoring.label()


def test_merge_takes_the_best_of_both_and_drops_what_filters_leave_out() -> None:
    rows = np.array([[3, 5, -1], [2, 4, 6]], dtype=np.int64)
    scores = np.array([[0.9, 0.5, -np.inf], [0.8, 0.7, 0.1]], dtype=np.float32)
    extra = (np.array([0, 1, 1]), np.array([1, 0, 7]), np.array([0.6, 0.75, 0.1], dtype=np.float32))
    best, picked = merge((rows, scores), extra, 3)
    assert best.tolist() == [[3, 1, 5], [2, 0, 4]]
    assert np.allclose(picked, [[0.9, 0.6, 0.5], [0.8, 0.75, 0.7]])
    banned = (np.array([1]), np.array([0]))
    best, _ = merge((rows, scores), extra, 4, banned=banned)
    assert best.tolist() == [[3, 1, 5, -1], [2, 4, 6, 7]]  # equal 0.1: the lower row first


def test_the_repeat_weight_is_recorded_checked_and_carried_to_other_modes() -> None:
    scoring = Scoring("hybrid", 2.0, "next", repeat=4.0)
    record = scoring.record()
    assert record["repeat_weight"] == 4.0
    assert Scoring.from_record({"scoring": record}) == scoring
    assert "repeat_weight" not in Scoring("hybrid").record()
    assert resolve_scoring({"scoring": record}, "similar").repeat == 4.0
    assert resolve_scoring({"scoring": record}, "similar", repeat=0).repeat == 0.0
    with pytest.raises(ModelError, match=r"model.json's 'scoring.repeat_weight' is -1"):
        Scoring.from_record({"scoring": {"repeat_weight": -1}})
    with pytest.raises(ConfigError) as caught:
        Scoring.checked(repeat=float("inf"))
    assert caught.value.param == "repeat_weight"


def test_recommend_command_follows_the_model_and_the_flags_override(tiny_model: Path) -> None:
    meta = json.loads((tiny_model / "model.json").read_text())
    meta["scoring"] = {**meta["scoring"], "score": "similar", "repeat_weight": 8.0}
    (tiny_model / "model.json").write_text(json.dumps(meta))
    runner = CliRunner()

    def items(*flags: str) -> list[str]:
        result = runner.invoke(cli, ["recommend", str(tiny_model), "--history", "apple", "king", "-k", "3",
                                     "-f", "csv", *flags])  # fmt: skip
        assert result.exit_code == 0, result.output
        return [line.split(",")[1] for line in result.stdout.splitlines()[1:]]

    assert items()[:2] == ["king", "apple"]
    assert not {"king", "apple"} & set(items("--exclude-seen"))
    events = tiny_model.parent / "events.csv"
    events.write_text("user_id,item_id\nu1,apple\nu1,king\nu2,pear\n")
    out = runner.invoke(cli, ["recommend", str(tiny_model), "--events", str(events), "-k", "3", "-f", "csv"])
    assert out.exit_code == 0, out.output
    rows = [line.split(",") for line in out.stdout.splitlines()[1:]]
    assert [r[2] for r in rows if r[0] == "u1"] == items()  # the batch answers as one history does


@pytest.mark.parametrize("scoring", MODES, ids=lambda s: s.label())
def test_calibration_ranks_every_history_choice_as_evaluate_does(scoring: Scoring) -> None:
    from item2vec.evaluation.calibrate_repeats import history_ranks

    rng = np.random.default_rng(3)
    ids = list(tiny_embeddings().ids)
    histories = [[ids[i] for i in rng.integers(0, 8, size=int(rng.integers(1, 9)))] for _ in range(60)]
    histories = [[x for j, x in enumerate(h) if j == 0 or x != h[j - 1]] for h in histories]
    targets = [ids[int(i)] for i in rng.integers(0, 8, size=60)]
    targets = [t if t != h[-1] else ids[(ids.index(t) + 1) % 8] for t, h in zip(targets, histories)]
    cases = Cases([h[-5:] for h in histories], targets, histories)
    scorer = scorer_for(scoring)
    decays, weights = (1.0, 0.7, 0.1), (None, 0.0, 0.5, 8.0)
    shared = history_ranks(scorer.embeddings, scorer.parts, scoring, cases, decays, weights, drop_last=True)
    for decay in decays:
        for weight in weights:
            alone = replace(scorer, scoring=replace(scoring, decay=decay, repeat=weight))
            expected = rank_model(
                scorer.embeddings, cases, kmax=3, scorer=alone, repeats=True, drop_last=True
            )
            got = np.where(shared[(decay, weight)] < 3, shared[(decay, weight)], -1)
            want = np.where(expected.ranks < 3, expected.ranks, -1)
            assert got.tolist() == want.tolist(), (decay, weight)


class Held:
    """The parts of a HeldOut that the history calibration reads."""

    def __init__(self, prefixes: list[list[str]], targets: list[str]) -> None:
        self.prefixes, self.targets = prefixes, targets
        self.groups = np.arange(len(targets))

    def __len__(self) -> int:
        return len(self.targets)

    def history_cases(self, catalogue: int) -> object:
        from item2vec.training.holdout import HeldOut

        return HeldOut.history_cases(self, catalogue)  # type: ignore[arg-type]  # reads len() only


def test_history_calibration_keeps_its_defaults_where_the_budget_allows_too_few_cases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import item2vec.evaluation.calibrate_repeats as module
    import item2vec.training.holdout as holdout

    scoring = Scoring("hybrid", 2.0, "similar")
    scorer = scorer_for(scoring)
    held = Held([["apple", "king", "apple"], ["pear", "plum"]] * 60, ["king", "apple"] * 60)
    _, account = module.choose_repeat(scorer.embeddings, scorer.parts, scoring, held)  # type: ignore[arg-type]
    assert account["cases"] == 120 and account["next_item_seen_share"] == 0.5 and "chosen" in account
    monkeypatch.setattr(holdout, "HISTORY_CELLS", 8 * 4 * 99)  # 99 cases: below the 100 it needs
    kept, skipped = module.choose_repeat(scorer.embeddings, scorer.parts, scoring, held)  # type: ignore[arg-type]
    assert kept == scoring
    assert skipped == {
        "skipped": "8 items allow 99 whole-history cases within the budget, fewer than 100: "
        "decay 0.7, seen items left out"
    }
