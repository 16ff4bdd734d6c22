"""Convolutional classifiers: a small CNN and a deeper one with batch norm."""

# SPDX-License-Identifier: MIT

import functools
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ..preprocessing import check_image_shape
from . import _builders, _scikeras
from ._base import BaseKerasClassifier, check_sizes, fill_doc
from ._test_time import average_views

__all__ = ["CNNClassifier", "DeepCNNClassifier"]


class _ImageInputMixin:
    """Network input of shape (height, width, channels) for CNNs."""

    def _input_shape(self, n_features, batch_shape):
        shape = self._image_input_shape(n_features, batch_shape)
        self._checked_test_time_shift(shape)  # before training, not after it
        return shape

    def _image_input_shape(self, n_features, batch_shape):
        if batch_shape is not None:
            shape = check_image_shape(batch_shape, n_features, name="the image batch shape")
            if self.image_shape is not None and check_image_shape(self.image_shape, n_features) != shape:
                raise ValueError(
                    f"image_shape={tuple(self.image_shape)} does not match the shape of the "
                    f"images given to fit, {tuple(batch_shape)}."
                )
            return shape
        return check_image_shape(self.image_shape, n_features)

    def _uses_test_time_flip(self):
        """``test_time_flip`` with "auto" resolved (to ``augment``)."""
        return bool(self.augment) if self.test_time_flip == "auto" else bool(self.test_time_flip)

    def _test_time_shift(self):
        """``test_time_shift`` with "auto" resolved (1 pixel with ``augment``, else 0)."""
        if self.test_time_shift == "auto":
            return 1 if self.augment else 0
        return int(self.test_time_shift)

    def _checked_test_time_shift(self, shape):
        """The resolved shift, if it keeps part of every image of ``shape`` in the frame."""
        shift = self._test_time_shift()
        if shift and shift >= min(shape[:2]):
            raise ValueError(
                f"test_time_shift={shift} moves images of shape {tuple(shape)} out of the "
                "frame; use a shift smaller than the images' height and width."
            )
        return shift

    def _uses_test_time_augmentation(self):
        """Whether prediction averages over more than the image itself."""
        return self._uses_test_time_flip() or self._test_time_shift() > 0

    def _predict_network(self, X):
        flip, shift = self._uses_test_time_flip(), self._checked_test_time_shift(self.input_shape_)
        average = None
        if flip or shift:
            average = functools.partial(average_views, flip=flip, shift=shift)
        return _scikeras.predict_proba(self.keras_classifier_, X, average=average)


