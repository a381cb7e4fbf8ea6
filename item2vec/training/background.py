"""Work run in a thread of its own while the main thread does something else (gensim training).

The thread is a daemon, so that it never holds the process open; the main thread either takes
its result (:meth:`InThread.result`, which raises what the work raised) or cancels it
(:meth:`InThread.cancel`: the work is handed a ``threading.Event`` to look at, and is waited for).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar, cast

T = TypeVar("T")


class InThread(Generic[T]):
    """``work(stop)`` started in a daemon thread now."""

    def __init__(self, work: Callable[[threading.Event], T], *, name: str) -> None:
        self.stop = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None
        self._done = False
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[threading.Event], T]) -> None:
        try:
            self._value = work(self.stop)
            self._done = True
        except BaseException as exc:  # handed to the main thread by result()
            self._error = exc

    def result(self) -> T:
        """Wait for the work; its value, or the exception it raised (raised here)."""
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        assert self._done, "the work was cancelled"
        return cast(T, self._value)

    def cancel(self) -> None:
        """Ask the work to stop and wait for it to end (whatever it raises then is dropped)."""
        self.stop.set()
        self._thread.join()
        self._error = None
