"""Candidates from one user's history, and the user vector they are scored from.

A user's query is the decayed mean of their most recent items: the unit vectors of the last
``history_size`` known items, weighted ``decay ** age`` (age 0 = most recent). Candidates are
scored in the scorer's mode (``item2vec.query.scoring``): by cosine to the input vectors
(``similar``) or to the output vectors (``next``), or ``hybrid``, which adds the history's
transition rows summed with the same weights. Everything the user has seen is left out, unless
the model's scoring has a repeat weight (``item2vec.query.repeats``: seen items come back, raised
by their recency and frequency in the whole history) or ``keep_seen`` says otherwise.

Every user of a log at once: :mod:`item2vec.query.batch` (histories read by
:mod:`item2vec.query.histories`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from item2vec.errors import Bare, ConfigError, param
from item2vec.model.embeddings import Embeddings, Neighbour, unit_rows
from item2vec.model.modes import DECAY as DECAY  # re-exported: query and the API take it from here
from item2vec.model.modes import HISTORY_SIZE as HISTORY_SIZE  # re-exported, as DECAY
from item2vec.query.scoring import Scorer, open_parts, query_weights

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


@dataclass(frozen=True)
class Recommendation:
    """Candidates for one history, and notes for stderr (skipped unknown items)."""

    neighbours: list[Neighbour]
    notes: list[str]
    used: list[str]


def check_decay(decay: float, history_size: int) -> None:
    if not 0 < decay <= 1:
        expected = "a weight in (0, 1]"
        raise ConfigError(f"{param('decay', Bare(decay))} is invalid: use {expected}; 1 is a plain mean",
                          param="decay", value=decay, expected=expected)  # fmt: skip
    if history_size < 1:
        raise ConfigError(f"{param('history_size', Bare(history_size))} is invalid: use 1 or more",
                          param="history_size", value=history_size, expected="1 or more")  # fmt: skip


def recommend(
    embeddings: Embeddings,
    history: list[str],
    k: int = 10,
    *,
    decay: float | None = None,
    history_size: int = HISTORY_SIZE,
    keep_seen: bool | None = None,
    scorer: Scorer | None = None,
) -> Recommendation:
    """Candidates for one user from their history (oldest first), scored by ``scorer``
    (``item2vec.query.scoring.make_scorer``; None: exact ``similar``).

    ``decay`` (None: the scorer's, the model's recorded history decay, else ``DECAY``) weighs the
    items ``decay ** age``. Seen items (the history's own) follow the scorer's repeat weight when
    ``keep_seen`` is None:
    left out without one, brought back raised by it with one. ``keep_seen=True`` keeps them (raised
    by the repeat weight if there is one), ``False`` leaves them out.

    Unknown items are skipped with a note; an error remains if none is known.

    Raises:
        EmptyResultError: no item of the history is in the model.
        ConfigError: ``decay`` outside (0, 1] or ``history_size`` below 1.
    """
    scorer = scorer or Scorer(open_parts(embeddings, None))
    decay = scorer.scoring.decay if decay is None else decay
    check_decay(decay, history_size)
    known, notes = embeddings.resolve(history, skip_unknown=True)
    recent = known[-history_size:]
    rows = [embeddings.position(item) for item in recent]
    weights = [decay ** (len(rows) - 1 - age) for age in range(len(rows))]
    repeats = scorer.scoring.repeat is not None and keep_seen is not False
    keep = repeats or bool(keep_seen)
    exclude = set() if keep else {embeddings.position(item) for item in known}
    seen = None
    if repeats:
        from item2vec.query.repeats import drops_repeats, history_recency

        seen = history_recency(len(embeddings), [embeddings.position(item) for item in known], DECAY)
        if known and drops_repeats(embeddings.meta):  # never its own next item: not worth a slot
            exclude = {embeddings.position(known[-1])}
    answer = scorer.answer(["history"], query_weights(len(embeddings), [rows], [weights]), [exclude], k, seen)
    return Recommendation(answer, notes, recent)


@dataclass(frozen=True)
class HistoryQuery:
    """A history's query vector, the items it is made of, every known item, and notes."""

    vector: NDArray[np.float32]
    used: list[str]
    known: list[str]
    notes: list[str]


def history_query(
    embeddings: Embeddings, history: list[str], *, decay: float = DECAY, history_size: int = HISTORY_SIZE
) -> HistoryQuery:
    """The user vector ``recommend`` queries with in the ``similar`` mode: the decayed mean of a
    history's unit input vectors (oldest first), as the module docstring defines it, divided by
    the sum of the weights. Unknown items are skipped with a note. Raises as :func:`recommend` does.
    """
    import numpy as np

    check_decay(decay, history_size)
    known, notes = embeddings.resolve(history, skip_unknown=True)
    recent = known[-history_size:]
    rows = np.array([embeddings.position(item) for item in recent], dtype=np.int64)
    weights = decay ** np.arange(len(rows) - 1, -1, -1, dtype=np.float64)
    total = (weights[:, None] * unit_rows(embeddings.vectors[rows])).sum(axis=0) / weights.sum()
    return HistoryQuery(total.astype(np.float32), recent, known, notes)
