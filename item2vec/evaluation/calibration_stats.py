"""The error bar of calibration's paired comparison when cases come in groups.

``train`` calibrates on held-out cases (item2vec.training.holdout); on a small log it holds out
more than one item of a sequence, and cases of one sequence are correlated (the same user, the
same session, overlapping prefixes). Treating them as independent would make a challenger look
surer than it is, so the standard error of the mean paired difference is computed with the cases
clustered by sequence: the cluster-robust ("sandwich") estimate with the usual small-sample
factor G / (G - 1) (CR1; Cameron and Miller 2015, "A practitioner's guide to cluster-robust
inference"),

    se^2 = G / (G - 1) * sum over groups g of (sum over cases i in g of (d_i - mean d))^2 / n^2,

for ``n`` cases in ``G`` groups. With one case per group it is exactly the plain standard error
of the mean, s / sqrt(n) (s with n - 1 degrees of freedom); cases of a group that move together
widen it, cases that offset each other narrow it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray


K = 10  # calibration's cut-off: HR@10 and NDCG@10
MARGIN = 3.0  # standard errors of the paired NDCG@10 difference a challenger must clear


def clustered_standard_error(differences: ArrayLike, groups: ArrayLike | None = None) -> float:
    """The standard error of the mean of ``differences``, cases clustered by ``groups``.

    Args:
        differences: one number per case (e.g. a challenger's NDCG@10 minus the default's).
        groups: each case's group (e.g. its sequence number), any hashable labels that numpy can
            sort; None: every case its own group, the plain standard error of the mean.

    Returns:
        The cluster-robust standard error (see the module docstring); 0.0 with fewer than two
        groups, where no spread can be measured.
    """
    import numpy as np

    d: NDArray[np.float64] = np.asarray(differences, dtype=np.float64).ravel()
    n = len(d)
    if groups is None:
        return float(d.std(ddof=1)) / math.sqrt(n) if n > 1 else 0.0
    labels = np.asarray(groups).ravel()
    if len(labels) != n:
        raise ValueError(f"{n} differences but {len(labels)} groups: one group per case")
    _, owner = np.unique(labels, return_inverse=True)
    count = int(owner.max()) + 1 if n else 0
    if count < 2:
        return 0.0
    sums = np.bincount(owner.ravel(), weights=d - d.mean(), minlength=count)
    variance = count / (count - 1) * float(np.dot(sums, sums)) / (n * n)
    return math.sqrt(variance)


Outcome = tuple["NDArray[np.float64]", "NDArray[np.float64]"]  # per case: hit@K, NDCG@K


def clear_winner(
    anchor: Outcome, challengers: list[Outcome], groups: ArrayLike | None = None
) -> tuple[int | None, float]:
    """Which challenger beats ``anchor`` clearly: NDCG@K higher by more than ``MARGIN`` standard
    errors of the paired difference (clustered by ``groups``) and HR@K higher too; of those, the
    best NDCG@K (the first of equals). Its index and its z; (None, 0.0) when none does."""
    anchor_hr, anchor_ndcg = anchor
    best: tuple[float, int, float] | None = None  # (NDCG, index, z)
    for number, (hr, ndcg) in enumerate(challengers):
        diff = ndcg - anchor_ndcg
        error = clustered_standard_error(diff, groups)
        if error == 0.0:
            continue
        z = float(diff.mean()) / error
        if z > MARGIN and hr.mean() > anchor_hr.mean() and (best is None or ndcg.mean() > best[0]):
            best = (float(ndcg.mean()), number, z)
    return (None, 0.0) if best is None else (best[1], best[2])


def clear_winner_words(
    anchor_label: str,
    anchor: Outcome,
    challengers: list[Outcome],
    groups: ArrayLike | None = None,
    *,
    what: str = "choice",
) -> tuple[int | None, str]:
    """:func:`clear_winner`, and why in words (``anchor_label`` names the anchor, ``what`` the
    challengers): the one line calibration, its history choices and a small log's trials record."""
    found, z = clear_winner(anchor, challengers, groups)
    anchor_hr, anchor_ndcg = anchor
    if found is None:
        return None, (
            f"no {what} beat {anchor_label} by more than {MARGIN:g} standard errors of NDCG@{K} "
            f"with a higher HR@{K}"
        )
    hr, ndcg = challengers[found]
    return found, (
        f"NDCG@{K} {ndcg.mean():.4f} against {anchor_ndcg.mean():.4f} for {anchor_label} ({z:.1f} standard "
        f"errors), HR@{K} {hr.mean():.4f} against {anchor_hr.mean():.4f}"
    )
