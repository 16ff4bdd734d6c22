"""The statistics, on constructed cases with known answers."""

import numpy as np
import pytest
from scipy import stats

from skfmnist.evaluation import corrected_cv_ttest, holm, mcnemar_test


def _pairs(n01, n10, n_both_right=50, n_both_wrong=5):
    """Labels and predictions with exactly the given discordant counts."""
    y = np.zeros(n01 + n10 + n_both_right + n_both_wrong, dtype=int)
    a = np.concatenate([np.ones(n01), np.zeros(n10), np.zeros(n_both_right), np.ones(n_both_wrong)]).astype(int)
    b = np.concatenate([np.zeros(n01), np.ones(n10), np.zeros(n_both_right), np.ones(n_both_wrong)]).astype(int)
    return y, a, b


def test_mcnemar_counts_and_exact_pvalue():
    y, a, b = _pairs(n01=2, n10=10)
    res = mcnemar_test(y, a, b)
    assert (res.n01, res.n10, res.method) == (2, 10, "exact")
    # exact two-sided binomial: 2 * P(X <= 2), X ~ Bin(12, 0.5) = 2 * 79 / 4096
    assert res.pvalue == pytest.approx(2 * 79 / 4096)


def test_mcnemar_chi2_with_continuity_correction():
    y, a, b = _pairs(n01=30, n10=60)
    res = mcnemar_test(y, a, b)
    assert res.method == "chi2"
    assert res.statistic == pytest.approx((abs(30 - 60) - 1) ** 2 / 90)
    assert res.pvalue == pytest.approx(stats.chi2.sf(29**2 / 90, 1))
    assert res.pvalue < 0.01


def test_mcnemar_identical_predictions_are_not_significant():
    y, a, _ = _pairs(0, 0)
    res = mcnemar_test(y, a, a)
    assert res.pvalue == 1.0 and res.n01 == res.n10 == 0


def test_mcnemar_balanced_disagreement_is_not_significant():
    y, a, b = _pairs(n01=40, n10=40)
    assert mcnemar_test(y, a, b).pvalue > 0.9


def test_mcnemar_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        mcnemar_test([0, 1], [0, 1, 1], [0, 1])


def test_corrected_ttest_is_more_conservative_than_plain():
    a = np.array([0.90, 0.91, 0.92, 0.90, 0.91])
    b = a - np.array([0.010, 0.012, 0.008, 0.011, 0.009])
    corrected = corrected_cv_ttest(a, b, test_fraction=1 / 4)
    plain = stats.ttest_rel(a, b)
    assert corrected.pvalue > plain.pvalue
    diff = a - b
    t = diff.mean() / np.sqrt(diff.var(ddof=1) * (1 / 5 + 1 / 4))
    assert corrected.statistic == pytest.approx(t)
    assert corrected.mean_difference == pytest.approx(diff.mean())


def test_holm_matches_hand_computation():
    np.testing.assert_allclose(holm([0.01, 0.02, 0.04]), [0.03, 0.04, 0.04])
    np.testing.assert_allclose(holm([0.5, 0.01]), [0.5, 0.02])
