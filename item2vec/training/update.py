"""``update``: continue training a model on new logs, add new items, record the history.

- Session options and training parameters default to those in model.json; flags override.
  The learning rate defaults to the trained one / ALPHA_DIVISOR (measured, docs/features.md).
- Items new to the model are added when their count reaches --min-count, counting both the
  new data and the occurrences the model had dropped before (dropped.tsv); the rest stay in
  dropped.tsv with the summed count. Items inferred from attributes that now occur often
  enough are learned, starting from their inferred vector; the others are inferred again
  from the updated attribute vectors.
- The transitions (transitions.npz) get the new data's counts added to the stored ones
  (item2vec.training.build_transitions says what that approximates); a model without them gets
  them from the new data alone, and model.json's record says so (``"since": "update"``).
- The result is written like ``train`` writes: to a temporary directory renamed into place.
  The output defaults to the model itself, which is replaced only with --force; an existing
  ``-o`` output too is replaced only with --force (the rename never replaces a model another run
  saved there meanwhile). The output is locked for the whole run (item2vec.model.identity): a
  second update or embed of the same output fails at once instead of one result being lost.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from item2vec.corpus.events import TABLE_FORMATS, Source, detect_format, open_source
from item2vec.corpus.options import SessionOptions, session_from_meta
from item2vec.corpus.sequences import load_corpus
from item2vec.errors import InputError, ModelError, cut, listing, param
from item2vec.model.checks import load_array
from item2vec.model.embeddings import Embeddings
from item2vec.model.identity import ID_KEY, model_lock, replaced_error
from item2vec.model.parts import load_model_transitions
from item2vec.model.store import check_replace, load, read_meta, save
from item2vec.model.transitions import TRANSITIONS_FILE, TransitionMatrix
from item2vec.training.build_transitions import extended
from item2vec.training.config import TrainConfig, default_workers
from item2vec.training.feature_space import FeatureSpace, load_space
from item2vec.training.features import FeatureOptions, attribute_sentences, split_trained
from item2vec.training.gensim_engine import ProgressCallback, Trained
from item2vec.training.resume import State, resume

# Online Retail, update on the next 10% of invoices: HR@10 0.2316 at the trained alpha (below the
# un-updated model's 0.2778), 0.2823 at alpha / 5 and 0.2900 at alpha / 20 (retraining: 0.2861).
ALPHA_DIVISOR = 20


@dataclass
class UpdateSummary:
    """What one ``update`` did, for the closing summary and model.json's history."""

    output: Path
    events: int
    sequences: int
    items_before: int
    items_after: int
    new_items: int
    still_dropped: int
    inferred_items: int
    epochs: int
    seconds: float
    notes: list[str] = field(default_factory=list)  # warnings for stderr
    transitions: str = ""  # what happened to transitions.npz, in words

    def lines(self) -> list[str]:
        return [
            f"Read {self.events:,} events into {self.sequences:,} sequences",
            f"Items: {self.items_before:,} before, {self.items_after:,} after ({self.new_items:,} new, "
            f"{self.still_dropped:,} still below {param('min_count')}"
            + (f", {self.inferred_items:,} inferred from features)" if self.inferred_items else ")"),
            *([f"Transitions: {self.transitions}"] if self.transitions else []),
            f"Trained {self.epochs} epochs in {self.seconds:.1f} s; model saved to {self.output}",
        ]


def check_updatable(model: Path, meta: dict[str, Any]) -> None:
    """Refuse models that keep no training state.

    Raises:
        ModelError: a Spark model, or one without syn1neg.npy.
    """
    engine = meta.get("engine", "gensim")
    if engine != "gensim":
        raise ModelError(
            f"model {str(model)!r} was trained with engine {engine!r}, which keeps no training state "
            "to continue from: retrain on old and new data with 'item2vec train'"
        )
    if not (model / "syn1neg.npy").is_file():
        raise ModelError(
            f"model {str(model)!r} has no syn1neg.npy (its training state), so it cannot be updated: "
            "retrain on old and new data with 'item2vec train'"
        )


