"""Training gensim's Word2Vec (skip-gram with negative sampling) on a corpus.

Its keyword arguments come from one place, :meth:`TrainConfig.gensim_params
<item2vec.training.config.TrainConfig.gensim_params>`; ``item2vec.training.resume`` rebuilds a
model from a saved model's arrays with the same arguments to continue training (``update``).
The progress record is :mod:`item2vec.training.progress`, the corpus-file feed
:mod:`item2vec.training.corpus_file` (both re-exported here).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from item2vec.corpus.packed import Packed
from item2vec.errors import EmptyResultError, param
from item2vec.training.config import TrainConfig
from item2vec.training.corpus_file import (
    FILE_MIN_TOKENS,
    FILE_MIN_WORKERS,
    choose_feed,
    train_from_file,
    vocab_from_counts,
)
from item2vec.training.holdout import HeldOut
from item2vec.training.progress import (
    Progress,
    ProgressCallback,
    ProgressOption,
    progress_callback,
    show_progress,
)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "FILE_MIN_TOKENS",
    "FILE_MIN_WORKERS",
    "EpochCallback",
    "EpochCorpus",
    "HeldOutCallback",
    "Progress",
    "ProgressCallback",
    "ProgressOption",
    "Trained",
    "all_below_message",
    "choose_feed",
    "progress_callback",
    "show_progress",
    "train",
]

# Called after each epoch with (epoch, ids, current vectors, current output vectors); it may raise
# to stop training.
EpochCallback = Callable[[int, list[str], "NDArray[np.float32]", "NDArray[np.float32]"], None]
# Called once a held-out run has trained on the reduced corpus, before the held-out items are
# trained in: (ids, counts, copies of the vectors and output vectors).
HeldOutCallback = Callable[[list[str], list[int], "NDArray[np.float32]", "NDArray[np.float32]"], None]


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
    feed: str = "stream"

    @property
    def items_per_second(self) -> float:
        return self.items_trained / self.seconds if self.seconds > 0 else 0.0


class EpochCorpus:
    """Iterate the sequences once per pass; reshuffle each basket per pass for set context.

    The first pass is gensim's vocabulary scan; the following ones are training epochs,
    reported to ``progress``. Shuffling is seeded by (seed, pass), so runs repeat exactly.

    gensim reads the training passes in a thread of its own, and when that thread dies on an
    exception gensim waits for it forever. So an exception raised while a pass is read (by the
    progress callback, or by the reader) is kept, the pass and every later one end there, and
    :meth:`check`, called once gensim returns, raises it.
    """

    def __init__(
        self,
        sequences: list[list[str]] | Packed,
        *,
        config: TrainConfig,
        progress: ProgressOption = None,
    ) -> None:
        self.sequences = sequences
        self.shuffle = config.context == "set"
        self.seed = config.seed
        self.epochs = config.epochs
        self.progress = progress_callback(progress)
        self.failure: BaseException | None = None
        self.passes = 0
        tokens = sequences.tokens if isinstance(sequences, Packed) else sum(len(s) for s in sequences)
        self.total = tokens * config.epochs
        self.done = 0
        self.started = 0.0

    def __iter__(self) -> Iterator[list[str]]:
        current = self.passes
        self.passes += 1
        if current == 0:  # the vocabulary scan runs in the caller's thread: errors propagate
            return self.sequences.lists() if isinstance(self.sequences, Packed) else iter(self.sequences)
        if self.failure is not None:
            return iter(())  # an earlier pass failed: end the remaining epochs at once
        if not self.shuffle and self.progress is None:
            if isinstance(self.sequences, Packed):
                return self._kept(self.sequences.lists())
            return iter(self.sequences)  # nothing to add (a list cannot fail): gensim reads it directly
        if not self.started:
            self.started = time.monotonic()
        return self._kept(self._epoch(current))

    def _kept(self, sequences: Iterator[list[str]]) -> Iterator[list[str]]:
        """``sequences``, with an exception kept for :meth:`check` instead of killing gensim's thread."""
        try:
            yield from sequences
        except GeneratorExit:
            raise
        except BaseException as exc:  # raised again by check(), in the caller's thread
            self.failure = exc

    def check(self) -> None:
        """Raise the exception a training pass met, if any (call it after gensim's ``train``)."""
        if self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure

    def _epoch(self, epoch: int) -> Iterator[list[str]]:
        last = time.monotonic()
        for number, seq in enumerate(self._sequences(epoch)):
            self.done += len(seq)
            yield seq
            if self.progress is not None and number % 512 == 0:
                now = time.monotonic()
                if now - last >= 0.25:
                    last = now
                    self._report(epoch, now)
        if self.progress is not None:
            self._report(epoch, time.monotonic())

    def _sequences(self, epoch: int) -> Iterator[list[str]]:
        seed = self.seed * 1_000_003 + epoch
        if isinstance(self.sequences, Packed):
            yield from self.sequences.lists(seed if self.shuffle else None)
            return
        rng = random.Random(seed) if self.shuffle else None
        for seq in self.sequences:
            if rng is not None:
                seq = seq[:]
                rng.shuffle(seq)
            yield seq

    def _report(self, epoch: int, now: float) -> None:
        assert self.progress is not None
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        remaining = (self.total - self.done) / rate if rate else 0.0
        fraction = self.done / self.total if self.total else 1.0
        self.progress(Progress(epoch, self.epochs, fraction, rate, remaining))


