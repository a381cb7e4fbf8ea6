"""``Model.evaluate``: the CLI's ``evaluate`` on data from Python.

Test data of any kind ``train`` takes is read with the session options the model was trained
with (model.json), as ``item2vec evaluate`` reads its test files; the baselines are counted on
``train=``, else on the corpus a model trained in this session keeps, else on the files
model.json names (:func:`item2vec.evaluation.heldout.model_training_sequences`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from item2vec.api.data import read_data
from item2vec.api.errors import python_terms
from item2vec.corpus.options import SessionOptions, session_from_meta
from item2vec.errors import ConfigError
from item2vec.evaluation.benchmarks import evaluate_analogies, evaluate_pairs
from item2vec.evaluation.evaluate import evaluate_next_item
from item2vec.evaluation.heldout import Evaluation, model_scorers, model_training_sequences
from item2vec.evaluation.ranking import Query
from item2vec.model.embeddings import Embeddings

if TYPE_CHECKING:
    from item2vec.corpus.packed import Packed
    from item2vec.query.scoring import ScoringParts

Ks = int | Iterable[int]


def evaluate_model(
    embeddings: Embeddings,
    test: object,
    *,
    corpus: Packed | None,
    ks: Ks,
    query: Query,
    history: int,
    train: object,
    baselines: bool,
    analogies: str | Path | None,
    pairs: str | Path | None,
    parts: ScoringParts,
    scores: tuple[str, ...] = (),
) -> Evaluation:
    """Everything ``item2vec evaluate`` reports, for ``Model.evaluate``.

    Raises:
        TypeError: nothing to evaluate (no test data, analogies or pairs).
        ConfigError: bad cut-offs, query or history.
    """
    if test is None and analogies is None and pairs is None:
        raise TypeError(
            "evaluate() needs test data, analogies= (a questions-words file) or pairs= (word pairs)"
        )
    result = Evaluation()
    if test is not None:
        cutoffs, history = _cutoffs(ks), _history(query, history)
        session = session_from_meta(embeddings.meta, {})
        cases = read_data(test, session).sequences
        counted = _training_sequences(embeddings, train, corpus, session) if baselines else None
        context = embeddings.meta.get("params", {}).get("context", "window")
        scorers, notes = model_scorers(parts, scores)
        report = evaluate_next_item(
            embeddings, cases, counted, ks=cutoffs, query=query, history=history, context=context,
            scorers=scorers,
        )  # fmt: skip
        result.notes += [python_terms(note) for note in notes]
        result.sections["next-item"] = report.rows
        result.notes += [python_terms(note) for note in report.notes]
    if analogies is not None:
        result.sections["analogies"] = evaluate_analogies(embeddings, Path(analogies))
    if pairs is not None:
        result.sections["pairs"] = evaluate_pairs(embeddings, Path(pairs))
    return result


def _training_sequences(
    embeddings: Embeddings, train: object, corpus: Packed | None, session: SessionOptions
) -> list[list[str]]:
    if train is not None:
        return read_data(train, session).sequences
    if corpus is not None:
        return corpus.to_lists()
    return model_training_sequences(embeddings, None)


def _cutoffs(ks: Ks) -> tuple[int, ...]:
    values = [ks] if isinstance(ks, int) else list(ks)
    if not values or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in values):
        raise ConfigError(f"k={ks!r} is invalid: give cut-offs of 1 or more, such as 10 or (10, 20)")
    return tuple(sorted(set(values)))


def _history(query: str, history: int) -> int:
    if query not in ("last", "history"):
        raise ConfigError(f"--query {query!r} is unknown: use 'last' or 'history'")
    if isinstance(history, bool) or not isinstance(history, int) or history < 1:
        raise ConfigError(f"--history {history!r} is invalid: use 1 or more items")
    return history
