"""Parallel grid search: joblib processes with their share of the cores, threads of one process, and Dask."""

import os
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from skfmnist import make_model_pipeline

from .conftest import tensorflow_only

pytestmark = pytest.mark.slow  # process workers, Dask clusters: each starts Python and TensorFlow again

RNG = np.random.default_rng(0)
X = RNG.integers(0, 256, size=(300, 784)).astype(np.uint8)
Y = np.arange(300) % 3
X[Y == 1, :200] //= 4  # make the classes learnable
X[Y == 2, 500:] //= 4
GRID = {"clf__hidden_layer_sizes": [(8,), (16,)], "clf__learning_rate": [1e-3, 3e-3]}


def _search(**kwargs):
    pipe = make_model_pipeline("dense", epochs=2, batch_size=32, random_state=0)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    return GridSearchCV(pipe, GRID, cv=cv, **kwargs).fit(X, Y)


@pytest.fixture(scope="module")
def serial():
    return _search(n_jobs=1)


@tensorflow_only
def test_tensorflow_threads_follow_joblib_share():
    code = (
        "import tensorflow as tf, skfmnist.models; "
        "print(tf.config.threading.get_intra_op_parallelism_threads(), "
        "tf.config.threading.get_inter_op_parallelism_threads())"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("SKFMNIST_TF_THREADS", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "1"]
    env["SKFMNIST_TF_THREADS"] = "3"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["3", "3"]


def test_loky_processes_give_the_serial_result(serial):
    parallel = _search(n_jobs=2)
    np.testing.assert_array_equal(parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])
    assert parallel.best_params_ == serial.best_params_


CNN_GRID = {"clf__filters": [(4,), (6,)], "clf__dropout": [0.1, 0.3]}


def _cnn_search(**kwargs):
    pipe = make_model_pipeline("cnn", filters=(4,), dense_units=8, epochs=1, batch_size=32, random_state=0)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    return GridSearchCV(pipe, CNN_GRID, cv=cv, error_score="raise", **kwargs).fit(X, Y)


