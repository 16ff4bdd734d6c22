"""The Keras classifiers and pipelines: behaviour users of the old wrappers trip over."""

import ast
import gc
import inspect
import io
import pickle
import re

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, StratifiedKFold, check_cv, cross_validate

from skfmnist import CNNClassifier, DeepCNNClassifier, DenseClassifier, KerasClassifier, make_model_pipeline
from skfmnist.pipeline import MODEL_NAMES

from .conftest import BACKEND, nan_weights_after_first_epoch, requires_data

FAST = {"epochs": 2, "batch_size": 64, "random_state": 0}
# test accuracy floors after 2 epochs on 3,000 training images (chance: 0.10)
FLOORS = {"dense": 0.70, "cnn": 0.70, "deep_cnn": 0.60}


@pytest.fixture(scope="module")
def toy():
    X, y = make_classification(
        n_samples=240, n_features=16, n_informative=8, n_classes=3, random_state=0
    )
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def fitted_pipelines(fmnist_small):
    X_train, y_train, _, _ = fmnist_small
    return {name: make_model_pipeline(name, **FAST).fit(X_train, y_train) for name in MODEL_NAMES}


@pytest.mark.parametrize("cls", [KerasClassifier, DenseClassifier, CNNClassifier, DeepCNNClassifier])
def test_docstring_documents_every_parameter_with_its_default(cls):
    # numpydoc "name : type, default=VALUE": every __init__ parameter is there, and VALUE is
    # the signature's default (the shared parameters are filled in by fill_doc from it)
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or param.kind is param.VAR_KEYWORD:
            continue
        match = re.search(rf"^    {name} : .*default=(.+)$", cls.__doc__, re.MULTILINE)
        assert match, f"{cls.__name__} does not document {name}"
        assert ast.literal_eval(match.group(1)) == param.default, (cls.__name__, name, match.group(1))


# ------------------------------------------------------- real-data model checks
@requires_data
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_pipeline_fit_predict(name, fitted_pipelines, fmnist_small):
    _, _, X_test, y_test = fmnist_small
    pipe = fitted_pipelines[name]
    assert is_classifier(pipe)
    proba = pipe.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    pred = pipe.predict(X_test)
    np.testing.assert_array_equal(pred, pipe.classes_[proba.argmax(axis=1)])
    assert pipe.score(X_test, y_test) > FLOORS[name]
    clf = pipe.named_steps["clf"]
    assert clf.n_features_in_ == 784
    assert set(clf.history_) >= {"loss", "accuracy", "time"}
    assert clf.n_epochs_ == len(clf.history_["loss"]) == 2


