"""Smoke test: every benchmark runs at a tiny size, so that they do not rot."""

import importlib.util
import json
import os
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from .conftest import requires_data

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_speed.py"


def _load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@requires_data
@pytest.mark.timeout(600)
def test_bench_speed_quick(tmp_path):
    bench = _load(BENCH)
    out = tmp_path / "RESULTS.md"
    results = bench.main(
        ["--quick", "--epochs", "2", "--only", "overhead,peer,limit,grid,memory,epochs,dtype", "--out", str(out)]
    )
    text = out.read_text()
    for heading in ("1. Wrapper overhead", "3. Distance to the machine's limit", "4. Grid search", "5. Memory",
                    "6. Input pipeline", "7. float32 against bfloat16"):
        assert heading in text
    assert {r["model"] for r in results["overhead"]} == {"dense", "cnn", "deep_cnn"}
    assert all(r["fit_ratio"] > 0 and r["flops_per_image"] > 0 for r in results["overhead"])
    for row in results["overhead"]:  # the epochs' clock: inside each fit, and something outside it
        assert 0 < row["epochs_s"] < row["fit_s"] and 0 < row["keras_epochs_s"] < row["keras_fit_s"]
        assert row["outside_s"] == pytest.approx(row["fit_s"] - row["epochs_s"])
        # the steady rate: one later epoch of n images, faster than the fit's average (which has set-up in it)
        assert row["epoch_img_s"] > row["train_img_s"] and row["keras_epoch_img_s"] > row["keras_train_img_s"]
    assert "| epoch |" in text and "n/a" not in text.split("### 3.")[1].split("###")[0]
    assert "epochs' ratio" in text
    assert [r["model"] for r in results["grid"]] == ["dense", "cnn"]
    for row in results["grid"]:
        assert set(row) >= {1, 2, "warm", "threads", "speedup", "warm_speedup", "bound", "same_scores"}
        # the threading backend's fits ran in this process, two at a time, with the serial scores
        assert row["threads"]["workers"] == [os.getpid()] and row["threads"]["work_s"] > 0
        assert row["threads_speedup"] == pytest.approx(row[1]["seconds"] / row["threads"]["seconds"])
        assert row["threads_same_scores"] is True, (row[1]["mean_test_score"], row["threads"]["mean_test_score"])
        # the same searches in a process of their own with 1 intra-op and 2 inter-op threads
        t1 = row["threads_1t"]
        assert (t1["intra"], t1["inter"]) == (1, 2)
        assert os.getpid() not in t1["threads"]["workers"] and t1["threads"]["workers"] == t1["serial"]["workers"]
        assert row["threads_1t_speedup"] == pytest.approx(row[1]["seconds"] / t1["threads"]["seconds"])
        assert row["threads_1t_same_scores"] is True, (t1["serial"], t1["threads"])
        assert row[1]["work_s"] > 0 and row[2]["work_s"] > 0 and row["warm"]["work_s"] > 0
        assert row["warm_speedup"] == pytest.approx(row[1]["seconds"] / row["warm"]["seconds"])
        assert row[1]["workers"] == [os.getpid()]  # n_jobs=1 scores in this process
        assert row[2]["started"] == len(row[2]["workers"]) >= 2 and os.getpid() not in row[2]["workers"]
        assert 0 <= row["warm"]["started"] <= len(row["warm"]["workers"])
        # the fresh pair's start-up was timed on workers of their own, shut down before the search
        assert row["start_up_s"] > 0 and len(row["start_up_workers"]) in (1, 2)
        assert not set(row["start_up_workers"]) & set(row[2]["workers"])
        assert row["break_even_s"] == pytest.approx(bench.fresh_break_even_s(row["bound"], row["not_in_fits_s"]))
    assert results["machine_gflops"] > 0
    assert {r["compute_dtype"] for r in results["overhead"]} <= {"float32", "bfloat16"}
    if any(r["compute_dtype"] == "bfloat16" for r in results["overhead"]):
        assert results["machine_gflops_bf16"] > 0
    assert [r["pipeline"] for r in results["epochs"]] == ["Keras (NumPy arrays)", "skfmnist"]
    for row in results["epochs"]:
        assert 0 < row["min"] <= row["median"] <= row["max"] and 0 <= row["idle"] <= 1
        assert len(row["each"].split(", ")) == 2  # one time per epoch (--quick: 2 epochs)
    assert results["dtype"]["cpu"]["auto"] in ("float32", "bfloat16")
    assert [r["model"] for r in results["dtype"]["rows"]] == ["cnn", "deep_cnn"]
    for row in results["dtype"]["rows"]:  # --quick: 1 round of 2 epochs, the first left out
        assert row["float32"] > 0 and row["bfloat16"] > 0
        assert row["speedup"] == pytest.approx(row["float32"] / row["bfloat16"])
        assert [len(part.split(", ")) for part in row["each"].split("; ")] == [1, 1]


