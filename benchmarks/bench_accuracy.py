"""Accuracy benchmark: each default pipeline on the full data, over several seeds.

Run (writes the "accuracy" section of benchmarks/RESULTS.md and
benchmarks/accuracy_vs_time.png)::

    python benchmarks/bench_accuracy.py --out benchmarks/RESULTS.md

For every seed and model: ``make_model_pipeline(model, random_state=seed)``
with the estimator's defaults is fitted on the 60,000 training images and
scored once on the 10,000 test images.  Reported: test accuracy (mean and
sample standard deviation over seeds), training seconds, epochs and
trainable parameters, against the targets of the project.

The accuracy-against-time curves come from a callback that scores the test
images after every epoch.  It only reads the model (no weights, random
states or optimizer state change, so the fit is the same with or without
it), and the seconds it spends are subtracted from the training time.  The
curves are a figure of their own; no choice is made from them.

``--max-fit-time SECONDS`` gives every fit that training-time budget
(the estimators' ``max_fit_time``: the epochs that fit into it, with the
cosine schedule shortened to end with them).  Such runs draw no curve: the
test scoring after each epoch would count against the budget.

``--params JSON`` sets estimator parameters of every model instead of its
defaults (for example ``'{"augment": true}'``); the section then says which,
and its heading no longer calls the pipelines defaults.

``--quick`` runs at a tiny size (the smoke test in tests/test_benchmarks.py).
"""

# SPDX-License-Identifier: MIT

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import (  # noqa: E402
    ACCURACY_TARGETS,
    CURVE_THRESHOLDS,
    PARAMS_TARGETS,
    command_line,
    epochs_to,
    header,
    params_key,
    percent,
    record_models,
    table,
    write_section,
)

from skfmnist import (  # noqa: E402
    MODEL_NAMES,  # noqa: E402
    fetch_fashion_mnist,
    make_model_pipeline,
)

#: Target test accuracy (%), training-time limit (s) and worst seed (%, or None) of each default pipeline.
TARGETS = ACCURACY_TARGETS


def targets_for(params):
    """``{model: (accuracy, seconds, worst)}`` of the runs with these parameters (``--epochs`` included)."""
    if not params:
        return TARGETS
    found = {model: (accuracy, seconds, worst) for model, p, accuracy, seconds, worst in PARAMS_TARGETS.values()
             if p == params}
    return {name: found.get(name, (None, None, None)) for name in TARGETS}


def time_to_threshold(run):
    """``(epoch, seconds)`` at which the run's curve first reaches its model's threshold, or None."""
    epoch = epochs_to([accuracy for _, accuracy in run["curve"]], CURVE_THRESHOLDS[run["model"]])
    return None if epoch is None else (epoch, run["curve"][epoch - 1][0])


class _Recorder:
    """Where the callbacks of one fit record; shared by the fit's deep copies."""

    def __init__(self):
        self.points = []  # (cumulative training seconds, test accuracy)
        self.eval_seconds = 0.0


