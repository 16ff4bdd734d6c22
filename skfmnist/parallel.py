"""Parallel and distributed fitting: processes, threads, and a fault-tolerant joblib backend for Dask.

scikit-learn's ``GridSearchCV``, ``cross_validate`` and ``learning_curve``
run their fits through joblib.  On one machine joblib's default process
backend (loky) already does the right thing with skfmnist: its workers are
fresh processes (no fork after TensorFlow started) and receive
``OMP_NUM_THREADS = cpu_count() // n_jobs``, which skfmnist turns into
TensorFlow's thread counts (see :mod:`skfmnist.utils._tf`), so ``n_jobs``
workers share the cores without oversubscription.

One thing costs time there without changing any result: loky replaces a
worker whose resident memory has grown by more than 300 MB since its first
task, taking the growth for a leak.  A worker that fitted a small network
first and larger ones later (a grid over filters or layer sizes, or a CNN
search after a dense one in the same session) keeps the memory that the
larger networks' training needed (the memory allocator holds it for reuse)
and can cross that line; the replacement imports TensorFlow again (several
seconds) and joblib warns "A worker stopped while some jobs were given to
the executor".  ``benchmarks/bench_speed.py --only grid`` counts such
restarts ("workers started").

Threads of one process are the other way, with no worker to start::

    with joblib.parallel_config(backend="threading"):
        GridSearchCV(pipe, grid, n_jobs=2).fit(X, y)

runs two fits at a time in this process.  They share its TensorFlow thread
pool (``SKFMNIST_TF_THREADS`` or all cores: no oversubscription), the
data is not copied to any worker, and the scores are those of the serial
search bit for bit, since every fit runs on the same threads and builds its
network one at a time under a lock, seeded (:func:`skfmnist.utils._tf.fit_setup`;
the training itself runs concurrently).  A Dask worker with several threads
runs its tasks the same way.  What it gains over loky's processes is their
start-up (Python, scikit-learn and TensorFlow imported in each new worker:
6-9.5 s for a pair on 2 cores); what it can lose is the Python work of a training loop,
which takes turns on the interpreter lock.  ``benchmarks/bench_speed.py --only
grid`` measures both against the serial search.

By default each TensorFlow operation splits itself over all cores, which
suits one fit at a time; with two fits at once the two fits' operations then
contend for the same threads.  A process that is to run ``n`` fits at a time
in threads does better with one thread inside each operation and ``n``
operations at once, set before TensorFlow starts (TensorFlow reads them once
per process)::

    SKFMNIST_TF_THREADS=1 SKFMNIST_TF_INTER_THREADS=2 python my_search.py

On a 2-core Xeon (``benchmarks/RESULTS.md``, 2026-12-02, four runs over two
sessions) that made a threaded search of the benchmark's dense grid 1.38-1.42x
as fast as the serial search at the default threads (1.21-1.30x with the
default threads) and the CNN grid's 1.34-1.37x (1.18-1.23x); the same grid
on all 60,000 training images 1.51-1.55x and 1.14-1.24x (2026-12-03, two
runs).  The cost: in such a process a fit that runs alone no longer uses
both cores inside its operations; a serial CNN search took 1.11-1.31x as
long (the dense network's 0.98-1.07x).
The scores are those of that process' serial search, bit for bit.

On a Dask cluster, ``joblib.parallel_backend("dask")`` works as it is.  Its
one weakness is fault tolerance: it scatters every argument larger than
1 kB (the data, each fold's index arrays) to a single worker, so when that
worker dies the data is lost and the search fails ("already forgotten").
:func:`dask_backend` broadcasts the data to every worker instead and ships
the small per-fold arguments inside the tasks, so the scheduler can re-run
the tasks of a lost worker elsewhere and the search completes with the same
result.
"""

# SPDX-License-Identifier: MIT

import contextlib

__all__ = ["dask_backend"]

BACKEND_NAME = "skfmnist-dask"


def _backend_class():
    # joblib's Dask backend is a private module; bounded by the joblib range
    # that scikit-learn supports.
    from joblib._dask import DaskDistributedBackend

    class ResilientDaskBackend(DaskDistributedBackend):
        """joblib's Dask backend without per-call scattering to a single worker."""

        def start_call(self):
            super().start_call()
            self.call_data_futures = None  # arguments travel inside the tasks

        def stop_call(self):
            self.call_data_futures = {}
            super().stop_call()

    return ResilientDaskBackend


@contextlib.contextmanager
def dask_backend(*, client=None, scatter=None, retries=3):
    """Run joblib work (``GridSearchCV(n_jobs=-1)`` etc.) on a Dask cluster.

    Parameters
    ----------
    client : dask.distributed.Client, default=None
        The client; None uses the current default client.
    scatter : list of objects, default=None
        Large inputs used by every task (``[X_train, y_train]``): sent once
        to every worker (broadcast), so losing a worker loses no data.
    retries : int, default=3
        How often the scheduler re-runs a task whose worker died.

    Yields
    ------
    None
        Inside the block, joblib uses the cluster.

    Examples
    --------
    >>> from dask.distributed import Client  # doctest: +SKIP
    >>> client = Client("tcp://scheduler:8786")  # doctest: +SKIP
    >>> with dask_backend(client=client, scatter=[X, y]):  # doctest: +SKIP
    ...     GridSearchCV(pipe, grid, n_jobs=-1).fit(X, y)
    """
    import joblib

    joblib.register_parallel_backend(BACKEND_NAME, _backend_class())
    params = {"retries": retries}
    if client is not None:
        params["client"] = client
    if scatter is not None:
        params["scatter"] = list(scatter)
    with joblib.parallel_backend(BACKEND_NAME, **params):
        yield