@pytest.mark.parametrize("name", ["dense", "cnn", "deep_cnn"])
def test_plain_keras_side_uses_keras_own_optimizer_and_batch_norm(name):
    # the estimators' fused Adam is measured against Keras' Adam, with the
    # same configuration (schedule, rates), loss and steps per execution
    from skfmnist.pipeline import make_model_pipeline
    from skfmnist.utils._tf import import_keras

    keras = import_keras()
    model, _ = _load(BENCH)._keras_model(name, n_train=512, epochs=2)
    clf = make_model_pipeline(name)[-1]
    assert clf.optimizer == "adam"
    assert type(model.optimizer) is keras.optimizers.Adam
    schedule = model.optimizer.get_config()["learning_rate"]["class_name"]
    assert schedule == {"cosine": "CosineDecay", "one_cycle": "OneCycleDecay"}[clf.lr_schedule]
    assert model.steps_per_execution == clf.steps_per_execution
    assert model.loss.get_config().get("label_smoothing", 0.0) == clf.label_smoothing
    # and the fused batch normalization against Keras' own layer
    bn = {type(layer) for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)}
    assert bn == (set() if name == "dense" else {keras.layers.BatchNormalization})
    # and the deep CNN's cheaper dropout masks against Keras' own dropout
    dropout = {type(layer) for layer in model.layers if isinstance(layer, keras.layers.Dropout)}
    assert dropout == {keras.layers.Dropout}


@requires_data
@pytest.mark.timeout(600)
def test_bench_speed_dropout_and_views_quick(tmp_path):
    bench = _load(BENCH)
    out = tmp_path / "RESULTS.md"
    results = bench.main(["--quick", "--only", "dropout,views", "--out", str(out)])
    text = out.read_text()
    assert "8. Dropout masks" in text and "9. Prediction with test-time views" in text
    rows = results["dropout"]  # --quick: 1 round of 2 epochs per side, the first left out
    assert [(row["model"], row["rates"]) for row in rows] == [("dense", "0.25"), ("deep_cnn", "0.25, 0.4")]
    for row in rows:
        assert row["keras_s"] > 0 and row["ours_s"] > 0
        assert row["speedup"] == pytest.approx(row["keras_s"] / row["ours_s"])
        assert [len(part.split(", ")) for part in row["each"].split("; ")] == [1, 1]
    views = results["views"]
    assert [r["views"] for r in views] == [18, 2, 1]
    assert views[-1]["ratio"] == pytest.approx(1.0)
    assert all(r["seconds"] > 0 and r["img_s"] > 0 for r in views)


