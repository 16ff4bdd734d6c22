"""KerasClassifier with the user's own network: the scikeras builder contract and every estimator guarantee."""

import pickle

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.metrics import accuracy_score, make_scorer
from sklearn.model_selection import GridSearchCV, HalvingGridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfmnist import KerasClassifier, load, make_model_pipeline, save
from skfmnist.exceptions import ModelFileError, TrainingError

from .conftest import nan_weights_after_first_epoch

keras = pytest.importorskip("keras")


def mlp(meta, hidden=16):
    return keras.Sequential([
        keras.Input(meta["X_shape_"][1:]),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(meta["n_classes_"], activation="softmax"),
    ])


def scikeras_style(meta, compile_kwargs, hidden_layer_sizes, dropout):
    """The builder of scikeras' MLPClassifier tutorial: meta, compile_kwargs, its own parameters, compiled."""
    model = keras.Sequential([keras.Input(shape=(meta["n_features_in_"],))])
    for units in hidden_layer_sizes:
        model.add(keras.layers.Dense(units, activation="relu"))
        model.add(keras.layers.Dropout(dropout))
    if meta["target_type_"] == "binary":
        units, activation, loss = 1, "sigmoid", "binary_crossentropy"
    else:
        units, activation, loss = meta["n_classes_"], "softmax", "sparse_categorical_crossentropy"
    model.add(keras.layers.Dense(units, activation=activation))
    model.compile(loss=loss, optimizer=compile_kwargs["optimizer"])
    return model


def small_cnn(meta, filters=4):
    return keras.Sequential([
        keras.Input(meta["X_shape_"][1:]),
        keras.layers.Conv2D(filters, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(meta["n_classes_"], activation="softmax"),
    ])


def logits(meta):
    return keras.Sequential([keras.Input(meta["X_shape_"][1:]), keras.layers.Dense(meta["n_classes_"])])


def sigmoid(meta):
    return keras.Sequential([
        keras.Input(meta["X_shape_"][1:]),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])


@pytest.fixture(scope="module")
def toy():
    X, y = make_classification(n_samples=240, n_features=10, n_informative=6, n_classes=3, random_state=0)
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


FAST = {"epochs": 5, "learning_rate": 0.01, "random_state": 0}


def test_a_scikeras_builder_works_unchanged(toy):
    X, y = toy
    clf = KerasClassifier(scikeras_style, hidden_layer_sizes=(16,), dropout=0.1, **FAST).fit(X, y)
    assert clf.score(X, y) > 0.7
    # compile_kwargs carry the estimator's optimizer
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.01)
    routed = KerasClassifier(scikeras_style, model__hidden_layer_sizes=(16,), model__dropout=0.1, **FAST).fit(X, y)
    np.testing.assert_array_equal(routed.predict_proba(X), clf.predict_proba(X))


def test_builder_parameters_are_estimator_parameters(toy):
    X, y = toy
    clf = KerasClassifier(mlp, model__hidden=8, **FAST)
    assert clf.get_params()["model__hidden"] == 8
    copy = clone(clf)
    assert copy.get_params()["model__hidden"] == 8 and copy.model is mlp
    clf.set_params(model__hidden=12)
    assert clf.fit(X, y).model_.layers[0].units == 12
    restored = pickle.loads(pickle.dumps(clf))
    assert restored.get_params()["model__hidden"] == 12
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    search = GridSearchCV(KerasClassifier(mlp, **FAST), {"model__hidden": [4, 32]}, cv=2).fit(X, y)
    assert search.best_params_["model__hidden"] in (4, 32)
    assert search.best_estimator_.model_.layers[0].units == search.best_params_["model__hidden"]
    assert "model__hidden" in repr(clf)


def test_unknown_parameters_and_missing_model_are_clear_errors(toy):
    X, y = toy
    with pytest.raises(ValueError, match="'units' are neither parameters of KerasClassifier nor arguments of"):
        KerasClassifier(mlp, units=3, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="takes no fit__<name> parameters.*'fit__validation_split'.*epochs"):
        KerasClassifier(mlp, fit__validation_split=0.2, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="'head__units'.*routes model__<name> parameters"):
        KerasClassifier(mlp, head__units=2, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="needs model="):
        KerasClassifier(**FAST).fit(X, y)
    with pytest.raises(TypeError, match="not a keras.Model"):
        KerasClassifier(mlp(meta={"X_shape_": (1, 10), "n_classes_": 3}), **FAST).fit(X, y)
    with pytest.raises(ValueError, match="Invalid parameter 'units'"):
        KerasClassifier(mlp).set_params(units=3)


