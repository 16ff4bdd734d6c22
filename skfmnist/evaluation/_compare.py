"""compare_models: grid search on the training data, one look at the test set."""

# SPDX-License-Identifier: MIT

import dataclasses
import hashlib
import itertools
import sys
import time

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate

from ..model_selection import HalvingEpochsSearchCV
from ..model_selection._halving import _classifier, _duration, candidate_epochs
from ..utils._progress import Progress
from ._report import _search_name
from ._stats import corrected_cv_ttest, holm, mcnemar_test

__all__ = ["ComparisonResult", "compare_models"]

ALPHA = 0.05


def _array_sha256(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(np.asarray(a))
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes() if a.dtype != object else repr(a.tolist()).encode())
    return h.hexdigest()


def _as_model_dict(models):
    from ..pipeline import MODEL_NAMES, make_model_pipeline

    if isinstance(models, dict):
        return dict(models)
    return {name: make_model_pipeline(name) for name in (MODEL_NAMES if models is None else models)}


def _seed_everything(estimator, random_state):
    params = {k: random_state for k in estimator.get_params() if k == "random_state" or k.endswith("__random_state")}
    return estimator.set_params(**params) if params else estimator


def _early_score_params(estimator):
    """Test-time views off, for the cheap scores of a halving search's early rungs (None: no views to turn off)."""
    prefix = f"{estimator.steps[-1][0]}__" if hasattr(estimator, "steps") else ""
    params = estimator.get_params()
    early = {f"{prefix}test_time_flip": False, f"{prefix}test_time_shift": 0}
    return early if set(early) <= set(params) else None


class _RunClock:
    """The time left for a whole comparison: the model at work's own estimate plus the plan for the models after it.

    The plan's seconds of the models still to come are scaled by how the
    finished models' actual seconds compared with their plan.
    """

    def __init__(self, plan, names):
        self.plan, self.names = plan, list(names)
        self.actual, self.predicted = 0.0, 0.0

    def finished(self, name, seconds):
        if self.plan is not None:
            self.actual += seconds
            self.predicted += self.plan[name]["predicted_seconds"]

    def left(self, name, model_left):
        """Seconds left in all, or None without a plan, given ``model_left`` of model ``name``."""
        if self.plan is None:
            return None
        after = self.names[self.names.index(name) + 1:]
        scale = self.actual / self.predicted if self.predicted else 1.0
        return model_left + scale * sum(self.plan[m]["predicted_seconds"] for m in after)

    def callback(self, name):
        """A HalvingEpochsSearchCV callback that prints a line per finished fit, with the time left in all."""

        def report(info):
            left = self.left(name, info["seconds_left"])
            when = (f"about {_duration(left)} left in all" if left is not None
                    else f"about {_duration(info['seconds_left'])} left of this search")
            params = ", ".join(f"{k.split('__')[-1]}={v!r}" for k, v in info["params"].items())
            print(f"[compare] {name}: rung {info['rung']}/{info['n_rungs']}, fit {info['fit']}/{info['n_fits']} "
                  f"({params}; fold {info['fold']}, {info['epochs']} epochs): {info['score']:.4f} in "
                  f"{info['fit_seconds']:.0f} s; {when}", file=sys.stderr, flush=True)

        return report


def _image_shape(estimators):
    """``(height, width, channels)`` of the images a fitted pipeline took, for the figures; None for rows."""
    for estimator in estimators:
        for step in [s for _, s in estimator.steps] if hasattr(estimator, "steps") else [estimator]:
            shape = getattr(step, "image_shape_", None) or getattr(step, "input_shape_", None)
            if shape is not None and len(shape) == 3:
                return tuple(int(d) for d in shape)
    return None


