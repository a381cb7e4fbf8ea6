from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli
from item2vec.corpus.options import session_from_meta
from item2vec.errors import ConfigError, EmptyResultError, InputError
from item2vec.evaluation.benchmarks import evaluate_analogies, evaluate_pairs
from item2vec.evaluation.evaluate import (
    Baselines,
    check_thresholds,
    evaluate_next_item,
    parse_ks,
    parse_metric,
    parse_threshold,
    rank_model,
)
from item2vec.evaluation.ranking import MISS, Cases, query_matrix
from item2vec.model.embeddings import Embeddings

FAST = ["--dim", "12", "--epochs", "5", "--min-count", "1", "--sample", "0", "--workers", "1", "-q"]


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


# --- metrics on the hand-built model (tests/conftest.py) ----------------------------------------
# Query apple: pear (cos 0.981) ranks 0, plum (0.941) 1, prince (0.169) 2, then king, queen,
# man, woman tie at 0 and keep their row order: woman ranks 6.


def test_hand_computed_hr_ndcg_mrr(tiny: Embeddings) -> None:
    cases = Cases([["apple"]] * 4, ["pear", "plum", "woman", "durian"])
    ranked = rank_model(tiny, cases, kmax=10)
    assert ranked.ranks.tolist() == [0, 1, 6, MISS]
    assert ranked.top[0].tolist()[:4] == [6, 7, 4, 0]  # pear, plum, prince, king
    row = ranked.metrics((1, 2, 10))
    assert row["hr@1"] == 0.25 and row["hr@2"] == 0.5 and row["hr@10"] == 0.75
    assert row["ndcg@2"] == round((1 + 1 / math.log2(3)) / 4, 4)
    assert row["mrr@2"] == round((1 + 1 / 2) / 4, 4)
    assert row["mrr@10"] == round((1 + 1 / 2 + 1 / 7) / 4, 4)
    assert row["ndcg@10"] == round((1 + 1 / math.log2(3) + 1 / math.log2(8)) / 4, 4)
    assert row["coverage@1"] == round(1 / 8, 4)  # every case recommends pear first
    assert row["coverage@10"] == 0.875  # 7 of the 8 items shown: apple, the query, never
    assert row["cold"] == 0.25


def test_query_items_are_excluded_and_unknown_queries_are_misses(tiny: Embeddings) -> None:
    cases = Cases([["pear", "apple"], ["durian"]], ["pear", "apple"])
    ranked = rank_model(tiny, cases, kmax=3)
    assert ranked.ranks.tolist() == [MISS, MISS]
    assert ranked.top[1].tolist() == [-1, -1, -1]


def test_history_query_weights_decay_with_age() -> None:
    matrix = query_matrix({"x": 0, "y": 1, "z": 2}, [["x", "y", "z"], ["q", "z"]])
    assert matrix.toarray().tolist() == [[0.7**2, 0.7, 1.0], [0.0, 0.0, 1.0]]
    cases = Cases.from_sequences([["a", "b", "c", "d"], ["e"]], query="history", history=2)
    assert cases == Cases([["b", "c"]], ["d"])
    assert Cases.from_sequences([["a", "b", "c"]]) == Cases([["b"]], ["c"])


def test_baselines_on_a_tiny_corpus() -> None:
    train = [["a", "b"], ["a", "b"], ["a", "c"], ["b", "c"], ["d"]]
    fitted = Baselines.fit(train)
    assert list(fitted.index) == ["a", "b", "c", "d"]  # most frequent first, then by id
    cases = Cases([["a"], ["a"], ["c"], ["zz"]], ["c", "b", "d", "a"])
    cooc = fitted.rank_cooccurrence(cases, kmax=3)
    # a -> b (2 of 3) then c (1 of 3); c has no successor: popularity answers; zz is unseen.
    assert cooc.ranks.tolist() == [1, 0, 2, 0]
    assert cooc.top.tolist() == [[1, 2, 3], [1, 2, 3], [0, 1, 3], [0, 1, 2]]
    popular = fitted.rank_popular(cases, kmax=2)
    assert popular.ranks.tolist() == [1, 0, 2, 0]


