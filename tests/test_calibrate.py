"""train's calibration: held-out last items choose the model's default scoring (issue 13)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

import item2vec
from item2vec.cli import cli
from item2vec.corpus.packed import Packed
from item2vec.evaluation import calibrate as calibration
from item2vec.evaluation.tune_modes import Choice
from item2vec.model.modes import HYBRID_BASE, HYBRID_WEIGHT
from item2vec.training import holdout
from tests.conftest import planted

FAST = ["--dim", "8", "--epochs", "3", "--min-count", "1", "--sample", "0", "--workers", "1", "--seed", "3"]
ANCHOR = Choice("hybrid", HYBRID_WEIGHT, HYBRID_BASE)


def cli_run(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


# --- holding out -------------------------------------------------------------------------------


def test_hold_out_removes_the_last_item_of_each_sampled_sequence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(holdout, "MIN_CASES", 1)
    monkeypatch.setattr(holdout, "MAX_SHARE", 1.0)
    packed = Packed.from_lists([["a", "b", "c"], ["d", "e"], ["f", "g", "h", "i"]])
    held = holdout.hold_out(packed, seed=1, window=2, catalogue=9)
    assert isinstance(held, holdout.HeldOut)
    assert held.sampled.tolist() == [0, 2]  # "d e" is too short to keep two items
    assert held.reduced.to_lists() == [["a", "b"], ["d", "e"], ["f", "g", "h"]]
    assert (held.queries, held.targets) == (["b", "h"], ["c", "i"])
    assert held.tails().to_lists() == [["a", "b", "c"], ["g", "h", "i"]]
    assert held.unseen().tolist() == [2, 8]  # c and i have no other event
    assert held.tails(held.unseen()[1:]).to_lists() == [["g", "h", "i"]]
    assert held.record() == {"cases": 2, "sequences": 3, "held_out_share": round(2 / 9, 4), "folded_in": 2}


def test_hold_out_takes_at_most_its_share_of_the_tokens_and_repeats_with_a_seed() -> None:
    lists = [[f"i{(7 * s + j) % 50}" for j in range(10)] for s in range(20_000)]
    packed = Packed.from_lists(lists)
    first = holdout.hold_out(packed, seed=5, window=3, catalogue=50)
    again = holdout.hold_out(packed, seed=5, window=3, catalogue=50)
    other = holdout.hold_out(packed, seed=6, window=3, catalogue=50)
    assert isinstance(first, holdout.HeldOut) and isinstance(again, holdout.HeldOut)
    assert isinstance(other, holdout.HeldOut)
    assert len(first) == holdout.MAX_CASES  # 5% of 200,000 tokens would be 10,000
    assert first.sampled.tolist() == again.sampled.tolist() != other.sampled.tolist()
    assert first.reduced.tokens == packed.tokens - holdout.MAX_CASES
    big = holdout.hold_out(packed, seed=5, window=3, catalogue=holdout.CELL_BUDGET // 1000)
    assert isinstance(big, holdout.HeldOut) and len(big) == 1000  # a large catalogue: fewer cases


def test_hold_out_says_why_it_cannot() -> None:
    why = holdout.hold_out(Packed.from_lists([["a", "b", "c"]] * 40), seed=1, window=2, catalogue=3)
    assert why == "40 sequences of 3+ items allow 6 held-out cases, fewer than the 100 calibration needs"


# --- choosing ----------------------------------------------------------------------------------


def outcome(hits: list[int], ranks: list[int | None]) -> tuple[np.ndarray, np.ndarray]:
    ndcg = [0.0 if r is None else 1 / np.log2(r + 2) for r in ranks]
    return np.array(hits, dtype=float), np.array(ndcg)


def test_choose_keeps_the_default_unless_a_choice_beats_it_clearly() -> None:
    n = 400
    anchor = outcome([1] * 100 + [0] * 300, [0] * 100 + [None] * 300)
    noise = outcome([1] * 101 + [0] * 299, [0] * 99 + [1, 0] + [None] * 299)  # one case better
    chosen, why = calibration.choose({ANCHOR: anchor, Choice("similar"): noise})
    assert chosen == ANCHOR
    assert why == (
        "no choice beat the default hybrid(next,4) by more than 3 standard errors of NDCG@10 with a higher HR@10"
    )
    clear = outcome([1] * 160 + [0] * 240, [0] * 160 + [None] * 240)
    ndcg_only = outcome([1] * 100 + [0] * 300, [0] * 100 + [None] * 300)
    ndcg_only[1][300:] = 0.0
    ndcg_only[1][:100] = 1.0
    chosen, why = calibration.choose(
        {ANCHOR: anchor, Choice("similar"): noise, Choice("hybrid", 2.0, "similar"): clear}
    )
    assert chosen == Choice("hybrid", 2.0, "similar")
    assert why.startswith("NDCG@10 0.4000 against 0.2500 for the default hybrid(next,4) (")
    assert why.endswith("standard errors), HR@10 0.4000 against 0.2500")
    # higher NDCG@10 but the same HR@10: not enough
    worse_hr = outcome([1] * 100 + [0] * 300, [0] * 100 + [None] * 300)
    worse_hr[1][:] = anchor[1] * 1.0
    worse_hr[1][300:310] = 0.5  # ndcg without hits cannot happen; the rule still needs HR
    assert calibration.choose({ANCHOR: anchor, Choice("next"): worse_hr})[0] == ANCHOR
    assert len(anchor[0]) == n
    with pytest.raises(ValueError, match="the default hybrid\\(next,4\\) is not among"):
        calibration.choose({Choice("next"): anchor})


def test_the_grid_is_tunes_and_its_hybrids_again_over_one_step() -> None:
    full = calibration.grid(((10, "next"), (1, "next")))
    tunes = calibration.choices()
    assert full[: len(tunes)] == tunes
    again = full[len(tunes) :]
    assert again == [Choice(c.score, c.weight, c.base, 1) for c in tunes if c.score == "hybrid"]
    assert again[0].label() == "hybrid(similar,0.5,1 step)"
    assert Choice("hybrid", 2.0, "next", 3).label() == "hybrid(next,2,3 steps)"
    assert again[0].record() == {
        "score": "hybrid", "hybrid_weight": 0.5, "hybrid_base": "similar", "transition_steps": 1
    }  # fmt: skip
    assert calibration.grid(((10, "next"),)) == tunes
    both = calibration.grid(((10, "both"), (1, "both")))
    assert [c for c in both if c.mode != "hybrid"] == [c for c in tunes if c.mode != "hybrid"]
    assert all(c.direction == "both" for c in both if c.mode == "hybrid") and len(both) == len(full)
    assert both[-1].label() == "hybrid(next,16,1 step,both ways)"
    assert both[-1].record()["transition_direction"] == "both"


# --- train ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_calibrated_step_count_is_what_the_transitions_are_counted_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[int, int] = {}

    def one_step(
        embeddings: object, output: object, transitions: dict, held: holdout.HeldOut, fixed: object = None
    ) -> dict:
        seen.update({kind: (matrix.steps, matrix.both) for kind, matrix in transitions.items()})
        choice = Choice("hybrid", 4.0, "similar", 1)
        return {**choice.record(), "calibration": {**held.record(), "chosen": choice.label(), "why": "test"}}

    import item2vec.evaluation.calibrate as module

    monkeypatch.setattr(module, "calibrate", one_step)
    seqs = tmp_path / "walks.txt"
    planted(seqs)
    result = cli_run("train", seqs, "-o", tmp_path / "m", *FAST)
    assert result.exit_code == 0, result.output
    assert seen == {  # the reduced corpus counted over both depths, and both ways over 10 steps
        (10, "next"): (10, False), (1, "next"): (1, False), (10, "both"): (10, True)
    }  # fmt: skip
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["scoring"]["transition_steps"] == 1 and meta["transitions"]["steps"] == 1
    with np.load(tmp_path / "m" / "transitions.npz", allow_pickle=False) as stored:
        assert int(stored["steps"]) == 1
    assert "Scoring: hybrid(similar,4,1 step) for recommend, calibrated on 600" in result.output


@pytest.mark.slow
def test_train_calibrates_on_held_out_items_and_recommend_uses_the_choice(tmp_path: Path) -> None:
    seqs = tmp_path / "walks.txt"
    lists = planted(seqs)
    model = tmp_path / "m"
    result = cli_run("train", seqs, "-o", model, *FAST)
    assert result.exit_code == 0, result.output
    meta = json.loads((model / "model.json").read_text())
    record = meta["scoring"]
    calibrated = record["calibration"]
    assert calibrated["cases"] == 600 and calibrated["sequences"] == 600  # 5% of 12,000 tokens
    assert calibrated["folded_in"] == 0  # every item has events that were not held out
    direction = calibrated["direction"]["chosen"]
    countings = ((10, "next"), (1, "next")) if direction == "next" else ((10, "both"),)
    assert set(calibrated["measured"]) == {c.label() for c in calibration.grid(countings)}
    chosen = Choice(record["score"], record.get("hybrid_weight"), record.get("hybrid_base"))
    history = {"repeat": record.get("repeat_weight"), "decay": record.get("history_decay", 0.7)}
    assert calibrated["chosen"] == replace(chosen, **history).label()
    # walks over 10 items a group: most next items were seen in the history, so they come back
    seen = calibrated["seen_items"]
    assert seen["next_item_seen_share"] > 0.5 and record["repeat_weight"] > 0
    assert seen["chosen"] == f"decay {history['decay']:g}, repeat {record['repeat_weight']:g}"
    assert "decay 0.7, seen excluded" in seen["measured"]
    assert (
        f"Scoring: {calibrated['chosen']} for recommend, calibrated on 600 held-out last items"
        in result.output
    )
    # the vocabulary counts every event, held-out ones included
    vocab = dict(line.split("\t")[:2] for line in (model / "vocab.tsv").read_text().splitlines()[1:])
    counts: dict[str, int] = {}
    for seq in lists:
        for item in seq:
            counts[item] = counts.get(item, 0) + 1
    assert {k: int(v) for k, v in vocab.items()} == counts
    flags = ["--score", record["score"]]
    if record["score"] == "hybrid":
        flags += ["--hybrid-weight", str(record["hybrid_weight"]), "--hybrid-base", record["hybrid_base"]]
    default = cli_run("recommend", model, "--history", "g1i1", "g1i2", "-f", "csv")
    explicit = cli_run("recommend", model, "--history", "g1i1", "g1i2", "-f", "csv", *flags)
    assert default.exit_code == 0, default.output
    assert default.stdout == explicit.stdout
    again = tmp_path / "again"
    assert cli_run("train", seqs, "-o", again, *FAST).exit_code == 0
    assert np.array_equal(np.load(model / "vectors.npy"), np.load(again / "vectors.npy"))
    twice = json.loads((again / "model.json").read_text())["scoring"]
    assert {**twice["calibration"], "seconds": 0} == {**calibrated, "seconds": 0}


@pytest.mark.slow
def test_held_out_items_are_trained_in_afterwards(tmp_path: Path) -> None:
    # Every sequence ends "... y z", and every sequence is sampled: z is seen only in held-out
    # places, so only the last pass can teach the model that z goes with y (without it, z's
    # vector stays as gensim drew it and its neighbours are random).
    rng = np.random.default_rng(1)
    lines = [" ".join([*(f"i{int(x)}" for x in rng.integers(0, 30, 18)), "y", "z"]) for _ in range(600)]
    seqs = tmp_path / "seqs.txt"
    seqs.write_text("\n".join(lines) + "\n")
    model = tmp_path / "m"
    result = cli_run("train", seqs, "-o", model, *FAST)
    assert result.exit_code == 0, result.output
    calibrated = json.loads((model / "model.json").read_text())["scoring"]["calibration"]
    assert (calibrated["cases"], calibrated["folded_in"]) == (600, 1)
    top = cli_run("similar", model, "z", "-k", "1", "-f", "csv", "--score", "next")
    assert top.exit_code == 0, top.output
    assert top.stdout.splitlines()[1].split(",")[2] == "y"


@pytest.mark.slow
def test_no_calibrate_records_no_scoring_and_a_given_mode_is_kept(tmp_path: Path) -> None:
    seqs = tmp_path / "walks.txt"
    planted(seqs)
    plain = cli_run("train", seqs, "-o", tmp_path / "plain", *FAST, "--no-calibrate")
    assert plain.exit_code == 0, plain.output
    assert "scoring" not in json.loads((tmp_path / "plain" / "model.json").read_text())
    assert "Scoring:" not in plain.output
    given = cli_run("train", seqs, "-o", tmp_path / "given", *FAST, "--score", "next")
    assert given.exit_code == 0, given.output
    record = json.loads((tmp_path / "given" / "model.json").read_text())["scoring"]
    assert record["score"] == "next" and "hybrid_weight" not in record  # the mode given is kept
    calibrated = record["calibration"]  # and how it scores a whole history is calibrated
    assert calibrated["why"] == "given" and calibrated["measured"] == {}
    assert calibrated["chosen"].startswith("next") and "seen_items" in calibrated
    both = cli_run("train", seqs, "-o", tmp_path / "both", *FAST, "--calibrate", "--hybrid-weight", "2")
    assert both.exit_code == 2
    assert (
        "--calibrate chooses the scoring that --score, --hybrid-weight or --hybrid-base gives" in both.output
    )
    assert not (tmp_path / "both").exists()


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ([], "3 sequences of 3+ items allow 0 held-out cases, fewer than the 100 calibration needs"),
        (["--context", "set"], "context set: a basket has no last item to hold out"),
    ],
)
def test_train_says_why_it_did_not_calibrate(tmp_path: Path, extra: list[str], why: str) -> None:
    seqs = tmp_path / "seqs.txt"
    seqs.write_text("a b c\nb c d\nc d e\n")
    result = cli_run("train", seqs, "-o", tmp_path / "m", *FAST, *extra)
    assert result.exit_code == 0, result.output
    assert f"Scoring: the default, not calibrated ({why})" in result.output
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["scoring"] == {"calibration": {"skipped": why}}
    assert cli_run("recommend", tmp_path / "m", "--history", "a", "-f", "csv").exit_code == 0


def test_text_input_is_not_calibrated(tmp_path: Path) -> None:
    text = tmp_path / "t.txt"
    text.write_text("the cat sat on the mat. the dog sat on the log.\n" * 20)
    result = cli_run("train", text, "-o", tmp_path / "m", *FAST, "--input-format", "text")
    assert result.exit_code == 0, result.output
    assert "Scoring:" not in result.output  # text trains for similar and analogy, not recommend
    assert "scoring" not in json.loads((tmp_path / "m" / "model.json").read_text())
    asked = cli_run("train", text, "-o", tmp_path / "m2", *FAST, "--input-format", "text", "--calibrate")
    assert asked.exit_code == 0, asked.output
    why = "text: calibration is for event logs and sequences"
    assert f"Scoring: the default, not calibrated ({why})" in asked.output
    assert json.loads((tmp_path / "m2" / "model.json").read_text())["scoring"] == {
        "calibration": {"skipped": why}
    }


@pytest.mark.slow
def test_the_python_api_calibrates_like_the_cli(tmp_path: Path) -> None:
    lists = planted(tmp_path / "walks.txt")
    params = {"dim": 8, "epochs": 3, "min_count": 1, "sample": 0.0, "workers": 1, "seed": 3}
    model = item2vec.train(lists, **params)
    cli_model = tmp_path / "cli"
    assert cli_run("train", tmp_path / "walks.txt", "-o", cli_model, *FAST).exit_code == 0
    assert np.array_equal(model.vectors, np.load(cli_model / "vectors.npy"))
    assert model.meta["scoring"]["calibration"]["cases"] == 600
    assert "scoring" not in item2vec.train(lists, calibrate=False, **params).meta
    with pytest.raises(TypeError, match="calibrate must be True or False, not str"):
        item2vec.train(lists, calibrate="yes", **params)


# --- shared work, the same ranks ------------------------------------------------------------------


def each_on_its_own(
    embeddings: object, output: np.ndarray, transitions: dict, cases: object
) -> dict[Choice, np.ndarray]:
    """Every choice ranked on its own, as evaluate ranks it (calibration before the work was shared)."""
    from item2vec.evaluation.evaluate import rank_model
    from item2vec.query.scoring import Scorer, ScoringParts

    parts = {s: ScoringParts(embeddings, output=output, transitions=t) for s, t in transitions.items()}
    return {
        c: rank_model(embeddings, cases, kmax=calibration.K, scorer=Scorer(parts[c.counting], c)).ranks
        for c in calibration.grid(tuple(transitions))
    }


def small_model(seed: int) -> tuple[object, np.ndarray, dict, object]:
    """60 items whose vectors repeat (equal scores: ties), transitions, cases with unknown items."""
    from item2vec.evaluation.ranking import Cases
    from item2vec.model.embeddings import Embeddings
    from item2vec.model.transitions import build_transitions

    rng = np.random.default_rng(seed)
    n = 60
    ids = [f"i{k}" for k in range(n)]
    vectors = rng.normal(size=(n, 6)).astype(np.float32)
    vectors[30:] = vectors[:30]  # every score ties with another item's
    vectors[5] = vectors[7] * 2.0  # the same direction: equal cosines
    output = np.round(rng.normal(size=(n, 6)), 1).astype(np.float32)
    output[40:50] = output[0]
    embeddings = Embeddings(ids=ids, vectors=vectors, counts=np.arange(n, 0, -1, dtype=np.int64))
    codes = rng.integers(0, n, size=3000).astype(np.int32)
    bounds = np.arange(0, 3001, 10, dtype=np.int64)
    transitions = {(s, "next"): build_transitions(codes, bounds, n, steps=s, keep=100) for s in (10, 1)}
    queries = [[ids[int(q)]] for q in rng.integers(0, n, size=400)] + [["unknown"], ["i3"], ["i4"]]
    targets = [ids[int(t)] for t in rng.integers(0, n, size=400)] + ["i1", "unknown", "i4"]
    return embeddings, output, transitions, Cases(queries, targets)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shared_ranking_gives_each_choices_own_ranks(seed: int) -> None:
    embeddings, output, transitions, cases = small_model(seed)
    expected = each_on_its_own(embeddings, output, transitions, cases)
    measured = calibration.measure(embeddings, output, transitions, cases)
    assert list(measured) == list(expected)  # the grid's order
    for choice, ranks in expected.items():
        hit = ranks < calibration.K
        assert measured[choice][0].tolist() == hit.astype(float).tolist(), choice.label()
        ndcg = np.where(hit, 1.0 / np.log2(np.where(hit, ranks, 0) + 2.0), 0.0)
        assert measured[choice][1].tolist() == ndcg.tolist(), choice.label()
    parts = {
        s: calibration.ScoringParts(embeddings, output=output, transitions=t) for s, t in transitions.items()
    }
    shared = calibration.shared_ranks(embeddings, parts, list(expected), cases)
    assert shared is not None and set(shared) == set(expected)  # hybrid and plain choices alike
    tied = 0
    for choice in expected:  # the ranks themselves, up to K (past it: a miss either way)
        assert np.array_equal(
            np.where(shared[choice] < calibration.K, shared[choice], -1),
            np.where(expected[choice] < calibration.K, expected[choice], -1),
        ), choice.label()
        tied += int((shared[choice] < calibration.K).sum())
    assert tied  # hits there are, at ranks the ties decide


@pytest.mark.parametrize("seed", [0, 5])
def test_counting_the_items_that_beat_a_target_ranks_as_sorting_does(seed: int) -> None:
    """rank_model with calibration's count: the plain modes' ranks without sorting each row's best."""
    from item2vec.evaluation.evaluate import rank_model
    from item2vec.query.scoring import Scorer, ScoringParts

    embeddings, output, transitions, cases = small_model(seed)
    parts = ScoringParts(embeddings, output=output, transitions=transitions[(10, "next")])
    for choice in (c for c in calibration.grid(tuple(transitions)) if c.mode != "hybrid"):
        sorted_ = rank_model(embeddings, cases, kmax=calibration.K, scorer=Scorer(parts, choice))
        counted = rank_model(
            embeddings, cases, kmax=calibration.K, scorer=Scorer(parts, choice), count=calibration._counted
        )
        assert counted.ranks.tolist() == sorted_.ranks.tolist(), choice.label()
        assert (counted.ranks < calibration.K).sum() > 20  # hits, ties among them (small_model)


