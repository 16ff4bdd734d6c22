"""The device check: on every Keras backend that sees a GPU, scikit-learn's estimator checks and each preset's fit.

Run (writes the "device" section of benchmarks/RESULTS.md where a GPU ran)::

    python benchmarks/device_check.py --out benchmarks/RESULTS.md

For each installed backend (TensorFlow, JAX, PyTorch), in its own process:
whether it sees a GPU; where it does, scikit-learn's estimator checks of
every estimator with its default parameters, run on that GPU, and each
preset fitted on all of Fashion-MNIST's training images with its defaults
(``compute_dtype="auto"``: bfloat16 or float16 per card), with test
accuracy, training seconds and images per second.  Where no backend sees a
GPU it says so and exits 0: nothing here assumes one.  Exits 1 where a
check or a fit failed.  ``--quick`` fits a few epochs on a subset (a dry run
of the script, not figures to quote).
"""

# SPDX-License-Identifier: MIT

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import command_line, header, table, write_section  # noqa: E402
from bench_backends import BACKENDS, installed, measure  # noqa: E402

PRESETS = ("dense", "cnn", "deep_cnn")


def probe():
    """The GPU this process' backend computes on: its name, or None."""
    from skfmnist._backends import current
    from skfmnist.utils._keras import import_keras

    import_keras()
    device = current().accelerator()
    return None if device is None else device.name


def estimator_checks():
    """scikit-learn's estimator checks of every estimator, defaults as in tests/test_common.py: counts and failures."""
    from sklearn.utils.estimator_checks import check_estimator

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.test_common import _expected_failed, _instances

    counts, failures = {}, []
    for estimator in _instances():
        for result in check_estimator(estimator, expected_failed_checks=_expected_failed(estimator), on_fail=None):
            counts[result["status"]] = counts.get(result["status"], 0) + 1
            if result["status"] == "failed":
                failures.append(f"{type(estimator).__name__}: {result['check_name']}: {result['exception']!r}")
    return counts, failures


def worker(quick):
    device = probe()
    figures = {"device": device}
    if device is None:
        return figures
    figures["checks"], figures["failures"] = estimator_checks()
    sizes = {"epochs": 2, "n_train": 5000, "n_test": 2000} if quick else {"n_train": 60000, "n_test": 10000}
    figures["fits"] = []
    for model in PRESETS:
        epochs = sizes.get("epochs")
        if epochs is None:
            from skfmnist import make_model_pipeline

            epochs = make_model_pipeline(model)[-1].epochs
        figures["fits"].append(measure(model, epochs, sizes["n_train"], sizes["n_test"], {}))
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated Keras backends")
    parser.add_argument("--quick", action="store_true", help="a few epochs on a subset")
    parser.add_argument("--out", default=None, help="write the device section of this Markdown file")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        Path(args.worker).write_text(json.dumps(worker(args.quick)))
        return 0

    results, problems = {}, []
    for backend in args.backends.split(","):
        if backend not in BACKENDS:
            parser.error(f"--backends: unknown backend {backend!r} (known: {', '.join(BACKENDS)})")
        if not installed(backend):
            print(f"{backend}: not installed", flush=True)
            continue
        with tempfile.TemporaryDirectory() as work:
            out = Path(work) / "figures.json"
            done = subprocess.run([sys.executable, __file__, "--worker", str(out), *(["--quick"] * args.quick)],
                                  env={**os.environ, "KERAS_BACKEND": backend}, capture_output=True, text=True)
            if done.returncode != 0 or not out.exists():
                problems.append(f"{backend}: {(done.stderr.strip().splitlines() or ['no output'])[-1]}")
                print(f"{backend}: failed: {problems[-1]}", flush=True)
                continue
            results[backend] = json.loads(out.read_text())
        figures = results[backend]
        if figures["device"] is None:
            print(f"{backend}: no GPU visible", flush=True)
            continue
        problems += [f"{backend}: {f}" for f in figures["failures"]]
        print(f"{backend}: {figures['device']}: estimator checks {figures['checks']}", flush=True)
        for fit in figures["fits"]:
            print(f"  {fit['model']}: {fit['accuracy']:.2f}% in {fit['fit_s']:.0f} s, {fit['train_ips']:,.0f} "
                  f"training / {fit['predict_ips']:,.0f} prediction images/s ({fit['compute_dtype']})", flush=True)
    gpus = {b: f for b, f in results.items() if f["device"] is not None}
    if not gpus:
        print(f"No GPU visible to {', '.join(results) or 'any installed backend'}: nothing to check.")
    elif args.out:
        rows = [fit for figures in gpus.values() for fit in figures["fits"]]
        checks = "; ".join(f"{b}: " + ", ".join(f"{n} {s}" for s, n in sorted(f["checks"].items()))
                           for b, f in gpus.items())
        cols = [("backend", ("backend", "{}")), ("device", ("device", "{}")), ("preset", ("model", "{}")),
                ("epochs", ("epochs", "{}")), ("precision", ("compute_dtype", "{}")), ("fit (s)", ("fit_s", "{:.1f}")),
                ("training images/s", ("train_ips", "{:,.0f}")), ("prediction images/s", ("predict_ips", "{:,.0f}")),
                ("test accuracy (%)", ("accuracy", "{:.2f}"))]
        text = "\n".join(["## Device check on a GPU", "",
                          *header(command_line("device_check.py", argv), "each preset with its defaults, "
                                  "random_state=0, on all training images."),
                          f"Estimator checks on the GPU: {checks}.", "", table(rows, cols),
                          *[f"\nProblem: {p}" for p in problems]])
        write_section(args.out, "device", text)
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
