"""Held-out cases for calibrating a model's default scoring while it trains (``train --calibrate``).

No fixed way of scoring wins on every log (docs/presets.md), so ``train`` measures on the log
itself: it holds out the last item of a sample of sequences, trains on the rest, ranks each
held-out item from the one before it in every score mode (``item2vec.evaluation.calibrate``,
handed in by the caller) and records the winner in model.json's "scoring". The vocabulary and
its counts come from the whole corpus, held-out items included. An item whose every event was
held out would keep the vectors gensim drew for it, so it is folded in afterwards: a pass over
the tails of its sequences (it and the ``window`` items before it), the same epochs, that
updates its vectors only. The other held-out events (at most ``MAX_SHARE`` of the corpus, the
end of a sequence each) do not reach the vectors; the transitions count every event.

How many cases: at most ``MAX_CASES`` and ``MAX_SHARE`` of the tokens, fewer on a large
catalogue (``CELL_BUDGET`` scores a mode, so calibrating stays a small part of training). Where
the last items of distinct sequences give ``MIN_CASES`` or more, that is the sample. A small log
uses what there is instead: up to ``PER_SEQUENCE`` of a sequence's last items (a suffix, so no
two items that were apart become neighbours in training; every sequence keeps 2+ items), each a
case with its own query (the item before it) and prefix, as many sequences as possible first.
Cases of one sequence are correlated, so calibration clusters them by sequence (``groups``) when
it weighs a challenger (item2vec.evaluation.calibration_stats). Below ``FLOOR_CASES`` calibration
is skipped, saying why: there, against the three standard errors a challenger must clear, only a
difference far beyond any measured between score modes could win, and the verdict would rest on
a handful of hits (100 cases at a typical 10-20% HR@10 is 10-20 hits; a per-case NDCG@10
difference's spread of about 0.2 puts the bar near 0.06 NDCG@10 at 100 cases, 0.03 at 455).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from item2vec.corpus.packed import Packed
from item2vec.model.modes import (
    CALIBRATION_STEPS,
    DECAY,
    HISTORY_CASES,
    HISTORY_CELLS,
    HISTORY_DECAYS,
    HISTORY_SIZE,
    MIN_HISTORY_CASES,
    TRANSITION_DIRECTION,
    TRANSITION_DIRECTIONS,
    TRANSITION_STEPS,
)
from item2vec.training.build_transitions import build_kinds_for_model

if TYPE_CHECKING:
    import threading

    import numpy as np
    from numpy.typing import NDArray

    from item2vec.model.embeddings import Embeddings
    from item2vec.model.transitions import TransitionMatrix

MIN_CASES = 500  # last items of distinct sequences enough on their own; below, more per sequence
FLOOR_CASES = 100  # below this, calibration is skipped (see the module docstring)
PER_SEQUENCE = 3  # the most items held out of one sequence (its last ones), on a small log
MAX_CASES = 5000
MAX_SHARE = 0.05  # of the corpus's tokens
CELL_BUDGET = 1 << 29  # held-out cases x catalogue per mode tried: about a minute for the grid here
MIN_LENGTH = 3  # a sampled sequence keeps 2+ items to train on, its last one the query
KEPT = MIN_LENGTH - 1  # items a sampled sequence keeps to train on, however many are held out


class Calibrator(Protocol):
    """(embeddings trained without the held-out items, their output vectors, the transitions of
    the reduced corpus by (steps, direction) counted, the held-out cases; ``fixed``: a scoring record the caller
    gave, whose mode is kept) -> model.json's "scoring" record."""

    def __call__(
        self,
        embeddings: Embeddings,
        output: NDArray[np.float32],
        transitions: Mapping[tuple[int, str], TransitionMatrix],
        held_out: HeldOut,
        *,
        fixed: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class HeldOut:
    """The corpus with the last ``taken`` items of ``sampled`` sequences removed, and those items
    as cases: by sequence, oldest first within one (one each unless the log is small)."""

    full: Packed
    reduced: Packed
    sampled: NDArray[np.int64]  # sequence numbers, ascending, distinct
    window: int
    taken: NDArray[np.int64] | None = None  # per sampled sequence, items held out; None: 1 each

    def __len__(self) -> int:
        return len(self.groups)

    @property
    def groups(self) -> NDArray[np.int64]:
        """Each case's sequence number (the cases of one sequence are correlated)."""
        import numpy as np

        if self.taken is None:
            return self.sampled
        return np.repeat(self.sampled, self.taken)

    @property
    def positions(self) -> NDArray[np.int64]:
        """Each held-out item's position in ``full.codes``."""
        import numpy as np

        ends = self.full.bounds[self.sampled + 1]
        if self.taken is None:
            return ends - 1
        back = _within(self.taken)  # 0 for a sequence's first case, ...
        return np.repeat(ends - self.taken, self.taken) + back

    @property
    def queries(self) -> list[str]:
        """The item before each held-out one."""
        return [str(x) for x in self.full.names[self.full.codes[self.positions - 1]].tolist()]

    @property
    def prefixes(self) -> list[list[str]]:
        """The items before each held-out one in its sequence, oldest first (its whole history)."""
        starts = self.full.bounds[self.groups].tolist()
        names = self.full.names
        codes = self.full.codes
        return [[str(x) for x in names[codes[a:b]].tolist()] for a, b in zip(starts, self.positions.tolist())]

    @property
    def targets(self) -> list[str]:
        """Each held-out item."""
        return [str(x) for x in self.full.names[self.target_codes].tolist()]

    @property
    def target_codes(self) -> NDArray[np.int32]:
        """Each held-out item's code in ``full.names``."""
        target: NDArray[np.int32] = self.full.codes[self.positions]
        return target

    def unseen(self) -> NDArray[np.int64]:
        """Codes of the held-out items with no event left in the reduced corpus."""
        import numpy as np

        left = self.reduced.counts()
        codes = np.unique(self.target_codes)
        unseen: NDArray[np.int64] = codes[left[codes] == 0].astype(np.int64)
        return unseen

    def tails(self, codes: NDArray[np.int64] | None = None) -> Packed:
        """Each held-out item (of ``codes`` only, if given) with the ``window`` items before it."""
        import numpy as np

        positions, groups = self.positions, self.groups
        if codes is not None:
            picked = np.isin(self.target_codes, codes)
            positions, groups = positions[picked], groups[picked]
        starts = np.maximum(self.full.bounds[groups], positions - self.window)
        ends = positions + 1
        lengths = ends - starts
        at = np.repeat(starts, lengths) + _within(lengths)
        bounds = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=bounds[1:])
        return Packed(self.full.codes[at], bounds, self.full.names)

    def transitions(
        self,
        ids: list[str],
        directions: tuple[str, ...] = TRANSITION_DIRECTIONS,
        *,
        also: Iterable[str] = (),
        stop: threading.Event | None = None,
    ) -> dict[tuple[int, str], TransitionMatrix]:
        """The reduced corpus's transitions over ``ids`` by (steps, direction), all from one
        pass: what followed, over each of ``CALIBRATION_STEPS`` (the 1-step counts are the
        10-step pass's nearest), and both ways over the default steps, for the query items and
        ``also`` (the items whole-history cases query with) only: a case is ranked from its
        query items' rows, so the other rows (nearly the whole matrix on a large catalogue) are
        never counted. ``stop``: set it to end the count early (CountStopped)."""
        kinds = tuple((steps, TRANSITION_DIRECTION) for steps in CALIBRATION_STEPS)
        kinds += tuple((TRANSITION_STEPS, d) for d in directions if d != TRANSITION_DIRECTION)
        only = [*self.queries, *also]
        return build_kinds_for_model(self.reduced, ids, kinds, only=only, stop=stop)

    def history_cases(self, catalogue: int) -> NDArray[np.int64] | str:
        """Which cases calibration also ranks from their whole history (``HISTORY_CASES`` evenly
        spaced, fewer on a large catalogue: ``HISTORY_CELLS`` scores of ``catalogue`` items in
        all), or why none are."""
        import numpy as np

        budget = min(len(self), HISTORY_CASES, HISTORY_CELLS // max(1, len(HISTORY_DECAYS) * catalogue))
        if budget < MIN_HISTORY_CASES:
            return (f"{catalogue:,} items allow {budget:,} whole-history cases within the budget, fewer "
                    f"than {MIN_HISTORY_CASES}: decay {DECAY:g}, seen items left out")  # fmt: skip
        every: NDArray[np.int64] = np.unique(np.linspace(0, len(self) - 1, budget).round().astype(np.int64))
        return every

    def history_items(self, catalogue: int) -> list[str]:
        """The items the whole-history cases query with (the latest ``HISTORY_SIZE`` of each)."""
        import numpy as np

        every = self.history_cases(catalogue)
        if isinstance(every, str):
            return []
        starts = self.full.bounds[self.groups[every]]
        ends = self.positions[every]
        codes = np.concatenate([self.full.codes[max(a, b - HISTORY_SIZE) : b] for a, b in zip(starts, ends)])
        return [str(x) for x in self.full.names[np.unique(codes)].tolist()]

    def record(self) -> dict[str, Any]:
        """model.json's account of the sample (with several cases of a sequence, how many
        sequences they come from and the most of one)."""
        record: dict[str, Any] = {
            "cases": len(self),
            "sequences": len(self.full),
            "held_out_share": round(len(self) / max(1, self.full.tokens), 4),
            "folded_in": len(self.unseen()),
        }
        if len(self) > len(self.sampled):
            assert self.taken is not None
            record["from_sequences"] = len(self.sampled)
            record["per_sequence"] = int(self.taken.max())
        return record


def hold_out(packed: Packed, *, seed: int, window: int, catalogue: int) -> HeldOut | str:
    """Sample sequences of ``MIN_LENGTH``+ items and hold out their last item (on a small log,
    up to their last ``PER_SEQUENCE``); or why not.

    ``catalogue`` is about how many items will be ranked (it bounds the cases by CELL_BUDGET).
    The sample is drawn with ``seed``, so a run repeats.
    """
    import numpy as np

    lengths = np.diff(packed.bounds)
    eligible = np.flatnonzero(lengths >= MIN_LENGTH)
    budget = min(MAX_CASES, int(MAX_SHARE * packed.tokens), CELL_BUDGET // max(1, catalogue))
    rng = np.random.default_rng(seed)
    if min(len(eligible), budget) >= MIN_CASES:
        sampled = np.sort(rng.choice(eligible, size=min(budget, len(eligible)), replace=False)).astype(
            np.int64
        )
        return _held(packed, sampled, np.ones(len(sampled), dtype=np.int64), window)
    room = np.minimum(PER_SEQUENCE, lengths[eligible] - KEPT)  # what each may give, keeping 2 items
    wanted = min(int(room.sum()), budget)
    if wanted < FLOOR_CASES:
        return (
            f"{len(eligible):,} sequences of {MIN_LENGTH}+ items allow {max(0, wanted):,} held-out cases, "
            f"fewer than the {FLOOR_CASES:,} calibration needs"
        )
    taken = _spread(room, wanted, rng)
    some = taken > 0
    return _held(packed, eligible[some].astype(np.int64), taken[some], window)


def _spread(room: NDArray[np.int64], wanted: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """How many cases each sequence gives: ``wanted`` in all, at most ``room`` each, one from as
    many sequences as possible first, then a second from as many, and so on; a round that cannot
    take every sequence left draws its sequences with ``rng``."""
    import numpy as np

    taken = np.zeros(len(room), dtype=np.int64)
    left = wanted
    for depth in range(1, int(room.max(initial=0)) + 1):
        able = np.flatnonzero(room >= depth)
        if len(able) > left:
            able = rng.choice(able, size=left, replace=False)
        taken[able] += 1
        left -= len(able)
        if not left:
            break
    return taken


def _held(packed: Packed, sampled: NDArray[np.int64], taken: NDArray[np.int64], window: int) -> HeldOut:
    """``packed`` with the last ``taken`` items of each ``sampled`` sequence held out."""
    import numpy as np

    drop = np.zeros(len(packed), dtype=np.int64)
    drop[sampled] = taken
    lo = int(packed.bounds[0])
    keep = np.ones(packed.tokens, dtype=bool)
    ends = packed.bounds[sampled + 1]
    keep[np.repeat(ends - taken, taken) + _within(taken) - lo] = False
    codes = packed.codes[lo : int(packed.bounds[-1])][keep]
    bounds = np.zeros(len(packed) + 1, dtype=np.int64)
    np.cumsum(np.diff(packed.bounds) - drop, out=bounds[1:])
    reduced = Packed(codes, bounds, packed.names)
    one_each = bool((taken == 1).all())
    return HeldOut(
        full=packed, reduced=reduced, sampled=sampled, window=window, taken=None if one_each else taken
    )


def _within(lengths: NDArray[np.int64]) -> NDArray[np.int64]:
    """0, 1, ..., length - 1 for each of ``lengths``, one after another."""
    import numpy as np

    total = int(lengths.sum())
    firsts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    within: NDArray[np.int64] = np.arange(total, dtype=np.int64) - firsts
    return within
