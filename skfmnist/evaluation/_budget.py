"""A comparison within a time budget: what each candidate costs, and the most thorough searches that fit.

Before it trains anything, :func:`plan_searches` times every candidate of
every model on a small probe of the training images (two epochs, the second
timed, so that tracing the training step is left out; then a prediction) and
predicts, from those rates, the seconds of each possible search: every
candidate with all its epochs, then successive halving by 3, 2 and 4
(:func:`~skfmnist.model_selection.halving_rungs`), from the most to the
least training.  Each model starts with the most thorough search; while the
whole run would take longer than the budget, the model whose search costs
most moves to its next cheaper one.  The prediction assumes that the
costliest candidates survive each rung, so that the run ends in time more
often than not.
"""

# SPDX-License-Identifier: MIT

import dataclasses
import math
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid

from ..model_selection import halving_rungs
from ..model_selection._halving import _classifier, _take

__all__ = ["SEARCHES", "plan_searches"]

#: The searches a budget chooses from, the most training first: every candidate with all its epochs
#: ("grid"), then successive halving by these factors.
SEARCHES = ("grid", 3, 2, 4)

#: Training images of a probe: enough batches that an epoch's time is the steady rate.
PROBE_IMAGES = 2048


def _epochs_key(estimator):
    return f"{estimator.steps[-1][0]}__epochs" if hasattr(estimator, "steps") else "epochs"


@dataclasses.dataclass
class Cost:
    """What a candidate costs on this machine: seconds per image and epoch of training, and per image predicted."""

    train: float
    predict: float
    epochs: int
    overhead: float = 0.0  # seconds of every new training: tracing the training and prediction steps
    predict_early: float = None  # per image predicted at a rung before the last (None: as ``predict``)

    def __post_init__(self):
        if self.predict_early is None:
            self.predict_early = self.predict


def probe(estimator, params, X, y, *, early_score_params=None, random_state=None):
    """Time two epochs of a candidate on :data:`PROBE_IMAGES` training images (the second) and a prediction.

    Parameters
    ----------
    estimator : estimator
        A skfmnist classifier or a pipeline ending in one.
    params : dict
        The candidate's parameters.
    X, y : array-like
        Training data; a random subset is used.
    early_score_params : dict or None, default=None
        Parameters of the scoring at a halving search's early rungs: a
        prediction with them is timed too.
    random_state : int or None, default=None
        Draws the subset.

    Returns
    -------
    cost : Cost
    """
    estimator = clone(estimator).set_params(**params)
    epochs = int(_classifier(estimator).epochs)
    key = _epochs_key(estimator)
    estimator.set_params(**{key: 2, key.replace("epochs", "callbacks"): None})  # (no progress lines of a probe)
    rows = np.random.default_rng(random_state).permutation(len(y))[: min(PROBE_IMAGES, len(y))]
    X_probe, y_probe = _take(X, rows), _take(y, rows)
    start = time.perf_counter()
    estimator.fit(X_probe, y_probe)
    fit_seconds = time.perf_counter() - start
    seconds = _classifier(estimator).history_["time"]
    epoch = seconds[1] - seconds[0]
    start = time.perf_counter()
    estimator.predict_proba(X_probe[:64])  # the first call traces the prediction
    trace = time.perf_counter() - start
    start = time.perf_counter()
    estimator.predict_proba(X_probe)
    predict = (time.perf_counter() - start) / len(rows)
    early = None
    if early_score_params:
        estimator.set_params(**early_score_params)
        start = time.perf_counter()
        estimator.predict_proba(X_probe)
        early = (time.perf_counter() - start) / len(rows)
    return Cost(train=epoch / len(rows), predict=predict, epochs=epochs,
                overhead=max(fit_seconds - 2 * epoch, 0.0) + max(trace - 64 * predict, 0.0), predict_early=early)


