"""The exceptions item2vec raises on purpose, and how a parameter is named in their messages.

Every message names the bad value and the fix. An error carries fields as well as words: which
parameter (``param``, by its Python name), which value, what was expected, the fix. The core
never spells a command-line flag: a message names a parameter with :func:`param`, and each edge
spells it in its own terms when it shows the error (:meth:`Item2VecError.render`): the CLI as
the flag of the command that ran (``--min-count 2``), the Python API as a keyword argument
(``min_count=2``), the HTTP service as a query parameter. ``str(error)`` spells flags, as the
command line shows them.

The CLI turns these into ``Error: ...`` and exit status 1 in one place (``exit_code``: 3 for a
bar set with ``fail_under`` that is not met); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

# What each column role is, for a message on a command that cannot set it (``report``).
_ROLE_WORDS = {
    "user_col": "user column",
    "session_col": "session column",
    "item_col": "item column",
    "time_col": "time column",
    "where": "--where column",
}


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()
"""No value given: a parameter named without one, a field left empty."""

# A parameter named in a message: START name [VALUE value-text] END, spelled by the edge.
_START, _VALUE, _END = "\x1f", "\x1e", "\x1d"
_MARKER = re.compile(f"{_START}([^{_START}{_VALUE}{_END}]+)(?:{_VALUE}([^{_END}]*))?{_END}")
_BOOL = {"True": True, "False": False}

Namer = Callable[[str, "str | None"], str]
"""Spells one parameter named in a message: (Python name, value text or None) → words."""


def param(name: str, value: Any = UNSET) -> str:
    """``name`` (a parameter's Python name), with ``value``, as a message names it.

    The edge that shows the message spells it: ``param("min_count", 2)`` reads ``--min-count 2``
    on the command line and ``min_count=2`` in Python; a flag's ``param("force", True)`` reads
    ``--force`` and ``force=True``. Strings are quoted as ``repr`` quotes them.
    """
    text = "" if value is UNSET else _VALUE + _value_text(value)
    return f"{_START}{name}{text}{_END}"


class Bare(str):
    """A value a message shows as it is, unquoted: a choice word or a filter (``--format torch``).

    ``param("format", Bare("torch"))`` reads ``--format torch`` and ``format=torch``.
    """

    def __repr__(self) -> str:
        return str(self)


def _value_text(value: Any) -> str:
    text = repr(value) if not isinstance(value, bool) else str(value)
    return text.replace(_START, "").replace(_VALUE, "").replace(_END, "")


def spell(message: str, namer: Namer) -> str:
    """``message`` with each parameter it names spelled by ``namer``."""
    return _MARKER.sub(lambda m: namer(m.group(1), m.group(2)), message)


def flag_name(name: str, value: str | None, flags: Mapping[str, str] | None = None) -> str:
    """The command-line spelling: ``--min-count 2``; a switch alone (``--force``, ``--no-baselines``).

    ``flags`` maps a parameter to the command's own flag (for a switch: ``name=True`` /
    ``name=False`` to its on and off flags); without it the flag is ``--`` + the name in dashes.
    """
    flags = flags or {}
    if value in _BOOL:
        switch = flags.get(f"{name}={value}")
        if switch:
            return switch
        dashed = name.replace("_", "-")
        return f"--{dashed}" if _BOOL[value] else f"--no-{dashed}"
    flag = flags.get(name, "--" + name.replace("_", "-"))
    return flag if value is None else f"{flag} {value}"


def python_name(name: str, value: str | None, names: Mapping[str, str] | None = None) -> str:
    """The Python spelling: ``min_count=2``, ``force=True``; a name alone reads ``min_count=``."""
    name = (names or {}).get(name, name)
    return f"{name}=" if value is None else f"{name}={value}"


class Item2VecError(Exception):
    """Base class for every error item2vec raises on purpose.

    Args:
        message: the one-line message; it names parameters with :func:`param`. Left empty, it is
            made from the fields: ``{param} {value!r} is invalid: use {expected}``.
        param: the parameter at fault, by its Python name (``hybrid_weight``), if one is.
        value: the value given.
        expected: what would have been accepted, in words (``a number of 0 or more``).
        fix: what to do, in words, where it is not ``expected``.
    """

    exit_code = 1

    def __init__(
        self,
        message: str = "",
        *,
        param: str | None = None,
        value: Any = UNSET,
        expected: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.param, self.value, self.expected, self.fix = param, value, expected, fix
        if not message:
            message = _from_fields(param, value, expected, fix)
        super().__init__(message)
        self.namer: Namer = flag_name

    @property
    def raw(self) -> str:
        """The message with each parameter marked, unspelled (see :func:`param`)."""
        return str(self.args[0]) if self.args else ""

    def render(self, namer: Namer | None = None) -> str:
        """The message, each parameter spelled by ``namer`` (default: this error's own)."""
        return spell(self.raw, namer or self.namer)

    def __str__(self) -> str:
        return self.render()


def _from_fields(name: str | None, value: Any, expected: str | None, fix: str | None) -> str:
    what = param(name, value) if name else repr(value) if value is not UNSET else "a value"
    words = f"{what} is invalid"
    if expected:
        words += f": use {expected}"
    if fix:
        words += f"; {fix}"
    return words


class InputError(Item2VecError):
    """An input file is missing, empty, malformed, or has the wrong columns."""


class MissingColumnsError(InputError):
    """A table lacks columns that options asked for.

    ``roles`` pairs each asked-for column with the option (by its parameter name: ``user_col``,
    ``where``, ``id_col``…) that named it, so the message can name the flag that fixes it; the CLI
    passes the flags of the command that ran (:meth:`message`), so the hint never names a flag
    that command does not have.
    """

    def __init__(
        self,
        source: str,
        missing: Sequence[str],
        existing: Sequence[str],
        roles: Sequence[tuple[str, str]] = (),
        hint: str = "",
    ) -> None:
        self.source, self.missing, self.existing = source, list(missing), list(existing)
        self.roles, self.hint = tuple(roles), hint
        super().__init__(self.message())

    def with_roles(self, roles: Sequence[tuple[str, str]]) -> MissingColumnsError:
        """The same error, with the column roles of the caller that asked for the columns."""
        return MissingColumnsError(self.source, self.missing, self.existing, roles, self.hint)

    def message(self, flags: Mapping[str, str] | None = None) -> str:
        """The one-line message; ``flags`` maps a role to the command's flag (None: the role as a
        :func:`param`, which each edge spells)."""
        names = listing([repr(c) for c in self.missing])
        plural = "columns" if len(self.missing) > 1 else "column"
        text = f"{self.source}: no {plural} {names}; the columns are: {listing(self.existing)}"
        if self.hint:  # e.g. the header read as one column: a --delimiter hint says more than roles
            return f"{text} {self.hint}"
        roles = [role for column, role in self.roles if column in self.missing]
        roles = list(dict.fromkeys(roles))
        if flags is None:
            flags = {role: param(role) for role in roles}
        settable = list(dict.fromkeys(flags[r] for r in roles if r in flags))
        fixed = [_ROLE_WORDS.get(r, r.replace("_", " ")) for r in roles if r not in flags]
        hints = []
        if settable:
            which = "one that exists" if len(self.missing) == 1 else "ones that exist"
            hints.append(f"named by {', '.join(settable)}: choose {which}")
        if fixed:
            hints.append(f"the model's {', '.join(fixed)}: give files with the columns it was trained on")
        return text + (f" ({'; '.join(hints)})" if hints else "")


@contextmanager
def column_roles(roles: Sequence[tuple[str, str]]) -> Iterator[None]:
    """Give a :class:`MissingColumnsError` raised inside the block these column roles."""
    try:
        yield
    except MissingColumnsError as exc:
        if exc.roles:
            raise
        raise exc.with_roles(roles) from None


class ConfigError(Item2VecError):
    """A parameter, preset or ``--config`` file is invalid."""


class EmptyResultError(Item2VecError):
    """Nothing is left to train on or to answer with."""


class ModelError(Item2VecError):
    """A model directory is missing, corrupt, or of another format version."""


class UnknownItemError(Item2VecError):
    """A queried item is not in the model."""


class OutputExistsError(Item2VecError):
    """The output path already holds something that must not be overwritten."""


class MissingDependencyError(Item2VecError):
    """An optional dependency (an extra such as ``item2vec[plot]``) is not installed."""


class BelowThresholdError(Item2VecError):
    """An evaluation metric is below the bar set with ``--fail-under`` (exit status 3)."""

    exit_code = 3


class OutputError(Item2VecError):
    """An output cannot be written: no permission, a read-only file system, or no space left."""


def check_choice(
    name: str,
    value: object,
    choices: Sequence[str],
    *,
    quoted: bool = False,
    error: type[Item2VecError] = ConfigError,
) -> None:
    """Refuse ``value`` for the parameter ``name`` unless it is one of ``choices``.

    The message reads ``{name} {value!r} is unknown: use one of a, b, c`` (``quoted``: ``'a', 'b'
    or 'c'``), with ``param``, ``value`` and ``expected`` set.

    Raises:
        ConfigError (or ``error``): another value.
    """
    if isinstance(value, str) and value in choices:
        return
    if quoted:
        expected = ", ".join(repr(c) for c in choices[:-1]) + f" or {choices[-1]!r}"
    else:
        expected = f"one of {', '.join(choices)}"
    raise error(
        f"{param(name, value)} is unknown: use {expected}", param=name, value=value, expected=expected
    )


def cut(text: str, limit: int = 80) -> str:
    """``text`` cut to at most ``limit`` characters (an ellipsis marks the cut), for messages."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def listing(names: list[str], limit: int = 10) -> str:
    """The first ``limit`` of ``names`` (each cut), comma-separated, then ``… and N more``.

    No message should be a line of 76 KB because a header had 5,000 columns.
    """
    shown = ", ".join(cut(name) for name in names[:limit])
    return shown + (f", … and {len(names) - limit:,} more" if len(names) > limit else "")
