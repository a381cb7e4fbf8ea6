from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli
from item2vec.errors import ConfigError, EmptyResultError, InputError, OutputExistsError
from item2vec.model.embeddings import Embeddings
from item2vec.model.store import load
from item2vec.query.batch import neighbour_table, recommend_events
from item2vec.query.histories import EventColumns, event_columns
from item2vec.query.neighbours import similar
from item2vec.query.recommend import recommend
from tests.conftest import TINY_VECTORS


def run(*args: str | Path, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def expected_ranking(history: list[str], decay: float, exclude: set[str]) -> list[str]:
    """The decayed mean computed independently, from the hand-placed vectors."""
    unit = {item: np.array(v) / np.linalg.norm(v) for item, v in TINY_VECTORS.items()}
    weights = [decay**age for age in range(len(history) - 1, -1, -1)]
    query = sum(w * unit[item] for w, item in zip(weights, history))
    scores = {
        item: float(u @ query / np.linalg.norm(query)) for item, u in unit.items() if item not in exclude
    }
    return sorted(scores, key=lambda item: -scores[item])


@pytest.fixture
def events(tmp_path: Path) -> Path:
    """Three users, rows out of time order; u3's only item is not in the model."""
    path = tmp_path / "events.csv"
    rows = [
        ("u1", "woman", 30),
        ("u2", "apple", 5),
        ("u1", "man", 10),
        ("u3", "nope", 1),
        ("u1", "king", 20),
        ("u2", "nope", 6),
    ]
    path.write_text("user_id,item_id,ts\n" + "".join(f"{u},{i},{t}\n" for u, i, t in rows))
    return path


# --- one history -----------------------------------------------------------------------------------


def test_recommend_ranks_by_the_decayed_mean_and_skips_the_seen(tiny: Embeddings) -> None:
    found = recommend(tiny, ["man", "woman"], 3, decay=0.5)
    assert [n.item for n in found.neighbours] == expected_ranking(["man", "woman"], 0.5, {"man", "woman"})[:3]
    assert found.used == ["man", "woman"] and found.notes == []
    scores = [n.score for n in found.neighbours]
    assert scores == sorted(scores, reverse=True)


def test_keep_seen_and_history_size(tiny: Embeddings) -> None:
    kept = recommend(tiny, ["apple", "man", "woman"], 8, decay=0.5, keep_seen=True)
    assert [n.item for n in kept.neighbours] == expected_ranking(["apple", "man", "woman"], 0.5, set())
    recent = recommend(tiny, ["apple", "man", "woman"], 8, decay=0.5, history_size=2)
    assert recent.used == ["man", "woman"]
    # apple is out of the query, but it was seen, so it is still left out
    assert [n.item for n in recent.neighbours] == expected_ranking(
        ["man", "woman"], 0.5, {"apple", "man", "woman"}
    )


def test_decay_one_is_a_plain_mean(tiny: Embeddings) -> None:
    found = recommend(tiny, ["king", "queen"], 1, decay=1.0)
    assert [n.item for n in found.neighbours] == expected_ranking(["king", "queen"], 1.0, {"king", "queen"})[
        :1
    ]


def test_unknown_history_items_are_skipped_with_a_note(tiny: Embeddings) -> None:
    found = recommend(tiny, ["nope", "apple"], 2)
    assert [n.item for n in found.neighbours] == ["pear", "plum"]
    assert found.notes[0].startswith("skipped: item 'nope' is not in the model (8 items")
    with pytest.raises(EmptyResultError, match="none of the 1 query items is in the model"):
        recommend(tiny, ["nope"])


def test_bad_decay_and_history_size(tiny: Embeddings) -> None:
    with pytest.raises(ConfigError, match=r"--decay 0 is invalid: use a weight in \(0, 1\]"):
        recommend(tiny, ["king"], decay=0)
    with pytest.raises(ConfigError, match="--history-size 0 is invalid"):
        recommend(tiny, ["king"], history_size=0)


def test_cli_history_table(tiny_model: Path) -> None:
    result = run("recommend", tiny_model, "--history", "apple", "pear", "-k", "2", "--score", "similar")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "rank  item     score  name\n"
        "----  ------  ------  -----------\n"
        "   1  plum    0.9344  Plum (dark)\n"
        "   2  prince  0.1679\n"
    )


