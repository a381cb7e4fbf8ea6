"""Score modes on the hand-built model: similar (in·in), next (in·out), hybrid (z + w·log1p T).

Every expected value is computed here independently, straight from the hand-placed vectors and
transitions in tests/conftest.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli
from item2vec.errors import ConfigError, ModelError
from item2vec.model.embeddings import Embeddings
from item2vec.model.modes import HYBRID_BASE, HYBRID_WEIGHT, RECOMMEND_SCORE
from item2vec.model.scoring_record import Scoring
from item2vec.model.store import load
from item2vec.query.batch import neighbour_table, recommend_events
from item2vec.query.histories import EventColumns
from item2vec.query.neighbours import similar
from item2vec.query.recommend import recommend
from item2vec.query.scoring import ScoringParts, make_scorer, open_parts
from item2vec.query.searcher import Searcher
from tests.conftest import (
    TINY_OUTPUT,
    TINY_TRANSITIONS,
    TINY_VECTORS,
    tiny_embeddings,
    tiny_output,
    tiny_transitions,
)

IDS = list(TINY_VECTORS)


def run(*args: str | Path, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def unit(v: list[float]) -> np.ndarray:
    a = np.array(v, dtype=np.float64)
    return a / np.linalg.norm(a)


def expected(
    history: list[str], mode: str, *, decay: float = 0.7, weight: float = 2.0, base: str = "similar"
) -> dict[str, float]:
    """Every item's score for a history (oldest first), from the definitions."""
    weights = [decay**age for age in range(len(history) - 1, -1, -1)]
    query = unit(list(np.sum([w * unit(TINY_VECTORS[i]) for w, i in zip(weights, history)], axis=0)))
    kind = base if mode == "hybrid" else mode
    table = TINY_VECTORS if kind == "similar" else TINY_OUTPUT
    cosines = np.array([query @ unit(table[i]) for i in IDS])
    if mode != "hybrid":
        return dict(zip(IDS, cosines.tolist()))
    z = (cosines - cosines.mean()) / cosines.std()
    counts = [sum(w * TINY_TRANSITIONS.get(q, {}).get(i, 0.0) for w, q in zip(weights, history)) for i in IDS]
    return dict(zip(IDS, (z + weight * np.log1p(counts)).tolist()))


def ranked(scores: dict[str, float], exclude: set[str], k: int) -> list[tuple[str, float]]:
    order = sorted((i for i in IDS if i not in exclude), key=lambda i: (-round(scores[i], 5), IDS.index(i)))
    return [(i, scores[i]) for i in order[:k]]


def approx_scorer(model: Path, mode: str, **values: Any) -> Any:
    embeddings = load(model)
    return make_scorer(open_parts(embeddings, model), mode, searcher=Searcher(embeddings, model), **values)


@pytest.fixture
def parts() -> ScoringParts:
    return ScoringParts(tiny_embeddings(), output=tiny_output(), transitions=tiny_transitions())


@pytest.mark.parametrize("mode", ["similar", "next", "hybrid"])
@pytest.mark.parametrize("base", ["similar", "next"])
def test_each_mode_scores_every_query_as_defined(parts: ScoringParts, mode: str, base: str) -> None:
    scorer = make_scorer(parts, mode, hybrid_base=base, hybrid_weight=2.0)
    answer = scorer.similar(IDS, k=7)
    for item in IDS:
        got = [(n.item, n.score) for n in answer if n.query == item]
        want = ranked(expected([item], mode, base=base), {item}, 7)
        if mode == "similar":  # Embeddings.similar's own tie order at the cut is not checked here
            got, want = got[:3], want[:3]
        assert [g[0] for g in got] == [w[0] for w in want], item
        assert [g[1] for g in got] == pytest.approx([w[1] for w in want], abs=1e-5)


def test_hand_read_answers_of_each_mode(parts: ScoringParts) -> None:
    # apple's input vector is its own axis 3: alike are the fruit; what follows is the king
    # (output vector on axis 3); hybrid adds the counted apple -> pear (3) and apple -> king (1).
    similar = make_scorer(parts, "similar").similar(["apple"], 2)
    assert [(n.item, round(n.score, 4)) for n in similar] == [("pear", 0.9806), ("plum", 0.9407)]
    following = make_scorer(parts, "next").similar(["apple"], 2)
    assert [(n.item, round(n.score, 4)) for n in following] == [("king", 0.9806), ("pear", 0.4472)]
    hybrid = make_scorer(parts, "hybrid", hybrid_weight=2.0).similar(["apple"], 3)
    assert [n.item for n in hybrid] == ["pear", "plum", "king"]
    heavy = make_scorer(parts, "hybrid", hybrid_weight=100.0).similar(["apple"], 2)
    assert [n.item for n in heavy] == ["pear", "king"]  # the transitions decide
    flat = make_scorer(parts, "hybrid", hybrid_weight=0.0).similar(["apple"], 3)
    assert [n.item for n in flat] == [n.item for n in make_scorer(parts, "similar").similar(["apple"], 3)]