def train(
    sequences: list[list[str]] | Packed,
    *,
    config: TrainConfig,
    progress: ProgressOption = None,
    on_epoch: EpochCallback | None = None,
    held_out: HeldOut | None = None,
    on_held_out: HeldOutCallback | None = None,
    on_vocabulary: Callable[[list[str]], None] | None = None,
) -> Trained:
    """Train skip-gram with negative sampling on ``sequences``.

    ``context="window"`` uses gensim's (shrinking) window over the order given. ``"set"``
    treats each sequence as an unordered basket: items are reshuffled every epoch and a fixed
    window is used, so every item sees a fresh random sample of ~2*window basket mates per
    epoch at linear cost.

    ``on_epoch`` is called after every epoch with the vectors and output vectors so far (``tune``
    uses it to stop hopeless trials early); an exception it raises ends training and propagates,
    as does one raised by ``progress`` (True: :func:`show_progress`; False or None: silent) or by
    the reader of ``sequences``.

    With ``held_out`` (of the packed ``sequences``; item2vec.training.holdout) the vocabulary
    and counts are the whole corpus's, training reads ``held_out.reduced``, ``on_held_out``
    sees the result, and held-out items with no other event are folded in (:func:`_fold_in`).
    ``on_vocabulary`` is handed the model's ids (in its order) once they are known, before
    training starts (the pipeline counts the held-out corpus's transitions meanwhile).

    Raises:
        EmptyResultError: every item is below ``min_count``.
        ConfigError: the vectors would not fit in memory (:func:`item2vec.training.memory.check_memory`).
    """
    from gensim.models import Word2Vec

    from item2vec.training.memory import check_memory

    check_memory(sequences, config)  # before gensim allocates the vectors
    feed = choose_feed(config, sequences)
    if feed == "file" and not isinstance(sequences, Packed):
        sequences = Packed.from_lists(sequences)
    vocabulary = sequences
    if held_out is not None:
        assert held_out.full is sequences, "held_out must be of the sequences trained on"
        sequences = held_out.reduced
    model = Word2Vec(**config.gensim_params())
    progress = progress_callback(progress)
    corpus = EpochCorpus(sequences, config=config, progress=progress)
    raw, key_names = _build_vocab(model, corpus, vocabulary, config=config, by_code=feed == "file")
    callbacks = [_epoch_callback(on_epoch, key_names)] if on_epoch is not None else []
    callbacks += loss_callbacks()
    keys = list(model.wv.index_to_key)
    ids = [key_names[int(k)] for k in keys] if key_names is not None else keys
    if on_vocabulary is not None:
        on_vocabulary(ids)
    started = time.perf_counter()
    if feed == "file":
        assert isinstance(sequences, Packed)
        items_trained = train_from_file(model, sequences, config, callbacks, progress)
    else:
        _, items_trained = model.train(
            corpus, total_examples=model.corpus_count, epochs=config.epochs, callbacks=callbacks
        )
        corpus.check()
    counts = [int(model.wv.get_vecattr(k, "count")) for k in keys]
    calibrating = 0.0  # the held-out callback ranks (calibration): not training, timed on its own
    if held_out is not None:
        if on_held_out is not None:
            paused = time.perf_counter()
            on_held_out(ids, counts, model.wv.vectors.copy(), model.syn1neg.copy())
            calibrating = time.perf_counter() - paused
        items_trained += _fold_in(model, held_out, config, by_code=feed == "file")
    seconds = time.perf_counter() - started - calibrating
    kept = set(keys)
    return Trained(
        ids=ids,
        counts=counts,
        vectors=model.wv.vectors,
        syn1neg=model.syn1neg,
        dropped={_name(k, key_names): int(v) for k, v in raw.items() if k not in kept},
        seconds=seconds,
        items_trained=int(items_trained),
        feed=feed,
    )


