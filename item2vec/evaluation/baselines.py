"""The baselines evaluate ranks beside the model, counted on the model's own training data:
most-popular, co-occurrence, sequential rules (SR), and the session-kNN methods (SKNN, V-SKNN,
STAN: :mod:`item2vec.evaluation.knn`). What each is: ``item2vec.evaluation.evaluate``'s docstring.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from item2vec.evaluation.ranking import Cases, Ranked, rank_sparse
from item2vec.model.modes import RULES_KEEP, RULES_STEPS
from item2vec.model.transitions import build_transitions

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp
    from numpy.typing import NDArray


@dataclass
class Baselines:
    """Item counts, co-occurrence counts and sequential rules of a training corpus."""

    index: dict[str, int]
    counts: NDArray[np.float64]
    following: sp.csr_matrix  # row-normalised: P(item | query item)
    context: str
    rules: sp.csr_matrix | None = None  # sequential rules: sum of 1/distance, top RULES_KEEP a row

    @classmethod
    def fit(cls, sequences: list[list[str]], *, context: str = "window") -> Baselines:
        """Count items, next-item transitions (window) or basket co-occurrences (set), and the
        sequential rules (in file order, for either context)."""
        import numpy as np
        import scipy.sparse as sp

        counts = Counter(item for seq in sequences for item in seq)
        ids = [item for item, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        index = {item: i for i, item in enumerate(ids)}
        codes = np.array([index[item] for seq in sequences for item in seq], dtype=np.int64)
        lengths = np.array([len(seq) for seq in sequences], dtype=np.int64)
        owner = np.repeat(np.arange(len(sequences)), lengths)
        n = len(ids)
        if context == "set":
            incidence = sp.csr_matrix((np.ones(len(codes)), (owner, codes)), shape=(len(sequences), n))
            incidence.data[:] = 1.0  # duplicates summed: count each basket once
            pairs = (incidence.T @ incidence).tocsr()
            pairs.setdiag(0)
        else:
            same = owner[1:] == owner[:-1]
            pairs = sp.csr_matrix(
                (np.ones(int(same.sum())), (codes[:-1][same], codes[1:][same])), shape=(n, n)
            )
        pairs.eliminate_zeros()
        totals = np.asarray(pairs.sum(axis=1)).ravel()
        totals[totals == 0] = 1.0
        following = sp.diags(1.0 / totals) @ pairs
        freq = np.array([counts[i] for i in ids], dtype=np.float64)
        bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        rules = build_transitions(codes.astype(np.int32), bounds, n, steps=RULES_STEPS, keep=RULES_KEEP)
        return cls(index, freq, following.tocsr(), context, rules.to_csr().astype(np.float64))

    def rank_cooccurrence(self, cases: Cases, *, kmax: int) -> Ranked:
        """Most frequent followers (or basket mates) of the query; popularity breaks ties and fills."""
        return rank_sparse("co-occurrence", self.index, cases, self.following, kmax=kmax)

    def rank_rules(self, cases: Cases, *, kmax: int) -> Ranked:
        """Sequential rules of the query (a history's rules summed with its weights); popularity fills."""
        return rank_sparse("sequential-rules", self.index, cases, self.rules, kmax=kmax)

    def rank_popular(self, cases: Cases, *, kmax: int) -> Ranked:
        """The most frequent training items, query items excluded."""
        return rank_sparse("most-popular", self.index, cases, None, kmax=kmax)
