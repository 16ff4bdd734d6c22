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


def test_both_tests_of_every_pair_are_holm_adjusted_over_the_pairs():
    import pandas as pd

    from skfmnist.evaluation._compare import _pairwise

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    preds = {m: np.where(rng.random(400) < acc, y, 1 - y) for m, acc in (("a", 0.9), ("b", 0.8), ("c", 0.85))}
    table = pd.DataFrame({"test_accuracy": {m: float(np.mean(p == y)) for m, p in preds.items()}})
    folds = {"a": np.array([0.90, 0.91, 0.89]), "b": np.array([0.80, 0.82, 0.81]), "c": np.array([.86, .85, .83])}
    pairs = _pairwise(table, preds, folds, y, cv=3)
    np.testing.assert_allclose(pairs["mcnemar_pvalue_holm"], holm(pairs["mcnemar_pvalue"]))
    np.testing.assert_allclose(pairs["cv_ttest_pvalue_holm"], holm(pairs["cv_ttest_pvalue"]))
    assert (pairs["cv_ttest_pvalue_holm"] > pairs["cv_ttest_pvalue"]).any()
    # c without folds: the t-test exists for the one pair with folds on both sides, adjusted over the pairs tested
    pairs = _pairwise(table, preds, {**folds, "c": None}, y, cv=3).set_index(["model_a", "model_b"])
    assert pairs["cv_ttest_pvalue"].notna().tolist() == [True, False, False]
    assert pairs.loc[("a", "b"), "cv_ttest_pvalue_holm"] == pairs.loc[("a", "b"), "cv_ttest_pvalue"]
    assert pairs["cv_ttest_pvalue_holm"].isna().tolist() == [False, True, True]
    # neither test significant: the verdict says that they do not tell the two models apart
    same = {"a": preds["a"], "b": preds["a"].copy()}
    same_folds = {"a": folds["a"], "b": folds["a"] + [0.001, -0.001, 0.0]}
    verdict = _pairwise(table.loc[["a", "b"]], same, same_folds, y, cv=3)["verdict"][0]
    assert "NOT statistically significant" in verdict and "Neither test tells a and b apart." in verdict