def updated_config(meta: dict[str, Any], overrides: dict[str, Any]) -> TrainConfig:
    """The model's recorded parameters, then every override not None.

    Workers default to this machine's cores, and the learning rate to the trained one divided
    by ``ALPHA_DIVISOR``: restarting at the full rate pulled the old space apart (docs/features.md).
    """
    known = {f.name for f in fields(TrainConfig)} - {"preset", "workers"}
    params = {k: v for k, v in dict(meta.get("params") or {}).items() if k in known}
    params["workers"] = default_workers()
    if "alpha" in params:
        params["alpha"] = float(params["alpha"]) / ALPHA_DIVISOR
    preset = str((meta.get("params") or {}).get("preset", "recsys"))
    return TrainConfig.from_preset(
        preset, **{**params, **{k: v for k, v in overrides.items() if v is not None}}
    )


def run_update(
    model: Path,
    inputs: list[str],
    *,
    output: Path | None = None,
    force: bool = False,
    session_overrides: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    input_format: str | None = None,
    progress: ProgressCallback | None = None,
) -> UpdateSummary:
    """Continue training ``model`` on ``inputs`` and save the result to ``output`` (default: in place).

    Raises:
        ModelError: the model cannot be updated (see :func:`check_updatable`), or it was replaced
            while it was read.
        OutputExistsError: the output is the model itself (or another model) and ``force`` is off.
        OutputError: another run is writing the output now.
    """
    target = output or model
    with model_lock(target):
        return _run_update(model, inputs, target=target, force=force, session_overrides=session_overrides,
                           overrides=overrides, input_format=input_format, progress=progress)  # fmt: skip


def _run_update(
    model: Path,
    inputs: list[str],
    *,
    target: Path,
    force: bool,
    session_overrides: dict[str, Any] | None,
    overrides: dict[str, Any] | None,
    input_format: str | None,
    progress: ProgressCallback | None,
) -> UpdateSummary:
    meta = read_meta(model)
    _check_target(model, meta, target=target, force=force)
    session = session_from_meta(meta, session_overrides or {})
    config = updated_config(meta, overrides or {})
    if inputs.count("-") > 1:
        raise InputError("'-' (stdin) can be given only once")
    sources = [open_source(name) for name in inputs]
    fmt = _check_kind(model, meta, sources, session, input_format)
    corpus = load_corpus(sources, fmt, session)
    embeddings = load(model, mmap=False)
    if embeddings.meta.get(ID_KEY) != meta.get(ID_KEY):
        raise replaced_error(model)  # retrained while the new data was read: update that one
    _check_overlap(embeddings, corpus.sequences, corpus.stats.inputs, session)
    old_transitions = (
        load_model_transitions(model, embeddings) if (model / TRANSITIONS_FILE).is_file() else None
    )
    trained, space = _train(model, meta, embeddings, corpus.sequences, config=config, progress=progress)
    summary = UpdateSummary(
        output=target,
        events=corpus.stats.events_read,
        sequences=len(corpus.sequences),
        items_before=len(embeddings),
        items_after=len(trained.ids),
        new_items=len(set(trained.ids) - set(embeddings.ids)),
        still_dropped=len(trained.dropped),
        inferred_items=len(space.inferred) if space else 0,
        epochs=config.epochs,
        seconds=trained.seconds,
        notes=column_notes(meta, session),
    )
    matrix, record = extended(
        old_transitions, embeddings.ids, corpus.sequences, trained.ids,
        skip=space.inferred if space else (), previous=meta.get("transitions"),
    )  # fmt: skip
    summary.transitions = (
        f"{record['entries']:,}, the new counts added to the stored ones"
        if old_transitions is not None
        else f"{record['entries']:,}, built from this update's data only (the model had none)"
    )
    _save(embeddings, trained, space, summary, inputs=corpus.stats.inputs, force=force,
          transitions=(matrix, record))  # fmt: skip
    return summary


