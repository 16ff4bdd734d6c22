"""Bad input: a clear error that names the problem, for every entry point."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from skfmnist import (
    CNNClassifier,
    DeepCNNClassifier,
    DenseClassifier,
    ImageReshaper,
    PixelScaler,
    fetch_fashion_mnist,
    make_model_pipeline,
)

RNG = np.random.default_rng(0)
X16 = RNG.random((40, 16)).astype(np.float32)
Y16 = np.arange(40) % 2
IMG = RNG.integers(0, 256, size=(40, 784)).astype(np.uint8)


@pytest.fixture(scope="module")
def fitted_dense():
    return DenseClassifier(hidden_layer_sizes=(4,), epochs=1, random_state=0).fit(X16, Y16)


@pytest.fixture(scope="module")
def fitted_pipe():
    return make_model_pipeline("cnn", filters=(2,), dense_units=4, epochs=1, random_state=0).fit(IMG, Y16)


def _nan(X):
    X = X.astype(np.float32).copy()
    X[0, 0] = np.nan
    return X


# (id, callable, exception type, message fragment)
CASES = [
    ("fetch-bad-subset", lambda f: fetch_fashion_mnist(subset="valid"), ValueError, "subset"),
    ("fetch-bad-data-home", lambda f: fetch_fashion_mnist(data_home=3), ValueError, "data_home"),
    ("scaler-nan", lambda f: PixelScaler().fit(_nan(IMG)), ValueError, "NaN"),
    ("scaler-inf", lambda f: PixelScaler().fit(np.full((2, 4), np.inf)), ValueError, "infinity"),
    ("scaler-negative", lambda f: PixelScaler().fit(-np.ones((2, 4))), ValueError, "Negative values"),
    ("scaler-above-255", lambda f: PixelScaler().fit(np.full((2, 4), 300)), ValueError, "max_value=255"),
    ("scaler-strings", lambda f: PixelScaler().fit(np.array([["a", "b"]])), ValueError, "Convert your data to numeric"),
    (
        "reshaper-wrong-pixels",
        lambda f: ImageReshaper(image_shape=(28, 28)).fit(IMG[:, :700]),
        ValueError,
        "700 features per sample",
    ),
    ("reshaper-rank-5", lambda f: ImageReshaper().fit(np.zeros((2, 2, 2, 2, 2))), ValueError, "rank 5"),
    (
        "pipeline-wrong-pixels",
        lambda f: make_model_pipeline("cnn", image_shape=(28, 28)).fit(IMG[:, :783], Y16),
        ValueError,
        "783 features per sample",
    ),
    ("pipeline-predict-wrong-pixels", lambda f: f["pipe"].predict(IMG[:, :780]), ValueError, "X has 780 features"),
    ("pipeline-images-wrong-rank", lambda f: f["pipe"].predict(np.zeros((2, 28, 28, 1, 1))), ValueError, "rank 5"),
    ("pipeline-above-255", lambda f: f["pipe"].predict(IMG.astype(float) + 300), ValueError, "max_value=255"),
    ("clf-nan", lambda f: DenseClassifier().fit(_nan(X16), Y16), ValueError, "NaN"),
    (
        "clf-object-strings",
        lambda f: DenseClassifier().fit(np.array([["a"] * 16] * 40, dtype=object), Y16),
        ValueError,
        "could not convert",
    ),
    ("clf-empty-X", lambda f: DenseClassifier().fit(np.zeros((0, 16)), []), ValueError, "0 sample"),
    (
        "clf-length-mismatch",
        lambda f: DenseClassifier().fit(X16, Y16[:-1]),
        ValueError,
        "inconsistent numbers of samples",
    ),
    ("clf-single-class", lambda f: DenseClassifier().fit(X16, np.zeros(40)), ValueError, "at least 2 classes"),
    ("clf-2d-y", lambda f: DenseClassifier().fit(X16, np.c_[Y16, Y16]), ValueError, "1d array"),
    ("clf-continuous-y", lambda f: DenseClassifier().fit(X16, RNG.random(40)), ValueError, "Unknown label type"),
    (
        "clf-predict-feature-count",
        lambda f: f["dense"].predict(X16[:, :5]),
        ValueError,
        "X has 5 features, but DenseClassifier is expecting 16",
    ),
    ("clf-predict-before-fit", lambda f: DenseClassifier().predict(X16), NotFittedError, "not fitted yet"),
    ("clf-sparse", lambda f: DenseClassifier().fit(sp.csr_matrix(X16), Y16), TypeError, "Sparse data was passed"),
    (
        "clf-pandas-text-column",
        lambda f: DenseClassifier().fit(pd.DataFrame({"a": ["x"] * 40, "b": X16[:, 0]}), Y16),
        ValueError,
        "could not convert string to float",
    ),
    ("clf-negative-epochs", lambda f: DenseClassifier(epochs=-1).fit(X16, Y16), ValueError, "'epochs' parameter"),
    ("clf-dropout-1", lambda f: CNNClassifier(dropout=1.0).fit(X16, Y16), ValueError, "'dropout' parameter"),
    ("clf-empty-filters", lambda f: CNNClassifier(filters=()).fit(X16, Y16), ValueError,
     "filters must be a positive int or a non-empty"),
    (
        "clf-zero-learning-rate",
        lambda f: DeepCNNClassifier(learning_rate=0).fit(X16, Y16),
        ValueError,
        "'learning_rate' parameter",
    ),
    (
        "clf-unknown-optimizer",
        lambda f: DenseClassifier(optimizer="adamm").fit(X16, Y16),
        ValueError,
        "optimizer='adamm' is not the name of a Keras optimizer",
    ),
    (
        "clf-unknown-activation",
        lambda f: DenseClassifier(activation="nope").fit(X16, Y16),
        ValueError,
        "activation='nope'",
    ),
    (
        "clf-validation-fraction",
        lambda f: DenseClassifier(validation_fraction=1.5).fit(X16, Y16),
        ValueError,
        "'validation_fraction' parameter",
    ),
    (
        "cnn-image-shape-mismatch",
        lambda f: CNNClassifier(image_shape=(4, 4)).fit(np.zeros((40, 2, 8, 1)), Y16),
        ValueError,
        "does not match",
    ),
    (
        "early-stopping-too-few",
        lambda f: DenseClassifier(early_stopping=True).fit(X16[:6], Y16[:6]),
        ValueError,
        "early_stopping=True",
    ),
    ("unknown-model-name", lambda f: make_model_pipeline("vgg"), ValueError, "Unknown model name 'vgg'"),
]


@pytest.mark.parametrize("case, func, exc_type, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_clear_error(case, func, exc_type, message, fitted_dense, fitted_pipe):
    fixtures = {"dense": fitted_dense, "pipe": fitted_pipe}
    with pytest.raises(exc_type) as exc:
        func(fixtures)
    assert message in str(exc.value), f"{case}: {exc.value}"
    assert "tensorflow" not in type(exc.value).__module__


def test_uint8_fit_float_predict(fitted_pipe):
    np.testing.assert_allclose(
        fitted_pipe.predict_proba(IMG.astype(np.float64)), fitted_pipe.predict_proba(IMG), rtol=1e-6
    )


def test_class_only_in_test_set_does_not_break_the_comparison():
    from skfmnist import compare_models

    models = {"dense": make_model_pipeline("dense", hidden_layer_sizes=(4,), epochs=1)}
    y_test = Y16.copy()
    y_test[:3] = 7  # a class the model never saw
    result = compare_models(models, IMG, Y16, IMG, y_test, cv=0, random_state=0, progress=False)
    predictions = result.predictions["dense"]
    assert 7 not in predictions  # a class it never saw is never predicted, and counts as wrong
    assert result.table.loc["dense", "test_accuracy"] == np.mean(predictions == y_test)
    assert "0" in result.reports["dense"] and result.confusion_matrices["dense"].sum() == len(y_test) - 3


# ---------------------------------------------------------------- labels, weights and chunks


def _twelve_classes():
    rng = np.random.default_rng(1)
    y = np.arange(240) % 12
    X = rng.normal(size=(240, 12)).astype(np.float32) + np.eye(12, dtype=np.float32)[y] * 3
    return X, y


@pytest.mark.parametrize("n_classes", [12, 11])
def test_class_weight_keys_must_be_the_labels_not_their_strings(n_classes):
    X, y = _twelve_classes()
    keep = y < n_classes
    weights = {"0": 2.0, "11": 0.0}  # as read from a JSON file
    with pytest.raises(ValueError, match=r"class_weight has key\(s\) \['0', '11'\] that are not labels"):
        DenseClassifier(hidden_layer_sizes=(4,), epochs=1, class_weight=weights).fit(X[keep], y[keep])
    named = np.array(list("abcdefghijkl"))[y]
    with pytest.raises(ValueError, match=r"key\(s\) \[0\] that are not labels"):
        DenseClassifier(hidden_layer_sizes=(4,), epochs=1, class_weight={0: 2.0}).fit(X, named)


@pytest.mark.parametrize("weight", [-1.0, float("nan"), float("inf"), "2"])
def test_class_weights_must_be_finite_and_not_negative(weight):
    with pytest.raises(ValueError, match=r"class_weight\[1\] = .*finite numbers >= 0, as sample weights must"):
        DenseClassifier(hidden_layer_sizes=(4,), epochs=1, class_weight={1: weight}).fit(X16, Y16)


def test_class_weights_of_zero_for_every_class_are_an_error():
    with pytest.raises(ValueError, match="weight of zero: there is nothing to train on"):
        DenseClassifier(hidden_layer_sizes=(4,), epochs=1, class_weight={0: 0, 1: 0}).fit(X16, Y16)
    with pytest.raises(ValueError, match="only one class with a positive weight"):
        DenseClassifier(hidden_layer_sizes=(4,), epochs=1, class_weight={0: 0}).fit(X16, Y16)


def test_labels_of_another_type_than_the_classes_are_an_error():
    clf = DenseClassifier(hidden_layer_sizes=(4,), epochs=1, random_state=0).partial_fit(X16, Y16, classes=[0, 1])
    with pytest.raises(ValueError, match="numbers and strings are different labels"):
        clf.partial_fit(X16, Y16.astype(str))
    with pytest.raises(ValueError, match="y_val holds labels of dtype <U.*numbers and strings"):
        DenseClassifier(hidden_layer_sizes=(4,), epochs=1).fit(X16, Y16, X_val=X16, y_val=Y16.astype(str))


@pytest.mark.parametrize("cls", [DenseClassifier, CNNClassifier])
def test_partial_fit_takes_chunks_that_lack_classes(cls):
    X, y = _twelve_classes()
    clf = cls(epochs=1, random_state=0, **({"filters": (2,), "dense_units": 4} if cls is CNNClassifier else {}))
    clf.partial_fit(X[:5], y[:5], classes=np.arange(12))  # 5 samples, 12 classes
    clf.partial_fit(X[y == 7][:8], y[y == 7][:8])  # a chunk of one class
    clf.partial_fit(X[y == 3][:1], y[y == 3][:1], sample_weight=[2.0])
    assert clf.predict_proba(X[:3]).shape == (3, 12) and clf.n_epochs_ == 3
    with pytest.raises(ValueError, match=r"classes=\[0, 1\] is not the same as on the first call"):
        clf.partial_fit(X[:4], y[:4] % 2, classes=[0, 1])
    with pytest.raises(ValueError, match=r"label\(s\) \[12\]"):
        clf.partial_fit(X[:4], np.full(4, 12))


def test_partial_fit_refuses_balanced_class_weights_with_the_way_that_works():
    with pytest.raises(ValueError, match="'balanced' is not supported for partial_fit.*compute_class_weight"):
        DenseClassifier(class_weight="balanced").partial_fit(X16, Y16, classes=[0, 1])
    clf = DenseClassifier(hidden_layer_sizes=(4,), class_weight={0: 1.0, 1: 3.0}, random_state=0)
    clf.partial_fit(X16[Y16 == 1], Y16[Y16 == 1], classes=[0, 1])
    assert clf.n_epochs_ == 1


@pytest.mark.parametrize("shape", [(0, 784), (0, 28, 28), (0, 28, 28, 1)])
def test_predicting_no_samples_is_scikit_learns_error(fitted_pipe, shape):
    with pytest.raises(ValueError, match="0 sample"):
        fitted_pipe.predict(np.zeros(shape, dtype=np.uint8))
    with pytest.raises(ValueError, match="0 sample"):
        CNNClassifier(epochs=1).fit(np.zeros(shape), [])


def test_a_report_replaces_only_a_report_folder(tmp_path):
    from skfmnist.evaluation import check_report_target

    check_report_target(tmp_path / "new")  # a new folder is fine
    empty = tmp_path / "empty"
    empty.mkdir()
    check_report_target(empty, overwrite=True)  # nothing to lose
    with pytest.raises(FileExistsError, match="already exists"):
        check_report_target(empty)
    report = tmp_path / "report"
    (report / "models").mkdir(parents=True)
    (report / "metrics.json").write_text('{"command": "", "models": [], "pairwise": [], "versions": {}}')
    for name in ("report.md", "report.html", "curves_cnn.png", "classification_report_cnn.txt",
                 "models/cnn.skfmnist"):
        (report / name).write_text("")
    check_report_target(report, overwrite=True)
    (report / "models" / "train.npz").write_text("")
    with pytest.raises(FileExistsError, match=r"holds other files too \(models/train.npz\)"):
        check_report_target(report, overwrite=True)
    (report / "models" / "train.npz").unlink()
    with pytest.raises(FileExistsError, match="which this run reads"):
        check_report_target(report, overwrite=True, inputs=[report / "models" / "cnn.skfmnist"])
    with pytest.raises(FileExistsError, match="which this run reads"):
        check_report_target(tmp_path, overwrite=True, inputs=[report / "report.md"])
    (tmp_path / "metrics.json").write_text("{}")  # a metrics.json of someone else's
    with pytest.raises(FileExistsError, match="not a report folder that skfmnist wrote"):
        check_report_target(tmp_path, overwrite=True)
