"""Speed benchmarks: wrapper overhead, peers, distance to the machine's limit,
grid-search scaling, memory, the input pipeline's seconds per epoch, float32
against bfloat16, dropout masks, test-time views, oneDNN's kernels against
Eigen's, fits on aligned images against a tensor copy (and accuracy against time).

Run all (writes benchmarks/RESULTS.md and benchmarks/accuracy_vs_time.png)::

    python benchmarks/bench_speed.py --out benchmarks/RESULTS.md

Some parts only: ``--only overhead,peer,limit,grid,memory,epochs,dtype,dropout,views,onednn,copy,accuracy``; the
last one runs ``bench_accuracy.py`` (test accuracy after every epoch against
training seconds, over 3 seeds), which owns its own section of RESULTS.md.
``--quick`` runs everything at a tiny size (the smoke test in
tests/test_benchmarks.py).
Every figure in RESULTS.md comes from this script; ratios are measured side
by side in one run (the machine is noisy: each timing is the best of
``--repeats`` interleaved runs).
"""

# SPDX-License-Identifier: MIT

import argparse
import inspect
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import command_line, dropout_layers, header, table, use_keras_dropout, write_section  # noqa: E402

from skfmnist import fetch_fashion_mnist, make_model_pipeline  # noqa: E402
from skfmnist.models._test_time import n_views  # noqa: E402

MODELS = ("dense", "cnn", "deep_cnn")


def _defaults(name):
    """The default classifier of a pipeline: its batch size, network and compilation."""
    return make_model_pipeline(name)[-1]


def _data(n_train, n_test):
    X, y = fetch_fashion_mnist(subset="train", return_X_y=True)
    Xt, yt = fetch_fashion_mnist(subset="test", return_X_y=True)
    Xs = (X[:n_train].astype(np.float32) / 255.0).astype(np.float32)
    Xts = (Xt[:n_test].astype(np.float32) / 255.0).astype(np.float32)
    return Xs, y[:n_train], Xts, yt[:n_test]


def _keras_model(name, n_train, epochs, n_classes=10):
    """The same network and compilation the pipeline builds, in plain Keras."""
    from skfmnist.models import _builders

    clf = _defaults(name)
    shape = (784,) if name == "dense" else (28, 28, 1)
    params = {**clf._network_params(), "compute_dtype": clf._resolved_compute_dtype()}
    # plain Keras: Keras' own batch normalization and dropout wherever the builder has the cheaper
    # layers; the fused kernel and the cheaper masks count as skfmnist's speed
    switches = inspect.signature(clf._builder).parameters.keys() & {"fused_batch_norm", "mask_bits_dropout"}
    params.update(dict.fromkeys(switches, False))
    model = clf._builder(shape, n_classes, **params)
    steps = epochs * int(np.ceil(n_train / clf.batch_size))
    model = _builders.compile_classifier(
        model, optimizer=clf.optimizer, learning_rate=clf.learning_rate, weight_decay=clf.weight_decay,
        lr_schedule=clf.lr_schedule, total_steps=steps, label_smoothing=clf.label_smoothing,
        steps_per_execution=clf.steps_per_execution,
        fused=False,  # plain Keras: Keras' own Adam; the fused kernel counts as skfmnist's speed
    )
    return model, shape


