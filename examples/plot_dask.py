"""
A grid search on a Dask cluster
===============================

:func:`skfmnist.parallel.dask_backend` runs joblib's work (here a
``GridSearchCV``) on a Dask cluster, with the data broadcast to every worker
so that losing a worker loses no data: the scheduler runs its tasks again
elsewhere.  A local cluster of two worker processes stands in for a real one.
"""

# %%
from dask.distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV

from skfmnist import load_digits_images, make_model_pipeline
from skfmnist.parallel import dask_backend

digits = load_digits_images()
pipe = make_model_pipeline("dense", max_value=16, epochs=10, random_state=0)
grid = {"clf__hidden_layer_sizes": [(64,), (256,)], "clf__dropout": [0.1, 0.3]}

if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                      env={"SKFMNIST_TF_THREADS": "1"}) as cluster, Client(cluster) as client:
        with dask_backend(client=client, scatter=[digits.X_train, digits.y_train]):
            search = GridSearchCV(pipe, grid, cv=3, n_jobs=-1).fit(digits.X_train, digits.y_train)
    print(search.best_params_, f"{search.best_score_:.3f}")
    print(f"test accuracy: {search.score(digits.X_test, digits.y_test):.3f}")
