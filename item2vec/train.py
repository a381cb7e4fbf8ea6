"""The one place that builds gensim's Word2Vec (skip-gram with negative sampling)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from item2vec.config import TrainConfig
from item2vec.errors import EmptyResultError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


@dataclass(frozen=True)
class Progress:
    """A progress report: epoch (1-based), share of all epochs done, throughput, ETA."""

    epoch: int
    epochs: int
    fraction: float
    items_per_second: float
    eta_seconds: float


ProgressCallback = Callable[[Progress], None]
# Called after each epoch with (epoch, ids, current vectors); it may raise to stop training.
EpochCallback = Callable[[int, list[str], "NDArray[np.float32]"], None]


@dataclass
class Trained:
    """What training produced: vectors, vocabulary with counts, output weights, statistics."""

    ids: list[str]
    counts: list[int]
    vectors: NDArray[np.float32]
    syn1neg: NDArray[np.float32]
    dropped: dict[str, int]
    seconds: float
    items_trained: int

    @property
    def items_per_second(self) -> float:
        return self.items_trained / self.seconds if self.seconds > 0 else 0.0


class EpochCorpus:
    """Iterate the sequences once per pass; reshuffle each basket per pass for set context.

    The first pass is gensim's vocabulary scan; the following ones are training epochs,
    reported to ``progress``. Shuffling is seeded by (seed, pass), so runs repeat exactly.
    """

    def __init__(
        self,
        sequences: list[list[str]],
        *,
        config: TrainConfig,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.sequences = sequences
        self.shuffle = config.context == "set"
        self.seed = config.seed
        self.epochs = config.epochs
        self.progress = progress
        self.passes = 0
        self.total = sum(len(s) for s in sequences) * config.epochs
        self.done = 0
        self.started = 0.0

    def __iter__(self) -> Iterator[list[str]]:
        current = self.passes
        self.passes += 1
        if current == 0 or (not self.shuffle and self.progress is None):
            return iter(self.sequences)  # nothing to add: gensim reads the list directly
        if not self.started:
            self.started = time.monotonic()
        return self._epoch(current)

    def _epoch(self, epoch: int) -> Iterator[list[str]]:
        rng = random.Random(self.seed * 1_000_003 + epoch) if self.shuffle else None
        last = time.monotonic()
        for number, seq in enumerate(self.sequences):
            self.done += len(seq)
            if rng is not None:
                seq = seq[:]
                rng.shuffle(seq)
            yield seq
            if self.progress is not None and number % 512 == 0:
                now = time.monotonic()
                if now - last >= 0.25:
                    last = now
                    self._report(epoch, now)
        if self.progress is not None:
            self._report(epoch, time.monotonic())

    def _report(self, epoch: int, now: float) -> None:
        assert self.progress is not None
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        remaining = (self.total - self.done) / rate if rate else 0.0
        fraction = self.done / self.total if self.total else 1.0
        self.progress(Progress(epoch, self.epochs, fraction, rate, remaining))


def train(
    sequences: list[list[str]],
    *,
    config: TrainConfig,
    progress: ProgressCallback | None = None,
    on_epoch: EpochCallback | None = None,
) -> Trained:
    """Train skip-gram with negative sampling on ``sequences``.

    ``context="window"`` uses gensim's (shrinking) window over the order given. ``"set"``
    treats each sequence as an unordered basket: items are reshuffled every epoch and a fixed
    window is used, so every item sees a fresh random sample of ~2*window basket mates per
    epoch at linear cost.

    ``on_epoch`` is called after every epoch with the vectors so far (``tune`` uses it to
    stop hopeless trials early); an exception it raises ends training and propagates.

    Raises:
        EmptyResultError: every item is below ``min_count``.
    """
    from gensim.models import Word2Vec

    logging.getLogger("gensim").setLevel(logging.ERROR)
    corpus = EpochCorpus(sequences, config=config, progress=progress)
    model = Word2Vec(
        sg=1,
        hs=0,
        vector_size=config.dim,
        window=config.window,
        negative=config.negative,
        ns_exponent=config.ns_exponent,
        sample=config.sample,
        min_count=config.min_count,
        max_final_vocab=config.max_vocab,
        alpha=config.alpha,
        seed=config.seed,
        workers=config.workers,
        epochs=config.epochs,
        shrink_windows=config.context == "window",
    )
    model.build_vocab(corpus, keep_raw_vocab=True)
    raw = dict(model.raw_vocab)
    model.raw_vocab = {}
    if len(model.wv) == 0:
        raise EmptyResultError(_all_below_message(raw, config.min_count))
    started = time.perf_counter()
    callbacks = [_epoch_callback(on_epoch)] if on_epoch is not None else []
    _, items_trained = model.train(
        corpus, total_examples=model.corpus_count, epochs=config.epochs, callbacks=callbacks
    )
    seconds = time.perf_counter() - started
    ids = list(model.wv.index_to_key)
    kept = set(ids)
    return Trained(
        ids=ids,
        counts=[int(model.wv.get_vecattr(i, "count")) for i in ids],
        vectors=model.wv.vectors,
        syn1neg=model.syn1neg,
        dropped={k: int(v) for k, v in raw.items() if k not in kept},
        seconds=seconds,
        items_trained=int(items_trained),
    )


def _epoch_callback(on_epoch: EpochCallback) -> object:
    from gensim.models.callbacks import CallbackAny2Vec

    class EpochEnd(CallbackAny2Vec):  # type: ignore[misc]
        def __init__(self) -> None:
            self.epoch = 0

        def on_epoch_end(self, model: object) -> None:
            self.epoch += 1
            wv = model.wv  # type: ignore[attr-defined]
            on_epoch(self.epoch, list(wv.index_to_key), wv.vectors)

    return EpochEnd()


def _all_below_message(raw: dict[str, int], min_count: int) -> str:
    ranked = sorted(raw.values(), reverse=True)
    suggest = ranked[min(len(ranked), 100) - 1] if ranked else 1
    return (
        f"all {len(raw):,} items are below --min-count {min_count} "
        f"(the most frequent occurs {ranked[0] if ranked else 0:,} times): "
        f"use --min-count {max(1, suggest)} or lower, or train on more data"
    )
