"""Evaluation: model comparison, statistics, figures and reports."""

# SPDX-License-Identifier: MIT

from ._compare import ComparisonResult, compare_models
from ._plot import PredictionGridDisplay, TrainingCurvesDisplay, plot_per_class_f1
from ._report import check_report_target, write_report
from ._stats import corrected_cv_ttest, holm, mcnemar_test

__all__ = [
    "ComparisonResult",
    "PredictionGridDisplay",
    "TrainingCurvesDisplay",
    "check_report_target",
    "compare_models",
    "corrected_cv_ttest",
    "holm",
    "mcnemar_test",
    "plot_per_class_f1",
    "write_report",
]
