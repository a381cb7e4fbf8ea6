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
The stored space, its loading and the inference of vectors are :mod:`item2vec.training.feature_space`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from item2vec.corpus.events import TABLE_FORMATS, detect_format, open_source, read_table
from item2vec.errors import Bare, ConfigError, InputError, column_roles, cut, param
from item2vec.training.feature_space import FeatureSpace, infer_vectors

if TYPE_CHECKING:
    from item2vec.training.gensim_engine import Trained

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
