"""Shared helpers of the benchmarks: the command and machine of a run, Markdown tables, RESULTS.md sections.

Each benchmark script owns sections of ``benchmarks/RESULTS.md``, between
``<!-- begin NAME -->`` and ``<!-- end NAME -->`` markers, and rewrites only
its own, so that running one benchmark keeps the others' figures.  The key
figures of each run also go to ``benchmarks/results.json``, from which the
"targets" section at the top is written: the newest figure of every target.
"""

# SPDX-License-Identifier: MIT

import json
import os
import re
import shlex
import sys
import tempfile
import time
from pathlib import Path

from skfmnist.utils import versions

#: Environment variables that choose the CPU kernels: TensorFlow's (oneDNN or Eigen), the
#: instruction sets of oneDNN and PyTorch, the BLAS libraries'.
KERNEL_ENV = (
    "TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "OPENBLAS_CORETYPE"
)

#: The environment as the benchmark found it, before skfmnist set its defaults for TensorFlow.
_ENVIRONMENT = dict(os.environ)

TITLE = """# skfmnist benchmarks

Written by the benchmark scripts; every figure comes from the command quoted at the top of its section, on the
machine it names. Earlier runs are in the git history of this file. To run them all (the data where
`SKFMNIST_DATA` points; skorch and PyTorch for the peer part: `pip install -e ".[bench]"`):

```bash
python benchmarks/bench_compare.py --out benchmarks/RESULTS.md    # the README's main command (its budget: 30 min)
python benchmarks/bench_accuracy.py --out benchmarks/RESULTS.md   # 3 seeds of each default pipeline (about 35 min)
python benchmarks/bench_speed.py --out benchmarks/RESULTS.md      # overhead, peer, parts, grid (about 25 min)
python benchmarks/model_selection.py --render benchmarks/selection.jsonl --out benchmarks/RESULTS.md
python benchmarks/model_selection.py --render-ablation benchmarks/ablation.jsonl --out benchmarks/RESULTS.md
python benchmarks/bench_backends.py --out benchmarks/RESULTS.md   # the CNN on each backend (about 15 min)
python benchmarks/device_check.py --out benchmarks/RESULTS.md     # on a GPU only; exits 0 without one
```
"""

#: The order of the sections in RESULTS.md (others follow).
ORDER = ("targets", "main-job", "accuracy", "accuracy-float32", "accuracy-best", "ablation-deep_cnn",
         "ablation-cnn", "ablation-dense",
         "speed-overhead", "speed-peer", "speed-parts", "speed-grid", "backends", "device", "selection")


def command_line(script, argv=None):
    """The shell command that ran ``script`` with ``argv``, quoted so that it runs as pasted.

    ``argv`` defaults to ``sys.argv[1:]``; arguments holding spaces or quotes
    (a ``--params`` JSON object) are quoted with :func:`shlex.join`.  The
    variables of :data:`KERNEL_ENV` that the environment set come first
    (``ONEDNN_MAX_CPU_ISA=AVX2 python ...``), not those that skfmnist set
    itself when it imported TensorFlow.
    """
    env = [f"{k}={shlex.quote(_ENVIRONMENT[k])}" for k in KERNEL_ENV if k in _ENVIRONMENT]
    return " ".join([*env, shlex.join(["python", f"benchmarks/{script}", *(sys.argv[1:] if argv is None else argv)])])


def header(command, settings):
    """Lines naming the command, the date, the machine, the library versions and TensorFlow's CPU kernels."""
    v = versions()
    # present where the benchmark ran TensorFlow in this process
    kernels = f" TensorFlow's CPU kernels: {v['tensorflow_cpu_kernels']}." if "tensorflow_cpu_kernels" in v else ""
    return [
        f"Produced by `{command}` on {time.strftime('%Y-%m-%d')}.", "",
        f"Machine: {v['cpu']}, {v['cores']} cores. Python {v['python']}, tensorflow {v['tensorflow']}, "
        f"keras {v['keras']} on {v['keras_backend']}, scikeras {v['scikeras']}, scikit-learn {v['scikit-learn']}, "
        f"numpy {v['numpy']}."
        f"{kernels}", "",
        f"Settings: {settings}", "",
    ]


