"""``train(progress=...)``: a progress bar where a person is watching, nothing where no one is.

The default, ``"auto"``, shows tqdm's bar (``tqdm.auto``: a widget in Jupyter where ipywidgets is
installed, else a text bar) when the code runs in IPython or Jupyter or stderr is a terminal,
and nothing in pipes, scripts with redirected output and tests. ``True`` shows the bar anyway,
``False`` and ``None`` nothing; a function is called with each
:class:`~item2vec.training.progress.Progress` record, as before.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from item2vec.training.progress import Progress, ProgressCallback, ProgressOption, progress_callback

ProgressArg = ProgressOption | Literal["auto"]
_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}"


def interactive() -> bool:
    """Whether a person is likely watching: IPython or Jupyter runs the code, or stderr is a terminal."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    if callable(get_ipython) and get_ipython() is not None:
        return True
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(callable(isatty) and isatty())


class ProgressBar:
    """A tqdm bar fed by Progress records: the share of all epochs done, the epoch, items/s.

    It opens on the first record and closes on the last (or on :meth:`close`, when training fails).
    """

    def __init__(self) -> None:
        self._bar: Any = None

    def __call__(self, progress: Progress) -> None:
        if self._bar is None:
            self._bar = _tqdm()(total=progress.epochs, desc="training", unit="epoch", bar_format=_FORMAT)
        self._bar.n = min(progress.epochs, round(progress.fraction * progress.epochs, 3))
        self._bar.set_postfix_str(
            f"epoch {progress.epoch}/{progress.epochs}, {progress.items_per_second:,.0f} items/s",
            refresh=False,
        )
        self._bar.refresh()
        if progress.fraction >= 1.0:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _tqdm() -> Any:
    """tqdm.auto's bar class, without its warning that ipywidgets is missing (it falls back to text)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm

    return tqdm


def resolve(progress: ProgressArg) -> ProgressCallback | None:
    """The callback ``progress`` stands for: ``"auto"`` the bar when :func:`interactive`, ``True``
    the bar, ``False`` or ``None`` none, a function itself.

    Raises:
        TypeError: anything else (checked before any data is read).
    """
    if isinstance(progress, str):
        if progress != "auto":
            raise TypeError(f"progress must be 'auto', True, False, None or a function, not {progress!r}")
        return ProgressBar() if interactive() else None
    if progress is True:
        return ProgressBar()
    return progress_callback(progress)


@contextmanager
def progress_display(progress: ProgressArg) -> Iterator[ProgressCallback | None]:
    """:func:`resolve`'s callback for the length of a training run; a bar left open is closed."""
    shown = resolve(progress)
    try:
        yield shown
    finally:
        if isinstance(shown, ProgressBar):
            shown.close()