def test_a_non_finite_score_ranks_each_choice_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    embeddings, output, transitions, cases = small_model(3)
    output[2] = np.inf  # next: an infinite score; hybrid(next) standardises to NaN
    expected = each_on_its_own(embeddings, output, transitions, cases)
    measured = calibration.measure(embeddings, output, transitions, cases)
    for choice, ranks in expected.items():
        assert measured[choice][0].tolist() == (ranks < calibration.K).astype(float).tolist()


def test_train_records_the_same_calibration_as_ranking_each_choice_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seqs = tmp_path / "walks.txt"
    planted(seqs, seed=4)
    assert cli_run("train", seqs, "-o", tmp_path / "shared", *FAST).exit_code == 0
    monkeypatch.setattr(calibration, "shared_ranks", lambda *args: None)  # each choice on its own
    assert cli_run("train", seqs, "-o", tmp_path / "alone", *FAST).exit_code == 0
    shared, alone = (
        json.loads((tmp_path / m / "model.json").read_text())["scoring"] for m in ("shared", "alone")
    )
    del shared["calibration"]["seconds"], alone["calibration"]["seconds"]
    assert shared == alone


def test_calibration_scores_in_evaluates_blocks() -> None:
    from item2vec.evaluation import ranking

    assert calibration._CELLS == ranking._CELLS  # the same blocks: every float as evaluate's