def test_similar_mode_is_exactly_the_exact_search(parts: ScoringParts) -> None:
    scorer = make_scorer(parts, "similar")
    assert scorer.similar(IDS, 3) == similar(parts.embeddings, IDS, 3)
    assert scorer.similar(["king", "queen"], 3, combine=True) == similar(
        parts.embeddings, ["king", "queen"], 3, combine=True
    )


def test_combine_sums_the_transitions_of_the_query_items(parts: ScoringParts) -> None:
    scorer = make_scorer(parts, "hybrid", hybrid_weight=2.0)
    got = scorer.similar(["king", "apple"], 5, combine=True)
    want = ranked(expected(["king", "apple"], "hybrid", decay=1.0), {"king", "apple"}, 5)
    assert [(n.query, n.item) for n in got] == [("king + apple", w[0]) for w in want]
    assert [n.score for n in got] == pytest.approx([w[1] for w in want], abs=1e-5)


@pytest.mark.parametrize("mode", ["next", "hybrid"])
def test_recommend_decays_vectors_and_transitions_alike(parts: ScoringParts, mode: str) -> None:
    scorer = make_scorer(parts, mode)
    history = ["queen", "apple", "king"]
    found = recommend(parts.embeddings, history, 4, decay=0.5, scorer=scorer)
    want = ranked(expected(history, mode, decay=0.5), set(history), 4)
    assert [(n.item, round(n.score, 5)) for n in found.neighbours] == [(i, round(s, 5)) for i, s in want]
    kept = recommend(parts.embeddings, history, 8, decay=0.5, scorer=scorer, keep_seen=True)
    assert {n.item for n in kept.neighbours} == set(IDS)


def test_the_models_recorded_scoring_is_the_default(tiny_model: Path) -> None:
    embeddings = load(tiny_model)
    assert Scoring.from_record(embeddings.meta) == Scoring(RECOMMEND_SCORE, 2.0, "similar")  # the fixture's
    assert (
        Scoring.from_record({})
        == Scoring(RECOMMEND_SCORE, HYBRID_WEIGHT, HYBRID_BASE)
        == Scoring("hybrid", 4.0, "next")
    )
    embeddings.meta["scoring"] = {"score": "next", "hybrid_weight": 5.0, "hybrid_base": "next"}
    scorer = make_scorer(open_parts(embeddings, tiny_model))
    assert (scorer.mode, scorer.weight, scorer.base) == ("next", 5.0, "next")
    chosen = make_scorer(open_parts(embeddings, tiny_model), "hybrid", hybrid_weight=1.0)
    assert (chosen.mode, chosen.weight, chosen.base) == ("hybrid", 1.0, "next")
    assert chosen.describe() == "hybrid (next, weight 1)"


def test_bad_scoring_values(parts: ScoringParts) -> None:
    with pytest.raises(ConfigError, match="--score 'best' is unknown: use one of similar, next, hybrid"):
        make_scorer(parts, "best")
    with pytest.raises(ConfigError, match=r"--hybrid-weight -1\.0 is invalid"):
        make_scorer(parts, "hybrid", hybrid_weight=-1.0)
    with pytest.raises(ConfigError, match="--hybrid-weight nan is invalid"):
        make_scorer(parts, "hybrid", hybrid_weight=float("nan"))
    with pytest.raises(ConfigError, match="--hybrid-base 'both' is unknown: use one of similar, next"):
        make_scorer(parts, "hybrid", hybrid_base="both")