@pytest.mark.timeout(300)
def test_threads_give_the_serial_result(serial):
    # Two fits at a time in threads of this process share its TensorFlow
    # threads, so their results must equal the serial search's bit for bit.
    # Before fit_setup, keras.backend.clear_session in one thread reset the
    # layer names of a network another thread was building ("The name
    # "conv2d" is used 2 times in the model") and the threads drew from each
    # other's seeds (scores changed from run to run).
    import joblib

    with joblib.parallel_config(backend="threading"):
        dense = _search(n_jobs=2)
        cnn = _cnn_search(n_jobs=4)
    np.testing.assert_array_equal(dense.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(
        dense.best_estimator_.predict_proba(X[:20]), serial.best_estimator_.predict_proba(X[:20])
    )
    cnn_serial = _cnn_search(n_jobs=1)
    for key in ("mean_test_score", "split0_test_score", "split2_test_score"):
        np.testing.assert_array_equal(cnn.cv_results_[key], cnn_serial.cv_results_[key])


@pytest.mark.timeout(300)
def test_deep_cnn_fits_in_threads_draw_their_own_random_numbers():
    # augmentation, dropout masks and batch order are drawn during training,
    # outside fit_setup's lock: from generators each network owns
    import joblib
    from sklearn.model_selection import cross_validate

    from skfmnist.models import DeepCNNClassifier

    clf = DeepCNNClassifier(filters=(4,), convs_per_block=1, dense_units=8, epochs=2, batch_size=32,
                            augment=True, dropout=0.3, random_state=0)
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    serial = cross_validate(clf, X, Y, cv=cv, n_jobs=1, return_estimator=True)
    with joblib.parallel_config(backend="threading"):
        threads = cross_validate(clf, X, Y, cv=cv, n_jobs=4, return_estimator=True)
    np.testing.assert_array_equal(threads["test_score"], serial["test_score"])
    for a, b in zip(threads["estimator"], serial["estimator"]):
        assert a.history_["loss"] == b.history_["loss"]
        np.testing.assert_array_equal(a.predict_proba(X[:20]), b.predict_proba(X[:20]))


def test_a_fit_leaves_other_threads_keras_state_alone():
    # layer names count up per thread; a fit resets only its own thread's counters
    from skfmnist.models import DenseClassifier
    from skfmnist.utils._keras import import_keras

    keras = import_keras()
    names = []
    fitted = threading.Event()
    resume = threading.Event()

    def other_thread():
        names.append(keras.layers.Dense(2).name)
        fitted.set()
        resume.wait(timeout=120)
        names.append(keras.layers.Dense(2).name)

    thread = threading.Thread(target=other_thread)
    thread.start()
    assert fitted.wait(timeout=120)
    DenseClassifier(hidden_layer_sizes=(4,), epochs=1, random_state=0).fit(X[:60], Y[:60])
    resume.set()
    thread.join(timeout=120)
    assert names[0] == "dense" and names[1] == "dense_1", names


@pytest.mark.timeout(300)
def test_dask_worker_with_two_threads_matches_serial(serial):
    # a Dask worker runs its tasks in threads: two fits at once in one process
    distributed = pytest.importorskip("dask.distributed")
    import joblib

    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster), joblib.parallel_backend("dask"):
        result = _search(n_jobs=-1)
    np.testing.assert_array_equal(result.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, env={"SKFMNIST_TF_THREADS": "1"},
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.mark.timeout(300)
def test_dask_grid_search_matches_serial(dask_cluster, serial):
    import joblib

    with joblib.parallel_backend("dask"):
        result = _search(n_jobs=-1)
    np.testing.assert_array_equal(result.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(
        result.best_estimator_.predict_proba(X[:20]), serial.best_estimator_.predict_proba(X[:20])
    )


@pytest.mark.timeout(300)
def test_dask_halving_search_matches_serial(dask_cluster):
    # survivors go on from the weights a worker trained: the fold estimators travel back and out again
    from skfmnist.model_selection import HalvingEpochsSearchCV
    from skfmnist.parallel import dask_backend

    pipe = make_model_pipeline("dense", epochs=3, batch_size=32, random_state=0)

    def search(n_jobs):
        return HalvingEpochsSearchCV(pipe, GRID, cv=3, n_jobs=n_jobs, random_state=0).fit(X, Y)

    serial = search(1)
    with dask_backend(client=dask_cluster, scatter=[X, Y]), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        distributed = search(-1)
    # every rung's results read to the end: joblib warns of a result generator dropped early ("tasks ... cancelled")
    assert not [w for w in caught if "cancelled" in str(w.message)]
    assert distributed.n_candidates_ == serial.n_candidates_ == [4, 2]
    for key in ("mean_test_score", "split2_test_score", "n_resources"):
        np.testing.assert_array_equal(distributed.cv_results_[key], serial.cv_results_[key])
    assert distributed.best_params_ == serial.best_params_
    np.testing.assert_array_equal(distributed.predict_proba(X[:20]), serial.predict_proba(X[:20]))


@pytest.mark.timeout(300)
def test_dask_survives_a_killed_worker(dask_cluster, serial):
    from skfmnist.parallel import dask_backend

    client = dask_cluster
    pids = client.run(os.getpid)
    victim = sorted(pids)[0]
    killed = threading.Event()

    def kill_when_busy():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed.is_set():
            if any(client.processing().values()):
                time.sleep(1.0)  # let it get into a fit
                os.kill(pids[victim], 9)
                killed.set()
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_when_busy, daemon=True)
    killer.start()
    with dask_backend(client=client, scatter=[X, Y]):
        result = _search(n_jobs=-1)
    killer.join(timeout=5)
    assert killed.is_set(), "the worker was never busy, nothing was killed"
    np.testing.assert_array_equal(result.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])


@pytest.mark.timeout(300)
def test_cli_compare_on_a_dask_scheduler(dask_cluster, tmp_path):
    from skfmnist.cli import main

    from .conftest import _data_available

    if not _data_available():
        pytest.skip("Fashion-MNIST files not found: set SKFMNIST_DATA")
    out = tmp_path / "report"
    argv = ["compare", "--models", "dense", "--search", "--cv", "2", "--train-size", "300", "--test-size", "100",
            "--epochs", "1", "--no-progress", "--out", str(out), "--dask-scheduler", dask_cluster.scheduler.address]
    assert main(argv) == 0
    assert (out / "report.md").is_file()
    assert dask_cluster.scheduler_info()["workers"]  # the cluster is still there