@dataclasses.dataclass(repr=False)
class ComparisonResult:
    """Everything :func:`compare_models` found, ready to inspect or save.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per model: test accuracy, macro F1, CV mean and std, best
        parameters, fit seconds, predict throughput (images/s), trainable
        parameters, epochs run, compute dtype (the resolved ``compute_dtype_``).
    pairwise : pandas.DataFrame
        One row per pair of models: accuracy difference, McNemar's test on
        the test set (raw and Holm-adjusted p-value), the corrected CV
        t-test where both models were cross-validated, and a verdict.
    estimators : dict of str to Pipeline
        The fitted (refit) pipelines.
    reports : dict of str to str
        scikit-learn's ``classification_report`` of each model.
    report_dicts : dict of str to dict
        The same, as dictionaries.
    confusion_matrices : dict of str to ndarray
        Confusion matrix (counts) of each model on the test set.
    histories : dict of str to dict
        Per-epoch training history of each model.
    cv_scores : dict of str to ndarray or None
        Fold scores of the chosen parameters.
    predictions : dict of str to ndarray
        Test-set predictions.
    probabilities : dict of str to ndarray
        Test-set class probabilities.
    X_test : ndarray
        The test images (for the figures).
    y_test : ndarray
        The test labels.
    class_names : list of str or None
        Names of the classes, in label order.
    display_labels : dict of str to list of str
        Each model's class labels as shown in reports and figures.
    metadata : dict
        Random state, data checksums and sizes, CV settings.
    search_results : dict of str to pandas.DataFrame
        For each searched model, every candidate at every rung of the search
        (one rung for a grid search): its parameters, the epochs it trained,
        its fold scores, their mean and standard deviation, and a fold's
        training seconds so far.
    """

    table: pd.DataFrame
    pairwise: pd.DataFrame
    estimators: dict
    reports: dict
    report_dicts: dict
    confusion_matrices: dict
    histories: dict
    cv_scores: dict
    predictions: dict
    probabilities: dict
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: list
    display_labels: dict
    metadata: dict
    search_results: dict = dataclasses.field(default_factory=dict)

    @property
    def best_model(self):
        """Name of the model with the highest test accuracy."""
        return str(self.table["test_accuracy"].idxmax())

    def conclusions(self):
        """Plain-language statements on every pair of models.

        Returns
        -------
        lines : list of str
        """
        return list(self.pairwise["verdict"]) if len(self.pairwise) else []

    def save(self, directory, *, overwrite=False, save_models=True):
        """Write the report directory (atomically: complete or absent).

        Parameters
        ----------
        directory : str or path-like
            Where the report goes.
        overwrite : bool, default=False
            Replace an existing report.
        save_models : bool, default=True
            Also save the fitted pipelines.

        Returns
        -------
        directory : pathlib.Path
        """
        from ._report import write_report

        return write_report(self, directory, overwrite=overwrite, save_models=save_models)

    def __repr__(self):
        return f"ComparisonResult(models={list(self.table.index)}, best={self.best_model!r})"


def _verdict(a, b, acc_a, acc_b, p_adj, cv_p):
    diff = (acc_a - acc_b) * 100
    better, worse = (a, b) if diff >= 0 else (b, a)
    if p_adj < ALPHA:
        text = (
            f"{better} is more accurate than {worse} on the test set by {abs(diff):.2f} points; "
            f"the difference is statistically significant (McNemar, Holm-adjusted p = {p_adj:.3g} < {ALPHA})."
        )
    else:
        text = (
            f"The difference between {a} and {b} ({abs(diff):.2f} points) is NOT statistically "
            f"significant (McNemar, Holm-adjusted p = {p_adj:.3g} >= {ALPHA}): these data do not "
            "show that either model is better."
        )
    if cv_p is not None and not np.isnan(cv_p):
        text += f" Cross-validation folds: corrected t-test, Holm-adjusted p = {cv_p:.3g}" + (
            " (significant)." if cv_p < ALPHA else " (not significant)."
        )
        if p_adj >= ALPHA and cv_p >= ALPHA:
            text += f" Neither test tells {a} and {b} apart."
    return text


