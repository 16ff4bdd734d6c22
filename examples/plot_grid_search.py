"""
Grid search over a network's parameters
=======================================

The classifier's parameters are ``clf__<name>`` in the pipeline; ``GridSearchCV``
cross-validates each candidate on stratified folds.
"""

# %%
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.model_selection import GridSearchCV, train_test_split

from skfmnist import fetch_fashion_mnist, make_model_pipeline

X, y = fetch_fashion_mnist(subset="train", return_X_y=True)
X, _, y, _ = train_test_split(X, y, train_size=3000, stratify=y, random_state=0)

search = GridSearchCV(
    make_model_pipeline("dense", epochs=5, random_state=0),
    {"clf__hidden_layer_sizes": [(128,), (256, 128)], "clf__dropout": [0.1, 0.4]},
    cv=3,
)
search.fit(X, y)
print("best:", search.best_params_, f"{search.best_score_:.3f}")

# %%
# The cross-validated accuracy of every candidate.
results = pd.DataFrame(search.cv_results_)
table = results.pivot_table(index="param_clf__hidden_layer_sizes", columns="param_clf__dropout",
                            values="mean_test_score")
ax = table.plot.bar(rot=0, ylim=(0.7, 0.9), ylabel="mean CV accuracy", title="dropout")
plt.tight_layout()
plt.show()
