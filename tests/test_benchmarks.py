"""Smoke test: every benchmark runs at a tiny size, so that they do not rot."""

import importlib.util
import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from .conftest import requires_data

pytestmark = pytest.mark.slow  # the benchmark scripts at a tiny size: minutes, and the bench extra for the peers

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_speed.py"
BENCH_ACCURACY = BENCH.parent / "bench_accuracy.py"


def _load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@requires_data
@pytest.mark.timeout(900)
def test_bench_speed_quick(tmp_path):
    bench = _load(BENCH)
    out = tmp_path / "RESULTS.md"
    results = bench.main(["--quick", "--out", str(out)])
    text = out.read_text()
    for heading in ("## Targets", "## Wrapper overhead against plain Keras", "## Custom parts against stock Keras",
                    "## Grid search on two workers"):
        assert heading in text
    assert {r["model"] for r in results["overhead"]} == {"dense", "cnn", "deep_cnn"}
    for row in results["overhead"]:
        assert row["fit_ratio"] == pytest.approx(row["fit_s"] / row["keras_fit_s"]) and row["predict_ratio"] > 0
        assert row["compute_dtype"] in ("float32", "bfloat16")
    assert [r["model"] for r in results["parts"]] == ["dense", "cnn", "deep_cnn"]  # every preset with batch norm
    assert all(r["ratio"] > 0 and r["stock"] == "keras.layers.BatchNormalization" for r in results["parts"])
    for row in results["grid"]:
        assert row["threads_same"] is True  # fits in threads of this process: the serial scores exactly
        assert min(row["fresh"], row["warm"], row["threads"], row["threads_1t"]) > 0
    if results["peer"] is not None:  # skorch and torch installed (the bench extra)
        assert all(r["train_same"] > 0 and r["predict_same"] > 0 for r in results["peer"])
        assert "## Training and prediction against skorch" in text
    recorded = json.loads((tmp_path / "results.json").read_text())
    assert set(recorded) >= {"overhead", "parts", "grid"}
    assert "wrapper overhead: fit <= 1.05x" in text.split("<!-- end targets -->")[0]


def test_stock_builder_swaps_only_the_custom_layer():
    import keras

    from skfmnist import CNNClassifier
    from skfmnist.models import FusedBatchNormalization

    bench = _load(BENCH)
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 8, 8, 1), dtype=np.float32), np.arange(40) % 2
    template = CNNClassifier(filters=(4,), dense_units=8, epochs=1, random_state=0).fit(X, y).model_
    stock = bench._stock_builder(template)({})
    kinds = [type(layer) for layer in stock.layers]
    assert keras.layers.BatchNormalization in kinds and FusedBatchNormalization not in kinds
    assert [layer.name for layer in stock.layers] == [layer.name for layer in template.layers]


@requires_data
@pytest.mark.timeout(600)
def test_bench_accuracy_quick(tmp_path):
    bench = _load(BENCH_ACCURACY)
    out = tmp_path / "RESULTS.md"
    out.write_text("# results\n\n<!-- begin speed -->\nspeed figures\n<!-- end speed -->\n")
    runs = bench.main(["--quick", "--out", str(out), "--json", str(tmp_path / "runs.json")])
    assert {(r["model"], r["seed"]) for r in runs} == {(m, s) for m in ("dense", "cnn", "deep_cnn") for s in (0, 1)}
    for r in runs:
        assert r["train_s"] > 0 and r["params"] > 0
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
    assert "## Accuracy of the pipelines with epochs=1" in text  # --quick's one epoch: not the defaults
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
    results = _load(BENCH.parent / "_results.py")
    monkeypatch.setattr(results, "_ENVIRONMENT", {})
    assert results.command_line("bench_speed.py", ["--only", "peer"]) == "python benchmarks/bench_speed.py --only peer"
    # what the environment held when the benchmark started (not what skfmnist set later) comes first
    monkeypatch.setattr(results, "_ENVIRONMENT", {"ONEDNN_MAX_CPU_ISA": "AVX2", "TF_ENABLE_ONEDNN_OPTS": "1",
                                                  "HOME": "/root"})
    command = results.command_line("bench_speed.py", ["--only", "peer"])
    assert shlex.split(command) == [
        "TF_ENABLE_ONEDNN_OPTS=1", "ONEDNN_MAX_CPU_ISA=AVX2", "python", "benchmarks/bench_speed.py", "--only", "peer",
    ]


def test_write_section_replaces_only_its_own_block(tmp_path):
    results = _load(Path(__file__).resolve().parents[1] / "benchmarks" / "_results.py")
    path = tmp_path / "R.md"
    results.write_section(path, "a", "first A")
    results.write_section(path, "b", "only B")
    results.write_section(path, "a", "second A")
    results.write_section(path, "accuracy", "the accuracy")
    text = path.read_text()
    assert text.startswith("# skfmnist benchmarks")
    assert "second A" in text and "first A" not in text and "only B" in text
    assert text.index("second A") < text.index("only B")  # replaced in place
    assert text.index("the accuracy") < text.index("second A")  # the known sections in their order
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_missed_target_is_not_rounded_up_to_it(tmp_path):
    results = _load(BENCH.parent / "_results.py")
    path = tmp_path / "R.md"
    results.record(path, {"accuracy": [
        {"model": "dense", "acc_mean": 90.4967, "acc_min": 90.44, "max_s": 25.0, "n_seeds": 3},
        {"model": "cnn", "acc_mean": 93.3033, "acc_min": 93.2, "max_s": 50.0, "n_seeds": 3}]})
    text = path.read_text()
    assert "| 90.497% (mean of 3 seeds, worst 90.44%), at most 25 s | **no** |" in text
    assert "| 93.30% (mean of 3 seeds, worst 93.20%), at most 50 s | yes |" in text


def test_targets_come_from_the_recorded_figures(tmp_path):
    results = _load(BENCH.parent / "_results.py")
    path = tmp_path / "R.md"
    results.record(path, {"accuracy": [
        {"model": "dense", "acc_mean": 90.6, "acc_min": 90.2, "max_s": 25.0, "n_seeds": 3},
        {"model": "deep_cnn", "acc_mean": 94.1, "acc_min": 93.7, "max_s": 250.0, "n_seeds": 3}]})
    results.record(path, {"overhead": [{"fit_ratio": 0.8, "predict_ratio": 1.2}]})
    float32 = results.PARAMS_TARGETS["deep_cnn in float32"][1]
    results.write_section(path, "accuracy-float32", "## float32\n\nMachine: Some CPU (family 1, model 2), 2 cores. "
                          "Python 3.11.7.\n")
    results.record(path, {results.params_key(float32): [
        {"model": "deep_cnn", "acc_mean": 94.2, "acc_min": 94.0, "max_s": 800.0, "n_seeds": 3,
         "section": "accuracy-float32"}]})
    text = path.read_text()
    assert "| dense: test accuracy >= 90.5% in <= 30 s of training | 90.60% (mean of 3 seeds, worst 90.20%), at most " \
        "25 s | yes |" in text
    # the deep CNN's worst seed misses its floor: the target is not met though the mean is
    assert "| deep_cnn: test accuracy >= 94.0%, worst seed >= 93.8% in <= 300 s of training | 94.10% (mean of 3 " \
        "seeds, worst 93.70%), at most 250 s | **no** |" in text
    assert "| deep_cnn in float32: test accuracy >= 94.0% in <= 900 s of training | 94.20% (mean of 3 seeds, worst " \
        "94.00%), at most 800 s | yes | accuracy-float32 | Some CPU (family 1, model 2) |" in text
    assert "25 s | yes | accuracy | n/a |" in text  # a section without a machine line
    assert "fit 0.80x, predict 1.20x (the largest over the models) | **no** |" in text  # both kept
    # a run of one model replaces that model's figures and keeps the others', each with its own section
    results.write_section(path, "accuracy-dense", "## dense\n\nMachine: Other CPU (family 3, model 4), 2 cores.\n")
    results.record_models(path, "accuracy", [{"model": "dense", "acc_mean": 90.4, "acc_min": 90.1, "max_s": 20.0,
                                              "n_seeds": 3, "section": "accuracy-dense"}])
    text = path.read_text()
    assert "90.40% (mean of 3 seeds, worst 90.10%), at most 20 s | **no** | accuracy-dense | Other CPU (family 3, " \
        "model 4) |" in text and "90.60%" not in text
    assert "94.10% (mean of 3 seeds, worst 93.70%), at most 250 s | **no** | accuracy | n/a |" in text


