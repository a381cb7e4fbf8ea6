"""Continue training a saved model: gensim's Word2Vec rebuilt from the model's arrays.

gensim's arguments are :meth:`TrainConfig.gensim_params`'s, as for a fresh model. The state is
what the model directory keeps as ``.npy`` (no pickle): input vectors, output weights
(syn1neg) and counts. The rebuild follows gensim's own online-training path: a vocabulary
from the saved counts (``build_vocab_from_freq``), the saved weights copied in by key, then
``build_vocab(update=True)`` with the new counts, which adds new words (random vectors, zero
output weights), adds the new counts to the old ones and rebuilds the negative-sampling table.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from item2vec.training.config import TrainConfig
from item2vec.training.gensim_engine import EpochCorpus, ProgressCallback, Trained, loss_callbacks

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


@dataclass
class State:
    """A model's training state: ids (rows), counts, input vectors and output weights."""

    ids: list[str]
    counts: list[int]
    vectors: NDArray[np.float32]
    syn1neg: NDArray[np.float32]
    # Starting vectors for words new to training (items inferred from their attributes).
    warm: dict[str, NDArray[np.float32]] = field(default_factory=dict)


def resume(
    state: State,
    sequences: list[list[str]],
    *,
    new_counts: Mapping[str, int],
    config: TrainConfig,
    progress: ProgressCallback | None = None,
) -> Trained:
    """Train ``state`` further on ``sequences``.

    ``new_counts`` are the occurrences in ``sequences`` of the words to train: known words and
    the new words to add (the caller applies --min-count); words of ``sequences`` missing from
    both are skipped by gensim, as below-min-count words are in ``train``. ``dropped`` of the
    result is empty: the caller knows what it left out.
    """
    import numpy as np
    from gensim.models import Word2Vec

    # Every word of the saved model and the new words the caller kept (its min-count applied).
    model = Word2Vec(**{**config.gensim_params(), "min_count": 1, "max_final_vocab": None})
    model.build_vocab_from_freq(dict(zip(state.ids, (max(1, int(c)) for c in state.counts))))
    rows = np.array([model.wv.key_to_index[i] for i in state.ids], dtype=np.int64)
    model.wv.vectors[rows] = state.vectors
    model.syn1neg[rows] = state.syn1neg
    known = set(state.ids)
    fresh = {w: int(c) for w, c in new_counts.items() if c > 0}
    model.build_vocab_from_freq(fresh, update=True, corpus_count=len(sequences))
    for word, vector in state.warm.items():
        if word not in known and word in model.wv.key_to_index:
            model.wv.vectors[model.wv.key_to_index[word]] = vector
    corpus = EpochCorpus(sequences, config=config, progress=progress)
    corpus.passes = 1  # no vocabulary scan: every pass is a training epoch
    started = time.perf_counter()
    _, items_trained = model.train(
        corpus, total_examples=len(sequences), epochs=config.epochs, callbacks=loss_callbacks()
    )
    corpus.check()  # an exception met while gensim read the sequences (a progress callback)
    ids = list(model.wv.index_to_key)
    return Trained(
        ids=ids,
        counts=[int(model.wv.get_vecattr(i, "count")) for i in ids],
        vectors=model.wv.vectors,
        syn1neg=model.syn1neg,
        dropped={},
        seconds=time.perf_counter() - started,
        items_trained=int(items_trained),
    )