@fill_doc
class CNNClassifier(_ImageInputMixin, BaseKerasClassifier):
    """Convolutional neural network classifier (Keras, via scikeras).

    One convolution (ReLU) and 2x2 max-pooling per entry of ``filters``,
    then a dense layer with dropout and a softmax output.

    Accepts image batches ``(n, height, width[, channels])`` and flat rows
    ``(n, n_features)``, which it views as images of ``image_shape`` (or of
    an inferred shape, so that any tabular data works).

    Parameters
    ----------
    image_shape : tuple of int, default=None
        ``(height, width[, channels])`` of flat input rows; None infers it
        from the number of features (784 gives 28x28x1).
    filters : tuple of int, default=(32, 64)
        Filters of each convolution.
    kernel_size : int, default=3
        Side of the square kernels.
    dense_units : int, default=128
        Units of the dense layer before the output.
    dropout : float, default=0.3
        Dropout rate before the output layer, in [0, 1).
    batch_norm : bool, default=True
        Batch normalization between each convolution (and the dense layer)
        and its ReLU.  Chosen on a 54,000 / 6,000 split of the training
        images, 24 epochs: validation accuracy 92.8% with, 92.6% without
        (25 epochs), for 18% more time per epoch.
    augment : bool, default=False
        Random shifts (10%) and horizontal flips during training only
        (Keras preprocessing layers inside the model).  Off by default: on
        the same split it gave 93.1-93.3% instead of 92.8% but costs 50%
        more time per epoch, which the 5-minute budget of the default
        pipeline does not allow.
    test_time_flip : bool or "auto", default="auto"
        Predict the average of the class probabilities of each image and of
        its mirror image (width axis reversed, batch by batch), so that an
        image and its mirror image get the same prediction.  Right for data
        whose classes mirroring does not change (clothing, not digits);
        doubles the prediction time and leaves training as it is.  "auto"
        follows ``augment`` (off by default here), so that predictions
        mirror the images exactly when training did.
    test_time_shift : int or "auto", default="auto"
        Also average over the image moved by every offset of up to this
        many pixels along each axis (``(2 * shift + 1) ** 2`` positions,
        each mirrored too with ``test_time_flip``), zeros filling the
        border as in the training augmentation's shifts.  Multiplies the
        prediction time by the number of positions and leaves training as
        it is.  "auto" is 1 with ``augment`` (training saw shifted images)
        and 0 without (off by default here).
%(common_parameters)s

    Attributes
    ----------
%(common_attributes)s

    See Also
    --------
    DeepCNNClassifier : Deeper network with batch normalization.
    DenseClassifier : Fully connected network.

    Notes
    -----
    The schedule and the number of epochs were chosen on a 54,000 / 6,000
    split of the training images (``benchmarks/RESULTS.md``, "Model
    selection"): with 22 epochs, one-cycle from 2e-3 was the best of
    one-cycle and cosine from 1e-3 and 2e-3 on both seeds that tried all
    four; 12 epochs (22 before 2026-11-24) then scored 0.13 points below 22
    on average over 2 seeds, with 55% of the epochs.  On a 2-core AMD EPYC
    with AVX-512 the 12 epochs took 251-262 s on the full training set
    (93.00 +- 0.09% test accuracy, 3 seeds), within the 5-minute target of
    the default pipeline; on slower CPUs ``max_fit_time=290`` keeps a fit
    within it, with fewer epochs.

    ``compute_dtype="auto"`` (float32 before 2026-12-01) was chosen on the
    same split, side by side on a 2-core Intel Xeon with AMX, where "auto"
    resolves to bfloat16: 92.73% and 92.82% validation accuracy (seeds 0
    and 1) against float32's 92.75% and 92.63%, at 10.2 and 9.5 s per epoch
    against 15.5 and 14.0 s.  Where "auto" resolves to float32 nothing
    changes.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skfmnist import CNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNClassifier(epochs=3, random_state=0).fit(X / 16, y)
    >>> clf.input_shape_
    (8, 8, 1)
    """

    _parameter_constraints = {
        **BaseKerasClassifier._parameter_constraints,
        "image_shape": ["array-like", None],
        "filters": ["array-like", Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "dense_units": [Interval(Integral, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "augment": ["boolean"],
        "test_time_flip": ["boolean", StrOptions({"auto"})],
        "test_time_shift": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
    }

    def __init__(
        self,
        *,
        image_shape=None,
        filters=(32, 64),
        kernel_size=3,
        dense_units=128,
        dropout=0.3,
        batch_norm=True,
        augment=False,
        test_time_flip="auto",
        test_time_shift="auto",
        optimizer="adam",
        learning_rate=2e-3,
        weight_decay=0.0,
        lr_schedule="one_cycle",
        label_smoothing=0.0,
        batch_size=128,
        epochs=12,
        max_fit_time=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        callbacks=None,
        jit_compile=False,
        compute_dtype="auto",
        steps_per_execution=32,
        random_state=None,
        verbose=0,
    ):
        self.image_shape = image_shape
        self.filters = filters
        self.kernel_size = kernel_size
        self.dense_units = dense_units
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.augment = augment
        self.test_time_flip = test_time_flip
        self.test_time_shift = test_time_shift
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.label_smoothing = label_smoothing
        self.batch_size = batch_size
        self.epochs = epochs
        self.max_fit_time = max_fit_time
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks
        self.jit_compile = jit_compile
        self.compute_dtype = compute_dtype
        self.steps_per_execution = steps_per_execution
        self.random_state = random_state
        self.verbose = verbose

    def _network_params(self):
        return {
            "filters": check_sizes(self.filters, "filters"),
            "kernel_size": self.kernel_size,
            "dense_units": self.dense_units,
            "dropout": self.dropout,
            "batch_norm": self.batch_norm,
            "augment": self.augment,
        }

    _builder = staticmethod(_builders.build_cnn)


@fill_doc
class DeepCNNClassifier(_ImageInputMixin, BaseKerasClassifier):
    """Deeper convolutional classifier with batch normalization and dropout.

    Blocks of ``convs_per_block`` x (convolution, batch normalization,
    ReLU), each block followed by 2x2 max-pooling and dropout; then a dense
    layer with batch normalization, dropout and a softmax output.  Batch
    normalization runs TensorFlow's fused kernel (the same results as
    Keras' layer) and dropout decides each unit from a few random bits
    instead of a random float (the same drop probability as Keras' layer,
    another random stream), both in less time: :mod:`skfmnist.models._layers`.

    Accepts image batches and flat rows, as :class:`CNNClassifier`.

    Parameters
    ----------
    image_shape : tuple of int, default=None
        ``(height, width[, channels])`` of flat input rows; None infers it.
    filters : tuple of int, default=(32, 64)
        Filters of the convolutions of each block.
    convs_per_block : int, default=2
        Convolutions per block.
    kernel_size : int, default=3
        Side of the square kernels.
    dense_units : int, default=256
        Units of the dense layer before the output (0: none).
    conv_dropout : float, default=0.25
        Dropout rate after each block, in [0, 1).
    dropout : float, default=0.4
        Dropout rate before the output layer, in [0, 1).
    augment : bool, default=True
        Random shifts (up to 10%) and horizontal flips, applied by Keras
        preprocessing layers inside the network, so during training only.
        The defaults (augmentation, batch 256, learning rate 2e-3, label
        smoothing 0.1, ``compute_dtype="auto"``, 36 epochs) were chosen on
        a 54,000 / 6,000 split of the training images (benchmarks/RESULTS.md,
        "Model selection"): in float32, 94.2% validation accuracy after 24
        epochs with augmentation against 93.9% at batch 128 / learning rate
        1e-3, but 24 float32 epochs can exceed 15 minutes on 2 CPU cores;
        bfloat16 arithmetic (where the CPU has it natively) cut the seconds
        per epoch from 38.5 to 26-31, and 26 bfloat16 epochs with label
        smoothing 0.1 reached 94.0% (an AMD EPYC, where "auto" picks
        bfloat16).  The 36 epochs (26 before 2026-12-01) came when batch
        normalization moved to TensorFlow's fused kernel, which made a
        bfloat16 epoch about 2.2x faster on a 2-core Intel Xeon with AMX:
        there 40 epochs reached 94.12% (94.40% with the mirror average)
        against the 26 epochs' 94.02%, and a third block of 128 filters in
        28 epochs, about the same time, 93.72%; on the full training set
        the 40 epochs took 925 s there, so the default is 36, the most that
        fit into 15 minutes on that CPU.  Where "auto" trains in float32
        each epoch takes longer (on that Xeon float32 epochs took 1.9x as
        long as bfloat16 ones).  ``max_fit_time=900`` keeps any CPU within 15
        minutes of training, with the epochs that fit (fewer, and less
        accurate, on slower CPUs).
    test_time_flip : bool or "auto", default="auto"
        Predict the average of the class probabilities of each image and of
        its mirror image (width axis reversed, batch by batch), so that an
        image and its mirror image get the same prediction.  Right for data
        whose classes mirroring does not change (clothing, not digits).
        "auto" follows ``augment`` (on by default), so that predictions
        mirror the images exactly when training did; with ``augment=False``
        (tabular data, digits) there is no mirroring.  Doubles the
        prediction time and leaves training as it is.  Measured
        on the 54,000 / 6,000 validation split (one fit, AdamW): 94.28%
        with, 94.18% without, a small gain (6 of 6,000 images); see
        benchmarks/RESULTS.md for the test set.
    test_time_shift : int or "auto", default="auto"
        Also average over the image moved by every offset of up to this
        many pixels along each axis (``(2 * shift + 1) ** 2`` positions,
        each mirrored too with ``test_time_flip``), zeros filling the
        border as in the training augmentation's shifts.  "auto" is 1 with
        ``augment`` (training saw images shifted by up to 10%) and 0
        without.  With the defaults that is 18 views per image: 9 times the
        prediction time of the mirror average alone (17.9 s against 1.9 s
        for 10,000 images on a 2-core Intel Xeon with AMX,
        ``bench_speed.py --only views``), training unchanged.  Chosen on 6,000 validation
        images held out of the training set, one fit of the defaults on the
        other 54,000 per seed (benchmarks/test_time_views.py): with the
        mirror average alone 94.72% and 94.70% (seeds 0 and 1), with the
        1-pixel shifts as well 94.90% and 94.72%, +0.10 points on average
        (6 of 6,000 images); the network alone 94.27% and 94.48%.  Adding
        2-pixel shifts did not help (94.83%, 94.68%).  On the test set
        (3 seeds, ``max_fit_time=870``): 93.80 +- 0.10% with the shifts,
        93.73% on average with the mirror average alone, on the same fitted
        networks; with the full 36 epochs 94.12 +- 0.10% against 94.05%.
%(common_parameters)s

    Attributes
    ----------
%(common_attributes)s

    See Also
    --------
    CNNClassifier : Smaller convolutional network.
    DenseClassifier : Fully connected network.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skfmnist import DeepCNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DeepCNNClassifier(epochs=2, random_state=0).fit(X / 16, y)
    >>> clf.predict_proba(X[:2] / 16).shape
    (2, 10)
    """

    _parameter_constraints = {
        **BaseKerasClassifier._parameter_constraints,
        "image_shape": ["array-like", None],
        "filters": ["array-like", Interval(Integral, 1, None, closed="left")],
        "convs_per_block": [Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "dense_units": [Interval(Integral, 0, None, closed="left")],
        "conv_dropout": [Interval(Real, 0, 1, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "augment": ["boolean"],
        "test_time_flip": ["boolean", StrOptions({"auto"})],
        "test_time_shift": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
    }

    def __init__(
        self,
        *,
        image_shape=None,
        filters=(32, 64),
        convs_per_block=2,
        kernel_size=3,
        dense_units=256,
        conv_dropout=0.25,
        dropout=0.4,
        augment=True,
        test_time_flip="auto",
        test_time_shift="auto",
        optimizer="adam",
        learning_rate=2e-3,
        weight_decay=0.0,
        lr_schedule="cosine",
        label_smoothing=0.1,
        batch_size=256,
        epochs=36,
        max_fit_time=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        callbacks=None,
        jit_compile=False,
        compute_dtype="auto",
        steps_per_execution=32,
        random_state=None,
        verbose=0,
    ):
        self.image_shape = image_shape
        self.filters = filters
        self.convs_per_block = convs_per_block
        self.kernel_size = kernel_size
        self.dense_units = dense_units
        self.conv_dropout = conv_dropout
        self.dropout = dropout
        self.augment = augment
        self.test_time_flip = test_time_flip
        self.test_time_shift = test_time_shift
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.label_smoothing = label_smoothing
        self.batch_size = batch_size
        self.epochs = epochs
        self.max_fit_time = max_fit_time
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks
        self.jit_compile = jit_compile
        self.compute_dtype = compute_dtype
        self.steps_per_execution = steps_per_execution
        self.random_state = random_state
        self.verbose = verbose

    def _network_params(self):
        return {
            "filters": check_sizes(self.filters, "filters"),
            "convs_per_block": self.convs_per_block,
            "kernel_size": self.kernel_size,
            "dense_units": self.dense_units,
            "conv_dropout": self.conv_dropout,
            "dropout": self.dropout,
            "augment": self.augment,
        }

    _builder = staticmethod(_builders.build_deep_cnn)