def _test_curve_callback(X_test, y_test, recorder):
    import keras

    import skfmnist.models  # noqa: F401  (TensorFlow configured as skfmnist configures it)

    class TestCurve(keras.callbacks.Callback):
        """Test accuracy after each epoch; its own time is kept apart."""

        def __deepcopy__(self, memo):  # the estimator copies callbacks; keep one recorder
            return TestCurve()

        def on_train_begin(self, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            t0 = time.perf_counter()
            X = X_test.reshape(len(X_test), *self.model.input_shape[1:])
            proba = self.model.predict(X, batch_size=1024, verbose=0)
            acc = float(np.mean(np.argmax(proba, axis=1) == y_test))
            t1 = time.perf_counter()
            recorder.eval_seconds += t1 - t0
            recorder.points.append((t0 - self._start - (recorder.eval_seconds - (t1 - t0)), acc))

    return TestCurve()


def run_one(name, seed, X, y, X_test, y_test, epochs=None, curve=True, max_fit_time=None, params=None):
    """Fit one pipeline (defaults, unless ``params`` sets some) and score it once on the test set."""
    params = {**(params or {}), "random_state": seed}
    if epochs is not None:
        params["epochs"] = epochs
    if max_fit_time is not None:
        params["max_fit_time"] = max_fit_time
        curve = False  # its scoring time would count against the budget
    recorder = _Recorder()
    if curve:
        X_curve = make_model_pipeline(name)[:-1].fit_transform(X_test).astype(np.float32)
        params["callbacks"] = [_test_curve_callback(X_curve, y_test, recorder)]
    pipe = make_model_pipeline(name, **params)
    start = time.perf_counter()
    pipe.fit(X, y)
    train_s = time.perf_counter() - start - recorder.eval_seconds
    accuracy = float(pipe.score(X_test, y_test))
    clf = pipe[-1]
    no_flip = no_shift = None
    views = clf.get_params()
    if views.get("augment") and "test_time_shift" in views:
        # the same fitted network (trained on shifted, and with horizontal_flip mirrored, images: its
        # test-time views are on), predicting without the shifted views (mirror average only, where it
        # has one), and without any test-time average (the network alone)
        flip, shift = clf.test_time_flip, clf.test_time_shift
        try:
            if views.get("horizontal_flip") and flip in ("auto", True) and shift != 0:
                clf.set_params(test_time_flip=True, test_time_shift=0)
                no_shift = 100 * float(pipe.score(X_test, y_test))
            clf.set_params(test_time_flip=False, test_time_shift=0)
            no_flip = 100 * float(pipe.score(X_test, y_test))
        finally:
            clf.set_params(test_time_flip=flip, test_time_shift=shift)
    return {
        "model": name, "seed": seed, "accuracy": 100 * accuracy, "accuracy_no_flip": no_flip,
        "accuracy_no_shift": no_shift, "train_s": train_s,
        "epochs": clf.n_epochs_, "params": clf.n_trainable_params_,
        "curve": [(t, 100 * a) for t, a in recorder.points], "epoch_times": list(clf.history_["time"]),
    }


def _save_runs(path, settings, runs):
    """Write the runs so far atomically, so that an interrupted benchmark can resume."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"settings": settings, "runs": runs}, indent=1))
    os.replace(tmp, path)


def _load_runs(path, settings):
    """Runs of an earlier, interrupted invocation with the same settings, by (model, seed)."""
    if not path or not Path(path).exists():
        return {}
    saved = json.loads(Path(path).read_text())
    saved["settings"].setdefault("max_fit_time", None)  # files written before the option
    if {k: v for k, v in saved["settings"].items() if k != "seeds"} != {
        k: v for k, v in settings.items() if k != "seeds"
    }:
        raise SystemExit(f"--resume: {path} was written with other settings ({saved['settings']}); not mixing them.")
    return {(r["model"], r["seed"]): r for r in saved["runs"]}


def summarize(runs, targets=TARGETS):
    """Mean / std / worst over seeds for each model, and whether its target is met."""
    rows = []
    for name in dict.fromkeys(r["model"] for r in runs):
        mine = [r for r in runs if r["model"] == name]
        acc = [r["accuracy"] for r in mine]
        secs = [r["train_s"] for r in mine]
        epochs = sorted({r["epochs"] for r in mine})  # a time budget can stop seeds at different epochs
        target_acc, limit_s, worst = targets[name]
        met = (target_acc is not None and statistics.mean(acc) >= target_acc and max(secs) <= limit_s
               and (worst is None or min(acc) >= worst))
        rows.append({
            "model": name, "n_seeds": len(mine),
            "acc": f"{percent(statistics.mean(acc), target_acc)} +- "
                   f"{statistics.stdev(acc) if len(acc) > 1 else 0.0:.2f}",
            "acc_mean": statistics.mean(acc), "acc_min": min(acc), "max_s": max(secs),
            "time": f"{statistics.mean(secs):.0f} (max {max(secs):.0f})",
            "epochs": str(epochs[0]) if len(epochs) == 1 else f"{epochs[0]}-{epochs[-1]}",
            "params": mine[0]["params"],
            "target": "none" if target_acc is None else (
                f">= {target_acc:.1f}%" + ("" if worst is None else f" (worst seed >= {worst:.1f}%)")
                + f" in <= {limit_s:.0f} s"),
            "met": "n/a" if target_acc is None else ("yes" if met else "**no**"),
        })
    return rows


def plot(runs, path, compared=(), compared_label=None, targets=TARGETS):
    """Test accuracy against cumulative training seconds, one line per run (``compared`` runs dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), constrained_layout=True)
    colors = dict(zip(TARGETS, ("tab:green", "tab:orange", "tab:blue")))
    seen, seen_compared = set(), set()
    for r in compared:
        if not r["curve"]:
            continue
        t, a = zip(*r["curve"])
        label = f"{r['model']}, {compared_label}" if r["model"] not in seen_compared else None
        seen_compared.add(r["model"])
        ax.plot(t, a, ls="--", marker="x", markersize=3, color=colors[r["model"]], alpha=0.5, label=label)
    for r in runs:
        if not r["curve"]:
            continue
        t, a = zip(*r["curve"])
        label = r["model"] if r["model"] not in seen else None
        seen.add(r["model"])
        ax.plot(t, a, marker=".", color=colors[r["model"]], alpha=0.9 if label else 0.45, label=label)
    for name in seen:
        target_acc, limit_s, _ = targets[name]
        if target_acc is None:
            continue
        ax.plot([0, limit_s], [target_acc, target_acc], ls=":", lw=0.8, color=colors[name])
        ax.axvline(limit_s, ls=":", lw=0.8, color=colors[name])
    ax.set_xlabel("cumulative training seconds (2 CPU cores)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(bottom=max(80.0, ax.get_ylim()[0]))
    ax.set_title("Fashion-MNIST: test accuracy of the network alone after each epoch\n(dotted: target and time limit)")
    ax.grid(alpha=0.3)
    ax.legend(title="model (one line per seed)")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _epoch_seconds(run):
    """Median (min-max) training seconds of the epochs of a run (its curve, else its history)."""
    times = [t for t, _ in run["curve"]] or run.get("epoch_times", [])
    if not times:
        return "n/a"
    per_epoch = np.diff([0.0] + times)
    return f"{np.median(per_epoch):.1f} ({per_epoch.min():.1f}-{per_epoch.max():.1f})"


def _seconds_text(runs, plot_path):
    """What the training seconds count, and where the curves are (runs with a budget have none)."""
    if not any(r["curve"] for r in runs):
        return (
            "Training seconds are the pipeline's `fit` wall time. No per-epoch test curve: with a "
            "training-time budget (`max_fit_time`) its test scoring would count against the budget; "
            "the seconds per epoch come from the fit's own history."
        )
    return "Training seconds are the pipeline's `fit` wall time minus the per-epoch test scoring of the curve" + (
        f" (shown in `{plot_path}`)." if plot_path else "."
    )


def _threshold_text(run):
    reached = time_to_threshold(run)
    if not run["curve"]:
        return "n/a"
    return "not reached" if reached is None else f"{reached[0]} ({reached[1]:.0f} s)"


def render(runs, command, settings, plot_path, params=None, targets=TARGETS, compared=(), compared_label=None):
    runs = [
        {**r, "epoch_s": _epoch_seconds(r), "to_threshold": _threshold_text(r),
         "no_flip": "n/a" if r.get("accuracy_no_flip") is None else f"{r['accuracy_no_flip']:.2f}",
         "no_shift": "n/a" if r.get("accuracy_no_shift") is None else f"{r['accuracy_no_shift']:.2f}"}
        for r in runs
    ]
    names = [m for m in MODEL_NAMES if any(r["model"] == m for r in runs)]
    which = "" if len(names) == len(MODEL_NAMES) else " " + ", ".join(names)  # a run of some models names them
    pipelines = "pipeline" if len(names) == 1 else "pipelines"
    if params:
        set_text = ", ".join(f"{k}={v!r}" for k, v in params.items())
        lines = [f"## Accuracy of the{which} {pipelines} with {set_text}", ""]
        what = f"Each pipeline, with its defaults except {set_text}, is fitted"
    else:
        lines = [f"## Accuracy of the default{which} {pipelines}", ""]
        what = "Each default pipeline is fitted"
    lines += header(command, settings)
    lines += [
        what + " on the training images and scored once on the test "
        "images; mean +- sample standard deviation over the seeds. "
        + _seconds_text(runs, plot_path), "",
        table(summarize(runs, targets), [
            ("model", ("model", "{}")), ("target", ("target", "{}")), ("met", ("met", "{}")),
            ("test accuracy %", ("acc", "{}")), ("worst seed %", ("acc_min", "{:.2f}")),
            ("training s", ("time", "{}")), ("epochs", ("epochs", "{}")),
            ("trainable params", ("params", "{:,}")), ("seeds", ("n_seeds", "{}")),
        ]),
        "Every run:", "",
        table(runs, [
            ("model", ("model", "{}")), ("random_state", ("seed", "{}")),
            ("test accuracy %", ("accuracy", "{:.2f}")), ("without test-time shifts %", ("no_shift", "{}")),
            ("network alone %", ("no_flip", "{}")),
            ("training s", ("train_s", "{:.0f}")),
            ("epochs", ("epochs", "{}")), ("seconds per epoch: median (min-max)", ("epoch_s", "{}")),
            ("epochs (s) to the threshold", ("to_threshold", "{}")),
        ]),
        "\"Without test-time shifts\": the same fitted network scored with the mirror-image average "
        "but without the shifted views (`test_time_shift=0`); \"network alone\": scored without any "
        "test-time average (`test_time_flip=False, test_time_shift=0`); n/a where the model does not "
        "average." + (" The per-epoch curves score the network alone." if plot_path else ""), "",
        "Time to accuracy, as airbench measures it: the first epoch, and the training seconds to its end, at which "
        "the network alone scores the threshold on the test images ("
        + ", ".join(f"{m} {t}%" for m, t in CURVE_THRESHOLDS.items()) + ").", "",
        "Every epoch of a run does the same work (the first also builds the training function), "
        "so the spread of the seconds per epoch shows how much the wall time varies on this machine.", "",
    ]
    if compared:
        lines += [
            f"The figure also shows, dashed, the curves of {compared_label} ({len(compared)} runs, from the "
            "`--compare` file); their time to accuracy:", "",
            table([{**r, "to_threshold": _threshold_text(r)} for r in compared], [
                ("model", ("model", "{}")), ("random_state", ("seed", "{}")),
                ("test accuracy %", ("accuracy", "{:.2f}")), ("training s", ("train_s", "{:.0f}")),
                ("epochs", ("epochs", "{}")), ("epochs (s) to the threshold", ("to_threshold", "{}")),
            ]),
        ]
    return "\n".join(lines) + "\n"


def _parse_params(parser, text):
    """The ``--params`` JSON object, checked against every estimator's parameters by name."""
    if text is None:
        return {}
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        parser.error(f"--params is not valid JSON ({exc}): {text!r}")
    if not isinstance(params, dict):
        parser.error(f"--params must be a JSON object of parameter names and values, got {text!r}")
    reserved = {"random_state", "callbacks"} & set(params)
    if reserved:
        parser.error(f"--params cannot set {', '.join(sorted(reserved))}: the benchmark sets it for every run")
    if "epochs" in params or "max_fit_time" in params:
        parser.error("--params: use --epochs and --max-fit-time for those")
    return params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODEL_NAMES))
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated random_state values")
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=None, help="override every model's epochs (default: its own)")
    parser.add_argument(
        "--max-fit-time", type=float, default=None,
        help="training-time budget of every fit, seconds (the estimators' max_fit_time; default: none)",
    )
    parser.add_argument(
        "--params", default=None,
        help='JSON object of estimator parameters for every model instead of its defaults, e.g. \'{"augment": true}\'',
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--section", default="accuracy", help="the section of --out to write (default: accuracy)")
    parser.add_argument("--compare", default=None, metavar="JSON",
                        help="runs written by an earlier --json (another recipe) to draw dashed in the same figure")
    parser.add_argument("--compare-label", default="the earlier recipe", help="what the --compare runs are")
    parser.add_argument("--out", default=None, help="write the 'accuracy' section of this Markdown file")
    parser.add_argument(
        "--plot", default=None, help="accuracy-vs-time PNG (default: next to --out; none without --out)"
    )
    parser.add_argument("--json", default=None, help="also write every run (with its curve) as JSON, after each run")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the runs already in --json (same settings) and run only the missing ones",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.n_train, args.n_test, args.epochs, args.seeds = 600, 200, 1, "0,1"
    models = args.models.split(",")
    unknown = set(models) - set(MODEL_NAMES)
    if unknown:
        parser.error(f"unknown models: {', '.join(sorted(unknown))}")
    seeds = [int(s) for s in args.seeds.split(",")]
    params = _parse_params(parser, args.params)
    for name in models:
        try:
            make_model_pipeline(name, **params)  # an unknown name fails here, before any training
        except TypeError as exc:
            parser.error(f"--params does not fit the {name} pipeline: {exc}")

    X, y = fetch_fashion_mnist(subset="train", return_X_y=True)
    X_test, y_test = fetch_fashion_mnist(subset="test", return_X_y=True)
    X, y, X_test, y_test = X[: args.n_train], y[: args.n_train], X_test[: args.n_test], y_test[: args.n_test]

    settings = {
        "n_train": len(y), "n_test": len(y_test), "seeds": seeds, "epochs": args.epochs or "defaults",
        "max_fit_time": args.max_fit_time,
    }
    if params:
        settings["params"] = params  # absent otherwise, as in files written before the option
    done = _load_runs(args.json, settings) if args.resume else {}
    runs = []
    for seed in seeds:
        for name in models:
            run = done.get((name, seed))
            if run is None:
                run = run_one(
                    name, seed, X, y, X_test, y_test, epochs=args.epochs, max_fit_time=args.max_fit_time, params=params
                )
            print(
                f"{name} random_state={seed}: {run['accuracy']:.2f}% in {run['train_s']:.0f} s "
                f"({run['epochs']} epochs)",
                flush=True,
            )
            runs.append(run)
            if args.json:
                _save_runs(
                    args.json, settings, list(done.values()) + [r for r in runs if (r["model"], r["seed"]) not in done]
                )

    settings = json.dumps(settings)
    command = command_line("bench_accuracy.py", argv)
    # no file is written unless asked for: without --out or --plot the
    # results only go to standard output
    plot_path = Path(args.plot) if args.plot else (Path(args.out).parent / "accuracy_vs_time.png" if args.out else None)
    if not any(r["curve"] for r in runs):
        plot_path = None  # budgeted runs: nothing to draw
    compared = json.loads(Path(args.compare).read_text())["runs"] if args.compare else []
    changed = {**params, **({"epochs": args.epochs} if args.epochs else {})}
    targets = targets_for(changed)
    if plot_path is not None:
        plot(runs, plot_path, compared, args.compare_label, targets)
    text = render(runs, command, settings, plot_path.name if plot_path is not None else None, changed, targets,
                  compared, args.compare_label)
    if args.out:
        write_section(args.out, args.section, text)
        if args.max_fit_time is None:  # the figures of the targets: the defaults', or a parameter set's
            key = params_key(changed) if changed else "accuracy"
            figures = [{**{k: row[k] for k in ("model", "acc_mean", "acc_min", "max_s", "n_seeds")},
                        "section": args.section} for row in summarize(runs, targets)]
            record_models(args.out, key, figures)  # a run of some models keeps the others' figures
    print(text)
    return runs


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
