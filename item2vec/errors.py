"""The exceptions item2vec raises on purpose.

Every message names the bad value and the fix. The CLI turns these into ``Error: ...``
and exit status 1 in one place; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class Item2VecError(Exception):
    """Base class for every error item2vec raises on purpose."""


class InputError(Item2VecError):
    """An input file is missing, empty, malformed, or has the wrong columns."""


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
    """An evaluation metric is below the bar set with ``--fail-under``."""


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
