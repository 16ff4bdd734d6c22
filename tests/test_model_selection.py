"""fit_until and HalvingEpochsSearchCV: continued training is the same training, and halving picks as a grid does."""

import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from skfmnist import CNNClassifier, DenseClassifier, make_model_pipeline
from skfmnist.model_selection import HalvingEpochsSearchCV


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def _dense(**params):
    return DenseClassifier(**{"hidden_layer_sizes": (32,), "dropout": 0.2, "epochs": 6, "lr_schedule": "one_cycle",
                              "random_state": 0, **params})


@pytest.mark.parametrize("make, images", [(_dense, False),
                                          (lambda: CNNClassifier(filters=(4, 8), dense_units=16, epochs=4,
                                                                 random_state=0), True)])
def test_fit_until_in_steps_trains_what_fit_trains(digits, make, images):
    X, y = digits
    X = X.reshape(-1, 8, 8) if images else X
    full = make().fit(X, y)
    steps = make().fit_until(X, y, 1).fit_until(X, y, 3)
    assert steps.n_epochs_ == 3 and len(steps.history_["loss"]) == 3
    steps = pickle.loads(pickle.dumps(steps))  # as a process worker hands it back: the random generators too
    steps.fit_until(X, y, full.epochs)
    assert steps.n_epochs_ == full.epochs
    np.testing.assert_array_equal(steps.predict_proba(X), full.predict_proba(X))
    np.testing.assert_array_equal(steps.history_["loss"], full.history_["loss"])


def test_fit_until_starts_a_new_training_when_the_plan_changed(digits):
    X, y = digits
    first = _dense().fit_until(X, y, 2)
    again = _dense().fit_until(X, y, 2)
    first.fit_until(X, y, 2)  # not beyond the epochs trained: a new training of 2 epochs
    assert first.n_epochs_ == 2
    np.testing.assert_array_equal(first.predict_proba(X), again.predict_proba(X))
    first.set_params(epochs=8).fit_until(X, y, 3)  # another plan: a new training, not 2 + 1 epochs
    assert first.n_epochs_ == 3
    np.testing.assert_array_equal(first.predict_proba(X), _dense(epochs=8).fit_until(X, y, 3).predict_proba(X))
    first.fit(X, y)  # fit ends any unfinished plan
    assert first.n_epochs_ == 8


@pytest.mark.parametrize("params, epoch, match", [
    ({}, 0, r"epoch must be an integer from 1 to epochs=6"),
    ({}, 7, r"epoch must be an integer from 1 to epochs=6"),
    ({}, True, r"epoch must be an integer"),
    ({"max_fit_time": 10.0}, 2, r"set max_fit_time off"),
    ({"early_stopping": True}, 2, r"set early_stopping off"),
])
def test_fit_until_refuses_what_it_cannot_do(digits, params, epoch, match):
    X, y = digits
    with pytest.raises(ValueError, match=match):
        _dense(**params).fit_until(X, y, epoch)


GRID = {"hidden_layer_sizes": [(8,), (48,)], "learning_rate": [3e-4, 3e-3]}


def test_halving_keeps_the_best_and_scores_the_survivors_as_grid_search_does(digits):
    X, y = digits
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    search = HalvingEpochsSearchCV(_dense(), GRID, cv=cv).fit(X, y)
    grid = GridSearchCV(_dense(), GRID, cv=cv).fit(X, y)

    assert search.n_candidates_ == [4, 2] and search.n_iterations_ == 2
    assert list(search.cv_results_["n_resources"]) == [2, 2, 2, 2, 6, 6]
    assert search.best_params_ == grid.best_params_
    assert search.best_score_ == pytest.approx(grid.best_score_, abs=0)
    # every survivor's fold scores at the last rung are the grid's, exactly: the same trainings
    for i in np.flatnonzero(search.cv_results_["iter"] == 1):
        j = grid.cv_results_["params"].index(search.cv_results_["params"][i])
        for f in range(3):
            assert search.cv_results_[f"split{f}_test_score"][i] == grid.cv_results_[f"split{f}_test_score"][j]
    # the survivors were the best half after 2 epochs
    first = np.flatnonzero(search.cv_results_["iter"] == 0)
    best_two = sorted(first[np.argsort(-search.cv_results_["mean_test_score"][first], kind="stable")[:2]])
    assert [search.cv_results_["params"][i] for i in best_two] == [
        search.cv_results_["params"][i] for i in np.flatnonzero(search.cv_results_["iter"] == 1)]
    assert search.cv_results_["rank_test_score"][search.best_index_] == 1
    # 4 candidates x 2 epochs + 2 survivors x 4 more, per fold, against 4 x 6 for the grid
    assert search.epochs_trained_ == 3 * (4 * 2 + 2 * 4) < 3 * 4 * 6
    np.testing.assert_array_equal(search.predict(X), grid.predict(X))
    assert search.score(X, y) == grid.score(X, y)
    np.testing.assert_array_equal(search.classes_, np.arange(10))
    assert search.refit_time_ > 0 and is_classifier(search)


