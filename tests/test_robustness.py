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
        lambda f: DenseClassifier(optimizer="adagrad").fit(X16, Y16),
        ValueError,
        "'optimizer' parameter",
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
