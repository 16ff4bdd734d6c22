"""Write a comparison as a self-contained report directory (atomically)."""

# SPDX-License-Identifier: MIT

import base64
import datetime
import html
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..utils import versions
from ._plot import PredictionGridDisplay, TrainingCurvesDisplay, plot_per_class_f1

__all__ = ["check_report_target", "write_report"]

#: What a report folder holds: its files by name or by prefix and suffix, and a folder of model files.
_REPORT_FILES = {"report.md", "report.html", "metrics.json"}
_REPORT_PATTERNS = (("classification_report_", ".txt"), ("", ".png"))
_REPORT_MODELS = ("models", ".skfmnist")


def _foreign_entries(folder):
    """Entries of ``folder`` that a report of skfmnist does not hold (all of them if it is not a report)."""
    try:
        metrics = json.loads((folder / "metrics.json").read_text())
    except (OSError, ValueError):
        metrics = None
    if not (isinstance(metrics, dict) and {"command", "models", "pairwise", "versions"} <= set(metrics)):
        return sorted(entry.name for entry in folder.iterdir()) or None
    foreign = []
    for entry in folder.iterdir():
        name = entry.name
        if entry.is_symlink():
            foreign.append(name)
        elif entry.is_file() and (name in _REPORT_FILES or any(
                name.startswith(a) and name.endswith(b) for a, b in _REPORT_PATTERNS)):
            continue
        elif entry.is_dir() and name == _REPORT_MODELS[0]:
            foreign += [f"{name}/{m.name}" for m in entry.iterdir()
                        if not (m.is_file() and not m.is_symlink() and m.name.endswith(_REPORT_MODELS[1]))]
        else:
            foreign.append(name)
    return sorted(foreign)


def check_report_target(directory, *, overwrite=False, inputs=()):
    """Check that a report may be written to ``directory`` without losing anything.

    A new folder is always fine.  An existing one is replaced only with
    ``overwrite``, and only if it is a report folder that skfmnist wrote and
    that holds nothing else; no path in ``inputs`` (the files and folders
    the run reads) may be ``directory`` or lie inside it.

    Parameters
    ----------
    directory : str or path-like
        Where the report is to go.
    overwrite : bool, default=False
        Whether an existing report folder may be replaced.
    inputs : iterable of str or path-like, default=()
        Files and folders the run reads.

    Raises
    ------
    FileExistsError
        When writing the report would replace or delete something that is
        not an earlier report of skfmnist, or anything at all without
        ``overwrite``.
    """
    directory = Path(directory)
    target = directory.resolve()
    for path in inputs:
        source = Path(path).resolve()
        if source == target or target in source.parents:
            raise FileExistsError(
                f"{directory} holds {path}, which this run reads: the report must go elsewhere (a report folder "
                "is replaced as a whole)."
            )
    if not (directory.exists() or directory.is_symlink()):
        return
    if not overwrite:
        raise FileExistsError(f"{directory} already exists; choose another folder or pass overwrite=True.")
    if directory.is_symlink() or not directory.is_dir():
        raise FileExistsError(
            f"{directory} is {'a link' if directory.is_symlink() else 'a file'}, not a report folder: overwrite "
            "replaces only a report folder that skfmnist wrote. Choose another folder."
        )
    foreign = _foreign_entries(directory)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise FileExistsError(
            f"{directory} is not a report folder that skfmnist wrote, or holds other files too ({shown}): "
            "overwrite replaces only skfmnist's own report folders. Choose another folder."
        )

_TABLE_COLUMNS = {
    "test_accuracy": ("test accuracy", "{:.4f}"),
    "macro_f1": ("macro F1", "{:.4f}"),
    "cv_mean": ("CV mean", "{:.4f}"),
    "cv_std": ("CV std", "{:.4f}"),
    "fit_seconds": ("fit s", "{:.1f}"),
    "predict_images_per_s": ("predict img/s", "{:,.0f}"),
    "trainable_params": ("trainable params", "{:,.0f}"),
    "epochs_run": ("epochs", "{:.0f}"),
    "compute_dtype": ("arithmetic", "{}"),
    "best_params": ("best params", "{}"),
}


def _fmt(value, fmt):
    if isinstance(value, float) and np.isnan(value):
        return "n/a"
    if isinstance(value, dict):
        return ", ".join(f"{k.split('__')[-1]}={v}" for k, v in value.items()) or "defaults"
    try:
        return fmt.format(value)
    except (ValueError, TypeError):
        return str(value)


