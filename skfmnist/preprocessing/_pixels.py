"""Pixel transformers: scale intensities, reshape flat rows into images."""

# SPDX-License-Identifier: MIT

import math
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ._images import check_image_shape, split_images

__all__ = ["ImageReshaper", "PixelScaler"]


class PixelScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Scale pixel intensities from ``[0, max_value]`` to ``[0, 1]`` as float32.

    Input is checked: NaN or infinite values, negative values and values
    above ``max_value`` raise a :class:`ValueError` naming the problem.  The
    output is always a new float32 array of the input's shape (one copy,
    never a float64 one).

    Parameters
    ----------
    max_value : float, default=255.0
        Largest possible intensity: 255 (the default) for 8-bit images such
        as Fashion-MNIST, 16 for scikit-learn's ``load_digits``, 1.0 for
        images already in ``[0, 1]``.
    standardize : bool, default=False
        After scaling to ``[0, 1]``, also subtract the mean pixel and divide
        by the pixel standard deviation learned in ``fit`` (one value each
        over all pixels, as images are usually normalized).

    Attributes
    ----------
    mean_ : float
        Mean scaled pixel of the training data (only when ``standardize``).
    scale_ : float
        Standard deviation of the scaled pixels (only when ``standardize``).
    n_features_in_ : int
        Number of values per sample seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit`` (only for DataFrames with
        string column names).

    See Also
    --------
    ImageReshaper : Turn the scaled rows into images for a CNN.

    Examples
    --------
    >>> import numpy as np
    >>> from skfmnist import PixelScaler
    >>> PixelScaler().fit_transform(np.array([[0, 51, 255]], dtype=np.uint8))
    array([[0. , 0.2, 1. ]], dtype=float32)
    """

    _parameter_constraints = {
        "max_value": [Interval(Real, 0, None, closed="neither")],
        "standardize": ["boolean"],
    }

    def __init__(self, *, max_value=255.0, standardize=False):
        self.max_value = max_value
        self.standardize = standardize

    def _validate(self, X, reset):
        shape = np.shape(X)[1:] if isinstance(X, np.ndarray) and X.ndim > 2 else None
        X, _ = split_images(X)
        # NaN and infinity are found from the minimum and maximum, which the
        # range check needs anyway (NumPy's min and max propagate NaN): one
        # pass over X fewer than scikit-learn's own finiteness check.
        X = validate_data(self, X, reset=reset, dtype="numeric", ensure_all_finite=False)
        if X.size:
            lo, hi = X.min(), X.max()
            if np.isnan(lo) or np.isnan(hi):
                raise ValueError("Input X contains NaN: PixelScaler needs finite pixel values.")
            if np.isinf(lo) or np.isinf(hi):
                raise ValueError("Input X contains infinity: PixelScaler needs finite pixel values.")
            if lo < 0:
                raise ValueError(
                    f"Negative values in data passed to PixelScaler: pixel values must be "
                    f">= 0, but X has a minimum of {lo}."
                )
            if hi > self.max_value:
                raise ValueError(
                    f"PixelScaler: pixel values must be <= max_value={self.max_value}, "
                    f"but X has a maximum of {hi}. Set max_value to the largest possible "
                    "intensity of your images."
                )
        return X, shape

    def _scale(self, X):
        """Return a new float32 array of ``X / max_value``, in one pass over ``X``.

        The values are those of ``X.astype(np.float32) / np.float32(max_value)``
        (a division, not a reciprocal: 51/255 is exactly 0.2f).
        """
        return np.divide(X, np.float32(self.max_value), dtype=np.float32, casting="unsafe")

    def _fit_checked(self, X):
        """Learn the statistics of checked flat rows ``X``."""
        if self.standardize:
            # running sums over row blocks: no full-size float copy of X
            total = total_sq = 0.0
            for start in range(0, X.shape[0], 4096):
                block = self._scale(X[start : start + 4096])
                total += float(block.sum(dtype=np.float64))
                total_sq += float(np.square(block).sum(dtype=np.float64))
            n = X.size
            self.mean_ = total / n
            self.scale_ = math.sqrt(max(total_sq / n - self.mean_**2, 0.0)) or 1.0
        return self

    def _transform_checked(self, X, image_shape):
        """Scale checked flat rows ``X``; images again if they came as images."""
        out = self._scale(X)
        if self.standardize:
            out -= np.float32(self.mean_)
            out *= np.float32(1.0 / self.scale_)
        return out if image_shape is None else out.reshape(-1, *image_shape)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the data and learn the pixel statistics.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image batch
            Pixel intensities.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted scaler.
        """
        X, _ = self._validate(X, reset=True)
        return self._fit_checked(X)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit to ``X`` and scale it, checking ``X`` once.

        The same result as ``fit(X).transform(X)``, with one check of the
        data instead of two (a pipeline's ``fit`` calls this).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image batch
            Pixel intensities in ``[0, max_value]``.
        y : None
            Ignored.

        Returns
        -------
        X_scaled : ndarray of float32, same shape as X
            Scaled (and standardized) pixels.
        """
        X, image_shape = self._validate(X, reset=True)
        return self._fit_checked(X)._transform_checked(X, image_shape)

    def transform(self, X):
        """Scale the pixels to float32.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image batch
            Pixel intensities in ``[0, max_value]``.

        Returns
        -------
        X_scaled : ndarray of float32, same shape as X
            Scaled (and standardized) pixels.
        """
        check_is_fitted(self)
        X, image_shape = self._validate(X, reset=False)
        return self._transform_checked(X, image_shape)

    def inverse_transform(self, X):
        """Map scaled pixels back to intensities in ``[0, max_value]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Output of :meth:`transform`.

        Returns
        -------
        X_original : ndarray of float32
            Pixel intensities.
        """
        check_is_fitted(self)
        shape = np.shape(X)[1:] if isinstance(X, np.ndarray) and X.ndim > 2 else None
        X, _ = split_images(X)
        X = validate_data(self, X, reset=False, dtype=np.float32, copy=True)
        if self.standardize:
            X *= np.float32(self.scale_)
            X += np.float32(self.mean_)
        X *= np.float32(self.max_value)
        return X if shape is None else X.reshape(-1, *shape)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


class ImageReshaper(TransformerMixin, BaseEstimator):
    """Reshape flat rows ``(n, h*w*c)`` into images ``(n, h, w, c)``.

    A stateless reshape (a view, no copy): the step between
    :class:`PixelScaler` and a convolutional network in a pipeline.  Image
    batches that already have the fitted shape pass through unchanged;
    ``(n, h, w)`` batches get a channel axis.

    Parameters
    ----------
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(height, width, channels)``.  None infers
        the shape from the number of features in ``fit`` (see
        :func:`~skfmnist.preprocessing.infer_image_shape`: 784 gives ``(28, 28, 1)``).  When given,
        a row length that does not match is an error.

    Attributes
    ----------
    image_shape_ : tuple of int
        ``(height, width, channels)`` of the output images.
    n_features_in_ : int
        Number of values per sample (``h * w * c``).

    See Also
    --------
    PixelScaler : Scale the pixels first.

    Examples
    --------
    >>> import numpy as np
    >>> from skfmnist import ImageReshaper
    >>> ImageReshaper().fit_transform(np.zeros((5, 784))).shape
    (5, 28, 28, 1)
    """

    _parameter_constraints = {"image_shape": ["array-like", None]}

    def __init__(self, image_shape=None):
        self.image_shape = image_shape

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn (or check) the image shape from the row length.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image batch
            Flat rows or images.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted reshaper.
        """
        X, batch_shape = split_images(X)
        X = validate_data(self, X, reset=True, dtype="numeric", ensure_all_finite=False)
        shape = check_image_shape(self.image_shape if self.image_shape is not None else batch_shape, X.shape[1])
        if batch_shape is not None and batch_shape != shape:
            raise ValueError(f"image_shape={shape} does not match the images given to fit, of shape {batch_shape}.")
        self.image_shape_ = shape
        return self

    def transform(self, X):
        """Reshape rows into images.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image batch
            Flat rows or images with the fitted shape.

        Returns
        -------
        images : ndarray of shape (n_samples, height, width, channels)
            A view of the input where possible.
        """
        check_is_fitted(self)
        X, batch_shape = split_images(X)
        if batch_shape is not None and batch_shape != self.image_shape_:
            raise ValueError(
                f"ImageReshaper was fitted for images of shape {self.image_shape_}, "
                f"got a batch of images of shape {batch_shape}."
            )
        X = validate_data(self, X, reset=False, dtype="numeric", ensure_all_finite=False)
        return X.reshape(X.shape[0], *self.image_shape_)

    def set_output(self, *, transform=None):
        """Accept a pipeline's output configuration; the images stay NumPy arrays.

        A DataFrame has no place for an image's rows, columns and channels,
        so ``set_output(transform="pandas")`` on a pipeline leaves this
        step's output as it is (the steps before it still produce frames).

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            Ignored.

        Returns
        -------
        self : object
        """
        return self

    def inverse_transform(self, X):
        """Flatten images back into rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width, channels)
            Images.

        Returns
        -------
        rows : ndarray of shape (n_samples, height * width * channels)
            A view of the input where possible.
        """
        check_is_fitted(self)
        X = np.asarray(X)
        rows = X.reshape(X.shape[0], -1) if X.ndim > 1 else X.reshape(1, -1)
        if rows.shape[1] != self.n_features_in_:
            raise ValueError(
                f"ImageReshaper.inverse_transform: got {rows.shape[1]} values per sample, "
                f"expected {self.n_features_in_} (images of shape {self.image_shape_})."
            )
        return rows

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
