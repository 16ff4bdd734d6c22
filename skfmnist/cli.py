"""The ``skfmnist`` command line."""

# SPDX-License-Identifier: MIT

import argparse
import contextlib
import json
import os
import re
import sys
import threading
import time
from pathlib import Path

from ._version import __version__

__all__ = ["main", "build_parser"]

#: Native log lines of TensorFlow and its libraries that tell a user of the command nothing: absl's
#: information, warning and error lines (the oneDNN notice, CUDA probes on a machine without a GPU), the line
#: before absl starts, and the CPU-feature notice's second line.  Fatal lines (F...) are kept.
_NATIVE_NOISE = re.compile(
    r"^(?:[IWE]\d{4} [\d:.]+ +\d+ \S+:\d+\] |WARNING: All log messages before absl::InitializeLog"
    r"|To enable the following instructions: .* rebuild TensorFlow)"
)


@contextlib.contextmanager
def _without_native_noise():
    """Keep TensorFlow's native start-up messages out of standard error, in this process and its children.

    What native libraries, and worker processes started meanwhile, write to
    file descriptor 2 passes through a filter that drops the lines of
    :data:`_NATIVE_NOISE`.  Python's own standard error (progress bars,
    warnings, errors) keeps writing to the terminal directly.
    """
    sys.stderr.flush()
    terminal = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    python_stderr = sys.stderr
    if python_stderr is sys.__stderr__:  # (a test's captured stream stays as it is)
        sys.stderr = os.fdopen(os.dup(terminal), "w", buffering=1, encoding=python_stderr.encoding or "utf-8",
                               errors="backslashreplace")

    out_fd = os.dup(terminal)  # (duplicated here: the thread may start after ``terminal`` is closed)

    def pump():
        with os.fdopen(read_end, "rb") as lines, os.fdopen(out_fd, "wb", buffering=0) as out:
            for line in lines:
                if not _NATIVE_NOISE.match(line.decode("utf-8", "replace")):
                    out.write(line)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        if sys.stderr is not python_stderr:
            sys.stderr.close()
            sys.stderr = python_stderr
        os.dup2(terminal, 2)  # the pipe's last writer here closes: the filter reads to its end
        os.close(terminal)
        thread.join(timeout=5)


_QUICK = {"train_size": 5000, "test_size": 2000, "epochs": 3, "cv": 2}

#: Minutes of the default comparison: every preset searched over its grid with 3-fold cross-validation on
#: all 60,000 images, refit and tested, on a 2-core CPU.
DEFAULT_BUDGET = 30


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive(unit):
    """An argparse type: a finite positive number of ``unit``."""

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number of {unit}, got {text!r}") from None
        if not value > 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"expected a positive number of {unit}, got {text}")
        return value

    return parse


_positive_seconds, _positive_minutes = _positive("seconds"), _positive("minutes")


def _cv_folds(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 0 (no cross-validation) or a number of folds >= 2, got {text!r}"
        ) from None
    if value == 1 or value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 (no cross-validation) or a number of folds >= 2, got {value}")
    return value


def _model_list(text):
    from ._registry import MODELS

    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown model name(s) {', '.join(unknown) or repr(text)}; choose from {', '.join(MODELS)}"
        )
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a model is named twice in {text!r}")
    return names


