"""item2vec: item embeddings from behaviour logs (skip-gram with negative sampling via gensim).

The public API imports nothing heavy::

    from item2vec import load
    emb = load("model/")
    emb.similar(["85123A"], k=5)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from item2vec.version import __version__

__all__ = ["Embeddings", "TrainConfig", "__version__", "load", "train"]

if TYPE_CHECKING:
    from item2vec.model.embeddings import Embeddings
    from item2vec.model.store import load
    from item2vec.training.config import TrainConfig
    from item2vec.training.gensim_engine import train


def __getattr__(name: str) -> Any:
    if name == "TrainConfig":
        from item2vec.training.config import TrainConfig

        return TrainConfig
    if name == "Embeddings":
        from item2vec.model.embeddings import Embeddings

        return Embeddings
    if name == "load":
        from item2vec.model.store import load

        return load
    if name == "train":
        from item2vec.training.gensim_engine import train

        return train
    raise AttributeError(f"module 'item2vec' has no attribute {name!r}")
