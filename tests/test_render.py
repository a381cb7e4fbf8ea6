"""Exact output of every format for small rows."""

from __future__ import annotations

import pytest

from item2vec.render import FORMATS, render, render_record, table

ROWS = [
    {"query": "apple", "rank": 1, "item": "pear", "score": 0.980581},
    {"query": "apple", "rank": 2, "item": "plum", "score": 0.940721},
    {"query": "king", "rank": 1, "item": "prince", "score": 0.956183},
]


# table ---------------------------------------------------------------------------------------------


def test_table() -> None:
    assert render(ROWS, "table") == (
        "query  rank  item     score\n"
        "-----  ----  ------  ------\n"
        "apple     1  pear    0.9806\n"
        "apple     2  plum    0.9407\n"
        "king      1  prince  0.9562\n"
    )


def test_table_grouped() -> None:
    assert render(ROWS, "table", group="query") == (
        "query: apple\n"
        "rank  item   score\n"
        "----  ----  ------\n"
        "   1  pear  0.9806\n"
        "   2  plum  0.9407\n"
        "\n"
        "query: king\n"
        "rank  item     score\n"
        "----  ------  ------\n"
        "   1  prince  0.9562\n"
    )


def test_table_group_keeps_first_seen_order() -> None:
    rows = [{"g": "b", "v": 1}, {"g": "a", "v": 2}, {"g": "b", "v": 3}]
    assert render(rows, "table", group="g") == "g: b\nv\n-\n1\n3\n\ng: a\nv\n-\n2\n"


def test_table_group_not_a_column_is_a_plain_table() -> None:
    assert render(ROWS, "table", group="missing") == render(ROWS, "table")


def test_table_none_cells_and_mixed_columns() -> None:
    rows = [
        {"item": "a", "name": None, "n": 12345, "x": None},
        {"item": "bb", "name": "Red Apple", "n": 7, "x": 1.5},
    ]
    # n is all ints: right-aligned, thousands separators from 10,000; x has a None: left-aligned
    assert render(rows, "table") == (
        "item  name            n  x\n"
        "----  ---------  ------  ------\n"
        "a                12,345\n"
        "bb    Red Apple       7  1.5000\n"
    )


def test_table_float_formatting() -> None:
    rows = [{"v": 0.123456}, {"v": 2.0}, {"v": -0.00004}, {"v": 1234.5}]
    assert render(rows, "table") == "        v\n---------\n   0.1235\n   2.0000\n  -0.0000\n1234.5000\n"


def test_table_bools_are_not_numbers() -> None:
    rows = [{"flag": True, "n": 9999}, {"flag": False, "n": 10000}]
    assert render(rows, "table") == "flag        n\n-----  ------\nTrue    9,999\nFalse  10,000\n"


def test_table_counts_are_grouped_alike_in_a_column() -> None:
    rows = [{"n": 9999, "m": 1234}, {"n": 10000, "m": 12}]
    assert render(rows, "table") == "     n     m\n------  ----\n 9,999  1234\n10,000    12\n"
    assert render(rows, "csv") == "n,m\n9999,1234\n10000,12\n"


def test_record_floats_too_small_for_4_decimals_keep_their_digits() -> None:
    text = render_record({"sample": 1e-05, "alpha": 0.05, "best": 0.5, "zero": 0.0, "n": 12345}, "table")
    assert text.splitlines()[2:] == [
        "sample  1e-05",
        "alpha   0.0500",
        "best    0.5000",
        "zero    0.0000",
        "n       12,345",
    ]


def test_table_columns_choose_and_order() -> None:
    assert render(ROWS[:1], "table", columns=["item", "query"]) == "item  query\n----  -----\npear  apple\n"


def test_table_empty() -> None:
    assert render([], "table") == ""
    assert render([], "table", group="query") == ""
    assert table([], []) == ""
    assert render([], "table", columns=["a", "bb"]) == "a  bb\n-  --\n"


# machine formats -----------------------------------------------------------------------------------


def test_json() -> None:
    assert render(ROWS[:2], "json", group="query") == (
        "[\n"
        "  {\n"
        '    "query": "apple",\n'
        '    "rank": 1,\n'
        '    "item": "pear",\n'
        '    "score": 0.980581\n'
        "  },\n"
        "  {\n"
        '    "query": "apple",\n'
        '    "rank": 2,\n'
        '    "item": "plum",\n'
        '    "score": 0.940721\n'
        "  }\n"
        "]\n"
    )


def test_json_none_unicode_and_missing_columns() -> None:
    rows = [{"item": "ïtem", "name": None}]
    assert render(rows, "json", columns=["item", "name", "extra"]) == (
        '[\n  {\n    "item": "ïtem",\n    "name": null,\n    "extra": null\n  }\n]\n'
    )
    assert render([], "json") == "[]\n"


