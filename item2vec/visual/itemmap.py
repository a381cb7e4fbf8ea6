"""A 2-D map of the items: sample, project (PCA, t-SNE, UMAP), colour, and pick labels.

The map is plain data (``ItemMap``); ``plot.py`` draws it with plotly or matplotlib.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from item2vec.errors import Bare, EmptyResultError, InputError, check_choice, column_roles, param
from item2vec.extras import require
from item2vec.model.embeddings import Embeddings, unit_rows

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

METHODS = ("pca", "tsne", "umap")
METHOD_NAMES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
BUILTIN_COLORS = ("cluster", "frequency", "none")
MAX_GROUPS = 10
OTHER = "other"
MISSING = "(not in table)"
_WORD = re.compile(r"[^\W\d_]{3,}")
_STOP = frozenset(["the", "and", "for", "with", "set", "pack", "box", "small", "large", "mini"])


@dataclass(frozen=True)
class ItemMap:
    """Points to draw: one per item, with its group (legend entry) and whether to label it."""

    ids: list[str]
    names: list[str]
    counts: list[int]
    xy: NDArray[np.float32]
    groups: list[str]
    legend: list[str]
    ordered: bool  # groups are ordered (frequency bands): draw them with a sequential palette
    labelled: list[int]  # items to label, best first (a drawing skips those that would overlap)
    labels: int  # how many labels to place
    method: str
    axes: tuple[str, str]
    color_by: str
    total: int

    @property
    def title(self) -> str:
        shown = f"{len(self.ids):,} items" + (
            f" (sample of {self.total:,})" if len(self.ids) < self.total else ""
        )
        return f"Item map: {shown}, {METHOD_NAMES[self.method]}"


def item_map(
    embeddings: Embeddings,
    *,
    method: str = "pca",
    sample: int | None = 5000,
    color_by: str = "cluster",
    clusters: int = 8,
    labels: int = 25,
    seed: int = 0,
    items_file: str | None = None,
    id_col: str | None = None,
) -> ItemMap:
    """Project the items to 2-D and colour them.

    Args:
        method: ``pca`` (numpy), ``tsne`` (scikit-learn) or ``umap`` (umap-learn).
        sample: at most this many items, drawn at random (seeded); None for all.
        color_by: ``cluster`` (k-means on the vectors, named by the commonest words of the
            members' names), ``frequency`` (bands of counts), ``none``, or a column name whose
            values come from the table ``items_file`` (ids in ``id_col``, by default the
            model's ``--item-col``).
        labels: how many of the most frequent items get a text label on a static image.

    Raises:
        InputError: an unknown method or colouring, or an unreadable ``items_file``.
        EmptyResultError: the model has fewer than 3 items.
        MissingDependencyError: scikit-learn or umap-learn is not installed.
    """
    import numpy as np

    _check_options(method, color_by, items_file)
    if len(embeddings) < 3:
        raise EmptyResultError(f"the model has {len(embeddings)} items: a map needs at least 3")
    rows = sample_rows(len(embeddings), sample, seed)
    vectors = unit_rows(np.asarray(embeddings.vectors)[rows])
    xy, axes = project(vectors, method, seed)
    ids = [embeddings.ids[r] for r in rows]
    counts = [int(c) for c in np.asarray(embeddings.counts)[rows]]
    names = [embeddings.names.get(i, "") for i in ids]
    if color_by == "cluster":
        groups, legend = cluster_groups(vectors, names, clusters, seed)
    else:
        groups, legend = _groups(
            embeddings, ids, counts, color_by=color_by, items_file=items_file, id_col=id_col
        )
    return ItemMap(
        ids=ids,
        names=names,
        counts=counts,
        xy=xy,
        groups=groups,
        legend=legend,
        ordered=color_by == "frequency",
        labelled=label_order(groups, counts, interleave=color_by != "frequency"),
        labels=labels,
        method=method,
        axes=axes,
        color_by=color_by,
        total=len(embeddings),
    )


def _check_options(method: str, color_by: str, items_file: str | None) -> None:
    """Refuse an unknown method or colouring, and a colour table without a column to colour by."""
    check_choice("method", method, METHODS, error=InputError)
    if color_by not in BUILTIN_COLORS and items_file is None:
        raise InputError(
            f"{param('color_by', color_by)} is not one of {', '.join(BUILTIN_COLORS)}: "
            f"to colour by a column, give {param('color_table', Bare('FILE'))} with that column",
            param="color_by",
            value=color_by,
            expected=f"one of {', '.join(BUILTIN_COLORS)}, or a column of a colour table",
        )
    if color_by in BUILTIN_COLORS and items_file is not None:
        raise InputError(
            f"{param('color_table')} is used only with {param('color_by', Bare('COLUMN'))}, "
            f"not with {param('color_by', Bare(color_by))}",
            param="color_table",
            value=items_file,
            fix="drop the colour table, or colour by one of its columns",
        )


def _groups(
    embeddings: Embeddings,
    ids: list[str],
    counts: list[int],
    *,
    color_by: str,
    items_file: str | None,
    id_col: str | None,
) -> tuple[list[str], list[str]]:
    """Each item's group and the legend, for a colouring other than ``cluster``."""
    if color_by == "frequency":
        return frequency_groups(counts)
    if color_by == "none":
        return ["items"] * len(ids), ["items"]
    column = read_column(str(items_file), id_col or default_id_col(embeddings), color_by)
    return column_groups(ids, counts, column)


def label_order(groups: list[str], counts: list[int], *, interleave: bool) -> list[int]:
    """Items by count; with ``interleave``, the top item of every group, then the second, …

    Interleaving spreads the labels over the groups instead of piling them where the most
    popular items are.
    """
    order = sorted(range(len(counts)), key=lambda i: (-counts[i], i))
    if not interleave:
        return order
    rank: dict[str, int] = {}
    key: dict[int, int] = {}
    for i in order:
        key[i] = rank.get(groups[i], 0)
        rank[groups[i]] = key[i] + 1
    return sorted(order, key=lambda i: key[i])  # stable: by count within each round


def sample_rows(total: int, sample: int | None, seed: int) -> list[int]:
    """All rows, or ``sample`` of them drawn at random (seeded), in row order."""
    import numpy as np

    if sample is None or sample >= total:
        return list(range(total))
    rng = np.random.default_rng(seed)
    return sorted(int(r) for r in rng.choice(total, size=sample, replace=False))


def project(
    vectors: NDArray[np.float32], method: str, seed: int
) -> tuple[NDArray[np.float32], tuple[str, str]]:
    """2-D coordinates of unit vectors, and the axis titles."""
    import numpy as np

    if method == "pca":
        centred = vectors - vectors.mean(axis=0)
        _, singular, components = np.linalg.svd(centred, full_matrices=False)
        share = singular**2 / max(float((singular**2).sum()), 1e-12)
        xy = centred @ components[:2].T
        axes = (f"PC1 ({share[0]:.0%} of variance)", f"PC2 ({share[1]:.0%} of variance)")
        return np.asarray(xy, dtype=np.float32), axes
    n = len(vectors)
    if method == "tsne":
        manifold = require("sklearn.manifold", param("method", Bare("tsne")))
        reducer: Any = manifold.TSNE(
            n_components=2, perplexity=min(30.0, max(1.0, (n - 1) / 3)), init="pca", random_state=seed
        )
    else:
        umap = require("umap", param("method", Bare("umap")))
        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, n - 1), metric="cosine", random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)  # umap + seed
        xy = reducer.fit_transform(vectors)
    return np.asarray(xy, dtype=np.float32), (f"{METHOD_NAMES[method]} 1", f"{METHOD_NAMES[method]} 2")