@requires_data
@pytest.mark.timeout(600)
def test_bench_speed_onednn_quick(tmp_path):
    bench = _load(BENCH)
    out = tmp_path / "RESULTS.md"
    results = bench.main(["--quick", "--only", "onednn", "--out", str(out)])
    assert "10. oneDNN's CPU kernels against Eigen's" in out.read_text()
    r = results["onednn"]  # --quick: one process per side (each checked to run the kernels it asked for)
    assert [row["model"] for row in r["rows"]] == ["dense", "cnn", "deep_cnn"]
    for row in r["rows"]:
        assert row["eigen_s"] > 0 and row["onednn_s"] > 0
        assert row["speedup"] == pytest.approx(row["eigen_s"] / row["onednn_s"])
        assert [len(part.split(", ")) for part in row["each"].split("; ")] == [1, 1]  # 2 epochs, the first left out
        assert np.isfinite(row["eigen_loss"]) and np.isfinite(row["onednn_loss"])
    from skfmnist.utils._tf import tensorflow_onednn_flags

    assert r["tf_default"] == ("oneDNN" if tensorflow_onednn_flags() else "Eigen")


@requires_data
@pytest.mark.timeout(600)
def test_bench_speed_copy_quick(tmp_path):
    bench = _load(BENCH)
    out = tmp_path / "RESULTS.md"
    results = bench.main(["--quick", "--only", "copy", "--out", str(out)])
    assert "11. Fits on images in aligned memory" in out.read_text()
    rows = results["copy"]
    assert [row["model"] for row in rows] == ["dense", "cnn", "deep_cnn"]
    for row in rows:
        assert row["ratio"] == pytest.approx(row["copied_fit_s"] / row["aligned_fit_s"])
        for side in ("aligned", "copied"):
            assert row[f"{side}_fit_s"] == pytest.approx(row[f"{side}_outside_s"] + row[f"{side}_epochs_s"])
            assert row[f"{side}_outside_s"] > 0 and row[f"{side}_epochs_s"] > 0


def test_copy_part_copies_the_values_off_the_alignment():
    from skfmnist.utils._arrays import aligned_empty, is_aligned

    bench = _load(BENCH)
    X = aligned_empty((5, 7), np.float32)
    X[...] = np.arange(35).reshape(5, 7)
    copied = bench._off_the_boundary_copy(X)
    np.testing.assert_array_equal(copied, X)
    assert copied.flags.c_contiguous and copied.flags.writeable and not is_aligned(copied)


@requires_data
@pytest.mark.timeout(600)
def test_bench_speed_one_part_keeps_the_others(tmp_path):
    bench = _load(BENCH)
    out = tmp_path / "RESULTS.md"
    out.write_text("# results\n\n<!-- begin speed-overhead -->\noverhead figures\n<!-- end speed-overhead -->\n"
                   "<!-- begin speed-grid -->\nold grid figures\n<!-- end speed-grid -->\n")
    bench.main(["--quick", "--only", "grid", "--out", str(out)])
    text = out.read_text()
    assert "overhead figures" in text
    assert "old grid figures" not in text and "## Speed: grid search" in text
    assert text.count("<!-- begin speed-grid -->") == 1


def test_limit_fraction_uses_the_matmul_rate_of_each_networks_dtype():
    # a bfloat16 network is measured against the bfloat16 matmul rate, not
    # numpy's float32 one (which AMX bfloat16 training can exceed)
    bench = _load(BENCH)
    row = {"flops_per_image": 1e6, "train_img_s": 1000.0, "predict_img_s": 4000.0, "epoch_img_s": 2000.0}
    results = {
        "settings": {},
        "overhead": [{**row, "model": "cnn", "compute_dtype": "float32"},
                     {**row, "model": "deep_cnn", "compute_dtype": "bfloat16"},
                     {**row, "model": "dense"}],  # older results, no dtype: float32
        "machine_gflops": 10.0,
        "machine_gflops_bf16": 100.0,
    }
    text = bench.render(results, "bench_speed.py --only limit")["speed-overhead"]
    part = text.split("### 3.")[1]
    assert "numpy float32 matmul: 10 GFLOP/s; TensorFlow bfloat16 matmul: 100 GFLOP/s" in part
    # training: 3 x 1 MFLOP x 1000 images/s = 3 GFLOP/s; epoch 6 GFLOP/s; inference 4 GFLOP/s
    assert "| cnn | float32 | 10 | 1.00 | 30.0% | 60.0% | 40.0% |" in part
    assert "| deep_cnn | bfloat16 | 100 | 1.00 | 3.0% | 6.0% | 4.0% |" in part
    assert "| dense | float32 | 10 | 1.00 | 30.0% | 60.0% | 40.0% |" in part