def compare_models(
    models=None,
    X_train=None,
    y_train=None,
    X_test=None,
    y_test=None,
    *,
    param_grids=None,
    search="halving",
    budget=None,
    cv=3,
    n_jobs=None,
    random_state=None,
    class_names=None,
    progress=True,
):
    """Fit, tune and compare classifiers the way a reviewer would trust.

    For each model with a parameter grid, a search with stratified
    ``cv``-fold cross-validation on the training data picks the parameters
    (:class:`~skfmnist.model_selection.HalvingEpochsSearchCV`, or
    :class:`~sklearn.model_selection.GridSearchCV`) and refits the best
    pipeline on all training data.  A
    model without a grid is cross-validated on the same folds (when ``cv``
    is set) and fitted on all training data.  The test set is used once per
    model, for the final evaluation.  Every pair of models is then compared
    with McNemar's test on the test set (Holm-adjusted over the pairs) and,
    where both were cross-validated, with the corrected resampled t-test on
    the folds.

    Parameters
    ----------
    models : dict of str to estimator, list of str, or None, default=None
        Named pipelines, or names for :func:`~skfmnist.make_model_pipeline`;
        None compares "dense", "cnn" and "deep_cnn".
    X_train, y_train : array-like
        Training data (the only data model selection sees).
    X_test, y_test : array-like
        Test data, for the final evaluation only.
    param_grids : dict of str to dict, default=None
        ``{model name: param_grid}`` for the models to tune.
    search : {"halving", "grid"}, default="halving"
        How a grid is searched: successive halving with epochs as the
        resource, the survivors trained on
        (:class:`~skfmnist.model_selection.HalvingEpochsSearchCV`: about
        two thirds of the training of a grid search of four candidates,
        the same fold scores for the candidates it keeps; the rungs before
        the last score the image presets without their test-time views, a
        fraction of the prediction time), or every candidate with all its
        epochs (``GridSearchCV``).
    budget : float, default=None
        Seconds the whole comparison may take.  Every candidate is first
        timed on a small probe of the training images, and each searched
        model gets the most thorough search that fits: every candidate with
        all epochs (where ``search="grid"``), else successive halving by 3,
        2 or 4 (see :mod:`skfmnist.evaluation._budget`).  The plan, with
        predicted and actual seconds per model, is in ``metadata["plan"]``.
        None: no planning, ``search`` as given.
    cv : int or None, default=3
        Number of stratified folds (shuffled with ``random_state``); None or
        0 skips cross-validation of models without a grid.
    n_jobs : int, default=None
        Parallel fits in grid search and cross-validation (joblib).
    random_state : int or None, default=None
        One seed for every ``random_state`` of every model and for the folds.
    class_names : list of str, default=None
        Names of the classes in label order, for reports and figures.
    progress : bool, default=True
        Report progress (bars in a terminal, lines in a log), with a line
        per finished fit of a halving search and, with a ``budget``, the
        time left for the whole comparison.

    Returns
    -------
    result : ComparisonResult
        Tables, reports, confusion matrices, histories, fitted pipelines
        and the statistical comparison; ``result.save(dir)`` writes the
        report.
    """
    for name, value in (("X_train", X_train), ("y_train", y_train), ("X_test", X_test), ("y_test", y_test)):
        if value is None:
            raise ValueError(f"compare_models needs {name}.")
    models = _as_model_dict(models)
    param_grids = dict(param_grids or {})
    unknown = set(param_grids) - set(models)
    if unknown:
        raise ValueError(f"param_grids names models that are not compared: {sorted(unknown)}")
    if search not in ("halving", "grid"):
        raise ValueError(f"search must be 'halving' or 'grid', got {search!r}.")
    cv = int(cv) if cv else 0
    if cv == 1 or cv < 0:
        raise ValueError(f"cv must be 0/None (no cross-validation) or at least 2, got {cv}.")
    y_test = np.asarray(y_test)
    splitter = StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state) if cv else None
    plan = None
    if budget is not None:
        from ._budget import plan_searches

        seeded = {n: _seed_everything(clone(e), random_state) if random_state is not None else e
                  for n, e in models.items()}
        plan = plan_searches(seeded, param_grids, X_train, y_train, budget=float(budget), n_test=len(y_test),
                             n_folds=cv, thorough=search, random_state=random_state,
                             early_score_params={n: _early_score_params(e) for n, e in seeded.items()})
        if progress:
            chosen = ", ".join(f"{n} {_search_name(plan[n]['search'])} ({_duration(plan[n]['predicted_seconds'])})"
                               for n in models)
            total = plan["probe_seconds"] + sum(plan[n]["predicted_seconds"] for n in models)
            print(f"[compare] plan for {_duration(budget)}: {chosen}; about {_duration(total)} in all",
                  file=sys.stderr, flush=True)
    clock = _RunClock(plan, models)

    rows, fitted, reports, report_dicts, cms, histories, cv_scores, preds, probas, labels, searches = (
        {} for _ in range(11))
    with Progress(len(models), "models", enabled=progress) as bar:
        for name, estimator in models.items():
            model_start = time.perf_counter()
            estimator = clone(estimator)
            if random_state is not None:
                estimator = _seed_everything(estimator, random_state)
            grid = param_grids.get(name)
            best_params, scores = {}, None
            if grid:
                folds = splitter or StratifiedKFold(3, shuffle=True, random_state=random_state)
                how = search if plan is None else plan[name]["search"]
                if how != "grid":
                    searcher = HalvingEpochsSearchCV(estimator, grid, factor=3 if how == "halving" else how, cv=folds,
                                                     early_score_params=_early_score_params(estimator), n_jobs=n_jobs,
                                                     callback=clock.callback(name) if progress else None)
                else:
                    searcher = GridSearchCV(estimator, grid, cv=folds, n_jobs=n_jobs, refit=True,
                                            verbose=2 if progress else 0, error_score="raise")
                searcher.fit(X_train, y_train)
                best, fit_seconds = searcher.best_estimator_, float(searcher.refit_time_)
                best_params = searcher.best_params_
                n_splits = searcher.n_splits_
                scores = np.array(
                    [searcher.cv_results_[f"split{i}_test_score"][searcher.best_index_] for i in range(n_splits)]
                )
                searches[name] = search_table(searcher, estimator)
            else:
                if splitter is not None:
                    scores = cross_validate(estimator, X_train, y_train, cv=splitter, n_jobs=n_jobs)["test_score"]
                best = clone(estimator)
                start = time.perf_counter()
                best.fit(X_train, y_train)
                fit_seconds = time.perf_counter() - start
            start = time.perf_counter()
            proba = best.predict_proba(X_test)  # the one look at the test set
            predict_seconds = time.perf_counter() - start
            pred = best.classes_[np.argmax(proba, axis=1)]
            clf = _classifier(best)
            names = None
            if class_names is not None and np.issubdtype(clf.classes_.dtype, np.integer):
                names = [class_names[int(c)] for c in clf.classes_]
            labels[name] = names if names is not None else [str(c) for c in clf.classes_]
            reports[name] = classification_report(
                y_test, pred, labels=clf.classes_, target_names=names, digits=4, zero_division=0
            )
            report_dicts[name] = classification_report(
                y_test, pred, labels=clf.classes_, target_names=names, output_dict=True, zero_division=0
            )
            cms[name] = confusion_matrix(y_test, pred, labels=clf.classes_)
            histories[name] = dict(getattr(clf, "history_", {}))
            cv_scores[name] = scores
            preds[name], probas[name], fitted[name] = pred, proba, best
            rows[name] = {
                "test_accuracy": accuracy_score(y_test, pred),
                "macro_f1": f1_score(y_test, pred, average="macro", labels=clf.classes_, zero_division=0),
                "cv_mean": float(np.mean(scores)) if scores is not None else np.nan,
                "cv_std": float(np.std(scores)) if scores is not None else np.nan,
                "best_params": best_params,
                "fit_seconds": fit_seconds,
                "predict_images_per_s": len(y_test) / max(predict_seconds, 1e-9),
                "trainable_params": getattr(clf, "n_trainable_params_", np.nan),
                "epochs_run": getattr(clf, "n_epochs_", np.nan),
                # "auto" depends on the CPU: the report says what each model computed in
                "compute_dtype": getattr(clf, "compute_dtype_", "n/a"),
            }
            if plan is not None:
                plan[name]["seconds"] = time.perf_counter() - model_start
            clock.finished(name, time.perf_counter() - model_start)
            left = clock.left(name, 0.0)
            bar.update(f"{name}: test accuracy {rows[name]['test_accuracy']:.4f}"
                       + (f"; about {_duration(left)} left in all" if left and name != list(models)[-1] else ""))

    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    pairwise = _pairwise(table, preds, cv_scores, y_test, cv)
    metadata = {
        "random_state": random_state,
        "cv": cv,
        "n_train": int(len(y_train)),
        "n_test": int(len(y_test)),
        "train_sha256": _array_sha256(X_train, y_train),
        "test_sha256": _array_sha256(X_test, y_test),
        "param_grids": {k: {p: [repr(v) for v in vals] for p, vals in g.items()} for k, g in param_grids.items()},
        "search": search if param_grids else None,
        "budget_seconds": budget,
        "plan": plan,
        "image_shape": _image_shape(fitted.values()),
    }
    return ComparisonResult(
        table=table,
        pairwise=pairwise,
        estimators=fitted,
        reports=reports,
        report_dicts=report_dicts,
        confusion_matrices=cms,
        histories=histories,
        cv_scores=cv_scores,
        predictions=preds,
        probabilities=probas,
        X_test=X_test,
        y_test=y_test,
        class_names=class_names,
        display_labels=labels,
        metadata=metadata,
        search_results=searches,
    )


