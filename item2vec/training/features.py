"""Side information: item attributes as tokens in the same space as items (Meta-Prod2Vec style).

``train --item-features FILE --feature-cols category,brand`` reads one row per item. Each
attribute becomes a token ``PREFIX + column=value``; the prefix is chosen so that no item id
starts with it and is stored in model.json (it is never guessed from ids). Training adds, for
every item of the sequences that has attributes, the sentence ``[item, attr, attr...]``
(``REPEATS`` times) to the sequences ("sentences"), so items that share attributes are pulled
together while the sessions' own contexts stay as they were. docs/features.md has the
measurements behind this choice (against following each item occurrence with its attributes,
"interleave", which cost normal items accuracy and trained about 8x longer).

After training the attribute tokens are taken out of the item vectors and stored apart
(features.npy, features.tsv, features_syn1neg.npy), so similar, analogy, recommend, index
and export only ever see items. Items with attributes but no learned vector (never in a
sequence, or below --min-count) get one from their attributes: each attribute stands for the
mean unit vector of the learned items that carry it, and a cold item gets the mean of its
attributes' vectors, scaled to the mean length of learned item vectors. They are listed in
inferred.tsv; item_features.tsv keeps the item → attribute table for ``embed`` and ``update``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from item2vec.corpus.events import TABLE_FORMATS, detect_format, open_source, read_table
from item2vec.errors import Bare, ConfigError, InputError, ModelError, column_roles, cut, param

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from item2vec.model.embeddings import Embeddings
    from item2vec.training.gensim_engine import Trained

MODE = "sentences"
REPEATS = 5  # each item's attribute sentence is added this many times
_PREFIXES = ("~f:", "~feat:", "~~feature~~:")
_CHUNK = 10_000  # gensim silently truncates longer sentences


@dataclass(frozen=True)
class FeatureOptions:
    """Where attributes come from: ``--item-features FILE --feature-cols A,B --feature-id-col ID``."""

    path: str
    id_col: str
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.id_col in self.columns:
            raise ConfigError(
                f"{param('feature_cols')} has the id column {cut(self.id_col)!r}: list attributes only",
                param="feature_cols",
                value=",".join(self.columns),
                expected="attribute columns only",
            )


def parse_columns(text: str) -> tuple[str, ...]:
    """``"category, brand"`` → ``("category", "brand")``."""
    columns = tuple(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
    if not columns:
        raise ConfigError(
            f"{param('feature_cols', text)} names no column: give e.g. {param('feature_cols', Bare('category,brand'))}",
            param="feature_cols",
            value=text,
            expected="column names, e.g. category,brand",
        )
    return columns


def read_features(options: FeatureOptions, *, id_role: str = "feature_id_col") -> dict[str, tuple[str, ...]]:
    """Item id → its attribute tokens ``column=value`` (unprefixed; empty cells skipped).

    A repeated id gathers the attributes of all its rows (so a multi-valued attribute can be
    given one row per value). ``id_role`` is the option that names the id column, for the
    message when it is missing (``embed`` calls it ``id_col``).

    Raises:
        InputError: the file is missing, not a table, or lacks a column.
    """
    source = open_source(options.path)
    fmt = detect_format(source, options.id_col)
    if fmt not in TABLE_FORMATS:
        raise InputError(
            f"{param('item_features', options.path)} is not a table with a {options.id_col!r} column: "
            f"give a CSV/TSV/Parquet/JSONL file and name its id column with {param(id_role)}",
            param="item_features",
            value=options.path,
            expected="a CSV/TSV/Parquet/JSONL file",
        )
    roles = [(options.id_col, id_role), *((c, "feature_cols") for c in options.columns)]
    with column_roles(roles):
        table = read_table(source, fmt, [options.id_col, *options.columns])
    ids = table[options.id_col].to_pylist()
    gathered: dict[str, dict[str, None]] = {}
    for column in options.columns:
        for item, value in zip(ids, table[column].to_pylist()):
            if item is None or value is None or not value.strip():
                continue
            gathered.setdefault(item, {})[f"{column}={value.strip()}"] = None
    return {item: tuple(tokens) for item, tokens in gathered.items()}


def choose_prefix(ids: Iterable[str]) -> str:
    """The first candidate prefix that no item id starts with."""
    known = list(ids)
    for prefix in _PREFIXES:
        if not any(item.startswith(prefix) for item in known):
            return prefix
    stem = "~" * (1 + max(len(i) for i in known))
    return stem + "f:"


def interleave(
    sequences: Iterable[list[str]], table: Mapping[str, tuple[str, ...]], prefix: str
) -> list[list[str]]:
    """Follow each item occurrence with its prefixed attribute tokens (split at gensim's limit)."""
    prefixed = {item: [prefix + t for t in tokens] for item, tokens in table.items()}
    out: list[list[str]] = []
    for seq in sequences:
        row: list[str] = []
        for item in seq:
            row.append(item)
            row.extend(prefixed.get(item, ()))
        out.extend(row[i : i + _CHUNK] for i in range(0, len(row), _CHUNK))
    return out


def attribute_sentences(
    sequences: Iterable[list[str]], table: Mapping[str, tuple[str, ...]], prefix: str
) -> tuple[list[list[str]], set[str]]:
    """``sequences`` plus ``[item, attrs...]`` (REPEATS times) for each of their items with attributes.

    Returns the training sequences and the items that got a sentence (their vocabulary counts
    include the REPEATS sentence occurrences, which :func:`split_trained` takes off again).
    """
    out = list(sequences)
    seen: dict[str, None] = {}
    for seq in out:
        for item in seq:
            if item in table:
                seen[item] = None
    sentences = [[item, *(prefix + t for t in table[item])] for item in seen if table[item]]
    return out + sentences * REPEATS, {s[0] for s in sentences}


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


def split_trained(
    trained: Trained,
    *,
    prefix: str,
    options: FeatureOptions,
    table: dict[str, tuple[str, ...]],
    with_sentences: set[str] | None = None,
) -> tuple[Trained, FeatureSpace]:
    """Take attribute tokens out of ``trained`` and append vectors for items inferred from them.

    The returned Trained lists learned items first, then inferred ones; its ``syn1neg`` keeps
    the learned items' rows only (inferred items have no training state). Items of
    ``with_sentences`` had REPEATS sentence occurrences added to their counts: taken off here.
    """
    import numpy as np

    from item2vec.training.gensim_engine import Trained

    is_token = np.array([i.startswith(prefix) for i in trained.ids], dtype=bool)
    item_rows = np.flatnonzero(~is_token)
    token_rows = np.flatnonzero(is_token)
    space = FeatureSpace(
        prefix=prefix,
        columns=options.columns,
        id_col=options.id_col,
        tokens=[trained.ids[r][len(prefix) :] for r in token_rows],
        counts=np.asarray([trained.counts[r] for r in token_rows], dtype=np.int64),
        vectors=np.ascontiguousarray(trained.vectors[token_rows], dtype=np.float32),
        syn1neg=np.ascontiguousarray(trained.syn1neg[token_rows], dtype=np.float32),
        table=table,
    )
    ids = [trained.ids[r] for r in item_rows]
    vectors = np.asarray(trained.vectors[item_rows], dtype=np.float32)
    learned = set(ids)
    cold = {item: tokens for item, tokens in table.items() if item not in learned}
    new_ids, new_vectors, used, _ = infer_vectors(table, cold, ids, vectors)
    space.inferred = used
    extra = with_sentences or set()

    def count(item: str, n: int) -> int:
        return max(0, n - REPEATS) if item in extra else n

    dropped = {
        k: count(k, v) for k, v in trained.dropped.items() if not k.startswith(prefix) and k not in used
    }
    result = Trained(
        ids=ids + new_ids,
        counts=[count(trained.ids[r], trained.counts[r]) for r in item_rows]
        + [count(i, trained.dropped.get(i, 0)) for i in new_ids],
        vectors=np.vstack([vectors, new_vectors]).astype(np.float32),
        syn1neg=np.ascontiguousarray(trained.syn1neg[item_rows], dtype=np.float32),
        dropped=dropped,
        seconds=trained.seconds,
        items_trained=trained.items_trained,
        feed=trained.feed,
    )
    return result, space


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


@dataclass
class FeatureSetup:
    """The attributes of one training run: the table and the token prefix chosen for it."""

    options: FeatureOptions
    table: dict[str, tuple[str, ...]]
    prefix: str

    with_sentences: set[str] = field(default_factory=set)

    def sequences(self, sequences: Iterable[list[str]]) -> list[list[str]]:
        out, self.with_sentences = attribute_sentences(sequences, self.table, self.prefix)
        return out

    def split(self, trained: Trained) -> tuple[Trained, FeatureSpace]:
        return split_trained(
            trained,
            prefix=self.prefix,
            options=self.options,
            table=self.table,
            with_sentences=self.with_sentences,
        )


def setup_features(options: FeatureOptions, sequences: Iterable[list[str]]) -> FeatureSetup:
    """Read the attribute table and choose a token prefix no item id (in it or the corpus) has."""
    table = read_features(options)
    ids = {item for seq in sequences for item in seq}
    ids.update(table)
    return FeatureSetup(options, table, choose_prefix(ids))