def table(rows, cols):
    """Markdown table; ``cols`` is ``[(header, (key, format))]``."""
    head = "| " + " | ".join(h for h, _ in cols) + " |\n|" + "---|" * len(cols) + "\n"
    body = "".join(
        "| " + " | ".join(fmt.format(r[key]) if key in r else "n/a" for _, (key, fmt) in cols) + " |\n"
        for r in rows
    )
    return head + body


def _sections(text):
    """``{name: block}`` of the marked sections of ``text``, in their order."""
    pattern = re.compile(r"<!-- begin (\S+) -->\n.*?<!-- end \1 -->\n?", re.S)
    return {m.group(1): m.group(0).rstrip() + "\n" for m in pattern.finditer(text)}


def write_section(path, name, text):
    """Replace (or add) section ``name`` of the Markdown file ``path``, atomically.

    Parameters
    ----------
    path : str or Path
        The results file; created with a title if missing.
    name : str
        Section name used in the markers.
    text : str
        The section's Markdown.
    """
    path = Path(path)
    sections = _sections(path.read_text()) if path.exists() else {}
    sections[name] = f"<!-- begin {name} -->\n{text.rstrip()}\n<!-- end {name} -->\n"
    ordered = [sections[n] for n in ORDER if n in sections] + [b for n, b in sections.items() if n not in ORDER]
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(TITLE + "\n" + "\n".join(ordered))
    os.replace(tmp, path)


#: The fixed accuracy (%) of the network alone whose first epoch, and training seconds, a run reports: time to
#: accuracy, as airbench measures it (test accuracy in bench_accuracy.py, validation accuracy in the ablations).
CURVE_THRESHOLDS = {"dense": 90.0, "cnn": 92.5, "deep_cnn": 93.5}


def epochs_to(accuracies, threshold):
    """The first epoch (from 1) whose accuracy in ``accuracies`` (one per epoch) reaches ``threshold``, or None."""
    return next((epoch for epoch, accuracy in enumerate(accuracies, start=1) if accuracy >= threshold), None)

#: Test accuracy (%, mean of the seeds), training seconds (each seed) and the worst seed's accuracy (%, or None)
#: each default pipeline must reach.
ACCURACY_TARGETS = {"dense": (90.5, 30.0, None), "cnn": (93.3, 60.0, None), "deep_cnn": (94.0, 300.0, 93.8)}

#: Targets of documented parameter sets (``bench_accuracy.py --params``): name -> (model, params, accuracy,
#: seconds, worst seed's accuracy or None).
PARAMS_TARGETS = {
    "deep_cnn in float32": ("deep_cnn", {"compute_dtype": "float32"}, 94.0, 900.0, None),
    "deep_cnn, best setting": ("deep_cnn", {"epochs": 30}, 94.5, 900.0, None),
}


def params_key(params):
    """The key of the figures of a ``--params`` run in results.json."""
    return "accuracy:" + json.dumps(params, sort_keys=True)


def percent(value, threshold=None):
    """``value`` with 2 decimals, or 3 where 2 would round it up to ``threshold`` that it falls short of."""
    text = f"{value:.2f}"
    if threshold is not None and value < threshold <= float(text):
        text = f"{value:.3f}"
    return text


def _accuracy_row(name, run, accuracy, seconds, worst, section):
    met = run["acc_mean"] >= accuracy and run["max_s"] <= seconds and (worst is None or run["acc_min"] >= worst)
    worst_text = "" if worst is None else f", worst seed >= {worst}%"
    worst_figure = "" if "acc_min" not in run else f", worst {percent(run['acc_min'], worst)}%"
    return {"target": f"{name}: test accuracy >= {accuracy}%{worst_text} in <= {seconds:.0f} s of training",
            "figure": f"{percent(run['acc_mean'], accuracy)}% (mean of {run['n_seeds']} seeds{worst_figure}), "
                      f"at most {run['max_s']:.0f} s",
            "met": "yes" if met else "**no**", "section": section}


