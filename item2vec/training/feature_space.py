"""A model's attribute space: attribute tokens' vectors, the item → attribute table, inference.

How attributes are read and trained is :mod:`item2vec.training.features`; this is what a
trained model keeps of them (features.npy, features.tsv, features_syn1neg.npy, item_features.tsv,
inferred.tsv), how ``embed``, ``update`` and queries load it, and how items get vectors from their
attributes alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.errors import ModelError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from item2vec.model.embeddings import Embeddings

MODE = "sentences"


@dataclass
class FeatureSpace:
    """Attribute tokens' vectors and the item → attribute table of one model."""

    prefix: str
    columns: tuple[str, ...]
    id_col: str
    tokens: list[str]
    counts: NDArray[np.int64]
    vectors: NDArray[np.float32]
    syn1neg: NDArray[np.float32] | None
    table: dict[str, tuple[str, ...]]
    inferred: dict[str, int] = field(default_factory=dict)

    @property
    def index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.tokens)}

    def meta(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "columns": list(self.columns),
            "id_col": self.id_col,
            "mode": MODE,
            "tokens": len(self.tokens),
            "items_with_features": len(self.table),
            "inferred_items": len(self.inferred),
        }

    def arrays(self) -> dict[str, NDArray[np.float32]]:
        out = {"features": self.vectors}
        if self.syn1neg is not None:
            out["features_syn1neg"] = self.syn1neg
        return out

    def tables(self) -> dict[str, tuple[tuple[str, str], list[tuple[Any, Any]]]]:
        pairs = [(item, token) for item in sorted(self.table) for token in self.table[item]]
        return {
            "features": (("feature", "count"), list(zip(self.tokens, (int(c) for c in self.counts)))),
            "item_features": (("id", "feature"), pairs),
            "inferred": (("id", "features_used"), sorted(self.inferred.items())),
        }


def attribute_vectors(
    table: Mapping[str, tuple[str, ...]], ids: list[str], vectors: NDArray[np.float32]
) -> tuple[dict[str, int], NDArray[np.float32]]:
    """Each attribute's vector: the mean unit vector of the learned items (``ids``) carrying it."""
    import numpy as np

    from item2vec.model.embeddings import unit_rows

    index: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for row, item in enumerate(ids):
        for token in table.get(item, ()):
            rows.append(row)
            cols.append(index.setdefault(token, len(index)))
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    sums = np.zeros((len(index), dim), dtype=np.float32)
    carriers = np.zeros(len(index), dtype=np.float32)
    if rows:
        np.add.at(sums, np.asarray(cols), unit_rows(np.asarray(vectors, dtype=np.float32))[np.asarray(rows)])
        np.add.at(carriers, np.asarray(cols), 1.0)
    # Not re-normalised: an attribute shared by unlike items has a short mean and weighs less.
    means: NDArray[np.float32] = (sums / np.maximum(carriers, 1.0)[:, None]).astype(np.float32)
    return index, means


def infer_vectors(
    table: Mapping[str, tuple[str, ...]],
    items: Mapping[str, tuple[str, ...]],
    learned_ids: list[str],
    learned: NDArray[np.float32],
) -> tuple[list[str], NDArray[np.float32], dict[str, int], list[str]]:
    """Vectors for ``items`` from their attributes (see :func:`attribute_vectors`).

    ``table`` gives the attributes of the learned items ``learned_ids`` (vectors ``learned``).
    An item gets the mean of its known attributes' vectors, scaled to the learned items' mean
    length. Returns the ids that got a vector, their vectors, how many known attributes each
    used, and the ids skipped because none of their attributes is carried by a learned item.
    """
    import numpy as np

    index, unit = attribute_vectors(table, learned_ids, learned)
    scale = mean_norm(learned)
    ids: list[str] = []
    rows: list[NDArray[np.float32]] = []
    used: dict[str, int] = {}
    skipped: list[str] = []
    for item, tokens in items.items():
        known = [index[t] for t in tokens if t in index]
        if not known:
            skipped.append(item)
            continue
        mean = unit[known].mean(axis=0)
        norm = float(np.linalg.norm(mean))
        if norm == 0:
            skipped.append(item)
            continue
        ids.append(item)
        rows.append((mean / norm * scale).astype(np.float32))
        used[item] = len(known)
    dim = learned.shape[1]
    vectors = np.vstack(rows).astype(np.float32) if rows else np.zeros((0, dim), dtype=np.float32)
    return ids, vectors, used, skipped


def mean_norm(vectors: NDArray[np.float32]) -> float:
    import numpy as np

    if not len(vectors):
        return 1.0
    return float(np.linalg.norm(np.asarray(vectors, dtype=np.float32), axis=1).mean()) or 1.0


def load_space(path: Path, meta: dict[str, Any]) -> FeatureSpace | None:
    """The model's feature space, or None for a model trained without --item-features."""
    import numpy as np

    from item2vec.model.checks import load_array
    from item2vec.model.store import read_tsv

    record = meta.get("features")
    if not record:
        return None
    try:
        rows = read_tsv(path / "features.tsv", meta)  # each part checked against model.json
        table: dict[str, tuple[str, ...]] = {}
        for item, token in read_tsv(path / "item_features.tsv", meta):
            table[item] = (*table.get(item, ()), token)
        inferred_file = path / "inferred.tsv"
        inferred = {r[0]: int(r[1]) for r in read_tsv(inferred_file, meta)} if inferred_file.is_file() else {}
    except (ValueError, IndexError, OSError, UnicodeDecodeError) as exc:
        raise ModelError(
            f"model {str(path)!r}: its feature files are missing or corrupt ({exc}); retrain it"
        ) from None
    dim, syn = meta.get("dim"), path / "features_syn1neg.npy"
    vectors = load_array(path, "features.npy", len(rows), dim, meta=meta)  # rows as features.tsv lists
    syn1neg = load_array(path, syn.name, len(rows), dim, meta=meta) if syn.is_file() else None
    return FeatureSpace(
        prefix=str(record["prefix"]),
        columns=tuple(record.get("columns", ())),
        id_col=str(record.get("id_col", "item_id")),
        tokens=[r[0] for r in rows],
        counts=np.asarray([int(r[1]) for r in rows], dtype=np.int64),
        vectors=vectors.astype(np.float32),
        syn1neg=syn1neg,
        table=table,
        inferred=inferred,
    )


def save_model(
    embeddings: Embeddings,
    path: Path,
    *,
    force: bool,
    syn1neg: NDArray[np.float32] | None,
    space: FeatureSpace | None,
) -> None:
    """Save a model with its training state and, if any, its feature space."""
    from item2vec.model.store import save

    extra: dict[str, NDArray[np.float32]] = {} if syn1neg is None else {"syn1neg": syn1neg}
    meta = dict(embeddings.meta)
    meta.pop("features", None)
    tables = None
    if space is not None:
        extra.update(space.arrays())
        tables = space.tables()
        meta["features"] = space.meta()
    embeddings.meta = meta
    save(embeddings, path, force=force, extra=extra, tables=tables)