def search_table(searcher, estimator):
    """A search's ``cv_results_`` as a table: one row per candidate per rung (a grid search: one rung).

    Parameters
    ----------
    searcher : HalvingEpochsSearchCV or GridSearchCV
        A fitted search.
    estimator : estimator
        What it searched (for the epochs of a grid search's candidates).

    Returns
    -------
    table : pandas.DataFrame
        Columns ``params`` (the candidate's parameters), ``rung``,
        ``epochs``, ``split<i>``, ``mean``, ``std``, ``fit_seconds`` (a
        fold's training in that rung), ``cumulative_seconds`` (a fold's
        training so far) and ``best`` (the chosen candidate's row).
    """
    results = searcher.cv_results_
    n = len(results["params"])
    halving = "n_resources" in results
    table = pd.DataFrame({
        "params": [{k: v for k, v in p.items()} for p in results["params"]],
        "rung": results["iter"] if halving else np.zeros(n, dtype=int),
        "epochs": results["n_resources"] if halving else [candidate_epochs(estimator, p) for p in results["params"]],
        **{f"split{i}": results[f"split{i}_test_score"] for i in range(searcher.n_splits_)},
        "mean": results["mean_test_score"],
        "std": results["std_test_score"],
        "fit_seconds": results["mean_fit_time"],
        "cumulative_seconds": results["cumulative_fit_time"] if halving else results["mean_fit_time"],
    })
    table["best"] = np.arange(n) == searcher.best_index_
    return table


