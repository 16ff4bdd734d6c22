"""Speed of skfmnist, side by side in one run: the wrapper against plain Keras, training and prediction against
skorch at the same precision, the custom parts against stock Keras, and grid search on two workers.

Run every part (writes their sections of benchmarks/RESULTS.md)::

    python benchmarks/bench_speed.py --out benchmarks/RESULTS.md

Some parts only: ``--only overhead,peer,parts,grid``.  ``--quick`` runs at a
tiny size (the smoke test in tests/test_benchmarks.py).  The machine is
noisy: each timing is the best of ``--repeats`` runs, the two sides of a
comparison taking turns.  Everything here drives the estimators through their
public parameters and Keras through its public API.
"""

# SPDX-License-Identifier: MIT

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import command_line, header, record, table, write_section  # noqa: E402

import skfmnist.models  # noqa: E402,F401  (TensorFlow configured as skfmnist configures it)
from skfmnist import KerasClassifier, fetch_fashion_mnist, make_model_pipeline  # noqa: E402

MODELS = ("dense", "cnn", "deep_cnn")
PARTS = ("overhead", "peer", "parts", "grid")


def _best(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _scaled_data(n_train, n_test):
    X, y = fetch_fashion_mnist(subset="train", return_X_y=True)
    Xt, yt = fetch_fashion_mnist(subset="test", return_X_y=True)
    return X[:n_train] / np.float32(255), y[:n_train], Xt[:n_test] / np.float32(255), yt[:n_test]


def _pipeline(name, epochs, **params):
    """The default pipeline on images scaled already, predicting with one view per image (as plain Keras)."""
    pipe = make_model_pipeline(name, epochs=epochs, random_state=0, max_value=1.0, **params)
    if "test_time_shift" in pipe[-1].get_params():
        pipe[-1].set_params(test_time_flip=False, test_time_shift=0)
    return pipe


def _plain_keras(fitted):
    """A fresh copy of a fitted classifier's network, compiled as skfmnist compiled it, for ``model.fit``."""
    import keras

    model = fitted.model_
    copy = keras.models.clone_model(model)
    optimizer = type(model.optimizer).from_config(model.optimizer.get_config())
    # the batches per call the fitted network ran (the estimator's parameter, capped where the backend runs one)
    copy.compile(optimizer=optimizer, loss=model.loss, metrics=["accuracy"],
                 steps_per_execution=model.steps_per_execution)
    return copy


def bench_overhead(X, y, X_test, epochs, repeats):
    """``Pipeline.fit`` / ``predict`` against Keras' ``model.fit`` / ``predict`` on the same network and dtype.

    The plain-Keras side clones the network skfmnist built (layers, dtype
    policy, optimizer and loss configuration), compiles it, and trains it
    with Keras' own input pipeline for NumPy arrays; building and compiling
    are timed on both sides.
    """
    rows = []
    for name in MODELS:
        pipe = _pipeline(name, epochs)
        clf = pipe[-1]
        shape = (784,) if name == "dense" else (28, 28, 1)
        Xk, Xtk = X.reshape(-1, *shape), X_test.reshape(-1, *shape)
        ours, plain, model = [], [], None
        for _ in range(repeats):  # taking turns, so that drift hits both sides alike
            start = time.perf_counter()
            pipe.fit(X, y)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            model = _plain_keras(clf)
            model.fit(Xk, y, epochs=epochs, batch_size=clf.batch_size, verbose=0, shuffle=True)
            plain.append(time.perf_counter() - start)
        predict = _best(lambda: pipe.predict(X_test), repeats + 1)
        plain_predict = _best(lambda: model.predict(Xtk, batch_size=1024, verbose=0).argmax(1), repeats + 1)
        rows.append({
            "model": name, "compute_dtype": clf.compute_dtype_, "fit_s": min(ours), "keras_fit_s": min(plain),
            "fit_ratio": min(ours) / min(plain), "predict_s": predict, "keras_predict_s": plain_predict,
            "predict_ratio": predict / plain_predict, "train_img_s": len(y) * epochs / min(ours),
            "predict_img_s": len(X_test) / predict,
        })
    return rows


def _torch_modules(name):
    """The preset's default network in PyTorch (the same layers and sizes)."""
    from torch import nn

    clf = make_model_pipeline(name)[-1]
    if name == "dense":
        activation = {"relu": nn.ReLU, "gelu": nn.GELU}[clf.activation]  # both exact, as Keras' defaults
        layers, n_in = [nn.Flatten()], 784
        for units in clf.hidden_layer_sizes:
            normalized = [nn.BatchNorm1d(units)] if clf.batch_norm else []
            layers += [nn.Linear(n_in, units, bias=not clf.batch_norm), *normalized, activation(),
                       nn.Dropout(clf.dropout)]
            n_in = units
        return nn.Sequential(*layers, nn.Linear(n_in, 10)), (784,)
    layers, c_in, side = [], 1, 28
    for c_out in clf.filters:
        layers += [nn.Conv2d(c_in, c_out, clf.kernel_size, padding="same", bias=False), nn.BatchNorm2d(c_out),
                   nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True)]
        c_in, side = c_out, -(-side // 2)
    layers += [nn.Flatten(), nn.Linear(c_in * side * side, clf.dense_units, bias=False),
               nn.BatchNorm1d(clf.dense_units), nn.ReLU(), nn.Dropout(clf.dropout), nn.Linear(clf.dense_units, 10)]
    return nn.Sequential(*layers), (1, 28, 28)


def _skorch(name, epochs, bfloat16):
    """skorch's classifier of the same network; with ``bfloat16`` it computes under ``torch.autocast``."""
    import torch
    from skorch import NeuralNetClassifier

    class AutocastClassifier(NeuralNetClassifier):
        """Forward passes (training and prediction) in bfloat16 mixed precision, weights in float32."""

        def infer(self, x, **fit_params):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return super().infer(x, **fit_params).float()

    module, shape = _torch_modules(name)
    clf = make_model_pipeline(name)[-1]
    cls = AutocastClassifier if bfloat16 else NeuralNetClassifier
    torch.manual_seed(0)
    return cls(module, max_epochs=epochs, batch_size=clf.batch_size, optimizer=torch.optim.Adam,
               lr=clf.learning_rate, criterion=torch.nn.CrossEntropyLoss, train_split=None, verbose=0,
               iterator_train__shuffle=True), shape


def bench_peer(X, y, X_test, epochs, repeats):
    """Training and prediction of the dense network and the CNN against skorch (PyTorch), taking turns.

    The headline compares the same precision on both sides: where skfmnist
    trains in bfloat16 (``compute_dtype="auto"`` on a CPU with bfloat16
    hardware), skorch runs under ``torch.autocast("cpu", dtype=torch.bfloat16)``;
    float32 against float32 otherwise.  Where they differ, skorch in float32
    is reported as well.
    """
    try:
        import skorch  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return None
    rows = []
    for name in ("dense", "cnn"):
        pipe = _pipeline(name, epochs)
        pipe.fit(X[:256], y[:256])  # to learn the precision "auto" picks here
        bf16 = pipe[-1].compute_dtype_ == "bfloat16"
        nets = {"same": _skorch(name, epochs, bf16)} | ({"float32": _skorch(name, epochs, False)} if bf16 else {})
        times = {key: [] for key in ("ours", *nets)}
        for _ in range(repeats):
            start = time.perf_counter()
            pipe.fit(X, y)
            times["ours"].append(time.perf_counter() - start)
            for key, (net, shape) in nets.items():
                start = time.perf_counter()
                net.fit(X.reshape(-1, *shape), y.astype(np.int64))
                times[key].append(time.perf_counter() - start)
        predict = {"ours": _best(lambda: pipe.predict(X_test), repeats + 1)}
        for key, (net, shape) in nets.items():
            predict[key] = _best(lambda net=net, shape=shape: net.predict(X_test.reshape(-1, *shape)), repeats + 1)
        row = {"model": name, "precision": "bfloat16" if bf16 else "float32"}
        for key in nets:
            row[f"train_{key}"] = min(times[key]) / min(times["ours"])
            row[f"predict_{key}"] = predict[key] / predict["ours"]
        rows.append(row)
    return rows


def _stock_builder(template):
    """A builder of ``template``'s network with Keras' own layer wherever it has one of skfmnist's."""
    import keras

    from skfmnist.models import FusedBatchNormalization

    def clone(layer):
        cls = keras.layers.BatchNormalization if isinstance(layer, FusedBatchNormalization) else type(layer)
        return cls.from_config(layer.get_config())

    def build(meta):
        return keras.models.clone_model(template, clone_function=clone)

    return build


def bench_parts(X, y, epochs, repeats):
    """Each default pipeline's full-data fit with skfmnist's custom parts against the same with stock Keras.

    Kept custom parts: :class:`~skfmnist.models.FusedBatchNormalization` (in
    place of ``keras.layers.BatchNormalization``) and the input pipeline (in
    place of Keras' own for NumPy arrays; the ``overhead`` part's fit ratio,
    which also counts everything else the wrapper does).  The stock side is a
    :class:`~skfmnist.KerasClassifier` whose builder clones the preset's
    network with Keras' layer, with the preset's other parameters.
    """
    rows = []
    for name in ("dense", "cnn", "deep_cnn"):  # every preset with batch normalization
        pipe = _pipeline(name, epochs)
        preset = pipe[-1]
        preset.fit(X[:256], y[:256])  # a network to clone
        common = {k: v for k, v in preset.get_params().items() if k in KerasClassifier().get_params()}
        stock = KerasClassifier(_stock_builder(preset.model_), **common)
        X_in = X if name == "dense" else X.reshape(-1, 28, 28, 1)  # as the preset's network takes them
        ours, theirs = [], []
        for _ in range(repeats):
            ours.append(_best(lambda: preset.fit(X_in, y), 1))
            theirs.append(_best(lambda: stock.fit(X_in, y), 1))
        rows.append({"model": name, "part": "FusedBatchNormalization", "stock": "keras.layers.BatchNormalization",
                     "fit_s": min(ours), "stock_fit_s": min(theirs), "ratio": min(theirs) / min(ours)})
    return rows


#: The grids of the grid-search part: 4 candidates each (x 3 folds).
GRIDS = {
    "dense": {"clf__hidden_layer_sizes": [(256,), (512, 256)], "clf__dropout": [0.3, 0.5]},
    "cnn": {"clf__filters": [(16, 32), (32, 64)], "clf__dropout": [0.3, 0.5]},
}


def _search(name, epochs, X, y, n_jobs, backend):
    from joblib import parallel_config
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    search = GridSearchCV(make_model_pipeline(name, epochs=epochs, random_state=0), GRIDS[name],
                          cv=StratifiedKFold(3, shuffle=True, random_state=0), n_jobs=n_jobs, refit=False)
    start = time.perf_counter()
    with parallel_config(backend=backend):
        search.fit(X, y)
    return {"seconds": time.perf_counter() - start, "scores": search.cv_results_["mean_test_score"].tolist()}


_ONE_THREAD_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
import bench_speed
X, y = bench_speed._grid_data(int(sys.argv[4]))
print(json.dumps(bench_speed._search(sys.argv[2], int(sys.argv[3]), X, y, 2, "threading")))
"""


def _grid_data(n_train):
    X, y = fetch_fashion_mnist(subset="train", return_X_y=True)
    return X[:n_train], y[:n_train]


def bench_grid(n_train, epochs):
    """GridSearchCV of 4 candidates x 3 folds, serial against two fits at a time.

    Two fits at a time: on joblib's process workers, first on fresh ones (as a
    user's first search: each imports TensorFlow) and again on the same ones
    (``warm``); in threads of this process; and in threads of a process
    started with one TensorFlow thread per operation and two operations at
    once (``SKFMNIST_TF_THREADS=1 SKFMNIST_TF_INTER_THREADS=2``), timed without
    that process' start.
    """
    from joblib.externals.loky import get_reusable_executor

    X, y = _grid_data(n_train)
    rows = []
    for name in GRIDS:
        serial = _search(name, epochs[name], X, y, 1, "loky")
        threads = _search(name, epochs[name], X, y, 2, "threading")
        get_reusable_executor().shutdown(wait=True)  # the first search starts its own workers
        fresh = _search(name, epochs[name], X, y, 2, "loky")
        warm = _search(name, epochs[name], X, y, 2, "loky")
        env = {**os.environ, "SKFMNIST_TF_THREADS": "1", "SKFMNIST_TF_INTER_THREADS": "2"}
        child = subprocess.run([sys.executable, "-c", _ONE_THREAD_CHILD, str(Path(__file__).resolve().parent), name,
                                str(epochs[name]), str(n_train)], env=env, capture_output=True, text=True, check=True)
        one_thread = json.loads(child.stdout.splitlines()[-1])
        rows.append({
            "model": name, "epochs": epochs[name], "serial_s": serial["seconds"],
            "fresh": serial["seconds"] / fresh["seconds"], "warm": serial["seconds"] / warm["seconds"],
            "threads": serial["seconds"] / threads["seconds"], "threads_1t": serial["seconds"] / one_thread["seconds"],
            # threads share this process' TensorFlow threads: the serial scores exactly; a process worker has
            # its share of the cores, and another thread count can round a kernel's sums differently
            "threads_same": serial["scores"] == threads["scores"],
            "workers_same": serial["scores"] == fresh["scores"] == warm["scores"],
        })
    get_reusable_executor().shutdown(wait=True)
    return rows


def render(results, command):
    """The Markdown sections of the parts that ran, by section name."""
    head = header(command, json.dumps(results["settings"]))
    sections = {}
    if "overhead" in results:
        sections["speed-overhead"] = "\n".join([
            "## Wrapper overhead against plain Keras", "", *head,
            "`Pipeline.fit` / `Pipeline.predict` (validation, scaling, building and compiling, training on "
            "skfmnist's input pipeline) against Keras' `model.fit` / `model.predict` on a clone of the same "
            "network with the same dtype policy, optimizer and loss; ratios below 1 mean skfmnist is faster "
            "(targets: fit <= 1.05, predict <= 1.10).", "",
            table(results["overhead"], [
                ("model", ("model", "{}")), ("arithmetic", ("compute_dtype", "{}")), ("fit s", ("fit_s", "{:.1f}")),
                ("plain Keras fit s", ("keras_fit_s", "{:.1f}")), ("fit ratio", ("fit_ratio", "{:.2f}")),
                ("predict s", ("predict_s", "{:.2f}")), ("plain Keras predict s", ("keras_predict_s", "{:.2f}")),
                ("predict ratio", ("predict_ratio", "{:.2f}")), ("training img/s", ("train_img_s", "{:,.0f}")),
            ]),
        ])
    if results.get("peer"):
        sections["speed-peer"] = "\n".join([
            "## Training and prediction against skorch", "", *head,
            "How many times as fast as skorch (PyTorch) skfmnist trains and predicts the same network, taking "
            "turns; \"same precision\" runs skorch under `torch.autocast(\"cpu\", dtype=torch.bfloat16)` where "
            "skfmnist trains in bfloat16 (target: >= 1.2x at the same precision).", "",
            table(results["peer"], [
                ("model", ("model", "{}")), ("precision", ("precision", "{}")),
                ("training, same precision", ("train_same", "{:.2f}x")),
                ("prediction, same precision", ("predict_same", "{:.2f}x")),
                ("training, skorch in float32", ("train_float32", "{:.2f}x")),
                ("prediction, skorch in float32", ("predict_float32", "{:.2f}x")),
            ]),
        ])
    if "parts" in results:
        sections["speed-parts"] = "\n".join([
            "## Custom parts against stock Keras", "", *head,
            "Each default pipeline's fit on the full training images with skfmnist's part and with the stock "
            "Keras part in its place; a custom part stays only where the stock one makes the fit at least 10% "
            "longer (ratio >= 1.10). The input pipeline's evidence is the overhead part's fit ratio.", "",
            table(results["parts"], [
                ("model", ("model", "{}")), ("custom part", ("part", "`{}`")), ("stock part", ("stock", "`{}`")),
                ("fit s", ("fit_s", "{:.1f}")), ("stock fit s", ("stock_fit_s", "{:.1f}")),
                ("stock / custom", ("ratio", "{:.2f}")),
            ]),
        ])
    if "grid" in results:
        sections["speed-grid"] = "\n".join([
            "## Grid search on two workers", "", *head,
            "Speed-up of `GridSearchCV(n_jobs=2)` over `n_jobs=1` (4 candidates x 3 folds) on 2 cores: fresh "
            "process workers (a first search), the same workers again (warm), threads of one process, and threads "
            "with one TensorFlow thread per operation. On 2 cores a fit that already uses both cores well bounds "
            "what two fits at a time can gain. Fits in threads share the process' TensorFlow threads and give the "
            "serial scores exactly; a process worker computes with its share of the cores (one thread here), which "
            "can round a kernel's sums differently.", "",
            table(results["grid"], [
                ("model", ("model", "{}")), ("epochs", ("epochs", "{}")), ("serial s", ("serial_s", "{:.0f}")),
                ("fresh workers", ("fresh", "{:.2f}x")), ("warm workers", ("warm", "{:.2f}x")),
                ("threads", ("threads", "{:.2f}x")), ("threads, 1 thread per op", ("threads_1t", "{:.2f}x")),
                ("threads: serial scores", ("threads_same", "{}")),
                ("workers: serial scores", ("workers_same", "{}")),
            ]),
        ])
    return sections


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts of {', '.join(PARTS)}")
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=3, help="epochs of each fit of the overhead, peer and parts")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--grid-train", type=int, default=10000)
    parser.add_argument("--grid-epochs", default="dense=10,cnn=3", help="epochs of each grid-search fit, per model")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--out", default=None, help="write the sections of this Markdown file")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_train, args.n_test, args.epochs, args.repeats = 600, 200, 1, 1
        args.grid_train, args.grid_epochs = 300, "dense=1,cnn=1"
    parts = args.only.split(",")
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"--only: unknown parts {', '.join(sorted(unknown))}")
    try:
        grid_epochs = {k: int(v) for k, v in (item.split("=") for item in args.grid_epochs.split(","))}
    except ValueError:
        parser.error(f"--grid-epochs: expected e.g. dense=10,cnn=3, got {args.grid_epochs!r}")
    if set(grid_epochs) != set(GRIDS):
        parser.error(f"--grid-epochs: give epochs for exactly {', '.join(GRIDS)}")
    settings = {k: getattr(args, k) for k in ("n_train", "n_test", "epochs", "repeats", "grid_train", "grid_epochs")}
    results = {"settings": settings}
    X, y, X_test, _ = _scaled_data(args.n_train, args.n_test)
    if "overhead" in parts:
        results["overhead"] = bench_overhead(X, y, X_test, args.epochs, args.repeats)
    if "peer" in parts:
        results["peer"] = bench_peer(X, y, X_test, args.epochs, args.repeats)
    if "parts" in parts:
        results["parts"] = bench_parts(X, y, args.epochs, args.repeats)
    if "grid" in parts:
        results["grid"] = bench_grid(args.grid_train, grid_epochs)
    command = command_line("bench_speed.py", argv)
    for name, text in render(results, command).items():
        if args.out:
            write_section(args.out, name, text)
        print(text)
    if args.out:
        record(args.out, {k: v for k, v in results.items() if k != "settings"})
    return results


if __name__ == "__main__":
    main()