def test_network_outputs_must_be_class_probabilities(toy):
    X, y = toy
    with pytest.raises(ValueError, match="not class probabilities"):
        KerasClassifier(logits, **FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"softmax over the 3 classes"):
        KerasClassifier(sigmoid, **FAST).fit(X, y)


def test_two_classes_with_one_sigmoid_unit(toy):
    X, y = toy
    y2 = np.where(y == 0, "a", "b")
    clf = KerasClassifier(sigmoid, **FAST).fit(X, y2)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2) and list(clf.classes_) == ["a", "b"]
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert clf.score(X, y2) > 0.7


def test_random_state_reproduces_and_none_does_not(toy):
    X, y = toy
    a = KerasClassifier(mlp, **FAST).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(KerasClassifier(mlp, **FAST).fit(X, y).predict_proba(X), a)
    free = {**FAST, "random_state": None}
    assert not np.array_equal(KerasClassifier(mlp, **free).fit(X, y).predict_proba(X),
                              KerasClassifier(mlp, **free).fit(X, y).predict_proba(X))


def test_fit_puts_python_and_numpy_random_states_back(toy):
    import random

    X, y = toy
    py, np_state = random.getstate(), np.random.get_state()
    KerasClassifier(mlp, **FAST).fit(X, y)
    assert random.getstate() == py
    after = np.random.get_state()
    assert np.array_equal(after[1], np_state[1]) and after[2:] == np_state[2:]


def test_class_weight_is_a_sample_weight_per_class(toy):
    X, y = toy
    weighted = KerasClassifier(mlp, class_weight={0: 3.0, 1: 1.0, 2: 0.5}, **FAST).fit(X, y)
    same = KerasClassifier(mlp, **FAST).fit(X, y, sample_weight=np.array([3.0, 1.0, 0.5])[y])
    np.testing.assert_array_equal(weighted.predict_proba(X), same.predict_proba(X))
    plain = KerasClassifier(mlp, **FAST).fit(X, y)
    assert not np.array_equal(plain.predict_proba(X), weighted.predict_proba(X))
    # "balanced" on a skewed sample predicts the rare class more often than no weights do
    keep = np.r_[np.flatnonzero(y != 2), np.flatnonzero(y == 2)[:10]]
    balanced = KerasClassifier(mlp, class_weight="balanced", **FAST).fit(X[keep], y[keep])
    unweighted = KerasClassifier(mlp, **FAST).fit(X[keep], y[keep])
    assert (balanced.predict(X) == 2).sum() > (unweighted.predict(X) == 2).sum()
    with pytest.raises(ValueError, match=r"class_weight has key\(s\) \[7\] that are not labels"):
        KerasClassifier(mlp, class_weight={7: 2.0}, **FAST).fit(X, y)


def test_warm_start_continues_the_fitted_network(toy):
    X, y = toy
    once = KerasClassifier(mlp, **{**FAST, "epochs": 4}).fit(X, y)
    warm = KerasClassifier(mlp, warm_start=True, **{**FAST, "epochs": 2})
    warm.fit(X, y)
    first = warm.model_
    warm.fit(X, y)
    assert warm.model_ is first and warm.n_epochs_ == 4 and len(warm.history_["loss"]) == 4
    # two fits of 2 epochs train the same weights as one fit of 4 (constant rate: the same steps)
    np.testing.assert_array_equal(warm.predict_proba(X), once.predict_proba(X))
    assert warm.history_["loss"] == once.history_["loss"]
    cold = KerasClassifier(mlp, **{**FAST, "epochs": 2}).fit(X, y)
    cold.fit(X, y)
    assert cold.n_epochs_ == 2 and cold.model_ is not first


def test_warm_start_with_a_schedule_runs_a_new_cycle(toy):
    X, y = toy
    clf = KerasClassifier(mlp, warm_start=True, lr_schedule="cosine", batch_size=240, **{**FAST, "epochs": 3})
    clf.fit(X, y)
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)  # decayed to zero
    loss_before = clf.history_["loss"][-1]
    clf.fit(X, y)
    assert clf.n_epochs_ == 6 and clf.history_["loss"][-1] < loss_before  # the second cycle trained


def test_warm_start_after_pickling_trains_further(toy):
    X, y = toy
    clf = KerasClassifier(mlp, warm_start=True, lr_schedule="cosine", **{**FAST, "epochs": 2}).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    steps = int(restored.model_.optimizer.iterations)
    restored.fit(X, y)
    assert int(restored.model_.optimizer.iterations) == 2 * steps and restored.n_epochs_ == 4
    assert restored.history_["loss"][-1] < restored.history_["loss"][1]


