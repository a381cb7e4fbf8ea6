"""No hangs: an exception raised while gensim reads the corpus ends training with that exception.

Issue 22, item 6. gensim reads the training passes in a thread of its own; when that thread
died (``progress=False`` called as a function, a callback or reader that raised), gensim
waited for it forever. Every test runs training in a thread with a hang guard: a bound that
only a hang reaches, not a timing.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import item2vec
from item2vec.training.config import TrainConfig
from item2vec.training.gensim_engine import Progress, progress_callback, show_progress, train

HANG_GUARD = 60.0


def finishes(run: Callable[[], Any]) -> Any:
    """``run()``'s result (or its exception), failing the test if it never returns."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = run()
        except BaseException as exc:  # handed to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_GUARD)
    if thread.is_alive():
        pytest.fail("training hung")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def baskets() -> list[list[str]]:
    rng = random.Random(0)
    return [[f"{c}{rng.randrange(6)}" for _ in range(5)] for c in "abc" for _ in range(40)]


QUICK: dict[str, Any] = {"dim": 8, "epochs": 3, "workers": 1, "min_count": 1, "seed": 1}


@pytest.mark.parametrize("progress", [False, None])
def test_train_with_progress_off_finishes(progress: bool | None) -> None:
    model = finishes(lambda: item2vec.train(baskets(), progress=progress, calibrate=False, **QUICK))
    assert len(model) == 18


def test_progress_true_shows_the_default_line(capsys: pytest.CaptureFixture[str]) -> None:
    config = TrainConfig.from_preset("recsys", **QUICK, context="set")
    trained = finishes(lambda: train(baskets(), config=config, progress=True))
    assert len(trained.ids) == 18
    err = capsys.readouterr().err
    assert err.startswith("\repoch 1/3") and err.endswith("\n")


class Broken(Exception):
    pass


@pytest.mark.parametrize("context", ["window", "set"])
def test_a_progress_callback_that_raises_ends_training_with_its_exception(context: str) -> None:
    seen: list[Progress] = []

    def fails(progress: Progress) -> None:
        seen.append(progress)
        raise Broken("the callback failed")

    config = TrainConfig.from_preset("recsys", **QUICK, context=context)
    with pytest.raises(Broken, match="the callback failed"):
        finishes(lambda: train(baskets(), config=config, progress=fails))
    assert len(seen) == 1  # the first report stopped training: no later epoch ran


class FailsOnSecondRead(list[list[str]]):
    """A corpus whose reader fails on the first training pass (after the vocabulary scan)."""

    reads = 0

    def __iter__(self) -> Iterator[list[str]]:
        self.reads += 1
        if self.reads > 1:
            raise OSError("the disk went away")
        return super().__iter__()


def test_a_reader_error_during_training_ends_it_with_that_error() -> None:
    config = TrainConfig.from_preset("recsys", **QUICK, context="set")  # set context reads each pass
    with pytest.raises(OSError, match="the disk went away"):
        finishes(lambda: train(FailsOnSecondRead(baskets()), config=config))


def test_the_api_passes_a_failing_callback_through() -> None:
    def fails(_progress: Progress) -> None:
        raise Broken("stop")

    with pytest.raises(Broken):
        finishes(lambda: item2vec.train(baskets(), progress=fails, calibrate=False, context="set", **QUICK))


def test_progress_options() -> None:
    assert progress_callback(True) is show_progress
    assert progress_callback(False) is None and progress_callback(None) is None
    assert progress_callback(print) is print
    with pytest.raises(TypeError, match="progress must be True, False, None or a function"):
        progress_callback("yes")  # type: ignore[arg-type]