def _best(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _epoch_clock(spans):
    """A Keras callback that appends each epoch's (start, end) ``perf_counter`` to ``spans``.

    A closure, not an attribute: the estimator fits with deep copies of its callbacks.
    """
    from skfmnist.utils._tf import import_keras

    keras = import_keras()

    class EpochClock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            spans.append([time.perf_counter(), None])

        def on_epoch_end(self, epoch, logs=None):
            spans[-1][1] = time.perf_counter()

    return EpochClock()


def _timed_fit(fit, make_clock):
    """Wall seconds of ``fit(callback)`` and the seconds of each of its epochs."""
    spans = []
    start = time.perf_counter()
    fit(make_clock(spans))
    total = time.perf_counter() - start
    return total, [end - begin for begin, end in spans]


def _steady_epoch_s(epochs_per_fit):
    """Seconds of the fastest epoch after the first of any fit; None if every fit had one epoch.

    The first epoch of a Keras fit also traces and optimizes the training
    function; the later ones are the training loop
    alone.  The same rule applies to skorch's epochs, so that both sides are
    measured alike.
    """
    later = [seconds for each in epochs_per_fit for seconds in each[1:]]
    return min(later) if later else None


def bench_overhead(Xs, y, Xts, epochs, repeats):
    """skfmnist Pipeline vs plain Keras on the same scaled float32 arrays.

    Each fit also records the seconds spent inside its epochs, so that the
    ratio splits into the epochs' (the training loop and input pipeline) and
    the cost outside them (validation, scaling, building and compiling).
    """
    rows = []
    for name in MODELS:
        batch = _defaults(name).batch_size
        pipe = make_model_pipeline(name, epochs=epochs, random_state=0)
        pipe.set_params(scale__max_value=1.0)  # input is already scaled
        if "test_time_flip" in pipe[-1].get_params():
            # the deep CNN's default also predicts each image mirrored and shifted; plain Keras
            # does one pass
            pipe[-1].set_params(test_time_flip=False, test_time_shift=0)
        model, shape = _keras_model(name, len(y), epochs)
        Xk, Xtk = Xs.reshape(-1, *shape), Xts.reshape(-1, *shape)
        fit_ours, fit_keras = [], []

        def fit_ours_once(callback):
            pipe[-1].set_params(callbacks=[callback])
            pipe.fit(Xs, y)

        def fit_keras_once(callback):
            # Pipeline.fit builds and compiles its network, so the plain-Keras
            # side is timed from building and compiling the same network too.
            nonlocal model
            model, _ = _keras_model(name, len(y), epochs)
            model.fit(Xk, y, epochs=epochs, batch_size=batch, verbose=0, callbacks=[callback])

        for _ in range(repeats):  # interleaved, so drift hits both alike
            fit_ours.append(_timed_fit(fit_ours_once, _epoch_clock))
            fit_keras.append(_timed_fit(fit_keras_once, _epoch_clock))
        pipe[-1].set_params(callbacks=None)
        (fit_s, epochs_s), (keras_fit_s, keras_epochs_s) = min(fit_ours), min(fit_keras)
        epochs_s, keras_epochs_s = sum(epochs_s), sum(keras_epochs_s)
        steady = _steady_epoch_s([each for _, each in fit_ours])
        keras_steady = _steady_epoch_s([each for _, each in fit_keras])
        pred_ours = _best(lambda: pipe.predict(Xts), repeats + 1)
        pred_keras = _best(lambda: model.predict(Xtk, batch_size=1024, verbose=0).argmax(1), repeats + 1)
        rows.append({
            "model": name, "fit_s": fit_s, "keras_fit_s": keras_fit_s, "fit_ratio": fit_s / keras_fit_s,
            "epochs_s": epochs_s, "keras_epochs_s": keras_epochs_s, "epochs_ratio": epochs_s / keras_epochs_s,
            "outside_s": fit_s - epochs_s, "keras_outside_s": keras_fit_s - keras_epochs_s,
            "predict_s": pred_ours, "keras_predict_s": pred_keras, "predict_ratio": pred_ours / pred_keras,
            "train_img_s": len(y) * epochs / fit_s, "keras_train_img_s": len(y) * epochs / keras_fit_s,
            "predict_img_s": len(Xts) / pred_ours, "keras_predict_img_s": len(Xts) / pred_keras,
            "flops_per_image": _flops(pipe), "batch_size": batch,
            "params": pipe[-1].n_trainable_params_, "compute_dtype": pipe[-1].compute_dtype_,
            **({"epoch_img_s": len(y) / steady, "keras_epoch_img_s": len(y) / keras_steady} if steady else {}),
        })
    return rows


def _flops(pipe):
    from skfmnist.models._builders import count_flops

    return count_flops(pipe[-1].model_)


def bench_machine(size=2048, repeats=5):
    """Single-precision matrix-multiply rate of this machine (all cores), GFLOP/s."""
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    a @ b
    seconds = _best(lambda: a @ b, repeats)
    return 2 * size**3 / seconds / 1e9


def bench_machine_bf16(size=2048, repeats=5):
    """bfloat16 matrix-multiply rate (all cores), GFLOP/s, through TensorFlow.

    The ceiling of a network that computes in bfloat16 (``compute_dtype_``):
    numpy has no bfloat16 arithmetic, so this runs TensorFlow's own matmul
    (oneDNN's kernels, the ones the networks' layers use; AMX where the CPU
    has it) on bfloat16 operands.  Eager TensorFlow ops on the CPU return
    when their result is computed.
    """
    from skfmnist.utils._tf import import_keras

    import_keras()  # TensorFlow with skfmnist's thread settings
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a = tf.constant(rng.random((size, size), dtype=np.float32), dtype=tf.bfloat16)
    b = tf.constant(rng.random((size, size), dtype=np.float32), dtype=tf.bfloat16)
    tf.linalg.matmul(a, b)
    seconds = _best(lambda: tf.linalg.matmul(a, b), repeats)
    return 2 * size**3 / seconds / 1e9


def bench_peer(Xs, y, Xts, epochs, repeats):
    """Training and prediction images/s of skorch (PyTorch CPU) on the same networks."""
    try:
        import torch
        from skorch import NeuralNetClassifier
    except ImportError:
        return None
    from torch import nn

    torch.manual_seed(0)

    def dense_module():
        clf = _defaults("dense")
        layers, n_in = [nn.Flatten()], 784
        for units in clf.hidden_layer_sizes:
            layers += [nn.Linear(n_in, units), nn.ReLU(), nn.Dropout(clf.dropout)]
            n_in = units
        return nn.Sequential(*layers, nn.Linear(n_in, 10))

    def cnn_module():
        clf = _defaults("cnn")
        layers, c_in, side = [], 1, 28
        for c_out in clf.filters:
            layers += [nn.Conv2d(c_in, c_out, clf.kernel_size, padding="same", bias=not clf.batch_norm)]
            layers += [nn.BatchNorm2d(c_out, momentum=0.1)] if clf.batch_norm else []
            layers += [nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True)]
            c_in, side = c_out, -(-side // 2)
        layers += [nn.Flatten(), nn.Linear(c_in * side * side, clf.dense_units, bias=not clf.batch_norm)]
        layers += [nn.BatchNorm1d(clf.dense_units, momentum=0.1)] if clf.batch_norm else []
        layers += [nn.ReLU(), nn.Dropout(clf.dropout), nn.Linear(clf.dense_units, 10)]
        return nn.Sequential(*layers)

    rows = []
    for name, module, shape in (("dense", dense_module, (784,)), ("cnn", cnn_module, (1, 28, 28))):
        batch = _defaults(name).batch_size
        net = NeuralNetClassifier(
            module,
            max_epochs=epochs,
            batch_size=batch,
            optimizer=torch.optim.Adam,
            lr=_defaults(name).learning_rate,  # the estimator's peak rate; skorch keeps it constant
            criterion=nn.CrossEntropyLoss,
            train_split=None,
            verbose=0,
            iterator_train__shuffle=True,
        )
        Xp, Xtp, yp = Xs.reshape(-1, *shape), Xts.reshape(-1, *shape), y.astype(np.int64)
        fits, epochs_per_fit = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            net.fit(Xp, yp)
            fits.append(time.perf_counter() - start)
            epochs_per_fit.append(list(net.history[:, "dur"]))  # skorch's clock of each epoch
        steady = _steady_epoch_s(epochs_per_fit)
        pred_s = _best(lambda: net.predict(Xtp), repeats + 1)
        rows.append(
            {
                "model": name,
                "skorch_train_img_s": len(y) * epochs / min(fits),
                "skorch_predict_img_s": len(Xts) / pred_s,
                "torch_threads": torch.get_num_threads(),
                "skorch_params": sum(p.numel() for p in net.module_.parameters() if p.requires_grad),
                **({"skorch_epoch_img_s": len(y) / steady} if steady else {}),
            }
        )
    return rows


GRIDS = {
    "dense": {"clf__hidden_layer_sizes": [(256,), (512, 256)], "clf__dropout": [0.3, 0.5]},
    "cnn": {"clf__filters": [(16, 32), (32, 64)], "clf__dropout": [0.3, 0.5]},
}


def _accuracy_and_worker(estimator, X, y):
    """GridSearchCV scorer: the accuracy, and the id of the process that scored it."""
    return {"accuracy": estimator.score(X, y), "worker": os.getpid()}


def _worker_ready(pipeline):
    """A task that returns once its worker holds ``pipeline`` (unpickling it imports TensorFlow)."""
    return os.getpid()


def _fresh_workers_start_up(pipeline):
    """Wall seconds for two fresh loky workers to become ready for a grid-search fit.

    Starts a new pair of workers through joblib, as ``GridSearchCV(n_jobs=2)``
    does, gives each a task holding ``pipeline`` (so that it starts Python,
    imports scikit-learn and, unpickling the pipeline, TensorFlow) and shuts
    them down again.  Returns ``(seconds, sorted ids of the processes that ran a task)``.
    """
    from joblib import Parallel, delayed
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)
    start = time.perf_counter()
    pids = Parallel(n_jobs=2)(delayed(_worker_ready)(pipeline) for _ in range(2))
    seconds = time.perf_counter() - start
    get_reusable_executor().shutdown(wait=True)
    return seconds, sorted(set(pids))


def fresh_break_even_s(bound, not_in_fits_s, target=1.5):
    """Serial seconds from which a search on fresh workers reaches ``target`` x.

    A search whose fits take ``T`` seconds serially takes ``T / bound`` on
    two workers plus the fixed ``not_in_fits_s`` (start-up, dispatch,
    imbalance), so its speed-up ``T / (T / bound + c)`` reaches ``target``
    when ``T = target * c / (1 - target / bound)``; never (inf) when the
    per-fit bound itself is at most ``target``.
    """
    if bound <= target:
        return float("inf")
    return target * max(not_in_fits_s, 0.0) / (1 - target / bound)


def _grid_data(n_train):
    X, y = fetch_fashion_mnist(subset="train", return_X_y=True)
    return X[:n_train], y[:n_train]


def _grid_search(name, epochs, X, y, n_jobs, backend):
    """One ``GridSearchCV`` of ``GRIDS[name]`` on joblib's ``backend``: wall and work seconds, scores, workers."""
    from joblib import parallel_config
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    search = GridSearchCV(
        make_model_pipeline(name, epochs=epochs, random_state=0),
        GRIDS[name],
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        n_jobs=n_jobs,
        refit=False,
        scoring=_accuracy_and_worker,
    )
    start = time.perf_counter()
    with parallel_config(backend=backend):
        search.fit(X, y)
    seconds = time.perf_counter() - start
    res = search.cv_results_
    return {
        "seconds": seconds,
        "work_s": 3 * float(np.sum(res["mean_fit_time"] + res["mean_score_time"])),
        "mean_test_score": res["mean_test_accuracy"].round(4).tolist(),
        "workers": sorted({int(w) for k in range(3) for w in res[f"split{k}_test_worker"]}),
    }


#: TensorFlow's pools for two fits at a time in threads of one process, as
#: (intra-op, inter-op) threads: one inside each operation, two operations (one per fit) at once.
THREADS_1T = (1, 2)


def _threads_1t_env():
    """The environment that asks skfmnist for :data:`THREADS_1T` (read once, when TensorFlow starts)."""
    from skfmnist.utils._tf import INTER_THREADS_ENV, THREADS_ENV

    return {THREADS_ENV: str(THREADS_1T[0]), INTER_THREADS_ENV: str(THREADS_1T[1])}


