"""The corpus-file feed: gensim reads a temporary file of item codes instead of Python lists.

``choose_feed`` decides between it and streaming the sequences from memory; the vocabulary then
comes from the packed corpus's counts, and progress is reported once an epoch.
"""

from __future__ import annotations

import time
from typing import Any

from item2vec.corpus.packed import Packed
from item2vec.errors import Bare, ConfigError, OutputError, param
from item2vec.files import no_space
from item2vec.training.config import TrainConfig
from item2vec.training.progress import Progress, ProgressCallback

# auto feed: a temporary corpus file from this many workers and tokens. On 2 cores neither feed
# won consistently (docs/benchmarks.md: within run-to-run noise at 1 and 2 workers); gensim's
# corpus_file mode has no Python in its loop, and gensim measured it pulling ahead from 3-4
# workers, where the queue-fed mode stops scaling. Small corpora stream (finer progress line).
FILE_MIN_WORKERS = 3
FILE_MIN_TOKENS = 1_000_000


def choose_feed(config: TrainConfig, sequences: list[list[str]] | Packed) -> str:
    """``stream`` (sequences handed to gensim from memory) or ``file`` (a temporary corpus file).

    ``auto`` picks the corpus file only where it was measured faster (docs/benchmarks.md):
    ordered context, at least ``FILE_MIN_WORKERS`` workers and ``FILE_MIN_TOKENS`` tokens.

    Raises:
        ConfigError: ``file`` with ``context='set'`` (a file cannot be reshuffled every epoch).
    """
    if config.corpus_mode == "file":
        if config.context == "set":
            raise ConfigError(
                f"{param('corpus_mode', Bare('file'))} cannot reshuffle baskets every epoch ({param('context', Bare('set'))}): "
                f"use {param('corpus_mode', Bare('stream'))} (or auto)",
                param="corpus_mode", value="file", expected="'stream' or 'auto' with context 'set'",
            )  # fmt: skip
        return "file"
    if config.corpus_mode == "stream" or config.context == "set":
        return "stream"
    tokens = sequences.tokens if isinstance(sequences, Packed) else 0
    return "file" if config.workers >= FILE_MIN_WORKERS and tokens >= FILE_MIN_TOKENS else "stream"


def vocab_from_counts(model: Any, packed: Packed, *, by_code: bool) -> tuple[dict[str, int], Any]:
    """Build gensim's vocabulary from the packed corpus's counts (no pass over the tokens).

    With ``by_code`` the vocabulary keys are the codes as text (as written to a corpus file);
    the returned names map them back to ids.
    """
    import numpy as np

    counts = packed.counts()
    present = np.flatnonzero(counts)
    names = packed.names[present].tolist()
    keys = present.astype(str).tolist() if by_code else names
    raw = dict(zip(keys, counts[present].tolist()))
    model.build_vocab_from_freq(raw, corpus_count=len(packed))
    return raw, packed.names if by_code else None


def train_from_file(
    model: Any,
    packed: Packed,
    config: TrainConfig,
    callbacks: list[object],
    progress: ProgressCallback | None,
) -> int:
    import tempfile

    if progress is not None:
        callbacks = [*callbacks, file_progress(progress, config.epochs, packed.tokens)]
    with tempfile.NamedTemporaryFile(prefix="item2vec-corpus-", suffix=".txt") as handle:
        try:
            packed.write_codes(handle)  # type: ignore[arg-type]
            handle.flush()
        except OSError as exc:
            if not no_space(exc):
                raise
            raise OutputError(
                f"no space left on the device for the temporary corpus file in {tempfile.gettempdir()!r} "
                f"({packed.tokens:,} tokens): set TMPDIR to a disk with room, or use "
                f"{param('corpus_mode', Bare('stream'))}",
                param="corpus_mode", value=config.corpus_mode, fix="set TMPDIR to a disk with room",
            ) from None  # fmt: skip
        _, items_trained = model.train(
            corpus_file=handle.name,
            total_words=packed.tokens,
            epochs=config.epochs,
            callbacks=callbacks,
        )
    return int(items_trained)


def file_progress(progress: ProgressCallback, epochs: int, tokens: int) -> object:
    """Progress once an epoch (gensim reads a corpus file without calling back into Python)."""
    from gensim.models.callbacks import CallbackAny2Vec

    class EpochProgress(CallbackAny2Vec):  # type: ignore[misc]
        def __init__(self) -> None:
            self.epoch = 0
            self.started = time.monotonic()

        def on_epoch_end(self, model: object) -> None:
            self.epoch += 1
            elapsed = max(time.monotonic() - self.started, 1e-9)
            rate = tokens * self.epoch / elapsed
            remaining = (epochs - self.epoch) * tokens / rate
            progress(Progress(self.epoch, epochs, self.epoch / epochs, rate, remaining))

    return EpochProgress()
