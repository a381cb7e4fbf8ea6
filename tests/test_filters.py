"""Candidate filters (item2vec/query/filters.py): exclude, only and item_where, applied before the
top k is cut. Every expected answer is a brute-force filter of the dense scores of the hand-built
model (tests/conftest.py): score every item, drop those the filters leave out, sort."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from item2vec.cli import cli
from item2vec.corpus.options import Where
from item2vec.errors import ConfigError, EmptyResultError, InputError, spell
from item2vec.model.embeddings import Embeddings
from item2vec.model.store import load
from item2vec.query.filters import CandidateFilter, candidate_filter, parse_wheres
from item2vec.query.recommend import recommend
from item2vec.query.scoring import Scorer, ScoringParts, make_scorer, open_parts, query_weights
from item2vec.query.searcher import Searcher
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


def test_cli_filters_refused_with_all_and_events(tiny_model: Path, tmp_path: Path) -> None:
    every = run("similar", tiny_model, "--all", "--exclude", "king")
    assert every.exit_code == 2 and "--exclude applies to single queries, not --all" in every.stderr
    events = tmp_path / "events.csv"
    events.write_text("user_id,item_id\nu,king\nu,queen\n")
    batch = run("recommend", tiny_model, "--events", events, "--only", "king", "--item-where", "count>1")
    assert (
        batch.exit_code == 2 and "--only, --item-where apply to single queries, not --events" in batch.stderr
    )


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
