"""Candidate filters in Python terms: ``exclude=``, ``only=`` and ``where=`` of ``Model.similar``
and ``Model.recommend`` (:mod:`item2vec.query.filters`), their notes as warnings.

- ``exclude``: an id, or ids, never to answer with;
- ``only``: an id, or ids, to answer with and no others;
- ``where``: filters on the items table's columns (``id``, ``name``, ``count``): a mapping of
  column to a value (equal) or a list of values (one of them), e.g. ``{"name": "Red Apple"}``,
  or filters in ``--where``'s syntax, e.g. ``"count>=20"`` or ``["count>=20", "name!=King"]``.

They apply before the top ``k`` is cut, exactly (and with ``approx=True`` the index's shortlist
is widened until ``k`` pass). Ids the model lacks are warned about and ignored; filters that
leave no item raise ``EmptyResultError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from item2vec.api.checks import warn_notes
from item2vec.query.filters import candidate_filter, shortfall_notes

if TYPE_CHECKING:
    from item2vec.model.embeddings import Neighbour
    from item2vec.query.scoring import Scorer

Ids = str | Iterable[str]
WhereArg = Mapping[str, Any] | str | Sequence[str] | None


def filtered(scorer: Scorer, exclude: Ids, only: Ids | None, where: WhereArg) -> Scorer:
    """``scorer`` answering only with the items the filters keep; ids the model lacks are warned
    about (an :class:`~item2vec.api.errors.Item2VecWarning` each filter).

    Raises:
        ConfigError: a malformed ``where`` filter, or one on a column the items table lacks.
        EmptyResultError: the filters leave no item.
    """
    found = candidate_filter(scorer.embeddings, exclude=exclude, only=only, item_where=where or ())
    if found is None:
        return scorer
    warn_notes(list(found.notes), stacklevel=5)
    return replace(scorer, candidates=found)


def warn_short(scorer: Scorer, answer: list[Neighbour], labels: list[str], k: int) -> None:
    """A warning when the filters left a query with fewer than ``k`` items."""
    if scorer.candidates is not None:
        notes = shortfall_notes(answer, labels, k, scorer.candidates, approx=scorer.approx)
        warn_notes(notes, stacklevel=5)