def test_restarting_the_survivors_gives_the_same_scores_for_more_epochs(digits):
    X, y = digits
    continued = HalvingEpochsSearchCV(_dense(), GRID, random_state=0, refit=False).fit(X, y)
    restarted = HalvingEpochsSearchCV(_dense(), GRID, random_state=0, refit=False, continue_fits=False).fit(X, y)
    for key in ("mean_test_score", "split0_test_score", "iter", "n_resources"):
        np.testing.assert_array_equal(continued.cv_results_[key], restarted.cv_results_[key])
    assert continued.best_params_ == restarted.best_params_
    assert restarted.epochs_trained_ == 3 * (4 * 2 + 2 * 6) > continued.epochs_trained_
    assert not hasattr(continued, "best_estimator_")
    # the running training seconds of a survivor add its rungs' seconds
    last = np.flatnonzero(continued.cv_results_["iter"] == 1)
    assert np.all(continued.cv_results_["cumulative_fit_time"][last] > continued.cv_results_["mean_fit_time"][last])


def test_halving_tunes_a_pipeline_and_its_epochs(digits):
    X, y = digits
    images = X.reshape(-1, 8, 8)
    pipe = make_model_pipeline("dense", hidden_layer_sizes=(16,), epochs=3, random_state=0)
    grid = {"clf__epochs": [3, 9], "clf__dropout": [0.0, 0.3, 0.5]}
    search = HalvingEpochsSearchCV(pipe, grid, random_state=0).fit(images, y)
    results = search.cv_results_
    assert search.n_candidates_ == [6, 2]
    # each candidate's rungs are thirds of its own epochs
    first = results["iter"] == 0
    assert sorted(set(zip(results["param_clf__epochs"][first], results["n_resources"][first]))) == [(3, 1), (9, 3)]
    assert search.best_estimator_[-1].n_epochs_ == search.best_params_["clf__epochs"]
    assert search.predict(images).shape == y.shape


def test_halving_is_reproducible_and_says_what_it_cannot_do(digits, capsys):
    X, y = digits
    runs = [HalvingEpochsSearchCV(_dense(epochs=2), {"dropout": [0.0, 0.5]}, factor=2, random_state=1,
                                  refit=False, verbose=verbose).fit(X, y) for verbose in (0, 1)]
    np.testing.assert_array_equal(runs[0].cv_results_["mean_test_score"], runs[1].cv_results_["mean_test_score"])
    assert runs[0].n_candidates_ == [2, 1]
    # a line per finished fit (2 candidates x 3 folds, then 1 x 3) with the time left, and one per rung
    lines = capsys.readouterr().out.splitlines()
    fits = [line for line in lines if ", fit " in line]
    assert len(fits) == 9 and all(re.search(r"about \d+ s left$", line) for line in fits)
    assert sum("candidate(s), best" in line for line in lines) == 2
    with pytest.raises(TypeError, match="LogisticRegression has no fit_until"):
        HalvingEpochsSearchCV(LogisticRegression(), {"C": [1.0]}).fit(X, y)
    with pytest.raises(ValueError, match="factor must be an integer of at least 2"):
        HalvingEpochsSearchCV(_dense(), {"dropout": [0.0]}, factor=1).fit(X, y)
    with pytest.raises(TypeError, match="takes no fit parameters"):
        HalvingEpochsSearchCV(_dense(), {"dropout": [0.0]}).fit(X, y, sample_weight=np.ones(len(y)))