def test_steady_epoch_leaves_out_each_fits_first_epoch():
    steady = _load(BENCH)._steady_epoch_s
    # the first epoch of each fit (tracing) is left out, even where it is the fastest
    assert steady([[9.0, 2.0, 2.5], [1.0, 3.0]]) == 2.0
    assert steady([[5.0], [4.0]]) is None  # 1-epoch fits: no steady figure


def test_fresh_break_even_solves_the_speed_up_equation():
    bench = _load(BENCH)
    bound, fixed = 1.75, 10.0
    serial = bench.fresh_break_even_s(bound, fixed)
    assert serial / (serial / bound + fixed) == pytest.approx(1.5)
    assert bench.fresh_break_even_s(bound, fixed, target=1.2) < serial  # a lower target needs a shorter search
    assert bench.fresh_break_even_s(1.5, fixed) == bench.fresh_break_even_s(1.4, fixed) == float("inf")
    assert bench.fresh_break_even_s(bound, -0.5) == 0.0  # no fixed cost: any search reaches the bound


def test_bench_speed_rejects_bad_grid_epochs(capsys):
    bench = _load(BENCH)
    for bad in ("dense=x,cnn=3", "dense=10"):
        with pytest.raises(SystemExit) as exc:
            bench.main(["--only", "grid", "--grid-epochs", bad])
        assert exc.value.code == 2
        assert "--grid-epochs" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # epoch 1 of each fit is left out: one epoch would leave nothing
        bench.main(["--only", "dtype", "--dtype-epochs", "1"])
    assert exc.value.code == 2 and "--dtype-epochs" in capsys.readouterr().err


BENCH_ACCURACY = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_accuracy.py"


@requires_data
@pytest.mark.timeout(600)
def test_bench_accuracy_quick(tmp_path):
    bench = _load(BENCH_ACCURACY)
    out = tmp_path / "RESULTS.md"
    out.write_text("# results\n\n<!-- begin speed -->\nspeed figures\n<!-- end speed -->\n")
    runs = bench.main(["--quick", "--out", str(out), "--json", str(tmp_path / "runs.json")])
    assert {(r["model"], r["seed"]) for r in runs} == {(m, s) for m in ("dense", "cnn", "deep_cnn") for s in (0, 1)}
    for r in runs:
        assert 0 <= r["accuracy"] <= 100 and r["train_s"] > 0 and r["params"] > 0
        # one test-accuracy point per epoch, at increasing training times
        assert len(r["curve"]) == r["epochs"] == 1 and r["curve"][0][0] > 0
        # the curve's last point is the network the pipeline keeps: same accuracy as its score
        # (the curve scores the network alone, so without the deep CNN's mirror average)
        plain = r["accuracy"] if r["accuracy_no_flip"] is None else r["accuracy_no_flip"]
        assert r["curve"][-1][1] == pytest.approx(plain)
        # the deep CNN's default views (mirrored and shifted) are also scored with the mirror only
        assert (r["accuracy_no_shift"] is not None) == (r["model"] == "deep_cnn")
    text = out.read_text()
    assert "without test-time shifts %" in text and "network alone %" in text
    assert "speed figures" in text  # the other benchmark's section is kept
    assert text.count("<!-- begin accuracy -->") == 1 and "| deep_cnn |" in text
    png = tmp_path / "accuracy_vs_time.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # running again replaces the section instead of appending a second one
    bench.main(["--quick", "--models", "dense", "--out", str(out)])
    assert out.read_text().count("<!-- begin accuracy -->") == 1
    png.unlink()
    # --resume reuses the saved runs (no training: run_one must not be called) ...
    def no_training(*args, **kwargs):
        raise AssertionError("--resume trained a run that was saved")

    bench.run_one = no_training
    resumed = bench.main(["--quick", "--models", "cnn", "--json", str(tmp_path / "runs.json"), "--resume"])
    assert not png.exists() and not Path("accuracy_vs_time.png").exists()  # no --out, no --plot: no file
    assert [(r["model"], r["seed"], r["accuracy"]) for r in resumed] == [
        (r["model"], r["seed"], r["accuracy"]) for r in runs if r["model"] == "cnn"
    ]
    # ... and refuses to mix runs made with other settings
    saved = json.loads((tmp_path / "runs.json").read_text())
    saved["settings"]["n_train"] = 60000
    (tmp_path / "runs.json").write_text(json.dumps(saved))
    with pytest.raises(SystemExit, match="other settings"):
        bench.main(["--quick", "--json", str(tmp_path / "runs.json"), "--resume"])



