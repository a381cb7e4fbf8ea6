"""Answer rows for Python: ``(item, score)`` pairs, as gensim's ``most_similar`` returns, with a name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from item2vec.model.embeddings import Neighbour


class _Pair(NamedTuple):
    item: str
    score: float


class ItemScore(_Pair):
    """One answer: the item and its score, and the item's name (None when it has none).

    It is a 2-tuple, so it unpacks and compares like gensim's ``(key, score)`` pairs
    (``for item, score in model.similar("a")``); ``name`` is an attribute beside the pair.
    """

    name: str | None

    def __new__(cls, item: str, score: float, name: str | None = None) -> ItemScore:
        self = super().__new__(cls, item, score)
        self.name = name
        return self

    def __repr__(self) -> str:  # the score to 6 places, as the CLI prints it; .score is exact
        return f"ItemScore(item={self.item!r}, score={round(self.score, 6)!r}, name={self.name!r})"

    def __getnewargs__(self) -> tuple[str, float, str | None]:
        return (self.item, self.score, self.name)

    @classmethod
    def _make(cls, iterable: Iterable[Any]) -> ItemScore:  # type: ignore[override]
        return cls(*iterable)

    def _replace(self, **changes: object) -> ItemScore:
        values = {"item": self.item, "score": self.score, "name": self.name, **changes}
        return ItemScore(**values)  # type: ignore[arg-type]


def item_scores(neighbours: Iterable[Neighbour]) -> list[ItemScore]:
    """The core's answer rows as :class:`ItemScore` records, in rank order."""
    return [ItemScore(n.item, n.score, n.name) for n in neighbours]
