"""SIGTERM and Ctrl-C while a command runs: raised in the main thread, so the same clean-up runs."""

from __future__ import annotations

import _thread
import functools
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # SIGTERM: 128 + 15, as shells report it


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C, so that the same clean-up runs."""


class Interrupt(KeyboardInterrupt):
    """Ctrl-C (SIGINT) as our handler raises it: a KeyboardInterrupt that can be traced (weakref)."""


class _Signals:
    """What the running command was sent: the first signal, and the exception it raised.

    The handler never raises inside importlib's own code (a module lock's clean-up runs as a
    weakref callback, where an exception is swallowed, and where one raised between taking and
    releasing the import lock leaves it held: the background import of gensim then waits
    forever and so does the main thread that joins it). There a helper thread calls it again a
    millisecond later. An interrupt swallowed anyway (a ``__del__``, a weakref callback) reaches
    ``sys.unraisablehook``, which has it raised again the same way.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self.pending: weakref.ref[KeyboardInterrupt] | None = None
        self.done = False  # the command has finished or handled the interrupt: ignore repeats
        self.again: signal.Signals | None = None
        self.wake = threading.Event()

    def handler(self, signum: int, frame: FrameType | None) -> None:
        if self.done:
            return
        if frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
            self.later(signum)  # never inside the import machinery: again in a moment
            return
        if self.pending is not None and self.pending() is not None:
            return  # the first one is still unwinding: let its clean-up finish
        self.received = self.received or signum
        exc: KeyboardInterrupt = Terminated() if signum == signal.SIGTERM else Interrupt()
        self.pending = weakref.ref(exc)
        raise exc

    def unraisable(self, previous: Callable[[Any], object], unraisable: Any) -> None:
        exc = unraisable.exc_value
        if isinstance(exc, (Terminated, Interrupt)) and not self.done:
            self.pending = None
            self.later(signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
            return
        previous(unraisable)

    def later(self, signum: int) -> None:
        """Have the signal handled again once the main thread has left the code it is in."""
        self.again = signal.Signals(signum)
        self.wake.set()

    def redeliver(self) -> None:
        """The helper thread: a millisecond after ``later``, the signal again for the main thread."""
        while True:
            self.wake.wait()
            self.wake.clear()
            if self.done:
                return
            time.sleep(0.001)
            signum, self.again = self.again, None
            if signum is not None and not self.done:
                _thread.interrupt_main(signum)

    def exit_code(self, code: int) -> int:
        """A command that stopped on an interrupt (exit 130) after SIGTERM exits 143."""
        return EXIT_TERMINATED if code == EXIT_INTERRUPTED and self.received == signal.SIGTERM else code


_SIGNALS = _Signals()


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """While a command runs, SIGTERM raises ``Terminated`` and Ctrl-C ``Interrupt``, every time.

    Repeats wait for the clean-up of the first; the handlers and ``sys.unraisablehook`` are
    put back at the end.
    """
    global _SIGNALS
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    outer, state = _SIGNALS, _Signals()
    _SIGNALS = state
    previous = {signum: signal.signal(signum, state.handler) for signum in (signal.SIGINT, signal.SIGTERM)}
    hook = sys.unraisablehook
    sys.unraisablehook = functools.partial(state.unraisable, hook)
    threading.Thread(target=state.redeliver, name="item2vec-signals", daemon=True).start()
    try:
        yield
    finally:
        state.done = True
        state.wake.set()  # the helper thread ends
        sys.unraisablehook = hook
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        _SIGNALS = outer


def exit_code(code: int) -> int:
    """A command that stopped on an interrupt (exit 130) after SIGTERM exits 143; other codes stay."""
    return _SIGNALS.exit_code(code)


def command_done() -> None:
    """The command has finished or handled its interrupt: a signal after this changes nothing."""
    _SIGNALS.done = True