@requires_data
@pytest.mark.timeout(300)
def test_model_selection_runs_and_renders(tmp_path):
    selection = _load(Path(__file__).resolve().parents[1] / "benchmarks" / "model_selection.py")
    records = selection.main(['{"model": "dense", "hidden_layer_sizes": [8], "epochs": 2}', "--seed", "3"])
    (record,) = records
    assert record["model"] == "dense" and len(record["val_curve"]) == 2 and record["seed"] == 3
    assert record["final_val"] == record["val_curve"][-1] and 10 < record["final_val"] <= 100
    from skfmnist.utils import prefers_bfloat16

    # the dense default ("auto"), resolved for this machine; and the machine
    assert record["compute_dtype_"] == ("bfloat16" if prefers_bfloat16() else "float32") and record["cpu"]
    log = tmp_path / "sel.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "R.md"
    selection.main(["--render", str(log), "--out", str(out)])
    text = out.read_text()
    assert "<!-- begin selection -->" in text and "hidden_layer_sizes" not in text
    assert f"| dense | epochs=2 | 3 | {record['final_val']:.2f} | n/a |" in text  # the seed; no test-time flip
    assert f"| {record['compute_dtype_']} | {record['cpu']} |" in text


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


def test_ablation_rows_add_one_change_each_and_render_over_the_seeds(tmp_path):
    selection = _load(Path(__file__).resolve().parents[1] / "benchmarks" / "model_selection.py")
    configs = selection.ablation_configs("deep_cnn")
    assert configs[0][1]["epochs"] == 36 and configs[1][1]["epochs"] == 12
    for (_, before), (_, after) in zip(configs, configs[1:]):  # each row keeps the row above and changes it
        assert set(before) <= set(after) and before != after
    curves = {0: [91.0, 93.0, 93.6, 94.0], 1: [92.0, 93.5, 93.9, 94.2]}  # the deep CNN's threshold: 93.5%
    records = [{"ablation": ["deep_cnn", row], "seed": seed, "final_val_views": 93.0 + row + seed / 10,
                "final_val": 92.0 + row, "train_s": 100.0 * (row + 1), "cpu": "some CPU", "val_curve": curves[row]}
               for row in (0, 1) for seed in (0, 1, 2)]
    records[2]["val_curve"] = [91.0, 92.0, 93.0, 93.4]  # row 0, seed 2 never reaches it
    log = tmp_path / "ablation.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "R.md"
    selection.main(["--render-ablation", str(log), "--out", str(out)])
    text = out.read_text()
    assert "<!-- begin ablation-deep_cnn -->" in text and "on some CPU" in text
    # time to accuracy: the first epoch at 93.5% and the share of the training seconds to its end
    assert "| 1 | cut to 12 epochs (a third of the training) | 12 | 200 | 94.10 | 94.00 | 93.00 | 2.0 (100 s) | 3 |" \
        in text
    assert "| 93.00 | 92.00 | not reached (1 of 3 seeds) | 3 |" in text
    assert "one-cycle" not in text.split("Tried and not kept")[0].split("| 1 |")[1]  # rows not run are left out
    assert "| CPU |" not in text  # one CPU: named once, above the table

    for record in records[3:]:  # row 1 run on another CPU: its seconds do not compare with row 0's
        record["cpu"] = "another CPU"
    text = selection.render_ablation(records, "deep_cnn")
    assert "on another CPU and some CPU (seconds compare only between rows of one CPU)" in text
    assert "| 2.0 (100 s) | 3 | another CPU |" in text and "| 3 | some CPU |" in text


