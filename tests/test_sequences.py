from __future__ import annotations

from pathlib import Path

import pytest

from item2vec.corpus.events import open_source
from item2vec.corpus.options import SessionOptions, Where, parse_duration
from item2vec.corpus.packed import MAX_SEQUENCE
from item2vec.corpus.sequences import load_corpus
from item2vec.errors import ConfigError, EmptyResultError, InputError

EVENTS = """user,item,time,event
u1,a,2024-01-01T10:00:00,view
u2,x,2024-01-01T09:00:00,view
u1,b,2024-01-01T10:05:00,buy
u1,b,2024-01-01T10:06:00,view
u1,c,2024-01-01T13:00:00,view
u1,d,2024-01-01T13:10:00,buy
u2,y,2024-01-01T09:01:00,buy
u3,z,2024-01-01T09:00:00,view
,q,2024-01-01T09:00:00,view
"""


def corpus(tmp_path: Path, text: str, name: str = "e.csv", fmt: str | None = None, **opts: object):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(text)
    defaults: dict[str, object] = {"user_col": "user", "item_col": "item"}
    return load_corpus([open_source(str(path))], fmt, SessionOptions(**{**defaults, **opts}))  # type: ignore[arg-type]


def test_order_by_time_drop_repeats_and_short(tmp_path: Path) -> None:
    result = corpus(tmp_path, EVENTS, time_col="time")
    assert result.sequences == [["a", "b", "c", "d"], ["x", "y"]]
    assert result.stats.events_read == 9
    assert result.stats.rows_dropped == {"missing user": 1, "consecutive repeats": 1, "short sessions": 1}
    assert result.stats.sessions == 2
    assert result.stats.sessions_dropped_short == 1


def test_split_on_gap(tmp_path: Path) -> None:
    result = corpus(tmp_path, EVENTS, time_col="time", session_gap=parse_duration("1h"))
    assert result.sequences == [["a", "b"], ["c", "d"], ["x", "y"]]


def test_keep_repeats_and_min_length_one(tmp_path: Path) -> None:
    result = corpus(tmp_path, EVENTS, time_col="time", drop_repeats=False, min_length=1)
    assert result.sequences == [
        ["a", "b", "b", "c", "d"],
        ["x", "y"],
        ["z"],
    ]


def test_without_time_keeps_file_order(tmp_path: Path) -> None:
    result = corpus(tmp_path, EVENTS)
    assert result.sequences == [["a", "b", "c", "d"], ["x", "y"]]


def test_where_filters(tmp_path: Path) -> None:
    result = corpus(tmp_path, EVENTS, where=(Where.parse("event=buy"),), min_length=1)
    assert result.sequences == [["b", "d"], ["y"]]
    assert result.stats.rows_dropped["--where event=buy"] == 6
    result = corpus(tmp_path, EVENTS, where=(Where.parse("event!=buy"),), time_col="time")
    assert result.sequences == [["a", "b", "c"]]


def test_session_and_user_columns_together(tmp_path: Path) -> None:
    text = "user,basket,item\nu1,1,a\nu1,1,b\nu1,2,c\nu1,2,d\nu2,1,e\nu2,1,f\n"
    result = corpus(tmp_path, text, session_col="basket")
    assert result.sequences == [["a", "b"], ["c", "d"], ["e", "f"]]


@pytest.mark.parametrize(
    ("times", "gap"),
    [
        (["1700000000", "1700000060", "1700009000"], "30m"),
        (["1700000000000", "1700000060000", "1700009000000"], "30m"),
        (["2023-11-14T22:13:20Z", "2023-11-14T22:14:20Z", "2023-11-15T00:43:20Z"], "30m"),
        (["2023-11-14 22:13:20", "2023-11-14 22:14:20", "2023-11-15 00:43:20"], "1800s"),
    ],
)
def test_time_formats(tmp_path: Path, times: list[str], gap: str) -> None:
    rows = "".join(f"u,{item},{t}\n" for item, t in zip("abc", times))
    result = corpus(
        tmp_path, "user,item,time\n" + rows, time_col="time", session_gap=parse_duration(gap), min_length=1
    )
    assert result.sequences == [["a", "b"], ["c"]]


def test_unparsable_time_names_row_and_value(tmp_path: Path) -> None:
    text = "user,item,time\nu,a,2024-01-01\nu,b,yesterday\n"
    with pytest.raises(InputError, match=r"row 2 has time 'yesterday', which is not a time"):
        corpus(tmp_path, text, time_col="time")


def test_nothing_left_after_filter_names_filter(tmp_path: Path) -> None:
    with pytest.raises(EmptyResultError, match=r"no rows left of 9 \(9 by --where event=refund"):
        corpus(tmp_path, EVENTS, where=(Where.parse("event=refund"),))


def test_all_sessions_too_short(tmp_path: Path) -> None:
    with pytest.raises(EmptyResultError, match="no sequence has at least --min-length 9 items") as caught:
        corpus(tmp_path, EVENTS, min_length=9)
    assert str(caught.value).endswith(
        "lower --min-length, or group by a wider key (--user-col rather than --session-col, or no --session-gap)"
    )


def test_sequences_file(tmp_path: Path) -> None:
    result = corpus(tmp_path, "a b  c\n\nd,e\tf\ng\n", name="s.txt", fmt="sequences")
    assert result.sequences == [["a", "b", "c"], ["d", "e", "f"]]
    assert result.stats.sessions_dropped_short == 1


def test_text_is_lowercased_and_tokenized(tmp_path: Path) -> None:
    result = corpus(tmp_path, "The King's horse, and the QUEEN.\nOk\n", name="t.txt", fmt="text")
    assert result.sequences == [["the", "king", "s", "horse", "and", "the", "queen"]]


def test_long_sequences_are_split_not_truncated(tmp_path: Path) -> None:
    line = " ".join(f"i{n}" for n in range(MAX_SEQUENCE + 5))
    result = corpus(tmp_path, line + "\n", name="s.txt", fmt="sequences")
    assert [len(s) for s in result.sequences] == [MAX_SEQUENCE, 5]
    assert result.sequences[1][-1] == f"i{MAX_SEQUENCE + 4}"


def test_mixed_formats_refused(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("user,item\nu,a\n")
    (tmp_path / "b.parquet").write_text("x")
    sources = [open_source(str(tmp_path / "a.csv")), open_source(str(tmp_path / "b.parquet"))]
    with pytest.raises(InputError, match="have different formats"):
        load_corpus(sources, None, SessionOptions(user_col="user", item_col="item"))


def test_several_files_are_one_log(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("user,item\nu,a\nv,x\n")
    (tmp_path / "b.csv").write_text("user,item\nu,b\nv,y\n")
    sources = [open_source(str(tmp_path / n)) for n in ("a.csv", "b.csv")]
    result = load_corpus(sources, None, SessionOptions(user_col="user", item_col="item"))
    assert result.sequences == [["a", "b"], ["x", "y"]]


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("2h", 7200), ("90", 90), ("1.5d", 129600), ("500ms", 0.5)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_bad_duration_and_options() -> None:
    with pytest.raises(ConfigError, match="duration 'soon' is invalid"):
        parse_duration("soon")
    with pytest.raises(ConfigError, match="--session-gap needs --time-col"):
        SessionOptions(session_gap=60)
    with pytest.raises(ConfigError, match="--where 'event' is invalid") as caught:
        Where.parse("event")
    assert (caught.value.param, caught.value.value) == ("where", "event")
