"""What evaluate and tune run on: test and validation sequences, the training corpus for the
baselines, the score modes to rank with, and the bars a result must meet.

Not to be confused with ``training/holdout.py``, the cases train calibrates its scoring on.

- Session options default to the ones the model was trained with (model.json), so
  ``evaluate MODEL test.csv`` reads the test file the way ``train`` read the training file.
- A model's training corpus is re-read from the inputs model.json names, for the baselines.
- Train + validation: a validation file written by ``split`` holds whole sequences (history
  plus target) whose history is also in the train file; merging the two keeps each sequence
  once (see :func:`merge_validation`).
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from item2vec.corpus.options import session_from_meta
from item2vec.corpus.sequences import read_sequences
from item2vec.errors import Bare, InputError, param
from item2vec.evaluation.evaluate import check_thresholds
from item2vec.model.embeddings import Embeddings
from item2vec.model.identity import check_named_inputs
from item2vec.model.modes import check_score
from item2vec.query.score_modes import registered, score_mode
from item2vec.query.scoring import Scorer, ScoringParts, make_scorer, resolve_scoring

# model.json's "input" record marks a model trained on a train file merged with a validation file.
MERGED = "merged_validation"


def merge_validation(train: list[list[str]], valid: list[list[str]]) -> list[list[str]]:
    """Train + validation with each held-out sequence once.

    Every validation sequence is kept; a training sequence equal to one of them without its
    last item (its target: the sequence is its history) is dropped, once per validation sequence.
    """
    covered = Counter(tuple(seq[:-1]) for seq in valid)
    merged: list[list[str]] = []
    for seq in train:
        key = tuple(seq)
        if covered[key] > 0:
            covered[key] -= 1
        else:
            merged.append(seq)
    return merged + valid


def sample_sequences(
    sequences: list[list[str]], fraction: float, seed: int, *, held_out: bool = False
) -> list[list[str]]:
    """A deterministic sample of about ``fraction`` of the sequences, chosen by their start.

    A sequence is kept by a hash of its first three items, so a held-out sequence
    (``held_out``: its last item is the target) is kept exactly when its training history is.
    """
    if fraction >= 1:
        return sequences
    bar = int(fraction * 2**32)
    out = []
    for seq in sequences:
        history = seq[:-1] if held_out else seq
        key = "\x1f".join([str(seed), *history[:3]]).encode("utf-8")
        if zlib.crc32(key) < bar:
            out.append(seq)
    return out


def model_training_sequences(embeddings: Embeddings, train_files: list[str] | None) -> list[list[str]]:
    """The corpus the model was trained on: ``train_files`` if given, else the inputs in model.json.

    Raises:
        InputError: model.json names no readable input (stdin, moved files): pass --train.
    """
    record = embeddings.meta.get("input", {})
    session = session_from_meta(embeddings.meta, {})
    if train_files:
        return read_sequences(train_files, session).sequences
    shown = list(record.get("inputs") or [])
    inputs = list(record.get("input_paths") or shown)  # absolute since issue 15; older models: as given
    missing = [i for i, name in enumerate(inputs) if name == "<stdin>" or not Path(name).is_file()]
    if not inputs or missing:
        where = ""
        if missing and inputs[missing[0]] != shown[missing[0]]:
            where = f" ({inputs[missing[0]]})"
        what = (
            f"its input {shown[missing[0]]!r}{where} is not readable here" if missing else "it names no input"
        )
        raise InputError(
            f"the baselines need the model's training data, but {what}: pass it with "
            f"{param('train_files', Bare('FILE'))} (or {param('baselines', False)})",
            param="train_files",
        )
    check_named_inputs(record, inputs, shown)  # never a file the user did not name, nor one changed since
    fmt = record.get("input_format")
    if record.get(MERGED) and len(inputs) == 2:
        train = read_sequences(inputs[:1], session, fmt).sequences
        return merge_validation(train, read_sequences(inputs[1:], session, fmt).sequences)
    return read_sequences(inputs, session, fmt).sequences


@dataclass
class Evaluation:
    """Sections of rows (next-item, analogies, pairs) and notes for stderr."""

    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def model_scorers(
    parts: ScoringParts,
    scores: tuple[str, ...] = (),
    *,
    hybrid_weight: float | None = None,
    hybrid_base: str | None = None,
) -> tuple[list[Scorer], list[str]]:
    """The scorers ``evaluate`` ranks with, and notes for stderr.

    The modes asked for, in order (one the model cannot score is an error); by default every
    mode, the model's default first (``--fail-under`` checks the first), each mode the model
    lacks a part for left out with a note saying why.

    Raises:
        ModelError: a mode asked for needs what the model lacks.
        ConfigError: an unknown mode or base, or a bad weight.
    """
    if scores:
        return [
            make_scorer(parts, check_score(s), hybrid_weight=hybrid_weight, hybrid_base=hybrid_base)
            for s in dict.fromkeys(scores)
        ], []
    default = resolve_scoring(parts.embeddings.meta, None, hybrid_weight, hybrid_base)
    scorers, notes = [], []
    for mode in dict.fromkeys([default.mode, *registered()]):
        scoring = replace(default, mode=mode)
        why = score_mode(mode).missing(parts, scoring)
        if why:
            notes.append(f"no {mode} row: {why}")
        else:
            scorers.append(make_scorer(parts, scoring))
    return scorers, notes


def thresholds_met(evaluation: Evaluation, fail_under: list[tuple[str | None, str, float]]) -> None:
    """Raise BelowThresholdError when the model's first next-item row of a protocol misses a
    ``--fail-under`` bar: each bar (protocol, metric, value) gates the protocol it names, or
    every protocol computed (None).

    Raises:
        InputError: bars were set but no next-item metrics were computed, or a bar names a
            protocol that was not computed.
        BelowThresholdError: a bar is not met.
    """
    rows = evaluation.sections.get("next-item")
    if fail_under and not rows:
        raise InputError(
            f"{param('fail_under')} needs next-item metrics: give TEST files", param="fail_under"
        )
    firsts: dict[str, dict[str, Any]] = {}
    for row in rows or []:
        if row.get("method") == "model":
            firsts.setdefault(str(row.get("protocol", "last")), row)
    for protocol, name, bar in fail_under:
        gated = [protocol] if protocol is not None else list(firsts)
        for each in gated:
            if each not in firsts:
                raise InputError(
                    f"{param('fail_under', Bare(f'{protocol}:{name}={bar:g}'))} gates the {each} protocol, "
                    f"which was not computed: add it with {param('query', Bare('both'))}",
                    param="fail_under", fix=f"add it with {param('query', Bare('both'))}",
                )  # fmt: skip
            check_thresholds(firsts[each], [(name, bar)])