def _target_rows(data):
    """The targets table's rows from the recorded figures (a part not run yet shows n/a)."""
    rows = []
    for run in data.get("accuracy", []):
        rows.append(_accuracy_row(run["model"], run, *ACCURACY_TARGETS[run["model"]], run.get("section", "accuracy")))
    for name, (model, params, accuracy, seconds, worst) in PARAMS_TARGETS.items():
        for run in data.get(params_key(params), []):
            if run["model"] == model:
                rows.append(_accuracy_row(name, run, accuracy, seconds, worst, run.get("section", "accuracy")))
    job = data.get("main_job")
    if job:
        met = job["budget_s"] is not None and job["wall_s"] <= job["budget_s"] and job["tested_pairs"] == job["pairs"]
        rows.append({"target": "main job: every preset searched with 3-fold CV, refit, tested; every pair t-tested; "
                               f"within {(job['budget_s'] or 0) / 60:.0f} min",
                     "figure": f"{job['wall_s'] / 60:.1f} min, {job['tested_pairs']} of {job['pairs']} pairs "
                               f"t-tested ({job['n_train']} training images)",
                     "met": "yes" if met else "**no**", "section": "main-job"})
    overhead = data.get("overhead", [])
    if overhead:
        fit, predict = max(r["fit_ratio"] for r in overhead), max(r["predict_ratio"] for r in overhead)
        rows.append({"target": "wrapper overhead: fit <= 1.05x, predict <= 1.10x plain Keras",
                     "figure": f"fit {fit:.2f}x, predict {predict:.2f}x (the largest over the models)",
                     "met": "yes" if fit <= 1.05 and predict <= 1.10 else "**no**", "section": "speed-overhead"})
    peer = data.get("peer") or []
    if peer:
        train, predict = min(r["train_same"] for r in peer), min(r["predict_same"] for r in peer)
        rows.append({"target": "training and prediction >= 1.2x skorch, same precision",
                     "figure": f"training {train:.2f}x, prediction {predict:.2f}x (the smallest over the models)",
                     "met": "yes" if min(train, predict) >= 1.2 else "**no**", "section": "speed-peer"})
    for part in data.get("parts", []):
        rows.append({"target": f"{part['part']} in the {part['model']} pipeline: fit >= 1.10x faster than stock",
                     "figure": f"{part['ratio']:.2f}x", "met": "yes" if part["ratio"] >= 1.10 else "**no**",
                     "section": "speed-parts"})
    for grid in data.get("grid", []):
        rows.append({"target": f"{grid['model']} grid search, 2 workers: the ratios measured so far (reported)",
                     "figure": f"fresh {grid['fresh']:.2f}x, warm {grid['warm']:.2f}x, threads {grid['threads']:.2f}x, "
                               f"1 thread per op {grid['threads_1t']:.2f}x",
                     "met": "reported", "section": "speed-grid"})
    return rows


def _store(path):
    """The figures kept next to ``path`` (``{part: rows}``) and the file that keeps them."""
    store = Path(path).with_name("results.json")
    return (json.loads(store.read_text()) if store.exists() else {}), store


def record_models(path, part, rows):
    """:func:`record` the per-model ``rows`` of ``part``, keeping its figures of the models they do not cover."""
    models = {row["model"] for row in rows}
    kept = [row for row in _store(path)[0].get(part, []) if row["model"] not in models]
    record(path, {part: kept + rows})


def record(path, figures):
    """Keep the newest ``figures`` (``{part: rows}``) next to ``path`` and rewrite its "targets" section."""
    data, store = _store(path)
    data.update(figures)
    store.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    machines = _machines(Path(path).read_text()) if Path(path).exists() else {}
    rows = [{**row, "machine": machines.get(row["section"], "n/a")} for row in _target_rows(data)]
    text = "\n".join([
        "## Targets", "",
        "The newest figure of every target, from the sections below (each names its run and the machine it ran "
        "on; seconds compare only between figures of one machine).", "",
        table(rows, [("target", ("target", "{}")), ("newest figure", ("figure", "{}")), ("met", ("met", "{}")),
                     ("section", ("section", "{}")), ("machine", ("machine", "{}"))]),
    ])
    write_section(path, "targets", text)


def _machines(text):
    """``{section: CPU}`` from the "Machine: <CPU>, <n> cores." line of each section of ``text`` that has one."""
    found = {}
    for name, block in _sections(text).items():
        match = re.search(r"^Machine: (.+?), \d+ cores\.", block, re.M)
        if match:
            found[name] = match.group(1)
    return found
