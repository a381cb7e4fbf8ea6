"""item2vec: item embeddings from behaviour logs (skip-gram with negative sampling via gensim).

The public Python API; importing it loads nothing heavy (no numpy, pandas, pyarrow or gensim)::

    import item2vec

    model = item2vec.train(events_df, session="InvoiceNo", item="StockCode", context="set")
    model.similar("85123A", k=5)
    model.save("retail-model")
    model = item2vec.load("retail-model")

``train`` and ``load`` return a :class:`Model` (``item2vec.api``); answers are
:class:`ItemScore` ``(item, score)`` pairs with a ``name``, in a :class:`Results` list that says
what its scores are (``score_kind``) and has ``to_frame()``. Errors are :class:`Item2VecError`
subclasses (an unknown item is :class:`ItemNotFoundError`, also a ``KeyError``). docs/python.md
has worked examples.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from item2vec.version import __version__

__all__ = [
    "Embeddings",
    "EvaluationReport",
    "Item2VecError",
    "Item2VecWarning",
    "ItemNotFoundError",
    "ItemScore",
    "Model",
    "Results",
    "Scoring",
    "TrainConfig",
    "__version__",
    "load",
    "train",
]

if TYPE_CHECKING:
    from item2vec.api.errors import Item2VecWarning, ItemNotFoundError
    from item2vec.api.model import Model
    from item2vec.api.records import ItemScore
    from item2vec.api.results import EvaluationReport, Results
    from item2vec.api.training import load, train
    from item2vec.errors import Item2VecError
    from item2vec.model.embeddings import Embeddings
    from item2vec.model.scoring_record import Scoring
    from item2vec.training.config import TrainConfig

# Public name → the module that defines it, imported on first use.
_LAZY = {
    "train": "item2vec.api.training",
    "load": "item2vec.api.training",
    "Model": "item2vec.api.model",
    "ItemScore": "item2vec.api.records",
    "Results": "item2vec.api.results",
    "EvaluationReport": "item2vec.api.results",
    "Scoring": "item2vec.model.scoring_record",
    "Item2VecWarning": "item2vec.api.errors",
    "ItemNotFoundError": "item2vec.api.errors",
    "Item2VecError": "item2vec.errors",
    "TrainConfig": "item2vec.training.config",
    "Embeddings": "item2vec.model.embeddings",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'item2vec' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