@requires_data
@pytest.mark.timeout(300)
def test_model_selection_scores_the_validation_split_with_test_time_flip():
    selection = _load(Path(__file__).resolve().parents[1] / "benchmarks" / "model_selection.py")
    (record,) = selection.main(['{"model": "cnn", "filters": [2], "dense_units": 8, "epochs": 1}'])
    assert 10 < record["final_val"] <= 100 and 10 < record["final_val_flip"] <= 100


@requires_data
@pytest.mark.timeout(300)
def test_bench_accuracy_params(tmp_path, capsys, monkeypatch):
    bench = _load(BENCH_ACCURACY)
    import _results  # the benchmarks' helpers, as the script imported them

    # as a benchmark started from a shell without kernel settings finds the environment (this test process
    # has TensorFlow running with skfmnist's defaults set already)
    monkeypatch.setattr(_results, "_ENVIRONMENT", {})
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
    assert "## Accuracy of the cnn pipeline with augment=True, dense_units=8" in text  # the one model run
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


@requires_data
@pytest.mark.timeout(600)
def test_bench_backends_quick(tmp_path):
    bench = _load(BENCH.parent / "bench_backends.py")
    out = tmp_path / "RESULTS.md"
    rows = bench.main(["--quick", "--backends", "tensorflow", "--out", str(out)])
    assert [r["backend"] for r in rows] == ["tensorflow"]
    assert rows[0]["compute_dtype"] == "float32" and rows[0]["train_ips"] > 0 and 0 <= rows[0]["accuracy"] <= 100
    text = out.read_text()
    assert "## The same preset on each Keras backend" in text and "| tensorflow |" in text
    assert "backends" in json.loads((tmp_path / "results.json").read_text())


def test_device_check_without_a_gpu_says_so_and_exits_0(capsys):
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU is visible here: the device check runs for real (benchmarks/device_check.py)")
    check = _load(BENCH.parent / "device_check.py")
    assert check.main(["--backends", "tensorflow"]) == 0
    assert "No GPU visible to tensorflow: nothing to check." in capsys.readouterr().out


def test_bench_compare_renders_the_commands_report(tmp_path):
    from skfmnist.cli import main

    report = tmp_path / "report"
    assert main(["compare", "--dataset", "digits", "--models", "dense,cnn", "--epochs", "3", "--no-progress",
                 "--out", str(report)]) == 0
    bench = _load(BENCH.parent / "bench_compare.py")
    out = tmp_path / "RESULTS.md"
    assert bench.main(["--report", str(report), "--out", str(out)]) == 0
    text = out.read_text()
    section = text.split("<!-- begin main-job -->")[1]
    assert "## The main job" in section and re.search(r"Wall time of the whole command: \*\*\d+\.\d min", section)
    # per model its search, per rung of each search its training, and the pair's two tests
    assert "| dense | successive halving by 3 |" in section and "| cnn | successive halving by 3 |" in section
    assert re.search(r"\| cnn \| 2 \| 2 \| 3 \| \d+ \| \d+\.\d\d% \(", section)
    assert re.search(r"\| dense - cnn \| [+-]\d+\.\d\d pts \| [\d.e-]+ \| [\d.e-]+ \|", section)
    recorded = json.loads((tmp_path / "results.json").read_text())["main_job"]
    assert recorded["budget_s"] == 1800 and recorded["tested_pairs"] == recorded["pairs"] == 1
    assert "main job: every preset searched" in text.split("<!-- end targets -->")[0]
