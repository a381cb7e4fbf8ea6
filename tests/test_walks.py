from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from item2vec.api.errors import python_terms
from item2vec.cli import cli
from item2vec.errors import ConfigError, EmptyResultError
from item2vec.training.walks import ItemGraph, Walker, WalkOptions, build_graph, walk_codes, walk_corpus

FAST = ["--dim", "12", "--epochs", "5", "--min-count", "1", "--sample", "0", "--workers", "1", "-q"]


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def random_graph(seed: int, *, directed: bool, nodes: int = 30, edges: int = 90) -> ItemGraph:
    rng = np.random.default_rng(seed)
    return ItemGraph.from_edges(
        nodes, rng.integers(0, nodes, edges), rng.integers(0, nodes, edges), directed=directed
    )


def pairs(walks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every consecutive (from, to) pair of the walks, -1 padding excluded."""
    src, dst = walks[:, :-1].ravel(), walks[:, 1:].ravel()
    keep = dst >= 0
    return src[keep], dst[keep]


# --- the graph -----------------------------------------------------------------------------------


def test_build_graph_counts_transitions() -> None:
    graph = build_graph([["a", "b", "c"], ["a", "b"], ["c", "a"], ["d"]])
    assert graph.ids == ["a", "b", "c", "d"]
    assert graph.indptr.tolist() == [0, 1, 2, 3, 3]
    assert graph.indices.tolist() == [1, 2, 0]
    assert graph.weights.tolist() == [2, 1, 1]
    assert (graph.nodes, graph.edges) == (4, 3)


def test_build_graph_undirected_mirrors_edges_and_drops_self_loops() -> None:
    graph = build_graph([["a", "a", "b"], ["b", "c"]], directed=False)
    assert graph.ids == ["a", "b", "c"]
    assert [graph.neighbours(i).tolist() for i in range(3)] == [[1], [0, 2], [1]]
    assert graph.weights.tolist() == [1, 1, 1, 1]


# --- walks respect the graph ---------------------------------------------------------------------


@pytest.mark.parametrize("directed", [True, False])
@pytest.mark.parametrize("method", ["deepwalk", "node2vec"])
def test_every_step_of_a_walk_is_an_edge(directed: bool, method: str) -> None:
    graph = random_graph(3, directed=directed)
    options = WalkOptions(method=method, walks_per_node=5, walk_length=12, p=0.5, q=2.0, directed=directed)  # type: ignore[arg-type]
    walks = np.concatenate(list(walk_codes(graph, options, seed=7)))
    src, dst = pairs(walks)
    assert len(src) > 500
    assert Walker(graph).has_edge(src, dst).all()
    # -1 only after a dead end: once a walk stops it stays stopped, and only at a node with no out-edge
    stopped = walks < 0
    assert (stopped[:, :-1] <= stopped[:, 1:]).all()
    lengths = (~stopped).sum(axis=1)
    ends = walks[np.arange(len(walks)), lengths - 1][lengths < options.walk_length]
    assert (np.diff(graph.indptr)[ends] == 0).all()


def test_directed_walks_never_go_back_and_undirected_do() -> None:
    chain = [["a", "b", "c"]]
    directed = walk_corpus(chain, WalkOptions(walks_per_node=5, walk_length=6, mix="walks"), seed=1)
    assert sorted(set(map(tuple, directed.sequences))) == [("a", "b", "c"), ("b", "c")]
    undirected = walk_corpus(
        chain, WalkOptions(walks_per_node=5, walk_length=6, directed=False, mix="walks"), seed=1
    )
    assert all(len(w) == 6 for w in undirected.sequences)
    assert any(w[i : i + 3] == ["c", "b", "a"] for w in undirected.sequences for i in range(4))


def test_deepwalk_steps_follow_edge_weights() -> None:
    graph = ItemGraph.from_edges(4, np.array([0] * 10), np.array([1] + [2] * 3 + [3] * 6))
    assert graph.weights.tolist() == [1, 3, 6]
    walks = Walker(graph).walk(np.zeros(40_000, dtype=np.int64), 2, np.random.default_rng(5))
    shares = np.bincount(walks[:, 1], minlength=4)[1:] / len(walks)
    assert shares == pytest.approx([0.1, 0.3, 0.6], abs=0.015)


def test_weighted_steps_without_the_lookup_table_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("item2vec.training.walks.TABLE_LIMIT", 0)
    graph = ItemGraph.from_edges(4, np.array([0] * 10), np.array([1] + [2] * 3 + [3] * 6))
    walker = Walker(graph)
    assert walker.table is None
    walks = walker.walk(np.zeros(40_000, dtype=np.int64), 2, np.random.default_rng(5))
    shares = np.bincount(walks[:, 1], minlength=4)[1:] / len(walks)
    assert shares == pytest.approx([0.1, 0.3, 0.6], abs=0.015)


# --- node2vec's p and q --------------------------------------------------------------------------

# Undirected: t - v, v - near, v - far, t - near. Standing on v having come from t, the three
# moves are back (to t), near (a neighbour of t) and far (outward), each of weight 1, so the
# second-order probabilities are proportional to 1/p, 1 and 1/q.
T, V, NEAR, FAR = 0, 1, 2, 3
SQUARE = ItemGraph.from_edges(4, np.array([T, V, V, T]), np.array([V, NEAR, FAR, NEAR]), directed=False)


def second_moves(p: float, q: float) -> np.ndarray:
    walker = Walker(SQUARE, p=p, q=q, second_order=True)
    walks = walker.walk(np.full(30_000, T, dtype=np.int64), 3, np.random.default_rng(11))
    via_v = walks[walks[:, 1] == V]
    return np.bincount(via_v[:, 2], minlength=4)[[T, NEAR, FAR]] / len(via_v)


@pytest.mark.parametrize(
    ("p", "q", "expected"),
    [
        (1.0, 1.0, [1 / 3, 1 / 3, 1 / 3]),
        (0.25, 1.0, [4 / 6, 1 / 6, 1 / 6]),  # low p: return more
        (1.0, 0.25, [1 / 6, 1 / 6, 4 / 6]),  # low q: move outward more
        (4.0, 4.0, [1 / 6, 4 / 6, 1 / 6]),  # high p and q: stay near where the walk was
    ],
)
def test_node2vec_bias_shows_in_the_moves(p: float, q: float, expected: list[float]) -> None:
    assert second_moves(p, q) == pytest.approx(expected, abs=0.025)


# --- determinism, corpus, record -----------------------------------------------------------------


def test_walks_repeat_for_a_seed_and_change_with_it() -> None:
    rng = random.Random(0)
    sessions = [[str(rng.randrange(20)) for _ in range(8)] for _ in range(60)]
    options = WalkOptions(method="node2vec", p=0.5, q=2.0, walks_per_node=3, walk_length=10)
    first = walk_corpus(sessions, options, seed=4).sequences
    assert first == walk_corpus(sessions, options, seed=4).sequences
    assert first != walk_corpus(sessions, options, seed=5).sequences


def test_walk_corpus_mix_and_record() -> None:
    sessions = [["a", "b", "c"], ["c", "a"], ["b"]]
    walks = walk_corpus(sessions, WalkOptions(walks_per_node=2, walk_length=4, mix="walks"), seed=1)
    both = walk_corpus(sessions, WalkOptions(walks_per_node=2, walk_length=4, mix="both"), seed=1)
    assert len(walks.sequences) == 6 and all(len(w) == 4 for w in walks.sequences)
    assert len(both.sequences) == 9 and all(s in both.sequences for s in sessions)
    record = walks.record
    assert {k: record[k] for k in ("method", "walks_per_node", "walk_length", "directed", "mix")} == {
        "method": "deepwalk", "walks_per_node": 2, "walk_length": 4, "directed": True, "mix": "walks",
    }  # fmt: skip
    assert (record["graph_nodes"], record["graph_edges"], record["walks"], record["walk_items"]) == (
        3,
        3,
        6,
        24,
    )
    assert "p" not in record
    assert WalkOptions(method="node2vec", p=0.5).as_dict()["p"] == 0.5


def test_walks_need_an_edge() -> None:
    with pytest.raises(EmptyResultError, match="has no edges"):
        walk_corpus([["a"], ["b", "b"]], WalkOptions(), seed=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": None, "p": 0.5}, "--p needs --walks"),
        ({"method": None, "undirected": True}, "--undirected needs --walks"),
        ({"method": "deepwalk", "q": 2.0}, "--q biases node2vec walks only"),
        ({"method": "node2vec", "p": 0.0}, "--p 0.0 is invalid: use a positive number"),
        ({"method": "node2vec", "q": -1.0}, "--q -1.0 is invalid"),
        ({"method": "deepwalk", "walk_length": 1}, "--walk-length 1 is invalid: use a whole number >= 2"),
        ({"method": "deepwalk", "walks_per_node": 0}, "--walks-per-node 0 is invalid"),
        ({"method": "bfs"}, "--walks 'bfs' is unknown"),
        ({"method": "deepwalk", "mix": "half"}, "--walks-mix 'half' is unknown"),
    ],
)
def test_walk_option_errors(kwargs: dict[str, object], message: str) -> None:
    method = kwargs.pop("method")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as caught:
        WalkOptions.from_options(method, **kwargs)  # type: ignore[arg-type]
    name = message.split()[0].lstrip("-").replace("-", "_")
    assert caught.value.param == name
    assert caught.value.value == kwargs.get(name, kwargs.get("mix", method if name == "walks" else None))


def test_walk_errors_in_python_terms() -> None:
    with pytest.raises(ConfigError) as caught:
        WalkOptions.from_options(None, p=0.5)
    assert python_terms(caught.value.raw) == "p= needs walks=: add walks=deepwalk or walks=node2vec"


def test_no_walks_without_the_option() -> None:
    assert WalkOptions.from_options(None) is None
    options = WalkOptions.from_options("node2vec", p=0.5, undirected=True)
    assert options == WalkOptions(method="node2vec", p=0.5, directed=False)


# --- training and the CLI ------------------------------------------------------------------------


@pytest.fixture
def clusters_csv(tmp_path: Path) -> Path:
    """Each user buys from one of three disjoint clusters of six items."""
    rng = random.Random(0)
    lines = ["user_id,item_id,ts"]
    for u in range(150):
        lines += [f"{u:05d},{u % 3}{rng.randrange(6):02d},{1_700_000_000 + u * 100 + s}" for s in range(6)]
    path = tmp_path / "events.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "walks",
    [
        ["--walks", "deepwalk", "--walks-mix", "walks"],
        ["--walks", "node2vec", "--p", "0.5", "--q", "2", "--undirected"],
    ],
)
@pytest.mark.slow
def test_train_on_walks_keeps_clusters_pure(tmp_path: Path, clusters_csv: Path, walks: list[str]) -> None:
    out = tmp_path / "m"
    result = run("train", clusters_csv, "-o", out, "--time-col", "ts", *walks, "--walks-per-node", "4", *FAST)
    assert result.exit_code == 0, result.output
    result = run("similar", out, "000", "100", "200", "-k", "5", "-f", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 15 and all(r["item"][0] == r["query"][0] for r in rows)
    record = json.loads((out / "model.json").read_text())["walks"]
    assert record["method"] == walks[1] and record["walks_per_node"] == 4 and record["walk_length"] == 20
    assert record["graph_nodes"] == 18


def test_info_shows_the_walks(tmp_path: Path, clusters_csv: Path) -> None:
    out = tmp_path / "m"
    args = ("--walks", "node2vec", "--q", "0.5", "--walks-per-node", "2", "--walk-length", "5")
    assert run("train", clusters_csv, "-o", out, *args, *FAST).exit_code == 0
    result = run("info", out, "-f", "json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    walks = info[0]["walks"] if isinstance(info, list) else info["walks"]
    assert (walks["method"], walks["q"], walks["p"], walks["walk_length"], walks["mix"]) == (
        "node2vec",
        0.5,
        1.0,
        5,
        "both",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--walks", "node2vec", "--p", "0"],
            "Error: --p 0.0 is invalid: use a positive number (1 = no bias)",
        ),
        (["--walks", "node2vec", "--q", "-2"], "Error: --q -2.0 is invalid"),
        (
            ["--walks", "deepwalk", "--walk-length", "1"],
            "Error: --walk-length 1 is invalid: use a whole number >= 2",
        ),
        (["--walks", "deepwalk", "--walks-per-node", "0"], "Error: --walks-per-node 0 is invalid"),
        (
            ["--walks", "deepwalk", "--p", "0.5"],
            "Error: --p biases node2vec walks only: use --walks node2vec",
        ),
        (
            ["--walk-length", "10"],
            "Error: --walk-length needs --walks: add --walks deepwalk or --walks node2vec",
        ),
        (["--undirected"], "Error: --undirected needs --walks"),
    ],
)
def test_train_walk_option_errors(tmp_path: Path, clusters_csv: Path, args: list[str], message: str) -> None:
    result = run("train", clusters_csv, "-o", tmp_path / "m", *args, *FAST)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert not (tmp_path / "m").exists()


def test_train_rejects_an_unknown_walk_method(tmp_path: Path, clusters_csv: Path) -> None:
    result = run("train", clusters_csv, "-o", tmp_path / "m", "--walks", "bfs", *FAST)
    assert result.exit_code == 2
    assert "'bfs' is not one of 'deepwalk', 'node2vec'" in result.output


def test_walks_need_the_gensim_engine(tmp_path: Path, clusters_csv: Path) -> None:
    result = run(
        "train", clusters_csv, "-o", tmp_path / "m", "--engine", "spark", "--walks", "deepwalk", "-q"
    )
    assert result.exit_code == 1
    assert (
        "Error: --walks deepwalk is not supported with --engine spark: use --engine gensim" in result.output
    )


def test_train_summary_reports_the_walks(tmp_path: Path, clusters_csv: Path) -> None:
    args = ("--walks", "deepwalk", "--walks-per-node", "2", "--walk-length", "5", "--walks-mix", "walks")
    result = run("train", clusters_csv, "-o", tmp_path / "m", *args, *FAST[:-1])
    assert result.exit_code == 0, result.output
    assert "Walks: deepwalk, 36 walks (180 items) over 18 items and " in result.stderr
    assert "directed edges in " in result.stderr and "s; trained on walks only" in result.stderr


def test_exact_second_order_draws_match_the_rejection_sampler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("item2vec.training.walks.REJECTION_ROUNDS", 0)
    assert second_moves(0.25, 1.0) == pytest.approx([4 / 6, 1 / 6, 1 / 6], abs=0.025)
    assert second_moves(1.0, 0.25) == pytest.approx([1 / 6, 1 / 6, 4 / 6], abs=0.025)


def test_extreme_p_and_q_do_not_stall_the_walks() -> None:
    # a directed chain: every second step is outward, accepted by rejection once in 1e12 draws
    chain = [[str(i) for i in range(30)]]
    options = WalkOptions(method="node2vec", p=1e-6, q=1e6, walks_per_node=20, walk_length=30, mix="walks")
    walks = walk_corpus(chain, options, seed=1).sequences
    assert walks[0] == [str(i) for i in range(int(walks[0][0]), 30)]