@requires_data
@pytest.mark.timeout(300)
def test_bench_accuracy_time_budget(tmp_path):
    bench = _load(BENCH_ACCURACY)
    path = tmp_path / "runs.json"
    out = tmp_path / "RESULTS.md"
    runs = bench.main(["--quick", "--models", "dense", "--max-fit-time", "1e6", "--json", str(path), "--out", str(out)])
    for r in runs:
        # no curve (its test scoring would count against the budget), the fit's own epoch times instead
        assert r["curve"] == [] and len(r["epoch_times"]) == r["epochs"] == 1
    assert "n/a" not in bench._epoch_seconds(runs[0])
    # no empty plot is drawn, and the text does not point to one
    assert not (tmp_path / "accuracy_vs_time.png").exists()
    text = out.read_text()
    assert "No per-epoch test curve" in text and ".png" not in text and "per-epoch curves" not in text
    saved = json.loads(path.read_text())
    assert saved["settings"]["max_fit_time"] == 1e6
    # a budgeted file is not resumed as an unbudgeted one, and files written before the option
    # (no max_fit_time in their settings) resume as unbudgeted
    with pytest.raises(SystemExit, match="other settings"):
        bench.main(["--quick", "--models", "dense", "--json", str(path), "--resume"])
    del saved["settings"]["max_fit_time"]
    path.write_text(json.dumps(saved))
    bench.run_one = lambda *a, **k: pytest.fail("--resume trained a run that was saved")
    assert len(bench.main(["--quick", "--models", "dense", "--json", str(path), "--resume"])) == 2


def test_command_line_names_the_kernel_settings_the_environment_gave(monkeypatch):
    from skfmnist.utils import _tf

    results = _load(BENCH.parent / "_results.py")
    monkeypatch.setattr(_tf, "ENV_SET_HERE", set())
    for name in results.KERNEL_ENV:
        monkeypatch.delenv(name, raising=False)
    assert results.command_line("bench_speed.py", ["--only", "peer"]) == "python benchmarks/bench_speed.py --only peer"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    command = results.command_line("bench_speed.py", ["--only", "peer"])
    assert shlex.split(command) == [
        "TF_ENABLE_ONEDNN_OPTS=1", "ONEDNN_MAX_CPU_ISA=AVX2", "ATEN_CPU_CAPABILITY=avx2",
        "python", "benchmarks/bench_speed.py", "--only", "peer",
    ]
    _tf.ENV_SET_HERE.add("TF_ENABLE_ONEDNN_OPTS")  # set by skfmnist, not by the environment: left out
    command = results.command_line("bench_speed.py", ["--only", "peer"])
    assert shlex.split(command)[:3] == ["ONEDNN_MAX_CPU_ISA=AVX2", "ATEN_CPU_CAPABILITY=avx2", "python"]