def _results_rows(result):
    header = ["model"] + [label for label, _ in _TABLE_COLUMNS.values()]
    rows = [
        [name] + [_fmt(row[col], fmt) for col, (_, fmt) in _TABLE_COLUMNS.items()]
        for name, row in result.table.iterrows()
    ]
    return header, rows


def _pairwise_rows(result):
    header = [
        "A",
        "B",
        "acc. diff (A-B)",
        "A right/B wrong",
        "A wrong/B right",
        "McNemar p",
        "Holm p",
        "CV t-test p",
        "CV t-test Holm p",
        "significant",
    ]
    rows = [
        [
            r.model_a,
            r.model_b,
            f"{r.accuracy_difference * 100:+.2f} pts",
            str(r.a_right_b_wrong),
            str(r.a_wrong_b_right),
            f"{r.mcnemar_pvalue:.3g}",
            f"{r.mcnemar_pvalue_holm:.3g}",
            _fmt(r.cv_ttest_pvalue, "{:.3g}"),
            _fmt(getattr(r, "cv_ttest_pvalue_holm", float("nan")), "{:.3g}"),
            "yes" if r.significant else "no",
        ]
        for r in result.pairwise.itertuples()
    ]
    return header, rows


def _search_name(search):
    if search in ("grid", None):
        return {"grid": "every candidate with all its epochs", None: "no search"}[search]
    return f"successive halving by {3 if search == 'halving' else search}"


def _search_rows(table):
    splits = [c for c in table.columns if c.startswith("split")]
    header = ["candidate", "rung", "epochs", "fold scores", "mean", "std", "fold training s"]
    rows = [
        [_fmt(r["params"], "{}") + (" (chosen)" if r["best"] else ""), str(int(r["rung"]) + 1),
         _fmt(r["epochs"], "{:.0f}"), ", ".join(f"{r[c]:.4f}" for c in splits), f"{r['mean']:.4f}",
         f"{r['std']:.4f}", f"{r['cumulative_seconds']:.1f}"]
        for _, r in table.iterrows()
    ]
    return header, rows


def _search_figure(model, table):
    """Mean validation accuracy of every candidate against a fold's training seconds, rung by rung."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    labels = table["params"].map(lambda p: _fmt(p, "{}"))
    for label in dict.fromkeys(labels):
        rows = table[labels == label].sort_values("rung")
        chosen = bool(rows["best"].any())
        ax.plot(rows["cumulative_seconds"], rows["mean"], marker="o", lw=2.5 if chosen else 1.2,
                label=label + (" (chosen)" if chosen else ""))
    ax.set_xlabel("training seconds of one fold so far")
    ax.set_ylabel("mean cross-validated accuracy")
    ax.set_title(f"{model}: the search, candidate by candidate")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _save_fig(fig, path):
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)


def _figures(result, folder):
    """Draw every figure into ``folder``; return [(title, filename)]."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    figures = []
    names = result.class_names
    images = np.asarray(result.X_test)
    shape = result.metadata.get("image_shape")
    if images.ndim == 2 and shape:
        images = images.reshape(len(images), *shape)
    if images.dtype.kind == "f" and images.size and images.max() > 1:  # matplotlib shows floats in [0, 1]
        images = images / images.max()
    for model in result.table.index:
        cm = result.confusion_matrices[model]
        fig, ax = plt.subplots(figsize=(8, 7))
        ConfusionMatrixDisplay(
            cm / np.maximum(cm.sum(axis=1, keepdims=True), 1), display_labels=result.display_labels[model]
        ).plot(ax=ax, xticks_rotation=45, values_format=".2f", colorbar=False)
        ax.set_title(f"{model}: normalized confusion matrix (rows: true class)")
        fig.tight_layout()
        _save_fig(fig, folder / f"confusion_{model}.png")
        figures.append((f"{model}: confusion matrix", f"confusion_{model}.png"))
        if result.histories.get(model, {}).get("loss"):
            display = TrainingCurvesDisplay(result.histories[model], name=model).plot()
            _save_fig(display.figure_, folder / f"curves_{model}.png")
            figures.append((f"{model}: training curves", f"curves_{model}.png"))
        display = PredictionGridDisplay.from_predictions(
            images, result.y_test, result.predictions[model], proba=result.probabilities[model], kind="wrong",
            n_images=20, class_names=names, title=f"{model}: most confidently wrong predictions",
        )
        _save_fig(display.figure_, folder / f"wrong_{model}.png")
        figures.append((f"{model}: most confident mistakes", f"wrong_{model}.png"))
    for model, table in result.search_results.items():
        _save_fig(_search_figure(model, table), folder / f"search_{model}.png")
        figures.append((f"{model}: the search (validation accuracy against training seconds)",
                        f"search_{model}.png"))
    best = result.best_model
    display = PredictionGridDisplay.from_predictions(
        images, result.y_test, result.predictions[best], proba=result.probabilities[best], kind="sample",
        n_images=20, class_names=names, title=f"Sample test images, predictions of {best}",
    )
    _save_fig(display.figure_, folder / "samples.png")
    figures.append((f"Sample test images with {best}'s predictions", "samples.png"))
    f1 = {}
    class_keys = None
    for model, rep in result.report_dicts.items():
        keys = [k for k in rep if k not in ("accuracy", "macro avg", "weighted avg", "micro avg")]
        class_keys = class_keys or keys
        f1[model] = [rep.get(k, {}).get("f1-score", 0.0) for k in class_keys]
    ax = plot_per_class_f1(f1, class_keys)
    _save_fig(ax.figure, folder / "f1_per_class.png")
    figures.append(("Per-class F1 across models", "f1_per_class.png"))
    return figures


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return repr(obj)


