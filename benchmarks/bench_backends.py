"""One preset, one precision, on each Keras backend: training and prediction images per second, test accuracy.

Run (writes the "backends" section of benchmarks/RESULTS.md)::

    python benchmarks/bench_backends.py --out benchmarks/RESULTS.md

Each backend runs in its own process (Keras picks its backend when it is
imported: ``KERAS_BACKEND``), one after the other, on the same data, with
the same preset, parameters, precision and seed.  Backends that are not
installed are named and left out (``pip install -e ".[jax]"``, ``".[torch]"``).
Training images per second count every epoch of the fit, the first (which
compiles, JAX's compilation cache starting empty) included; prediction is
timed on its second call, with the preset's test-time views.  ``--quick``
runs at a tiny size (the smoke test).
"""

# SPDX-License-Identifier: MIT

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import command_line, header, record, table, write_section  # noqa: E402

#: The backends, in the order of the table, and the package each needs.
BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def installed(backend):
    """Whether the package of ``backend`` is installed."""
    return importlib.util.find_spec(BACKENDS[backend]) is not None


def measure(model, epochs, n_train, n_test, params, random_state=0):
    """Fit ``model``'s pipeline on Fashion-MNIST in this process; return its figures (a dict)."""
    from skfmnist import fetch_fashion_mnist, make_model_pipeline
    from skfmnist._backends import current, name
    from skfmnist.utils import versions

    X, y = fetch_fashion_mnist(subset="train", return_X_y=True)
    Xt, yt = fetch_fashion_mnist(subset="test", return_X_y=True)
    X, y, Xt, yt = X[:n_train], y[:n_train], Xt[:n_test], yt[:n_test]
    pipe = make_model_pipeline(model, epochs=epochs, random_state=random_state, **params)
    start = time.perf_counter()
    pipe.fit(X, y)
    fit_s = time.perf_counter() - start
    pipe.predict(Xt[:256])  # compiles the prediction step
    start = time.perf_counter()
    accuracy = float((pipe.predict(Xt) == yt).mean())
    predict_s = time.perf_counter() - start
    device = current().accelerator()
    return {
        "backend": name(), "version": versions().get(BACKENDS[name()]), "model": model, "epochs": epochs,
        "n_train": len(y), "n_test": len(yt), "compute_dtype": pipe[-1].compute_dtype_,
        "device": "CPU" if device is None else device.name, "fit_s": fit_s, "train_ips": len(y) * epochs / fit_s,
        "predict_s": predict_s, "predict_ips": len(yt) / predict_s, "accuracy": 100 * accuracy,
    }


def run_backend(backend, argv, timeout=None):
    """Run this script's ``--worker`` under ``KERAS_BACKEND=backend``; its figures, or ``{"error": ...}``."""
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "figures.json"
        # JAX's compilation cache starts empty, so that the first epoch compiles, as the docstring says
        env = {**os.environ, "KERAS_BACKEND": backend, "SKFMNIST_JAX_CACHE": str(Path(work) / "jax-cache")}
        done = subprocess.run([sys.executable, __file__, "--worker", str(out), *argv], env=env, timeout=timeout,
                              capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            return {"backend": backend, "error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
        return json.loads(out.read_text())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated Keras backends")
    parser.add_argument("--model", default="cnn", help="the preset (default: cnn)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of the fit (default: 2)")
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--compute-dtype", default="float32",
                        help="the precision on every backend (default float32: the same arithmetic on each)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--out", default=None, help="write the backends section of this Markdown file")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.n_train, args.n_test = 1, 600, 300
    params = {"compute_dtype": args.compute_dtype}
    if args.worker:
        figures = measure(args.model, args.epochs, args.n_train, args.n_test, params)
        Path(args.worker).write_text(json.dumps(figures))
        return figures

    rows, missing = [], []
    sizes = ["--model", args.model, "--epochs", str(args.epochs), "--n-train", str(args.n_train),
             "--n-test", str(args.n_test), "--compute-dtype", args.compute_dtype]
    for backend in args.backends.split(","):
        if backend not in BACKENDS:
            parser.error(f"--backends: unknown backend {backend!r} (known: {', '.join(BACKENDS)})")
        if not installed(backend):
            missing.append(backend)
            print(f"{backend}: not installed, left out", flush=True)
            continue
        row = run_backend(backend, sizes)
        print(json.dumps(row), flush=True)
        rows.append(row)
    failed = [r for r in rows if "error" in r]
    rows = [r for r in rows if "error" not in r]
    if args.out and rows:
        settings = (f"`{args.model}` preset, {args.epochs} epoch(s) on {rows[0]['n_train']} training images, "
                    f"compute_dtype={args.compute_dtype} on every backend, random_state=0; prediction of "
                    f"{rows[0]['n_test']} test images with the preset's test-time views.")
        cols = [("backend", ("backend", "{}")), ("version", ("version", "{}")), ("device", ("device", "{}")),
                ("fit (s)", ("fit_s", "{:.1f}")), ("training images/s", ("train_ips", "{:,.0f}")),
                ("prediction images/s", ("predict_ips", "{:,.0f}")), ("test accuracy (%)", ("accuracy", "{:.2f}"))]
        lines = ["## The same preset on each Keras backend", "",
                 *header(command_line("bench_backends.py", argv), settings), table(rows, cols)]
        for r in failed:
            lines.append(f"\n{r['backend']} failed: {r['error']}")
        if missing:
            lines.append(f"\nNot installed here, so not measured: {', '.join(missing)}.")
        write_section(args.out, "backends", "\n".join(lines))
        record(args.out, {"backends": rows})
    if failed:
        raise SystemExit(f"failed on {', '.join(r['backend'] for r in failed)}: {failed[0]['error']}")
    return rows


if __name__ == "__main__":
    main()