@requires_data
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_pipeline_pickle_joblib_clone(name, fitted_pipelines, fmnist_small, tmp_path):
    _, _, X_test, _ = fmnist_small
    pipe = fitted_pipelines[name]
    expected = pipe.predict_proba(X_test[:200])
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict_proba(X_test[:200]), expected)
    joblib.dump(pipe, tmp_path / "p.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "p.joblib").predict_proba(X_test[:200]), expected)
    unfitted = clone(pipe)
    assert not hasattr(unfitted.named_steps["clf"], "classes_")
    assert unfitted.get_params()["clf__epochs"] == 2


@requires_data
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_pipeline_reproducible(name, fitted_pipelines, fmnist_small):
    X_train, y_train, X_test, _ = fmnist_small
    again = make_model_pipeline(name, **FAST).fit(X_train, y_train)
    np.testing.assert_array_equal(
        again.predict_proba(X_test), fitted_pipelines[name].predict_proba(X_test)
    )


@requires_data
def test_pipeline_string_labels(fmnist_small):
    X_train, y_train, X_test, y_test = fmnist_small
    from skfmnist.datasets import CLASS_NAMES

    names = np.array(CLASS_NAMES, dtype=object)
    pipe = make_model_pipeline("dense", **FAST).fit(X_train[:1000], names[y_train[:1000]])
    assert list(pipe.classes_) == sorted(CLASS_NAMES)
    assert set(pipe.predict(X_test[:100])) <= set(CLASS_NAMES)


@requires_data
def test_grid_search_over_pipeline_parameter(fmnist_small):
    X_train, y_train, _, _ = fmnist_small
    pipe = make_model_pipeline("dense", epochs=1, batch_size=64, random_state=0)
    search = GridSearchCV(pipe, {"clf__hidden_layer_sizes": [(32,), (64,)]}, cv=2)
    search.fit(X_train[:1000], y_train[:1000])
    assert search.best_params_["clf__hidden_layer_sizes"] in [(32,), (64,)]
    assert (
        search.best_estimator_.named_steps["clf"].hidden_layer_sizes == search.best_params_["clf__hidden_layer_sizes"]
    )
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


@requires_data
def test_cross_validate_uses_stratified_folds(fmnist_small):
    X_train, y_train, _, _ = fmnist_small
    pipe = make_model_pipeline("cnn", epochs=1, batch_size=64, filters=(8,), random_state=0)
    assert isinstance(check_cv(3, y_train, classifier=is_classifier(pipe)), StratifiedKFold)
    scores = cross_validate(pipe, X_train[:900], y_train[:900], cv=3)
    assert scores["test_score"].shape == (3,) and np.all(scores["test_score"] > 0.3)


@requires_data
def test_wrong_pixel_count_in_pipeline_is_an_error(fmnist_small):
    X_train, y_train, _, _ = fmnist_small
    with pytest.raises(ValueError, match="783 features per sample"):
        make_model_pipeline("cnn", image_shape=(28, 28), **FAST).fit(X_train[:50, :783], y_train[:50])
    fitted = make_model_pipeline("cnn", **FAST).fit(X_train[:50], y_train[:50])  # 28 x 28, inferred
    with pytest.raises(ValueError, match="783 features, but PixelScaler is expecting 784"):
        fitted.predict(X_train[:5, :783])


def test_unknown_model_name():
    with pytest.raises(ValueError, match="Unknown model name 'resnet'"):
        make_model_pipeline("resnet")


# ---------------------------------------------------------- estimator behaviour
CLASSIFIERS = [
    DenseClassifier(hidden_layer_sizes=(16,), epochs=3, random_state=0),
    CNNClassifier(filters=(4,), dense_units=8, epochs=3, random_state=0),
    DeepCNNClassifier(filters=(4,), convs_per_block=1, dense_units=8, epochs=3, random_state=0),
]


@pytest.mark.parametrize("clf", CLASSIFIERS, ids=lambda c: type(c).__name__)
def test_fit_float32_predict_other_dtypes(clf, toy):
    X, y = toy
    X_pos = np.abs(X * 10).astype(np.float32)
    est = clone(clf).fit(X_pos, y)
    expected = est.predict_proba(X_pos)
    np.testing.assert_allclose(est.predict_proba(X_pos.astype(np.float64)), expected, rtol=1e-6)
    assert est.predict(X_pos.astype(np.uint8)).shape == (len(X),)


def test_n_features_in_counts_pixels_for_rows_and_images():
    rng = np.random.default_rng(0)
    images = rng.random((40, 6, 6, 1), dtype=np.float32)
    y = np.arange(40) % 2
    for X, image_shape in ((images, None), (images.reshape(40, 36), (6, 6)), (images[..., 0], None)):
        clf = CNNClassifier(image_shape=image_shape, filters=(2,), dense_units=4, epochs=1, random_state=0).fit(X, y)
        assert clf.n_features_in_ == 36
        assert clf.input_shape_ == (6, 6, 1)
        assert clf.predict(images).shape == (40,)
    with pytest.raises(ValueError, match="fitted on images of shape"):
        clf.predict(rng.random((3, 4, 9, 1)))
    # rows of a square number of values from 64 on are square images; shorter rows are rows
    small = CNNClassifier(epochs=1, filters=(2,), dense_units=4)
    assert clone(small).fit(rng.random((40, 64)), y).input_shape_ == (8, 8, 1)
    assert clone(small).fit(images.reshape(40, 36), y).input_shape_ == (1, 36, 1)


def test_clone_keeps_settings_and_fit_changes_no_parameter(toy):
    X, y = toy
    keras = pytest.importorskip("keras")
    callback = keras.callbacks.History()
    clf = DenseClassifier(hidden_layer_sizes=(8,), epochs=4, learning_rate=0.01, callbacks=[callback], random_state=3)
    params = clf.get_params()
    cloned = clone(clf)
    assert cloned.get_params().keys() == params.keys()
    for key in ("hidden_layer_sizes", "epochs", "learning_rate", "random_state"):
        assert cloned.get_params()[key] == params[key]
    assert len(cloned.callbacks) == 1 and type(cloned.callbacks[0]) is keras.callbacks.History
    clf.fit(X, y)
    assert clf.n_epochs_ == 4
    after = clf.get_params()
    for key, value in params.items():
        assert after[key] is value, key


class _CountEpochs:
    """Picklable epoch counter used as a user callback."""

    def __new__(cls):
        import keras

        class CountEpochs(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.epochs_seen = 0

            def on_epoch_end(self, epoch, logs=None):
                self.epochs_seen += 1

        return CountEpochs()


def test_callbacks_do_not_leak_between_fits(toy):
    X, y = toy
    counter = _CountEpochs()
    clf = DenseClassifier(hidden_layer_sizes=(8,), epochs=2, callbacks=[counter], random_state=0)
    clf.fit(X, y)
    clf.fit(X, y)
    clone(clf).fit(X, y)
    assert counter.epochs_seen == 0  # the parameter's object is never trained with


def test_early_stopping_uses_stratified_seeded_split(toy):
    X, y = toy
    order = np.argsort(y, kind="stable")  # sorted labels: 'last rows' would be one class
    X, y = X[order], y[order]
    clf = DenseClassifier(
        hidden_layer_sizes=(16,), epochs=30, early_stopping=True, n_iter_no_change=2, learning_rate=0.01, random_state=0
    )
    clf.fit(X, y)
    # every class on both sides of the split: a hold-out of the last rows (one class) could not score this
    assert max(clf.history_["val_accuracy"]) > 0.6
    assert {"val_loss", "val_accuracy"} <= set(clf.history_)
    assert 1 <= clf.best_epoch_ <= clf.n_epochs_ <= 30
    best = int(np.argmin(clf.history_["val_loss"]))
    assert clf.best_epoch_ == best + 1
    again = clone(clf).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_early_stopping_with_too_few_samples_is_clear(toy):
    X, y = toy
    clf = DenseClassifier(epochs=1, early_stopping=True)
    with pytest.raises(ValueError, match="early_stopping=True .* at least 2 samples of every class"):
        clf.fit(X[:12], np.r_[np.zeros(11, int), 1])


def test_predict_prints_nothing(toy, capsys):
    X, y = toy
    clf = DenseClassifier(hidden_layer_sizes=(8,), epochs=1, verbose=2, random_state=0).fit(X, y)
    assert capsys.readouterr().out  # verbose training output exists
    clf.predict(X)
    clf.predict_proba(X)
    assert capsys.readouterr().out == ""


def test_single_class_is_an_error(toy):
    X, _ = toy
    with pytest.raises(ValueError, match="at least 2 classes"):
        DenseClassifier(epochs=1).fit(X, np.ones(len(X)))


def test_labels_with_gaps_and_strings_round_trip(toy):
    X, y = toy
    for labels in (np.array([3, 7, 11])[y], np.array(["cat", "dog", "emu"])[y]):
        clf = DenseClassifier(hidden_layer_sizes=(16,), epochs=20, learning_rate=0.01, random_state=0).fit(X, labels)
        np.testing.assert_array_equal(clf.classes_, np.unique(labels))
        assert set(clf.predict(X)) <= set(labels)
        assert clf.score(X, labels) > 0.6


def test_random_state_none_stays_random(toy):
    X, y = toy
    a = DenseClassifier(hidden_layer_sizes=(8,), epochs=1).fit(X, y).predict_proba(X)
    b = DenseClassifier(hidden_layer_sizes=(8,), epochs=1).fit(X, y).predict_proba(X)
    assert not np.array_equal(a, b)


@pytest.mark.slow
def test_repeated_fits_do_not_leak_memory(toy):
    psutil = pytest.importorskip("psutil")
    X, y = toy
    proc = psutil.Process()
    clf = CNNClassifier(filters=(4,), dense_units=8, epochs=1, random_state=0)
    rss = []
    for i in range(20):
        clone(clf).fit(X, y).predict(X)
        gc.collect()
        rss.append(proc.memory_info().rss)
    # TensorFlow itself keeps about 4 MB of traced graphs per new Keras model
    # (measured with plain keras.Model.fit in a loop, clear_session or not);
    # a leak of ours (models, callbacks, data copies) would add far more.
    per_fit_mb = (rss[-1] - rss[4]) / 2**20 / 15
    assert per_fit_mb < 10, f"resident memory grew {per_fit_mb:.1f} MB per fit: {np.array(rss) // 2**20}"


def test_nan_loss_stops_with_clear_error(toy):
    X, y = toy
    from skfmnist.exceptions import TrainingError

    with pytest.raises(TrainingError, match="diverged.*epoch 2"):
        DenseClassifier(hidden_layer_sizes=(8,), epochs=3, callbacks=[nan_weights_after_first_epoch()],
                        random_state=0).fit(X, y)


def test_sparse_input_is_refused_clearly(toy):
    import scipy.sparse as sp

    X, y = toy
    with pytest.raises(TypeError, match="Sparse data was passed"):
        DenseClassifier(epochs=1).fit(sp.csr_matrix(X), y)


@pytest.mark.parametrize("batch_norm", [True, False])
def test_dense_batch_norm_switches_the_normalization(toy, batch_norm):
    import keras

    X, y = toy
    clf = DenseClassifier(hidden_layer_sizes=(8, 4), batch_norm=batch_norm, epochs=2, random_state=0).fit(X, y)
    normalized = [layer for layer in clf.model_.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(normalized) == (2 if batch_norm else 0)
    hidden = [layer for layer in clf.model_.layers if isinstance(layer, keras.layers.Dense)][:-1]
    assert [layer.use_bias for layer in hidden] == [not batch_norm] * 2  # the normalization's offset replaces it
    assert np.isfinite(clf.predict_proba(X)).all()


def test_model_summary_available(toy):
    X, y = toy
    clf = DeepCNNClassifier(filters=(4,), dense_units=8, epochs=1, random_state=0).fit(X, y)
    buf = io.StringIO()
    clf.model_.summary(print_fn=lambda line, **kw: buf.write(line))
    assert "batch_normalization" in buf.getvalue()
    assert clf.n_trainable_params_ == sum(int(np.prod(w.shape)) for w in clf.model_.trainable_weights)


@pytest.mark.parametrize("clf", CLASSIFIERS, ids=lambda c: type(c).__name__)
def test_steps_per_execution_changes_no_result(clf, toy):
    # several batches per TensorFlow call is a speed setting only: same weights, same predictions
    X, y = toy
    X = np.abs(X).astype(np.float32)
    params = {"batch_size": 16, "early_stopping": True, "validation_fraction": 0.2}
    one = clone(clf).set_params(steps_per_execution=1, **params).fit(X, y)
    many = clone(clf).set_params(steps_per_execution=4, **params).fit(X, y)  # 12 batches: 3 calls
    np.testing.assert_array_equal(one.predict_proba(X), many.predict_proba(X))
    assert one.history_["val_loss"] == many.history_["val_loss"]


@pytest.mark.parametrize("clf", CLASSIFIERS, ids=lambda c: type(c).__name__)
def test_bfloat16_compute_keeps_float32_weights_and_probabilities(clf, toy):
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = toy
    X = np.abs(X).astype(np.float32)
    mixed = clone(clf).set_params(compute_dtype="bfloat16").fit(X, y)
    model = mixed.model_
    hidden = [layer for layer in model.layers if layer.weights and layer.name != "proba"]
    assert hidden and all(layer.dtype_policy.name == "mixed_bfloat16" for layer in hidden)
    assert all(w.dtype == "float32" for w in model.weights)  # weights stay float32
    assert model.get_layer("proba").dtype_policy.name == "float32"
    proba = mixed.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    # bfloat16 arithmetic is really used: the results differ from float32's ...
    plain = clone(clf).set_params(compute_dtype="float32").fit(X, y)
    assert plain.compute_dtype_ == "float32"
    assert not np.array_equal(plain.predict_proba(X), proba)
    # ... yet seeded, reproducible, and kept through pickling
    np.testing.assert_array_equal(clone(mixed).fit(X, y).predict_proba(X), proba)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(mixed)).predict_proba(X), proba)
    with pytest.raises(InvalidParameterError, match="compute_dtype"):
        clone(clf).set_params(compute_dtype="float64").fit(X, y)


@pytest.mark.parametrize(
    "name, params",
    [
        ("dense", {"hidden_layer_sizes": (8,)}),
        ("cnn", {"filters": (2,), "dense_units": 8}),
        ("deep_cnn", {"filters": (2,), "convs_per_block": 1, "dense_units": 8}),
    ],
)
def test_no_float64_copy_of_the_images_on_the_path(name, params):
    # numpy allocations are visible to tracemalloc (TensorFlow's own are not): each stage may
    # hold at most one float32 copy of the images; a float64 copy would be twice that
    import tracemalloc

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(20000, 784), dtype=np.uint8)
    y = np.arange(len(X)) % 10
    float32_mb = X.size * 4
    pipe = make_model_pipeline(name, epochs=1, batch_size=512, random_state=0, **params)
    pipe.fit(X[:200], y[:200])  # warm-up: TensorFlow's one-time allocations

    def peak(fn, *args):
        tracemalloc.start()
        try:
            out = fn(*args)
            return out, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    images, scale_peak = peak(pipe[:-1].fit_transform, X)
    assert images.dtype == np.float32
    _, fit_peak = peak(pipe[-1].fit, images, y)  # TensorFlow's copy of the images is not NumPy's: not counted
    _, predict_peak = peak(pipe.predict, X)  # scaling copy only
    assert scale_peak < 1.1 * float32_mb
    assert fit_peak < 1.1 * float32_mb
    # + the small probability matrices, and with the test-time views (deep_cnn) one moved copy
    # of one prediction batch (1,024 images) and its mirror image at a time, never of the whole input
    batch_bytes = 1024 * 784 * 4  # the classifiers predict 1,024 images at a time
    # (PyTorch's tensors share the NumPy buffers they are made from: at its peak the mirror images of two views
    # were alive, measured with tracemalloc, two batches more; still far from a copy of the whole input)
    extra = 2 if BACKEND == "torch" else 0
    assert predict_peak < 1.1 * float32_mb + (2 + extra) * batch_bytes


