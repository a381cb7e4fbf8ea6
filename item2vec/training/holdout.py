"""Held-out cases for calibrating a model's default scoring while it trains (``train --calibrate``).

No fixed way of scoring wins on every log (docs/presets.md), so ``train`` measures on the log
itself: it holds out the last item of a sample of sequences, trains on the rest, ranks each
held-out item from the one before it in every score mode (``item2vec.evaluation.calibrate``,
handed in by the caller) and records the winner in model.json's "scoring". The vocabulary and
its counts come from the whole corpus, held-out items included. An item whose every event was
held out would keep the vectors gensim drew for it, so it is folded in afterwards: a pass over
the tails of its sequences (it and the ``window`` items before it), the same epochs, that
updates its vectors only. The other held-out events (at most ``MAX_SHARE`` of the corpus, the
last of a sequence each) do not reach the vectors; the transitions count every event.

How many cases: at most ``MAX_CASES`` and ``MAX_SHARE`` of the tokens, fewer on a large
catalogue (``CELL_BUDGET`` scores a mode, so calibrating stays a small part of training); below
``MIN_CASES`` the sample cannot tell the modes apart and calibration is skipped, saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from item2vec.corpus.packed import Packed
from item2vec.model.modes import CALIBRATION_STEPS
from item2vec.training.build_transitions import build_depths_for_model

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from item2vec.model.embeddings import Embeddings
    from item2vec.model.transitions import TransitionMatrix

MIN_CASES = 500
MAX_CASES = 5000
MAX_SHARE = 0.05  # of the corpus's tokens
CELL_BUDGET = 1 << 29  # held-out cases x catalogue per mode tried: about a minute for the grid here
MIN_LENGTH = 3  # a sampled sequence keeps 2+ items to train on, its last one the query

# (embeddings trained without the held-out items, their output vectors, the transitions of the
# reduced corpus by steps counted, the held-out cases) -> model.json's "scoring" record
Calibrator = Callable[
    ["Embeddings", "NDArray[np.float32]", "Mapping[int, TransitionMatrix]", "HeldOut"], dict[str, Any]
]


@dataclass(frozen=True)
class HeldOut:
    """The corpus with the last item of ``sampled`` sequences removed, and those items as cases."""

    full: Packed
    reduced: Packed
    sampled: NDArray[np.int64]  # sequence numbers, ascending
    window: int

    def __len__(self) -> int:
        return len(self.sampled)

    @property
    def queries(self) -> list[str]:
        """The item before each held-out one."""
        ends = self.full.bounds[self.sampled + 1]
        return [str(x) for x in self.full.names[self.full.codes[ends - 2]].tolist()]

    @property
    def targets(self) -> list[str]:
        """Each held-out item."""
        return [str(x) for x in self.full.names[self.target_codes].tolist()]

    @property
    def target_codes(self) -> NDArray[np.int32]:
        """Each held-out item's code in ``full.names``."""
        target: NDArray[np.int32] = self.full.codes[self.full.bounds[self.sampled + 1] - 1]
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

        sampled = self.sampled if codes is None else self.sampled[np.isin(self.target_codes, codes)]
        starts = np.maximum(self.full.bounds[sampled], self.full.bounds[sampled + 1] - 1 - self.window)
        ends = self.full.bounds[sampled + 1]
        lengths = ends - starts
        positions = np.repeat(ends - lengths.cumsum(), lengths) + np.arange(int(lengths.sum()))
        bounds = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=bounds[1:])
        return Packed(self.full.codes[positions], bounds, self.full.names)

    def transitions(self, ids: list[str]) -> dict[int, TransitionMatrix]:
        """The reduced corpus's transitions over ``ids``, counted over each of
        ``CALIBRATION_STEPS`` in one pass (the 1-step counts are the 10-step pass's nearest),
        for the query items only: a case is ranked from its query's row, so the other rows
        (nearly the whole matrix, the final one's size) are never counted."""
        return build_depths_for_model(self.reduced, ids, CALIBRATION_STEPS, only=self.queries)

    def record(self) -> dict[str, Any]:
        """model.json's account of the sample."""
        return {
            "cases": len(self),
            "sequences": len(self.full),
            "held_out_share": round(len(self) / max(1, self.full.tokens), 4),
            "folded_in": len(self.unseen()),
        }


def hold_out(packed: Packed, *, seed: int, window: int, catalogue: int) -> HeldOut | str:
    """Sample sequences of ``MIN_LENGTH``+ items and hold out their last item; or why not.

    ``catalogue`` is about how many items will be ranked (it bounds the cases by CELL_BUDGET).
    The sample is drawn with ``seed``, so a run repeats.
    """
    import numpy as np

    lengths = np.diff(packed.bounds)
    eligible = np.flatnonzero(lengths >= MIN_LENGTH)
    wanted = min(MAX_CASES, len(eligible), int(MAX_SHARE * packed.tokens), CELL_BUDGET // max(1, catalogue))
    if wanted < MIN_CASES:
        return (
            f"{len(eligible):,} sequences of {MIN_LENGTH}+ items allow {max(0, wanted):,} held-out cases, "
            f"fewer than the {MIN_CASES:,} calibration needs"
        )
    rng = np.random.default_rng(seed)
    sampled = np.sort(rng.choice(eligible, size=wanted, replace=False)).astype(np.int64)
    drop = np.zeros(len(packed), dtype=np.int64)
    drop[sampled] = 1
    lo = int(packed.bounds[0])
    keep = np.ones(packed.tokens, dtype=bool)
    keep[packed.bounds[sampled + 1] - 1 - lo] = False
    codes = packed.codes[lo : int(packed.bounds[-1])][keep]
    bounds = np.zeros(len(packed) + 1, dtype=np.int64)
    np.cumsum(lengths - drop, out=bounds[1:])
    reduced = Packed(codes, bounds, packed.names)
    return HeldOut(full=packed, reduced=reduced, sampled=sampled, window=window)