def build_parser():
    """The argument parser of ``skfmnist``."""
    parser = argparse.ArgumentParser(
        prog="skfmnist",
        description="Train, tune and compare Keras classifiers on Fashion-MNIST, the scikit-learn way.",
    )
    parser.add_argument("--version", action="version", version=f"skfmnist {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    cmp_ = sub.add_parser(
        "compare",
        help="compare models on Fashion-MNIST (or other images) and write a report",
        description=(
            "Fit each model on the training data (tuned by stratified grid search with --search or "
            "--grid), evaluate it once on the test set, test every pair of models for a significant "
            "difference, and write a report directory."
        ),
    )
    data = cmp_.add_mutually_exclusive_group()
    data.add_argument(
        "--dataset", choices=("fashion-mnist", "digits"), default="fashion-mnist",
        help="fashion-mnist (default), or scikit-learn's 8x8 digits (no download; 75%% / 25%% stratified split)",
    )
    data.add_argument(
        "--data", type=Path, default=None, metavar="FILE.npz",
        help="your own arrays: a NumPy .npz file with X_train, y_train, X_test, y_test (images as rows or "
        "channels-last batches) and optionally class_names",
    )
    cmp_.add_argument(
        "--horizontal-flip", action=argparse.BooleanOptionalAction, default=None,
        help="train the CNNs on mirror images too where they augment (default: on, off for digits, whose "
        "classes mirroring changes)",
    )
    cmp_.add_argument(
        "--models", type=_model_list, default=None, help="comma-separated: dense,cnn,deep_cnn (default: all)"
    )
    cmp_.add_argument(
        "--epochs", type=_positive_int, default=None, help="epochs for every model (default: each model's own)"
    )
    cmp_.add_argument(
        "--max-fit-time",
        type=_positive_seconds,
        default=None,
        metavar="SECONDS",
        help="training-time budget of every fit (the estimators' max_fit_time: the epochs that fit "
        "into it, with the learning-rate schedule shortened to end with them; default: none)",
    )
    cmp_.add_argument(
        "--train-size", type=_positive_int, default=None, help="stratified subset of the 60,000 training images"
    )
    cmp_.add_argument(
        "--test-size", type=_positive_int, default=None, help="stratified subset of the 10,000 test images"
    )
    grid = cmp_.add_mutually_exclusive_group()
    grid.add_argument("--search", action="store_true", help="grid-search each model over its documented default grid")
    grid.add_argument("--grid", type=Path, default=None, help="JSON or YAML file {model: {param: [values]}}")
    cmp_.add_argument(
        "--budget", type=_positive_minutes, default=None, metavar="MINUTES",
        help="end the comparison within this many minutes: every candidate is timed on a small probe, and each "
        "model gets the most thorough search that fits (implies --search unless --grid is given; default: "
        f"{DEFAULT_BUDGET} when none of --search, --grid, --quick, --cv 0, --max-fit-time, --early-stopping is "
        "given, so that the plain command tunes and cross-validates every model)",
    )
    cmp_.add_argument(
        "--search-method", choices=("halving", "grid"), default="halving",
        help="how --search or --grid searches: successive halving with epochs as the resource, the survivors "
        "trained on from where they were (default), or every candidate with all its epochs (GridSearchCV)",
    )
    cmp_.add_argument(
        "--cv", type=_cv_folds, default=None, help="stratified folds (default 3 with a grid, else 0 = none)"
    )
    cmp_.add_argument("--n-jobs", type=int, default=None, help="parallel fits in grid search / cross-validation")
    cmp_.add_argument(
        "--threads",
        action="store_true",
        help="run the parallel fits in threads of this process (no worker to start, the serial scores exactly); "
        "with no --n-jobs, one per core. Searches run faster in threads with SKFMNIST_TF_THREADS=1 and "
        "SKFMNIST_TF_INTER_THREADS=<n-jobs> set, fits that run alone (the refits) can be slower: see skfmnist.parallel",
    )
    cmp_.add_argument(
        "--dask-scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the grid searches and cross-validation on a Dask cluster (e.g. tcp://host:8786)",
    )
    cmp_.add_argument("--random-state", type=int, default=0, help="one seed for every model and the folds (default 0)")
    cmp_.add_argument("--out", type=Path, default=Path("report"), help="report directory (default: ./report)")
    cmp_.add_argument(
        "--overwrite", action="store_true",
        help="replace an existing report directory that skfmnist wrote (nothing else: never a file, a folder of "
        "other files, or the data the command reads)",
    )
    cmp_.add_argument(
        "--quick",
        action="store_true",
        help=f"small stratified subsets and few epochs ({_QUICK['train_size']} train / "
        f"{_QUICK['test_size']} test images, {_QUICK['epochs']} epochs, {_QUICK['cv']}-fold CV)",
    )
    cmp_.add_argument(
        "--early-stopping",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="hold out a stratified 10%% of each model's training data, track validation loss per "
        "epoch (shown in the training curves), stop after 5 epochs without improvement and "
        "keep the best epoch (default: off, i.e. the estimators' defaults: train on all "
        "training images for each model's epochs and learning-rate schedule)",
    )
    cmp_.add_argument("--no-progress", action="store_true", help="no progress output")
    cmp_.add_argument(
        "--verbose", action="store_true", help="also show TensorFlow's native start-up and log messages"
    )
    cmp_.add_argument(
        "--data-home", type=Path, default=None, help="folder holding the four .gz files (overrides $SKFMNIST_DATA)"
    )
    cmp_.set_defaults(subparser=cmp_)

    versions = sub.add_parser("versions", help="print the versions of skfmnist, its dependencies and the machine")
    versions.add_argument(
        "--verbose", action="store_true", help="also show TensorFlow's native start-up and log messages"
    )
    fetch = sub.add_parser("fetch", help="download (if missing) and verify the Fashion-MNIST files")
    fetch.add_argument(
        "--data-home", type=Path, default=None, help="folder holding the four .gz files (overrides $SKFMNIST_DATA)"
    )
    return parser