def _metrics(result, command):
    table = result.table.copy()
    table["best_params"] = [{k: repr(v) for k, v in p.items()} for p in table["best_params"]]
    return _jsonable(
        {
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "command": command,
            "best_model": result.best_model,
            "models": table.reset_index().to_dict(orient="records"),
            "pairwise": result.pairwise.to_dict(orient="records"),
            "cv_scores": result.cv_scores,
            "classification_reports": result.report_dicts,
            "confusion_matrices": result.confusion_matrices,
            "histories": result.histories,
            "class_names": result.class_names,
            "metadata": result.metadata,
            "search_results": {m: t.assign(params=t["params"].map(lambda p: {k: repr(v) for k, v in p.items()}))
                               .to_dict(orient="records") for m, t in result.search_results.items()},
            "versions": versions(),
        }
    )


def _blocks(result, figures, command):
    """The report's content once, rendered to Markdown and to HTML."""
    meta = result.metadata
    blocks = [
        ("h1", "skfmnist model comparison"),
        (
            "p",
            f"{len(result.table)} models trained on {meta['n_train']:,} images and evaluated once on "
            f"{meta['n_test']:,} held-out test images. Model selection used the training data only "
            f"({meta['cv']}-fold stratified cross-validation)."
            if meta["cv"]
            else f"{len(result.table)} models trained on {meta['n_train']:,} images and evaluated once on "
            f"{meta['n_test']:,} held-out test images (no cross-validation).",
        ),
        (
            "p",
            f"Best test accuracy: **{result.best_model}** ({result.table['test_accuracy'].max():.4f}). "
            f"random_state = {meta['random_state']}.",
        ),
        ("h2", "Results"),
        ("table", _results_rows(result)),
    ]
    searches = result.search_results
    plan = meta.get("plan")
    if searches:
        n_folds = sum(c.startswith("split") for c in next(iter(searches.values())).columns)
        blocks += [("h2", "Model selection"),
                   ("p", f"Each searched model's candidates, scored by {n_folds}-fold stratified cross-validation "
                         "on the training images; the chosen one was refit on all of them. Successive halving "
                         "trains every candidate for a fraction of its epochs and the best of them on, from the "
                         "weights they reached, to all their epochs at the last rung; its rungs before the last "
                         "score the image presets without their test-time views, the last rung (which chooses) "
                         "with them.")]
        if plan:
            blocks += [("p", f"Time budget: {meta['budget_seconds'] / 60:.0f} minutes. Each candidate was timed "
                             f"on a small probe first ({plan['probe_seconds']:.0f} s), and each model got the most "
                             "thorough search predicted to fit:"),
                       ("table", (["model", "search", "predicted s", "actual s"],
                                  [[m, _search_name(p["search"]), f"{p['predicted_seconds']:.0f}",
                                    _fmt(p.get("seconds", float("nan")), "{:.0f}")]
                                   for m, p in plan.items() if m != "probe_seconds"]))]
        for model, table in searches.items():
            how = _search_name(plan[model]["search"] if plan else meta.get("search"))
            blocks += [("h3", f"{model} ({how})"), ("table", _search_rows(table))]
    blocks += [
        ("h2", "Are the differences real?"),
        (
            "p",
            "McNemar's test compares two models on the same test images, counting the images "
            "exactly one of them gets right; p-values are Holm-adjusted over all pairs. Where both "
            "models were cross-validated on the same folds, the Nadeau-Bengio corrected t-test on "
            "the fold scores is shown too.",
        ),
    ]
    if len(result.pairwise):
        blocks.append(("table", _pairwise_rows(result)))
        blocks.extend(("li", text) for text in result.conclusions())
    else:
        blocks.append(("p", "Only one model: nothing to compare."))
    blocks.append(("h2", "Figures"))
    for title, filename in figures:
        blocks.extend([("h3", title), ("img", (title, filename))])
    blocks.append(("h2", "Classification reports"))
    for model, text in result.reports.items():
        blocks.extend([("h3", model), ("pre", text)])
    blocks.extend(
        [
            ("h2", "Reproduce"),
            ("pre", command),
            ("h2", "Environment"),
            ("pre", "\n".join(f"{k}: {v}" for k, v in versions().items())),
        ]
    )
    return blocks