def test_cli_history_from_stdin_with_unknown_items(tiny_model: Path) -> None:
    result = run(
        "recommend", tiny_model, "--history", "-", "-k", "1", "-f", "csv", "--score", "similar",
        input="nope\napple\npear\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == "rank,item,score,name\n1,plum,0.93438,Plum (dark)\n"
    assert "skipped: item 'nope' is not in the model" in result.stderr


def test_cli_needs_a_history_or_events(tiny_model: Path) -> None:
    result = run("recommend", tiny_model)
    assert result.exit_code == 2
    assert "give the history: --history ITEM... ('-' reads stdin), or --events FILE" in result.output


# --- every user of a log ---------------------------------------------------------------------------


def read_rows(path: Path) -> list[dict[str, object]]:
    return pq.read_table(path).to_pylist() if path.suffix == ".parquet" else list(csv.DictReader(path.open()))


def test_batch_matches_one_history_at_a_time(tiny_model: Path, events: Path, tmp_path: Path) -> None:
    embeddings = load(tiny_model)
    out = tmp_path / "candidates.parquet"
    columns = EventColumns(time_col="ts")
    summary = recommend_events(embeddings, [str(events)], out, columns=columns, k=3, decay=0.5)
    assert (summary.queries, summary.rows, summary.skipped, summary.events) == (2, 6, 1, 6)
    rows = read_rows(out)
    assert pq.read_table(out).schema.names == ["user", "rank", "item", "score", "name"]
    for user, history in (("u1", ["man", "king", "woman"]), ("u2", ["apple"])):
        want = recommend(embeddings, history, 3, decay=0.5)
        got = [r for r in rows if r["user"] == user]
        assert [(r["rank"], r["item"]) for r in got] == [(n.rank, n.item) for n in want.neighbours]
        assert [r["score"] for r in got] == pytest.approx([n.score for n in want.neighbours], abs=1e-6)


def test_batch_orders_by_time_and_uses_history_size(tiny_model: Path, events: Path, tmp_path: Path) -> None:
    embeddings = load(tiny_model)
    out = tmp_path / "c.parquet"
    recommend_events(embeddings, [str(events)], out, columns=EventColumns(time_col="ts"), k=8, history_size=1)
    u1 = [r["item"] for r in read_rows(out) if r["user"] == "u1"]
    # the latest of u1's items is woman (ts 30), not king (last in the file)
    assert u1 == expected_ranking(["woman"], 0.7, {"man", "king", "woman"})


def test_batch_results_do_not_depend_on_the_batch_size(
    tiny_model: Path, events: Path, tmp_path: Path
) -> None:
    embeddings = load(tiny_model)
    one, many = tmp_path / "one.parquet", tmp_path / "many.parquet"
    columns = EventColumns(time_col="ts")
    recommend_events(embeddings, [str(events)], one, columns=columns, k=4, keep_seen=True)
    recommend_events(embeddings, [str(events)], many, columns=columns, k=4, keep_seen=True, cells=8)
    ones, manys = read_rows(one), read_rows(many)
    assert [(r["user"], r["rank"], r["item"]) for r in ones] == [
        (r["user"], r["rank"], r["item"]) for r in manys
    ]
    assert [r["score"] for r in ones] == pytest.approx([r["score"] for r in manys], abs=1e-6)
    assert {r["item"] for r in read_rows(one) if r["user"] == "u2"} >= {"apple"}  # kept seen


def test_cli_batch_writes_csv_and_reports(tiny_model: Path, events: Path, tmp_path: Path) -> None:
    out = tmp_path / "candidates.csv"
    args: list[str | Path] = [
        "recommend",
        tiny_model,
        "--events",
        events,
        "--time-col",
        "ts",
        "-k",
        "2",
        "-o",
        out,
    ]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert f"wrote 4 rows for 2 users to {out}" in result.stderr
    assert "1 users had no item in the model and got no rows" in result.stderr
    assert out.read_text().splitlines()[0] == '"user","rank","item","score","name"'
    again = run(*args)
    assert again.exit_code == 1 and "already exists: use --force to overwrite it" in again.output
    assert run(*args, "--force").exit_code == 0


def test_cli_batch_usage_errors(tiny_model: Path, events: Path) -> None:
    result = run("recommend", tiny_model, "--events", events, "--history", "king")
    assert result.exit_code == 2 and "--events takes no ITEM or --history" in result.output
    bad = run("recommend", tiny_model, "--events", events, "-o", "x.txt")
    assert bad.exit_code == 1
    assert "has no table suffix: name it .parquet, .csv, .tsv or .jsonl" in bad.output
    alone = run("recommend", tiny_model, "--history", "king", "--user-col", "u", "-o", "x.csv")
    assert alone.exit_code == 2
    assert "Error: --user-col, -o apply to --events only" in alone.output


def test_batch_errors(tiny_model: Path, tmp_path: Path, events: Path) -> None:
    embeddings = load(tiny_model)
    cold = tmp_path / "cold.csv"
    cold.write_text("user_id,item_id\nu1,nope\nu2,never\n")
    with pytest.raises(EmptyResultError, match=r"none of the 2 users in .* has an item that is in the model"):
        recommend_events(embeddings, [str(cold)], tmp_path / "o.csv", columns=EventColumns())
    with pytest.raises(InputError, match="no column 'customer'"):
        recommend_events(
            embeddings, [str(events)], tmp_path / "o.csv", columns=EventColumns(user_col="customer")
        )
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(OutputExistsError, match="is a directory"):
        recommend_events(embeddings, [str(events)], tmp_path / "dir.csv", columns=EventColumns())


def test_event_columns_need_one_group_column() -> None:
    with pytest.raises(ConfigError, match="--events needs the column of users"):
        EventColumns(user_col=None)
    with pytest.raises(ConfigError, match="give --user-col u or --session-col s, not both"):
        EventColumns(user_col="u", session_col="s")
    meta = {"input": {"session": {"user_col": None, "session_col": "InvoiceNo", "item_col": "sku"}}}
    assert event_columns(meta) == EventColumns(user_col=None, session_col="InvoiceNo", item_col="sku")
    assert event_columns(meta, user_col="c").user_col == "c"
    assert event_columns({}) == EventColumns()


def test_item_column_defaults_to_the_models(trained_like: Path, tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text("customer,sku\nc1,apple\n")
    out = tmp_path / "o.tsv"
    result = run("recommend", trained_like, "--events", log, "--user-col", "customer", "-k", "1", "-o", out,
                 "--score", "similar")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.read_text() == "user\trank\titem\tscore\tname\nc1\t1\tpear\t0.9805807\tGreen Pear\n"


@pytest.fixture
def trained_like(tiny_model: Path) -> Path:
    """The tiny model, recorded as trained on a log whose item column is 'sku'."""
    import json

    meta = json.loads((tiny_model / "model.json").read_text())
    meta["input"] = {"session": {"item_col": "sku", "user_col": "customer", "time_col": None}}
    (tiny_model / "model.json").write_text(json.dumps(meta))
    return tiny_model


# --- the item-to-item table ------------------------------------------------------------------------


def test_similar_all_matches_similar(tiny_model: Path, tmp_path: Path) -> None:
    embeddings = load(tiny_model)
    out = tmp_path / "neighbours.parquet"
    summary = neighbour_table(embeddings, out, k=3, cells=16)  # two items per batch
    assert (summary.queries, summary.rows) == (8, 24)
    rows = read_rows(out)
    want = similar(embeddings, embeddings.ids, 3)
    assert [(r["query"], r["rank"], r["item"]) for r in rows] == [(n.query, n.rank, n.item) for n in want]
    assert [r["score"] for r in rows] == pytest.approx([n.score for n in want], abs=1e-6)


def test_cli_similar_all_exact_and_approx_agree(tiny_model: Path, tmp_path: Path) -> None:
    pytest.importorskip("faiss")
    exact, approx = tmp_path / "exact.csv", tmp_path / "approx.csv"
    result = run("similar", tiny_model, "--all", "-k", "2", "-o", exact)
    assert result.exit_code == 0, result.output
    assert f"wrote 16 rows for 8 items to {exact}" in result.stderr
    assert run("index", tiny_model, "--kind", "flat").exit_code == 0
    assert run("similar", tiny_model, "--all", "-k", "2", "-o", approx, "--approx").exit_code == 0
    assert [r["item"] for r in read_rows(exact)] == [r["item"] for r in read_rows(approx)]
    assert read_rows(exact)[:2] == [
        {"query": "king", "rank": "1", "item": "prince", "score": "0.9561829", "name": ""},  # as similar king
        {"query": "king", "rank": "2", "item": "man", "score": "0.70710677", "name": ""},
    ]


def test_cli_similar_all_usage(tiny_model: Path) -> None:
    result = run("similar", tiny_model, "king", "--all", "-o", "x.csv")
    assert result.exit_code == 2 and "--all takes no ITEM or --title" in result.output
    result = run("similar", tiny_model, "king", "-o", "x.csv")
    assert result.exit_code == 2
    assert "-o applies to --all only: for ITEM queries redirect stdout" in result.output
    result = run("similar", tiny_model, "--all", "-o", "x.parquet", "-f", "csv")
    assert result.exit_code == 2
    assert "-f csv does not match -o x.parquet (written as parquet, by its suffix)" in result.output


def test_batch_with_an_index_matches_exact(tiny_model: Path, events: Path, tmp_path: Path) -> None:
    pytest.importorskip("faiss")
    from item2vec.query.scoring import make_scorer, open_parts
    from item2vec.query.searcher import open_searcher

    assert run("index", tiny_model, "--kind", "flat").exit_code == 0
    exact, approx = tmp_path / "exact.parquet", tmp_path / "approx.parquet"
    columns = EventColumns(time_col="ts")
    recommend_events(load(tiny_model), [str(events)], exact, columns=columns, k=3)
    indexed = load(tiny_model)
    scorer = make_scorer(open_parts(indexed, None), "similar", searcher=open_searcher(tiny_model, indexed))
    recommend_events(indexed, [str(events)], approx, columns=columns, k=3, scorer=scorer)
    assert [(r["user"], r["item"]) for r in read_rows(exact)] == [
        (r["user"], r["item"]) for r in read_rows(approx)
    ]
    fast = recommend(indexed, ["man", "woman"], 3, scorer=scorer).neighbours
    slow = recommend(load(tiny_model), ["man", "woman"], 3).neighbours
    assert [n.item for n in fast] == [n.item for n in slow]
    assert [n.score for n in fast] == pytest.approx([n.score for n in slow], abs=1e-6)


def plane_model(path: Path, n: int = 3000, seed: int = 4) -> list[list[str]]:
    """A model whose every cosine with a history's query is exact, whichever way BLAS sums it: the
    items users saw lie in the plane of the first two axes (entries 0 or ±1), so a query has at
    most two nonzero entries, and every item's vectors have entries 0 or ±1 (length 1 or 2).
    Returns histories (oldest first) of 1 to 6 such items, repeats included."""
    from item2vec.model.store import save
    from item2vec.model.transitions import TransitionMatrix

    rng = np.random.default_rng(seed)
    signs = np.array(np.meshgrid(*[[-1, 1]] * 4)).reshape(4, -1).T
    patterns = np.vstack([np.eye(4), -np.eye(4), signs]).astype(np.float32)
    plane = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [-1, 0, 0, 0], [1, 1, 0, 0], [1, -1, 0, 0]], np.float32)
    vectors = patterns[rng.integers(0, len(patterns), n)]
    vectors[: n // 3] = plane[rng.integers(0, len(plane), n // 3)]
    followers = (np.arange(n)[:, None] + rng.integers(1, 40, (n, 4)).cumsum(axis=1)) % n
    transitions = TransitionMatrix(np.arange(0, 4 * n + 1, 4, dtype=np.int64), followers.ravel().astype(np.int32),
                                   np.tile(np.array([3, 2, 1, 0.5], dtype=np.float32), n), n, steps=10, keep=100)  # fmt: skip
    ids = [f"i{r}" for r in range(n)]
    save(Embeddings(ids=ids, vectors=vectors, counts=np.ones(n, dtype=np.int64)), path,
         extra={"syn1neg": patterns[rng.integers(0, len(patterns), n)]}, transitions=transitions)  # fmt: skip
    histories = [[ids[r] for r in rng.integers(0, n // 3, rng.integers(1, 7))] for _ in range(30)]
    histories[0] = [ids[0], ids[1], ids[0]]  # a repeat: its weights are summed
    return histories


@pytest.mark.parametrize("mode", ["similar", "next", "hybrid"])
def test_a_batch_of_histories_gets_exactly_what_each_history_alone_gets(tmp_path: Path, mode: str) -> None:
    """recommend --events gives each user, bit for bit, what recommend gives their history alone
    (the same query, summed in the same order; the same seen items; ties broken alike)."""
    from item2vec.query.scoring import make_scorer, open_parts

    histories = plane_model(tmp_path / "m")
    log = tmp_path / "events.csv"
    lines = [f"u{u},{item},{t}\n" for u, h in enumerate(histories) for t, item in enumerate(h)]
    log.write_text("user_id,item_id,ts\n" + "".join(reversed(lines)))  # out of time order
    embeddings = load(tmp_path / "m")
    scorer = make_scorer(open_parts(embeddings, tmp_path / "m"), mode)
    out = tmp_path / "c.parquet"
    recommend_events(embeddings, [str(log)], out, columns=EventColumns(time_col="ts"), k=12, scorer=scorer,
                     decay=0.5, history_size=4, cells=7 * len(embeddings))  # fmt: skip  # blocks of 7 users
    rows = read_rows(out)
    for u, history in enumerate(histories):
        alone = recommend(embeddings, history, 12, scorer=scorer, decay=0.5, history_size=4).neighbours
        got = [r for r in rows if r["user"] == f"u{u}"]
        assert [(r["rank"], r["item"]) for r in got] == [(n.rank, n.item) for n in alone], (u, history)
        assert [r["score"] for r in got] == [np.float32(n.score) for n in alone], (u, history)