def _check_target(model: Path, meta: dict[str, Any], *, target: Path, force: bool) -> None:
    """Refuse a model that cannot be updated, and an output that may not be replaced."""
    check_updatable(model, meta)
    check_replace(model, target, force=force, command="update")


def _train(
    model: Path,
    meta: dict[str, Any],
    embeddings: Embeddings,
    corpus_sequences: list[list[str]],
    *,
    config: TrainConfig,
    progress: ProgressCallback | None,
) -> tuple[Trained, FeatureSpace | None]:
    """Resume training on the new sequences (with attribute sentences when the model has them)."""
    space = load_space(model, meta)
    sequences: list[list[str]] = list(corpus_sequences)
    with_sentences: set[str] = set()
    if space is not None:
        sequences, with_sentences = attribute_sentences(sequences, space.table, space.prefix)
    state, plan = _plan(model, embeddings, space, sequences, config.min_count)
    trained = resume(state, sequences, new_counts=plan.train_counts, config=config, progress=progress)
    trained.dropped = plan.dropped
    if space is not None:
        options = FeatureOptions("", space.id_col, space.columns)
        trained, space = split_trained(
            trained, prefix=space.prefix, options=options, table=space.table, with_sentences=with_sentences
        )
    return trained, space


def _kind(fmt: str) -> str:
    return "events" if fmt in TABLE_FORMATS else fmt


def _check_kind(
    model: Path, meta: dict[str, Any], sources: list[Source], session: SessionOptions, fmt: str | None
) -> str | None:
    """Refuse new input of another kind (text, sequences, events) than the model was trained on.

    Returns the format of the inputs (``fmt``, or the one detected when all agree).

    Raises:
        InputError: naming both kinds.
    """
    trained = (meta.get("input") or {}).get("input_format")
    found = {fmt or detect_format(s, session.item_col, session.delimiter) for s in sources}
    if not trained or len(found) != 1:
        return fmt  # an old model that does not say, or mixed inputs (load_corpus refuses those)
    new = found.pop()
    if _kind(new) != _kind(trained):
        names = listing([s.name for s in sources])
        raise InputError(
            f"model {str(model)!r} was trained on {_kind(trained)} ({trained}), but {names} reads as "
            f"{_kind(new)} ({new}): update it with input of the same kind, pass {param('input_format')} if the "
            "guess is wrong, or train a new model on this data"
        )
    return new


_COLUMN_ROLES = {
    "user_col": "events are grouped into users by it",
    "session_col": "events are grouped into sessions by it",
    "item_col": "its ids must name the same items as the model's",
    "time_col": "events are ordered by it",
}


def column_notes(meta: dict[str, Any], session: SessionOptions) -> list[str]:
    """A warning for each column the update reads that differs from the one the model was trained with."""
    saved = (meta.get("input") or {}).get("session") or {}
    notes = []
    for key, role in _COLUMN_ROLES.items():
        before, now = saved.get(key), getattr(session, key)
        if key in saved and before != now:
            now_text = cut(repr(now)) if now else "none"
            was = cut(repr(before)) if before else "none"
            notes.append(f"--{key.replace('_', '-')} is {now_text}, the model was trained with {was}: {role}")
    return notes


def _check_overlap(
    embeddings: Embeddings, sequences: list[list[str]], inputs: list[str], session: SessionOptions
) -> None:
    """Refuse new data none of whose items is in the model.

    Such an update would not move one old vector (no shared context) and would place the new
    items in a region of their own, so their similarity to old items would mean nothing.

    Raises:
        InputError: naming a few new and old ids, and the item column.
    """
    known = embeddings.index
    new = {item for seq in sequences for item in seq}
    if any(item in known for item in new):
        return
    sample = listing([repr(i) for i in sorted(new)[:3]], 3)
    old = listing([repr(i) for i in embeddings.ids[:3]], 3)
    raise InputError(
        f"none of the {len(new):,} items in {listing(inputs)} is in the model (new: {sample}; the "
        f"model's: {old}): an update would learn them apart from every old item. Check {param('item_col')} "
        f"({session.item_col!r}) and that the ids are of the same kind; for unrelated data train a new model"
    )