def test_warm_start_refuses_new_classes_and_shapes(toy):
    X, y = toy
    clf = KerasClassifier(mlp, warm_start=True, **FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"label\(s\) \[5\]"):
        clf.fit(X, np.where(y == 0, 5, y))
    with pytest.raises(ValueError, match="features"):
        clf.fit(X[:, :5], y)


def test_partial_fit_trains_one_epoch_per_chunk(digits):
    X, y = digits
    clf = KerasClassifier(mlp, model__hidden=32, learning_rate=0.01, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X[:100], y[:100])
    chunks = np.array_split(np.arange(len(X)), 6)
    clf.partial_fit(X[chunks[0]], y[chunks[0]], classes=np.arange(10))
    for _ in range(3):
        for chunk in chunks:
            clf.partial_fit(X[chunk], y[chunk])
    assert clf.n_epochs_ == 19 and len(clf.history_["loss"]) == 19
    assert clf.score(X, y) > 0.9
    only_two = KerasClassifier(mlp, random_state=0).partial_fit(X[y < 2], y[y < 2], classes=np.arange(10))
    assert only_two.predict_proba(X[:3]).shape == (3, 10)  # every class of classes=, some not seen yet
    with pytest.raises(ValueError, match=r"label\(s\) \[11\]"):
        clf.partial_fit(X[:5], np.full(5, 11))


def test_validation_data_is_recorded_and_early_stopping_follows_it(toy):
    X, y = toy
    clf = KerasClassifier(mlp, **FAST).fit(X[:160], y[:160], X_val=X[160:], y_val=y[160:])
    assert len(clf.history_["val_loss"]) == len(clf.history_["val_accuracy"]) == 5
    expected = clf.model_.evaluate(X[160:], y[160:], verbose=0, return_dict=True)
    assert clf.history_["val_loss"][-1] == pytest.approx(expected["loss"], rel=1e-4)
    stopped = KerasClassifier(mlp, early_stopping=True, n_iter_no_change=1, **{**FAST, "epochs": 40})
    stopped.fit(X[:160], y[:160], X_val=X[160:], y_val=y[160:])
    assert stopped.best_epoch_ == int(np.argmin(stopped.history_["val_loss"])) + 1
    assert stopped.n_epochs_ < 40
    with pytest.raises(ValueError, match="needs both X_val and y_val"):
        KerasClassifier(mlp, **FAST).fit(X, y, X_val=X)


def test_validation_data_through_a_pipeline_is_transformed_like_x(toy):
    X, y = toy
    pixels = np.abs(X) * 20  # "pixels" 0-255 for the scaler
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_model_pipeline("dense", hidden_layer_sizes=(8,), epochs=2, random_state=0, max_value=255)
        pipe[-1].set_fit_request(X_val=True, y_val=True)
        pipe.fit(pixels[:160], y[:160], X_val=pixels[160:], y_val=y[160:])
    clf = pipe[-1]
    scaled = pipe[:-1].transform(pixels[160:]).reshape(80, -1)  # the dense network takes rows
    expected = clf.model_.evaluate(scaled, y[160:], verbose=0, return_dict=True)
    assert clf.history_["val_loss"][-1] == pytest.approx(expected["loss"], rel=1e-4)


def test_sample_weight_is_routed_through_pipeline_search_and_cross_validation(toy):
    X, y = toy
    weights = np.where(y == 0, 5.0, 1.0)
    with sklearn.config_context(enable_metadata_routing=True):
        clf = KerasClassifier(mlp, **FAST).set_fit_request(sample_weight=True)
        clf.set_score_request(sample_weight=True)
        pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=False), clf)
        weighted = clone(pipe).fit(X, y, sample_weight=weights)
        unweighted = clone(pipe).fit(X, y)
        assert not np.array_equal(weighted.predict_proba(X), unweighted.predict_proba(X))
        direct = KerasClassifier(mlp, **FAST).fit(StandardScaler().fit_transform(X), y, sample_weight=weights)
        scaled = StandardScaler().fit(X).transform(X)
        np.testing.assert_array_equal(weighted.predict_proba(X), direct.predict_proba(scaled))
        # an explicit scorer: scikit-learn < 1.7 cannot route sample_weight to a Pipeline's own score
        scoring = make_scorer(accuracy_score).set_score_request(sample_weight=True)
        grid = {"kerasclassifier__model__hidden": [16]}  # the default: refits equal the fits above
        search = GridSearchCV(pipe, grid, cv=2, scoring=scoring).fit(X, y, sample_weight=weights)
        np.testing.assert_array_equal(search.best_estimator_.predict_proba(X), weighted.predict_proba(X))
        plain = GridSearchCV(pipe, grid, cv=2, scoring=scoring).fit(X, y)
        np.testing.assert_array_equal(plain.best_estimator_.predict_proba(X), unweighted.predict_proba(X))
        scores = cross_validate(pipe, X, y, cv=2, scoring=scoring, params={"sample_weight": weights})["test_score"]
        assert not np.array_equal(scores, cross_validate(pipe, X, y, cv=2, scoring=scoring, params={})["test_score"])