def _pairwise(table, preds, cv_scores, y_test, cv):
    rows = []
    for a, b in itertools.combinations(table.index, 2):
        mc = mcnemar_test(y_test, preds[a], preds[b])
        cv_p = np.nan
        if cv_scores[a] is not None and cv_scores[b] is not None and len(cv_scores[a]) == len(cv_scores[b]) > 1:
            k = len(cv_scores[a])
            cv_p = corrected_cv_ttest(cv_scores[a], cv_scores[b], test_fraction=1 / (k - 1)).pvalue
        rows.append(
            {
                "model_a": a,
                "model_b": b,
                "accuracy_difference": table.loc[a, "test_accuracy"] - table.loc[b, "test_accuracy"],
                "a_right_b_wrong": mc.n10,
                "a_wrong_b_right": mc.n01,
                "mcnemar_statistic": mc.statistic,
                "mcnemar_pvalue": mc.pvalue,
                "mcnemar_method": mc.method,
                "cv_ttest_pvalue": cv_p,
            }
        )
    pairwise = pd.DataFrame(rows)
    if len(pairwise):
        pairwise["mcnemar_pvalue_holm"] = holm(pairwise["mcnemar_pvalue"])
        tested = pairwise["cv_ttest_pvalue"].notna().to_numpy()  # (pairs without folds on both sides: no test)
        pairwise["cv_ttest_pvalue_holm"] = np.nan
        if tested.any():
            pairwise.loc[tested, "cv_ttest_pvalue_holm"] = holm(pairwise.loc[tested, "cv_ttest_pvalue"])
        pairwise["significant"] = pairwise["mcnemar_pvalue_holm"] < ALPHA
        pairwise["verdict"] = [
            _verdict(
                r.model_a,
                r.model_b,
                table.loc[r.model_a, "test_accuracy"],
                table.loc[r.model_b, "test_accuracy"],
                r.mcnemar_pvalue_holm,
                r.cv_ttest_pvalue_holm,
            )
            for r in pairwise.itertuples()
        ]
    return pairwise
