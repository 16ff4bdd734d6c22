"""Parallel and distributed fitting: processes, threads, and a joblib backend for Dask that survives lost workers.

scikit-learn's ``GridSearchCV``, ``cross_validate`` and ``learning_curve``
run their fits through joblib.  On one machine joblib's default process
backend (loky) does the right thing with skfmnist: its workers are fresh
processes (no fork after TensorFlow started) and receive
``OMP_NUM_THREADS = cpu_count() // n_jobs``, which skfmnist gives TensorFlow
as its thread counts (:mod:`skfmnist.utils._env`), so ``n_jobs`` workers
share the cores without oversubscription.  Their scores are those of the
serial search, bit for bit.

Threads of one process are the other way, with no worker to start::

    with joblib.parallel_config(backend="threading"):
        GridSearchCV(pipe, grid, n_jobs=2).fit(X, y)

The fits share the process's TensorFlow thread pool and build their networks
one at a time; the presets seed every random part of their networks from
``random_state``, so their scores equal the serial search's on the same
TensorFlow thread settings.  A network of your own is seeded through
``keras.utils.set_random_seed``: a layer created without a seed then draws it
from Python's ``random`` module, which another thread of the process may
draw from at the same moment, so fits of such networks in threads are not
promised to equal the serial ones bit for bit.  A process that runs ``n``
fits at a time in threads does better with one TensorFlow thread per
operation and ``n`` operations at once, set before it starts::

    SKFMNIST_TF_THREADS=1 SKFMNIST_TF_INTER_THREADS=2 python my_search.py

(a fit that runs alone in such a process then uses one core per operation).

On a Dask cluster, ``joblib.parallel_config(backend="dask")`` works as it is,
but it scatters every large argument of a call (the data, each fold's index
arrays) to a single worker: when that worker dies the data is lost and the
search fails.  :func:`dask_backend` is a joblib backend, written on joblib's
public backend API and Dask's ``Client.submit``, that instead broadcasts the
data named in ``scatter`` to every worker and ships everything else inside
the tasks, so the scheduler re-runs a lost worker's tasks elsewhere
(``retries``) and the search completes with the same result.
"""

# SPDX-License-Identifier: MIT

import contextlib
import io
import pickle

import joblib

__all__ = ["DaskBackend", "dask_backend"]


def _dumps(obj, shared):
    """``obj`` pickled by cloudpickle (functions of ``__main__`` by value, as Dask pickles tasks), with the
    objects of ``shared`` (by identity) as references to their broadcast copies."""
    from cloudpickle import CloudPickler

    class SharedPickler(CloudPickler):
        def persistent_id(self, obj):
            entry = shared.get(id(obj))
            return None if entry is None else entry[0]

    buffer = io.BytesIO()
    SharedPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


class _SharedUnpickler(pickle.Unpickler):
    def __init__(self, file, shared):
        super().__init__(file)
        self._shared = shared

    def persistent_load(self, key):
        return self._shared[key]


def _run_batch(payload, shared):
    """On a worker: unpickle joblib's batch of calls, with the broadcast data, and run it."""
    return _SharedUnpickler(io.BytesIO(payload), shared).load()()


class DaskBackend(joblib.ParallelBackendBase):
    """A joblib backend that runs each batch of calls as a Dask task and survives lost workers.

    Parameters
    ----------
    client : dask.distributed.Client, default=None
        The cluster; None uses Dask's default client.
    scatter : list of objects, default=None
        Large inputs of every call (``[X, y]``), sent once to every worker
        (broadcast) and referred to by the tasks.
    retries : int, default=3
        How often the scheduler re-runs a task whose worker died.
    **kwargs : dict
        ``nesting_level`` and ``inner_max_num_threads``, as for every joblib
        backend.
    """

    supports_retrieve_callback = True
    default_n_jobs = -1

    def __init__(self, client=None, scatter=None, retries=3, **kwargs):
        super().__init__(**kwargs)
        from dask.distributed import default_client

        self.client = default_client() if client is None else client
        self.retries = retries
        self._shared = {}  # id(object) -> (key, future); the objects are kept alive below, so ids stay theirs
        self._objects = list(scatter or [])
        for i, obj in enumerate(self._objects):
            self._shared[id(obj)] = (f"shared-{i}", self.client.scatter(obj, broadcast=True, hash=False))
        self._futures = set()

    def effective_n_jobs(self, n_jobs):
        cores = max(sum(self.client.ncores().values()), 1)
        if n_jobs is None or n_jobs == -1:
            return cores
        return n_jobs if n_jobs > 0 else max(cores + 1 + n_jobs, 1)

    def submit(self, func, callback=None):
        shared = {key: future for key, future in self._shared.values()}
        future = self.client.submit(_run_batch, _dumps(func, self._shared), shared, pure=False, retries=self.retries)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)
        if callback is not None:
            future.add_done_callback(callback)
        return future

    def retrieve_result_callback(self, out):
        return out.result()

    def abort_everything(self, ensure_ready=True):
        for future in list(self._futures):
            future.cancel()
        self._futures.clear()


@contextlib.contextmanager
def dask_backend(*, client=None, scatter=None, retries=3):
    """Run joblib work (``GridSearchCV(n_jobs=-1)``, ``cross_validate``, ...) on a Dask cluster.

    Parameters
    ----------
    client : dask.distributed.Client, default=None
        The client; None uses Dask's default client.
    scatter : list of objects, default=None
        Large inputs used by every task (``[X_train, y_train]``): sent once
        to every worker, so losing a worker loses no data.
    retries : int, default=3
        How often the scheduler re-runs a task whose worker died.

    Yields
    ------
    backend : DaskBackend
        Inside the block, joblib uses it.

    Examples
    --------
    >>> from dask.distributed import Client  # doctest: +SKIP
    >>> client = Client("tcp://scheduler:8786")  # doctest: +SKIP
    >>> with dask_backend(client=client, scatter=[X, y]):  # doctest: +SKIP
    ...     GridSearchCV(pipe, grid, n_jobs=-1).fit(X, y)
    """
    backend = DaskBackend(client=client, scatter=scatter, retries=retries)
    with joblib.parallel_config(backend=backend):
        yield backend
