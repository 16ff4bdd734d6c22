"""HalvingEpochsSearchCV: successive halving over a grid, epochs as the resource, the survivors trained on.

scikit-learn's :class:`~sklearn.model_selection.HalvingGridSearchCV` trains
every survivor of a rung again from scratch with more of the resource.  With
epochs as the resource that repeats the epochs already trained: here a
survivor goes on from the weights it reached (:meth:`KerasClassifier.fit_until
<skfmnist.KerasClassifier.fit_until>`), as Hyperband does in KerasTuner.

A learning-rate schedule that depends on the number of epochs (``cosine``,
``one_cycle``) is planned over a candidate's full ``epochs`` from the first
rung on: a rung scores the network part-way through that training, and a
candidate that reaches the last rung has trained exactly what ``fit`` trains.
Its fold scores there are therefore those of an exhaustive
:class:`~sklearn.model_selection.GridSearchCV` on the same folds, and the
survivors of each rung are what a search that restarted them would keep.
"""

# SPDX-License-Identifier: MIT

import math
import time

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import ParameterGrid, check_cv
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted, indexable

__all__ = ["HalvingEpochsSearchCV", "halving_rungs"]


def _classifier(estimator):
    """The classifier of a pipeline (its last step), or the estimator itself."""
    return estimator[-1] if hasattr(estimator, "steps") else estimator


def candidate_epochs(estimator, params):
    """A candidate's full epochs: ``epochs`` (or ``<step>__epochs``) where ``params`` sets it, else the estimator's."""
    for key, value in params.items():
        if key == "epochs" or key.endswith("__epochs"):
            return int(value)
    return int(_classifier(estimator).epochs)


def _train(estimator, X, y, train, test, epoch, scorer, params=None, score_params=None):
    """Train ``estimator`` (a clone with ``params`` when given: a new training) up to ``epoch`` on ``train``.

    Scores it on ``test`` with ``score_params`` set for the scoring only.  Returns the estimator, its score,
    and the seconds of training and scoring.
    """
    if params is not None:
        estimator = clone(estimator).set_params(**params)
    X_train, y_train = _take(X, train), _take(y, train)
    start = time.perf_counter()
    if params is not None or _classifier(estimator).n_epochs_ < epoch:  # (rounding may give a rung no new epoch)
        if hasattr(estimator, "steps"):
            head = estimator[:-1]  # the same step objects: fitting the slice fits the pipeline's steps
            X_train = head.fit_transform(X_train, y_train) if params is not None else head.transform(X_train)
        _classifier(estimator).fit_until(X_train, y_train, epoch)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    kept = {k: v for k, v in estimator.get_params().items() if k in score_params} if score_params else {}
    try:
        estimator.set_params(**(score_params or {}))
        score = float(scorer(estimator, _take(X, test), _take(y, test)))
    finally:
        estimator.set_params(**kept)
    return estimator, score, fit_seconds, time.perf_counter() - start


def halving_rungs(n_candidates, min_epochs, factor):
    """The rungs of a halving search: ``[(fraction of the epochs, candidates)]``, the last at all epochs.

    As many rungs as halve the candidates down to fewer than ``factor``, and
    as the fewest epochs of a candidate divide into (a candidate of 2 epochs
    has no rung at a third of them).

    Parameters
    ----------
    n_candidates : int
        Candidates of the grid.
    min_epochs : int
        The fewest epochs of any candidate.
    factor : int
        Each rung keeps ``ceil(1 / factor)`` of the candidates and trains
        ``factor`` times the epochs of the one before.

    Returns
    -------
    rungs : list of (float, int)
    """
    n_rungs = 1 + int(math.floor(math.log(min(n_candidates, min_epochs), factor) + 1e-9))
    rungs, alive = [], n_candidates
    for rung in range(n_rungs):
        rungs.append((float(factor) ** (rung - (n_rungs - 1)), alive))
        alive = max(1, math.ceil(alive / factor))
    return rungs


def _duration(seconds):
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _take(a, rows):
    """Rows of an array, list or DataFrame (no copy of an array beyond the rows taken)."""
    return a.iloc[rows] if hasattr(a, "iloc") else np.asarray(a)[rows]


class HalvingEpochsSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Successive halving over a parameter grid, with epochs as the resource and the survivors trained on.

    Every candidate of ``param_grid`` is cross-validated after a fraction of
    its ``epochs``; the best ``1 / factor`` of them go on training, from the
    weights they reached, to ``factor`` times as many epochs, and so on
    until the last rung, where the survivors have trained all their epochs.
    The best candidate there is refit on all the data.  The candidates that
    reach the last rung get exactly the fold scores that
    :class:`~sklearn.model_selection.GridSearchCV` gives them on the same
    folds, for a fraction of its training (see the module's notes on
    learning-rate schedules).

    Parameters
    ----------
    estimator : KerasClassifier or Pipeline ending in one
        The model to tune: its last step needs ``fit_until`` (every skfmnist
        classifier has it) and its ``epochs`` is the resource.
    param_grid : dict or list of dicts
        The candidates, as for :class:`~sklearn.model_selection.GridSearchCV`.
        A grid may set ``epochs`` too: each candidate's rungs are fractions
        of its own epochs.
    factor : int, default=3
        How many times fewer candidates, and more epochs, each rung has than
        the one before.  3 is scikit-learn's default for halving.
    cv : int, cross-validation generator or iterable, default=3
        Folds (stratified for a classifier), as in scikit-learn's searches.
        Three folds keep the training of a search at twice one fit on all
        the data.
    scoring : str, callable or None, default=None
        The score that ranks the candidates; None is the estimator's
        ``score`` (accuracy).
    refit : bool, default=True
        Fit the best candidate on all the data (``best_estimator_``), so
        that the search predicts.
    continue_fits : bool, default=True
        Survivors go on from the weights they reached.  False trains them
        again from the start at every rung, as scikit-learn's halving does:
        the same scores (the trainings are the same), for more epochs in all;
        it is there to compare.
    n_jobs : int, default=None
        Fits in parallel (joblib), over the candidates and folds of a rung.
    early_score_params : dict or None, default=None
        Parameters set on a candidate only while it is scored at a rung
        before the last, to make those scores cheaper, e.g.
        ``{"clf__test_time_flip": False, "clf__test_time_shift": 0}`` for the
        image presets, whose test-time views multiply the prediction time by
        up to 18.  The last rung, whose scores choose the winner, scores
        with the estimator's own parameters.  None: every rung scores the
        same way, as scikit-learn's halving does.
    verbose : int, default=0
        1 prints a line per finished fit (its score and seconds, and the
        search's time left, from the seconds per epoch so far) and per rung.
    callback : callable or None, default=None
        Called after every finished fit with a dict: ``rung`` and
        ``n_rungs``, ``fit`` and ``n_fits`` (of the rung), ``params``,
        ``fold``, ``epochs``, ``score``, ``fit_seconds`` and
        ``seconds_left`` (the search's estimate, the refit included), e.g.
        to report the progress of a larger job; ``skfmnist compare`` prints
        the time left for the whole comparison with it.
    random_state : int, RandomState instance or None, default=None
        Shuffles the folds when ``cv`` is an int (the estimator's own
        ``random_state`` seeds its training).

    Attributes
    ----------
    cv_results_ : dict of ndarray
        One entry per candidate per rung it reached, in scikit-learn's
        layout: ``iter`` (the rung), ``n_resources`` (epochs trained),
        ``params``, ``param_<name>``, ``split<i>_test_score``,
        ``mean_test_score``, ``std_test_score``, ``rank_test_score``
        (candidates of later rungs first; a rung before the last scores
        with ``early_score_params``), ``mean_fit_time`` (seconds of one
        fold's training in that rung) and ``cumulative_fit_time`` (a fold's
        training seconds so far).
    best_index_ : int
        The entry of ``cv_results_`` of the best candidate at the last rung.
    best_params_ : dict
        Its parameters.
    best_score_ : float
        Its mean cross-validated score.
    best_estimator_ : estimator
        It refit on all the data (with ``refit=True``).
    refit_time_ : float
        Seconds of that refit.
    n_splits_ : int
        Number of folds.
    n_candidates_ : list of int
        Candidates per rung.
    n_iterations_ : int
        Number of rungs.
    epochs_trained_ : int
        Epochs trained by the search in all (over the folds, without the
        refit): what ``continue_fits`` saves.
    classes_ : ndarray
        The classes, from ``best_estimator_``.
    scorer_ : callable
        The scorer used.

    See Also
    --------
    sklearn.model_selection.HalvingGridSearchCV : Halving that restarts
        every survivor.
    sklearn.model_selection.GridSearchCV : Every candidate with all epochs.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skfmnist import DenseClassifier
    >>> from skfmnist.model_selection import HalvingEpochsSearchCV
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DenseClassifier(hidden_layer_sizes=(32,), epochs=6, random_state=0)
    >>> search = HalvingEpochsSearchCV(clf, {"dropout": [0.0, 0.2, 0.4]}, random_state=0).fit(X / 16, y)
    >>> search.n_candidates_, search.n_iterations_
    ([3, 1], 2)
    """

    def __init__(self, estimator, param_grid, *, factor=3, cv=3, scoring=None, refit=True, continue_fits=True,
                 early_score_params=None, n_jobs=None, verbose=0, callback=None, random_state=None):
        self.estimator = estimator
        self.param_grid = param_grid
        self.factor = factor
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.continue_fits = continue_fits
        self.early_score_params = early_score_params
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.callback = callback
        self.random_state = random_state

    def _check(self):
        if isinstance(self.factor, bool) or not isinstance(self.factor, (int, np.integer)) or self.factor < 2:
            raise ValueError(f"factor must be an integer of at least 2, got {self.factor!r}.")
        if not hasattr(_classifier(self.estimator), "fit_until"):
            raise TypeError(
                f"{type(_classifier(self.estimator)).__name__} has no fit_until: HalvingEpochsSearchCV trains "
                "skfmnist classifiers (or pipelines ending in one) epoch by epoch. Use scikit-learn's "
                "HalvingGridSearchCV for other estimators."
            )
        candidates = list(ParameterGrid(self.param_grid))
        if not candidates:
            raise ValueError("param_grid has no candidates.")
        if self.early_score_params is not None:
            if not isinstance(self.early_score_params, dict):
                raise TypeError(f"early_score_params must be a dict or None, got {self.early_score_params!r}.")
            unknown = set(self.early_score_params) - set(self.estimator.get_params())
            if unknown:
                raise ValueError(f"early_score_params names parameters that {type(self.estimator).__name__} does "
                                 f"not have: {sorted(unknown)}.")
        if self.callback is not None and not callable(self.callback):
            raise TypeError(f"callback must be callable or None, got {self.callback!r}.")
        return candidates

    def fit(self, X, y, **fit_params):
        """Run the search, then refit the best candidate on all the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image batch
            Training data.
        y : array-like of shape (n_samples,)
            Labels.
        **fit_params : dict
            Not supported: a clear error (the rungs call ``fit_until``).

        Returns
        -------
        self : object
        """
        if fit_params:
            raise TypeError(f"HalvingEpochsSearchCV.fit takes no fit parameters; got {sorted(fit_params)}.")
        candidates = self._check()
        X, y = indexable(X, y)
        cv = self.cv
        if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
            from sklearn.model_selection import KFold, StratifiedKFold

            splitter = StratifiedKFold if is_classifier(self.estimator) else KFold
            cv = splitter(int(cv), shuffle=True, random_state=self.random_state)
        cv = check_cv(cv, y, classifier=is_classifier(self.estimator))
        folds = list(cv.split(X, y))
        self.n_splits_ = len(folds)
        self.scorer_ = check_scoring(self.estimator, scoring=self.scoring)

        fewest = min(candidate_epochs(self.estimator, p) for p in candidates)
        rungs = halving_rungs(len(candidates), fewest, self.factor)
        n_rungs = len(rungs)
        alive = list(range(len(candidates)))
        fitted = {}  # (candidate, fold) -> the estimator trained so far
        rows, self.n_candidates_, self.epochs_trained_ = [], [], 0
        seconds = np.zeros((len(candidates), len(folds)))  # a fold's training seconds so far
        trained = {}  # candidate -> epochs its fold estimators have trained
        # for the time left: the fold-epochs the search will train (a mean candidate's epochs per rung; the
        # refit counted as that many epochs on all the data), and those done so far
        mean_epochs, n_folds = float(np.mean([candidate_epochs(self.estimator, p) for p in candidates])), len(folds)
        fractions = [0.0, *(f for f, _ in rungs)]
        planned = sum(n * n_folds * mean_epochs * (fractions[r + 1] - (fractions[r] if self.continue_fits else 0.0))
                      for r, (_, n) in enumerate(rungs))
        planned += mean_epochs * n_folds / max(n_folds - 1, 1) if self.refit else 0.0
        done, start = 0.0, time.perf_counter()
        for rung, (fraction, _) in enumerate(rungs):
            epochs = {c: max(1, round(candidate_epochs(self.estimator, candidates[c]) * fraction)) for c in alive}
            self.n_candidates_.append(len(alive))
            tasks = [(c, f) for c in alive for f in range(len(folds))]
            restart = rung == 0 or not self.continue_fits
            out = Parallel(n_jobs=self.n_jobs, return_as="generator")(
                delayed(_train)(
                    self.estimator if restart else fitted[c, f], X, y, *folds[f], epochs[c], self.scorer_,
                    params=candidates[c] if restart else None,
                    score_params=self.early_score_params if rung < n_rungs - 1 else None,
                )
                for c, f in tasks
            )
            scores, fit_times = {c: [] for c in alive}, {c: [] for c in alive}
            # strict: the generator is read to its end, so joblib does not take it for one dropped early and warn
            for i, ((c, f), (estimator, score, fit_s, _)) in enumerate(zip(tasks, out, strict=True)):
                done += epochs[c] - (0 if restart else trained[c])
                left = max(planned - done, 0.0) * (time.perf_counter() - start) / done
                if self.callback is not None:
                    self.callback({"rung": rung + 1, "n_rungs": n_rungs, "fit": i + 1, "n_fits": len(tasks),
                                   "params": candidates[c], "fold": f + 1, "epochs": epochs[c], "score": score,
                                   "fit_seconds": fit_s, "seconds_left": left})
                if self.verbose:
                    print(f"[HalvingEpochsSearchCV] rung {rung + 1}/{n_rungs}, fit {i + 1}/{len(tasks)} "
                          f"({candidates[c]}, fold {f + 1}, {epochs[c]} epochs): {score:.4f} in {fit_s:.0f} s; "
                          f"about {_duration(left)} left", flush=True)
                fitted[c, f] = estimator
                scores[c].append(score)
                fit_times[c].append(fit_s)
                seconds[c, f] = (0.0 if restart else seconds[c, f]) + fit_s
                self.epochs_trained_ += epochs[c] - (0 if restart else trained[c])
            for c in alive:
                trained[c] = epochs[c]
                rows.append({"iter": rung, "n_resources": epochs[c], "params": candidates[c], "scores": scores[c],
                             "fit_times": fit_times[c], "cumulative": seconds[c].tolist()})
            if self.verbose:
                best = max(alive, key=lambda c: np.mean(scores[c]))
                print(f"[HalvingEpochsSearchCV] rung {rung + 1}/{n_rungs}: {len(alive)} candidate(s), "
                      f"best {np.mean(scores[best]):.4f} with {candidates[best]}", flush=True)
            if rung < n_rungs - 1:
                order = sorted(alive, key=lambda c: -np.mean(scores[c]))  # stable: ties keep the grid's order
                alive = sorted(order[: rungs[rung + 1][1]])
                fitted = {key: est for key, est in fitted.items() if key[0] in alive}
        self.n_iterations_ = n_rungs
        self.cv_results_ = self._results(rows, candidates)
        last = [i for i, r in enumerate(rows) if r["iter"] == n_rungs - 1]
        self.best_index_ = max(last, key=lambda i: (np.mean(rows[i]["scores"]), -i))
        self.best_params_ = dict(rows[self.best_index_]["params"])
        self.best_score_ = float(np.mean(rows[self.best_index_]["scores"]))
        if self.refit:
            start = time.perf_counter()
            self.best_estimator_ = clone(self.estimator).set_params(**self.best_params_).fit(X, y)
            self.refit_time_ = time.perf_counter() - start
        return self

    def _results(self, rows, candidates):
        n = len(rows)
        results = {"iter": np.array([r["iter"] for r in rows]),
                   "n_resources": np.array([r["n_resources"] for r in rows]),
                   "params": [r["params"] for r in rows]}
        for name in sorted({k for p in candidates for k in p}):
            column = np.ma.MaskedArray(np.empty(n, dtype=object), mask=True)
            for i, r in enumerate(rows):
                if name in r["params"]:
                    column[i] = r["params"][name]
            results[f"param_{name}"] = column
        scores = np.array([r["scores"] for r in rows])
        for f in range(scores.shape[1]):
            results[f"split{f}_test_score"] = scores[:, f]
        results["mean_test_score"] = scores.mean(axis=1)
        results["std_test_score"] = scores.std(axis=1)
        # later rungs first, then the mean score: the best at the last rung is rank 1
        order = sorted(range(n), key=lambda i: (-rows[i]["iter"], -results["mean_test_score"][i], i))
        rank = np.empty(n, dtype=np.int32)
        rank[order] = np.arange(1, n + 1)
        results["rank_test_score"] = rank
        results["mean_fit_time"] = np.array([np.mean(r["fit_times"]) for r in rows])
        results["std_fit_time"] = np.array([np.std(r["fit_times"]) for r in rows])
        results["cumulative_fit_time"] = np.array([np.mean(r["cumulative"]) for r in rows])
        return results

    @property
    def classes_(self):
        """The classes of the best estimator."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.classes_

    def predict(self, X):
        """Predict with the best estimator.

        Parameters
        ----------
        X : array-like
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X)

    def predict_proba(self, X):
        """Class probabilities of the best estimator.

        Parameters
        ----------
        X : array-like
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_proba(X)

    def score(self, X, y):
        """The ``scoring`` of the best estimator on ``X``, ``y``.

        Parameters
        ----------
        X : array-like
            Samples.
        y : array-like
            Labels.

        Returns
        -------
        score : float
        """
        check_is_fitted(self, "best_estimator_")
        return float(self.scorer_(self.best_estimator_, X, y))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type, tags.classifier_tags = inner.estimator_type, inner.classifier_tags
        return tags
