"""User vectors: every user's decayed-mean history (the query ``recommend`` uses), as a table.

For two-tower recall and ANN search over the item vectors: one row per user of an event log,
made by :func:`item2vec.query.recommend.read_histories` (vectorised, no loop over users), the same
vector :func:`item2vec.query.recommend.history_query` makes for one history. Parquet holds
``user, vector`` (a list of float32, as ``export -f parquet`` writes items); CSV and TSV, which
have no list type, hold ``user, v0, v1, …`` one column per dimension.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from item2vec.corpus.tables import check_table_output, write_table
from item2vec.model.embeddings import Embeddings
from item2vec.query.batch import BatchSummary
from item2vec.query.histories import EventColumns, read_histories
from item2vec.query.recommend import DECAY, HISTORY_SIZE

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from numpy.typing import NDArray

_ROWS = 65_536  # users per record batch


def write_user_vectors(
    embeddings: Embeddings,
    inputs: list[str],
    output: Path,
    *,
    columns: EventColumns,
    decay: float = DECAY,
    history_size: int = HISTORY_SIZE,
    input_format: str | None = None,
    force: bool = False,
) -> BatchSummary:
    """Write the vector of every user of an event log to ``output`` (.parquet, .csv or .tsv).

    Raises:
        OutputExistsError: ``output`` exists and ``force`` is false.
        EmptyResultError: no user has an item that is in the model.
    """
    started = time.perf_counter()
    fmt = check_table_output(output, force=force)
    histories = read_histories(
        embeddings, inputs, columns, decay=decay, history_size=history_size, input_format=input_format
    )
    written = write_table(output, vector_batches(histories.users, histories.queries, wide=fmt != "parquet"))
    return BatchSummary(
        output=str(output),
        queries=len(histories.users),
        rows=written,
        seconds=time.perf_counter() - started,
        events=histories.events,
        skipped=histories.skipped,
    )


def vector_batches(
    users: list[str], vectors: NDArray[np.float32], *, wide: bool = False
) -> Iterator[pa.RecordBatch]:
    """Record batches of ``user, vector`` (a list column), or ``user, v0, v1, …`` with ``wide``."""
    import numpy as np
    import pyarrow as pa

    dim = int(vectors.shape[1])
    for start in range(0, len(users), _ROWS):
        block = np.ascontiguousarray(vectors[start : start + _ROWS], dtype=np.float32)
        names = pa.array(users[start : start + _ROWS], type=pa.string())
        if wide:
            columns = [names, *(pa.array(block[:, j]) for j in range(dim))]
            yield pa.RecordBatch.from_arrays(columns, names=["user", *(f"v{j}" for j in range(dim))])
            continue
        offsets = pa.array(np.arange(0, block.size + 1, dim, dtype=np.int32))
        vector = pa.ListArray.from_arrays(offsets, pa.array(block.reshape(-1), type=pa.float32()))
        yield pa.RecordBatch.from_arrays([names, vector], names=["user", "vector"])