# --- batch paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["next", "hybrid"])
def test_batch_recommend_matches_one_history_at_a_time(tiny_model: Path, tmp_path: Path, mode: str) -> None:
    events = tmp_path / "events.csv"
    events.write_text("user_id,item_id,ts\nu1,woman,30\nu2,apple,5\nu1,man,10\nu1,king,20\nu2,pear,6\n")
    embeddings = load(tiny_model)
    scorer = make_scorer(open_parts(embeddings, tiny_model), mode)
    out = tmp_path / "c.csv"
    recommend_events(embeddings, [str(events)], out, columns=EventColumns(time_col="ts"), k=3, decay=0.5,
                     scorer=scorer, cells=8)  # fmt: skip
    rows = [line.split(",") for line in out.read_text().splitlines()[1:]]
    for user, history in (("u1", ["man", "king", "woman"]), ("u2", ["apple", "pear"])):
        want = recommend(embeddings, history, 3, decay=0.5, scorer=scorer).neighbours
        got = [r for r in rows if r[0].strip('"') == user]
        assert [r[2].strip('"') for r in got] == [n.item for n in want]
        assert [float(r[3]) for r in got] == pytest.approx([n.score for n in want], abs=1e-5)


@pytest.mark.parametrize("mode", ["next", "hybrid"])
def test_item_table_in_each_mode_matches_similar(tiny_model: Path, tmp_path: Path, mode: str) -> None:
    embeddings = load(tiny_model)
    scorer = make_scorer(open_parts(embeddings, tiny_model), mode)
    out = tmp_path / "n.csv"
    neighbour_table(embeddings, out, k=3, cells=16, scorer=scorer)
    rows = [line.replace('"', "").split(",") for line in out.read_text().splitlines()[1:]]
    want = scorer.similar(IDS, 3)
    assert [(r[0], r[2]) for r in rows] == [(n.query, n.item) for n in want]
    assert [float(r[3]) for r in rows] == pytest.approx([n.score for n in want], abs=1e-5)


# --- what a mode needs -----------------------------------------------------------------------------


def test_a_spark_model_has_no_output_vectors_or_transitions(tiny_model: Path) -> None:
    meta = json.loads((tiny_model / "model.json").read_text())
    meta["engine"] = "spark"
    (tiny_model / "model.json").write_text(json.dumps(meta))
    (tiny_model / "syn1neg.npy").unlink()
    (tiny_model / "transitions.npz").unlink()
    parts = open_parts(load(tiny_model), tiny_model)
    with pytest.raises(
        ModelError, match=r"--score next needs output vectors, and model .* was trained with engine 'spark'"
    ):
        make_scorer(parts, "next")
    with pytest.raises(
        ModelError, match=r"--score hybrid needs transitions .* engine 'spark', which counts none"
    ):
        make_scorer(parts, "hybrid")
    assert make_scorer(parts, "similar").mode == "similar"


def test_a_model_from_before_transitions_says_how_to_get_them(tiny_model: Path) -> None:
    (tiny_model / "transitions.npz").unlink()
    parts = open_parts(load(tiny_model), tiny_model)
    with pytest.raises(
        ModelError,
        match=r"lacks \(it is older than score modes\): retrain it, or build them with 'item2vec update",
    ):
        make_scorer(parts, "hybrid")
    assert make_scorer(parts, "next").mode == "next"
    (tiny_model / "syn1neg.npy").unlink()
    with pytest.raises(ModelError, match=r"--score next needs output vectors \(syn1neg.npy\), which model"):
        make_scorer(open_parts(load(tiny_model), tiny_model), "next")


def test_an_in_memory_model_without_parts(tiny: Embeddings) -> None:
    parts = ScoringParts(tiny)
    with pytest.raises(ModelError, match="needs output vectors, which this in-memory model was not given"):
        make_scorer(parts, "next")
    with pytest.raises(ModelError, match="needs transitions, which this in-memory model was not given"):
        make_scorer(parts, "hybrid")


def test_inferred_items_have_zero_output_vectors(tiny_model: Path) -> None:
    meta = json.loads((tiny_model / "model.json").read_text())
    meta["features"] = {"inferred_items": 2}
    del meta["model_id"]  # a model put together by hand, as before models had an identity
    (tiny_model / "model.json").write_text(json.dumps(meta))
    np.save(tiny_model / "syn1neg.npy", tiny_output()[:6])
    parts = open_parts(load(tiny_model), tiny_model)
    output = parts.output_vectors("next")
    assert output.shape == (8, 4) and not output[6:].any()
    answer = make_scorer(parts, "next").similar(["apple"], 8)
    assert {n.item: n.score for n in answer}["pear"] == 0.0
    np.save(tiny_model / "syn1neg.npy", tiny_output()[:5])
    with pytest.raises(ModelError, match=r"syn1neg.npy is float32 \(5, 4\), expected \(6, 4\); retrain it"):
        make_scorer(open_parts(load(tiny_model), tiny_model), "next")


