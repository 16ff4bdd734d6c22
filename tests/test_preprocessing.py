"""PixelScaler and ImageReshaper."""

import numpy as np
import pytest

from skfmnist import ImageReshaper, PixelScaler
from skfmnist.preprocessing import infer_image_shape


def test_scaler_uint8_to_float32_one_copy():
    X = np.array([[0, 51, 255]], dtype=np.uint8)
    out = PixelScaler().fit_transform(X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0, 0.2, 1]])


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
    assert infer_image_shape(12) == (2, 2, 3)
    assert infer_image_shape(7) == (1, 7, 1)
