"""item2vec: item embeddings from behaviour logs (skip-gram with negative sampling via gensim).

The public API imports nothing heavy::

    from item2vec import load
    emb = load("model/")
    emb.similar(["85123A"], k=5)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Embeddings", "TrainConfig", "__version__", "load", "train"]

if TYPE_CHECKING:
    from item2vec.config import TrainConfig
    from item2vec.embeddings import Embeddings
    from item2vec.store import load
    from item2vec.train import train


def __getattr__(name: str) -> Any:
    if name == "TrainConfig":
        from item2vec.config import TrainConfig

        return TrainConfig
    if name == "Embeddings":
        from item2vec.embeddings import Embeddings

        return Embeddings
    if name == "load":
        from item2vec.store import load

        return load
    if name == "train":
        from item2vec.train import train

        return train
    raise AttributeError(f"module 'item2vec' has no attribute {name!r}")