def cluster_groups(
    vectors: NDArray[np.float32], names: list[str], clusters: int, seed: int
) -> tuple[list[str], list[str]]:
    """k-means clusters of the vectors, each named by its most distinctive name words."""
    import numpy as np

    cluster = require("sklearn.cluster", param("color_by", Bare("cluster")))
    k = max(1, min(clusters, MAX_GROUPS, len(vectors)))
    found = cluster.KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(vectors)
    sizes = Counter(int(c) for c in found)
    ranked = [c for c, _ in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))]
    words = _cluster_words(np.asarray(found), names, ranked)
    label = {}
    for number, c in enumerate(ranked, start=1):
        described = f": {', '.join(words[c])}" if words[c] else ""
        label[c] = f"{number}{described} ({sizes[c]:,})"
    return [label[int(c)] for c in found], [label[c] for c in ranked]


def _cluster_words(
    found: NDArray[Any], names: list[str], ranked: list[int], top: int = 3
) -> dict[int, list[str]]:
    """Per cluster, the words of member names most over-represented against all names."""
    docs = [set(_WORD.findall(n.casefold())) - _STOP for n in names]
    overall = Counter(w for d in docs for w in d)
    out: dict[int, list[str]] = {}
    for c in ranked:
        members = [d for d, f in zip(docs, found) if int(f) == c]
        inside = Counter(w for d in members for w in d)
        score = {
            w: (n / len(members)) * math.log(len(docs) / overall[w]) for w, n in inside.items() if n >= 2
        }
        out[c] = [w for w, _ in sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
    return out


def frequency_groups(counts: list[int]) -> tuple[list[str], list[str]]:
    """Bands of popularity: top 10%, next 15%, next 25%, bottom half (by count, with its range)."""
    order = sorted(range(len(counts)), key=lambda i: (-counts[i], i))
    bands = [("top 10%", 0.10), ("10-25%", 0.25), ("25-50%", 0.50), ("bottom 50%", 1.0)]
    groups = [""] * len(counts)
    legend: list[str] = []
    start = 0
    for name, upto in bands:
        end = max(start, math.ceil(upto * len(counts)))
        members = order[start:end]
        if members:
            low, high = counts[members[-1]], counts[members[0]]
            label = f"{name} ({low:,}-{high:,} uses)" if low != high else f"{name} ({low:,} uses)"
            legend.append(label)
            for i in members:
                groups[i] = label
        start = end
    return groups, legend


def column_groups(ids: list[str], counts: list[int], column: dict[str, str]) -> tuple[list[str], list[str]]:
    """Values of a metadata column: the commonest ones get a colour, the rest are 'other'."""
    values = [column.get(i) or MISSING for i in ids]
    weight: Counter[str] = Counter()
    for value in values:
        weight[value] += 1
    common = [v for v, _ in sorted(weight.items(), key=lambda kv: (-kv[1], kv[0])) if v != MISSING]
    keep = set(common[: MAX_GROUPS - 1]) if len(common) > MAX_GROUPS else set(common)
    groups = [v if v in keep or v == MISSING else OTHER for v in values]
    legend = [v for v in common if v in keep]
    legend += [g for g in (OTHER, MISSING) if g in groups]
    sizes = Counter(groups)
    return [f"{g} ({sizes[g]:,})" for g in groups], [f"{g} ({sizes[g]:,})" for g in legend]


def default_id_col(embeddings: Embeddings) -> str:
    """The item column the model was trained with (``--item-col``), else ``item_id``."""
    session = embeddings.meta.get("input", {}).get("session", {})
    return str(session.get("item_col") or "item_id")


def read_column(path: str, id_col: str, column: str) -> dict[str, str]:
    """Item id → value of ``column`` from a metadata table (first value wins for repeated ids).

    Raises:
        InputError: the file is not a table, or lacks the columns.
    """
    from item2vec.corpus.events import TABLE_FORMATS, detect_format, open_source, read_table

    source = open_source(path)
    fmt = detect_format(source, id_col)
    if fmt not in TABLE_FORMATS:
        raise InputError(
            f"{param('color_table', path)} is not a table: give a CSV/TSV/Parquet/JSONL file with an id column "
            f"({param('id_col')}) and {column!r}",
            param="color_table",
            value=path,
            expected="a CSV/TSV/Parquet/JSONL file",
        )
    with column_roles([(id_col, "id_col"), (column, "color_by")]):
        table = read_table(source, fmt, [id_col, column])
    out: dict[str, str] = {}
    for item, value in zip(table[id_col].to_pylist(), table[column].to_pylist()):
        if item is not None and value is not None and item not in out:
            out[item] = str(value).strip()
    return out