def test_pipeline_with_pandas_output_and_halving_search_over_epochs(toy):
    X, y = toy
    pixels = (np.abs(X) * 20).astype(np.float32)
    pipe = make_model_pipeline("dense", hidden_layer_sizes=(8,), random_state=0).set_output(transform="pandas")
    pipe.fit(pixels, y)
    assert pipe.predict(pixels).shape == y.shape
    import pandas as pd

    assert isinstance(pipe[0].transform(pixels), pd.DataFrame)
    search = HalvingGridSearchCV(
        make_model_pipeline("dense", hidden_layer_sizes=(8,), random_state=0), {"clf__learning_rate": [1e-3, 1e-2]},
        resource="clf__epochs", min_resources=1, max_resources=4, factor=2, cv=2,
    ).fit(pixels, y)
    assert search.best_estimator_[-1].n_epochs_ == search.best_estimator_[-1].epochs


def test_colour_images_and_channels_first_images():
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    X = rng.random((60, 32, 32, 3), dtype=np.float32)
    X[y == 1, :, :, 0] += 1  # a red class
    X[y == 2, :, :, 2] += 1  # a blue class
    clf = KerasClassifier(small_cnn, epochs=15, learning_rate=0.01, random_state=0).fit(X, y)
    assert clf.input_shape_ == (32, 32, 3) and clf.n_features_in_ == 32 * 32 * 3
    assert clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match=r"looks like channels-first.*transpose\(0, 2, 3, 1\)"):
        KerasClassifier(small_cnn, epochs=1).fit(X.transpose(0, 3, 1, 2), y)
    with pytest.raises(ValueError, match="fitted on images of shape"):
        clf.predict(X[:, :16])


def test_a_user_network_learns_the_digits(digits):
    X, y = digits
    images = X.reshape(-1, 8, 8)
    clf = KerasClassifier(small_cnn, model__filters=16, epochs=30, learning_rate=0.01, random_state=0)
    scores = cross_validate(clf, images, y, cv=3)["test_score"]
    assert scores.mean() > 0.85


def test_time_budget_and_nan_stop_hold_for_user_networks(toy):
    X, y = toy
    clf = KerasClassifier(mlp, max_fit_time=1e-9, lr_schedule="cosine", **{**FAST, "epochs": 50}).fit(X, y)
    assert clf.n_epochs_ == 1
    with pytest.raises(TrainingError, match="diverged.*epoch 2"):
        KerasClassifier(mlp, callbacks=[nan_weights_after_first_epoch()], **FAST).fit(X, y)


def test_save_and_load_a_user_network(toy, tmp_path):
    X, y = toy
    clf = KerasClassifier(mlp, model__hidden=8, **FAST).fit(X, y)
    path = save(clf, tmp_path / "mine.skfmnist")
    restored = load(path)
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert restored.get_params()["model__hidden"] == 8 and restored.model is None


class Doubling(keras.layers.Layer):
    """A custom layer nobody registered for serialization."""

    def call(self, x):
        return 2 * x


def with_custom_layer(meta):
    inputs = keras.Input(meta["X_shape_"][1:])
    return keras.Model(inputs, keras.layers.Dense(meta["n_classes_"], activation="softmax")(Doubling()(inputs)))


def test_saving_an_unregistered_custom_layer_names_it_and_the_fix(toy, tmp_path):
    X, y = toy
    clf = KerasClassifier(with_custom_layer, **FAST).fit(X, y)
    with pytest.raises(ModelFileError, match=r"of class .*Doubling.*register_keras_serializable"):
        save(clf, tmp_path / "custom.skfmnist")
    assert not list(tmp_path.iterdir())  # no file, not even a partial one
