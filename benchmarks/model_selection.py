"""Model selection for the default pipelines, on the training data only.

Each configuration is ``make_model_pipeline(model, **params)`` fitted on
54,000 training images with a stratified, seeded 6,000-image validation split
(the estimator's own ``early_stopping`` split, with a patience larger than the
epochs, so that every epoch runs, and a callback that keeps the last epoch's
weights where the estimator would restore the best epoch's); the test set is
never read.  One JSON line per configuration: its validation accuracy
after every epoch, the wall time (including the per-epoch validation) and
the seconds per epoch.

Run the configurations that chose the current defaults (about 100 minutes on 2
cores), or your own::

    python benchmarks/model_selection.py > selection.jsonl
    python benchmarks/model_selection.py '{"model": "cnn", "epochs": 10, "augment": true}'

(``"keras_dropout": true`` in a configuration builds the dense network or
the deep CNN with Keras' own dropout layer instead of ``MaskBitsDropout``.)

and turn such lines into the "selection" section of RESULTS.md::

    python benchmarks/model_selection.py --render selection.jsonl --out benchmarks/RESULTS.md
"""

# SPDX-License-Identifier: MIT

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import dropout_layers, table, use_keras_dropout, write_section  # noqa: E402

#: The configurations compared, every deciding parameter spelled out so that
#: they mean the same whatever the defaults are now.
CONFIGS = [
    {"model": "dense", "batch_size": 256, "learning_rate": 0.001, "epochs": 40},
    {"model": "dense", "hidden_layer_sizes": [512, 256], "dropout": 0.3, "batch_size": 256, "learning_rate": 0.001,
     "lr_schedule": "cosine", "epochs": 40, "compute_dtype": "float32"},
    {"model": "dense", "hidden_layer_sizes": [512, 256], "dropout": 0.25, "batch_size": 256, "learning_rate": 0.001,
     "lr_schedule": "cosine", "epochs": 40, "compute_dtype": "float32"},
    {"model": "cnn", "batch_norm": False, "augment": False, "batch_size": 128, "learning_rate": 0.001, "epochs": 25},
    {"model": "cnn", "batch_norm": True, "augment": False, "batch_size": 128, "learning_rate": 0.001, "epochs": 24},
    {"model": "cnn", "batch_norm": True, "augment": True, "batch_size": 128, "learning_rate": 0.001, "epochs": 24},
    {"model": "cnn", "batch_norm": True, "augment": True, "batch_size": 256, "learning_rate": 0.002, "epochs": 24},
    {"model": "deep_cnn", "augment": True, "batch_size": 128, "learning_rate": 0.001, "epochs": 24},
    {"model": "deep_cnn", "augment": True, "batch_size": 256, "learning_rate": 0.002, "epochs": 24},
    {"model": "deep_cnn", "augment": True, "batch_size": 256, "learning_rate": 0.002, "epochs": 24,
     "compute_dtype": "bfloat16", "label_smoothing": 0.0},
    {"model": "deep_cnn", "augment": True, "batch_size": 256, "learning_rate": 0.002, "epochs": 26,
     "compute_dtype": "bfloat16", "label_smoothing": 0.1},
    {"model": "deep_cnn", "augment": True, "batch_size": 256, "learning_rate": 0.002, "epochs": 26,
     "compute_dtype": "auto", "label_smoothing": 0.1, "optimizer": "adamw", "weight_decay": 0.05},
]


