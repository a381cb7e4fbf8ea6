"""The nearest items by cosine of input vectors, and analogies: ``similar``'s exact search.

Query vectors are unit-length means of the query items' unit vectors; every candidate is scored
``q · v / |v|`` straight from the (memory-mapped) vectors, and ties go to the lower item row.
With an index (``item2vec.query.index.AnnIndex``) the same answers come from its shortlist,
re-scored exactly. Query items are left out of their own answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Protocol

from item2vec.errors import Bare, ConfigError, EmptyResultError, param
from item2vec.model.embeddings import Embeddings, Neighbour, format_analogy, unit_rows

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

AnalogyMethod = Literal["add", "mul"]
_BATCH = 1024


class Index(Protocol):
    """An index that answers queries instead of scoring every item (``AnnIndex``)."""

    def answer(
        self,
        embeddings: Embeddings,
        labels: list[str],
        queries: NDArray[np.float32],
        exclude: list[set[int]],
        k: int,
    ) -> list[Neighbour]: ...


def similar(
    embeddings: Embeddings,
    items: list[str],
    k: int = 10,
    *,
    combine: bool = False,
    index: Index | None = None,
) -> list[Neighbour]:
    """Nearest items by cosine, for each item (or for the mean of all with ``combine``).

    Query items are excluded from their own results.
    """
    import numpy as np

    rows = [embeddings.position(i) for i in items]
    if combine:
        query = unit_rows(embeddings.vectors[rows]).mean(axis=0, keepdims=True)
        return answer(embeddings, [" + ".join(items)], query, [set(rows)], k, index=index)
    queries = unit_rows(embeddings.vectors[np.asarray(rows)])
    return answer(embeddings, items, queries, [{r} for r in rows], k, index=index)


def answer(
    embeddings: Embeddings,
    labels: list[str],
    queries: NDArray[np.float32],
    exclude: list[set[int]],
    k: int,
    *,
    index: Index | None = None,
) -> list[Neighbour]:
    """``Neighbour`` rows for each query vector (rows of ``queries``), ``exclude`` left out."""
    from item2vec.query.topk import cosine_answer

    if index is not None:
        return index.answer(embeddings, labels, queries, exclude, k)
    return cosine_answer(embeddings, labels, queries, exclude, k)  # blocks within a memory budget


def _top(
    embeddings: Embeddings, label: str, scores: NDArray[Any], exclude: set[int], k: int
) -> list[Neighbour]:
    import numpy as np

    want = min(len(scores), k + len(exclude))
    if want <= 0:
        return []
    best = np.argpartition(-scores, want - 1)[:want] if want < len(scores) else np.arange(len(scores))
    best = best[np.lexsort((best, -scores[best]))]
    picked = [int(b) for b in best if int(b) not in exclude][:k]
    ids, names = embeddings.ids, embeddings.names
    return [
        Neighbour(label, rank, ids[b], float(scores[b]), names.get(ids[b]))
        for rank, b in enumerate(picked, 1)
    ]


def analogy(
    embeddings: Embeddings,
    positive: list[str],
    negative: list[str],
    k: int = 10,
    *,
    method: AnalogyMethod = "add",
    label: str | None = None,
    index: Index | None = None,
) -> list[Neighbour]:
    """Items closest to positive − negative (3CosAdd) or by 3CosMul, inputs excluded.

    Matches gensim's ``most_similar`` (add) and ``most_similar_cosmul`` (mul).

    Raises:
        EmptyResultError: no positive item, an item both added and subtracted, or terms that add
            up to the zero vector.
        ConfigError: ``mul`` with an index (it scores every item).
    """
    import numpy as np

    if not positive:
        raise EmptyResultError("an analogy needs at least one positive item, e.g. 'king - man + woman'")
    label = label or format_analogy(positive, negative)
    both = [item for item in dict.fromkeys(positive) if item in set(negative)]
    if both:
        raise EmptyResultError(
            f"analogy {label!r} adds and subtracts {both[0]!r}, so the terms cancel: "
            "give each item once, e.g. 'king - man + woman'"
        )
    pos = [embeddings.position(i) for i in positive]
    neg = [embeddings.position(i) for i in negative]
    exclude = set(pos) | set(neg)
    if method == "add":
        added, taken = unit_rows(embeddings.vectors[pos]), unit_rows(embeddings.vectors[neg])
        query = (added.sum(axis=0) - taken.sum(axis=0))[None, :]
        if float(np.linalg.norm(query)) <= 1e-6:
            raise EmptyResultError(
                f"analogy {label!r} adds up to the zero vector, to which every item is equally "
                f"close: change the terms (or try {param('method', Bare('mul'))})"
            )
        return answer(embeddings, [label], query.astype(np.float32), [exclude], k, index=index)
    if index is not None:
        raise ConfigError(
            f"{param('method', Bare('mul'))} scores every item, so it cannot use an index: "
            f"use {param('method', Bare('add'))}",
            param="method", value="mul", expected="add",
        )  # fmt: skip
    unit = embeddings.unit
    dists = np.prod([(1 + unit @ unit[r]) / 2 for r in pos], axis=0)
    if neg:
        dists = dists / (np.prod([(1 + unit @ unit[r]) / 2 for r in neg], axis=0) + 1e-6)
    else:
        dists = dists / (1 + 1e-6)
    return _top(embeddings, label, dists, exclude, k)
