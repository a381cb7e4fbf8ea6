"""Candidate filters (item2vec/query/filters.py): exclude, only and item_where, applied before the
top k is cut. Every expected answer is a brute-force filter of the dense scores of the hand-built
model (tests/conftest.py): score every item, drop those the filters leave out, sort."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli
from item2vec.corpus.options import Where
from item2vec.errors import ConfigError, EmptyResultError, InputError, spell
from item2vec.model.embeddings import Embeddings, unit_rows
from item2vec.model.store import load
from item2vec.query.batch import neighbour_table, recommend_events
from item2vec.query.filters import CandidateFilter, candidate_filter, parse_wheres
from item2vec.query.histories import EventColumns
from item2vec.query.recommend import recommend
from item2vec.query.scoring import Scorer, ScoringParts, make_scorer, open_parts, query_weights
from item2vec.query.searcher import Searcher
from item2vec.query.topk import product
from tests.conftest import TINY_COUNTS, TINY_VECTORS, tiny_embeddings, tiny_output, tiny_transitions

IDS = list(TINY_VECTORS)
MODES = ["similar", "next", "hybrid"]
FILTERS = [
    {"exclude": ["queen"]},
    {"only": ["apple", "pear", "man", "queen"]},
    {"item_where": ["count>=40"]},
    {"item_where": ["name in Red Apple,King"]},
    {"exclude": ["prince", "nobody"], "item_where": ["count<=70", "name!=King"]},
    {"only": ["queen", "plum", "apple"], "exclude": ["plum"]},
]


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def parts() -> ScoringParts:
    return ScoringParts(tiny_embeddings(), output=tiny_output(), transitions=tiny_transitions())


def brute(scorer: Scorer, rows: list[int], weights: list[float], kept: set[str], k: int) -> list[str]:
    """The k best of every item by the mode's dense scores, among ``kept`` (ties: lower row)."""
    query = query_weights(len(IDS), [rows], [weights])
    scores = scorer.scores(scorer.query_vectors(query), scorer.transition_scores(query))[0]
    order = sorted((i for i in range(len(IDS)) if IDS[i] in kept), key=lambda i: (-round(scores[i], 5), i))
    return [IDS[i] for i in order[:k]]


def kept_by(given: dict[str, list[str]]) -> set[str]:
    """What the filters keep, worked out by hand from the fixture's ids, names and counts."""
    names = tiny_embeddings().names
    kept = set(given.get("only", IDS)) - set(given.get("exclude", ()))
    for text in given.get("item_where", ()):
        where = Where.parse(text)
        row = {i: {"id": i, "name": names.get(i), "count": str(c)} for i, c in zip(IDS, TINY_COUNTS)}
        kept = {
            i
            for i in kept
            if bool(where.mask(_column([row[j][where.column] for j in IDS]))[IDS.index(i)].as_py())
        }
    return kept


def _column(values: list[str | None]) -> object:
    import pyarrow as pa

    return pa.array(values, type=pa.string())


# --- the exact path --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("given", FILTERS)
def test_similar_equals_a_brute_force_filter(
    parts: ScoringParts, mode: str, given: dict[str, list[str]]
) -> None:
    scorer = make_scorer(parts, mode)
    found = candidate_filter(parts.embeddings, **given)
    assert found is not None
    filtered = replace(scorer, candidates=found)
    kept = kept_by(given)
    for item in IDS:
        want = brute(scorer, [IDS.index(item)], [1.0], kept - {item}, 3)
        got = filtered.similar([item], 3)
        assert [n.item for n in got] == want, (item, given)
        unfiltered = {n.item: n.score for n in scorer.similar([item], len(IDS))}
        assert [n.score for n in got] == pytest.approx([unfiltered[n.item] for n in got], abs=1e-6)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("given", FILTERS)