def test_the_query_items_rows_alone_rank_as_the_whole_matrix() -> None:
    from item2vec.evaluation.ranking import Cases
    from item2vec.model.transitions import build_transitions_at

    embeddings, output, _, every = small_model(4)
    cases = Cases(every.queries[:20] + every.queries[-3:], every.targets[:20] + every.targets[-3:])
    rng = np.random.default_rng(4)  # small_model's corpus, drawn again
    rng.normal(size=(60, 6)), rng.normal(size=(60, 6))
    codes = rng.integers(0, 60, size=3000).astype(np.int32)
    bounds = np.arange(0, 3001, 10, dtype=np.int64)
    whole = {
        (s, "next"): m for s, m in build_transitions_at(codes, bounds, 60, depths=(10, 1), keep=100).items()
    }
    index = embeddings.index
    rows = np.zeros(60, dtype=bool)
    rows[[index[q[0]] for q in cases.queries if q[0] in index]] = True
    counted = build_transitions_at(codes, bounds, 60, depths=(10, 1), keep=100, rows=rows)
    some = {(s, "next"): m for s, m in counted.items()}
    assert sum(m.nnz for m in some.values()) < sum(m.nnz for m in whole.values())
    full = calibration.measure(embeddings, output, whole, cases)
    assert {
        c: (h.tolist(), n.tolist())
        for c, (h, n) in calibration.measure(embeddings, output, some, cases).items()
    } == {c: (h.tolist(), n.tolist()) for c, (h, n) in full.items()}


