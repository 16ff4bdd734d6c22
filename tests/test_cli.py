"""The command line: the quick end-to-end comparison and usage errors."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from skfmnist.cli import main

from .conftest import BACKEND, requires_data, tensorflow_only


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "report"
    assert main(["compare", "--quick", "--early-stopping", "--out", str(out), "--no-progress"]) == 0
    return out


@requires_data
@pytest.mark.slow
def test_quick_compare_writes_every_artifact(quick_report):
    names = ("dense", "cnn", "deep_cnn")
    expected = ["report.md", "report.html", "metrics.json", "samples.png", "f1_per_class.png"]
    for name in names:
        expected += [f"confusion_{name}.png", f"curves_{name}.png", f"wrong_{name}.png",
                     f"classification_report_{name}.txt", f"models/{name}.skfmnist"]
    for rel in expected:
        assert (quick_report / rel).is_file(), rel
    report = (quick_report / "report.md").read_text()
    pngs = sorted(p.name for p in quick_report.glob("*.png"))
    assert len(pngs) == 3 * 3 + 2
    for png in pngs:
        assert f"]({png})" in report, png
        with Image.open(quick_report / png) as img:
            img.verify()
        with Image.open(quick_report / png) as img:
            assert img.format == "PNG" and 400 <= img.width <= 2000 and 250 <= img.height <= 2000
    assert "statistically significant" in report or "NOT statistically significant" in report
    lines = report.splitlines()  # a list ends with a blank line before the next block
    assert not [a for a, b in zip(lines, lines[1:]) if a.startswith("- ") and b and not b.startswith("- ")]
    html = (quick_report / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(pngs)


@requires_data
@pytest.mark.slow
def test_metrics_json_matches_table(quick_report):
    metrics = json.loads((quick_report / "metrics.json").read_text())
    report = (quick_report / "report.md").read_text()
    assert metrics["metadata"]["random_state"] == 0
    assert metrics["metadata"]["n_train"] == 5000 and metrics["metadata"]["n_test"] == 2000
    assert len(metrics["metadata"]["data_files_sha256"]) == 4
    assert {"tensorflow", "keras", "scikit-learn", "scikeras"} <= set(metrics["versions"])
    assert metrics["versions"]["keras_backend"] == BACKEND
    if BACKEND == "tensorflow":  # the kernels TensorFlow ran (that skfmnist asks for oneDNN's: tests/test_env.py)
        from skfmnist.utils._keras import tensorflow_cpu_kernels

        assert metrics["versions"]["tensorflow_cpu_kernels"] == tensorflow_cpu_kernels() in ("oneDNN", "Eigen")
    assert len(metrics["pairwise"]) == 3
    for name in ("dense", "cnn", "deep_cnn"):  # early stopping: validation curves
        history = metrics["histories"][name]
        assert len(history["val_loss"]) == len(history["loss"]) >= 1
    for row in metrics["models"]:
        line = next(line for line in report.splitlines() if line.startswith(f"| {row['model']} |"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[1] == f"{row['test_accuracy']:.4f}"
        assert cells[2] == f"{row['macro_f1']:.4f}"
        assert cells[3] == f"{row['cv_mean']:.4f}"
        assert row["compute_dtype"] in ("float32", "bfloat16") and cells[-2] == row["compute_dtype"]
        cm = np.array(metrics["confusion_matrices"][row["model"]])
        assert np.isclose(np.trace(cm) / cm.sum(), row["test_accuracy"])
        assert row["test_accuracy"] > 0.6


@requires_data
@pytest.mark.slow
def test_saved_models_load_and_predict(quick_report, fmnist_small):
    from skfmnist import load

    _, _, X_test, _ = fmnist_small
    pipe = load(quick_report / "models" / "cnn.skfmnist")
    assert pipe.predict(X_test[:10]).shape == (10,)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compare", "--models", "dense,resnet"], "unknown model name"),
        (["compare", "--cv", "1"], "number of folds >= 2"),
        (["compare", "--epochs", "0"], "positive integer"),
        (["compare", "--train-size", "abc"], "positive integer"),
        (["compare", "--max-fit-time", "0"], "positive number of seconds"),
        (["compare", "--max-fit-time", "15min"], "positive number of seconds"),
        (["compare", "--budget", "0"], "positive number of minutes"),
        (["compare", "--budget", "half an hour"], "positive number of minutes"),
        (["compare", "--search-method", "random"], "invalid choice"),
        (["compare", "--search", "--grid", "g.json"], "not allowed with argument"),
        (["compare", "--grid", "/nonexistent/grid.json"], "no such file"),
        (["nonsense"], "invalid choice"),
        (["compare", "--threads", "--dask-scheduler", "tcp://h:8786"], "exclude each other"),
        (["compare", "--search", "--early-stopping"], "--early-stopping changes the epochs a fit trains"),
        (["compare", "--budget", "20", "--max-fit-time", "60"], "--max-fit-time changes the epochs a fit trains"),
    ],
)
def test_bad_options_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_grid_file(tmp_path, capsys):
    grid = tmp_path / "g.json"
    grid.write_text('{"dense": {"dropout": 0.5}}')
    with pytest.raises(SystemExit):
        main(["compare", "--grid", str(grid), "--out", str(tmp_path / "r")])
    assert "non-empty list" in capsys.readouterr().err


@tensorflow_only
def test_versions_command_names_tensorflows_cpu_kernels(capsys):
    assert main(["versions"]) == 0
    out = capsys.readouterr().out
    from skfmnist.utils._keras import tensorflow_cpu_kernels

    assert tensorflow_cpu_kernels() in ("oneDNN", "Eigen")
    assert re.search(rf"^tensorflow_cpu_kernels: {tensorflow_cpu_kernels()}$", out, re.M)
    assert re.search(r"^ +scikeras: \S+$", out, re.M)


def test_version_and_help():
    out = subprocess.run([sys.executable, "-m", "skfmnist", "--version"], capture_output=True, text=True, check=True)
    assert re.fullmatch(r"skfmnist \d+\.\d+\.\d+\S*\n", out.stdout)
    out = subprocess.run(
        [sys.executable, "-m", "skfmnist", "compare", "--help"], capture_output=True, text=True, check=True
    )
    assert "--quick" in out.stdout and "--search" in out.stdout


@requires_data
def test_interrupted_report_leaves_nothing_that_looks_complete(tmp_path, monkeypatch, capsys):
    import skfmnist.evaluation._report as report

    def interrupted(result, folder):
        (folder / "confusion_dense.png").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "_figures", interrupted)
    out = tmp_path / "rep"
    code = main(["compare", "--models", "dense", "--train-size", "200", "--test-size", "100", "--epochs", "1",
                 "--no-progress", "--out", str(out)])
    assert code == 130
    assert "no report was written" in capsys.readouterr().err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no partial folder left behind either


def test_compare_uses_the_estimators_defaults_unless_told():
    from skfmnist.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["compare"]).early_stopping is False
    assert parser.parse_args(["compare", "--early-stopping"]).early_stopping is True
    assert parser.parse_args(["compare", "--no-early-stopping"]).early_stopping is False


@requires_data
def test_max_fit_time_reaches_every_estimator(monkeypatch):
    import skfmnist.evaluation

    seen = {}

    def capture(pipelines, *args, **kwargs):
        seen.update({name: pipe[-1].max_fit_time for name, pipe in pipelines.items()})
        raise KeyboardInterrupt  # stop before any training

    monkeypatch.setattr(skfmnist.evaluation, "compare_models", capture)
    main(["compare", "--max-fit-time", "900", "--train-size", "200", "--test-size", "100", "--no-progress",
          "--out", "/nonexistent/never-written"])
    assert seen == {"dense": 900.0, "cnn": 900.0, "deep_cnn": 900.0}


@requires_data
@pytest.mark.timeout(600)
@pytest.mark.slow
def test_compare_in_threads_gives_the_serial_report(tmp_path):
    # --threads runs the search's fits two at a time in this process, with the serial scores exactly
    argv = ["compare", "--models", "dense", "--search", "--cv", "2", "--train-size", "300", "--test-size", "100",
            "--epochs", "1", "--no-progress"]
    reports = {}
    for name, extra in (("serial", ["--n-jobs", "1"]), ("threads", ["--n-jobs", "2", "--threads"])):
        assert main(argv + extra + ["--out", str(tmp_path / name)]) == 0
        reports[name] = json.loads((tmp_path / name / "metrics.json").read_text())
    serial, threads = reports["serial"], reports["threads"]
    assert threads["metadata"]["parallel"] == {"backend": "threading", "n_jobs": 2}
    assert serial["metadata"]["parallel"] == {"backend": None, "n_jobs": 1}
    assert threads["cv_scores"] == serial["cv_scores"]
    for key in ("test_accuracy", "cv_mean", "best_params"):
        assert threads["models"][0][key] == serial["models"][0][key], key


def _compare_digits(tmp_path, *extra):
    argv = [sys.executable, "-m", "skfmnist", "compare", "--dataset", "digits", "--models", "dense", "--epochs", "1",
            "--no-progress", "--out", str(tmp_path / "report"), "--overwrite", *extra]
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.slow
def test_compare_shows_its_own_output_not_tensorflows_start_up(tmp_path):
    quiet = _compare_digits(tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert not re.search(r"^[IWE]\d{4} |absl::InitializeLog|cuInit|oneDNN custom operations", quiet.stderr, re.M)
    assert "Report:" in quiet.stdout
    verbose = _compare_digits(tmp_path, "--verbose")
    assert verbose.returncode == 0
    noise = re.compile(r"^[IWE]\d{4} [\d:.]+ ", re.M)
    if not noise.search(verbose.stderr):
        pytest.skip("this TensorFlow printed no native start-up messages, so there was nothing to filter")


def test_native_noise_filter_keeps_everything_else():
    from skfmnist.cli import _NATIVE_NOISE

    noise = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1796428300.001349    2935 port.cc:153] oneDNN custom operations are on.",
        "E0000 00:00:1796428300.675717    2935 cuda_platform.cc:52] failed call to cuInit: INTERNAL",
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the flags.",
    ]
    kept = ["F0000 00:00:1796428300.675717    2935 x.cc:52] fatal", "Traceback (most recent call last):",
            "[models] 1/1 dense: test accuracy 0.9000 (3s)", "UserWarning: something"]
    assert all(_NATIVE_NOISE.match(line) for line in noise)
    assert not any(_NATIVE_NOISE.match(line) for line in kept)


def test_compare_on_the_digits(tmp_path, capsys):
    # the plain command: every model searched over its grid within the default budget, cross-validated, refit
    out = tmp_path / "digits"
    assert main(["compare", "--dataset", "digits", "--models", "dense,cnn", "--epochs", "10",
                 "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    meta = metrics["metadata"]
    assert meta["budget_seconds"] == 30 * 60 and meta["cv"] == 3 and meta["search"] == "halving"
    assert {m: meta["plan"][m]["search"] for m in ("dense", "cnn")} == {"dense": 3, "cnn": 3}
    for row in metrics["models"]:
        assert row["best_params"] and len(metrics["cv_scores"][row["model"]]) == 3
        assert len(metrics["search_results"][row["model"]]) == 4 + 2  # 4 candidates, then the best 2
    assert all(np.isfinite(p["cv_ttest_pvalue"]) for p in metrics["pairwise"])
    # the plan, then a line per finished fit (6 candidate-rungs x 3 folds per model) with the time left in all
    plan, *fits = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[compare] ")]
    assert re.match(r"\[compare\] plan for 30 min: dense successive halving by 3 \(\d+ s\), cnn ", plan)
    assert len(fits) == 2 * 6 * 3 and all(re.search(r"; about \d+ (s|min) left in all$", line) for line in fits)
    assert metrics["metadata"]["dataset"] == "digits" and metrics["metadata"]["image_shape"] == [8, 8, 1]
    assert metrics["versions"]["keras_backend"] == BACKEND  # (CI runs this test on each backend)
    assert metrics["metadata"]["n_test"] == 450 and metrics["class_names"] == [str(d) for d in range(10)]
    assert {row["model"]: row["test_accuracy"] > 0.9 for row in metrics["models"]} == {"dense": True, "cnn": True}
    assert (out / "wrong_cnn.png").is_file() and (out / "models" / "cnn.skfmnist").is_file()


def test_compare_on_your_own_arrays(tmp_path):
    rng = np.random.default_rng(0)
    y_train, y_test = np.arange(120) % 3, np.arange(60) % 3
    X_train = rng.integers(0, 100, size=(120, 16, 16, 3)).astype(np.uint8)
    X_test = rng.integers(0, 100, size=(60, 16, 16, 3)).astype(np.uint8)
    X_train[y_train == 1, :, :, 0] += 150  # red and blue classes
    X_test[y_test == 1, :, :, 0] += 150
    X_train[y_train == 2, :, :, 2] += 150
    X_test[y_test == 2, :, :, 2] += 150
    data = tmp_path / "mine.npz"
    np.savez(data, X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
             class_names=np.array(["grey", "red", "blue"]))
    out = tmp_path / "report"
    assert main(["compare", "--data", str(data), "--models", "cnn", "--epochs", "8", "--no-progress",
                 "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["class_names"] == ["grey", "red", "blue"] and metrics["metadata"]["image_shape"] == [16, 16, 3]
    assert metrics["models"][0]["test_accuracy"] > 0.9
    assert "| red |" in (out / "report.md").read_text() or "red" in (out / "classification_report_cnn.txt").read_text()


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"X_train": np.zeros((4, 3)), "y_train": np.zeros(4)}, "no array(s) X_test, y_test"),
        ({"X_train": np.zeros((4, 3)), "y_train": np.zeros(3), "X_test": np.zeros((2, 3)), "y_test": np.zeros(2)},
         "do not match"),
        ({"X_train": np.zeros((4, 3)), "y_train": np.zeros(4), "X_test": np.zeros((2, 5)), "y_test": np.zeros(2)},
         "but test images of shape"),
    ],
    ids=["missing", "lengths", "shapes"],
)
def test_bad_data_files_are_usage_errors(tmp_path, capsys, arrays, message):
    data = tmp_path / "bad.npz"
    np.savez(data, **arrays)
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--data", str(data), "--out", str(tmp_path / "r")])
    assert exc.value.code == 2 and message in capsys.readouterr().err
    (tmp_path / "not.npz").write_text("hello")
    with pytest.raises(SystemExit):
        main(["compare", "--data", str(tmp_path / "not.npz"), "--out", str(tmp_path / "r")])
    assert "not a NumPy .npz file" in capsys.readouterr().err


def _arrays_file(path, **changes):
    rng = np.random.default_rng(0)
    arrays = {"X_train": rng.integers(0, 255, size=(40, 8, 8)).astype(np.uint8), "y_train": np.arange(40) % 2,
              "X_test": rng.integers(0, 255, size=(20, 8, 8)).astype(np.uint8), "y_test": np.arange(20) % 2}
    np.savez(path, **{**arrays, **changes})
    return path


def _usage_error(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err


def test_out_never_replaces_the_data_the_command_reads(tmp_path, capsys):
    data = _arrays_file(tmp_path / "mine.npz")
    before = data.read_bytes()
    err = _usage_error(capsys, ["compare", "--data", str(data), "--out", str(data), "--overwrite", "--no-progress"])
    assert "holds" in err and "which this run reads" in err
    assert data.read_bytes() == before
    grid = tmp_path / "grid.json"
    grid.write_text('{"dense": {"dropout": [0.1]}}')
    err = _usage_error(capsys, ["compare", "--dataset", "digits", "--models", "dense", "--grid", str(grid),
                                "--out", str(tmp_path), "--overwrite", "--no-progress"])
    assert "which this run reads" in err and grid.is_file() and data.read_bytes() == before


def test_overwrite_replaces_only_a_report_folder_that_skfmnist_wrote(tmp_path, capsys):
    data = _arrays_file(tmp_path / "mine.npz")
    afile = tmp_path / "notes.txt"
    afile.write_text("keep me")
    err = _usage_error(capsys, ["compare", "--data", str(data), "--out", str(afile), "--overwrite"])
    assert "is a file, not a report folder" in err and afile.read_text() == "keep me"
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"\xff\xd8")
    err = _usage_error(capsys, ["compare", "--data", str(data), "--out", str(folder), "--overwrite"])
    assert "not a report folder that skfmnist wrote" in err and "cat.jpg" in err
    assert (folder / "cat.jpg").read_bytes() == b"\xff\xd8"
    err = _usage_error(capsys, ["compare", "--data", str(data), "--out", str(folder)])
    assert "already exists; pass --overwrite" in err
    # a report folder of skfmnist's is replaced, and once it holds a file of the user's it is not
    out = tmp_path / "report"
    argv = ["compare", "--data", str(data), "--models", "dense", "--epochs", "1", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    first = (out / "metrics.json").read_text()
    assert main(argv + ["--overwrite"]) == 0
    assert (out / "metrics.json").read_text() != first
    (out / "my_notes.md").write_text("mine")
    err = _usage_error(capsys, argv + ["--overwrite"])
    assert "holds other files too (my_notes.md)" in err and (out / "my_notes.md").read_text() == "mine"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"X_train": np.full((40, 8, 8), "12")}, "holds values of dtype <U2, not numbers"),
        ({"X_train": np.zeros((40, 3, 16, 16)), "X_test": np.zeros((20, 3, 16, 16))}, "channels-first"),
        ({"X_train": np.full((40, 8, 8), np.nan)}, "NaN or infinite"),
        ({"y_train": np.linspace(0, 1, 40)}, "y_train does not hold class labels"),
        ({"X_test": np.zeros((0, 8, 8)), "y_test": np.zeros(0)}, "X_test holds no images"),
    ],
    ids=["string-pixels", "channels-first", "nan-pixels", "continuous-labels", "no-test-images"],
)
def test_bad_arrays_in_a_data_file_are_usage_errors(tmp_path, capsys, changes, message):
    data = _arrays_file(tmp_path / "bad.npz", **changes)
    err = _usage_error(capsys, ["compare", "--data", str(data), "--out", str(tmp_path / "r"), "--no-progress"])
    assert message in err
    assert not (tmp_path / "r").exists()
