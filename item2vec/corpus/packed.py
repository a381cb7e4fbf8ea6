"""The corpus: sequences of item ids, held packed as integer codes.

A packed corpus is three arrays — every token's item code, session after session
(``codes``, int32), where each session starts (``bounds``, int64, one more than the number
of sessions) and the item id of each code (``names``) — about 4 bytes a token, against ~60
for Python lists of strings. Lists are built only when a caller asks for ``sequences``, and
training streams them a block at a time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

# gensim silently truncates sentences longer than this; longer sequences are split instead.
MAX_SEQUENCE = 10_000
_BLOCK_TOKENS = 1 << 18  # tokens turned into Python lists at a time while streaming


@dataclass
class CorpusStats:
    """What reading and sessionizing did, for the summary and model.json."""

    input_format: str = ""
    inputs: list[str] = field(default_factory=list)
    events_read: int = 0
    rows_dropped: dict[str, int] = field(default_factory=dict)
    sessions: int = 0
    sessions_dropped_short: int = 0
    tokens: int = 0
    input_sorted: bool | None = None

    def drop(self, reason: str, rows: int) -> None:
        if rows:
            self.rows_dropped[reason] = self.rows_dropped.get(reason, 0) + int(rows)

    def as_dict(self) -> dict[str, Any]:
        """model.json's ``input`` record: ``inputs`` as given (for display), ``input_paths`` absolute."""
        record = {k: v for k, v in self.__dict__.items() if v is not None}
        record["input_paths"] = [absolute_input(name) for name in self.inputs]
        return record


def absolute_input(name: str) -> str:
    """A local input path made absolute (so ``evaluate`` finds it from any directory); stdin and URIs as given."""
    import os

    if name in ("-", "<stdin>") or "://" in name:
        return name
    return os.path.abspath(name)


@dataclass
class Packed:
    """Sequences as integer codes: sequence ``i`` is ``names[codes[bounds[i]:bounds[i + 1]]]``."""

    codes: NDArray[np.int32]
    bounds: NDArray[np.int64]
    names: NDArray[np.object_]

    def __len__(self) -> int:
        return len(self.bounds) - 1

    @property
    def tokens(self) -> int:
        return int(self.bounds[-1] - self.bounds[0]) if len(self.bounds) else 0

    def counts(self) -> NDArray[np.int64]:
        """Occurrences of each code."""
        import numpy as np

        return np.bincount(self.codes, minlength=len(self.names)).astype(np.int64)

    @classmethod
    def from_lists(cls, sequences: list[list[str]]) -> Packed:
        """Pack Python lists (codes in order of first appearance)."""
        import numpy as np

        index: dict[str, int] = {}
        codes = np.fromiter(
            (index.setdefault(item, len(index)) for seq in sequences for item in seq),
            dtype=np.int32,
            count=sum(len(s) for s in sequences),
        )
        bounds = np.zeros(len(sequences) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in sequences], out=bounds[1:])
        return cls(codes, bounds, np.asarray(list(index), dtype=object))

    def lists(self, seed: int | None = None) -> Iterator[list[str]]:
        """Yield each sequence as a list of ids, built a block at a time.

        With ``seed``, every sequence comes out shuffled (for set context), reproducibly.
        """
        import numpy as np

        rng = np.random.default_rng(seed) if seed is not None else None
        start, n = 0, len(self)
        while start < n:
            stop = int(np.searchsorted(self.bounds, self.bounds[start] + _BLOCK_TOKENS, side="right"))
            stop = min(max(stop - 1, start + 1), n)
            lo, hi = int(self.bounds[start]), int(self.bounds[stop])
            codes = self.codes[lo:hi]
            local = self.bounds[start : stop + 1] - lo
            if rng is not None:
                session = np.repeat(np.arange(stop - start), np.diff(local))
                codes = codes[np.lexsort((rng.random(len(codes)), session))]
            tokens = self.names[codes].tolist()
            edges = local.tolist()
            for a, b in itertools.pairwise(edges):
                yield tokens[a:b]
            start = stop

    def write_codes(self, handle: BinaryIO) -> None:
        """Write one line per sequence of space-separated codes (gensim's ``corpus_file``).

        Codes, not ids, so that ids with spaces or odd characters survive; the text is made
        by Arrow a block at a time.
        """
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        ends = np.zeros(len(self.codes), dtype=bool)
        ends[self.bounds[1:] - 1] = True
        for lo in range(0, len(self.codes), _BLOCK_TOKENS * 4):
            hi = min(lo + _BLOCK_TOKENS * 4, len(self.codes))
            text = pc.cast(pa.array(self.codes[lo:hi]), pa.string())
            seps = pc.if_else(pa.array(ends[lo:hi]), "\n", " ")
            joined = pc.binary_join_element_wise(text, seps, "")
            offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32)
            first, last = offsets[joined.offset], offsets[joined.offset + len(joined)]
            handle.write(memoryview(joined.buffers()[2])[first:last])

    def to_lists(self) -> list[list[str]]:
        return list(self.lists())

    def split_long(self, limit: int = MAX_SEQUENCE) -> Packed:
        """Cut sequences longer than ``limit`` into pieces of at most ``limit``."""
        import numpy as np

        lengths = np.diff(self.bounds)
        if not len(lengths) or lengths.max() <= limit:
            return self
        pieces = (lengths + limit - 1) // limit
        starts = np.repeat(self.bounds[:-1], pieces)
        first = np.repeat(np.cumsum(pieces) - pieces, pieces)
        starts = starts + (np.arange(len(starts)) - first) * limit
        return Packed(self.codes, np.append(starts, self.bounds[-1]), self.names)


class Corpus:
    """Sequences of item ids plus what it took to make them.

    Built from a :class:`Packed` corpus (the readers) or from Python lists (callers that
    make sequences themselves); either view is available and made on first use.
    """

    def __init__(self, sequences: list[list[str]] | Packed, stats: CorpusStats) -> None:
        self._lists = sequences if isinstance(sequences, list) else None
        self._packed = sequences if isinstance(sequences, Packed) else None
        self.stats = stats

    @property
    def sequences(self) -> list[list[str]]:
        """The sequences as Python lists (built once, on first use)."""
        if self._lists is None:
            assert self._packed is not None
            self._lists = self._packed.to_lists()
        return self._lists

    @property
    def packed(self) -> Packed:
        if self._packed is None:
            assert self._lists is not None
            self._packed = Packed.from_lists(self._lists)
        return self._packed

    @property
    def data(self) -> list[list[str]] | Packed:
        """Whichever form the corpus already has (packed when read from files)."""
        return self._packed if self._packed is not None else self.sequences

    def __len__(self) -> int:
        return len(self._packed) if self._packed is not None else len(self.sequences)
