"""
Comparing models: is the difference real?
=========================================

:func:`skfmnist.compare_models` fits each model, evaluates it once on the test
set and tests every pair with McNemar's test (Holm-adjusted), and, where both
were cross-validated on the same folds, with the corrected resampled t-test.
"""

# %%
from sklearn.model_selection import train_test_split

from skfmnist import compare_models, fetch_fashion_mnist, make_model_pipeline
from skfmnist.datasets import CLASS_NAMES

X, y = fetch_fashion_mnist(subset="train", return_X_y=True)
X_test, y_test = fetch_fashion_mnist(subset="test", return_X_y=True)
X, _, y, _ = train_test_split(X, y, train_size=4000, stratify=y, random_state=0)
X_test, _, y_test, _ = train_test_split(X_test, y_test, train_size=2000, stratify=y_test, random_state=0)

models = {
    "dense": make_model_pipeline("dense", epochs=8),
    "cnn": make_model_pipeline("cnn", epochs=4),
}
result = compare_models(models, X, y, X_test, y_test, cv=3, random_state=0, class_names=list(CLASS_NAMES),
                        progress=False)
print(result.table[["test_accuracy", "macro_f1", "cv_mean", "cv_std"]])
for line in result.conclusions():
    print("-", line)

# %%
# The counts behind McNemar's test: the test images exactly one of the two models gets right.
print(result.pairwise[["model_a", "model_b", "a_right_b_wrong", "a_wrong_b_right", "mcnemar_pvalue_holm",
                       "cv_ttest_pvalue"]])

# %%
# Per-class F1 of both models.
import matplotlib.pyplot as plt

from skfmnist.evaluation import plot_per_class_f1

f1 = {name: [result.report_dicts[name][c]["f1-score"] for c in CLASS_NAMES] for name in models}
plot_per_class_f1(f1, list(CLASS_NAMES))
plt.show()