# --- the commands ----------------------------------------------------------------------------------


def test_cli_similar_by_each_mode(tiny_model: Path) -> None:
    result = run("similar", tiny_model, "apple", "-k", "2", "--score", "next", "-f", "csv")
    assert result.exit_code == 0, result.output
    assert (
        result.stdout
        == "query,rank,item,score,name\napple,1,king,0.980581,King\napple,2,pear,0.447214,Green Pear\n"
    )
    default = run("similar", tiny_model, "apple", "-k", "2", "-f", "csv")
    assert default.stdout.splitlines()[1:] == [
        "apple,1,pear,0.980581,Green Pear",
        "apple,2,plum,0.940721,Plum (dark)",
    ]
    hybrid = run(
        "similar", tiny_model, "apple", "-k", "1", "--score", "hybrid", "--hybrid-weight", "100", "-f", "csv"
    )
    assert hybrid.exit_code == 0 and hybrid.stdout.splitlines()[1].startswith("apple,1,pear,")


def test_cli_recommend_defaults_to_the_recommend_score(tiny_model: Path) -> None:
    default = run("recommend", tiny_model, "--history", "queen", "apple", "king", "-k", "3", "-f", "csv")
    chosen = run("recommend", tiny_model, "--history", "queen", "apple", "king", "-k", "3", "-f", "csv",
                 "--score", RECOMMEND_SCORE)  # fmt: skip
    assert default.exit_code == 0, default.output
    assert default.stdout == chosen.stdout
    want = ranked(expected(["queen", "apple", "king"], "hybrid"), {"queen", "apple", "king"}, 3)
    assert [line.split(",")[1] for line in chosen.stdout.splitlines()[1:]] == [i for i, _ in want]


def test_cli_errors_name_the_mode_and_the_fix(tiny_model: Path) -> None:
    (tiny_model / "transitions.npz").unlink()
    result = run("recommend", tiny_model, "--history", "apple")
    assert result.exit_code == 1
    assert "Error: --score hybrid needs transitions (transitions.npz), which model" in result.output
    assert "or use --score similar or next" in result.output
    assert run("recommend", tiny_model, "--history", "apple", "--score", "similar").exit_code == 0
    (tiny_model / "syn1neg.npy").unlink()
    result = run("similar", tiny_model, "apple", "--score", "next")
    assert result.exit_code == 1
    assert "Error: --score next needs output vectors (syn1neg.npy)" in result.output
    bad = run("similar", tiny_model, "apple", "--score", "best")
    assert bad.exit_code == 2 and "'best' is not one of 'similar', 'next', 'hybrid'" in bad.output
    negative = run("similar", tiny_model, "apple", "--hybrid-weight", "-1")
    assert negative.exit_code == 2 and "-1.0 is not in the range x>=0" in negative.output


# --- --approx --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["similar", "next", "hybrid"])
@pytest.mark.parametrize("base", ["similar", "next"])
def test_approx_matches_exact_in_every_mode(tiny_model: Path, mode: str, base: str) -> None:
    pytest.importorskip("faiss")
    assert run("index", tiny_model, "--kind", "flat").exit_code == 0
    exact = make_scorer(open_parts(load(tiny_model), tiny_model), mode, hybrid_base=base)
    approx = approx_scorer(tiny_model, mode, hybrid_base=base)
    want, got = exact.similar(IDS, 3), approx.similar(IDS, 3)
    assert [n.score for n in got] == pytest.approx([n.score for n in want], abs=1e-5)
    # Items tied on a score may come in either order from an index; all others must agree.
    full = [(n.query, round(n.score, 5)) for n in exact.similar(IDS, 7)]
    tied = {key for key in full if full.count(key) > 1}
    assert [(n.query, n.item) for n in got if (n.query, round(n.score, 5)) not in tied] == [
        (n.query, n.item) for n in want if (n.query, round(n.score, 5)) not in tied
    ]
    history = ["queen", "apple", "king"]
    fast = recommend(approx.embeddings, history, 3, scorer=approx).neighbours
    assert [n.item for n in fast] == [
        n.item for n in recommend(exact.embeddings, history, 3, scorer=exact).neighbours
    ]