def test_sequential_rules_on_a_hand_counted_corpus() -> None:
    # a b c | a c | b a d: rules a->b 1, a->c 0.5 + 1, a->d 1 (at distance 1 in "a d"), b->c 1,
    # b->a 1, b->d 0.5; c and d have none. Popularity a(3) b(2) c(2) d(1) fills and breaks ties.
    fitted = Baselines.fit([["a", "b", "c"], ["a", "c"], ["b", "a", "d"]])
    assert list(fitted.index) == ["a", "b", "c", "d"]
    assert fitted.rules is not None
    assert fitted.rules.toarray().tolist() == [[0, 1, 1.5, 1], [1, 0, 1, 0.5], [0, 0, 0, 0], [0, 0, 0, 0]]
    cases = Cases([["a"], ["b"], ["c"], ["d"], ["b", "a"]], ["d", "d", "b", "a", "d"])
    rules = fitted.rank_rules(cases, kmax=3)
    assert rules.method == "sequential-rules"
    # the last case is a history: a's rules plus 0.7 x b's (c 2.2, d 1.35); b and a are excluded
    assert rules.ranks.tolist() == [2, 2, 1, 0, 1]
    assert rules.top.tolist() == [[2, 1, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2], [2, 3, -1]]


def test_sequential_rules_keep_the_top_20_of_each_item() -> None:
    train = [["q", f"x{i:02d}"] * 1 for i in range(25)] + [["q", "x24"]]
    fitted = Baselines.fit(train)
    assert fitted.rules is not None
    row = fitted.rules[fitted.index["q"]]
    assert row.nnz == 20 and row[0, fitted.index["x24"]] == 2.0


def test_model_rows_in_each_mode_rank_as_defined() -> None:
    from item2vec.model.modes import SCORE_MODES
    from item2vec.query.scoring import ScoringParts, make_scorer
    from tests.conftest import tiny_embeddings, tiny_output, tiny_transitions
    from tests.test_scoring import IDS, expected, ranked

    parts = ScoringParts(tiny_embeddings(), output=tiny_output(), transitions=tiny_transitions())
    targets = ["pear", "king", "queen", "plum", "apple", "man", "woman", "prince"]
    histories = [[q] for q in IDS] + [["queen", "apple", "king"]]
    cases = Cases(histories, [*targets, "pear"])
    for mode in SCORE_MODES:
        scorer = make_scorer(parts, mode)
        got = rank_model(parts.embeddings, cases, kmax=8, scorer=scorer).ranks.tolist()
        want = []
        for history, target in zip(cases.queries, cases.targets):
            order = [i for i, _ in ranked(expected(history, mode), set(history), 8)]
            want.append(order.index(target) if target in order else MISS)
        assert got == want, mode
    report = evaluate_next_item(
        parts.embeddings, histories, None, ks=(1,), scorers=[make_scorer(parts, "next")]
    )
    assert [r["score"] for r in report.rows] == ["next"]


def test_set_context_counts_baskets_once() -> None:
    fitted = Baselines.fit([["a", "b", "b", "c"], ["a", "c"], ["c", "d"]], context="set")
    dense = fitted.following.toarray()
    a, b, c = (fitted.index[i] for i in "abc")
    assert dense[a, c] == pytest.approx(2 / 3)  # a shares 2 baskets with c, 1 with b
    assert dense[a, b] == pytest.approx(1 / 3)
    assert dense[a, a] == 0


def test_evaluate_next_item_puts_baselines_beside_the_model(tiny: Embeddings) -> None:
    report = evaluate_next_item(
        tiny, [["apple", "pear"], ["apple", "plum"]], [["apple", "plum"]] * 3, ks=(1,)
    )
    assert [r["method"] for r in report.rows] == [
        "model",
        "co-occurrence",
        "sequential-rules",
        "sknn",
        "v-sknn",
        "stan",
        "most-popular",
    ]
    assert [r["score"] for r in report.rows] == ["similar"] + [None] * 6
    assert {r["protocol"] for r in report.rows} == {"last"}
    assert [r["hr@1"] for r in report.rows] == [0.5] * 7  # plum: after apple, the query
    assert report.notes == ["best on hr@1: model (similar) 0.5000 (next: co-occurrence 0.5000)"]


def test_notes_say_which_method_won(tiny: Embeddings) -> None:
    report = evaluate_next_item(tiny, [["apple", "king"]], [["apple", "king"]], ks=(1,))
    assert report.notes == [
        "best on hr@1: co-occurrence 1.0000 (next: sequential-rules 1.0000)",
        "co-occurrence beats the model on hr@1 (1.0000 vs 0.0000): tune it (item2vec tune) or use the baseline",
    ]