def test_write_section_replaces_only_its_own_block(tmp_path):
    results = _load(Path(__file__).resolve().parents[1] / "benchmarks" / "_results.py")
    path = tmp_path / "R.md"
    results.write_section(path, "a", "first A")
    results.write_section(path, "b", "only B")
    results.write_section(path, "a", "second A")
    text = path.read_text()
    assert text.startswith("# skfmnist benchmarks")
    assert "second A" in text and "first A" not in text and "only B" in text
    assert text.index("second A") < text.index("only B")  # replaced in place
    assert not list(tmp_path.glob(".*.tmp"))


@requires_data
@pytest.mark.timeout(300)
def test_model_selection_runs_and_renders(tmp_path):
    selection = _load(Path(__file__).resolve().parents[1] / "benchmarks" / "model_selection.py")
    records = selection.main([
        '{"model": "dense", "hidden_layer_sizes": [8], "epochs": 2}',
        '{"model": "dense", "hidden_layer_sizes": [8], "epochs": 2, "keras_dropout": true}',
        "--seed", "3",
    ])
    record, keras_record = records
    assert record["model"] == "dense" and len(record["val_curve"]) == 2 and record["seed"] == 3
    assert record["final_val"] == record["val_curve"][-1] and 10 < record["final_val"] <= 100
    assert record["compute_dtype_"] == "float32" and record["cpu"]  # the dense default; the machine
    # the network's dropout layers, and Keras' own on request (the switch is not recorded as a setting)
    assert record["dropout_layer_"] == "MaskBitsDropout" and keras_record["dropout_layer_"] == "Dropout"
    assert "keras_dropout" not in keras_record
    with pytest.raises(ValueError, match="keras_dropout.*'cnn'"):  # the CNN's builder has no such switch
        selection.run({"model": "cnn", "epochs": 1, "keras_dropout": True})
    log = tmp_path / "sel.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "R.md"
    selection.main(["--render", str(log), "--out", str(out)])
    text = out.read_text()
    assert "<!-- begin selection -->" in text and "hidden_layer_sizes" not in text
    assert f"| dense | epochs=2 | 3 | {record['final_val']:.2f} | n/a |" in text  # the seed; no test-time flip
    assert f"| float32 | MaskBitsDropout | {record['cpu']} |" in text
    assert f"| float32 | Dropout | {record['cpu']} |" in text


def test_model_selection_renders_a_budgeted_record():
    # with max_fit_time the fit can stop before `epochs`: the table shows the budget and the
    # epochs that ran (the length of the validation curve)
    selection = _load(Path(__file__).resolve().parents[1] / "benchmarks" / "model_selection.py")
    record = {
        "model": "cnn", "augment": True, "epochs": 22, "max_fit_time": 870, "wall_s": 871, "epoch_s": 60.0,
        "final_val": 93.1, "best_val": 93.2, "val_curve": [90.0, 93.2, 93.1], "params": 1, "cpu": "some CPU",
    }
    text = selection.render([record])
    # a record without a seed was made before the seed was recorded, when every run used 0
    assert "| cnn | augment=True, epochs=22, max_fit_time=870 | 0 | 93.10 | n/a | 93.20 | 3 | 60.0 | 871 |" in text
    # the schedule is shown where a record names it
    text = selection.render([{**record, "learning_rate": 0.002, "lr_schedule": "one_cycle"}])
    assert "| augment=True, learning_rate=0.002, lr_schedule=one_cycle, epochs=22, max_fit_time=870 | 0 |" in text


