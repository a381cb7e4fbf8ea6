"""The clustered standard error that calibration weighs a challenger with (issue 23, item 5)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from item2vec.evaluation.calibration_stats import clustered_standard_error


def test_one_case_per_group_is_the_plain_standard_error_of_the_mean() -> None:
    rng = np.random.default_rng(0)
    d = rng.normal(size=37)
    plain = float(d.std(ddof=1)) / math.sqrt(len(d))
    assert clustered_standard_error(d) == plain  # no groups: the plain formula itself
    assert clustered_standard_error(d, np.arange(37)[::-1]) == pytest.approx(plain, rel=1e-12)
    assert clustered_standard_error(d, [f"s{i}" for i in range(37)]) == pytest.approx(plain, rel=1e-12)
    # dyadic numbers: every float exact, so the two formulas agree to the bit
    exact = np.array([0.5, -0.25, 1.0, 0.0])  # mean 0.3125; squared deviations sum 0.921875
    assert clustered_standard_error(exact, [3, 1, 2, 0]) == clustered_standard_error(exact)
    assert clustered_standard_error(exact) == pytest.approx(math.sqrt(0.921875 / 3 / 4), rel=1e-15)


def test_a_hand_computed_clustered_example() -> None:
    # cases 0-2 in sequence 7, 3-4 in sequence 9, case 5 alone in sequence 4
    d = np.array([1.0, 1.0, 0.0, -1.0, 0.0, 1.0])  # mean 1/3
    groups = [7, 7, 7, 9, 9, 4]
    # deviations summed per group: 7: 2/3+2/3-1/3 = 1; 9: -4/3-1/3 = -5/3; 4: 2/3
    # se^2 = G/(G-1) * (1 + 25/9 + 4/9) / n^2 = 3/2 * (38/9) / 36 = 19/108
    assert clustered_standard_error(d, groups) == pytest.approx(math.sqrt(19 / 108), rel=1e-15)
    # plain: sqrt(1/9), narrower, the correlated cases counted as independent
    plain = float(d.std(ddof=1)) / math.sqrt(6)
    assert plain == pytest.approx(1 / 3) and clustered_standard_error(d, groups) > plain


def test_correlated_cases_widen_the_bar_and_offsetting_ones_narrow_it() -> None:
    same = np.array([1.0, 1.0, -1.0, -1.0, 1.0, 1.0, -1.0, -1.0])
    together = [0, 0, 1, 1, 2, 2, 3, 3]  # each sequence's two cases agree
    apart = [0, 1, 0, 1, 2, 3, 2, 3]  # each sequence's two cases cancel
    plain = clustered_standard_error(same)
    assert clustered_standard_error(same, together) > plain > clustered_standard_error(same, apart) == 0.0


def test_too_few_groups_or_cases_measure_no_spread() -> None:
    assert clustered_standard_error([0.5]) == 0.0
    assert clustered_standard_error([]) == 0.0
    assert clustered_standard_error([1.0, 0.0, 1.0], [2, 2, 2]) == 0.0
    assert clustered_standard_error([], []) == 0.0
    with pytest.raises(ValueError, match="3 differences but 2 groups"):
        clustered_standard_error([1.0, 0.0, 1.0], [1, 2])


def test_choose_weighs_a_challenger_with_cases_clustered_by_sequence() -> None:
    from item2vec.evaluation.calibrate import choose
    from item2vec.evaluation.tune_modes import Choice
    from item2vec.model.modes import HYBRID_BASE, HYBRID_WEIGHT

    # 20 sequences of 3 cases; the challenger hits at rank 1 on every case of 5 sequences, the
    # default misses everywhere. As 60 independent cases that is sqrt(59/3) = 4.4 standard errors;
    # clustered by sequence (20 clusters), sqrt(19/3) = 2.5: not clear enough.
    anchor = Choice("hybrid", HYBRID_WEIGHT, HYBRID_BASE)
    hits = np.repeat([1.0] * 5 + [0.0] * 15, 3)
    outcomes = {anchor: (np.zeros(60), np.zeros(60)), Choice("similar"): (hits, hits.copy())}
    groups = np.repeat(np.arange(20), 3)
    assert choose(outcomes)[0] == Choice("similar")
    assert choose(outcomes, groups)[0] == anchor
    assert choose(outcomes, np.arange(60))[0] == Choice("similar")  # one case a sequence: as before
    assert "(4.4 standard errors)" in choose(outcomes, np.arange(60))[1]