def test_recommend_equals_a_brute_force_filter(
    parts: ScoringParts, mode: str, given: dict[str, list[str]]
) -> None:
    scorer = make_scorer(parts, mode)
    found = candidate_filter(parts.embeddings, **given)
    filtered = replace(scorer, candidates=found)
    history = ["apple", "king"]
    got = recommend(parts.embeddings, history, 4, decay=0.5, scorer=filtered).neighbours
    want = brute(scorer, [IDS.index(i) for i in history], [0.5, 1.0], kept_by(given) - set(history), 4)
    assert [n.item for n in got] == want


def test_combined_queries_are_filtered_too(parts: ScoringParts) -> None:
    scorer = make_scorer(parts, "similar")
    filtered = replace(scorer, candidates=candidate_filter(parts.embeddings, exclude=["prince"]))
    got = [n.item for n in filtered.similar(["king", "queen"], 3, combine=True)]
    want = [n.item for n in scorer.similar(["king", "queen"], 8, combine=True) if n.item != "prince"][:3]
    assert got == want


def test_no_filter_is_none(tiny: Embeddings) -> None:
    assert candidate_filter(tiny) is None
    assert candidate_filter(tiny, exclude=[], only=None, item_where={}) is None


def test_an_id_or_ids(tiny: Embeddings) -> None:
    one = candidate_filter(tiny, exclude="king")
    assert one is not None and one.allowed.tolist() == [False] + [True] * 7
    only = candidate_filter(tiny, only="pear")
    assert only is not None and only.count == 1 and only.allowed[IDS.index("pear")]


# --- the items table and where ---------------------------------------------------------------------


def test_where_as_a_mapping(tiny: Embeddings) -> None:
    assert parse_wheres({"name": "Red Apple", "count": [80, 30], "flag": True}) == [
        Where("name", "Red Apple"), Where("count", "80,30", op="in"), Where("flag", "1")
    ]  # fmt: skip
    found = candidate_filter(tiny, item_where={"count": [80, 30]})
    assert found is not None and [IDS[i] for i in np.flatnonzero(found.allowed)] == ["king", "apple"]
    assert parse_wheres("count>5") == [Where("count", "5", op=">")]


def test_where_reads_a_table_of_more_columns(tiny: Embeddings) -> None:
    import pyarrow as pa

    items = pa.table({"id": ["apple", "pear", "king", "ghost"], "category": ["fruit", "fruit", "royal", "x"],
                      "in_stock": [1, 0, 1, 1]})  # fmt: skip
    found = candidate_filter(tiny, item_where=["category=fruit", "in_stock=1"], items=items)
    assert found is not None and [IDS[i] for i in np.flatnonzero(found.allowed)] == ["apple"]
    found = candidate_filter(tiny, item_where=["category!=fruit"], items=items)
    assert found is not None and found.count == 6  # items without a row pass '!=' (as --where's rows do)


def test_unknown_ids_are_one_note_each_filter(tiny: Embeddings) -> None:
    found = candidate_filter(tiny, exclude=["nobody", "king"], only=["x1", "x2", "apple", "pear"])
    assert found is not None
    notes = [
        spell(note, lambda name, value: f"--{name}" + (f" {value}" if value else "")) for note in found.notes
    ]
    assert notes == [
        "--only: 2 ids are not in the model ('x1', 'x2'): ignored",
        "--exclude 'nobody' is not in the model: ignored",
    ]