def test_jsonl() -> None:
    assert render(ROWS, "jsonl", group="query") == (
        '{"query": "apple", "rank": 1, "item": "pear", "score": 0.980581}\n'
        '{"query": "apple", "rank": 2, "item": "plum", "score": 0.940721}\n'
        '{"query": "king", "rank": 1, "item": "prince", "score": 0.956183}\n'
    )
    assert render([{"a": None, "b": "ü"}], "jsonl") == '{"a": null, "b": "ü"}\n'
    assert render([], "jsonl") == ""


def test_csv() -> None:
    assert render(ROWS, "csv", group="query") == (
        "query,rank,item,score\napple,1,pear,0.980581\napple,2,plum,0.940721\nking,1,prince,0.956183\n"
    )


def test_csv_quoting_and_none() -> None:
    rows = [
        {"id": "a,b", "name": 'say "hi"', "score": None},
        {"id": "plain", "name": "line\nbreak", "score": 0.5},
    ]
    assert render(rows, "csv") == ('id,name,score\n"a,b","say ""hi""",\nplain,"line\nbreak",0.5\n')


def test_tsv() -> None:
    assert render(ROWS, "tsv") == (
        "query\trank\titem\tscore\n"
        "apple\t1\tpear\t0.980581\n"
        "apple\t2\tplum\t0.940721\n"
        "king\t1\tprince\t0.956183\n"
    )


def test_tsv_quoting_and_none() -> None:
    rows = [{"id": "a,b", "name": "tab\there", "score": None}, {"id": 'q"', "name": "x", "score": 2.25}]
    assert render(rows, "tsv") == 'id\tname\tscore\na,b\t"tab\there"\t\n"q"""\tx\t2.25\n'


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_carriage_returns_are_quoted_and_read_back(fmt: str) -> None:
    import csv
    import io

    rows = [{"id": "a\rb", "name": "end\r"}, {"id": "crlf\r\n", "name": ""}]
    text = render(rows, fmt)
    sep = "," if fmt == "csv" else "\t"
    assert text == f'id{sep}name\n"a\rb"{sep}"end\r"\n"crlf\r\n"{sep}\n'
    read = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=sep))
    assert read == rows


def test_csv_columns_with_missing_values() -> None:
    assert render([{"a": 1}], "csv", columns=["a", "b"]) == "a,b\n1,\n"
    assert render([], "csv", columns=["a", "b"]) == "a,b\n"


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        render(ROWS, "xml")


def test_formats() -> None:
    assert FORMATS == ("table", "json", "jsonl", "csv", "tsv")


# render_record -------------------------------------------------------------------------------------

RECORD = {
    "path": "models/tiny",
    "items": 12345,
    "params": {"dim": 4, "window": 5, "alpha": 0.025},
    "sources": ["a.csv", "b.csv"],
    "empty": {},
    "note": None,
}


def test_render_record_table() -> None:
    assert render_record(RECORD, "table") == (
        "field          value\n"
        "-------------  ------------\n"
        "path           models/tiny\n"
        "items          12,345\n"
        "params.dim     4\n"
        "params.window  5\n"
        "params.alpha   0.0250\n"
        "sources        a.csv, b.csv\n"
        "empty\n"
        "note\n"
    )


def test_render_record_all_numbers_table() -> None:
    assert render_record({"a": 1, "b": {"c": 0.5}}, "table") == (
        "field   value\n-----  ------\na           1\nb.c    0.5000\n"
    )


def test_render_record_json() -> None:
    assert render_record(RECORD, "json") == (
        "{\n"
        '  "path": "models/tiny",\n'
        '  "items": 12345,\n'
        '  "params": {\n'
        '    "dim": 4,\n'
        '    "window": 5,\n'
        '    "alpha": 0.025\n'
        "  },\n"
        '  "sources": [\n'
        '    "a.csv",\n'
        '    "b.csv"\n'
        "  ],\n"
        '  "empty": {},\n'
        '  "note": null\n'
        "}\n"
    )


def test_render_record_jsonl() -> None:
    assert render_record(RECORD, "jsonl") == (
        '{"path": "models/tiny", "items": 12345, "params": {"dim": 4, "window": 5, "alpha": 0.025}, '
        '"sources": ["a.csv", "b.csv"], "empty": {}, "note": null}\n'
    )


def test_render_record_csv() -> None:
    assert render_record(RECORD, "csv") == (
        "field,value\n"
        "path,models/tiny\n"
        "items,12345\n"
        "params.dim,4\n"
        "params.window,5\n"
        "params.alpha,0.025\n"
        'sources,"a.csv, b.csv"\n'
        "empty,\n"
        "note,\n"
    )


def test_render_record_tsv() -> None:
    assert render_record(RECORD, "tsv") == (
        "field\tvalue\n"
        "path\tmodels/tiny\n"
        "items\t12345\n"
        "params.dim\t4\n"
        "params.window\t5\n"
        "params.alpha\t0.025\n"
        "sources\ta.csv, b.csv\n"
        "empty\t\n"
        "note\t\n"
    )