def test_no_overlapping_items_is_a_clear_error(tiny: Embeddings) -> None:
    with pytest.raises(EmptyResultError, match="none of the 1 test cases' items is in the model"):
        evaluate_next_item(tiny, [["x1", "x2"]], None)
    with pytest.raises(EmptyResultError, match="none of the 1 test sequences has 2 or more items"):
        evaluate_next_item(tiny, [["apple"]], None)


def test_metric_names_and_thresholds() -> None:
    assert parse_metric("NDCG@10") == ("ndcg", 10)
    assert parse_ks("50,10, 20") == (10, 20, 50)
    assert parse_threshold("hr@10=0.25", (10,)) == ("hr@10", 0.25)
    with pytest.raises(ConfigError, match=r"metric 'recall@10' does not exist: use one of hr@K, ndcg@K"):
        parse_metric("recall@10")
    with pytest.raises(ConfigError, match="cut-off 20 is not computed"):
        parse_threshold("hr@20=0.1", (10,))
    with pytest.raises(ConfigError, match="use METRIC=VALUE"):
        parse_threshold("hr@10")
    with pytest.raises(ConfigError, match="--ks 'ten' is invalid"):
        parse_ks("ten")
    check_thresholds({"method": "model", "hr@10": 0.3}, [("hr@10", 0.3)])
    with pytest.raises(Exception, match=r"model: hr@10 0.2000 is below 0.3 \(--fail-under\)"):
        check_thresholds({"method": "model", "hr@10": 0.2}, [("hr@10", 0.3)])


def test_scoring_is_vectorised_over_many_cases() -> None:
    rng = np.random.default_rng(0)
    ids = [f"i{n}" for n in range(1000)]
    emb = Embeddings(
        ids=ids, vectors=rng.normal(size=(1000, 8)).astype(np.float32), counts=np.ones(1000, dtype=np.int64)
    )
    unit = emb.unit
    queries = rng.integers(0, 1000, size=5000)
    near = np.argsort(-(unit[queries] @ unit.T), axis=1)[:, 1:40]  # each query's 39 nearest others
    targets = near[np.arange(5000), rng.integers(0, 39, size=5000)]
    ranked = rank_model(emb, Cases([[ids[q]] for q in queries], [ids[t] for t in targets]), kmax=20)
    for case in range(0, 5000, 97):  # spot-check against a plain sort
        scores = unit @ unit[queries[case]]
        scores[queries[case]] = -np.inf
        rank = int((scores > scores[targets[case]]).sum())
        assert ranked.ranks[case] == (rank if rank < 20 else MISS)
        assert ranked.top[case].tolist() == np.argsort(-scores, kind="stable")[:20].tolist()
    assert 0.4 < (ranked.ranks < 20).mean() < 0.6


# --- analogies and pairs -------------------------------------------------------------------------


def test_analogies_per_section(tiny: Embeddings, tmp_path: Path) -> None:
    path = tmp_path / "questions.txt"
    path.write_text(": royal\nman king woman queen\nMAN KING WOMAN PRINCE\n: fruit\napple pear plum durian\n")
    assert evaluate_analogies(tiny, path) == [
        {"section": "royal", "correct": 1, "questions": 2, "accuracy": 0.5, "skipped": 0},
        {"section": "fruit", "correct": 0, "questions": 0, "accuracy": None, "skipped": 1},
        {"section": "total", "correct": 1, "questions": 2, "accuracy": 0.5, "skipped": 1},
    ]


def test_word_pairs_correlation(tiny: Embeddings, tmp_path: Path) -> None:
    path = tmp_path / "pairs.tsv"
    path.write_text(
        "# word1\tword2\tscore\napple\tpear\t9\napple\tplum\t8\napple\tprince\t3\nking\tapple\t1\nduke\tking\t7\n"
    )
    cosine = [1 / math.sqrt(1.04), 1 / math.sqrt(1.13), 0.2 / math.sqrt(1.4), 0.0]
    pearson = float(np.corrcoef(cosine, [9, 8, 3, 1])[0, 1])
    assert evaluate_pairs(tiny, path) == [
        {"file": "pairs.tsv", "pairs": 4, "skipped": 1, "spearman": 1.0, "pearson": round(pearson, 4)}
    ]


