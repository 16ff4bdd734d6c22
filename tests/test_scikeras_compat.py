"""Coming from scikeras: builders and parameters written the scikeras way, as its documentation and tests use them.

Each test uses a builder in the form scikeras' quick start, its MLPClassifier
tutorial or its compile-kwargs and routing tests give it; where skfmnist
deliberately differs, the error names the skfmnist way (the table in
``docs/user_guide/own_network.rst``).
"""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from skfmnist import KerasClassifier

keras = pytest.importorskip("keras")


def get_clf_model(hidden_layer_sizes, meta, compile_kwargs):
    """scikeras' MLPClassifier tutorial: the loss chosen from meta's target type, the optimizer from compile_kwargs."""
    model = keras.Sequential()
    model.add(keras.layers.Input(shape=(meta["n_features_in_"],)))
    for size in hidden_layer_sizes:
        model.add(keras.layers.Dense(size, activation="relu"))
    if meta["target_type_"] == "binary":
        units, activation, loss = 1, "sigmoid", "binary_crossentropy"
    elif meta["target_type_"] == "multiclass":
        units, activation, loss = meta["n_classes_"], "softmax", "sparse_categorical_crossentropy"
    else:
        raise NotImplementedError(meta["target_type_"])
    model.add(keras.layers.Dense(units, activation=activation))
    model.compile(loss=loss, optimizer=compile_kwargs["optimizer"])
    return model


def get_model(num_hidden=10, meta=None, compile_kwargs=None):
    """scikeras' compile-kwargs tests: one sigmoid unit, compiled with everything compile_kwargs holds."""
    inp = keras.layers.Input(shape=(meta["n_features_in_"],))
    hidden = keras.layers.Dense(num_hidden, activation="relu")(inp)
    model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid", name="out1")(hidden))
    model.compile(**compile_kwargs)
    return model


def binary_fallback(meta, compile_kwargs):
    """A one-sigmoid network that falls back to binary cross-entropy when no loss is given."""
    model = keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(loss=compile_kwargs["loss"] or "binary_crossentropy", optimizer=compile_kwargs["optimizer"],
                  metrics=compile_kwargs["metrics"])
    return model


def uncompiled(meta, hidden=8):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(hidden, activation="relu"),
                             keras.layers.Dense(meta["n_classes_"], activation="softmax")])


def one_sigmoid(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(1, activation="sigmoid")])


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(n_samples=200, n_features=8, random_state=0)
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def three():
    X, y = make_classification(n_samples=240, n_features=8, n_informative=5, n_classes=3, random_state=0)
    return X.astype(np.float32), y


def test_the_tutorials_grid_search_over_the_routed_learning_rate(three):
    X, y = three
    clf = KerasClassifier(model=get_clf_model, hidden_layer_sizes=(16,), optimizer="adam",
                          optimizer__learning_rate=0.001, epochs=3, verbose=0, random_state=0)
    search = GridSearchCV(clf, {"optimizer__learning_rate": [0.001, 0.03]}, cv=2, error_score="raise").fit(X, y)
    assert search.best_params_["optimizer__learning_rate"] in (0.001, 0.03)
    rate = float(search.best_estimator_.model_.optimizer.learning_rate)
    assert rate == pytest.approx(search.best_params_["optimizer__learning_rate"])
    assert search.best_estimator_.score(X, y) > 0.5


@pytest.mark.parametrize("optimizer", [keras.optimizers.SGD, "SGD", "sgd"])
def test_an_optimizer_class_or_name_with_routed_options(binary, optimizer):
    X, y = binary
    clf = KerasClassifier(model=get_model, num_hidden=20, optimizer=optimizer, optimizer__learning_rate=0.15,
                          optimizer__momentum=0.5, loss="binary_crossentropy", epochs=2, random_state=0).fit(X, y)
    assert isinstance(clf.model_.optimizer, keras.optimizers.SGD)
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.15)
    assert float(clf.model_.optimizer.momentum) == pytest.approx(0.5)
    assert clf.model_.loss == "binary_crossentropy"


RATES = []


class RecordRate(keras.callbacks.Callback):
    """Records the learning rate of every step (in a module list: each fit trains with a copy of the callback)."""

    def on_train_batch_begin(self, batch, logs=None):
        RATES.append(float(self.model.optimizer.learning_rate))


def test_a_routed_learning_rate_is_the_peak_of_the_schedule(binary):
    X, y = binary
    RATES.clear()
    KerasClassifier(uncompiled, optimizer__learning_rate=0.05, lr_schedule="one_cycle", epochs=2, batch_size=20,
                    steps_per_execution=1, callbacks=[RecordRate()], random_state=0).fit(X, y)
    assert len(RATES) == 20 and max(RATES) == pytest.approx(0.05) and RATES[0] == pytest.approx(0.05 / 25)
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=10, decay_rate=0.5)
    RATES.clear()
    KerasClassifier(uncompiled, optimizer__learning_rate=schedule, epochs=2, batch_size=20, steps_per_execution=1,
                    callbacks=[RecordRate()], random_state=0).fit(X, y)
    np.testing.assert_allclose(RATES, [0.01 * 0.5 ** (step / 10) for step in range(20)], rtol=1e-5)
    with pytest.raises(ValueError, match="learning rate must be a positive number"):
        KerasClassifier(uncompiled, optimizer__learning_rate=-1.0, epochs=1).fit(X, y)


def test_a_builder_that_takes_params_gets_the_estimators_parameters(binary):
    X, y = binary
    seen = {}

    def build(meta, params, hidden=4):
        seen.update(params)
        return uncompiled(meta, hidden)

    KerasClassifier(build, model__hidden=6, epochs=2, batch_size=16, max_fit_time=60.0, random_state=3).fit(X, y)
    assert seen["epochs"] == 2 and seen["batch_size"] == 16 and seen["model__hidden"] == 6
    assert seen["max_fit_time"] == 60.0 and seen["random_state"] == 3 and seen["model"] is build
    assert seen["compute_dtype"] == "float32" and seen["optimizer"] == "adam"


def test_meta_describes_the_estimator_that_calls_the_builder(three):
    X, y = three
    seen = {}

    def build(meta):
        seen.update(meta)
        return uncompiled(meta)

    labels = np.array(["ant", "bee", "cat"])[y]
    KerasClassifier(build, epochs=1, random_state=0).fit(X, labels)
    assert seen["n_classes_"] == 3 and seen["target_type_"] == "multiclass"
    assert list(seen["classes_"]) == ["ant", "bee", "cat"] and seen["y_dtype_"] == labels.dtype
    assert seen["X_shape_"] == X.shape and seen["n_features_in_"] == 8 and seen["n_outputs_"] == 1
    # partial_fit: every class of classes=, though the first chunk holds two samples of one class only
    clf = KerasClassifier(build, random_state=0).partial_fit(X[:2][y[:2] == y[0]], labels[:2][y[:2] == y[0]],
                                                           classes=["ant", "bee", "cat"])
    assert seen["n_classes_"] == 3 and list(seen["classes_"]) == ["ant", "bee", "cat"]
    assert clf.predict_proba(X[:4]).shape == (4, 3)


def test_compile_kwargs_hold_the_loss_and_metrics_given_and_none_otherwise(binary):
    X, y = binary
    seen = {}

    def build(meta, compile_kwargs):
        seen.update(compile_kwargs)
        return binary_fallback(meta, compile_kwargs)

    clf = KerasClassifier(build, epochs=3, learning_rate=0.02, random_state=0).fit(X, y)
    assert seen["loss"] is None and seen["metrics"] is None
    assert isinstance(seen["optimizer"], keras.optimizers.Adam)
    assert clf.model_.loss == "binary_crossentropy" and clf.score(X, y) > 0.7
    # compiled without metrics: no made-up accuracy in the history
    assert set(clf.history_) == {"loss", "time"}
    focal = keras.losses.BinaryFocalCrossentropy()
    clf = KerasClassifier(build, loss=focal, metrics=["binary_accuracy"], epochs=3, random_state=0).fit(X, y)
    assert seen["loss"] is focal and seen["metrics"] == ["binary_accuracy"] and clf.model_.loss is focal
    assert len(clf.history_["binary_accuracy"]) == 3


def test_a_binary_builders_accuracy_is_the_share_predicted_right(binary):
    X, y = binary
    clf = KerasClassifier(binary_fallback, metrics=[keras.metrics.BinaryAccuracy(name="acc")], epochs=3,
                          random_state=0).fit(X[:150], y[:150], X_val=X[150:], y_val=y[150:])
    assert {"acc", "val_acc", "val_loss"} <= set(clf.history_) and "accuracy" not in clf.history_
    assert clf.history_["val_acc"][-1] == pytest.approx(np.mean(clf.predict(X[150:]) == y[150:]))


@pytest.mark.parametrize("loss", [keras.losses.BinaryCrossentropy, "BinaryCrossentropy", "binary_crossentropy"])
def test_the_loss_as_a_class_or_a_name(binary, loss):
    X, y = binary
    clf = KerasClassifier(model=get_model, num_hidden=20, optimizer="sgd", loss=loss, epochs=2, random_state=0)
    clf.fit(X, y)
    if isinstance(loss, type):
        assert isinstance(clf.model_.loss, loss)
    else:
        assert clf.model_.loss == loss


def test_metrics_are_recorded_for_an_uncompiled_network(three):
    X, y = three
    clf = KerasClassifier(uncompiled, metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=2)],
                          epochs=2, validation_split=0.2, random_state=0).fit(X, y)
    assert {"accuracy", "sparse_top_k_categorical_accuracy", "val_sparse_top_k_categorical_accuracy"} <= set(
        clf.history_)
    top2 = clf.history_["sparse_top_k_categorical_accuracy"]
    assert all(t >= a for t, a in zip(top2, clf.history_["accuracy"]))
    with pytest.raises(TypeError, match="metrics must be a list of Keras metric"):
        KerasClassifier(uncompiled, metrics=[3], epochs=1).fit(X, y)


