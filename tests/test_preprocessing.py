"""PixelScaler and ImageReshaper."""

import numpy as np
import pytest

from skfmnist import ImageReshaper, PixelScaler
from skfmnist.preprocessing import infer_image_shape, split_images


def test_scaler_uint8_to_float32_one_copy():
    X = np.array([[0, 51, 255]], dtype=np.uint8)
    out = PixelScaler().fit_transform(X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0, 0.2, 1]])


@pytest.mark.parametrize(
    "X",
    [
        np.random.default_rng(0).integers(0, 256, size=(7, 9), dtype=np.uint8),
        np.random.default_rng(1).uniform(0, 255, size=(7, 9)),  # float64: rounded to float32 first
        np.random.default_rng(2).integers(0, 256, size=(7, 9)),  # int64
        np.asfortranarray(np.random.default_rng(3).integers(0, 256, size=(7, 9), dtype=np.uint8)),
        np.random.default_rng(4).integers(0, 256, size=(3, 4, 4, 1), dtype=np.uint8),
    ],
    ids=["uint8", "float64", "int64", "fortran", "images"],
)
def test_scaler_output_is_the_float32_division(X):
    # the values of X.astype(float32) / float32(255), bit for bit, in a new array of X's shape
    out = PixelScaler().fit_transform(X)
    np.testing.assert_array_equal(out, X.astype(np.float32) / np.float32(255))
    assert out.dtype == np.float32 and out.shape == X.shape


@pytest.mark.parametrize("max_value, X", [(16, [[0, 4, 16]]), (1.0, [[0.0, 0.25, 1.0]])], ids=["digits", "unit"])
def test_scaler_takes_other_pixel_ranges(max_value, X):
    np.testing.assert_allclose(PixelScaler(max_value=max_value).fit_transform(np.array(X)), [[0, 0.25, 1]])
    with pytest.raises(ValueError, match=f"must be <= max_value={max_value}"):
        PixelScaler(max_value=max_value).fit(np.array(X) * 2)


def test_scaler_never_modifies_float32_input():
    X = np.full((2, 3), 255.0, dtype=np.float32)
    out = PixelScaler().fit(X).transform(X)
    assert not np.shares_memory(out, X)
    assert X.max() == 255.0 and out.max() == 1.0


def test_scaler_standardize_matches_numpy():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(50, 16), dtype=np.uint8)
    scaler = PixelScaler(standardize=True).fit(X)
    scaled = X / 255.0
    assert scaler.mean_ == pytest.approx(scaled.mean())
    assert scaler.scale_ == pytest.approx(scaled.std())
    np.testing.assert_allclose(scaler.transform(X), (scaled - scaled.mean()) / scaled.std(), rtol=1e-5)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X, atol=1e-3)


@pytest.mark.parametrize(
    "X, message",
    [
        (np.array([[1.0, np.nan]]), "NaN"),
        (np.array([[1.0, np.inf]]), "infinity"),
        (np.array([[-1, 3]]), "Negative values"),
        (np.array([[0, 256]]), "max_value=255"),
    ],
)
def test_scaler_rejects_bad_pixels(X, message):
    with pytest.raises(ValueError, match=message):
        PixelScaler().fit(X)
    with pytest.raises(ValueError, match=message):
        PixelScaler().fit_transform(X)
    with pytest.raises(ValueError, match=message):
        PixelScaler().fit(np.zeros_like(X)).transform(X)


@pytest.mark.parametrize(
    "X, message",
    [
        (np.array([[-1.0, np.nan]]), "NaN"),  # NaN named before the negative value next to it
        (np.array([[np.inf, np.nan]]), "NaN"),
        (np.array([[-np.inf, 3.0]]), "infinity"),
        (np.array([[0.0, np.inf, -2.0]]), "infinity"),
    ],
)
def test_scaler_names_non_finite_values_first(X, message):
    # NaN and infinity are found from the minimum and maximum (no separate
    # finiteness pass): they must still be named as such, not as a range error.
    with pytest.raises(ValueError, match=message):
        PixelScaler().fit_transform(X.astype(np.float32))


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize(
    "X",
    [
        np.random.default_rng(0).integers(0, 256, size=(40, 12), dtype=np.uint8),
        np.random.default_rng(1).uniform(0, 255, size=(40, 12)).astype(np.float32),
        np.random.default_rng(2).integers(0, 256, size=(5, 4, 4, 1)).astype(np.float64),
    ],
    ids=["uint8", "float32", "images"],
)
def test_scaler_fit_transform_checks_once_and_equals_fit_then_transform(X, standardize, monkeypatch):
    expected = PixelScaler(standardize=standardize).fit(X).transform(X)
    calls = []
    original = PixelScaler._validate
    monkeypatch.setattr(PixelScaler, "_validate", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    before = X.copy()
    scaler = PixelScaler(standardize=standardize)
    out = scaler.fit_transform(X)
    assert len(calls) == 1
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.float32 and out.shape == X.shape
    np.testing.assert_array_equal(X, before)  # input untouched
    assert not np.shares_memory(out, X)
    assert scaler.n_features_in_ == np.prod(X.shape[1:])


def test_reshaper_infers_and_checks_shapes():
    X = np.zeros((3, 784), dtype=np.float32)
    reshaper = ImageReshaper().fit(X)
    out = reshaper.transform(X)
    assert out.shape == (3, 28, 28, 1) and np.shares_memory(out, X)
    np.testing.assert_array_equal(reshaper.inverse_transform(out), X)
    assert reshaper.transform(out).shape == (3, 28, 28, 1)  # images pass through
    assert reshaper.transform(out[..., 0]).shape == (3, 28, 28, 1)
    with pytest.raises(ValueError, match="783 features per sample"):
        ImageReshaper(image_shape=(28, 28, 1)).fit(np.zeros((2, 783)))
    with pytest.raises(ValueError, match="X has 783 features"):
        reshaper.transform(np.zeros((2, 783)))
    with pytest.raises(ValueError, match="fitted for images of shape"):
        reshaper.transform(np.zeros((2, 14, 56, 1)))


def test_infer_image_shape():
    assert infer_image_shape(784) == (28, 28, 1)
    assert infer_image_shape(64) == (8, 8, 1)
    assert infer_image_shape(3072) == (32, 32, 3)
    assert infer_image_shape(12) == (1, 12, 1)  # too small to be an image: a row
    assert infer_image_shape(49) == (1, 49, 1)


def test_channels_first_images_are_a_clear_error():
    with pytest.raises(ValueError, match=r"looks like channels-first.*X.transpose\(0, 2, 3, 1\)"):
        split_images(np.zeros((2, 3, 32, 32)))
    assert split_images(np.zeros((2, 32, 32, 3)))[1] == (32, 32, 3)
    assert split_images(np.zeros((2, 8, 8)))[1] == (8, 8, 1)
    with pytest.raises(ValueError, match="rank 5"):
        split_images(np.zeros((2, 3, 3, 3, 3)))


def test_reshaper_keeps_arrays_when_a_pipeline_asks_for_pandas():
    import pandas as pd
    from sklearn.pipeline import make_pipeline

    X = np.random.default_rng(0).integers(0, 256, size=(4, 64))
    pipe = make_pipeline(PixelScaler(), ImageReshaper()).set_output(transform="pandas")
    assert isinstance(pipe[0].fit_transform(X), pd.DataFrame)
    assert pipe.fit_transform(X).shape == (4, 8, 8, 1)
