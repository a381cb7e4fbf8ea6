"""The held-out corpus's transitions are counted while gensim trains, at every row calibration reads.

A thread of its own (item2vec.training.background) counts them from the moment the vocabulary is
known; calibration takes the result, or the error the count met; a run that fails or is
interrupted stops the count and waits for it, leaving no spilled records behind.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import item2vec
from item2vec.corpus.packed import Packed
from item2vec.model.pair_counts import CountBudget, CountStopped, count_pair_kinds
from item2vec.training import holdout
from item2vec.training.background import InThread
from tests.conftest import planted

# window and epochs given: no small-log trials (they count in the main thread, between trials)
PARAMS: dict[str, Any] = dict(dim=8, window=3, epochs=2, min_count=1, sample=0.0, workers=1, seed=3)


def sequences(tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "walks.txt"
    planted(path, seed=4)
    return [line.split() for line in path.read_text().splitlines() if line.strip()]


# --- the thread ----------------------------------------------------------------------------------


def test_in_thread_hands_over_the_value_or_the_error() -> None:
    assert InThread(lambda stop: 6 * 7, name="t").result() == 42

    def fails(stop: threading.Event) -> int:
        raise OSError("no space left on device")

    with pytest.raises(OSError, match="no space left on device"):
        InThread(fails, name="t").result()


def test_cancel_asks_the_work_to_stop_and_waits_for_it() -> None:
    ended = []

    def waits(stop: threading.Event) -> None:
        assert stop.wait(30)  # set by cancel
        ended.append(True)
        raise CountStopped()

    work = InThread(waits, name="t")
    work.cancel()  # the CountStopped it ends with is dropped
    assert ended == [True]
    assert not work._thread.is_alive()


def test_a_stopped_count_raises_and_leaves_no_spilled_records(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 50, size=4000).astype(np.int32)
    bounds = np.arange(0, 4001, 20, dtype=np.int64)
    tiny = CountBudget(chunk_tokens=100, table_records=200, spill_dir=str(tmp_path))
    stop = threading.Event()
    stop.set()
    with pytest.raises(CountStopped):
        count_pair_kinds(codes, bounds, 50, kinds=((10, False),), keep=5, budget=tiny, stop=stop)
    assert list(tmp_path.iterdir()) == []
    found = count_pair_kinds(
        codes, bounds, 50, kinds=((10, False),), keep=5, budget=tiny, stop=threading.Event()
    )
    assert found[(10, False)][0][-1] > 0 and list(tmp_path.iterdir()) == []  # an unset event: counted


# --- the rows calibration reads ------------------------------------------------------------------


def test_the_whole_history_cases_items_have_their_rows_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(holdout, "MIN_CASES", 1)
    monkeypatch.setattr(holdout, "MAX_SHARE", 1.0)
    lists = [[f"i{(7 * s + j) % 40}" for j in range(12)] for s in range(30)]
    packed = Packed.from_lists(lists)
    held = holdout.hold_out(packed, seed=1, window=3, catalogue=40)
    assert isinstance(held, holdout.HeldOut)
    monkeypatch.setattr(holdout, "MIN_HISTORY_CASES", 1)
    every = held.history_cases(40)
    assert not isinstance(every, str)
    expected = {item for i in every.tolist() for item in held.prefixes[i][-5:]}
    assert set(held.history_items(40)) == expected
    assert expected - set(held.queries)  # items no last-item case queries with
    ids = [f"i{k}" for k in range(40)]
    counted = held.transitions(ids, also=held.history_items(40))
    alone = held.transitions(ids)
    for (steps, direction), matrix in counted.items():
        for item in expected - set(held.queries):
            assert matrix.row(ids.index(item))[0].size > 0, (steps, direction, item)
            assert alone[(steps, direction)].row(ids.index(item))[0].size == 0
        for item in held.queries:  # the rows both count are the same
            row, before = matrix.row(ids.index(item)), alone[(steps, direction)].row(ids.index(item))
            assert row[0].tolist() == before[0].tolist() and row[1].tobytes() == before[1].tobytes()


# --- while gensim trains -------------------------------------------------------------------------


def test_the_count_runs_while_gensim_trains_and_calibration_takes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted_in: list[str] = []
    real = holdout.HeldOut.transitions

    def transitions(self: holdout.HeldOut, ids: list[str], *args: Any, **kwargs: Any) -> Any:
        counted_in.append(threading.current_thread().name)
        return real(self, ids, *args, **kwargs)

    monkeypatch.setattr(holdout.HeldOut, "transitions", transitions)
    model = item2vec.train(sequences(tmp_path), **PARAMS)
    assert counted_in == ["item2vec-held-out-transitions"]  # once, in its own thread
    assert "score" in model.meta["scoring"]  # calibrated on what it counted


def test_calibration_is_the_same_counted_alongside_or_after_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from item2vec.training import pipeline

    lists = sequences(tmp_path)
    alongside = item2vec.train(lists, **PARAMS).meta["scoring"]
    monkeypatch.setattr(pipeline._Calibration, "start_counting", lambda self, ids: None)  # counted in choose
    after = item2vec.train(lists, **PARAMS).meta["scoring"]
    del alongside["calibration"]["seconds"], after["calibration"]["seconds"]
    assert alongside == after


def test_an_error_of_the_count_ends_training_with_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(self: holdout.HeldOut, *args: Any, **kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(holdout.HeldOut, "transitions", full_disk)
    with pytest.raises(OSError, match="No space left on device"):
        item2vec.train(sequences(tmp_path), **PARAMS)


def test_a_failed_training_stops_the_count_and_waits_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state: dict[str, Any] = {}

    def slow(
        self: holdout.HeldOut, ids: list[str], *args: Any, stop: threading.Event | None = None, **kw: Any
    ) -> Any:
        assert stop is not None
        state["thread"] = threading.current_thread()
        state["stopped"] = stop.wait(60)  # until training fails and the pipeline stops it
        raise CountStopped()

    def progress(update: object) -> None:
        time.sleep(0.05)
        raise RuntimeError("the progress display broke")

    monkeypatch.setattr(holdout.HeldOut, "transitions", slow)
    with pytest.raises(RuntimeError, match="the progress display broke"):
        item2vec.train(sequences(tmp_path), progress=progress, **PARAMS)
    assert state["stopped"] is True and not state["thread"].is_alive()