@pytest.mark.parametrize("Est", [CNNClassifier, DeepCNNClassifier])
def test_augmentation_acts_in_training_only(Est):
    from skfmnist.utils._keras import import_keras

    keras = import_keras()
    rng = np.random.default_rng(0)
    X = rng.random((48, 8, 8, 1), dtype=np.float32)
    y = np.repeat([0, 1], 24)
    clf = Est(augment=True, filters=(4,), dense_units=8, epochs=1, batch_size=16, random_state=0).fit(X, y)
    head = keras.Model(clf.model_.inputs[0], clf.model_.get_layer("augment_flip").output)  # takes a bare tensor
    # inference: the augmentation layers pass the images through untouched ...
    np.testing.assert_array_equal(np.asarray(head(X, training=False)), X)
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))
    # ... training: shifted and mirrored images
    assert not np.allclose(np.asarray(head(X, training=True)), X)
    # and without augment there are no such layers
    plain = Est(filters=(4,), dense_units=8, epochs=1, batch_size=16, augment=False, random_state=0).fit(X, y)
    assert not any(layer.name.startswith("augment") for layer in plain.model_.layers)


def _outputs(network, X):
    """The network's outputs on ``X`` (inference mode) as a NumPy array, on any backend."""
    import keras

    return keras.ops.convert_to_numpy(network(X, training=False))