def _bold(text, to_html):
    parts = text.split("**")
    if not to_html:
        return text
    return "".join(f"<strong>{html.escape(p)}</strong>" if i % 2 else html.escape(p) for i, p in enumerate(parts))


def _markdown(blocks):
    out = []
    previous = None
    for kind, value in blocks:
        if previous == "li" and kind != "li":
            out.append("")  # end the list before the next block
        previous = kind
        if kind in ("h1", "h2", "h3"):
            out.append(f"{'#' * int(kind[1])} {value}\n")
        elif kind == "p":
            out.append(f"{value}\n")
        elif kind == "li":
            out.append(f"- {value}")
        elif kind == "table":
            header, rows = value
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "---|" * len(header))
            out.extend("| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in rows)
            out.append("")
        elif kind == "img":
            title, filename = value
            out.append(f"![{title}]({filename})\n")
        elif kind == "pre":
            out.append(f"```\n{value.rstrip()}\n```\n")
    return "\n".join(out) + "\n"


def _html(blocks, folder):
    body = []
    for kind, value in blocks:
        if kind in ("h1", "h2", "h3"):
            body.append(f"<{kind}>{html.escape(value)}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{_bold(value, True)}</p>")
        elif kind == "li":
            body.append(f"<ul><li>{html.escape(value)}</li></ul>")
        elif kind == "table":
            header, rows = value
            head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
            cells = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>")
        elif kind == "img":
            title, filename = value
            data = base64.b64encode((folder / filename).read_bytes()).decode()
            body.append(f'<img alt="{html.escape(title)}" src="data:image/png;base64,{data}">')
        elif kind == "pre":
            body.append(f"<pre>{html.escape(value)}</pre>")
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;font-size:90%}"
        "img{max-width:100%}pre{background:#f6f6f6;padding:1em;overflow-x:auto}"
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>skfmnist model comparison</title>"
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_report(result, directory, *, overwrite=False, save_models=True, command=None):
    """Write ``report.md``, ``report.html``, figures, ``metrics.json``, reports and models.

    Everything is written into a temporary sibling folder that is renamed
    into place at the end, so an interrupted run never leaves a report that
    looks complete.

    Parameters
    ----------
    result : ComparisonResult
        What to report.
    directory : str or path-like
        Target folder (must not exist unless ``overwrite``).
    overwrite : bool, default=False
        Replace an existing report folder that skfmnist wrote (and nothing
        else: see :func:`check_report_target`).
    save_models : bool, default=True
        Save each fitted pipeline under ``models/``.
    command : str, default=None
        The command that produced the result (default: this process's).

    Returns
    -------
    directory : pathlib.Path
    """
    directory = Path(directory)
    check_report_target(directory, overwrite=overwrite)
    directory.parent.mkdir(parents=True, exist_ok=True)
    command = command or " ".join(["skfmnist" if sys.argv[0].endswith("skfmnist") else sys.argv[0], *sys.argv[1:]])
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".partial", dir=directory.parent))
    try:
        figures = _figures(result, tmp)
        (tmp / "metrics.json").write_text(json.dumps(_metrics(result, command), indent=2))
        for model, text in result.reports.items():
            (tmp / f"classification_report_{model}.txt").write_text(text)
        if save_models:
            from ..persistence import save

            (tmp / "models").mkdir()
            for model, estimator in result.estimators.items():
                save(estimator, tmp / "models" / f"{model}.skfmnist")
        blocks = _blocks(result, figures, command)
        (tmp / "report.html").write_text(_html(blocks, tmp))
        (tmp / "report.md").write_text(_markdown(blocks))  # written last
        if directory.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".old", dir=directory.parent))
            os.replace(directory, old / "previous")
            os.replace(tmp, directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory
