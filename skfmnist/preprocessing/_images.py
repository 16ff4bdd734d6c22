"""The shape of an image, in one place: rows or images in, ``(height, width, channels)`` out.

Every estimator of skfmnist accepts flat rows ``(n, h*w*c)``, grey images
``(n, h, w)`` and images ``(n, h, w, c)``, channels last, as Keras' image
layers expect them.  They validate the data as scikit-learn rows (so that
``n_features_in_`` counts the values of one image) and find or check the
shape of one image with the functions here.
"""

# SPDX-License-Identifier: MIT

import math
from numbers import Integral

import numpy as np

__all__ = ["check_image_shape", "infer_image_shape", "split_images"]


def split_images(X):
    """Flat rows of ``X``, and the shape of one image if ``X`` is an image batch.

    Parameters
    ----------
    X : array-like
        Rows ``(n, n_features)``, grey images ``(n, h, w)`` or channels-last
        images ``(n, h, w, c)``.

    Returns
    -------
    rows : array-like
        ``X`` itself for anything but a NumPy image batch, whose rows are a
        view (no copy for contiguous arrays).
    image_shape : tuple of int or None
        ``(h, w, c)`` of an image batch (``c = 1`` for grey images); None
        for rows.

    Raises
    ------
    ValueError
        For arrays of rank above 4, and for batches that look like
        channels-first images ``(n, c, h, w)``.
    """
    if isinstance(X, (list, tuple)):
        X = np.asarray(X)
    if not (isinstance(X, np.ndarray) and X.ndim > 2):
        return X, None
    if X.ndim > 4:
        raise ValueError(
            f"Expected rows (n_samples, n_features) or images (n_samples, height, width[, channels]); "
            f"got an array of rank {X.ndim} with shape {X.shape}."
        )
    shape = X.shape[1:] if X.ndim == 4 else (*X.shape[1:], 1)
    if X.ndim == 4 and shape[0] in (1, 3, 4) and shape[1] > 4 and shape[2] > 4:
        raise ValueError(
            f"X has shape {X.shape}, which looks like channels-first images (n_samples, channels, height, "
            "width); skfmnist expects channels last (n_samples, height, width, channels), as Keras' image "
            "layers do. Pass X.transpose(0, 2, 3, 1)."
        )
    return X.reshape(X.shape[0], math.prod(shape)), tuple(int(d) for d in shape)  # (0 images too)


def infer_image_shape(n_features):
    """Guess ``(height, width, channels)`` for rows of ``n_features`` values.

    A square number of at least 64 is a square grey image (784 gives
    ``(28, 28, 1)``, 64 gives ``(8, 8, 1)``), three times such a square an
    RGB image (3,072 gives ``(32, 32, 3)``); anything else is a row viewed
    as an image one pixel high, ``(1, n_features, 1)``, so that a
    convolutional network runs on any tabular data.

    Parameters
    ----------
    n_features : int
        Values per sample.

    Returns
    -------
    shape : tuple of int

    Examples
    --------
    >>> from skfmnist.preprocessing import infer_image_shape
    >>> infer_image_shape(784), infer_image_shape(3072), infer_image_shape(16)
    ((28, 28, 1), (32, 32, 3), (1, 16, 1))
    """
    for channels in (1, 3):
        side = math.isqrt(n_features // channels)
        if side >= 8 and side * side * channels == n_features:
            return (side, side, channels)
    return (1, n_features, 1)


def check_image_shape(image_shape, n_features, *, name="image_shape"):
    """``image_shape`` as ``(h, w, c)``, checked against a row length; None infers one.

    Parameters
    ----------
    image_shape : tuple of int or None
        ``(h, w)`` or ``(h, w, c)``; None: :func:`infer_image_shape`.
    n_features : int
        Values per sample.
    name : str, default="image_shape"
        Name used in error messages.

    Returns
    -------
    shape : tuple of int

    Raises
    ------
    ValueError
        When the shape is malformed or ``h * w * c != n_features``.
    """
    if image_shape is None:
        return infer_image_shape(n_features)
    shape = tuple(image_shape)
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3 or not all(isinstance(d, Integral) and d > 0 for d in shape):
        raise ValueError(
            f"{name} must be (height, width) or (height, width, channels) of positive integers, got {image_shape!r}."
        )
    shape = tuple(int(d) for d in shape)
    if math.prod(shape) != n_features:
        raise ValueError(
            f"X has {n_features} features per sample, but {name}={shape} needs {math.prod(shape)} "
            f"({' x '.join(map(str, shape))}). Check that the images have the expected number of pixels."
        )
    return shape