@pytest.mark.parametrize("Est", [CNNClassifier, DeepCNNClassifier])
def test_test_time_flip_averages_each_image_and_its_mirror(Est):
    rng = np.random.default_rng(0)
    X = rng.random((48, 8, 8, 1), dtype=np.float32)
    y = np.repeat([0, 1, 2], 16)
    mirror = X[:, :, ::-1]
    # float32: JAX's compiled prediction and its eager call of the network round bfloat16 differently
    params = {"filters": (4,), "dense_units": 8, "epochs": 1, "batch_size": 16, "random_state": 0,
              "test_time_shift": 0, "compute_dtype": "float32"}
    clf = Est(test_time_flip=True, **params).fit(X, y)
    net = clf.model_
    expected = (_outputs(net, X) + _outputs(net, np.ascontiguousarray(mirror))) / 2
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba, expected, rtol=1e-5, atol=1e-6)
    # the prediction of an image and of its mirror image are the same numbers
    np.testing.assert_array_equal(proba, clf.predict_proba(mirror))
    # same weights, no averaging: the network's own output, which mirroring changes
    plain = Est(test_time_flip=False, **params).fit(X, y)
    np.testing.assert_array_equal(plain.model_.get_weights()[0], net.get_weights()[0])
    np.testing.assert_allclose(plain.predict_proba(X), _outputs(net, X), rtol=1e-5, atol=1e-6)
    assert not np.allclose(plain.predict_proba(X), plain.predict_proba(mirror))


