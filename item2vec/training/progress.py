"""Training progress: the record each epoch reports, the default line, and what ``progress=`` means."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """A progress report: epoch (1-based), share of all epochs done, throughput, ETA."""

    epoch: int
    epochs: int
    fraction: float
    items_per_second: float
    eta_seconds: float


ProgressCallback = Callable[[Progress], None]
# What a caller may pass as ``progress``: a callback, True for the default line on stderr
# (:func:`show_progress`), or False / None for none.
ProgressOption = ProgressCallback | bool | None


def show_progress(progress: Progress) -> None:
    """The default progress display (``progress=True``): one self-overwriting line on stderr."""
    eta = int(progress.eta_seconds)
    sys.stderr.write(
        f"\repoch {progress.epoch}/{progress.epochs}  {progress.fraction:6.1%}  "
        f"{progress.items_per_second:,.0f} items/s  ETA {eta // 60}:{eta % 60:02d}  "
        + ("\n" if progress.fraction >= 1.0 else "")
    )
    sys.stderr.flush()


def progress_callback(progress: ProgressOption) -> ProgressCallback | None:
    """The callback a ``progress`` option stands for: True the default line, False or None none.

    Raises:
        TypeError: anything else that cannot be called.
    """
    if progress is None or progress is False:
        return None
    if progress is True:
        return show_progress
    if not callable(progress):
        raise TypeError(
            "progress must be True, False, None or a function that takes a Progress record, "
            f"not {type(progress).__name__} ({progress!r})"
        )
    return progress
