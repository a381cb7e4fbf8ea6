"""The evaluate job: one typed request, shared by ``item2vec evaluate``, ``Model.evaluate`` and the report.

Each edge builds an :class:`EvaluateRequest` (how to read the test and training data, the
cut-offs, the query, the score modes, the word benchmarks) and calls :func:`run_evaluation`:
next-item metrics in each score mode against the baselines (:mod:`item2vec.evaluation.evaluate`),
analogy and word-pair benchmarks (:mod:`item2vec.evaluation.benchmarks`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from item2vec.corpus.options import SessionOptions, session_from_meta
from item2vec.corpus.sequences import read_sequences
from item2vec.errors import ConfigError, check_choice
from item2vec.evaluation.benchmarks import evaluate_analogies, evaluate_pairs
from item2vec.evaluation.eval_inputs import Evaluation, model_scorers, model_training_sequences
from item2vec.evaluation.evaluate import evaluate_next_item
from item2vec.evaluation.ranking import PROTOCOLS, Query
from item2vec.query.scoring import ScoringParts, open_parts

if TYPE_CHECKING:
    from item2vec.model.embeddings import Embeddings

SequencesReader = Callable[[SessionOptions], list[list[str]]]
"""Reads sequences with the session options it is given (the model's, by default)."""


@dataclass(frozen=True)
class EvaluateRequest:
    """What to evaluate and how.

    Attributes:
        test: reads the test sequences (the last item of each is the target); None: no
            next-item metrics.
        train: reads the model's training data, for the baselines (None: the files model.json names).
        session_overrides: session options that replace the model's when ``test`` is read.
        baselines: also rank with most-popular, co-occurrence and sequential rules.
        ks: the metrics' cut-offs.
        query: the protocols: ``last`` (the query is the item before the target), ``history``
            (the whole history before it: the model queries with its last ``history`` items and
            scores seen items as ``recommend`` does), or ``both`` (the default).
        history: items of the history the model's query uses (``recommend``'s history size).
        analogies: analogy questions (questions-words format).
        pairs: word pairs with human scores.
        parts: the model's scoring parts (None: opened from the embeddings alone).
        scores: the score modes to rank with (default: every mode the model can score).
        hybrid_weight: hybrid's weight (None: the model's).
        hybrid_base: hybrid's base (None: the model's).

    Raises:
        ConfigError: a cut-off below 1, an unknown query, or a history below 1.
    """

    test: SequencesReader | None = None
    train: SequencesReader | None = None
    session_overrides: Mapping[str, Any] = field(default_factory=dict)
    baselines: bool = True
    ks: tuple[int, ...] = (10,)
    query: Query | Literal["both"] = "both"
    history: int = 5
    analogies: Path | None = None
    pairs: Path | None = None
    parts: ScoringParts | None = None
    scores: tuple[str, ...] = ()
    hybrid_weight: float | None = None
    hybrid_base: str | None = None

    @property
    def protocols(self) -> tuple[Query, ...]:
        """The protocols ``query`` names, in order."""
        return PROTOCOLS if self.query == "both" else (self.query,)

    def __post_init__(self) -> None:
        if not self.ks or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in self.ks):
            raise ConfigError(param="k", value=self.ks, expected="cut-offs of 1 or more, such as 10 or 10,20")
        check_choice("query", self.query, (*PROTOCOLS, "both"), quoted=True)
        if isinstance(self.history, bool) or not isinstance(self.history, int) or self.history < 1:
            raise ConfigError(param="history", value=self.history, expected="1 or more items")


def read_files(files: Sequence[str], input_format: str | None = None) -> SequencesReader:
    """A reader of ``files`` as ``train`` reads them, with the session options it is given."""

    def read(session: SessionOptions) -> list[list[str]]:
        return read_sequences(list(files), session, input_format).sequences

    return read


def run_evaluation(embeddings: Embeddings, *, request: EvaluateRequest) -> Evaluation:
    """Everything ``item2vec evaluate`` reports: next-item metrics for the test data in each score
    mode (:func:`~item2vec.evaluation.eval_inputs.model_scorers`), with baselines on the model's
    training data, and analogy and word-pair benchmarks."""
    result = Evaluation()
    if request.test is not None:
        scorers, result.notes = model_scorers(
            request.parts or open_parts(embeddings, None),
            request.scores,
            hybrid_weight=request.hybrid_weight,
            hybrid_base=request.hybrid_base,
        )
        test = request.test(session_from_meta(embeddings.meta, dict(request.session_overrides)))
        train = _training(embeddings, request.train) if request.baselines else None
        context = embeddings.meta.get("params", {}).get("context", "window")
        report = evaluate_next_item(
            embeddings, test, train, ks=request.ks, protocols=request.protocols, history=request.history,
            context=context, scorers=scorers,
        )  # fmt: skip
        result.sections["next-item"] = report.rows
        result.notes += report.notes
    if request.analogies is not None:
        result.sections["analogies"] = evaluate_analogies(embeddings, request.analogies)
    if request.pairs is not None:
        result.sections["pairs"] = evaluate_pairs(embeddings, request.pairs)
    return result


def _training(embeddings: Embeddings, reader: SequencesReader | None) -> list[list[str]]:
    """The baselines' training data: read by ``reader`` with the model's session options, else the
    files model.json names."""
    if reader is None:
        return model_training_sequences(embeddings, None)
    return reader(session_from_meta(embeddings.meta, {}))
