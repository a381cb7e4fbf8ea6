"""Streaming ingestion: batch by batch gives exactly the sessions of a plain reference."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from item2vec.corpus.events import open_source
from item2vec.corpus.options import SessionOptions
from item2vec.corpus.sequences import load_corpus

Row = tuple[str | None, str, int]


def reference(rows: list[Row], gap: float | None, drop_repeats: bool, min_length: int) -> list[list[str]]:
    """Sessions the slow, obvious way: per user, sort by time (stable), split, dedupe, filter."""
    users: dict[str, list[tuple[int, str]]] = {}
    for user, item, time in rows:
        if user is not None:
            users.setdefault(user, []).append((time, item))
    out = []
    for events in users.values():
        events.sort(key=lambda e: e[0])
        session: list[str] = []
        last_time = None
        for time, item in events:
            if last_time is not None and gap is not None and time - last_time > gap:
                out.append(session)
                session = []
            if not (drop_repeats and session and session[-1] == item):
                session.append(item)
            last_time = time
        out.append(session)
    return sorted(s for s in out if len(s) >= min_length)


def write_csv(path: Path, rows: list[Row]) -> None:
    lines = ["user,item,time"] + [f"{u or ''},{i},{t}" for u, i, t in rows]
    path.write_text("\n".join(lines) + "\n")


rows_strategy = st.lists(
    st.tuples(
        st.one_of(st.none(), st.sampled_from(["u1", "u2", "u3", "u4", "u5"])),
        st.sampled_from(["a", "b", "c", "d", "0042", "85123A"]),
        st.integers(1_600_000_000, 1_600_000_050),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=rows_strategy,
    gap=st.one_of(st.none(), st.integers(1, 20)),
    drop_repeats=st.booleans(),
    min_length=st.integers(1, 3),
)
def test_streamed_sessions_equal_the_reference(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rows: list[Row],
    gap: int | None,
    drop_repeats: bool,
    min_length: int,
) -> None:
    monkeypatch.setattr("item2vec.corpus.events._BATCH_BYTES", 64)  # several batches even for tiny files
    monkeypatch.setattr("item2vec.corpus.ingest._PENDING_ENTRIES", 3)  # and several dictionary merges
    path = tmp_path / "events.csv"
    write_csv(path, rows)
    options = SessionOptions(
        user_col="user",
        item_col="item",
        time_col="time",
        session_gap=gap,
        drop_repeats=drop_repeats,
        min_length=min_length,
    )
    expected = reference(rows, gap, drop_repeats, min_length)
    if not expected:
        return
    corpus = load_corpus([open_source(str(path))], None, options)
    assert sorted(corpus.sequences) == expected
    assert corpus.stats.events_read == len(rows)
    assert corpus.stats.tokens == sum(map(len, expected))


def test_sorted_input_is_detected_and_not_sorted_again(tmp_path: Path) -> None:
    rows: list[Row] = [("u1", "a", 1), ("u1", "b", 2), ("u2", "c", 1), ("u2", "a", 5), ("u2", "d", 5)]
    write_csv(tmp_path / "sorted.csv", rows)
    write_csv(tmp_path / "shuffled.csv", [rows[3], rows[0], rows[4], rows[2], rows[1]])
    options = SessionOptions(user_col="user", item_col="item", time_col="time")
    ordered = load_corpus([open_source(str(tmp_path / "sorted.csv"))], None, options)
    shuffled = load_corpus([open_source(str(tmp_path / "shuffled.csv"))], None, options)
    assert ordered.stats.input_sorted is True
    assert shuffled.stats.input_sorted is False
    assert ordered.sequences == [["a", "b"], ["c", "a", "d"]]
    assert sorted(shuffled.sequences) == sorted(ordered.sequences)


def test_ties_in_time_keep_file_order(tmp_path: Path) -> None:
    write_csv(tmp_path / "e.csv", [("u1", "b", 5), ("u1", "a", 5), ("u1", "c", 1)])
    corpus = load_corpus(
        [open_source(str(tmp_path / "e.csv"))],
        None,
        SessionOptions(user_col="user", item_col="item", time_col="time"),
    )
    assert corpus.sequences == [["c", "b", "a"]]
    assert corpus.stats.input_sorted is False


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_other_formats_stream_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    monkeypatch.setattr("item2vec.corpus.events._BATCH_ROWS", 3)
    rows: list[Row] = [(f"u{n % 4}", f"i{n % 7}", 1_600_000_000 + n) for n in range(40)]
    path = tmp_path / f"events.{fmt}"
    if fmt == "parquet":
        users, items, times = zip(*rows)
        pq.write_table(pa.table({"user": users, "item": items, "time": list(times)}), path)
    else:
        path.write_text("".join(json.dumps({"user": u, "item": i, "time": t}) + "\n" for u, i, t in rows))
    options = SessionOptions(user_col="user", item_col="item", time_col="time")
    corpus = load_corpus([open_source(str(path))], None, options)
    assert sorted(corpus.sequences) == reference(rows, None, True, 2)


def test_where_on_the_item_column_itself(tmp_path: Path) -> None:
    from item2vec.corpus.options import Where

    write_csv(tmp_path / "e.csv", [("u1", "a", 1), ("u1", "b", 2), ("u1", "c", 3)])
    options = SessionOptions(
        user_col="user", item_col="item", time_col="time", where=(Where.parse("item!=b"),)
    )
    corpus = load_corpus([open_source(str(tmp_path / "e.csv"))], None, options)
    assert corpus.sequences == [["a", "c"]]
    assert corpus.stats.rows_dropped == {"--where item!=b": 1}
