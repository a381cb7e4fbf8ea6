"""``Model.evaluate``: the CLI's ``evaluate`` on data from Python, by the same runner.

Test data of any kind ``train`` takes is read with the session options the model was trained
with (model.json), as ``item2vec evaluate`` reads its test files; the baselines are counted on
``train=``, else on the corpus a model trained in this session keeps, else on the files
model.json names (:func:`item2vec.evaluation.eval_inputs.model_training_sequences`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from item2vec.api.data import read_data
from item2vec.api.errors import python_terms
from item2vec.errors import ConfigError, param
from item2vec.evaluation.eval_inputs import Evaluation
from item2vec.evaluation.ranking import Query
from item2vec.evaluation.runner import EvaluateRequest, SequencesReader, run_evaluation
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
    query: Query | Literal["both"],
    history: int,
    train: object,
    baselines: bool,
    analogies: str | Path | None,
    pairs: str | Path | None,
    parts: ScoringParts,
    scores: tuple[str, ...] = (),
) -> Evaluation:
    """Everything ``item2vec evaluate`` reports, for ``Model.evaluate``: its keyword arguments as one
    :class:`~item2vec.evaluation.runner.EvaluateRequest` (the data read by :func:`read_data`).

    Many parameters: they are ``Model.evaluate``'s public keyword arguments, one for one, which
    this function turns into the request; bundling them here would only move the list.

    Raises:
        TypeError: nothing to evaluate (no test data, analogies or pairs).
        ConfigError: bad cut-offs, query or history.
    """
    if test is None and analogies is None and pairs is None:
        raise TypeError(
            "evaluate() needs test data, analogies= (a questions-words file) or pairs= (word pairs)"
        )
    request = EvaluateRequest(
        test=_reader(test) if test is not None else None,
        train=_reader(train) if train is not None else _kept(corpus) if corpus is not None else None,
        baselines=baselines, ks=_cutoffs(ks), query=query, history=history, parts=parts, scores=scores,
        analogies=Path(analogies) if analogies is not None else None,
        pairs=Path(pairs) if pairs is not None else None,
    )  # fmt: skip
    result = run_evaluation(embeddings, request=request)
    result.notes = [python_terms(note) for note in result.notes]
    return result


def _reader(data: object) -> SequencesReader:
    """Reads ``data`` (any kind ``train`` takes) with the session options it is given."""
    return lambda session: read_data(data, session).sequences


def _kept(corpus: Packed) -> SequencesReader:
    """The corpus a model trained in this session keeps (already sessionized)."""
    return lambda _session: corpus.to_lists()


def _cutoffs(ks: Ks) -> tuple[int, ...]:
    values = [ks] if isinstance(ks, int) else list(ks)
    if not values or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in values):
        raise ConfigError(
            f"{param('k', ks)} is invalid: give cut-offs of 1 or more, such as 10 or (10, 20)",
            param="k", value=ks, expected="cut-offs of 1 or more, such as 10 or (10, 20)",
        )  # fmt: skip
    return tuple(sorted(set(values)))


def history_size_of(history_size: int, history: int | None) -> int:
    """``evaluate``'s ``history_size``, or ``history``, its old name, with a DeprecationWarning.

    Raises:
        TypeError: both given, or not a whole number.
        ConfigError: below 1.
    """
    if history is not None:
        if history_size != 5:
            raise TypeError(
                "evaluate() got history= (the old name of history_size=) and history_size=: give one"
            )
        warnings.warn(
            "evaluate(history=) is now history_size= (in recommend, history= is the list of items)",
            DeprecationWarning,
            stacklevel=4,
        )
        history_size = history
    if isinstance(history_size, bool) or not isinstance(history_size, int):
        raise TypeError(f"history_size must be a whole number (int), not {type(history_size).__name__}")
    if history_size < 1:
        raise ConfigError(param="history_size", value=history_size, expected="1 or more items")
    return history_size