_THREADS_1T_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
import bench_speed
print(json.dumps(bench_speed._threads_1t_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
"""


def _threads_1t_child(name, epochs, n_train):
    """In a process started with :func:`_threads_1t_env`: the serial search, then the threaded one."""
    from skfmnist.utils._tf import import_keras

    import_keras()  # before TensorFlow's import: its kernels and pools as skfmnist sets them from the environment
    import tensorflow as tf

    X, y = _grid_data(n_train)
    return {
        "intra": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter": tf.config.threading.get_inter_op_parallelism_threads(),
        "serial": _grid_search(name, epochs, X, y, 1, "loky"),
        "threads": _grid_search(name, epochs, X, y, 2, "threading"),
    }


def _threads_1t_searches(name, epochs, n_train):
    """The serial and the threaded search in a fresh process with 1 intra-op and 2 inter-op threads.

    TensorFlow reads its thread counts once per process, so the setting that
    suits two concurrent fits (each operation on one thread, one operation of
    each fit at a time) needs a process of its own, as a user's session
    started with ``SKFMNIST_TF_THREADS=1 SKFMNIST_TF_INTER_THREADS=2`` would
    be.  Only the searches are timed, not the process' start.  Raises if
    TensorFlow did not take the setting.
    """
    env = {**os.environ, **_threads_1t_env()}
    cmd = [sys.executable, "-c", _THREADS_1T_CHILD, str(Path(__file__).resolve().parent), name, str(epochs),
           str(n_train)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the {name} searches with 1 intra-op thread failed (exit {done.returncode}):\n"
                           + "\n".join(done.stderr.splitlines()[-20:]))
    out = json.loads(done.stdout.splitlines()[-1])
    if (out["intra"], out["inter"]) != THREADS_1T:
        raise RuntimeError(f"asked for {THREADS_1T[0]} intra-op and {THREADS_1T[1]} inter-op threads, "
                           f"TensorFlow has {out['intra']} / {out['inter']}")
    return out


def bench_grid(n_train, epochs):
    """GridSearchCV (4 candidates x 3 folds) with n_jobs=1 and n_jobs=2, per model.

    ``epochs`` maps model name to epochs per fit. Besides the wall times,
    records the summed fit + score seconds of the 12 fits in each run: a fit
    on a 1-thread worker is slower than the same fit on 2 threads in the
    serial run, and the ratio ``2 * serial_work / parallel_work`` bounds the
    speed-up any 2-process search can reach; what the wall time loses beyond
    that is start-up (TensorFlow imported in each worker) and dispatch.

    Each model's first n_jobs=2 search starts fresh workers, as a user's
    first search does: loky would otherwise reuse the previous search's
    workers and restart them mid-search (its leak check sees a worker's
    memory grow by 300 MB over the size measured after its first task, e.g.
    a CNN after a dense network), paying TensorFlow's import again.  The
    same search then runs a second time on the workers the first one left
    (``"warm"``), as a user's next search of the same model does: its
    speed-up has no process start-up in it.  Before the first search, a pair of
    fresh workers is started and timed until both are ready for a fit
    (``start_up_s``: Python, scikit-learn and TensorFlow imported), then shut
    down.  Each search also records which
    processes scored its fits: more than two in a search means loky
    replaced a worker during it (``started``: processes that the search's
    n_jobs=2 runs had not used before; 2 for a fresh pool, 0 for a reused one
    that loky did not restart).  Between the serial search and the first
    process search, the same search runs with n_jobs=2 on joblib's
    ``"threading"`` backend (``"threads"``): two fits at a time in this
    process, sharing its 2-thread TensorFlow pool, no worker to start; its
    scores must equal the serial ones exactly (same threads, and each fit
    builds its network under :func:`skfmnist.utils._tf.fit_setup`).  Then
    (``"threads_1t"``) a fresh process with 1 intra-op and 2 inter-op
    TensorFlow threads (:data:`THREADS_1T`) runs the serial search and the
    threaded one (:func:`_threads_1t_searches`): two fits at a time without
    each operation splitting itself over both cores; its threaded search is
    compared with this process' serial one, and its own serial search shows
    what the setting costs a single fit.
    """
    X, y = _grid_data(n_train)
    rows = []
    for name, grid in GRIDS.items():
        out = {"model": name, "epochs": epochs[name], "grid": {k.split("__")[1]: v for k, v in grid.items()}}
        for n_jobs in (1, "threads", "threads_1t", 2, "warm"):
            if n_jobs == "threads_1t":  # a process of its own: TensorFlow's pools are set once, at its start
                out[n_jobs] = _threads_1t_searches(name, epochs[name], n_train)
                continue
            if n_jobs == 2:  # time a fresh pair, then leave no worker running: the search starts its own
                out["start_up_s"], out["start_up_workers"] = _fresh_workers_start_up(
                    make_model_pipeline(name, epochs=epochs[name], random_state=0)
                )
            backend = "threading" if n_jobs == "threads" else "loky"
            out[n_jobs] = _grid_search(name, epochs[name], X, y, 1 if n_jobs == 1 else 2, backend)
            seen = set(out[2]["workers"]) if n_jobs == "warm" else set()  # the warm search's inherited workers
            # processes first seen in this search
            out[n_jobs]["started"] = len(set(out[n_jobs]["workers"]) - seen) if n_jobs in (2, "warm") else 0
        out["speedup"] = out[1]["seconds"] / out[2]["seconds"]
        out["threads_speedup"] = out[1]["seconds"] / out["threads"]["seconds"]
        out["threads_same_scores"] = out[1]["mean_test_score"] == out["threads"]["mean_test_score"]
        t1 = out["threads_1t"]
        out["threads_1t_speedup"] = out[1]["seconds"] / t1["threads"]["seconds"]
        out["threads_1t_serial_ratio"] = t1["serial"]["seconds"] / out[1]["seconds"]
        out["threads_1t_same_scores"] = t1["serial"]["mean_test_score"] == t1["threads"]["mean_test_score"]
        out["warm_speedup"] = out[1]["seconds"] / out["warm"]["seconds"]
        out["warm_not_in_fits_s"] = out["warm"]["seconds"] - out["warm"]["work_s"] / 2
        out["bound"] = 2 * out[1]["work_s"] / out[2]["work_s"]
        out["not_in_fits_s"] = out[2]["seconds"] - out[2]["work_s"] / 2
        out["break_even_s"] = fresh_break_even_s(out["bound"], out["not_in_fits_s"])
        out["same_scores"] = out[1]["mean_test_score"] == out[2]["mean_test_score"] == out["warm"]["mean_test_score"]
        rows.append(out)
    return rows


def _cpu_ticks():
    """(busy, idle) jiffies of all CPUs since boot, from /proc/stat."""
    fields = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields[:8]) - idle, idle


def bench_epochs(Xs, y, epochs, rounds=2):
    """Seconds per epoch and idle CPU share of the default CNN network, trained
    through Keras' own (autotuned) pipeline for NumPy inputs and through
    skfmnist's input pipeline (autotuning off): ``rounds`` fits of ``epochs``
    epochs with each, taking turns.

    A stalled epoch spends the same CPU seconds as a normal one with the
    cores idle for the rest, so the idle share tells stalls from slow work.
    """
    import keras

    from skfmnist.models._input import training_dataset
    from skfmnist.utils._tf import seeded

    class EpochClock(keras.callbacks.Callback):
        rows = ()

        def on_epoch_begin(self, epoch, logs=None):
            self.start, self.ticks = time.perf_counter(), _cpu_ticks()

        def on_epoch_end(self, epoch, logs=None):
            busy, idle = (b - a for a, b in zip(self.ticks, _cpu_ticks()))
            self.rows += ((time.perf_counter() - self.start, idle / max(busy + idle, 1)),)

    batch = _defaults("cnn").batch_size
    pipelines = ("Keras (NumPy arrays)", "skfmnist")
    clocks = {pipeline: EpochClock() for pipeline in pipelines}
    # Whole multi-epoch fits, as the estimators run them (in a trial with
    # every epoch its own ``fit`` call, no epoch stalled), taking turns over
    # ``rounds`` so that the machine's drift hits both pipelines alike.
    for _ in range(rounds):
        for pipeline in pipelines:
            with seeded(0):
                model, shape = _keras_model("cnn", len(y), epochs)
                Xk = Xs.reshape(-1, *shape)
                if pipeline == "skfmnist":
                    data = {"x": training_dataset((Xk, y), batch, shuffle=True), "shuffle": False}
                else:
                    data = {"x": Xk, "y": y, "batch_size": batch}
                model.fit(**data, epochs=epochs, verbose=0, callbacks=[clocks[pipeline]])
    rows = []
    for pipeline, clock in clocks.items():
        seconds, idle = (np.array(v) for v in zip(*clock.rows))
        rows.append(
            {
                "pipeline": pipeline,
                "total": float(seconds.sum()),
                "median": float(np.median(seconds)),
                "min": float(seconds.min()),
                "max": float(seconds.max()),
                "idle_slowest": float(idle[seconds.argmax()]),
                "idle": float(np.median(idle)),
                "each": ", ".join(f"{v:.1f}" for v in seconds),
            }
        )
    return rows


def _bf16_cpu():
    """The CPU facts that ``compute_dtype="auto"`` decides on."""
    from skfmnist.utils._tf import _cpu_info, prefers_bfloat16

    try:
        vendor, flags = _cpu_info("/proc/cpuinfo")
    except OSError:
        vendor, flags = "unknown", set()
    bf16 = sorted(flags & {"avx512_bf16", "amx_bf16", "amx_tile", "bf16"}) or ["none"]
    return {
        "vendor": vendor or "unknown",
        "bf16_flags": " ".join(bf16),
        "auto": "bfloat16" if prefers_bfloat16() else "float32",
    }


def bench_dtype(n_train, epochs, rounds=2):
    """Seconds per epoch of the CNN pipelines in float32 and in bfloat16.

    ``rounds`` fits of ``epochs`` epochs on ``n_train`` images per dtype and
    model, taking turns; the first epoch of each fit (which also builds the
    training function) is left out of the median.
    """
    X, y = fetch_fashion_mnist(subset="train", return_X_y=True)
    X, y = X[:n_train], y[:n_train]
    dtypes = ("float32", "bfloat16")
    rows = []
    for name in ("cnn", "deep_cnn"):
        seconds = {dtype: [] for dtype in dtypes}
        for _ in range(rounds):
            for dtype in dtypes:
                pipe = make_model_pipeline(name, epochs=epochs, compute_dtype=dtype, random_state=0).fit(X, y)
                seconds[dtype] += list(np.diff(pipe[-1].history_["time"]))  # cumulative; epoch 1 dropped
        med = {dtype: float(np.median(v)) for dtype, v in seconds.items()}
        rows.append(
            {
                "model": name,
                "float32": med["float32"],
                "bfloat16": med["bfloat16"],
                "speedup": med["float32"] / med["bfloat16"],
                "each": "; ".join(f"{d}: " + ", ".join(f"{v:.1f}" for v in seconds[d]) for d in dtypes),
            }
        )
    return {"cpu": _bf16_cpu(), "rows": rows}


def _pipeline_with_dropout(name, keras_dropout, **params):
    """A default pipeline; with ``keras_dropout`` its network uses Keras' own dropout layer."""
    pipe = make_model_pipeline(name, **params)
    return use_keras_dropout(pipe) if keras_dropout else pipe


#: The networks with ``MaskBitsDropout`` layers, and which of the part's image counts each is fitted on.
DROPOUT_MODELS = (("dense", "n_train"), ("deep_cnn", "dtype_train"))


def bench_dropout(n_images, epochs, rounds=2):
    """Seconds per epoch of each network with its dropout layers and with Keras' own, taking turns.

    The same pipeline, data, seed and precision on both sides; only the
    dropout layers differ (``MaskBitsDropout``: 8 random bits per decision at
    rate 0.25, against a random float per decision).  ``n_images`` maps each
    network of :data:`DROPOUT_MODELS` to the number of training images per
    fit.  The first epoch of each fit (which builds the training function) is
    left out of the median.
    """
    X, y = fetch_fashion_mnist(subset="train", return_X_y=True)
    sides = {"Keras' Dropout": True, "MaskBitsDropout": False}
    rows = []
    for name, _ in DROPOUT_MODELS:
        n_train = n_images[name]
        seconds = {side: [] for side in sides}
        for _ in range(rounds):
            for side, keras_dropout in sides.items():
                pipe = _pipeline_with_dropout(name, keras_dropout, epochs=epochs, random_state=0)
                pipe.fit(X[:n_train], y[:n_train])
                dropouts = dropout_layers(pipe[-1].model_)
                layers = {type(layer).__name__ for layer in dropouts}
                assert layers == {"Dropout" if keras_dropout else "MaskBitsDropout"}, layers
                seconds[side] += list(np.diff(pipe[-1].history_["time"]))  # cumulative; epoch 1 dropped
        med = {side: float(np.median(v)) for side, v in seconds.items()}
        rates = sorted({layer.rate for layer in dropouts})
        rows.append({
            "model": name,
            "n_train": n_train,
            "rates": ", ".join(f"{rate:g}" for rate in rates),
            "keras_s": med["Keras' Dropout"],
            "ours_s": med["MaskBitsDropout"],
            "speedup": med["Keras' Dropout"] / med["MaskBitsDropout"],
            "each": "; ".join(f"{side}: " + ", ".join(f"{v:.2f}" for v in seconds[side]) for side in sides),
            "compute_dtype": pipe[-1].compute_dtype_,
        })
    return rows


DEFAULT_VIEWS = {"test_time_flip": "auto", "test_time_shift": "auto"}
VIEWS = (
    ("default (mirror and 1-pixel shifts)", {}),
    ("mirror only", {"test_time_shift": 0}),
    ("network alone", {"test_time_flip": False, "test_time_shift": 0}),
)


def bench_views(Xs, y, Xts, repeats, n_fit=2048):
    """Prediction seconds of the deep CNN with its default test-time views, the mirror alone, one view.

    A 1-epoch fit on ``n_fit`` images (the prediction's cost does not depend
    on the weights), then ``predict`` on the test images with each setting,
    taking turns; the best of ``repeats + 1`` for each.
    """
    pipe = make_model_pipeline("deep_cnn", epochs=1, random_state=0)
    pipe.set_params(scale__max_value=1.0)  # input is already scaled
    pipe.fit(Xs[:n_fit], y[:n_fit])
    clf = pipe[-1]
    seconds, views = {name: [] for name, _ in VIEWS}, {}
    for _ in range(repeats + 1):
        for name, params in VIEWS:
            clf.set_params(**{**DEFAULT_VIEWS, **params})
            views[name] = n_views(flip=clf._uses_test_time_flip(), shift=clf._test_time_shift())
            start = time.perf_counter()
            pipe.predict(Xts)
            seconds[name].append(time.perf_counter() - start)
    one = min(seconds["network alone"])
    rows = [
        {"views_setting": name, "views": views[name], "seconds": min(seconds[name]),
         "img_s": len(Xts) / min(seconds[name]), "ratio": min(seconds[name]) / one}
        for name, _ in VIEWS
    ]
    return rows


def _off_the_boundary_copy(X):
    """``X``'s values one item (4 bytes for float32) past a 64-byte boundary, which TensorFlow copies."""
    from skfmnist.utils._arrays import aligned_empty

    flat = aligned_empty(X.size + 1, X.dtype)[1:]
    flat[:] = X.ravel()
    return flat.reshape(X.shape)


def bench_copy(Xs, y, epochs, rounds=2):
    """Fits of each classifier on the same images in aligned memory and in memory TensorFlow copies.

    The pipeline's classifier alone, on the scaled images as ``PixelScaler``
    returns them (64-byte aligned: the input pipeline hands them to
    TensorFlow through DLPack, no copy) and on the same values 4 bytes off
    that boundary (``tf.convert_to_tensor`` copies them, as every fit did
    before skfmnist aligned its arrays), taking turns (each side first in
    every other round), ``rounds`` times; the fastest fit of each, and the
    seconds outside its epochs.
    """
    from skfmnist.preprocessing import PixelScaler
    from skfmnist.utils._arrays import is_aligned

    aligned = PixelScaler(max_value=1.0).fit_transform(Xs)
    copied = _off_the_boundary_copy(aligned)
    assert is_aligned(aligned) and not is_aligned(copied)
    rows = []
    for name in MODELS:
        clf = make_model_pipeline(name, epochs=epochs, random_state=0)[-1]
        fits = {"aligned": [], "copied": []}
        for turn in range(rounds):
            sides = (("aligned", aligned), ("copied", copied))
            for key, X in sides[:: 1 if turn % 2 == 0 else -1]:  # either side first in turn
                def fit_once(callback, X=X):
                    clf.set_params(callbacks=[callback])
                    clf.fit(X, y)

                fits[key].append(_timed_fit(fit_once, _epoch_clock))
        clf.set_params(callbacks=None)
        (fit_a, epochs_a), (fit_c, epochs_c) = min(fits["aligned"]), min(fits["copied"])
        rows.append({
            "model": name, "aligned_fit_s": fit_a, "copied_fit_s": fit_c, "ratio": fit_c / fit_a,
            "aligned_outside_s": fit_a - sum(epochs_a), "copied_outside_s": fit_c - sum(epochs_c),
            "aligned_epochs_s": sum(epochs_a), "copied_epochs_s": sum(epochs_c),
        })
    return rows


def bench_memory(n_train, epochs):
    """Peak resident memory of a fit of each pipeline, each in a fresh process.

    Reads VmHWM (peak RSS of this process image) from /proc: ``ru_maxrss``
    would report the parent's peak, which Linux carries across fork/exec.
    """
    rows = []
    for name in MODELS:
        code = (
            "import numpy as np\n"
            "def hwm():\n"
            "    return int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])\n"
            "from skfmnist import fetch_fashion_mnist, make_model_pipeline\n"
            f"X, y = fetch_fashion_mnist(return_X_y=True); X, y = X[:{n_train}], y[:{n_train}]\n"
            f"pipe = make_model_pipeline('{name}', epochs={epochs}, random_state=0); import skfmnist.models\n"
            "base = hwm()\n"
            "pipe.fit(X, y)\n"
            "print(base, hwm())\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        base, peak = (int(v) for v in out.stdout.split()[-2:])
        rows.append(
            {
                "model": name,
                "peak_rss_mb": peak / 1024,
                "rss_before_fit_mb": base / 1024,
                "fit_added_mb": (peak - base) / 1024,
            }
        )
    return rows


_ONEDNN_CHILD = """
import json, sys
import numpy as np
from skfmnist import fetch_fashion_mnist, make_model_pipeline
from skfmnist.utils._tf import onednn_enabled
n_train, epochs = int(sys.argv[1]), int(sys.argv[2])
X, y = fetch_fashion_mnist(subset="train", return_X_y=True)
X, y = X[:n_train], y[:n_train]
out = {"onednn": onednn_enabled(), "seconds": {}, "loss": {}}
for name in sys.argv[3].split(","):
    clf = make_model_pipeline(name, epochs=epochs, compute_dtype="float32", random_state=0).fit(X, y)[-1]
    out["seconds"][name] = [float(v) for v in np.diff(clf.history_["time"])]  # cumulative; epoch 1 dropped
    out["loss"][name] = float(clf.history_["loss"][-1])
print(json.dumps(out))
"""


def bench_onednn(n_train, epochs, rounds=2):
    """Seconds per epoch of each pipeline on oneDNN's CPU kernels and on Eigen's.

    Each setting of ``TF_ENABLE_ONEDNN_OPTS`` (read once, when TensorFlow is
    imported) runs in fresh processes that fit every model in float32 (Eigen
    has no bfloat16 fast path), ``rounds`` processes per setting in the order
    Eigen, oneDNN, oneDNN, Eigen, ... so that the machine's drift hits both
    alike; the first epoch of each fit (which builds the training function)
    is left out of the median.  Raises if a process did not get the kernels
    it asked for.
    """
    from skfmnist.utils._tf import TF_ONEDNN_FLAGS, tensorflow_onednn_flags

    own = tensorflow_onednn_flags()
    settings = {"Eigen": "0", "oneDNN": "1"}
    order = [k for i in range(rounds) for k in (("Eigen", "oneDNN") if i % 2 == 0 else ("oneDNN", "Eigen"))]
    seconds = {k: {m: [] for m in MODELS} for k in settings}
    losses = {k: {} for k in settings}
    for kernels in order:
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": settings[kernels]}
        cmd = [sys.executable, "-c", _ONEDNN_CHILD, str(n_train), str(epochs), ",".join(MODELS)]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        out = json.loads(done.stdout.splitlines()[-1])
        if out["onednn"] is not (kernels == "oneDNN"):
            raise RuntimeError(f"asked for {kernels}'s kernels, TensorFlow reports oneDNN={out['onednn']}")
        for name in MODELS:
            seconds[kernels][name] += out["seconds"][name]
            losses[kernels][name] = out["loss"][name]
    rows = []
    for name in MODELS:
        med = {k: float(np.median(seconds[k][name])) for k in settings}
        rows.append(
            {
                "model": name,
                "eigen_s": med["Eigen"],
                "onednn_s": med["oneDNN"],
                "speedup": med["Eigen"] / med["oneDNN"],
                "eigen_loss": losses["Eigen"][name],
                "onednn_loss": losses["oneDNN"][name],
                "each": "; ".join(f"{k}: " + ", ".join(f"{v:.1f}" for v in seconds[k][name]) for k in settings),
            }
        )
    return {
        "tf_default": "oneDNN" if own else "Eigen",
        "flags": " ".join(own) or "none of " + ", ".join(sorted(TF_ONEDNN_FLAGS)),
        "isa_cap": os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip() or "unset",
        "rows": rows,
    }


SECTIONS = {
    "speed-overhead": "## Speed: wrapper overhead, peers, distance to the machine's limit",
    "speed-grid": "## Speed: grid search",
    "speed-memory": "## Memory",
    "speed-epochs": "## Speed: input pipeline, seconds per epoch (CNN)",
    "speed-dtype": "## Speed: float32 against bfloat16 (compute_dtype)",
    "speed-dropout": "## Speed: cheaper dropout masks (dense network, deep CNN)",
    "speed-views": "## Speed: prediction with test-time views (deep CNN)",
    "speed-onednn": "## Speed: oneDNN's CPU kernels against Eigen's",
    "speed-copy": "## Speed: the images' way into TensorFlow (aligned memory against a copy)",
}


def render(results, command):
    """Markdown of each measured part, as ``{RESULTS.md section name: text}``.

    Each part (overhead with peers and limit, grid, memory) has its own
    section with its own command line, so that running one part alone keeps
    the figures of the others.
    """
    head = header(command, json.dumps(results["settings"]))
    sections = {}
    if "overhead" in results:
        lines = sections["speed-overhead"] = [SECTIONS["speed-overhead"], ""] + head
        rows = results["overhead"]
        lines += [
            "### 1. Wrapper overhead (ratios first; target fit <= 1.05, predict <= 1.10)",
            "",
            "`Pipeline.fit` (validation, scaling, building and compiling the network, training) against "
            "building and compiling the same network in plain Keras (Keras' own Adam and batch normalization) "
            "and `model.fit` "
            "on the already scaled float32 arrays; `Pipeline.predict` against `model.predict(...).argmax(1)`, both one "
            "pass over the images (the deep CNN with `test_time_flip=False, test_time_shift=0`: its default "
            "averages each image's views, mirrored and shifted, which plain `model.predict` does not do). "
            "Of each side's fastest fit, the seconds inside its epochs (a callback's clock: the training "
            "loop, tracing and input pipeline) give the epochs' ratio, and the rest is the cost outside "
            "them (checking and scaling the data, building and compiling the network, setting up the fit), "
            "which does not grow with the number of epochs.",
            "",
            table(
                rows,
                [
                    ("model", ("model", "{}")),
                    ("fit ratio", ("fit_ratio", "{:.3f}")),
                    ("predict ratio", ("predict_ratio", "{:.3f}")),
                    ("epochs' ratio", ("epochs_ratio", "{:.3f}")),
                    ("skfmnist fit s", ("fit_s", "{:.2f}")),
                    ("Keras fit s", ("keras_fit_s", "{:.2f}")),
                    ("outside the epochs: skfmnist s", ("outside_s", "{:.2f}")),
                    ("Keras s", ("keras_outside_s", "{:.2f}")),
                    ("skfmnist predict s", ("predict_s", "{:.3f}")),
                    ("Keras predict s", ("keras_predict_s", "{:.3f}")),
                ],
            ),
        ]
    if results.get("peer"):
        ours = {r["model"]: r for r in results["overhead"]}
        rows = [
            {
                **p,
                **ours[p["model"]],
                "train_vs_skorch": ours[p["model"]]["train_img_s"] / p["skorch_train_img_s"],
                **(
                    {"epoch_vs_skorch": ours[p["model"]]["epoch_img_s"] / p["skorch_epoch_img_s"]}
                    if "epoch_img_s" in ours[p["model"]] and "skorch_epoch_img_s" in p
                    else {}
                ),
                "predict_vs_skorch": ours[p["model"]]["predict_img_s"] / p["skorch_predict_img_s"],
            }
            for p in results["peer"]
        ]
        lines += [
            "### 2. Throughput against peers (images/s; target >= 1.2x skorch and >= plain Keras)",
            "",
            "The same network (built from the pipeline's default parameters; trainable parameters "
            "listed for both), batch size, optimizer (Adam at the estimator's peak learning rate) "
            "and data in all three. Plain Keras is compiled like the estimator (same schedule "
            "and `steps_per_execution`) but with Keras' own Adam, where the estimator's runs "
            "TensorFlow's fused update kernel; skorch at a constant rate. *Fit*: images x epochs / "
            "seconds of the fastest whole fit, set-up included (for skfmnist and Keras that is building "
            "the network and, in the first epoch, tracing its training function). "
            "*Epoch*: images / seconds of the fastest epoch after the first of any fit (a callback's "
            "clock for skfmnist and Keras, skorch's own `dur` of each epoch), the training loop alone; "
            "n/a for 1-epoch fits.",
            "",
            table(
                rows,
                [
                    ("model", ("model", "{}")),
                    ("train vs skorch: fit", ("train_vs_skorch", "{:.2f}x")),
                    ("epoch", ("epoch_vs_skorch", "{:.2f}x")),
                    ("predict vs skorch", ("predict_vs_skorch", "{:.2f}x")),
                    ("skfmnist train: fit", ("train_img_s", "{:,.0f}")),
                    ("epoch", ("epoch_img_s", "{:,.0f}")),
                    ("Keras train: fit", ("keras_train_img_s", "{:,.0f}")),
                    ("epoch", ("keras_epoch_img_s", "{:,.0f}")),
                    ("skorch train: fit", ("skorch_train_img_s", "{:,.0f}")),
                    ("epoch", ("skorch_epoch_img_s", "{:,.0f}")),
                    ("skfmnist predict", ("predict_img_s", "{:,.0f}")),
                    ("Keras predict", ("keras_predict_img_s", "{:,.0f}")),
                    ("skorch predict", ("skorch_predict_img_s", "{:,.0f}")),
                    ("batch", ("batch_size", "{}")),
                    ("params", ("params", "{:,}")),
                    ("skorch params", ("skorch_params", "{:,}")),
                ],
            ),
        ]
    elif "peer" in results:
        lines += [
            "### 2. Throughput against peers",
            "",
            "skorch/torch not installed (`pip install -e '.[bench]'`): not measured.",
            "",
        ]
    if "machine_gflops" in results and "overhead" in results:
        rates = {"float32": results["machine_gflops"]}
        if "machine_gflops_bf16" in results:
            rates["bfloat16"] = results["machine_gflops_bf16"]
        rows = []
        for r in results["overhead"]:
            # each network against the matmul rate of the dtype it computes in; a row
            # without one (results built by hand, as in the tests) counts as float32
            dtype = r.get("compute_dtype", "float32")
            g = rates[dtype]
            rows.append({
                "model": r["model"],
                "dtype": dtype,
                "rate": g,
                "mflops": r["flops_per_image"] / 1e6,
                "train_frac": 3 * r["flops_per_image"] * r["train_img_s"] / (g * 1e9),
                "predict_frac": r["flops_per_image"] * r["predict_img_s"] / (g * 1e9),
                **({"epoch_frac": 3 * r["flops_per_image"] * r["epoch_img_s"] / (g * 1e9)}
                   if "epoch_img_s" in r else {}),
            })
        named = [f"numpy float32 matmul: {rates['float32']:.0f} GFLOP/s"]
        if "bfloat16" in rates:
            named.append(f"TensorFlow bfloat16 matmul: {rates['bfloat16']:.0f} GFLOP/s")
        lines += [
            f"### 3. Distance to the machine's limit ({'; '.join(named)})",
            "",
            "Fraction = FLOPs per image (forward; training counted as 3x forward) x images/s / matmul rate "
            "(training: the whole fit's images/s and the fastest later epoch's, as in part 2). Each network "
            "is measured against the matmul rate of the dtype it computes in (`compute_dtype_`): numpy's "
            "float32 matmul for float32, TensorFlow's bfloat16 matmul (oneDNN, the networks' own kernels; "
            "numpy has no bfloat16) for bfloat16 mixed precision.",
            "",
            table(
                rows,
                [
                    ("model", ("model", "{}")),
                    ("computes in", ("dtype", "{}")),
                    ("matmul GFLOP/s", ("rate", "{:.0f}")),
                    ("forward MFLOP/image", ("mflops", "{:.2f}")),
                    ("training fraction: fit", ("train_frac", "{:.1%}")),
                    ("epoch", ("epoch_frac", "{:.1%}")),
                    ("inference fraction", ("predict_frac", "{:.1%}")),
                ],
            ),
        ]
    if "grid" in results:
        lines = sections["speed-grid"] = [SECTIONS["speed-grid"], ""] + head
        rows = results["grid"]
        settings = results["settings"]
        lines += [
            "### 4. Grid search (4 candidates x 3 folds; target n_jobs=2 >= 1.5x n_jobs=1)",
            "",
            f"`GridSearchCV` of each pipeline, stratified 3-fold, on {settings['grid_train']:,} training "
            "images; n_jobs=2 starts two loky worker processes (TensorFlow imported in each, 1 intra-op "
            "and 1 inter-op thread each), n_jobs=1 runs TensorFlow with 2 threads in this process. "
            "*Work* is the summed fit + score seconds of the 12 fits; *bound* = 2 x serial work / "
            "parallel work is the best speed-up two processes could reach with these per-fit times "
            "(a fit on one thread against the same fit on two); *not in fits* is the n_jobs=2 wall "
            "time minus half its work (worker start-up, dispatch, imbalance). *Warm* is the same "
            "n_jobs=2 search run again at once on the two workers the first left running (loky "
            "reuses them), as a user's next search of the same model: no process start-up. *Workers "
            "started* counts the processes that scored fits in each n_jobs=2 search and had not in an "
            "earlier one: 2 / 0 when no worker was replaced; more means that loky's memory-leak check "
            "(a worker whose resident memory grew by more than 300 MB since its first task is replaced) "
            "restarted a worker mid-search, which then imported TensorFlow again. *Start-up* is the "
            "wall time for a pair of fresh workers, started the same way just before the first search "
            "and then shut down, to become ready for a fit (Python started, scikit-learn and TensorFlow "
            "imported): a fixed cost of every first search, however long its fits. *Serial s for 1.5x "
            "fresh* is the n_jobs=1 time from which a first search would reach 1.5x with this run's "
            "bound and not-in-fits seconds: 1.5 x not in fits / (1 - 1.5 / bound), since a search "
            "of T serial seconds takes T / bound + not in fits on two fresh workers. *Threads* is the "
            "same search with n_jobs=2 on joblib's threading backend (`joblib.parallel_config(backend="
            '"threading")`), run right after the serial one: two fits at a time in this process, '
            "sharing its 2-thread TensorFlow pool (no oversubscription, no worker to start); its "
            "scores equal the serial ones exactly where the fits are reproducible at all. *Threads, 1 "
            "intra-op thread* is the same threaded search in a fresh process started with "
            + " ".join(f"`{k}={v}`" for k, v in _threads_1t_env().items())
            + " (TensorFlow reads its thread counts once per process): each operation on one thread, "
            "one operation of each fit at a time; its speed-up is against the n_jobs=1 search above "
            "(this process, 2 intra-op threads), and *its serial / n_jobs=1* is the same process' "
            "serial search over that one: what the setting costs fits that run alone. Only the "
            "searches are timed, not the process' start.",
            "",
            table(
                [
                    {
                        **r,
                        "grid_s": ", ".join(f"{k} in {v}" for k, v in r["grid"].items()),
                        "s1": r[1]["seconds"],
                        "s2": r[2]["seconds"],
                        "w1": r[1]["work_s"],
                        "w2": r[2]["work_s"],
                        "sw": r["warm"]["seconds"],
                        "st": r["threads"]["seconds"],
                        "st1": r["threads_1t"]["threads"]["seconds"],
                        "started": f"{r[2]['started']} / {r['warm']['started']}",
                        "start_up": f"{r['start_up_s']:.1f}"
                        + ("" if len(r["start_up_workers"]) == 2 else f" ({len(r['start_up_workers'])} worker)"),
                        "break_even": f"{r['break_even_s']:.0f}" if np.isfinite(r["break_even_s"]) else "never",
                    }
                    for r in rows
                ],
                [
                    ("model", ("model", "{}")),
                    ("speed-up", ("speedup", "**{:.2f}x**")),
                    ("bound", ("bound", "{:.2f}x")),
                    ("n_jobs=1 s", ("s1", "{:.1f}")),
                    ("n_jobs=2 s", ("s2", "{:.1f}")),
                    ("work n_jobs=1 s", ("w1", "{:.1f}")),
                    ("work n_jobs=2 s", ("w2", "{:.1f}")),
                    ("not in fits s", ("not_in_fits_s", "{:.1f}")),
                    ("start-up s", ("start_up", "{}")),
                    ("serial s for 1.5x fresh", ("break_even", "{}")),
                    ("threads speed-up", ("threads_speedup", "**{:.2f}x**")),
                    ("threads n_jobs=2 s", ("st", "{:.1f}")),
                    ("threads, 1 intra-op thread: speed-up", ("threads_1t_speedup", "**{:.2f}x**")),
                    ("n_jobs=2 s", ("st1", "{:.1f}")),
                    ("its serial / n_jobs=1", ("threads_1t_serial_ratio", "{:.2f}")),
                    ("warm speed-up", ("warm_speedup", "**{:.2f}x**")),
                    ("warm n_jobs=2 s", ("sw", "{:.1f}")),
                    ("warm not in fits s", ("warm_not_in_fits_s", "{:.1f}")),
                    ("workers started: first / warm", ("started", "{}")),
                    ("epochs/fit", ("epochs", "{}")),
                    ("grid", ("grid_s", "{}")),
                ],
            ),
        ]
        for r in rows:
            lines.append(
                f"- {r['model']}: same mean test scores as serial: {r['same_scores']} "
                f"(n_jobs=1: {r[1]['mean_test_score']}, n_jobs=2: {r[2]['mean_test_score']}, "
                f"warm: {r['warm']['mean_test_score']}); threads' scores equal serial's: "
                f"{r['threads_same_scores']} ({r['threads']['mean_test_score']}); with 1 intra-op thread, "
                f"threaded scores equal that process' serial ones: {r['threads_1t_same_scores']} "
                f"({r['threads_1t']['threads']['mean_test_score']})."
            )
        lines += [
            "",
            "A fit is bitwise reproducible for a given number of TensorFlow threads, but the 1-thread "
            "workers and the 2-thread serial run can split a kernel's sums differently (convolutions; "
            "on some CPUs also the dense layers' matrix multiplies), so scores may differ in the last "
            "digits between them; tests/test_parallel.py checks that a parallel search of a small "
            "dense network gives the serial scores exactly.",
            "",
        ]
    if "memory" in results:
        lines = sections["speed-memory"] = [SECTIONS["speed-memory"], ""] + head
        lines += [
            "### 5. Memory (peak RSS of a fit, fresh process)",
            "",
            table(
                results["memory"],
                [
                    ("model", ("model", "{}")),
                    ("peak RSS MB", ("peak_rss_mb", "{:.0f}")),
                    ("peak before fit MB (data + TensorFlow loaded)", ("rss_before_fit_mb", "{:.0f}")),
                    ("added by fit MB", ("fit_added_mb", "{:.0f}")),
                ],
            ),
            "A float64 copy of the 60,000 x 784 images would be 376 MB; the float32 one the network needs is 188 MB.",
            "",
        ]
    if "epochs" in results:
        lines = sections["speed-epochs"] = [SECTIONS["speed-epochs"], ""] + head
        lines += [
            "### 6. Input pipeline (seconds per epoch)",
            "",
            "The default CNN network, trained on the same scaled arrays through Keras' own pipeline for "
            "NumPy inputs (`model.fit(X, y)`, tf.data autotuning on) and through skfmnist's "
            f"(`skfmnist/models/_input.py`, autotuning off): 2 fits of {results['settings']['epoch_epochs']} "
            "epochs with each, taking turns (Keras, skfmnist, Keras, skfmnist). "
            "Idle is the share of all cores' time spent idle during an "
            "epoch (`/proc/stat`): a stalled epoch does the same work with the cores idle for the rest. "
            "The first epoch of each fit also builds the training function.",
            "",
            table(
                results["epochs"],
                [
                    ("pipeline", ("pipeline", "{}")),
                    ("total s", ("total", "{:.1f}")),
                    ("median s / epoch", ("median", "{:.1f}")),
                    ("min s", ("min", "{:.1f}")),
                    ("max s", ("max", "{:.1f}")),
                    ("median idle share", ("idle", "{:.0%}")),
                    ("idle share, slowest epoch", ("idle_slowest", "{:.0%}")),
                    ("every epoch, s", ("each", "{}")),
                ],
            ),
        ]
    if "dtype" in results:
        cpu = results["dtype"]["cpu"]
        lines = sections["speed-dtype"] = [SECTIONS["speed-dtype"], ""] + head
        lines += [
            "### 7. float32 against bfloat16 mixed precision (seconds per epoch)",
            "",
            f'Each pipeline fitted with `compute_dtype="float32"` and `"bfloat16"`, taking turns '
            f"({results['settings']['dtype_epochs']} epochs on {results['settings']['dtype_train']} images per fit); "
            "median seconds per epoch, the first epoch of each fit (which builds the training function) left out. "
            f'This CPU: vendor {cpu["vendor"]}, bfloat16 flags: {cpu["bf16_flags"]}; `compute_dtype="auto"` '
            f"resolves to **{cpu['auto']}** here.",
            "",
            table(
                results["dtype"]["rows"],
                [
                    ("model", ("model", "{}")),
                    ("bfloat16 speed-up (float32 s / bfloat16 s)", ("speedup", "{:.2f}x")),
                    ("float32 s / epoch", ("float32", "{:.2f}")),
                    ("bfloat16 s / epoch", ("bfloat16", "{:.2f}")),
                    ("every epoch, s", ("each", "{}")),
                ],
            ),
        ]
    if "dropout" in results:
        lines = sections["speed-dropout"] = [SECTIONS["speed-dropout"], ""] + head
        lines += [
            "### 8. Dropout masks (seconds per epoch)",
            "",
            "Each network's default pipeline with its dropout layers (`MaskBitsDropout`: the same drop "
            "probability decided from 8 random bits per unit at a rate that is a multiple of 1/256, such as "
            "0.25, from 32 at 0.4) and with Keras' own `Dropout` (a random float per unit), taking turns; "
            f"everything else the same ({results['settings']['dtype_epochs']} epochs per fit, the images and "
            "arithmetic as listed); median seconds per epoch, the first epoch of each fit left out.",
            "",
            table(
                results["dropout"],
                [
                    ("model", ("model", "{}")),
                    ("speed-up (Keras' s / MaskBitsDropout s)", ("speedup", "{:.2f}x")),
                    ("Keras' Dropout s / epoch", ("keras_s", "{:.2f}")),
                    ("MaskBitsDropout s / epoch", ("ours_s", "{:.2f}")),
                    ("dropout rates", ("rates", "{}")),
                    ("images", ("n_train", "{:,}")),
                    ("arithmetic", ("compute_dtype", "{}")),
                    ("every epoch, s", ("each", "{}")),
                ],
            ),
        ]
    if "copy" in results:
        lines = sections["speed-copy"] = [SECTIONS["speed-copy"], ""] + head
        lines += [
            "### 11. Fits on images in aligned memory against the same images copied into a tensor",
            "",
            f"Each pipeline's classifier fitted on {results['settings']['n_train']} scaled images "
            f"({results['settings']['epochs']} epoch(s) per fit), taking turns: on `PixelScaler`'s output "
            "(64-byte aligned memory, which the input pipeline hands to TensorFlow through DLPack, no copy) "
            "and on the same values 4 bytes off that boundary (`tf.convert_to_tensor` copies them, as every "
            "fit did before). Fastest fit of each; *ratio* = copied fit s / aligned fit s; *outside the "
            "epochs* is the fit's time outside its epochs (checking the data, building the network, "
            "making the input pipeline, where the copy is made).",
            "",
            table(
                results["copy"],
                [
                    ("model", ("model", "{}")),
                    ("ratio", ("ratio", "**{:.2f}x**")),
                    ("aligned: fit s", ("aligned_fit_s", "{:.2f}")),
                    ("copied: fit s", ("copied_fit_s", "{:.2f}")),
                    ("outside the epochs: aligned s", ("aligned_outside_s", "{:.2f}")),
                    ("copied s", ("copied_outside_s", "{:.2f}")),
                    ("epochs: aligned s", ("aligned_epochs_s", "{:.2f}")),
                    ("copied s", ("copied_epochs_s", "{:.2f}")),
                ],
            ),
            "",
        ]
    if "views" in results:
        lines = sections["speed-views"] = [SECTIONS["speed-views"], ""] + head
        lines += [
            "### 9. Prediction with test-time views (deep CNN)",
            "",
            f"`Pipeline.predict` of the deep CNN on {results['settings']['n_test']} test images with its "
            "default views (`test_time_flip` and `test_time_shift` \"auto\": the image moved by up to 1 "
            "pixel, 9 positions, each mirrored), with the mirror image alone (`test_time_shift=0`) and with "
            "the network alone (`test_time_flip=False, test_time_shift=0`), taking turns; best of "
            f"{results['settings']['repeats'] + 1}. Ratio: seconds against the network alone's.",
            "",
            table(
                results["views"],
                [
                    ("setting", ("views_setting", "{}")),
                    ("views", ("views", "{}")),
                    ("seconds", ("seconds", "{:.2f}")),
                    ("images / s", ("img_s", "{:,.0f}")),
                    ("ratio to one view", ("ratio", "{:.2f}")),
                ],
            ),
        ]
    if "onednn" in results:
        r = results["onednn"]
        lines = sections["speed-onednn"] = [SECTIONS["speed-onednn"], ""] + head
        lines += [
            "### 10. oneDNN's CPU kernels against Eigen's (seconds per epoch, float32)",
            "",
            "Each pipeline fitted in fresh processes with `TF_ENABLE_ONEDNN_OPTS=0` (Eigen's kernels, "
            "compiled for the oldest CPUs the wheel supports) and `=1` (oneDNN's, which pick their "
            "instructions at run time; skfmnist's default since it sets the variable before TensorFlow "
            f"starts), taking turns ({results['settings']['dtype_epochs']} epochs on "
            f"{results['settings']['dtype_train']} images per fit, `compute_dtype=\"float32\"`, `random_state=0`); "
            "median seconds per epoch, the first epoch of each fit left out; the last epoch's training loss "
            "of each side's last fit (the same network, data and seed: equal but for rounding). "
            f"TensorFlow's own default on this CPU: **{r['tf_default']}** (the CPU flags it turns oneDNN on "
            f"for: {r['flags']}); `ONEDNN_MAX_CPU_ISA`: {r['isa_cap']}.",
            "",
            table(
                r["rows"],
                [
                    ("model", ("model", "{}")),
                    ("oneDNN speed-up (Eigen s / oneDNN s)", ("speedup", "{:.2f}x")),
                    ("Eigen s / epoch", ("eigen_s", "{:.2f}")),
                    ("oneDNN s / epoch", ("onednn_s", "{:.2f}")),
                    ("last loss: Eigen", ("eigen_loss", "{:.4f}")),
                    ("oneDNN", ("onednn_loss", "{:.4f}")),
                    ("every epoch, s", ("each", "{}")),
                ],
            ),
        ]
    return {name: "\n".join(lines) + "\n" for name, lines in sections.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default="overhead,peer,limit,grid,memory,epochs,dtype,dropout,views,onednn,copy,accuracy"
    )
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--grid-train", type=int, default=10000)
    parser.add_argument(
        "--grid-epochs",
        default="dense=10,cnn=3",
        help="epochs of each grid-search fit per model (a search of 1-epoch fits measures process start-up)",
    )
    parser.add_argument(
        "--epoch-epochs",
        type=int,
        default=6,
        help="epochs of each of the 2 fits per pipeline in the input-pipeline part",
    )
    parser.add_argument(
        "--dtype-train", type=int, default=15360,
        help="training images of the float32 / bfloat16, oneDNN and (deep CNN) dropout parts; "
        "the dense network's dropout fits take --n-train",
    )
    parser.add_argument(
        "--dtype-epochs", type=int, default=3,
        help="epochs of each fit in the float32 / bfloat16, dropout and oneDNN parts",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--out", default=None, help="write the Markdown results here")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_train, args.n_test, args.repeats, args.grid_train, args.grid_epochs = 600, 200, 1, 300, "dense=1,cnn=1"
        args.epoch_epochs, args.dtype_train, args.dtype_epochs = 2, 256, 2
    parts = set(args.only.split(","))
    known = {
        "overhead", "peer", "limit", "grid", "memory", "epochs", "dtype", "dropout", "views", "onednn", "copy",
        "accuracy",
    }
    unknown = parts - known
    if unknown:
        parser.error(f"--only: unknown parts {', '.join(sorted(unknown))}")
    if "peer" in parts or "limit" in parts:
        parts.add("overhead")
    try:
        grid_epochs = {k: int(v) for k, v in (item.split("=") for item in args.grid_epochs.split(","))}
    except ValueError:
        parser.error(f"--grid-epochs: expected e.g. dense=10,cnn=3, got {args.grid_epochs!r}")
    if set(grid_epochs) != set(GRIDS):
        parser.error(f"--grid-epochs: give epochs for exactly {', '.join(GRIDS)}")
    if args.dtype_epochs < 2:
        parser.error("--dtype-epochs: at least 2 (the first epoch of each fit, which builds the training function, "
                     "is left out)")
    results = {
        "settings": {
            k: getattr(args, k)
            for k in (
                "n_train",
                "n_test",
                "epochs",
                "repeats",
                "grid_train",
                "grid_epochs",
                "epoch_epochs",
                "dtype_train",
                "dtype_epochs",
            )
        }
    }
    Xs, y, Xts, _ = _data(args.n_train, args.n_test)
    if "overhead" in parts:
        results["overhead"] = bench_overhead(Xs, y, Xts, args.epochs, args.repeats)
    if "peer" in parts:
        results["peer"] = bench_peer(Xs, y, Xts, args.epochs, args.repeats)
    if "limit" in parts:
        results["machine_gflops"] = bench_machine(512 if args.quick else 2048)
        if any(r["compute_dtype"] == "bfloat16" for r in results["overhead"]):
            results["machine_gflops_bf16"] = bench_machine_bf16(512 if args.quick else 2048)
    if "grid" in parts:
        results["grid"] = bench_grid(args.grid_train, grid_epochs)
    if "memory" in parts:
        results["memory"] = bench_memory(args.n_train, args.epochs)
    if "epochs" in parts:
        results["epochs"] = bench_epochs(Xs, y, args.epoch_epochs, rounds=1 if args.quick else 2)
    if "dtype" in parts:
        results["dtype"] = bench_dtype(args.dtype_train, args.dtype_epochs, rounds=1 if args.quick else 2)
    if "dropout" in parts:
        n_images = {name: getattr(args, size) for name, size in DROPOUT_MODELS}
        results["dropout"] = bench_dropout(n_images, args.dtype_epochs, rounds=1 if args.quick else 2)
    if "views" in parts:
        results["views"] = bench_views(Xs, y, Xts, args.repeats, n_fit=256 if args.quick else 2048)
    if "onednn" in parts:
        results["onednn"] = bench_onednn(args.dtype_train, args.dtype_epochs, rounds=1 if args.quick else 2)
    if "copy" in parts:
        results["copy"] = bench_copy(Xs, y, args.epochs, rounds=1 if args.quick else args.repeats)
    command = command_line("bench_speed.py", argv)
    if parts - {"accuracy"}:
        for name, text in render(results, command).items():
            if args.out:
                write_section(args.out, name, text)
            print(text)
    if "accuracy" in parts:
        import bench_accuracy

        results["accuracy"] = bench_accuracy.main(
            (["--quick"] if args.quick else []) + (["--out", args.out] if args.out else [])
        )
    return results


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