def test_validation_split_holds_out_a_stratified_seeded_share(three):
    X, y = three
    clf = KerasClassifier(uncompiled, validation_split=0.1, epochs=3, random_state=0).fit(X, y)
    assert len(clf.history_["val_loss"]) == 3 and len(clf.history_["val_accuracy"]) == 3
    again = KerasClassifier(uncompiled, validation_split=0.1, epochs=3, random_state=0).fit(X, y)
    assert again.history_["val_loss"] == clf.history_["val_loss"]
    stopped = KerasClassifier(uncompiled, validation_split=0.2, early_stopping=True, n_iter_no_change=1,
                              learning_rate=0.05, epochs=60, random_state=0).fit(X, y)
    assert stopped.n_epochs_ < 60 and stopped.best_epoch_ == int(np.argmin(stopped.history_["val_loss"])) + 1
    with pytest.raises(ValueError, match="validation_split=0.1 holds out a stratified share of the 6"):
        KerasClassifier(uncompiled, validation_split=0.1, epochs=1).fit(X[:6], y[:6])
    with pytest.raises(ValueError, match="partial_fit trains on every row"):
        KerasClassifier(uncompiled, validation_split=0.1).partial_fit(X, y, classes=[0, 1, 2])


@pytest.mark.parametrize(
    "params, message",
    [
        ({"shuffle": False}, "'shuffle': skfmnist shuffles the rows every epoch"),
        ({"run_eagerly": True}, "'run_eagerly'"),
        ({"build_fn": uncompiled}, "pass the builder as model="),
        ({"validation_batch_size": 64}, "validation batches have batch_size rows"),
        ({"loss__from_logits": True}, "loss__<name>.*loss=keras.losses.BinaryCrossentropy"),
        ({"metrics__0__name": "x"}, "metrics__<name>.*metrics=\\[keras.metrics.AUC"),
        ({"callbacks__patience": 2}, "callbacks__<name>"),
        ({"compile__jit_compile": True}, "compile__<name>.*jit_compile"),
        ({"model__hidden__units": 2}, "'model__hidden__units'"),
        ({"model__width": 2}, "takes no argument\\(s\\) 'width'.*takes \\['hidden', 'meta'\\]"),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else None,
)
def test_scikeras_parameters_skfmnist_does_not_take_name_the_skfmnist_way(three, params, message):
    X, y = three
    with pytest.raises(ValueError, match=message):
        KerasClassifier(uncompiled, epochs=1, **params).fit(X, y)


def test_an_optimizer_object_is_refused_with_the_class_way(three):
    X, y = three
    with pytest.raises(TypeError, match=r"optimizer=keras.optimizers.Adam, optimizer__<option>"):
        KerasClassifier(uncompiled, optimizer=keras.optimizers.Adam(learning_rate=0.01), epochs=1).fit(X, y)
    with pytest.raises(TypeError, match="Keras optimizer name or class"):
        KerasClassifier(uncompiled, optimizer=3, epochs=1).fit(X, y)


def test_losses_that_do_not_fit_the_targets_say_which_does(three, binary):
    X, y = three

    def compiled_with(loss):
        def build(meta):
            model = uncompiled(meta)
            model.compile(loss=loss, optimizer="adam")
            return model
        return build

    for loss in ("categorical_crossentropy", keras.losses.CategoricalCrossentropy(), keras.losses.KLDivergence(),
                 "mse", "binary_crossentropy"):
        with pytest.raises(ValueError, match="class indices 0 .. 2.*'sparse_categorical_crossentropy'"):
            KerasClassifier(compiled_with(loss), epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="does not one-hot encode the targets"):
        KerasClassifier(uncompiled, loss="categorical_crossentropy", epochs=1).fit(X, y)
    Xb, yb = binary
    with pytest.raises(ValueError, match="0/1 labels \\(one sigmoid unit\\).*'binary_crossentropy'"):
        KerasClassifier(one_sigmoid, loss="sparse_categorical_crossentropy", epochs=1).fit(Xb, yb)
    with pytest.raises(ValueError, match="compiled the network without a loss"):
        KerasClassifier(get_model, epochs=1).fit(Xb, yb)
    with pytest.raises(ValueError, match="loss='hinge', but the model function compiled the network with"):
        KerasClassifier(get_clf_model, hidden_layer_sizes=(4,), loss="hinge", epochs=1).fit(Xb, yb)
    with pytest.raises(ValueError, match="label_smoothing=0.1 smooths skfmnist's default loss"):
        KerasClassifier(uncompiled, loss="sparse_categorical_crossentropy", label_smoothing=0.1, epochs=1).fit(X, y)


def test_a_user_loss_on_one_sigmoid_unit_is_kept(binary):
    X, y = binary
    clf = KerasClassifier(one_sigmoid, loss="binary_focal_crossentropy", epochs=2, random_state=0).fit(X, y)
    assert clf.model_.loss == "binary_focal_crossentropy"


def test_a_subclass_with_keras_build_fn_is_pointed_to_model(three):
    X, y = three

    class MLPClassifier(KerasClassifier):
        def _keras_build_fn(self, compile_kwargs):
            return None

    with pytest.raises(ValueError, match="does not call a subclass' _keras_build_fn.*model="):
        MLPClassifier(epochs=1).fit(X, y)