def keep_last_weights():
    """A Keras callback that leaves the network with its last epoch's weights.

    The estimators' ``early_stopping`` restores the weights of the epoch with
    the lowest validation loss when training ends (Keras' ``EarlyStopping``
    does so whether or not it stopped the fit), which need not be the last
    epoch; model selection compares the networks that the full schedule
    ends with.  Placed after the early-stopping callback (user callbacks
    are), its ``on_train_end`` puts the last weights back.
    """
    from skfmnist.utils._tf import import_keras

    keras = import_keras()

    class KeepLastWeights(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.last_weights = self.model.get_weights()

        def on_train_end(self, logs=None):
            self.model.set_weights(self.last_weights)

    return KeepLastWeights()


def run(config, seed=0):
    """Fit one configuration on the 54,000 / 6,000 split; return its JSON record."""
    from skfmnist import fetch_fashion_mnist, make_model_pipeline
    from skfmnist.utils import versions

    params = dict(config)
    name = params.pop("model")
    keras_dropout = params.pop("keras_dropout", False)
    pipe = make_model_pipeline(
        name, random_state=seed, early_stopping=True, validation_fraction=0.1, n_iter_no_change=10_000,
        callbacks=[keep_last_weights()], **params,
    )
    if keras_dropout:
        try:
            use_keras_dropout(pipe)
        except ValueError as exc:
            raise ValueError(f'"keras_dropout" does not apply to {name!r}: {exc}') from None
    X, y = fetch_fashion_mnist(subset="train", return_X_y=True)
    start = time.perf_counter()
    pipe.fit(X, y)
    wall = time.perf_counter() - start
    history = pipe[-1].history_
    curve = [round(100 * v, 2) for v in history["val_accuracy"]]
    record = {
        "model": name, **params, "seed": seed, "wall_s": round(wall),
        "epoch_s": round(history["time"][-1] / len(curve), 1),
        "final_val": curve[-1], "best_val": max(curve), "val_curve": curve, "params": pipe[-1].n_trainable_params_,
        "compute_dtype_": pipe[-1].compute_dtype_, "cpu": versions()["cpu"],
        **_dropout_layer(pipe[-1].model_),
    }
    if hasattr(pipe[-1], "test_time_flip"):
        record["final_val_flip"] = round(100 * _validation_score_with_flip(pipe, X, y, curve[-1]), 2)
    return record


def _dropout_layer(model):
    """``{"dropout_layer_": class name}`` of the network's dropout layers; empty without any."""
    names = sorted({type(layer).__name__ for layer in dropout_layers(model)})
    return {"dropout_layer_": ", ".join(names)} if names else {}


def _validation_score_with_flip(pipe, X, y, final_val):
    """Validation accuracy of the fitted pipeline with ``test_time_flip=True`` (and no shifts).

    The validation images are the estimator's own early-stopping split, drawn
    again by its own code (on sample indices); the same network scored without
    the flip must reproduce the last epoch's validation accuracy, which checks that.
    """
    import numpy as np

    clf, flip = pipe[-1], pipe[-1].test_time_flip
    y_enc = clf._label_encoder.transform(y).astype(np.int32)
    *_, (val, _) = clf._validation_split(np.arange(len(y)), y_enc, None, clf._fit_seed())
    shift = clf.test_time_shift
    try:
        clf.set_params(test_time_flip=False, test_time_shift=0)
        plain = 100 * pipe.score(X[val], y[val])
        if abs(plain - final_val) > 0.01:
            raise RuntimeError(f"validation split not reproduced: {plain:.2f}% against {final_val:.2f}% in fit")
        clf.set_params(test_time_flip=True)  # the mirror average alone, no shifted views
        return pipe.score(X[val], y[val])
    finally:
        clf.set_params(test_time_flip=flip, test_time_shift=shift)


def render(records):
    """The "selection" section of RESULTS.md from JSON records."""
    keys = (
        "batch_norm", "augment", "batch_size", "learning_rate", "lr_schedule", "epochs",
        "compute_dtype", "label_smoothing", "filters", "convs_per_block", "optimizer", "weight_decay",
        "max_fit_time", "dropout",
    )
    rows = [
        # records made before compute_dtype_ was recorded: the dtype asked for, or float32 (the
        # only arithmetic before the compute_dtype parameter existed)
        {**r, "setting": ", ".join(f"{k}={r[k]}" for k in keys if k in r),
         "compute_dtype_": r.get("compute_dtype_", r.get("compute_dtype", "float32")),
         "flip": f"{r['final_val_flip']:.2f}" if "final_val_flip" in r else "n/a",
         # records made before the dropout layer was recorded: n/a (Keras' own for the dense
         # network and the CNN; the deep CNN's changed on 2026-12-01)
         "dropout_layer_": r.get("dropout_layer_", "n/a"),
         "epochs_run": len(r["val_curve"]),  # fewer than epochs= where max_fit_time stopped the fit
         "seed": r.get("seed", 0)}  # records made before the seed was recorded all used 0
        for r in records
    ]
    lines = [
        "## Model selection of the defaults (validation split of the training data)", "",
        "Produced by `python benchmarks/model_selection.py` (its CONFIGS; one JSON line each) and "
        "`--render`. 54,000 training / 6,000 stratified validation images from the training set, "
        "random_state as in the seed column (it draws the split, the initial weights and the "
        "batch order); the test set is not read. Wall seconds include scoring the validation "
        "images after every epoch; they depend on the CPU, which the earlier records did not name "
        "(n/a; those sessions' RESULTS.md speed sections name an AMD EPYC). \"Epochs run\" is "
        "fewer than `epochs` where a training-time budget (`max_fit_time`, which counts that "
        "validation scoring too) stopped the fit.", "",
        table(rows, [
            ("model", ("model", "{}")), ("setting", ("setting", "{}")), ("seed", ("seed", "{}")),
            ("final val %", ("final_val", "{:.2f}")), ("with test-time flip %", ("flip", "{}")),
            ("best val %", ("best_val", "{:.2f}")), ("epochs run", ("epochs_run", "{}")),
            ("s / epoch", ("epoch_s", "{:.1f}")), ("wall s", ("wall_s", "{}")),
            ("arithmetic", ("compute_dtype_", "{}")), ("dropout layer", ("dropout_layer_", "{}")),
            ("CPU", ("cpu", "{}")),
        ]),
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", help="JSON objects: model and parameters (default: CONFIGS)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--render", default=None, help="render these JSON lines instead of fitting")
    parser.add_argument("--out", default=None, help="with --render: write the 'selection' section here")
    args = parser.parse_args(argv)
    if args.render:
        records = [json.loads(line) for line in Path(args.render).read_text().splitlines() if line.strip()]
        text = render(records)
        if args.out:
            write_section(args.out, "selection", text)
        print(text)
        return records
    records = []
    for config in [json.loads(c) for c in args.configs] or CONFIGS:
        record = run(config, args.seed)
        print(json.dumps(record), flush=True)
        records.append(record)
    return records


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