def _load_grid_file(path, parser):
    if not path.is_file():
        parser.error(f"--grid: no such file: {path}")
    text = path.read_text()
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                parser.error("--grid: reading YAML needs PyYAML (pip install 'skfmnist[yaml]'), or use JSON")
            grids = yaml.safe_load(text)
        else:
            grids = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - any parse error is a usage error
        parser.error(f"--grid: cannot parse {path}: {exc}")
    if not isinstance(grids, dict) or not all(isinstance(g, dict) for g in grids.values()):
        parser.error("--grid: the file must map model names to {parameter: [values]} grids")
    fixed = {}
    for model, grid in grids.items():
        fixed[model] = {}
        for param, values in grid.items():
            if not isinstance(values, list) or not values:
                parser.error(f"--grid: {model}.{param} must be a non-empty list of values")
            key = param if param.startswith("clf__") or "__" in param else f"clf__{param}"
            fixed[model][key] = [tuple(v) if isinstance(v, list) else v for v in values]
    return fixed


def _stratified(X, y, size, seed, parser, what):
    if size is None or size >= len(y):
        if size is not None and size > len(y):
            parser.error(f"--{what}-size {size} is larger than the {len(y)} images available")
        return X, y
    n_classes = len(set(y.tolist()))
    if size < 2 * n_classes:
        parser.error(f"--{what}-size must be at least {2 * n_classes} (2 images of each of the {n_classes} classes)")
    from sklearn.model_selection import train_test_split

    X, _, y, _ = train_test_split(X, y, train_size=size, stratify=y, random_state=seed)
    return X, y


def _load_data(args, parser):
    """``(X_train, y_train, X_test, y_test, class_names, image_shape, max_value, metadata)`` of the chosen data."""
    from . import datasets

    if args.data is not None:
        try:
            bunch = datasets.load_arrays(args.data)
        except (OSError, ValueError) as exc:
            parser.error(f"--data: {exc}")
        meta = {"dataset": "arrays", "data_file": str(args.data)}
        return (bunch.X_train, bunch.y_train, bunch.X_test, bunch.y_test, bunch.class_names, bunch.image_shape,
                bunch.max_value, meta)
    if args.dataset == "digits":
        bunch = datasets.load_digits_images(random_state=args.random_state)
        return (bunch.X_train, bunch.y_train, bunch.X_test, bunch.y_test, bunch.class_names, bunch.image_shape,
                bunch.max_value, {"dataset": "digits"})
    if args.data_home is not None:
        os.environ["SKFMNIST_DATA"] = str(args.data_home)
    X_train, y_train = datasets.fetch_fashion_mnist(subset="train", return_X_y=True)
    X_test, y_test = datasets.fetch_fashion_mnist(subset="test", return_X_y=True)
    meta = {"dataset": "fashion-mnist",
            "data_files_sha256": {m.filename: m.sha256 for m in datasets.FILES.values()}}
    return X_train, y_train, X_test, y_test, list(datasets.CLASS_NAMES), (28, 28, 1), 255.0, meta


def _check_out(args, parser):
    """Refuse, before any training, an --out that would lose a file: the data read, or anything not a report."""
    from .evaluation import check_report_target

    if (args.out.exists() or args.out.is_symlink()) and not args.overwrite:
        parser.error(f"--out {args.out} already exists; pass --overwrite or choose another folder")
    inputs = [path for path in (args.data, args.grid, args.data_home) if path is not None]
    if args.data is None and args.dataset == "fashion-mnist" and os.environ.get("SKFMNIST_DATA"):
        inputs.append(Path(os.environ["SKFMNIST_DATA"]).expanduser())
    try:
        check_report_target(args.out, overwrite=args.overwrite, inputs=inputs)
    except FileExistsError as exc:
        parser.error(f"--out: {exc}".replace("overwrite=True", "--overwrite"))