def test_approx_hybrid_adds_the_transitions_to_the_shortlist(tiny_model: Path) -> None:
    pytest.importorskip("faiss")
    assert run("index", tiny_model, "--kind", "flat", "--rerank", "1").exit_code == 0
    # king's shortlist of 1 + 1 is prince and man by cosine; king -> queen (5) comes from the transitions.
    approx = approx_scorer(tiny_model, "hybrid", hybrid_weight=100.0)
    assert [n.item for n in approx.similar(["king"], 1)] == ["queen"]


def test_cli_approx_next_needs_the_output_index(tiny_model: Path) -> None:
    pytest.importorskip("faiss")
    assert run("index", tiny_model, "--kind", "flat").exit_code == 0
    (tiny_model / "index-next.faiss").unlink()
    result = run("similar", tiny_model, "apple", "--score", "next", "--approx")
    assert result.exit_code == 1
    assert (
        "has no index of its output vectors (for --score next): build one with 'item2vec index"
        in result.output
    )
    assert run("similar", tiny_model, "apple", "--score", "hybrid", "--approx").exit_code == 0


def test_cli_errors_for_spark_models_and_corrupt_parts(tiny_model: Path, tmp_path: Path) -> None:
    meta = json.loads((tiny_model / "model.json").read_text())
    spark = tmp_path / "spark"
    spark.mkdir()
    for name in ("vectors.npy", "vocab.tsv", "items.tsv", "dropped.tsv"):
        (spark / name).write_bytes((tiny_model / name).read_bytes())
    (spark / "model.json").write_text(json.dumps({**meta, "engine": "spark"}))
    result = run("recommend", spark, "--history", "apple", "--score", "next")
    assert result.exit_code == 1
    assert result.output.startswith("Error: --score next needs output vectors, and model")
    assert "trained with engine 'spark', which keeps none: use --score similar" in result.output
    result = run("similar", spark, "apple", "--score", "hybrid")
    assert result.exit_code == 1 and "engine 'spark', which counts none: use --score similar" in result.output
    (tiny_model / "transitions.npz").write_bytes(b"PK\x03\x04 not really")
    result = run("recommend", tiny_model, "--history", "apple")
    assert result.exit_code == 1
    assert "Error: transitions file" in result.output and "is corrupt" in result.output
    assert "retrain the model to rebuild it" in result.output
    events = tmp_path / "new.csv"
    events.write_text("user_id,item_id\nu,apple\nu,pear\n")
    (tiny_model / "model.json").write_text(json.dumps({**meta, "engine": "gensim"}))  # updatable
    update = run("update", tiny_model, events, "-o", tmp_path / "m2")
    assert update.exit_code == 1 and "Error: transitions file" in update.output


def test_one_history_transitions_are_scipys_product_bit_for_bit() -> None:
    """The one-history route (numpy) gives exactly the sparse product the batch computes: the
    same columns (exact zeros dropped) and the same float32 sums, repeated items included."""
    import scipy.sparse as sp

    from item2vec.query.scoring import one_transition_row, query_weights, weight_matrix

    rng = np.random.default_rng(3)
    n = 500
    transitions = sp.random(n, n, density=0.05, format="csr", dtype=np.float32, random_state=4)
    transitions.data = rng.choice(np.array([0.1, 0.3, 1.7, 2.5, -2.5], dtype=np.float32), transitions.nnz)
    for _ in range(50):
        history = list(rng.integers(0, n, rng.integers(1, 8)))
        history += history[:1]  # a repeat
        weights = [0.7 ** (len(history) - 1 - a) for a in range(len(history))]
        one = query_weights(n, [history], [weights])
        want = sp.csr_matrix((weights, (np.zeros(len(history), np.int64), history)), shape=(1, n))
        want.sum_duplicates()
        np.testing.assert_array_equal(one.indices, want.indices)
        np.testing.assert_array_equal(one.data, want.data)
        product = (one.astype("float32") @ transitions).tocsr()
        product.sum_duplicates()
        product.sort_indices()
        got = one_transition_row(one, transitions)
        np.testing.assert_array_equal(got.indices, product.indices)
        np.testing.assert_array_equal(got.data, product.data)
        assert got.data.dtype == product.data.dtype
    many = weight_matrix(
        np.array([1, 0, 1, 1]), np.array([4, 2, 4, 1]), np.array([0.5, 1.0, 0.25, 2.0]), (3, 6)
    )
    np.testing.assert_array_equal(many.toarray()[:2], [[0, 0, 1, 0, 0, 0], [0, 2, 0, 0, 0.75, 0]])
    assert many.indptr.tolist() == [0, 1, 3, 3]