def _build_vocab(
    model: Any,
    corpus: EpochCorpus,
    vocabulary: list[list[str]] | Packed,
    *,
    config: TrainConfig,
    by_code: bool,
) -> tuple[dict[Any, int], list[str] | None]:
    """Give ``model`` its vocabulary: every key's raw count, and the id of each key when keys are codes.

    Raises:
        EmptyResultError: every item is below ``min_count``.
    """
    if isinstance(vocabulary, Packed):
        raw, key_names = vocab_from_counts(model, vocabulary, by_code=by_code)
        corpus.passes = 1  # the vocabulary came from the counts: every pass is an epoch
    else:
        model.build_vocab(corpus, keep_raw_vocab=True)
        raw, key_names = dict(model.raw_vocab), None
        model.raw_vocab = {}
    if len(model.wv) == 0:
        raise EmptyResultError(
            all_below_message(raw, config.min_count), param="min_count", value=config.min_count
        )
    return raw, key_names


def _fold_in(model: Any, held_out: HeldOut, config: TrainConfig, *, by_code: bool) -> int:
    """Train the held-out items that have no other event into the model, changing nothing else.

    The tails of their sequences are trained for the same epochs with gensim's lock factors
    letting only their input vectors move; the output vectors of every other item are put back.
    """
    import logging

    import numpy as np

    unseen = held_out.unseen()
    names = held_out.full.names  # the model's keys by code: the codes as text with a corpus file
    keys = np.arange(len(names)).astype(str).astype(object) if by_code else names
    rows = np.array([model.wv.key_to_index[k] for k in keys[unseen].tolist() if k in model.wv.key_to_index],
                    dtype=np.int64)  # fmt: skip
    if not len(rows):
        return 0
    tails = held_out.tails(unseen)
    sentences = Packed(tails.codes, tails.bounds, keys).to_lists()
    lock = np.zeros(len(model.wv), dtype=np.float32)
    lock[rows] = 1.0
    output = model.syn1neg.copy()

    class _Quiet(logging.Filter):  # gensim warns that the rate rises again, which is the point
        def filter(self, record: logging.LogRecord) -> bool:
            return "alpha" not in record.getMessage()

    log, quiet = logging.getLogger("gensim.models.word2vec"), _Quiet()
    log.addFilter(quiet)
    model.wv.vectors_lockf = lock
    try:
        _, trained = model.train(
            sentences, total_examples=len(sentences), epochs=config.epochs,
            start_alpha=config.alpha, end_alpha=model.min_alpha,
        )  # fmt: skip
    finally:
        log.removeFilter(quiet)
        model.wv.vectors_lockf = np.ones(1, dtype=np.float32)
    keep = np.ones(len(model.wv), dtype=bool)
    keep[rows] = False
    model.syn1neg[keep] = output[keep]
    return int(trained)


def _name(key: str, key_names: Any) -> str:
    return str(key_names[int(key)]) if key_names is not None else key


def _epoch_callback(on_epoch: EpochCallback, key_names: Any = None) -> object:
    from gensim.models.callbacks import CallbackAny2Vec

    class EpochEnd(CallbackAny2Vec):  # type: ignore[misc]
        def __init__(self) -> None:
            self.epoch = 0

        def on_epoch_end(self, model: object) -> None:
            self.epoch += 1
            wv = model.wv  # type: ignore[attr-defined]
            ids = [_name(k, key_names) for k in wv.index_to_key]
            on_epoch(self.epoch, ids, wv.vectors, model.syn1neg)  # type: ignore[attr-defined]

    return EpochEnd()


def loss_callbacks() -> list[object]:
    """A callback that logs the training loss of each epoch at INFO, when this module's log shows
    INFO (the CLI's ``-v``); none otherwise, as computing the loss costs time."""
    import logging

    from gensim.models.callbacks import CallbackAny2Vec

    log = logging.getLogger(__name__)
    if not log.isEnabledFor(logging.INFO):
        return []

    class EpochLoss(CallbackAny2Vec):  # type: ignore[misc]
        def on_train_begin(self, model: Any) -> None:
            model.compute_loss = True  # model.train() set it from its argument just before
            self.epoch, self.before = 0, 0.0

        def on_epoch_end(self, model: Any) -> None:
            self.epoch += 1
            total = float(model.get_latest_training_loss())  # gensim sums it over the epochs
            log.info("epoch %d/%d: training loss %s", self.epoch, model.epochs, f"{total - self.before:,.1f}")
            self.before = total

    return [EpochLoss()]


def all_below_message(raw: dict[str, int], min_count: int) -> str:
    ranked = sorted(raw.values(), reverse=True)
    suggest = ranked[min(len(ranked), 100) - 1] if ranked else 1
    return (
        f"all {len(raw):,} items are below {param('min_count', min_count)} "
        f"(the most frequent occurs {ranked[0] if ranked else 0:,} times): "
        f"use {param('min_count', max(1, suggest))} or lower, or train on more data"
    )
