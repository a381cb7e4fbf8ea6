"""The exceptions item2vec raises on purpose.

Every message names the bad value and the fix. The CLI turns these into ``Error: ...``
and exit status 1 in one place (``exit_code``: 3 for a ``--fail-under`` bar that is not met);
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

# What each column role is, for a message on a command that cannot set it (``report``).
_ROLE_WORDS = {
    "user_col": "user column",
    "session_col": "session column",
    "item_col": "item column",
    "time_col": "time column",
    "where": "--where column",
}


class Item2VecError(Exception):
    """Base class for every error item2vec raises on purpose."""

    exit_code = 1


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
        """The one-line message; ``flags`` maps a role to the command's flag (None: ``--role``)."""
        names = listing([repr(c) for c in self.missing])
        plural = "columns" if len(self.missing) > 1 else "column"
        text = f"{self.source}: no {plural} {names}; the columns are: {listing(self.existing)}"
        if self.hint:  # e.g. the header read as one column: a --delimiter hint says more than roles
            return f"{text} {self.hint}"
        roles = [role for column, role in self.roles if column in self.missing]
        roles = list(dict.fromkeys(roles))
        if flags is None:
            flags = {role: "--" + role.replace("_", "-") for role in roles}
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


def cut(text: str, limit: int = 80) -> str:
    """``text`` cut to at most ``limit`` characters (an ellipsis marks the cut), for messages."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def listing(names: list[str], limit: int = 10) -> str:
    """The first ``limit`` of ``names`` (each cut), comma-separated, then ``… and N more``.

    No message should be a line of 76 KB because a header had 5,000 columns.
    """
    shown = ", ".join(cut(name) for name in names[:limit])
    return shown + (f", … and {len(names) - limit:,} more" if len(names) > limit else "")