@pytest.mark.parametrize(
    ("given", "param", "message"),
    [
        ({"only": ["nobody"]}, "only", "--only 'nobody' leaves no item to answer with (of the model's 8 items): loosen it"),
        ({"only": ["king"], "exclude": ["king"]}, "exclude",
         "--exclude 'king' leaves no item to answer with (of the 1 items the filters before it keep): loosen it"),
        ({"item_where": ["count>100"]}, "item_where",
         "--item-where count>100 leaves no item to answer with (of the model's 8 items): loosen it"),
    ],
)  # fmt: skip
def test_filters_that_keep_nothing_are_an_error_naming_the_filter(
    tiny: Embeddings, given: dict[str, list[str]], param: str, message: str
) -> None:
    with pytest.raises(EmptyResultError) as caught:
        candidate_filter(tiny, **given)
    assert caught.value.param == param
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("where", "error"),
    [(["nothing"], ConfigError), (["category=toys"], ConfigError), (["name>3"], InputError),
     (["count in ,"], ConfigError), ({"count": []}, ConfigError), ({"count": None}, ConfigError)],
)  # fmt: skip
def test_bad_where_names_item_where(tiny: Embeddings, where: object, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        candidate_filter(tiny, item_where=where)  # type: ignore[arg-type]
    assert caught.value.param == "item_where"  # type: ignore[attr-defined]
    assert "--where" not in str(caught.value)


def test_an_unknown_column_lists_the_columns(tiny: Embeddings) -> None:
    with pytest.raises(ConfigError) as caught:
        candidate_filter(tiny, item_where=["category=toys"])
    assert str(caught.value) == (
        "--item-where category=toys names column 'category', which the items table lacks: it has id, name, count"
    )


# --- the approximate path --------------------------------------------------------------------------


def test_over_fetch_widens_until_k_pass() -> None:
    allowed = np.zeros(100, dtype=bool)
    allowed[[90, 95, 99]] = True
    asked: list[int] = []

    def fetch(n: int) -> tuple[np.ndarray, np.ndarray]:
        asked.append(n)
        rows = np.arange(n, dtype=np.int64)[None, :]
        return rows, -rows.astype(np.float32)

    rows, scores = CandidateFilter(allowed, "only").over_fetch(fetch, 2)
    assert asked == [67, 100]  # k x 100 / 3 passing, then the whole catalogue
    assert rows.tolist() == [[90, 95]] and scores.tolist() == [[-90.0, -95.0]]


def test_over_fetch_pads_what_the_index_cannot_find() -> None:
    allowed = np.ones(10, dtype=bool)
    allowed[:8] = False

    def fetch(n: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.full((1, n), -1, dtype=np.int64)
        rows[0, :3] = [0, 9, 1]  # an index that finds only three items
        return rows, np.where(rows >= 0, 1.0, -np.inf).astype(np.float32)

    rows, scores = CandidateFilter(allowed, "only").over_fetch(fetch, 2)
    assert rows.tolist() == [[9, -1]] and scores[0, 1] == -np.inf


# --- the batch paths: similar --all and recommend --events -------------------------------------------


Row = tuple[str, int, str, float]


def collect(batches: list[Any]) -> list[Row]:
    """(query, rank, item, score) rows of the record batches a batch handed its sink."""
    rows = [row for batch in batches for row in batch.to_pylist()]
    label = "query" if rows and "query" in rows[0] else "user"
    return [(r[label], r["rank"], r["item"], r["score"]) for r in rows]


def all_rows(embeddings: Embeddings, scorer: Scorer, k: int, cells: int = 1 << 20) -> list[Row]:
    """``similar --all``'s rows."""
    batches: list[Any] = []
    neighbour_table(embeddings, None, k=k, sink=batches.append, scorer=scorer, cells=cells)
    return collect(batches)


def event_rows(embeddings: Embeddings, log: Path, scorer: Scorer, k: int, cells: int = 1 << 20) -> list[Row]:
    """``recommend --events``'s rows (decay 0.5)."""
    batches: list[Any] = []
    recommend_events(embeddings, [str(log)], None, columns=EventColumns(), k=k, decay=0.5, cells=cells,
                     sink=batches.append, scorer=scorer)  # fmt: skip
    return collect(batches)


def cut(rows: list[Row], kept: set[str], k: int) -> list[Row]:
    """Rows of a batch answered in full, filtered by hand to ``kept`` and cut to ``k`` per query."""
    out: list[Row] = []
    for query in dict.fromkeys(r[0] for r in rows):
        left = [r for r in rows if r[0] == query and r[2] in kept][:k]
        out += [(query, rank, item, score) for rank, (_, _, item, score) in enumerate(left, 1)]
    return out


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("given", FILTERS)
def test_similar_all_equals_each_query_alone(
    parts: ScoringParts, mode: str, given: dict[str, list[str]]
) -> None:
    scorer = make_scorer(parts, mode)
    filtered = replace(scorer, candidates=candidate_filter(parts.embeddings, **given))
    got = all_rows(parts.embeddings, filtered, 3, cells=16)
    every = all_rows(parts.embeddings, scorer, 8, cells=16)
    assert got == cut(every, kept_by(given), 3)  # bit for bit: the same blocks, masked
    for item in IDS:
        alone = filtered.similar([item], 3)
        mine = [r for r in got if r[0] == item]
        assert [r[2] for r in mine] == [n.item for n in alone], (item, given)
        assert [r[3] for r in mine] == pytest.approx([n.score for n in alone], abs=1e-6)


EVENTS = "user_id,item_id\nu1,man\nu1,king\nu1,woman\nu2,apple\nu3,pear\nu3,queen\nu3,plum\nu4,prince\n"
HISTORIES = {
    "u1": ["man", "king", "woman"],
    "u2": ["apple"],
    "u3": ["pear", "queen", "plum"],
    "u4": ["prince"],
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("given", FILTERS)
def test_recommend_events_equals_each_history_alone(
    parts: ScoringParts, mode: str, given: dict[str, list[str]], tmp_path: Path
) -> None:
    log = tmp_path / "events.csv"
    log.write_text(EVENTS)
    scorer = make_scorer(parts, mode)
    filtered = replace(scorer, candidates=candidate_filter(parts.embeddings, **given))

    got = event_rows(parts.embeddings, log, filtered, 3, cells=16)
    assert got == cut(event_rows(parts.embeddings, log, scorer, 8, cells=16), kept_by(given), 3)
    for user, history in HISTORIES.items():
        alone = recommend(parts.embeddings, history, 3, decay=0.5, scorer=filtered).neighbours
        mine = [r for r in got if r[0] == user]
        assert [r[2] for r in mine] == [n.item for n in alone], (user, given)
        assert [r[3] for r in mine] == pytest.approx([n.score for n in alone], abs=1e-6)


def test_batches_without_filters_rank_as_before(parts: ScoringParts) -> None:
    """A filter that keeps every item answers exactly as no filter (the mask changes nothing)."""
    for mode in MODES:
        scorer = make_scorer(parts, mode)
        everything = CandidateFilter(np.ones(len(IDS), dtype=bool), "none")
        masked = replace(scorer, candidates=everything)
        assert all_rows(parts.embeddings, masked, 4) == all_rows(parts.embeddings, scorer, 4)


def test_similar_all_filtered_on_a_planted_catalogue() -> None:
    """Many blocks over a wide catalogue with planted ties, both ways of applying the filter
    (masking most items, ranking the few kept), equal the same scores ranked by hand."""
    rng = np.random.default_rng(7)
    n = 4500
    vectors = rng.normal(size=(n, 6)).astype(np.float32)
    vectors[n // 2 :] = vectors[: n // 2]  # planted ties: every item has a twin
    embeddings = Embeddings(
        ids=[f"i{j}" for j in range(n)], vectors=vectors, counts=np.arange(n) + 1, meta={}
    )
    scorer = make_scorer(ScoringParts(embeddings), "similar")
    for given in ({"item_where": ["count>900"]}, {"only": [f"i{j}" for j in range(0, n, 9)]}):
        found = candidate_filter(embeddings, **given)
        assert found is not None
        kept = {embeddings.ids[j] for j in np.flatnonzero(found.allowed)}
        filtered = replace(scorer, candidates=found)
        got = all_rows(embeddings, filtered, 5, cells=n * 300)
        queries = [0, 17, 2250, n - 1]  # scored as a block scores them (rows of two or more alike)
        scores = product(unit_rows(vectors[queries]), vectors) * embeddings.inverse_norms
        for q, row in enumerate(queries):
            order = sorted((j for j in range(n) if embeddings.ids[j] in kept and j != row),
                           key=lambda j: (-scores[q, j], j))[:5]  # fmt: skip
            mine = [r for r in got if r[0] == embeddings.ids[row]]
            assert [(r[2], r[3]) for r in mine] == [(embeddings.ids[j], scores[q, j]) for j in order]


@pytest.fixture
def indexed(tiny_model: Path) -> Path:
    pytest.importorskip("faiss")
    built = run("index", tiny_model, "--kind", "flat")
    assert built.exit_code == 0, built.output
    return tiny_model


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("given", FILTERS)
def test_approx_equals_exact(indexed: Path, mode: str, given: dict[str, list[str]]) -> None:
    embeddings = load(indexed)
    parts = open_parts(embeddings, indexed)
    found = candidate_filter(embeddings, **given)
    exact = replace(make_scorer(parts, mode), candidates=found)
    approx = replace(make_scorer(parts, mode, searcher=Searcher(embeddings, indexed)), candidates=found)
    kept = kept_by(given)
    for item in IDS:  # the index breaks ties its own way (as without filters): scores are compared
        want, got = exact.similar([item], 3), approx.similar([item], 3)
        assert [n.score for n in got] == pytest.approx([n.score for n in want], abs=1e-5)
        assert {n.item for n in got} <= kept - {item}
    history = ["pear", "queen"]
    want = recommend(embeddings, history, 3, scorer=exact).neighbours
    got = recommend(embeddings, history, 3, scorer=approx).neighbours
    assert [n.score for n in got] == pytest.approx([n.score for n in want], abs=1e-5)
    assert {n.item for n in got} <= kept - set(history)


@pytest.mark.parametrize("mode", MODES)
def test_approx_batches_equal_exact(indexed: Path, mode: str, tmp_path: Path) -> None:
    embeddings = load(indexed)
    parts = open_parts(embeddings, indexed)
    log = tmp_path / "events.csv"
    log.write_text(EVENTS)
    for given in FILTERS:
        found = candidate_filter(embeddings, **given)
        exact = replace(make_scorer(parts, mode), candidates=found)
        approx = replace(make_scorer(parts, mode, searcher=Searcher(embeddings, indexed)), candidates=found)
        want, got = all_rows(embeddings, exact, 3), all_rows(embeddings, approx, 3)
        assert [r[3] for r in got] == pytest.approx([r[3] for r in want], abs=1e-5), given
        assert [r[:2] for r in got] == [r[:2] for r in want]
        assert {r[2] for r in got} <= kept_by(given)
        want, got = event_rows(embeddings, log, exact, 3), event_rows(embeddings, log, approx, 3)
        assert [r[3] for r in got] == pytest.approx([r[3] for r in want], abs=1e-5), given
        assert {r[2] for r in got} <= kept_by(given)


def test_cli_approx_says_when_fewer_pass(indexed: Path) -> None:
    result = run(
        "similar", indexed, "king", "--only", "apple", "--only", "pear", "-k", "3", "--approx", "-f", "csv"
    )
    assert result.exit_code == 0, result.output
    assert (
        result.stdout
        == "query,rank,item,score,name\nking,1,apple,0.0,Red Apple\nking,2,pear,0.0,Green Pear\n"
    )
    assert result.stderr == "the filters keep 2 items, so fewer than 3 are left ('king' has 2)\n"


def test_cli_approx_all_with_filters(indexed: Path) -> None:
    args: list[str | Path] = [
        "similar",
        indexed,
        "--all",
        "--only",
        "apple",
        "--only",
        "pear",
        "-k",
        "3",
        "-f",
        "csv",
    ]
    approx, exact = run(*args, "--approx"), run(*args)
    assert approx.exit_code == 0 and exact.exit_code == 0, approx.output + exact.output
    assert approx.stdout == exact.stdout
    assert {line.split(",")[2] for line in approx.stdout.splitlines()[1:]} == {"apple", "pear"}
    assert approx.stderr.splitlines()[1] == "the filters keep 2 items, so every answer has fewer than 3 rows"


# --- the command line ------------------------------------------------------------------------------


def test_cli_similar_with_every_filter(tiny_model: Path, tmp_path: Path) -> None:
    sold_out = tmp_path / "sold_out.txt"
    sold_out.write_text("queen\n\nnobody\n")
    result = run("similar", tiny_model, "king", "--exclude-file", sold_out, "--exclude", "man",
                 "--item-where", "count>=30", "-k", "3", "-f", "csv")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        result.stdout
        == "query,rank,item,score,name\nking,1,prince,0.956183,\nking,2,woman,0.0,\nking,3,apple,0.0,Red Apple\n"
    )
    assert result.stderr == "--exclude 'nobody' is not in the model: ignored\n"


def test_cli_only_file_and_quiet(tiny_model: Path, tmp_path: Path) -> None:
    keep = tmp_path / "keep.txt"
    keep.write_text("pear\nplum\nnobody\n")
    result = run(
        "recommend", tiny_model, "--history", "apple", "--only-file", keep, "-k", "5", "-f", "csv", "-q"
    )
    assert result.exit_code == 0, result.output
    assert [line.split(",")[1] for line in result.stdout.splitlines()[1:]] == ["pear", "plum"]
    assert result.stderr == ""
    loud = run("recommend", tiny_model, "--history", "apple", "--only-file", keep, "-k", "5", "-f", "csv")
    assert loud.stderr.splitlines() == [
        "--only 'nobody' is not in the model: ignored",
        "the filters keep 2 items, so fewer than 5 are left ('history' has 2)",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--item-where", "count>100"],
         "Error: --item-where count>100 leaves no item to answer with (of the model's 8 items): loosen it\n"),
        (["--only", "nobody"],
         "Error: --only 'nobody' leaves no item to answer with (of the model's 8 items): loosen it\n"),
        (["--item-where", "category=toys"],
         "Error: --item-where category=toys names column 'category', which the items table lacks: it has id, name, count\n"),
        (["--item-where", "count"],
         "Error: --item-where 'count' is invalid: use COL=VALUE, COL!=VALUE, COL>N, COL>=N, COL<N, COL<=N, "
         "'COL in A,B' or 'COL not in A,B' (quote it in a shell: --item-where 'Quantity>0')\n"),
    ],
)  # fmt: skip
def test_cli_filter_errors(tiny_model: Path, args: list[str], message: str) -> None:
    commands: list[list[str | Path]] = [
        ["similar", tiny_model, "king"],
        ["recommend", tiny_model, "--history", "king"],
    ]
    for command in commands:
        result = run(*command, *args)
        assert result.exit_code == 1
        assert result.stderr == message


def test_cli_filters_with_all_and_events(tiny_model: Path, tmp_path: Path) -> None:
    every = run(
        "similar", tiny_model, "--all", "--exclude", "king", "--exclude", "nobody", "-k", "2", "-f", "csv"
    )
    assert every.exit_code == 0, every.output
    lines = every.stdout.splitlines()
    assert lines[0] == "query,rank,item,score,name" and len(lines) == 1 + 8 * 2
    assert not [line for line in lines[1:] if line.split(",")[2] == "king"]
    note, wrote = every.stderr.splitlines()
    assert note == "--exclude 'nobody' is not in the model: ignored"
    assert wrote.startswith("wrote 16 rows for 8 items to <stdout> in ")
    events = tmp_path / "events.csv"
    events.write_text("user_id,item_id\nu,king\nu,queen\n")
    batch = run("recommend", tiny_model, "--events", events, "--only", "king", "--only", "apple",
                "--only", "pear", "-k", "4", "-f", "csv")  # fmt: skip
    assert batch.exit_code == 0, batch.output
    alone = run("recommend", tiny_model, "--history", "king", "queen", "--only", "king", "--only", "apple",
                "--only", "pear", "-k", "4", "-f", "csv")  # fmt: skip
    assert [line.split(",")[1] for line in alone.stdout.splitlines()[1:]] == ["pear", "apple"]  # king: seen
    assert [line.split(",")[2] for line in batch.stdout.splitlines()[1:]] == ["pear", "apple"]
    assert batch.stderr.splitlines()[1:] == [
        "the filters keep 3 items, so every answer has fewer than 4 rows"
    ]


def test_cli_filters_refused_with_user_vectors(tiny_model: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text("user_id,item_id\nu,king\nu,queen\n")
    result = run("recommend", tiny_model, "--events", events, "--user-vectors", "-o", tmp_path / "u.parquet",
                 "--only", "king", "--item-where", "count>1")  # fmt: skip
    assert result.exit_code == 2
    assert "--user-vectors writes vectors, not candidates: --only, --item-where do not apply" in result.stderr


def test_cli_missing_id_file_is_a_usage_error(tiny_model: Path, tmp_path: Path) -> None:
    result = run("similar", tiny_model, "king", "--exclude-file", tmp_path / "nope.txt")
    assert result.exit_code == 2 and "--exclude-file" in result.stderr


def test_cli_jsonl_hybrid_matches_the_library(tiny_model: Path) -> None:
    result = run(
        "similar", tiny_model, "apple", "--score", "hybrid", "--exclude", "pear", "-k", "2", "-f", "jsonl"
    )
    assert result.exit_code == 0, result.output
    embeddings = load(tiny_model)
    scorer = make_scorer(open_parts(embeddings, tiny_model), "hybrid")
    want = [n.item for n in scorer.similar(["apple"], 8) if n.item != "pear"][:2]
    assert [json.loads(line)["item"] for line in result.stdout.splitlines()] == want


CATALOGUE = "id,category,in_stock\napple,fruit,1\npear,fruit,0\nplum,fruit,1\nking,royal,1\nqueen,royal,1\n"


def test_cli_item_where_on_an_items_table(tiny_model: Path, tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_text(CATALOGUE)
    args: list[str | Path] = [
        "--items",
        catalogue,
        "--item-where",
        "category=fruit",
        "--item-where",
        "in_stock=1",
        "-f",
        "csv",
    ]
    result = run("similar", tiny_model, "apple", "pear", *args)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "query,rank,item,score,name\napple,1,plum,0.940721,Plum (dark)\npear,1,apple,0.980581,Red Apple\n"
        "pear,2,plum,0.922453,Plum (dark)\n"
    )
    renamed = tmp_path / "catalogue.tsv"
    renamed.write_text(CATALOGUE.replace(",", "\t").replace("id\t", "sku\t", 1))
    again = run("recommend", tiny_model, "--history", "pear", "--items", renamed, "--id-col", "sku",
                "--item-where", "category in fruit", "-k", "1", "-f", "csv", "--score", "similar")  # fmt: skip
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[1:] == ["1,apple,0.980581,Red Apple"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--item-where", "colour=red"], 1,
         "Error: {file}: no column 'colour'; the columns are: id, category, in_stock "
         "(named by --item-where: choose one that exists)\n"),
        (["--id-col", "sku", "--item-where", "category=fruit"], 1,
         "Error: {file}: no column 'sku'; the columns are: id, category, in_stock "
         "(named by --id-col: choose one that exists)\n"),
    ],
)  # fmt: skip
def test_cli_items_table_errors(
    tiny_model: Path, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_text(CATALOGUE)
    result = run("similar", tiny_model, "apple", "--items", catalogue, *args)
    assert result.exit_code == code
    assert result.stderr == message.format(file=catalogue)


def test_cli_items_needs_item_where(tiny_model: Path, tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_text(CATALOGUE)
    result = run("similar", tiny_model, "apple", "--items", catalogue)
    assert result.exit_code == 2 and "--items is the table --item-where filters on" in result.stderr
    missing = run("similar", tiny_model, "apple", "--items", tmp_path / "nope.csv", "--item-where", "a=b")
    assert missing.exit_code == 1 and "does not exist" in missing.stderr
