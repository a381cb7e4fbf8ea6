"""Embeddings: vectors, vocabulary and metadata, and the questions asked of them."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from item2vec.errors import Bare, EmptyResultError, UnknownItemError, param

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

_SCAN_ABOVE, _SCANS = 100_000, 8  # cold start: scan for a few lookups before building the index
_TERM = re.compile(r"(?:^|\s+)([+-])(?=\s|$)")


@dataclass(frozen=True)
class Neighbour:
    """One answer row: the query it answers, its rank (1-based), the item and its score."""

    query: str
    rank: int
    item: str
    score: float
    name: str | None = None

    def as_row(self, with_names: bool) -> dict[str, Any]:
        row: dict[str, Any] = {"query": self.query, "rank": self.rank, "item": self.item}
        row["score"] = round(self.score, 6)
        if with_names:
            row["name"] = self.name or ""
        return row


@dataclass
class Embeddings:
    """Item vectors with their ids, counts, optional names and the model's metadata."""

    ids: list[str]
    vectors: NDArray[np.float32]
    counts: NDArray[np.int64]
    names: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    _scans: int = field(default=0, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @cached_property
    def index(self) -> dict[str, int]:
        return {item: i for i, item in enumerate(self.ids)}

    @cached_property
    def unit(self) -> NDArray[np.float32]:
        """Vectors scaled to unit length (zero vectors stay zero)."""
        return unit_rows(self.vectors)

    @cached_property
    def inverse_norms(self) -> NDArray[np.float32]:
        """1 / length of each vector (1 for zero vectors): cosines straight from the mapped file.

        Scoring ``q · v / |v|`` reads the memory-mapped vectors in place, where ``unit`` would
        first copy all of them (seconds and gigabytes at a million items).
        """
        import numpy as np

        norms = np.sqrt(np.einsum("ij,ij->i", self.vectors, self.vectors, dtype=np.float32))
        norms[norms == 0] = 1.0
        inverse: NDArray[np.float32] = (1.0 / norms).astype(np.float32)
        return inverse

    def name(self, item: str) -> str | None:
        return self.names.get(item)

    def position(self, item: str) -> int:
        """Row of ``item``; raises UnknownItemError that says why it is missing."""
        row = self.row(item)
        if row is None:
            raise UnknownItemError(self.unknown_message(item))
        return row

    def row(self, item: str) -> int | None:
        """Row of ``item``, or None. The first few lookups in a large model scan the id list
        (tens of ms) rather than build ``index`` (about a second at a million items)."""
        if "index" not in self.__dict__ and len(self.ids) > _SCAN_ABOVE and self._scans < _SCANS:
            self._scans += 1
            try:
                return self.ids.index(item)
            except ValueError:
                return None
        return self.index.get(item)

    def unknown_message(self, item: str) -> str:
        base = f"item {item!r} is not in the model ({len(self):,} items"
        if item in self.dropped:
            min_count = self.meta.get("params", {}).get("min_count", "?")
            return (
                f"{base}; it occurred {self.dropped[item]:,} times, below {param('min_count', Bare(min_count))}): "
                f"retrain with a lower {param('min_count')} to keep it"
            )
        hints = self.suggest(item)
        hint = f"; did you mean {', '.join(hints)}?" if hints else ""
        return f"{base}; it was not in the training data){hint}"

    def suggest(self, text: str, limit: int = 3) -> list[str]:
        """Close ids, then items whose name contains ``text``, quoted for a message."""
        pool = self.ids if len(self.ids) <= 200_000 else [i for i in self.ids if i[:1] == text[:1]]
        close = difflib.get_close_matches(text, pool, n=limit, cutoff=0.6)
        found = [repr(c) for c in close]
        named = [p for p in self.find_by_name(text) if self.ids[p] not in close]
        for position in named[: limit - len(found)]:
            found.append(f"{self.ids[position]!r} ({self.names[self.ids[position]]})")
        return found

    def find_by_name(self, text: str) -> list[int]:
        """Rows whose name contains ``text`` (case-insensitive), most frequent first."""
        needle = text.casefold()
        if not needle or not self.names:
            return []
        rows = [self.index[i] for i, n in self.names.items() if needle in n.casefold() and i in self.index]
        return sorted(rows, key=lambda r: (-int(self.counts[r]), r))

    def resolve(
        self, items: list[str], titles: tuple[str, ...] = (), *, skip_unknown: bool = False
    ) -> tuple[list[str], list[str]]:
        """Query ids from ids and name searches, with notes for stderr.

        A name search takes the most frequent matching item. With ``skip_unknown``, unknown
        ids become notes instead of errors (an error remains if nothing is left).
        """
        found: list[str] = []
        notes: list[str] = []
        for item in items:
            if self.row(item) is not None:
                found.append(item)
            elif skip_unknown:
                notes.append(f"skipped: {self.unknown_message(item)}")
            else:
                self.position(item)
        for text in titles:
            rows = self.find_by_name(text)
            if not rows:
                where = (
                    f"the model has no item names (train with {param('items')})"
                    if not self.names
                    else "no item name contains it"
                )
                raise UnknownItemError(
                    f"{param('title', text)} matches nothing: {where}", param="title", value=text
                )
            best = self.ids[rows[0]]
            if len(rows) > 1:
                notes.append(
                    f"{param('title', text)} matches {len(rows):,} items; using the most frequent, "
                    f"{best!r} ({self.names[best]}); pass an id to choose another"
                )
            found.append(best)
        if not found:
            raise EmptyResultError(f"none of the {len(items):,} query items is in the model")
        return found, notes


def unit_rows(matrix: NDArray[Any]) -> NDArray[np.float32]:
    """Rows scaled to unit length, as float32 (zero rows stay zero)."""
    import numpy as np

    rows: NDArray[np.float32] = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    result: NDArray[np.float32] = (rows / norms).astype(np.float32, copy=False)
    return result


def parse_analogy(expression: str, embeddings: Embeddings | None = None) -> tuple[list[str], list[str]]:
    """``"king - man + woman"`` → (["king", "woman"], ["man"]).

    Terms are separated by `` + `` or `` - `` with spaces around the sign, so ids that contain
    a hyphen (``sku-9``) stay whole. A leading ``-`` makes the first term negative. With
    ``embeddings``, a term that is not an item but holds a sign or a space (``"king-man+woman"``,
    ``"king woman"``) is refused with the syntax, and the rewrite when its parts are items.

    Raises:
        EmptyResultError: a term is empty.
        UnknownItemError: a term that is not an item looks like a mis-written expression.
    """
    text = expression.strip()
    sign = "+"
    if text[:1] in "+-" and len(text) > 1 and text[1:2].isspace():
        sign, text = text[0], text[1:].strip()
    parts = _TERM.split(text)
    terms = [(sign, parts[0]), *zip(parts[1::2], parts[2::2])]
    positive = [t.strip() for s, t in terms if s == "+" and t.strip()]
    negative = [t.strip() for s, t in terms if s == "-" and t.strip()]
    if not text or len(positive) + len(negative) < len(terms):
        raise EmptyResultError(f"analogy {expression!r} has an empty term: write it as 'king - man + woman'")
    if embeddings is not None:
        for term in positive + negative:
            if embeddings.row(term) is None and _LOOKS_COMBINED.search(term):
                raise UnknownItemError(_syntax_message(embeddings, term))
    return positive, negative


_LOOKS_COMBINED = re.compile(r"[\s+-]")
_PIECES = re.compile(r"[+-]|[^\s+-]+")


def _syntax_message(embeddings: Embeddings, term: str) -> str:
    """Why ``term`` is read as one item, how to write the analogy, and its rewrite if that works."""
    sign, words = "+", []
    for piece in _PIECES.findall(term):
        if piece in "+-":
            sign = piece
        else:
            words.append((sign, piece))
            sign = "+"
    syntax = "an analogy's terms are separated by ' + ' and ' - ' with spaces around each sign"
    rewritable = len(words) > 1 or (len(words) == 1 and words[0][0] == "-")
    if rewritable and all(embeddings.row(w) is not None for _, w in words):
        rewrite = "".join(
            (f"{'- ' if s == '-' else ''}{w}" if i == 0 else f" {s} {w}") for i, (s, w) in enumerate(words)
        )
        return f"item {term!r} is not in the model; did you mean {rewrite!r}? ({syntax})"
    return f"{embeddings.unknown_message(term)} ({syntax}, as in 'king - man + woman')"


def format_analogy(positive: list[str], negative: list[str]) -> str:
    text = " + ".join(positive)
    return text + "".join(f" - {n}" for n in negative)
