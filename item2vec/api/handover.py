"""Vectors into other tools from Python: gensim ``KeyedVectors``, a pandas DataFrame, a PyTorch
``nn.Embedding``, and the user vectors of a whole event log.

Each is made by the code the CLI's exports use (``export -f word2vec``, ``-f torch``,
``recommend --events --user-vectors``), so Python and the files agree.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from item2vec.api.data import as_paths
from item2vec.api.errors import Item2VecWarning
from item2vec.corpus.frames import table_kind, to_arrow
from item2vec.corpus.options import Where
from item2vec.export.formats import keyed_vectors as export_keyed_vectors
from item2vec.export.tensors import embedding_table, row_ids
from item2vec.extras import require
from item2vec.model.embeddings import Embeddings
from item2vec.query.histories import event_columns, read_histories

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import torch
    from numpy.typing import NDArray


def keyed_vectors(embeddings: Embeddings) -> Any:
    """A gensim ``KeyedVectors``: ids in row order, the vectors, each id's ``count``."""
    return export_keyed_vectors(embeddings)


def frame(embeddings: Embeddings) -> pd.DataFrame:
    """``id, name, count, vector``: one row per item, the vector as a float32 array."""
    import numpy as np
    import pandas as pd

    vectors = np.array(embeddings.vectors, dtype=np.float32)  # a copy: the frame owns its rows
    return pd.DataFrame(
        {
            "id": list(embeddings.ids),
            "name": [embeddings.names.get(item) for item in embeddings.ids],
            "count": np.asarray(embeddings.counts, dtype=np.int64),
            "vector": list(vectors),
        }
    )


def torch_embedding(embeddings: Embeddings, *, padding: bool, freeze: bool) -> torch.nn.Embedding:
    """``nn.Embedding.from_pretrained`` of the table ``export -f torch`` writes.

    Raises:
        MissingDependencyError: torch is not installed.
    """
    import numpy as np

    lib = require("torch", "Model.to_torch()")
    table = np.array(embedding_table(embeddings, padding=padding), dtype=np.float32)  # writable, its own
    module: torch.nn.Embedding = lib.nn.Embedding.from_pretrained(
        lib.from_numpy(table), freeze=freeze, padding_idx=0 if padding else None
    )
    return module


def row_index(embeddings: Embeddings, *, padding: bool) -> dict[str, int]:
    """Item id → row of the torch table."""
    return {item: row for row, item in enumerate(row_ids(embeddings, padding=padding)) if item is not None}


def user_vectors(
    embeddings: Embeddings,
    events: object,
    *,
    user: str,
    item: str | None,
    time: str | None,
    where: str | Iterable[str],
    decay: float,
    history_size: int,
    input_format: str | None,
) -> tuple[list[str], NDArray[np.float32]]:
    """Every user's decayed-mean vector, from a table in memory or event files.

    Raises:
        TypeError: ``events`` is neither a table nor paths.
        EmptyResultError: no user has an item that is in the model.
    """
    filters = (where,) if isinstance(where, str) else tuple(where)
    columns = event_columns(embeddings.meta, user_col=user, item_col=item, time_col=time, where=filters)
    kind = table_kind(events)
    inputs: Any = as_paths(events)
    if kind is not None:
        if input_format is not None:
            raise TypeError("input_format applies to files only, not to a table")
        wanted = [user, columns.item_col, *([columns.time_col] if columns.time_col else [])]
        inputs = to_arrow(events, f"<{kind}>", wanted + [Where.parse(w).column for w in filters])
    elif inputs is None:
        raise TypeError(
            f"events must be a DataFrame, a pyarrow Table or file paths, not {type(events).__name__}"
        )
    histories = read_histories(
        embeddings, inputs, columns, decay=decay, history_size=history_size, input_format=input_format
    )
    if histories.skipped:
        message = f"{histories.skipped:,} users had no item in the model and got no vector"
        warnings.warn(message, Item2VecWarning, stacklevel=4)
    return histories.users, histories.queries