@pytest.mark.parametrize("Est", [CNNClassifier, DeepCNNClassifier])
def test_test_time_flip_auto_follows_augment(Est):
    # mirrored predictions exactly when training saw mirrored images: never for digits or tabular data
    rng = np.random.default_rng(1)
    X = rng.random((48, 8, 8, 1), dtype=np.float32)
    y = np.repeat([0, 1, 2], 16)
    mirror = np.ascontiguousarray(X[:, :, ::-1])
    params = {"filters": (4,), "dense_units": 8, "epochs": 1, "batch_size": 16, "random_state": 0}
    assert Est().test_time_flip == "auto"
    augmented = Est(augment=True, **params).fit(X, y)
    np.testing.assert_array_equal(augmented.predict_proba(X), augmented.predict_proba(mirror))
    plain = Est(augment=False, **params).fit(X, y)
    assert not np.allclose(plain.predict_proba(X), plain.predict_proba(mirror))


def test_shift_images_moves_the_pixels_and_fills_the_border_with_zeros():
    from skfmnist.models._test_time import shift_images

    images = np.arange(1, 2 * 4 * 5 + 1, dtype=np.float32).reshape(2, 4, 5, 1)
    down_right = shift_images(images, 1, 2)
    np.testing.assert_array_equal(down_right[:, 1:, 2:], images[:, :-1, :-2])
    assert not down_right[:, :1].any() and not down_right[:, :, :2].any()
    up_left = shift_images(images, -1, -1)
    np.testing.assert_array_equal(up_left[:, :-1, :-1], images[:, 1:, 1:])
    assert not up_left[:, -1:].any() and not up_left[:, :, -1:].any()
    np.testing.assert_array_equal(shift_images(images, 0, 0), images)
    assert shift_images(images, 0, 0) is not images and up_left.flags.c_contiguous
    assert not shift_images(images, 4, 0).any()


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("Est", [CNNClassifier, DeepCNNClassifier])
def test_test_time_shift_averages_the_shifted_views(Est, flip):
    from skfmnist.models._test_time import shift_images

    rng = np.random.default_rng(2)
    X = rng.random((40, 8, 8, 1), dtype=np.float32)
    y = np.repeat([0, 1], 20)
    params = {"filters": (4,), "dense_units": 8, "epochs": 1, "batch_size": 16, "random_state": 0,
              "compute_dtype": "float32"}  # (as above)
    clf = Est(test_time_flip=flip, test_time_shift=1, **params).fit(X, y)
    net = clf.model_
    views = [shift_images(X, dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    if flip:
        views += [np.ascontiguousarray(v[:, :, ::-1]) for v in views]
    expected = np.mean([_outputs(net, v) for v in views], axis=0)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    mirror = np.ascontiguousarray(X[:, :, ::-1])
    if flip:  # the order of the sum makes an image and its mirror image agree bitwise
        np.testing.assert_array_equal(proba, clf.predict_proba(mirror))
    else:
        assert not np.allclose(proba, clf.predict_proba(mirror))
    # the shifts change the prediction; without them it is the mirror average or the network alone
    clf.set_params(test_time_shift=0)
    assert not np.allclose(clf.predict_proba(X), proba)
    alone = _outputs(net, X)
    if not flip:
        np.testing.assert_allclose(clf.predict_proba(X), alone, rtol=1e-5, atol=1e-6)


def test_test_time_shift_out_of_the_frame_fails_before_training():
    X = np.random.default_rng(3).random((20, 4, 4, 1), dtype=np.float32)
    y = np.repeat([0, 1], 10)
    clf = CNNClassifier(filters=(2,), dense_units=4, epochs=1, test_time_shift=4)
    with pytest.raises(ValueError, match=r"test_time_shift=4 moves images of shape \(4, 4, 1\) out of the frame"):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")
    clf.set_params(test_time_shift=1).fit(X, y)
    clf.set_params(test_time_shift=5)
    with pytest.raises(ValueError, match="out of the frame"):
        clf.predict(X)
    with pytest.raises(ValueError, match="test_time_shift"):
        CNNClassifier(test_time_shift=-1).fit(X, y)


@pytest.mark.parametrize("clf", [
    DenseClassifier(hidden_layer_sizes=(16,), **FAST),
    CNNClassifier(filters=(4,), dense_units=16, **FAST),
    DeepCNNClassifier(filters=(4,), convs_per_block=1, dense_units=16, test_time_flip=True, **FAST),
], ids=["dense", "cnn", "deep_cnn"])
def test_predictions_do_not_depend_on_sample_order(clf, toy):
    # sklearn's check_methods_sample_order_invariance at float32 precision (see test_common.py:
    # without AVX-512 the convolutions differ by one float32 ulp with a sample's batch position)
    X, y = toy
    clf.fit(X, y)
    order = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_allclose(clf.predict_proba(X)[order], clf.predict_proba(X[order]), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(clf.predict(X)[order], clf.predict(X[order]))


# --------------------------------------------------------------- other image data
@pytest.mark.parametrize(
    "name, params, floor",
    [
        ("dense", {"epochs": 20}, 0.93),
        ("cnn", {"epochs": 12}, 0.93),
        ("deep_cnn", {"epochs": 20, "horizontal_flip": False}, 0.93),
    ],
)
def test_each_preset_learns_the_digits(name, params, floor):
    from skfmnist import load_digits_images

    digits = load_digits_images()
    pipe = make_model_pipeline(name, max_value=digits.max_value, random_state=0, **params)
    pipe.fit(digits.X_train, digits.y_train)
    assert pipe[-1].input_shape_ == ((64,) if name == "dense" else (8, 8, 1))
    assert pipe.score(digits.X_test, digits.y_test) > floor


def test_horizontal_flip_switches_off_the_mirror_images_of_training_and_prediction():
    rng = np.random.default_rng(0)
    X = rng.random((48, 8, 8, 1), dtype=np.float32)
    y = np.repeat([0, 1], 24)
    params = {"filters": (4,), "dense_units": 8, "epochs": 1, "batch_size": 16, "random_state": 0}
    clothing = DeepCNNClassifier(**params).fit(X, y)
    assert any(layer.name == "augment_flip" for layer in clothing.model_.layers)
    mirror = np.ascontiguousarray(X[:, :, ::-1])
    np.testing.assert_array_equal(clothing.predict_proba(X), clothing.predict_proba(mirror))
    digits = DeepCNNClassifier(horizontal_flip=False, **params).fit(X, y)
    assert not any(layer.name == "augment_flip" for layer in digits.model_.layers)
    assert any(layer.name == "augment_shift" for layer in digits.model_.layers)  # shifts stay
    assert not np.allclose(digits.predict_proba(X), digits.predict_proba(mirror))


def test_no_augmentation_or_views_for_tabular_rows(toy):
    # rows are seen as images one pixel high: a shift or a mirror image would scramble their features
    X, y = toy
    clf = DeepCNNClassifier(filters=(4,), dense_units=8, epochs=1, compute_dtype="float32", random_state=0).fit(X, y)
    assert clf.input_shape_ == (1, 16, 1)
    assert not any(layer.name.startswith("augment") for layer in clf.model_.layers)
    net = _outputs(clf.model_, X.reshape(-1, 1, 16, 1)).astype(float)
    np.testing.assert_allclose(clf.predict_proba(X), net / net.sum(1, keepdims=True), rtol=1e-5, atol=1e-6)


def test_deep_cnn_takes_a_count_of_convolutions_per_block():
    import keras

    X = np.random.default_rng(0).uniform(size=(40, 8, 8, 1)).astype(np.float32)
    y = np.arange(40) % 2
    clf = DeepCNNClassifier(filters=(4, 8), convs_per_block=(1, 2), dense_units=8, epochs=1, random_state=0).fit(X, y)
    convs = [layer.filters for layer in clf.model_.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs == [4, 8, 8]
    with pytest.raises(ValueError, match=r"convs_per_block=\(1, 2, 3\) gives 3 block\(s\), but filters=\(4, 8\)"):
        DeepCNNClassifier(filters=(4, 8), convs_per_block=(1, 2, 3), epochs=1).fit(X, y)


def test_max_shift_sets_the_training_shifts_and_zero_turns_them_off():
    import keras

    X = np.random.default_rng(0).uniform(size=(40, 8, 8, 1)).astype(np.float32)
    y = np.arange(40) % 2
    params = {"filters": (4,), "dense_units": 8, "epochs": 1, "random_state": 0, "horizontal_flip": False}
    shifted = DeepCNNClassifier(max_shift=0.25, **params).fit(X, y)
    layer = next(la for la in shifted.model_.layers if isinstance(la, keras.layers.RandomTranslation))
    assert layer.height_factor == layer.width_factor == 0.25
    views = shifted.predict_proba(X)  # "auto": the shifted views of a network trained on shifts
    assert not np.array_equal(views, clone(shifted).set_params(test_time_shift=0).fit(X, y).predict_proba(X))
    still = DeepCNNClassifier(max_shift=0.0, **params).fit(X, y)
    assert not any(isinstance(la, keras.layers.RandomTranslation) for la in still.model_.layers)
    alone = clone(still).set_params(test_time_shift=0).fit(X, y)  # no shifted views at prediction either
    np.testing.assert_array_equal(still.predict_proba(X), alone.predict_proba(X))
    with pytest.raises(ValueError, match="'max_shift' parameter"):
        CNNClassifier(max_shift=1.5).fit(X, y)