def test_early_rungs_score_with_early_score_params_and_the_last_with_the_estimators_own(digits):
    X, y = digits
    images = X.reshape(-1, 8, 8)
    cnn = CNNClassifier(filters=(8,), dense_units=16, epochs=6, test_time_flip=True, test_time_shift=1, random_state=0)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    early = {"test_time_flip": False, "test_time_shift": 0}
    calls = []
    search = HalvingEpochsSearchCV(cnn, {"dropout": [0.0, 0.5]}, factor=2, cv=cv, early_score_params=early,
                                   callback=calls.append, refit=False).fit(images, y)
    grid = GridSearchCV(cnn, {"dropout": [0.0, 0.5]}, cv=cv).fit(images, y)
    results = search.cv_results_
    # rung 1 (3 epochs of 6): the scores of the network so far without its test-time views
    train, test = next(cv.split(images, y))
    part = clone(cnn).set_params(dropout=0.0).fit_until(images[train], y[train], 3)
    with_views = part.score(images[test], y[test])
    part.set_params(**early)
    assert results["split0_test_score"][0] == part.score(images[test], y[test]) != with_views
    # the last rung: the estimator's own scoring, so the grid's fold scores exactly
    last = np.flatnonzero(results["iter"] == 1)[0]
    j = grid.cv_results_["params"].index(results["params"][last])
    assert results["mean_test_score"][last] == grid.cv_results_["mean_test_score"][j]
    # a call per finished fit, with the search's time left shrinking to zero at the end
    assert [(c["rung"], c["fit"]) for c in calls] == [(1, i) for i in range(1, 7)] + [(2, i) for i in range(1, 4)]
    assert calls[-1]["seconds_left"] == 0 and all(c["seconds_left"] >= 0 and 0 <= c["score"] <= 1 for c in calls)
    with pytest.raises(ValueError, match=r"does not have: \['test_time_flips'\]"):
        HalvingEpochsSearchCV(cnn, {"dropout": [0.0]}, early_score_params={"test_time_flips": False}).fit(images, y)
    with pytest.raises(TypeError, match="callback must be callable"):
        HalvingEpochsSearchCV(cnn, {"dropout": [0.0]}, callback="print").fit(images, y)


