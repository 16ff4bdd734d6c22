"""Statistical comparison of two classifiers: McNemar's test, corrected CV t-test."""

# SPDX-License-Identifier: MIT

from collections import namedtuple

import numpy as np
from scipy import stats

__all__ = ["McNemarResult", "CVTTestResult", "corrected_cv_ttest", "holm", "mcnemar_test"]

McNemarResult = namedtuple("McNemarResult", ["statistic", "pvalue", "n01", "n10", "method"])
CVTTestResult = namedtuple("CVTTestResult", ["statistic", "pvalue", "mean_difference", "n_folds"])


def mcnemar_test(y_true, y_pred_a, y_pred_b, *, exact="auto"):
    """McNemar's test: do two classifiers have the same error rate on one test set?

    Only the test samples on which exactly one of the two classifiers is
    right carry information: ``n01`` (A wrong, B right) and ``n10`` (A
    right, B wrong).  Under the null hypothesis both are equally likely.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred_a, y_pred_b : array-like of shape (n_samples,)
        Predictions of the two classifiers on the same samples.
    exact : bool or "auto", default="auto"
        Exact two-sided binomial test on the discordant pairs, or the
        chi-squared approximation with continuity correction.  "auto" uses
        the exact test when fewer than 25 pairs are discordant.

    Returns
    -------
    result : McNemarResult
        ``statistic`` (the smaller discordant count for the exact test, the
        chi-squared statistic otherwise), two-sided ``pvalue``, ``n01``,
        ``n10`` and ``method``.

    Examples
    --------
    >>> from skfmnist.evaluation import mcnemar_test
    >>> y = [0, 0, 0, 0, 1, 1, 1, 1]
    >>> res = mcnemar_test(y, [0, 0, 0, 0, 1, 1, 1, 1], [1, 1, 1, 0, 1, 1, 1, 1])
    >>> res.n01, res.n10, round(res.pvalue, 3)
    (0, 3, 0.25)
    """
    y_true, a, b = (np.asarray(v) for v in (y_true, y_pred_a, y_pred_b))
    if not (y_true.shape == a.shape == b.shape) or y_true.ndim != 1:
        raise ValueError(
            f"y_true, y_pred_a and y_pred_b must be 1-D and of the same length; got shapes "
            f"{y_true.shape}, {a.shape}, {b.shape}."
        )
    right_a, right_b = a == y_true, b == y_true
    n01 = int(np.sum(~right_a & right_b))
    n10 = int(np.sum(right_a & ~right_b))
    n = n01 + n10
    if exact == "auto":
        exact = n < 25
    if n == 0:
        return McNemarResult(0.0, 1.0, n01, n10, "exact" if exact else "chi2")
    if exact:
        pvalue = stats.binomtest(min(n01, n10), n, 0.5, alternative="two-sided").pvalue
        return McNemarResult(float(min(n01, n10)), float(min(pvalue, 1.0)), n01, n10, "exact")
    statistic = (abs(n01 - n10) - 1) ** 2 / n
    return McNemarResult(float(statistic), float(stats.chi2.sf(statistic, 1)), n01, n10, "chi2")


def corrected_cv_ttest(scores_a, scores_b, *, test_fraction):
    """Paired t-test on cross-validation folds, corrected for their overlap.

    Fold scores are not independent (the training sets overlap), which makes
    the plain paired t-test far too eager.  The Nadeau-Bengio correction
    inflates the variance by ``1/k + n_test/n_train``.

    Parameters
    ----------
    scores_a, scores_b : array-like of shape (n_folds,)
        Scores of the two models on the same folds.
    test_fraction : float
        ``n_test / n_train`` of one fold (``1 / (k - 1)`` for k-fold).

    Returns
    -------
    result : CVTTestResult
        ``statistic``, two-sided ``pvalue``, ``mean_difference`` (a - b) and
        ``n_folds``.
    """
    diff = np.asarray(scores_a, dtype=float) - np.asarray(scores_b, dtype=float)
    k = diff.size
    if k < 2:
        raise ValueError("corrected_cv_ttest needs scores of at least 2 folds.")
    mean, var = diff.mean(), diff.var(ddof=1)
    if var == 0:
        return CVTTestResult(0.0 if mean == 0 else np.inf, 1.0 if mean == 0 else 0.0, float(mean), k)
    t = mean / np.sqrt(var * (1 / k + test_fraction))
    return CVTTestResult(float(t), float(2 * stats.t.sf(abs(t), k - 1)), float(mean), k)


def holm(pvalues):
    """Holm-Bonferroni adjusted p-values (for several pairwise tests at once).

    Parameters
    ----------
    pvalues : array-like of shape (n_tests,)
        Raw p-values.

    Returns
    -------
    adjusted : ndarray of shape (n_tests,)
        Adjusted p-values, in the input order.

    Examples
    --------
    >>> from skfmnist.evaluation import holm
    >>> holm([0.01, 0.04, 0.03]).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p)
    m = p.size
    adjusted = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, (m - rank) * p[idx])
        adjusted[idx] = min(running, 1.0)
    return adjusted