def _compare(args, parser):
    from ._registry import MODELS

    start = time.perf_counter()

    if args.threads and args.dask_scheduler:
        parser.error("--threads and --dask-scheduler exclude each other: Dask chooses its workers' threads")
    models = args.models or list(MODELS)
    untuned = args.quick or args.cv == 0 or args.max_fit_time is not None or args.early_stopping
    if args.budget is None and not (args.search or args.grid or untuned):
        args.budget = DEFAULT_BUDGET
    grids = None
    if args.search or (args.budget is not None and args.grid is None):
        grids = {m: MODELS[m][1] for m in models}
    elif args.grid is not None:
        grids = _load_grid_file(args.grid, parser)
        unknown = set(grids) - set(models)
        if unknown:
            parser.error(f"--grid names models that are not compared: {', '.join(sorted(unknown))}")
    for option, value in (("--early-stopping", args.early_stopping), ("--max-fit-time", args.max_fit_time)):
        if grids and args.search_method == "halving" and value:
            parser.error(f"{option} changes the epochs a fit trains, which successive halving spends as its "
                         "resource: add --search-method grid, or leave it out")
    _check_out(args, parser)

    X_train, y_train, X_test, y_test, class_names, image_shape, max_value, data_meta = _load_data(args, parser)
    if args.quick:
        for key, value in _QUICK.items():
            if getattr(args, key) is None:
                available = {"train_size": len(y_train), "test_size": len(y_test)}.get(key)
                setattr(args, key, value if available is None else min(value, available))
    cv = args.cv if args.cv is not None else (3 if grids else 0)
    X_train, y_train = _stratified(X_train, y_train, args.train_size, args.random_state, parser, "train")
    X_test, y_test = _stratified(X_test, y_test, args.test_size, args.random_state, parser, "test")

    from .evaluation import compare_models
    from .pipeline import make_model_pipeline

    flip = args.horizontal_flip if args.horizontal_flip is not None else data_meta["dataset"] != "digits"
    progress = not args.no_progress
    pipelines = {}
    for name in models:
        params = {"random_state": args.random_state, "early_stopping": args.early_stopping}
        if name != "dense":
            params["horizontal_flip"] = flip
        if args.epochs is not None:
            params["epochs"] = args.epochs
        if args.max_fit_time is not None:
            params["max_fit_time"] = args.max_fit_time
        if progress:
            from .models._callbacks import EpochProgress

            params["callbacks"] = [EpochProgress(name)]
        pipelines[name] = make_model_pipeline(name, image_shape=image_shape, max_value=max_value, **params)
    if grids:
        for model, grid in grids.items():
            try:
                pipelines[model].set_params(**{k: v[0] for k, v in grid.items()})
            except ValueError as exc:
                parser.error(f"--grid: {model}: {exc}")

    def run(n_jobs):
        return compare_models(
            pipelines, X_train, y_train, X_test, y_test, param_grids=grids, search=args.search_method,
            budget=None if args.budget is None else args.budget * 60, cv=cv, n_jobs=n_jobs,
            random_state=args.random_state, class_names=class_names, progress=progress,
        )

    with contextlib.ExitStack() as stack:
        if args.dask_scheduler:
            try:
                from dask.distributed import Client
            except ImportError:
                parser.error("--dask-scheduler needs Dask: pip install 'skfmnist[dask]'")
            from .parallel import dask_backend

            client = stack.enter_context(Client(args.dask_scheduler, timeout=30))
            stack.enter_context(dask_backend(client=client, scatter=[X_train, y_train]))
            backend, n_jobs = "dask", args.n_jobs or -1
        elif args.threads:
            import joblib

            stack.enter_context(joblib.parallel_config(backend="threading"))
            backend, n_jobs = "threading", args.n_jobs or -1
        else:
            backend, n_jobs = ("loky" if args.n_jobs not in (None, 1) else None), args.n_jobs
        result = run(n_jobs)
    result.metadata["parallel"] = {"backend": backend, "n_jobs": n_jobs}
    result.metadata.update(data_meta)
    result.metadata["seconds"] = time.perf_counter() - start  # the whole command so far: data, plan, every model
    out = result.save(args.out, overwrite=args.overwrite)
    print(result.table[["test_accuracy", "macro_f1", "cv_mean", "fit_seconds"]].to_string())
    for line in result.conclusions():
        print("-", line)
    print(f"Report: {out / 'report.md'} (and report.html)")
    return 0


def main(argv=None):
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "fetch":
        if args.data_home is not None:
            os.environ["SKFMNIST_DATA"] = str(args.data_home)
        from .datasets import fetch_fashion_mnist

        bunch = fetch_fashion_mnist(subset="all")
        print(f"Fashion-MNIST verified: {bunch.data.shape[0]} images")
        return 0
    quiet = contextlib.nullcontext() if args.verbose else _without_native_noise()
    with quiet:
        if args.command == "versions":
            from .utils import show_versions

            show_versions()
            return 0
        try:
            return _compare(args, args.subparser)
        except KeyboardInterrupt:
            print("Interrupted: no report was written.", file=sys.stderr)
            return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
