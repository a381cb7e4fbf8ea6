"""Ctrl-C exits 130 and SIGTERM 143, every time: early in train, in tune, and when swallowed.

Issue 22, items 7 and 14. Python swallows an exception raised inside a weakref callback or a
``__del__``: a signal handled there (importlib's module-lock clean-up is one) was lost, or left
the import lock held so that train waited forever on its background import of gensim.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from item2vec.cli.signals import Interrupt, Terminated, sigterm_raises
from item2vec.model.store import load
from tests.test_cli import FAST, planted_rows, run

HANG_GUARD = 60  # seconds: a bound for a slow machine that only a hang reaches, not a timing


@pytest.fixture
def events_csv(tmp_path: Path) -> Path:
    path = tmp_path / "events.csv"
    path.write_text("user_id,item_id,ts\n" + "".join(f"{u},{i},{t}\n" for u, i, t in planted_rows()))
    return path


class _Swallowed:
    """An object whose finalizer receives the signal: Python would drop the exception raised there."""

    def __init__(self, signum: int) -> None:
        self.signum = signum

    def __del__(self) -> None:
        signal.raise_signal(self.signum)


@pytest.mark.parametrize(("signum", "kind"), [(signal.SIGTERM, Terminated), (signal.SIGINT, Interrupt)])
def test_a_signal_swallowed_by_a_finalizer_is_raised_again(signum: int, kind: type) -> None:
    with pytest.raises(kind), sigterm_raises():
        _Swallowed(signum)  # dropped at once: the handler runs inside __del__
        for _ in range(HANG_GUARD * 100):
            time.sleep(0.01)  # the interrupt arrives at the next bytecode: long before the end
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_repeated_signal_waits_for_the_clean_up_of_the_first() -> None:
    cleaned = []
    with pytest.raises(Terminated), sigterm_raises():
        try:
            signal.raise_signal(signal.SIGTERM)
        finally:
            signal.raise_signal(signal.SIGTERM)  # a second one during the clean-up is ignored
            cleaned.append(True)
    assert cleaned == [True]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
@pytest.mark.slow
def test_a_signal_in_the_first_seconds_of_train_exits_with_its_code_every_time(
    tmp_path: Path, events_csv: Path, signum: int, code: int
) -> None:
    """While the input is read and gensim imported in the background (the deadlock of item 7)."""
    for delay in (0.4, 0.7, 1.0, 1.3):
        out = tmp_path / f"m{delay}"
        command = [sys.executable, "-m", "item2vec", "train", str(events_csv), "-o", str(out), *FAST]
        proc = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        try:
            time.sleep(delay)
            proc.send_signal(signum)
            _, err = proc.communicate(timeout=HANG_GUARD)
        except subprocess.TimeoutExpired:
            pytest.fail(f"train hung after a signal at {delay} s")
        finally:
            proc.kill()
        if proc.returncode == 0:
            continue  # this machine finished first: nothing to interrupt
        # Before Python has started the command the default action ends it: the shell says 128 + n.
        assert proc.returncode in (code, -signum), (delay, err.decode())
        # Never half a model: none, or (a signal just after the rename into place) a whole one.
        assert not out.exists() or len(load(out)) > 0, (delay, err.decode())


@pytest.mark.parametrize(
    ("signum", "code", "word"), [(signal.SIGTERM, 143, "Terminated"), (signal.SIGINT, 130, "Interrupted")]
)
@pytest.mark.slow
def test_tune_stopped_before_its_first_trial_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int, code: int, word: str
) -> None:
    from item2vec.evaluation import tune as tune_module

    def stopped(*_args: object, **_kwargs: object) -> object:
        signal.raise_signal(signum)
        raise AssertionError("the signal did not stop the trial")

    monkeypatch.setattr(tune_module, "train", stopped)
    data = tmp_path / "events.csv"
    data.write_text("user_id,item_id\n" + "".join(f"u{u},{u % 3}{s}\n" for u in range(30) for s in range(4)))
    config = tmp_path / "best.toml"
    result = run(
        "tune", data, data, "--trials", "3", "--fix", "dim=8", "--min-count", "1", "-c", config, "-q"
    )
    assert result.exit_code == code, result.output
    assert result.stderr == f"\n{word}: nothing was written.\n"
    assert not config.exists()


@pytest.mark.slow
def test_tune_on_sigterm_keeps_the_best_trial_and_exits_143(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from item2vec.evaluation import tune as tune_module

    trained = tune_module.train
    calls = []

    def second_terminated(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            signal.raise_signal(signal.SIGTERM)
        return trained(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tune_module, "train", second_terminated)
    data = tmp_path / "events.csv"
    data.write_text("user_id,item_id\n" + "".join(f"u{u},{u % 3}{s}\n" for u in range(30) for s in range(4)))
    config = tmp_path / "best.toml"
    result = run(
        "tune", data, data, "--trials", "3", "--fix", "dim=8", "--fix", "epochs=2", "--min-count", "1",
        "--workers", "1", "-c", config, "-q", "-f", "json",
    )  # fmt: skip
    assert result.exit_code == 143, result.output
    assert json.loads(result.stdout)["interrupted"] is True
    assert "[train]" in config.read_text()


def test_no_signal_handler_is_left_behind() -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    hook = sys.unraisablehook
    with sigterm_raises():
        assert signal.getsignal(signal.SIGINT) is not before[signal.SIGINT]
    assert {s: signal.getsignal(s) for s in before} == before
    assert sys.unraisablehook is hook
    assert os.getpid()  # the test process itself was never signalled outside the block


# --- usage errors exit 2 (item 14) ---------------------------------------------------------------


def test_a_bad_ks_list_is_a_usage_error_like_k_0(tiny_model: Path, tmp_path: Path) -> None:
    test = tmp_path / "test.txt"
    test.write_text("king queen\napple pear\n")
    zero = run("evaluate", tiny_model, test, "-k", "0", "--no-baselines")
    listed = run("evaluate", tiny_model, test, "--ks", "10,abc", "--no-baselines")
    assert (zero.exit_code, listed.exit_code) == (2, 2)
    assert listed.stderr.endswith(
        "Error: Invalid value for '--ks': '10,abc' is not a list of cut-offs: give whole numbers of 1 or more, "
        "such as 10 or 10,20,50\n"
    )


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("where = [5]", 'where = 5 is invalid: use a filter in quotes, such as "Quantity>0" (COL=VALUE'),
        ('[train]\nwhere = "shop"', 'where = "shop" is invalid: use COL=VALUE, COL!=VALUE'),
    ],
)
def test_a_config_filter_that_is_no_filter_is_a_usage_error(tmp_path: Path, toml: str, expected: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(toml + "\n")
    data = tmp_path / "events.csv"
    data.write_text("user_id,item_id\nu1,a\nu1,b\n")
    result = run("train", data, "-o", tmp_path / "m", "--config", config)
    assert result.exit_code == 2, result.output
    assert f"Error: Invalid value for '--config': config file {str(config)!r}: {expected}" in result.stderr
    assert not (tmp_path / "m").exists()