@pytest.mark.slow
def test_halving_in_process_workers_gives_the_serial_result(digits):
    X, y = digits
    kwargs = {"random_state": 0, "refit": False}
    serial = HalvingEpochsSearchCV(_dense(), GRID, **kwargs).fit(X, y)
    parallel = HalvingEpochsSearchCV(_dense(), GRID, n_jobs=2, **kwargs).fit(X, y)
    np.testing.assert_array_equal(serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"])


def test_compare_models_searches_by_halving_and_reports_the_search(digits, tmp_path):
    from skfmnist import compare_models

    X, y = digits
    images = X.reshape(-1, 8, 8)
    models = {"dense": make_model_pipeline("dense", hidden_layer_sizes=(16,), epochs=3, random_state=0),
              "small": make_model_pipeline("dense", hidden_layer_sizes=(4,), epochs=3, random_state=0)}
    grids = {"dense": {"clf__dropout": [0.0, 0.3, 0.5]}}
    result = compare_models(models, images[:1200], y[:1200], images[1200:], y[1200:], param_grids=grids,
                            random_state=0, progress=False)
    table = result.search_results["dense"]
    assert list(table["rung"]) == [0, 0, 0, 1] and list(table["epochs"]) == [1, 1, 1, 3]
    chosen = table[table["best"]].iloc[0]
    assert chosen["rung"] == 1 and chosen["params"] == result.table.loc["dense", "best_params"]
    np.testing.assert_array_equal(result.cv_scores["dense"], chosen[["split0", "split1", "split2"]].astype(float))
    assert np.isfinite(result.pairwise["cv_ttest_pvalue"]).all()  # both models cross-validated on the same folds
    assert "small" not in result.search_results

    folder = result.save(tmp_path / "report", save_models=False)
    text = (folder / "report.md").read_text()
    assert "## Model selection" in text and "successive halving" in text and "(chosen)" in text
    assert (folder / "search_dense.png").is_file()
    import json

    metrics = json.loads((folder / "metrics.json").read_text())
    assert len(metrics["search_results"]["dense"]) == 4 and metrics["metadata"]["search"] == "halving"

    grid = compare_models({"dense": models["dense"]}, images[:1200], y[:1200], images[1200:], y[1200:],
                          param_grids=grids, search="grid", random_state=0, progress=False)
    assert list(grid.search_results["dense"]["epochs"]) == [3, 3, 3]
    # the candidate the halving search kept has the grid's fold scores
    row = grid.search_results["dense"][grid.search_results["dense"]["params"] == chosen["params"]].iloc[0]
    assert row["mean"] == chosen["mean"]
    with pytest.raises(ValueError, match="search must be 'halving' or 'grid'"):
        compare_models({"dense": models["dense"]}, images, y, images, y, param_grids=grids, search="random")


def test_search_seconds_adds_what_each_rung_trains_and_scores():
    from skfmnist.evaluation._budget import Cost, search_seconds

    costs = [Cost(train=1e-3, predict=1e-4, epochs=9)] * 4
    n, k = 3000, 3  # folds of 2000 training and 1000 scored images
    refit = 9 * 3000 * 1e-3
    grid = k * 4 * (9 * 2000 * 1e-3 + 1000 * 1e-4) + refit
    assert search_seconds(costs, "grid", n_train=n, n_folds=k) == pytest.approx(grid)
    # by 3: four candidates for 3 epochs, two for 6 more, each scored after its rung
    halving = k * (4 * (3 * 2000 * 1e-3 + 1000 * 1e-4) + 2 * (6 * 2000 * 1e-3 + 1000 * 1e-4)) + refit
    assert search_seconds(costs, 3, n_train=n, n_folds=k) == pytest.approx(halving)
    assert search_seconds(costs, None, n_train=n, n_folds=0) == pytest.approx(refit)
    # the costliest candidates are assumed to survive
    mixed = [Cost(1e-3, 1e-4, 9), Cost(1e-3, 1e-4, 9), Cost(1e-3, 1e-4, 9), Cost(4e-3, 1e-4, 9)]
    assert search_seconds(mixed, 3, n_train=n, n_folds=k) > search_seconds(costs, 3, n_train=n, n_folds=k)


def test_a_budget_chooses_the_most_thorough_search_that_fits(digits, tmp_path):
    from skfmnist import compare_models

    X, y = digits
    images = X.reshape(-1, 8, 8)
    models = {"dense": make_model_pipeline("dense", hidden_layer_sizes=(16,), epochs=4, random_state=0)}
    grids = {"dense": {"clf__dropout": [0.0, 0.2, 0.4, 0.6]}}
    data = (images[:1200], y[:1200], images[1200:], y[1200:])
    roomy = compare_models(models, *data, param_grids=grids, search="grid", budget=3600, random_state=0,
                           progress=False)
    plan = roomy.metadata["plan"]
    assert plan["dense"]["search"] == "grid" and plan["dense"]["predicted_seconds"] > 0
    assert plan["dense"]["seconds"] > 0 and plan["probe_seconds"] > 0
    assert set(roomy.search_results["dense"]["epochs"]) == {4}
    with pytest.warns(UserWarning, match="more than its budget"):
        tight = compare_models(models, *data, param_grids=grids, budget=0.01, random_state=0, progress=False)
    assert tight.metadata["plan"]["dense"]["search"] == 4  # the least training: halving by 4
    assert list(tight.search_results["dense"]["rung"]) == [0, 0, 0, 0, 1]
    text = (tight.save(tmp_path / "report", save_models=False) / "report.md").read_text()
    assert "Time budget" in text and "successive halving by 4" in text
