"""Session-kNN baselines: SKNN, V-SKNN and STAN as session-rec has them, vectorised.

The methods (Ludewig et al., "Empirical analysis of session-based recommendation algorithms",
2018/2021; session-rec's ``algorithms/knn``): the current session (the query, oldest first)
finds the training sessions that share an item with it, keeps the ``sample_size`` most recent,
scores them by similarity and sums the similarity of the ``k`` best over their items.

- ``sknn`` (``ContextKNN``): cosine or Jaccard similarity of the two item sets; an item's score
  is the sum of the similarities of the neighbours that hold it.
- ``vsknn`` (V-SKNN, ``VMContextKNN``): the similarity is the sum of the ``weighting`` of the
  shared items (by their last position in the query) over the query's distinct items; each
  neighbour's contribution is decayed by ``weighting_score`` of how far from the query's end the
  last item it shares is, and optionally boosted by ``idf_weighting`` x the item's idf.
- ``stan`` (STAN, Garg et al. 2019, ``STAN``): cosine with the query's items weighted by
  ``exp((position - length) / lambda_spw)``, times ``exp(-age / lambda_snh)``; a neighbour's item
  weighs ``exp(-|its position - position of the neighbour's last shared item| / lambda_inh)``.

Seen items are scored (session-rec's ``remind=True``); ranking may exclude them.

**Time.** Sequences carry no timestamps, so a training sequence's time is its number in the
list (later = more recent). "Most recent" candidates are those with the largest numbers. For
STAN's ``lambda_snh`` (days in session-rec) the training log is laid on a clock of ``SPAN`` =
100 days: sequence ``i`` of ``N`` ends on day ``i * 100 / N`` and every query is asked on day
100, so its age is ``(N - i) * 100 / N`` days; ``lambda_snh`` 5 (the default) lets a neighbour
from 5% of the log back count ``1/e``.

**Ties.** session-rec sorts the candidate set by similarity with Python's stable sort; a set of
integer session ids iterates in ascending order (approximately, by hash), so equal similarities
keep the older session first. Here equal similarities are ordered by lower sequence number,
exactly. Only neighbours of similarity above 0 count (session-rec drops the others for SKNN and
V-SKNN; for STAN they add nothing).

**Departures, none of which changes a ranking.** SKNN's cosine is ``|A∩B| / sqrt(|A| |B|)``:
session-rec's ``li / sqrt(la) * sqrt(lb)`` multiplies it by the query's size (a precedence slip),
a constant per case. Scores are not divided by their maximum (``normalize``). A query's items
outside the catalogue are dropped before anything is counted, and so are training items; an
item whose summed score is not above 0 (only possible with a ``linear`` weighting or a negative
idf) is left unscored, where session-rec would rank it below the unscored items.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from item2vec.evaluation.knn_params import KNN_LABELS, KNN_METHODS, KnnParams, knn_grid
from item2vec.evaluation.knn_scores import Table, knn_scores
from item2vec.evaluation.ranking import Cases, Ranked, rank_scores

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp
    from numpy.typing import NDArray

__all__ = ["KNN_LABELS", "KNN_METHODS", "KnnParams", "SessionKnn", "knn_grid", "own_sessions"]


@dataclass(frozen=True)
class SessionKnn:
    """Training sessions indexed for SKNN, V-SKNN and STAN over one catalogue."""

    index: dict[str, int]
    table: Table

    @classmethod
    def fit(cls, sequences: list[list[str]], index: dict[str, int]) -> SessionKnn:
        """Index ``sequences`` over the catalogue ``index`` (item -> column, e.g. most popular first).

        Items not in ``index`` are dropped. A sequence's time is its position in the list
        (later = more recent); see the module docstring for STAN's clock.
        """
        return cls(index, Table.build(sequences, index))

    @property
    def mean_length(self) -> float:
        """Mean items per training sequence that has any (repeats counted): STAN's grid scale."""
        return self.table.mean_length

    def scores(
        self, queries: list[list[str]], params: KnnParams, *, own: NDArray[np.int64] | None = None
    ) -> sp.csr_matrix:
        """Cases x catalogue float64 scores, > 0 exactly where an item is scored.

        ``queries`` are the current sessions' items, oldest first (items outside the catalogue
        are skipped; an empty query scores nothing). ``own[i] >= 0`` is the number of case
        ``i``'s own training sequence, which is never its neighbour.
        """
        import numpy as np

        if own is None:
            own = np.full(len(queries), -1, dtype=np.int64)
        own = np.asarray(own, dtype=np.int64)
        if len(own) != len(queries):
            raise ValueError(f"own has {len(own)} entries for {len(queries)} queries")
        return knn_scores(self.table, queries, self.index, params, own)

    def rank(
        self,
        cases: Cases,
        params: KnnParams,
        *,
        kmax: int,
        own: NDArray[np.int64] | None = None,
        exclude_seen: bool = False,
    ) -> Ranked:
        """Rank every target by ``params``' scores (method named ``KNN_LABELS[params.method]``);
        ties and unscored items by catalogue position; query items only if not ``exclude_seen``."""
        scores = self.scores(cases.queries, params, own=own)
        label = KNN_LABELS[params.method]
        return rank_scores(label, self.index, cases, scores, kmax=kmax, exclude_seen=exclude_seen)


def own_sessions(train: list[list[str]], prefixes: list[list[str]]) -> NDArray[np.int64]:
    """Per held-out case, the number of its own training sequence, or -1.

    A case's own session is the copy of its history that the training file holds. How much of
    the history it holds depends on how the model's training data was made from a leave-last-out
    split (``item2vec split``: train = each sequence without its last two items, valid = without
    its last item, test = whole):

    - the history itself (the prefix before the target): a model trained on train.csv and
      evaluated on valid.csv, or trained on train + valid merged (``tune -o``) and evaluated on
      test.csv;
    - the history without its last item: a model trained on train.csv and evaluated on
      test.csv (train holds the user's older history).

    Exact copies are claimed first, for every case; a case left without one then claims a
    training sequence equal to its prefix without its last item. Each training sequence is
    claimed at most once, equal copies in order (the first case to ask takes the first copy).
    Equal sequences of different users cannot be told apart: the one claimed stands for the
    case's own, and no other case can claim it.
    """
    import numpy as np

    copies: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for number, seq in enumerate(train):
        copies[tuple(seq)].append(number)
    for numbers in copies.values():
        numbers.reverse()  # pop() hands them out in order
    own = np.full(len(prefixes), -1, dtype=np.int64)
    for shorten in (0, 1):  # exact copies first, then the history without its last item
        for case, prefix in enumerate(prefixes):
            if own[case] >= 0 or len(prefix) <= shorten:
                continue
            left = copies.get(tuple(prefix[: len(prefix) - shorten]))
            if left:
                own[case] = left.pop()
    return own
