"""Shared fixtures: real-data subsets (skipped cleanly without the files)."""

import os

import joblib
import numpy as np
import pytest

from skfmnist.datasets import FILES, get_data_home
from skfmnist.datasets._fashion_mnist import ENV_VAR


def _share_the_cores_between_xdist_workers():
    """Give each pytest-xdist worker its share of the cores, before a test module starts a Keras backend.

    Two workers that each start a pool over all the cores oversubscribe them (PyTorch's OpenMP pool then ran
    the fast tests slower than one process did).  joblib counts the cores this process may use (affinity and
    container quotas), as it does for its own workers.  A thread count the environment sets already wins.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, joblib.cpu_count() // workers)))


_share_the_cores_between_xdist_workers()


def _data_available():
    folder = os.environ.get(ENV_VAR) or os.path.join(get_data_home(), "fashion-mnist")
    return all(os.path.exists(os.path.join(folder, m.filename)) for m in FILES.values())


#: Keras' backend of this test run (``KERAS_BACKEND``; skfmnist's default is TensorFlow).
BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")

#: A test of what skfmnist does on TensorFlow alone (its kernels, thread pools, tf.data pipeline).
tensorflow_only = pytest.mark.skipif(
    BACKEND != "tensorflow",
    reason=f"tests TensorFlow's own kernels or settings, which the {BACKEND} backend does not run",
)

def nan_weights_after_first_epoch():
    """A Keras callback that turns every weight to NaN after the first epoch: a diverged training on any backend.

    (Huge learning rates diverge to NaN on TensorFlow only: JAX's and PyTorch's cross-entropy clip the
    probabilities, so their losses stay finite while the network dies.)
    """
    import keras

    class NaNWeights(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                for weight in self.model.trainable_weights:
                    weight.assign(np.full(weight.shape, np.nan, dtype=weight.dtype))

    return NaNWeights()


requires_data = pytest.mark.skipif(
    not _data_available(),
    reason=f"Fashion-MNIST files not found: set {ENV_VAR} to the folder that holds them",
)


def _stratified_subset(X, y, n, seed):
    from sklearn.model_selection import train_test_split

    X_sub, _, y_sub, _ = train_test_split(X, y, train_size=n, stratify=y, random_state=seed)
    return X_sub, y_sub


@pytest.fixture(scope="session")
def fmnist_small():
    """3,000 training and 1,000 test images (stratified), uint8 rows."""
    if not _data_available():
        pytest.skip(f"Fashion-MNIST files not found: set {ENV_VAR}")
    from skfmnist import fetch_fashion_mnist

    X_train, y_train = fetch_fashion_mnist(subset="train", return_X_y=True)
    X_test, y_test = fetch_fashion_mnist(subset="test", return_X_y=True)
    X_train, y_train = _stratified_subset(X_train, y_train, 3000, 0)
    X_test, y_test = _stratified_subset(X_test, y_test, 1000, 0)
    return X_train, y_train, X_test, y_test


@pytest.fixture(autouse=True)
def _seed_numpy():
    """Every test starts from the same global NumPy state (skorch-style)."""
    np.random.seed(0)
