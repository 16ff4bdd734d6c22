"""The main job as the README runs it: the tuned, cross-validated comparison within its budget.

Run (writes the "main-job" section of benchmarks/RESULTS.md)::

    python benchmarks/bench_compare.py --out benchmarks/RESULTS.md

runs ``skfmnist compare --out DIR --overwrite`` (the README's main command:
every preset searched over its grid by successive halving with 3-fold
cross-validation on all 60,000 training images, within the default budget,
refit and tested once) in a new process, timed from start to exit, and
writes where the time went (per model and per rung of its search), what each
search chose, the test accuracies and every pair's tests.  ``--report DIR``
renders a report that the command already wrote (its own seconds, from
``metrics.json``) instead of running it; arguments after ``--`` go to
``skfmnist compare`` (``-- --quick`` is the smoke test).
"""

# SPDX-License-Identifier: MIT

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import command_line, header, record, table, write_section  # noqa: E402


def run_compare(report, extra=()):
    """Run ``skfmnist compare --out report --overwrite [extra]`` in a new process; its wall seconds."""
    argv = [sys.executable, "-m", "skfmnist", "compare", "--out", str(report), "--overwrite", *extra]
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=sys.stdout, stderr=sys.stderr)
    return time.perf_counter() - start


def _params(params):
    return ", ".join(f"{k.split('__')[-1]}={v}" for k, v in params.items()) or "defaults"


def rung_rows(model, search_rows, n_folds):
    """Per rung of a model's search: candidates, epochs reached, training seconds of all its folds, best score."""
    rows = []
    for rung in sorted({r["rung"] for r in search_rows}):
        here = [r for r in search_rows if r["rung"] == rung]
        best = max(here, key=lambda r: r["mean"])
        rows.append({"model": model, "rung": rung + 1, "candidates": len(here),
                     "epochs": "/".join(str(e) for e in sorted({r["epochs"] for r in here})),
                     "train_s": sum(r["fit_seconds"] for r in here) * n_folds,
                     "best": f"{100 * best['mean']:.2f}% ({_params(best['params'])})"})
    return rows


def render(metrics, wall_seconds, command, compare_command=None):
    """The "main-job" section's Markdown and its figures for results.json.

    ``compare_command`` is the command as shown (default: the one ``metrics.json`` recorded).
    """
    from skfmnist.evaluation._report import _search_name

    meta = metrics["metadata"]
    plan = meta.get("plan") or {}
    budget = meta.get("budget_seconds")
    models = {row["model"]: row for row in metrics["models"]}
    n_folds = meta.get("cv") or 3
    shown = compare_command or metrics.get("command", "skfmnist compare")
    lines = ["## The main job: tuned, cross-validated comparison", "", *header(command, (
        f"`{shown}`; {meta['n_train']} training / {meta['n_test']} test images, "
        f"{n_folds}-fold stratified cross-validation, budget "
        + (f"{budget / 60:.0f} min" if budget else "none") + f", random_state={meta['random_state']}"))]
    within = "n/a" if not budget else ("yes" if wall_seconds <= budget else "**no**")
    lines += [f"Wall time of the whole command: **{wall_seconds / 60:.1f} min** (within the budget: {within}; "
              f"the probes that planned it: {plan.get('probe_seconds', 0):.0f} s).", ""]
    per_model = [{"model": m, "search": _search_name(plan.get(m, {}).get("search", meta.get("search"))),
                  "predicted": plan.get(m, {}).get("predicted_seconds", float("nan")),
                  "actual": plan.get(m, {}).get("seconds", float("nan")),
                  "test": 100 * row["test_accuracy"], "cv": 100 * row["cv_mean"], "cv_std": 100 * row["cv_std"],
                  "params": _params(row["best_params"] if isinstance(row["best_params"], dict) else {}),
                  "refit": row["fit_seconds"]}
                 for m, row in models.items()]
    lines += [table(per_model, [("model", ("model", "{}")), ("search", ("search", "{}")),
                                ("predicted s", ("predicted", "{:.0f}")), ("actual s", ("actual", "{:.0f}")),
                                ("refit s", ("refit", "{:.0f}")), ("chosen", ("params", "{}")),
                                ("CV accuracy %", ("cv", "{:.2f}")), ("CV std", ("cv_std", "{:.2f}")),
                                ("test accuracy %", ("test", "{:.2f}"))]), ""]
    rungs = [r for m in models for r in rung_rows(m, metrics.get("search_results", {}).get(m, []), n_folds)]
    if rungs:
        lines += ["Where each search's training went (seconds of all folds' training in the rung; rungs before "
                  "the last are scored without test-time views):", "",
                  table(rungs, [("model", ("model", "{}")), ("rung", ("rung", "{}")),
                                ("candidates", ("candidates", "{}")), ("epochs", ("epochs", "{}")),
                                ("training s", ("train_s", "{:.0f}")), ("best mean CV accuracy", ("best", "{}"))]),
                  ""]
    pairs = [{"pair": f"{p['model_a']} - {p['model_b']}", "diff": 100 * p["accuracy_difference"],
              "mcnemar": p["mcnemar_pvalue_holm"], "ttest": p.get("cv_ttest_pvalue_holm", float("nan"))}
             for p in metrics["pairwise"]]
    if pairs:
        lines += ["Every pair (Holm-adjusted over the pairs):", "",
                  table(pairs, [("pair", ("pair", "{}")), ("test accuracy difference", ("diff", "{:+.2f} pts")),
                                ("McNemar p", ("mcnemar", "{:.3g}")), ("corrected CV t-test p", ("ttest", "{:.3g}"))]),
                  ""]
    figures = {"wall_s": wall_seconds, "budget_s": budget, "n_train": meta["n_train"],
               "tested_pairs": sum(not math.isnan(p["ttest"]) for p in pairs), "pairs": len(pairs),
               "models": {m: {"search": r["search"], "seconds": r["actual"], "test": r["test"]} for m, r in
                          zip(models, per_model)}}
    return "\n".join(lines), figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="RESULTS.md to write the section into")
    parser.add_argument("--report", type=Path, default=None,
                        help="render this report folder of `skfmnist compare` instead of running the command")
    parser.add_argument("compare_args", nargs="*", help="after --: more arguments of skfmnist compare")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        report = args.report
        if report is None:
            report = Path(work) / "report"
            wall = run_compare(report, args.compare_args)
        metrics = json.loads((report / "metrics.json").read_text())
        if args.report is not None:
            wall = metrics["metadata"].get("seconds")
            if wall is None:
                parser.error(f"{report}/metrics.json has no seconds of the command (written by an older skfmnist)")
    shown = None if args.report is not None else shlex.join(["skfmnist", "compare", *args.compare_args])
    text, figures = render(metrics, wall, command_line("bench_compare.py", argv), shown)
    print(text)
    if args.out is not None and not args.compare_args:  # (a run with other arguments is not the main job)
        write_section(args.out, "main-job", text)
        record(args.out, {"main_job": figures})
    elif args.out is not None:
        print(f"not written to {args.out}: `skfmnist compare {shlex.join(args.compare_args)}` is not the main job",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
