"""The score modes, one registered class each, and the registry everything else reads.

A mode says which parts of a model it needs (output vectors, transitions), how it scores a block
of queries exactly, how it shortlists with an approximate index, how it describes itself, and
which ways of scoring ``tune`` and train's calibration try (its grid). The ``--score`` choices,
the server's request types, the API's accepted values and the grids all come from
:func:`registered`; a new mode is one class here (or anywhere, decorated with :func:`register`)
plus its tests.

The three shipped modes (definitions and defaults: ``item2vec.model.modes``):

- ``similar``: cos(query, input vector of each candidate);
- ``next``: cos(query, output vector of each candidate);
- ``hybrid``: z + w · log1p(t), where z standardises the base score (``similar`` or ``next``) over
  the whole catalogue with the exact mean and std of ``ScoringParts.standard``, and t is the
  query's transition score. With an index it takes the base index's shortlist plus every item
  the query's transitions name, then scores them exactly; it can miss only an item that has no
  transition from the query and that the index missed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, TypeVar

from item2vec.model.embeddings import Neighbour, unit_rows
from item2vec.model.modes import (
    HYBRID_BASES,
    TRANSITION_STEPS,
    TUNE_WEIGHTS,
    declare_mode,
    forget_mode,
    mode_names,
)
from item2vec.model.scoring_record import Scoring
from item2vec.query.neighbours import answer as exact_answer
from item2vec.query.neighbours import similar as exact_similar
from item2vec.query.scoring_parts import ScoringParts
from item2vec.query.topk import (
    distinct,
    padded_columns,
    pair_lookup,
    rescore,
    sparse_lookup,
    standardised_top,
    top_k,
)

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp
    from numpy.typing import NDArray

    from item2vec.query.index import AnnIndex

Pairs = tuple["NDArray[np.int64]", "NDArray[np.int64]"]
Top = tuple["NDArray[np.int64]", "NDArray[np.float32]"]
M = TypeVar("M", bound="type[ScoreMode]")
_REGISTRY: dict[str, ScoreMode] = {}


class ScoreMode:
    """One way of scoring candidates. Subclass, set the class variables, override what differs.

    ``uses`` names the :class:`Scoring` fields the mode reads (of ``weight``, ``base``, ``steps``):
    only those are recorded, described and varied in its grid.
    """

    name: ClassVar[str]
    help: ClassVar[str] = ""  # a few words for --help and the OpenAPI docs
    uses: ClassVar[tuple[str, ...]] = ()
    uses_transitions: ClassVar[bool] = False
    # Scores are the cosines of input vectors alone, as exact ``similar``: batch paths may use
    # their own matrix product, and an index of the input vectors is searched as it is.
    plain: ClassVar[bool] = False

    def base(self, scoring: Scoring) -> str:
        """Which vectors the embedding score reads: ``similar`` (input) or ``next`` (output)."""
        return "similar"

    def missing(self, parts: ScoringParts, scoring: Scoring) -> str | None:
        """Why the model behind ``parts`` cannot be scored so, or None."""
        if self.base(scoring) == "next":
            why = parts.missing_output(self.name)
            if why:
                return why
        return parts.missing_transitions(self.name) if self.uses_transitions else None

    def prepare(self, parts: ScoringParts, scoring: Scoring) -> None:
        """Read the parts now, so that a corrupt one fails before any work is done."""
        if self.base(scoring) == "next":
            parts.output_vectors(self.name)
        if self.uses_transitions:
            parts.transition_csr(self.name)

    def scores(
        self,
        parts: ScoringParts,
        scoring: Scoring,
        unit: NDArray[np.float32],
        transitions: sp.csr_matrix | None,
    ) -> NDArray[np.float32]:
        """Exact scores of every item for each unit query (rows): dense, queries x catalogue."""
        return parts.cosines(self.base(scoring), unit, self.name)

    def pair_scores(
        self,
        parts: ScoringParts,
        scoring: Scoring,
        unit: NDArray[np.float32],
        transitions: sp.csr_matrix | None,
        pairs: Pairs,
    ) -> NDArray[np.float32]:
        """:meth:`scores` at (query, item row) ``pairs`` only (a history's own items)."""
        import numpy as np

        owner, cols = pairs
        vectors, inverse = parts.vectors(self.base(scoring), self.name)
        dots = np.einsum("ij,ij->i", unit[owner], np.asarray(vectors[cols], dtype=np.float32))
        result: NDArray[np.float32] = (dots * inverse[cols]).astype(np.float32)
        return result

    def spread(self, parts: ScoringParts, scoring: Scoring, unit: NDArray[np.float32]) -> NDArray[np.float32]:
        """Per unit query, the standard deviation of its embedding scores over the catalogue: the
        unit a repeat weight raises a seen item's score in (``item2vec.query.repeats``)."""
        return parts.standard(self.base(scoring), unit, self.name)[1]

    def top(
        self,
        parts: ScoringParts,
        scoring: Scoring,
        unit: NDArray[np.float32],
        transitions: sp.csr_matrix | None,
        k: int,
        exclude: Pairs | None,
    ) -> Top:
        """The ``k`` best rows and scores of :meth:`scores` per unit query, ``exclude`` pairs left
        out (-1 and -inf pad)."""
        import numpy as np

        matrix = self.scores(parts, scoring, unit, transitions)
        if exclude is not None and len(exclude[0]):
            matrix[exclude] = -np.inf
        return top_k(matrix, k)

    def shortlist(
        self,
        parts: ScoringParts,
        scoring: Scoring,
        index: AnnIndex,
        queries: NDArray[np.float32],
        transitions: sp.csr_matrix | None,
        k: int,
        exclude: Pairs | None,
        most_excluded: int,
    ) -> Top:
        """The ``k`` best rows and scores per query from ``index`` (over the base's vectors),
        re-scored exactly; -1 and -inf pad."""
        vectors, _ = parts.vectors(self.base(scoring), self.name)
        return index.search(vectors, queries, k, exclude=exclude, most_excluded=most_excluded)

    def answer(
        self,
        parts: ScoringParts,
        scoring: Scoring,
        labels: list[str],
        queries: NDArray[np.float32],
        exclude: list[set[int]],
        k: int,
        index: AnnIndex | None,
    ) -> list[Neighbour] | None:
        """Answers by the mode's own path, or None to rank blocks of ``top`` (the default)."""
        return None

    def similar(
        self,
        parts: ScoringParts,
        scoring: Scoring,
        items: list[str],
        k: int,
        combine: bool,
        index: AnnIndex | None,
    ) -> list[Neighbour] | None:
        """The best items for each item (or all together) by the mode's own path, or None to
        answer the items' weighted queries (the default)."""
        return None

    def describe(self, scoring: Scoring) -> str:
        """The mode in words, e.g. ``hybrid (next, weight 8)``, ``hybrid (next, weight 8, 1 step)``,
        ``hybrid (next, weight 4, both ways)``."""
        words = []
        if "base" in self.uses:
            words.append(scoring.base)
        if "weight" in self.uses:
            words.append(f"weight {scoring.weight:g}")
        if "steps" in self.uses and scoring.steps != TRANSITION_STEPS:
            words.append(f"{scoring.steps} step" + ("s" if scoring.steps != 1 else ""))
        if "direction" in self.uses and scoring.direction == "both":
            words.append("both ways")
        return f"{self.name} ({', '.join(words)})" if words else self.name

    def grid(
        self,
        *,
        weights: tuple[float, ...] = TUNE_WEIGHTS,
        bases: tuple[str, ...] = HYBRID_BASES,
        steps: tuple[int, ...] = (TRANSITION_STEPS,),
    ) -> list[Scoring]:
        """The ways of scoring ``tune`` (and train's calibration) try in this mode: each value of
        a field it uses, steps outermost, then bases, then weights."""
        out = []
        for s in steps if "steps" in self.uses else (TRANSITION_STEPS,):
            for b in bases if "base" in self.uses else (Scoring().base,):
                for w in weights if "weight" in self.uses else (Scoring().weight,):
                    out.append(Scoring(self.name, w, b, s))
        return out


def register(cls: M) -> M:
    """Class decorator: make ``cls`` (a :class:`ScoreMode`) a mode everything offers."""
    declare_mode(cls.name, cls.uses)
    _REGISTRY[cls.name] = cls()
    return cls


def unregister(name: str) -> None:
    """Remove a mode (tests that register one for a while)."""
    _REGISTRY.pop(name, None)
    forget_mode(name)


def registered() -> dict[str, ScoreMode]:
    """Every mode by name, in registration order."""
    return {name: _REGISTRY[name] for name in mode_names() if name in _REGISTRY}


def score_mode(name: str) -> ScoreMode:
    """The registered mode ``name`` (a name checked by ``Scoring.checked`` or ``from_record``)."""
    return _REGISTRY[name]


@register
class Similar(ScoreMode):
    """Cosine of input vectors: items alike. Answers as ``item2vec.query.neighbours`` does."""

    name = "similar"
    help = "items alike (cosine of input vectors)"
    plain = True

    def answer(
        self,
        parts: ScoringParts,
        scoring: Scoring,
        labels: list[str],
        queries: NDArray[np.float32],
        exclude: list[set[int]],
        k: int,
        index: AnnIndex | None,
    ) -> list[Neighbour] | None:
        return exact_answer(parts.embeddings, labels, queries, exclude, k, index=index)

    def similar(
        self,
        parts: ScoringParts,
        scoring: Scoring,
        items: list[str],
        k: int,
        combine: bool,
        index: AnnIndex | None,
    ) -> list[Neighbour] | None:
        return exact_similar(parts.embeddings, items, k, combine=combine, index=index)


@register
class Next(ScoreMode):
    """Cosine of the query's input vector with each candidate's output vector: what follows."""

    name = "next"
    help = "what follows or goes with it (input · output vectors)"

    def base(self, scoring: Scoring) -> str:
        return "next"


@register
class Hybrid(ScoreMode):
    """The base score standardised over the catalogue, plus weight · log1p(transition score)."""

    name = "hybrid"
    help = "an embedding score plus the model's transition counts"
    uses = ("weight", "base", "steps", "direction")
    uses_transitions = True

    def base(self, scoring: Scoring) -> str:
        return scoring.base

    def prepare(self, parts: ScoringParts, scoring: Scoring) -> None:
        super().prepare(parts, scoring)
        parts.moments(self.base(scoring), self.name)  # the catalogue's mean and spread, once

    def scores(
        self,
        parts: ScoringParts,
        scoring: Scoring,
        unit: NDArray[np.float32],
        transitions: sp.csr_matrix | None,
    ) -> NDArray[np.float32]:
        import numpy as np

        base = self.base(scoring)
        result = parts.cosines(base, unit, self.name)  # a fresh array: standardised in place
        mean, std = parts.standard(base, unit, self.name)
        result -= mean[:, None]
        result /= std[:, None]
        if transitions is not None and transitions.nnz:
            owner = np.repeat(np.arange(transitions.shape[0]), np.diff(transitions.indptr))
            added = (scoring.weight * np.log1p(transitions.data)).astype(np.float32)
            result[owner, transitions.indices] += added
        return result

    def pair_scores(
        self,
        parts: ScoringParts,
        scoring: Scoring,
        unit: NDArray[np.float32],
        transitions: sp.csr_matrix | None,
        pairs: Pairs,
    ) -> NDArray[np.float32]:
        import numpy as np

        base = self.base(scoring)
        cosines = super().pair_scores(parts, scoring, unit, transitions, pairs)
        mean, std = parts.standard(base, unit, self.name)
        result = ((cosines - mean[pairs[0]]) / std[pairs[0]]).astype(np.float32)
        result += (scoring.weight * np.log1p(pair_lookup(transitions, pairs))).astype(np.float32)
        return result

    def spread(self, parts: ScoringParts, scoring: Scoring, unit: NDArray[np.float32]) -> NDArray[np.float32]:
        import numpy as np

        return np.ones(len(unit), dtype=np.float32)  # the embedding score is standardised already

    def top(
        self,
        parts: ScoringParts,
        scoring: Scoring,
        unit: NDArray[np.float32],
        transitions: sp.csr_matrix | None,
        k: int,
        exclude: Pairs | None,
    ) -> Top:
        """:meth:`scores`' top ``k`` exactly, bit for bit, standardising only the items within
        rounding of the k-th best cosine and those the transitions add to (``standardised_top``)."""
        import numpy as np

        added = None
        if transitions is not None and transitions.nnz:
            transitions = transitions.tocsr()
            if not transitions.has_sorted_indices:
                transitions = transitions.sorted_indices()
            data = (scoring.weight * np.log1p(transitions.data)).astype(np.float32)
            owner = np.repeat(np.arange(transitions.shape[0], dtype=np.int64), np.diff(transitions.indptr))
            added = (owner, transitions.indices.astype(np.int64), data)  # (row, column, value) entries
            if float(data.min()) < 0:  # only additions of 0 or more keep the shortcut exact
                return super().top(parts, scoring, unit, transitions, k, exclude)
        base = self.base(scoring)
        vectors, inverse = parts.vectors(base, self.name)
        mean, std = parts.standard(base, unit, self.name)
        buffer = parts.scratch(len(unit), len(vectors))  # one block's cosines, reused
        return standardised_top(unit, vectors, inverse, k, mean=mean, std=std, added=added, exclude=exclude,
                                buffer=buffer)  # fmt: skip

    def shortlist(
        self,
        parts: ScoringParts,
        scoring: Scoring,
        index: AnnIndex,
        queries: NDArray[np.float32],
        transitions: sp.csr_matrix | None,
        k: int,
        exclude: Pairs | None,
        most_excluded: int,
    ) -> Top:
        import numpy as np

        from item2vec.query.topk import top_k

        base = self.base(scoring)
        unit = unit_rows(queries)
        shortlist = index.candidates(unit, k * (index.params.rerank or 1) + most_excluded)
        candidates = distinct(np.hstack([shortlist, padded_columns(transitions, len(queries))]))
        vectors, _ = parts.vectors(base, self.name)
        rows, cosines = rescore(vectors, unit, candidates, candidates.shape[1])
        # rescore sorts by cosine: the hybrid score then adds the standardising and transitions.
        mean, std = parts.standard(base, unit, self.name)
        scores = ((cosines - mean[:, None]) / std[:, None]).astype(np.float32)
        scores += (scoring.weight * np.log1p(sparse_lookup(transitions, rows))).astype(np.float32)
        scores[rows < 0] = -np.inf
        if exclude is not None and len(exclude[0]):
            n = len(parts.embeddings)
            banned = exclude[0] * n + exclude[1]
            keys = np.arange(len(rows), dtype=np.int64)[:, None] * n + np.where(rows < 0, 0, rows)
            scores[np.isin(keys, banned)] = -np.inf
        return top_k(scores, k, rows=rows)