def test_counting_from_each_rows_best_is_a_plain_count() -> None:
    rng = np.random.default_rng(0)
    for _ in range(60):
        cases, n = 30, 80
        z = np.round(rng.normal(size=(cases, n)), 1).astype(np.float32)  # many equal scores
        z[rng.random((cases, n)) < 0.02] = -np.inf  # excluded
        cells = np.sort(rng.choice(cases * n, size=300, replace=False))
        owner, columns = np.divmod(cells, n)
        values = (np.round(rng.random(300) * 2, 1) + 0.1).astype(np.float32)
        target = rng.integers(-1, n, cases)
        live = (target >= 0) & (rng.random(cases) < 0.9)
        top = np.partition(z, n - calibration.K, axis=1)[:, n - calibration.K :]
        fast = calibration._beaten(z, top, (owner, columns, values), target, live)
        assert np.array_equal(fast, calibration._beaten(z, None, (owner, columns, values), target, live))
        for r in range(cases):
            row = z[r].copy()
            row[columns[owner == r]] += values[owner == r]
            score = row[target[r]] if live[r] else np.nan
            rank = int((row > score).sum() + ((row == score) & (np.arange(n) < target[r])).sum())
            expected = rank if np.isfinite(score) and rank < calibration.K else calibration.MISS
            assert fast[r] == expected