def test_model_selection_keeps_the_last_epochs_weights():
    # Keras' EarlyStopping(restore_best_weights=True) restores the best epoch's weights when
    # training ends, stopped early or not; the benchmark's callback, after it, puts the last back
    from skfmnist.utils._tf import import_keras

    keras = import_keras()
    selection = _load(Path(__file__).resolve().parents[1] / "benchmarks" / "model_selection.py")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])

    def train(callbacks):
        cbs = keras.callbacks.CallbackList(callbacks, model=model, epochs=2)
        cbs.on_train_begin()
        for epoch, (weight, val_loss) in enumerate([(1.0, 0.1), (2.0, 0.5)]):  # epoch 0 is the best
            model.set_weights([np.full((2, 1), weight), np.zeros(1)])
            cbs.on_epoch_end(epoch, {"val_loss": val_loss})
        cbs.on_train_end()
        return model.get_weights()[0][0, 0]

    def stopper():
        return keras.callbacks.EarlyStopping(monitor="val_loss", patience=100, restore_best_weights=True)

    assert train([stopper()]) == 1.0
    assert train([stopper(), selection.keep_last_weights()]) == 2.0


@requires_data
@pytest.mark.timeout(300)
def test_model_selection_scores_the_validation_split_with_test_time_flip():
    # run() draws the estimator's validation split again and checks it against the last
    # epoch's validation accuracy (it raises if the two differ), then scores it with the flip
    selection = _load(Path(__file__).resolve().parents[1] / "benchmarks" / "model_selection.py")
    (record,) = selection.main(['{"model": "cnn", "filters": [2], "dense_units": 8, "epochs": 1}'])
    assert 10 < record["final_val"] <= 100 and 10 < record["final_val_flip"] <= 100


@requires_data
@pytest.mark.timeout(300)
def test_bench_accuracy_params(tmp_path, capsys):
    bench = _load(BENCH_ACCURACY)
    path, out = tmp_path / "runs.json", tmp_path / "RESULTS.md"
    seen = []
    real_run_one = bench.run_one

    def spy(*args, **kwargs):
        seen.append(kwargs["params"])
        return real_run_one(*args, **kwargs)

    bench.run_one = spy
    argv = [
        "--quick", "--models", "cnn", "--params", '{"augment": true, "dense_units": 8}',
        "--json", str(path), "--out", str(out),
    ]
    runs = bench.main(argv)
    assert seen == [{"augment": True, "dense_units": 8}] * 2 and len(runs) == 2  # --quick: seeds 0 and 1
    # the run used them: augmentation turns the test-time mirror average on, so there is a
    # score without it, and 8 dense units make a smaller network than the default 128
    assert runs[0]["accuracy_no_flip"] is not None
    bench.run_one = real_run_one
    default = bench.main(["--quick", "--models", "cnn"])
    assert default[0]["accuracy_no_flip"] is None and default[0]["params"] > runs[0]["params"]
    text = out.read_text()
    # the quoted command runs as pasted: the shell splits it back into these arguments
    command = re.search(r"Produced by `(.*)` on ", text).group(1)
    assert shlex.split(command) == ["python", "benchmarks/bench_accuracy.py", *argv]
    assert "## Accuracy of the pipelines with augment=True, dense_units=8" in text
    assert "defaults except augment=True, dense_units=8" in text
    assert json.loads(path.read_text())["settings"]["params"] == {"augment": True, "dense_units": 8}
    # runs made with other parameters are not resumed as these
    with pytest.raises(SystemExit, match="other settings"):
        bench.main(["--quick", "--models", "cnn", "--json", str(path), "--resume"])
    # bad --params: named, before any training
    bench.run_one = lambda *a, **k: pytest.fail("trained despite bad --params")
    for bad, message in [
        ("{augment", "not valid JSON"), ("[1]", "must be a JSON object"),
        ('{"random_state": 3}', "cannot set random_state"), ('{"epochs": 3}', "--epochs"),
        ('{"augmnt": true}', "does not fit the cnn pipeline"),
    ]:
        with pytest.raises(SystemExit):
            bench.main(["--quick", "--models", "cnn", "--params", bad])
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):  # the dense network has no augmentation
        bench.main(["--quick", "--models", "dense", "--params", '{"augment": true}'])
    assert "does not fit the dense pipeline" in capsys.readouterr().err