def search_seconds(costs, search, *, n_train, n_folds):
    """Predicted seconds of a model's search and refit on ``n_train`` images (the costliest candidates surviving).

    Parameters
    ----------
    costs : list of Cost
        One per candidate.
    search : "grid", int or None
        Every candidate with all epochs, halving by this factor, or no
        search (one candidate, cross-validated when ``n_folds``).
    n_train : int
        Training images.
    n_folds : int
        Folds (0: no cross-validation).

    Returns
    -------
    seconds : float
    """
    fold_train, fold_test = n_train * (n_folds - 1) / max(n_folds, 1), n_train / max(n_folds, 1)

    def cv(cost, epochs, new=True, last=True):  # one candidate, ``epochs`` more on every fold, scored on every fold
        predict = cost.predict if last else cost.predict_early
        return n_folds * (epochs * fold_train * cost.train + fold_test * predict + new * cost.overhead)

    refit = max(c.epochs * n_train * c.train + c.overhead for c in costs)
    if search is None or search == "grid" or len(costs) == 1:
        return sum(cv(c, c.epochs) for c in costs) + refit
    seconds, before = 0.0, 0.0
    ranked = sorted(costs, key=lambda c: -c.epochs * c.train)
    for fraction, alive in halving_rungs(len(costs), min(c.epochs for c in costs), search):
        seconds += sum(cv(c, c.epochs * (fraction - before), new=before == 0, last=fraction == 1.0)
                       for c in ranked[:alive])
        before = fraction
    return seconds + refit


def plan_searches(models, grids, X, y, *, budget, n_test, n_folds, thorough="grid", early_score_params=None,
                  random_state=None):
    """Choose each searched model's search so that the comparison ends within ``budget`` seconds.

    Parameters
    ----------
    models : dict of str to estimator
        The models compared.
    grids : dict of str to dict
        The grids of the searched models.
    X, y : array-like
        Training data.
    budget : float
        Seconds for the whole comparison, the probes included.
    n_test : int
        Test images (predicted once per model).
    n_folds : int
        Folds of the searches and the cross-validation (0: none for the
        models without a grid).
    thorough : {"grid", "halving"}, default="grid"
        The most thorough search allowed.
    early_score_params : dict of str to dict, default=None
        Per model, the parameters of the scoring at a halving search's early
        rungs (see :class:`~skfmnist.model_selection.HalvingEpochsSearchCV`).
    random_state : int or None, default=None
        Draws the probes' images.

    Returns
    -------
    plan : dict of str to dict
        Per model: ``search`` ("grid", a halving factor, or None without a
        grid) and ``predicted_seconds``; under ``"probe_seconds"``, the
        seconds the probes took.
    """
    start = time.perf_counter()
    costs = {}
    for name, estimator in models.items():
        candidates = list(ParameterGrid(grids[name])) if grids.get(name) else [{}]
        early = (early_score_params or {}).get(name) if grids.get(name) else None
        costs[name] = [probe(estimator, params, X, y, early_score_params=early, random_state=random_state)
                       for params in candidates]
    probe_seconds = time.perf_counter() - start
    n_train = len(y)
    options = {name: ([s for s in SEARCHES if thorough == "grid" or s != "grid"] if grids.get(name) else [None])
               for name in models}
    choice = dict.fromkeys(models, 0)

    def seconds(name):
        folds = (n_folds or 3) if grids.get(name) else n_folds  # a grid is always cross-validated
        predict = n_test * max(c.predict for c in costs[name])
        return search_seconds(costs[name], options[name][choice[name]], n_train=n_train, n_folds=folds) + predict

    while sum(seconds(m) for m in models) > budget - probe_seconds:
        cheaper = [m for m in models if choice[m] + 1 < len(options[m])]
        if not cheaper:
            warnings.warn(
                f"The comparison is predicted to take {math.ceil(sum(seconds(m) for m in models) / 60)} minutes, "
                f"more than its budget of {budget / 60:.0f} even with the least training of every search: "
                "give it more time, fewer candidates or fewer images.", UserWarning, stacklevel=3)
            break
        choice[max(cheaper, key=seconds)] += 1
    plan = {m: {"search": options[m][choice[m]], "predicted_seconds": seconds(m)} for m in models}
    plan["probe_seconds"] = probe_seconds
    return plan