def test_training_time_and_items_per_second_leave_calibration_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from item2vec.training import gensim_engine
    from item2vec.training.config import TrainConfig

    clock = [0.0]
    monkeypatch.setattr(gensim_engine.time, "perf_counter", lambda: clock[0])

    def calibrate(*_: object) -> None:
        clock[0] += 1000.0  # a calibration that takes 1,000 s on the fake clock

    lists = [[f"i{(7 * s + j) % 50}" for j in range(10)] for s in range(2_000)]
    packed = Packed.from_lists(lists)
    held = holdout.hold_out(packed, seed=5, window=3, catalogue=50)
    assert isinstance(held, holdout.HeldOut)
    config = TrainConfig.from_preset("recsys", dim=8, epochs=1, min_count=1, workers=1, seed=3)
    trained = gensim_engine.train(held.full, config=config, held_out=held, on_held_out=calibrate)
    assert clock[0] == 1000.0 and trained.seconds == 0.0


def reversed_pairs_model(reverse: bool) -> tuple[object, np.ndarray, dict, object]:
    """Vectors without signal; a corpus of pairs (2k, 2k+1), written later item first when
    ``reverse``; the cases ask for 2k+1 from 2k: only transitions counted both ways find them
    when the corpus has them the other way round."""
    from item2vec.evaluation.ranking import Cases
    from item2vec.model.embeddings import Embeddings
    from item2vec.model.transitions import build_transitions_at

    rng = np.random.default_rng(5)
    n = 80
    ids = [f"i{k}" for k in range(n)]
    embeddings = Embeddings(ids=ids, vectors=rng.normal(size=(n, 6)).astype(np.float32),
                            counts=np.ones(n, dtype=np.int64))  # fmt: skip
    output = rng.normal(size=(n, 6)).astype(np.float32)
    firsts = rng.integers(0, n // 2, size=600) * 2
    pairs = np.stack([firsts + 1, firsts] if reverse else [firsts, firsts + 1], axis=1)
    codes, bounds = pairs.ravel().astype(np.int32), np.arange(0, 1201, 2, dtype=np.int64)
    transitions = {
        (s, d): m
        for d in ("next", "both")
        for s, m in build_transitions_at(codes, bounds, n, depths=(10, 1), keep=100, both=d == "both").items()
    }
    asked = rng.integers(0, n // 2, size=200) * 2
    return embeddings, output, transitions, Cases([[ids[a]] for a in asked], [ids[a + 1] for a in asked])


@pytest.mark.parametrize("reverse", [True, False])
def test_the_direction_whose_default_ranks_better_is_the_grids(reverse: bool) -> None:
    embeddings, output, transitions, cases = reversed_pairs_model(reverse)
    outcomes, record = calibration.measure_directions(embeddings, output, transitions, cases)
    direction = "both" if reverse else "next"
    assert record["chosen"] == direction
    assert set(record["ndcg@10"]) == {"next", "both"}
    assert (record["ndcg@10"]["both"] > record["ndcg@10"]["next"]) == reverse
    grid = calibration.grid(((10, direction), (1, direction)))
    assert set(outcomes) == set(grid)  # every hybrid choice over the chosen direction's transitions
    alone = calibration.measure(embeddings, output, transitions, cases, grid)
    for choice, (hit, ndcg) in alone.items():  # each as measured on its own
        assert outcomes[choice][0].tolist() == hit.tolist() and outcomes[choice][1].tolist() == ndcg.tolist()
    chosen, _ = calibration.choose(outcomes)  # anchored on the default in that direction
    assert chosen in outcomes


def test_a_given_hybrid_is_measured_in_both_directions_and_keeps_the_better() -> None:
    embeddings, output, transitions, cases = reversed_pairs_model(True)
    given = Choice("hybrid", 8.0, "similar")
    chosen, record = calibration.direction_of(embeddings, output, transitions, cases, given)
    assert chosen == Choice("hybrid", 8.0, "similar", direction="both") and record["chosen"] == "both"
    assert record["ndcg@10"]["both"] > record["ndcg@10"]["next"]
    embeddings, output, transitions, cases = reversed_pairs_model(False)
    assert calibration.direction_of(embeddings, output, transitions, cases, given)[0] == given
    ahead = {k: m for k, m in transitions.items() if k[1] == "next"}  # one direction counted: kept
    assert calibration.direction_of(embeddings, output, ahead, cases, given) == (given, {"chosen": "next"})


def test_train_with_a_given_hybrid_saves_the_direction_calibration_chose(tmp_path: Path) -> None:
    seqs = tmp_path / "walks.txt"
    planted(seqs)
    given = ["--score", "hybrid", "--hybrid-weight", "8", "--hybrid-base", "similar"]
    result = cli_run("train", seqs, "-o", tmp_path / "m", *FAST, *given)
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    record = meta["scoring"]
    direction = record["calibration"]["direction"]
    ndcg = direction["ndcg@10"]
    assert direction["chosen"] == ("both" if ndcg["both"] > ndcg["next"] else "next")
    assert (record["score"], record["hybrid_weight"], record["hybrid_base"]) == ("hybrid", 8.0, "similar")
    assert (
        record.get("transition_direction", "next") == direction["chosen"] == meta["transitions"]["direction"]
    )
    assert record["calibration"]["why"] == "given"