def test_benchmark_file_errors(tiny: Embeddings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(": s\nking queen\n")
    with pytest.raises(InputError, match="line 2: expected 4 words"):
        evaluate_analogies(tiny, bad)
    with pytest.raises(InputError, match="does not exist"):
        evaluate_pairs(tiny, tmp_path / "missing.tsv")
    few = tmp_path / "few.tsv"
    few.write_text("king queen 5\n")
    with pytest.raises(EmptyResultError, match="a correlation needs at least 3"):
        evaluate_pairs(tiny, few)


def test_benchmark_files_are_utf8_with_an_optional_bom(tiny: Embeddings, tmp_path: Path) -> None:
    path = tmp_path / "questions.txt"
    path.write_bytes(b"\xef\xbb\xbf: royal\nman king woman queen\n")
    assert evaluate_analogies(tiny, path)[0]["section"] == "royal"  # before: "\ufeff: royal" was a question
    path.write_bytes(b": royal\nman king woman qu\xe9en\n")
    with pytest.raises(
        InputError, match=r"questions.txt: line 2 is not UTF-8 \(byte 0xe9 after 'man king woman qu'\)"
    ):
        evaluate_analogies(tiny, path)


# --- session options from the model --------------------------------------------------------------


def test_session_defaults_come_from_the_model() -> None:
    meta = {"input": {"session": {"item_col": "sku", "user_col": "cust", "time_col": "t", "min_length": 3,
                                  "where": ["country=UK"], "session_gap_seconds": None, "drop_repeats": False}}}  # fmt: skip
    session = session_from_meta(meta, {"min_length": None, "time_col": "when"})
    assert (session.item_col, session.user_col, session.time_col, session.min_length) == (
        "sku",
        "cust",
        "when",
        3,
    )
    assert [str(w) for w in session.where] == ["country=UK"] and session.drop_repeats is False
    assert session_from_meta(meta, {"session_col": "basket"}).user_col is None


# --- the command ---------------------------------------------------------------------------------


def planted(path: Path, users: int = 90, seed: int = 0) -> Path:
    """Each user walks a cycle of 6 items in one of three clusters: the next item is predictable."""
    rng = random.Random(seed)
    lines = ["user_id,item_id,ts"]
    for u in range(users):
        cluster, start = u % 3, rng.randrange(6)
        lines += [f"u{u},{cluster}{(start + s) % 6},{1000 + s}" for s in range(5)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def split_model(tmp_path: Path) -> tuple[Path, Path]:
    events = planted(tmp_path / "events.csv")
    assert run("split", events, "-o", tmp_path / "split", "--time-col", "ts").exit_code == 0
    model = tmp_path / "model"
    result = run("train", tmp_path / "split/train.csv", "-o", model, "--time-col", "ts", *FAST)
    assert result.exit_code == 0, result.output
    return model, tmp_path / "split/test.csv"


def test_evaluate_command_table_and_json(split_model: tuple[Path, Path]) -> None:
    model, test = split_model
    result = run("evaluate", model, test, "--ks", "1,5", "-f", "json", "--query", "last")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["next-item"]
    assert [(r["method"], r["score"]) for r in rows] == [
        ("model", "hybrid (next, weight 4)"), ("model", "similar"), ("model", "next"),
        ("co-occurrence", None), ("sequential-rules", None), ("sknn", None), ("v-sknn", None), ("stan", None),
        ("most-popular", None),
    ]  # fmt: skip
    assert rows[0]["cases"] == 90 and rows[3]["hr@1"] == 1.0  # the cycle is learnt exactly
    assert rows[4]["hr@1"] == 1.0 and rows[0]["hr@1"] == 1.0  # the rules and the hybrid: the same
    assert list(rows[0]) == ["method", "protocol", "score", "seen", "cases", "hr@1", "ndcg@1", "mrr@1",
                             "coverage@1", "hr@5", "ndcg@5", "mrr@5", "coverage@5", "cold"]  # fmt: skip
    assert "note: best on hr@1: model (hybrid (next, weight 4)) 1.0000" in result.stderr
    table = run("evaluate", model, test, "--no-baselines", "--score", "similar", "--query", "last")
    assert table.exit_code == 0
    assert table.stdout.splitlines()[0].split() == [
        "method",
        "protocol",
        "score",
        "seen",
        "cases",
        "hr@10",
        "ndcg@10",
        "mrr@10",
        "coverage@10",
        "cold",
    ]
    assert len(table.stdout.splitlines()) == 3


def test_fail_under_exits_3_after_showing_the_table(split_model: tuple[Path, Path]) -> None:
    model, test = split_model
    result = run("evaluate", model, test, "--fail-under", "hr@10=1.01")
    assert result.exit_code == 3  # a missed bar, told apart from a broken run (1) in CI
    assert result.stdout.startswith("method")
    assert "Error: model (last protocol): hr@10 1.0000 is below 1.01 (--fail-under)" in result.stderr
    assert run("evaluate", model, test, "--fail-under", "hr@10=0").exit_code == 0
    wrong = run("evaluate", model, test, "--fail-under", "recall@10=0.1")
    assert wrong.exit_code == 1 and "metric 'recall@10' does not exist" in wrong.stderr


def test_fail_under_gates_the_protocol_it_names(split_model: tuple[Path, Path]) -> None:
    model, test = split_model
    both = run("evaluate", model, test, "-f", "json", "--no-baselines", "--score", "hybrid")
    assert both.exit_code == 0, both.output
    rows = json.loads(both.stdout)["next-item"]
    assert [(r["method"], r["protocol"], r["seen"]) for r in rows] == [
        ("model", "last", "excluded"), ("model", "history", "excluded")
    ]  # fmt: skip
    history_hr = rows[1]["hr@10"]
    bar = f"history:hr@10={history_hr + 0.01:.4f}"
    gated = run("evaluate", model, test, "--no-baselines", "--score", "hybrid", "--fail-under", bar)
    assert gated.exit_code == 3
    assert "Error: model (history protocol): hr@10" in gated.stderr
    only_last = run(
        "evaluate", model, test, "--no-baselines", "--query", "last", "--fail-under", "last:hr@10=0"
    )
    assert only_last.exit_code == 0
    missing = run(
        "evaluate", model, test, "--no-baselines", "--query", "last", "--fail-under", "history:hr@10=0"
    )
    assert missing.exit_code == 1
    assert "gates the history protocol, which was not computed: add it with --query both" in missing.stderr
    unknown = run("evaluate", model, test, "--fail-under", "first:hr@10=0")
    assert unknown.exit_code == 1 and "--fail-under 'first' is unknown" in unknown.stderr


def test_evaluate_needs_the_training_data_for_baselines(
    split_model: tuple[Path, Path], tmp_path: Path
) -> None:
    model, test = split_model
    (tmp_path / "split/train.csv").rename(tmp_path / "moved.csv")
    result = run("evaluate", model, test)
    assert result.exit_code == 1
    assert "is not readable here: pass it with --train FILE (or --no-baselines)" in result.stderr
    assert run("evaluate", model, test, "--train", tmp_path / "moved.csv").exit_code == 0


def test_evaluate_usage_errors(tiny_model: Path, tmp_path: Path) -> None:
    assert run("evaluate", tiny_model).exit_code == 2
    other = tmp_path / "other.csv"
    other.write_text("user_id,item_id\nu1,x1\nu1,x2\n")
    result = run("evaluate", tiny_model, other, "--no-baselines")
    assert result.exit_code == 1 and "none of the 1 test cases' items is in the model" in result.stderr
    questions = tmp_path / "q.txt"
    questions.write_text("man king woman queen\n")
    both = run("evaluate", tiny_model, "--analogies", questions, "-f", "json")
    assert both.exit_code == 0
    assert json.loads(both.stdout) == {
        "analogies": [
            {"section": "(none)", "correct": 1, "questions": 1, "accuracy": 1.0, "skipped": 0},
            {"section": "total", "correct": 1, "questions": 1, "accuracy": 1.0, "skipped": 0},
        ]
    }


def test_evaluate_leaves_out_the_modes_a_model_lacks(tiny_model: Path, tmp_path: Path) -> None:
    test = tmp_path / "t.csv"
    test.write_text("user_id,item_id\nu1,apple\nu1,pear\nu2,king\nu2,queen\n")
    (tiny_model / "transitions.npz").unlink()
    result = run("evaluate", tiny_model, test, "--no-baselines", "-f", "json", "--query", "last")
    assert result.exit_code == 0, result.output
    assert [r["score"] for r in json.loads(result.stdout)["next-item"]] == ["similar", "next"]
    assert (
        "note: no hybrid row: --score hybrid needs transitions (transitions.npz), which model"
        in result.stderr
    )
    asked = run("evaluate", tiny_model, test, "--no-baselines", "--score", "hybrid")
    assert asked.exit_code == 1
    assert "Error: --score hybrid needs transitions (transitions.npz)" in asked.stderr
    both = run(
        "evaluate", tiny_model, test, "--no-baselines", "--score", "next", "--score", "similar", "-f", "csv",
        "--query", "last",
    )  # fmt: skip
    assert both.exit_code == 0 and [line.split(",")[2] for line in both.stdout.splitlines()[1:]] == [
        "next",
        "similar",
    ]