@dataclass
class _Plan:
    train_counts: dict[str, int]
    dropped: dict[str, int]


def _plan(
    model: Path,
    embeddings: Embeddings,
    space: FeatureSpace | None,
    sequences: list[list[str]],
    min_count: int,
) -> tuple[State, _Plan]:
    """The saved state, and which words of the new data to train (the rest stay dropped).

    ``sequences`` are the training sequences, attribute sentences included.
    """
    import numpy as np

    inferred = space.inferred if space else {}
    learned = len(embeddings) - len(inferred)
    syn1neg = load_array(model, "syn1neg.npy", learned, embeddings.dim, meta=embeddings.meta)
    ids = list(embeddings.ids[:learned])
    counts = [int(c) for c in embeddings.counts[:learned]]
    vectors = np.asarray(embeddings.vectors[:learned], dtype=np.float32)
    warm = {embeddings.ids[r]: np.asarray(embeddings.vectors[r]) for r in range(learned, len(embeddings))}
    state = State(ids=ids, counts=counts, vectors=vectors, syn1neg=syn1neg, warm=warm)
    new = Counter(item for seq in sequences for item in seq)
    if space is not None and space.syn1neg is not None:
        state.ids += [space.prefix + t for t in space.tokens]
        state.counts += [int(c) for c in space.counts]
        state.vectors = np.vstack([vectors, space.vectors]).astype(np.float32)
        state.syn1neg = np.vstack([syn1neg, space.syn1neg]).astype(np.float32)
    known = set(state.ids)
    train_counts: dict[str, int] = {}
    dropped = {k: v for k, v in embeddings.dropped.items() if k not in new}
    for word, n in new.items():
        before = embeddings.dropped.get(word, 0)
        if word in inferred:
            before += int(embeddings.counts[embeddings.index[word]])
        if word in known or n + before >= min_count:
            train_counts[word] = n if word in known else n + before
        else:
            dropped[word] = n + before
    return state, _Plan(train_counts, dropped)


def _save(
    old: Embeddings,
    trained: Trained,
    space: FeatureSpace | None,
    summary: UpdateSummary,
    *,
    inputs: list[str],
    force: bool,
    transitions: tuple[TransitionMatrix, dict[str, Any]],
) -> None:
    import numpy as np

    history = list(old.meta.get("updates") or [])
    history.append(
        {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": "update",
            "inputs": inputs,
            "events": summary.events,
            "sequences": summary.sequences,
            "items_before": summary.items_before,
            "items_after": summary.items_after,
            "new_items": summary.new_items,
            "epochs": summary.epochs,
            "train_seconds": round(summary.seconds, 3),
            "transitions": "extended" if "transitions" in old.meta else "built from this update",
        }
    )
    meta = {k: v for k, v in old.meta.items() if k not in ("items", "dim", "format_version")}
    meta["updates"] = history
    meta["transitions"] = transitions[1]
    if space is not None:
        meta["features"] = space.meta()
    kept = set(trained.ids)
    embeddings = Embeddings(
        ids=trained.ids,
        vectors=trained.vectors,
        counts=np.asarray(trained.counts, dtype=np.int64),
        names={k: v for k, v in old.names.items() if k in kept},
        meta=meta,
        dropped=trained.dropped,
    )
    extra = {"syn1neg": trained.syn1neg, **(space.arrays() if space else {})}
    save(embeddings, summary.output, force=force, extra=extra, tables=space.tables() if space else None,
         transitions=transitions[0])  # fmt: skip
