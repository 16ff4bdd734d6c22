"""The presets: KerasClassifier with a network of skfmnist's and defaults chosen on Fashion-MNIST.

Each preset is a :class:`~skfmnist.KerasClassifier` whose network comes from a
builder of :mod:`._networks` and whose architecture parameters are ordinary
estimator parameters.  The defaults were chosen on a 54,000 / 6,000
validation split of the Fashion-MNIST training images (the test set was not
read); ``benchmarks/RESULTS.md`` holds their test accuracy and training time.
"""

# SPDX-License-Identifier: MIT

import inspect
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from . import _networks
from ._classifier import KerasClassifier
from ._docs import fill_doc
from ._test_time import average_views

__all__ = ["CNNClassifier", "DeepCNNClassifier", "DenseClassifier"]


def _sizes(value, name):
    """A tuple of positive ints, or a ValueError naming ``name``."""
    values = (value,) if isinstance(value, Integral) else tuple(value)
    if not values or not all(isinstance(v, Integral) and v > 0 for v in values):
        raise ValueError(f"{name} must be a positive int or a non-empty sequence of them, got {value!r}.")
    return tuple(int(v) for v in values)


_COMMON_CONSTRAINTS = {k: v for k, v in KerasClassifier._parameter_constraints.items() if k not in ("model", "loss")}


class _Preset(KerasClassifier):
    """A KerasClassifier whose network and parameters are fixed by the class."""

    _parameter_constraints = _COMMON_CONSTRAINTS
    _builder = None

    #: No builder keyword arguments: the architecture parameters are the class' own.
    _accepts_model_params = False

    def _architecture(self):
        """The builder's keyword arguments, checked."""
        raise NotImplementedError

    def _network(self, seed):
        return self._builder, {**self._architecture(), "seed": seed}


@fill_doc
class DenseClassifier(_Preset):
    """Fully connected neural network classifier: hidden ReLU layers with dropout, softmax output.

    Flattens each sample (rows or images).  A :class:`~skfmnist.KerasClassifier`
    with this network.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(512, 256)
        Units of each hidden layer: two layers of 512 and 256 units reached
        90-91% on Fashion-MNIST in under a minute of training on 2 CPU
        cores.
    activation : str, default="relu"
        Activation of the hidden layers (a Keras activation name).  "gelu"
        scored 0.12 point higher on the validation split, but it trains a
        third slower and predicts slower (see Notes).
    dropout : float, default=0.25
        Dropout rate after each hidden layer, in [0, 1); 0.25 scored as
        well as 0.3 and better than 0.2 on the validation split.
    batch_norm : bool, default=True
        Batch normalization between each hidden layer and its activation:
        it takes a three times larger learning rate, which reaches in 15
        epochs the validation accuracy that 40 epochs reach without it
        (see Notes).
%(common_parameters)s

    Attributes
    ----------
%(common_attributes)s

    See Also
    --------
    CNNClassifier : Convolutional network.
    sklearn.neural_network.MLPClassifier : scikit-learn's own MLP.

    Notes
    -----
    The training recipe (batch normalization, cosine decay from 3e-3, 15
    epochs, bfloat16 where the CPU trains faster in it) was chosen on the
    validation split: it scores about as the earlier 40 epochs from 1e-3
    without batch normalization in float32 (90.76% against 90.85% on
    average over 3 seeds, with a better worst seed) in a third of the
    training seconds (``benchmarks/RESULTS.md``, "Ablation of the dense
    recipe").  GELU activations (``activation="gelu"``) raised the
    validation accuracy by 0.12 point on average over 12 seeds (90.82%
    against 90.70%, higher in 9 of them), but TensorFlow runs GELU as
    several operations where ReLU is one: a third more training time and
    slower prediction, so ReLU stays the default.
    Longer training did not raise the validation accuracy further, nor did
    mirror-image or shift augmentation, which a fully connected network
    cannot exploit in so few epochs.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skfmnist import DenseClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DenseClassifier(epochs=20, random_state=0).fit(X / 16, y)
    >>> bool(clf.score(X / 16, y) > 0.9)
    True
    """

    _parameter_constraints = {
        **_COMMON_CONSTRAINTS,
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [str],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
    }
    _builder = staticmethod(_networks.build_dense)
    _input_kind = "rows"
    _added_params = {"batch_norm": False}  # the networks of 0.2.0 had none

    def __init__(
        self,
        hidden_layer_sizes=(512, 256),
        *,
        activation="relu",
        dropout=0.25,
        batch_norm=True,
        optimizer="adam",
        learning_rate=3e-3,
        weight_decay=0.0,
        lr_schedule="cosine",
        label_smoothing=0.0,
        batch_size=256,
        epochs=15,
        class_weight=None,
        warm_start=False,
        max_fit_time=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        callbacks=None,
        jit_compile="auto",
        compute_dtype="auto",
        steps_per_execution=32,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.label_smoothing = label_smoothing
        self.batch_size = batch_size
        self.epochs = epochs
        self.class_weight = class_weight
        self.warm_start = warm_start
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

    def _architecture(self):
        import keras

        try:
            keras.activations.get(self.activation)
        except ValueError:
            raise ValueError(f"activation={self.activation!r} is not a Keras activation.") from None
        return {
            "hidden_layer_sizes": _sizes(self.hidden_layer_sizes, "hidden_layer_sizes"),
            "activation": self.activation,
            "dropout": self.dropout,
            "batch_norm": self.batch_norm,
        }


class _ImagePreset(_Preset):
    """A preset whose network takes images: ``image_shape``, augmentation, test-time views."""

    _input_kind = "images"

    def _views(self):
        """``(flip, shift)`` of the test-time views, resolved for the fitted input shape."""
        height, width = self.input_shape_[:2]
        image = min(height, width) >= 8  # the augmentation's rule: no shifts or mirrors of tabular rows
        flip = self.test_time_flip
        if flip == "auto":
            flip = image and self.augment and self.horizontal_flip
        shift = self.test_time_shift
        if shift == "auto":
            shift = 1 if image and self.augment and self.max_shift else 0
        if shift >= min(height, width):
            raise ValueError(
                f"test_time_shift={shift} moves images of shape {self.input_shape_} out of the frame; use a "
                "shift smaller than the images' height and width."
            )
        return bool(flip), int(shift)

    def _plan(self, X, seed, steps, compute_dtype, continuing, replan=True):
        self._views()  # a shift that cannot work fails before training, not after it
        return super()._plan(X, seed, steps, compute_dtype, continuing, replan)

    def _predict_batch(self, batch):
        flip, shift = self._views()
        if not (flip or shift):
            return super()._predict_batch(batch)
        return average_views(super()._predict_batch, batch, flip=flip, shift=shift)


_IMAGE_CONSTRAINTS = {
    **_COMMON_CONSTRAINTS,
    "image_shape": ["array-like", None],
    "filters": ["array-like", Interval(Integral, 1, None, closed="left")],
    "kernel_size": [Interval(Integral, 1, None, closed="left")],
    "dense_units": [Interval(Integral, 0, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "augment": ["boolean"],
    "max_shift": [Interval(Real, 0, 1, closed="left")],
    "horizontal_flip": ["boolean"],
    "test_time_flip": ["boolean", StrOptions({"auto"})],
    "test_time_shift": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
}

_IMAGE_PARAMETERS = """\
    image_shape : tuple of int, default=None
        ``(height, width[, channels])`` of flat input rows; None infers it
        (:func:`~skfmnist.preprocessing.infer_image_shape`: 784 values are
        28 x 28 x 1).  Image batches bring their own shape."""

_VIEW_PARAMETERS = """\
    max_shift : float, default=%(max_shift)r
        With ``augment``, the largest random shift of a training image, as
        a fraction of its height and width (zeros fill the border; 0: no
        shifts).
    horizontal_flip : bool, default=True
        With ``augment``, also train on mirror images, and (through
        ``test_time_flip="auto"``) average each prediction with that of the
        mirror image.  Right for photos of objects that mirroring does not
        change, such as clothing; set False for digits, letters or anything
        whose class a mirror image changes.
    test_time_flip : bool or "auto", default="auto"
        Average the class probabilities of each image and of its mirror
        image, so that both get the same prediction.  "auto" does so exactly
        when training saw mirror images (``augment`` and
        ``horizontal_flip``, on images of at least 8 x 8 pixels).  Doubles
        the prediction time.
    test_time_shift : int or "auto", default="auto"
        Also average over the image moved by every offset of up to this
        many pixels along each axis (``(2 * shift + 1) ** 2`` positions,
        zeros filling the border as in the training shifts).  "auto" is 1
        when training saw shifted images (``augment`` and ``max_shift > 0``,
        on images of at least 8 x 8 pixels) and 0 otherwise.  Multiplies the prediction time by
        the number of positions."""


def _image_doc(cls):
    max_shift = inspect.signature(cls.__init__).parameters["max_shift"].default
    cls.__doc__ = cls.__doc__.replace("%(image_parameters)s", _IMAGE_PARAMETERS).replace(
        "%(view_parameters)s", _VIEW_PARAMETERS.replace("%(max_shift)r", repr(max_shift))
    )
    return fill_doc(cls)


@_image_doc
class CNNClassifier(_ImagePreset):
    """Convolutional neural network classifier: convolutions with batch norm, pooling, a dense layer.

    One convolution (batch normalization, ReLU) and 2 x 2 max-pooling per
    entry of ``filters``, then a dense layer and dropout before the softmax
    output.  Accepts images ``(n, height, width[, channels])`` and flat rows,
    which it views as images of ``image_shape``.

    Parameters
    ----------
%(image_parameters)s
    filters : tuple of int, default=(32, 64)
        Filters of each convolution.
    kernel_size : int, default=3
        Side of the square kernels.
    dense_units : int, default=128
        Units of the dense layer before the output (0: none).
    dropout : float, default=0.3
        Dropout rate before the output layer, in [0, 1).
    batch_norm : bool, default=True
        Batch normalization between each convolution (and the dense layer)
        and its ReLU: higher validation accuracy for about a fifth more time
        per epoch.
    augment : bool, default=False
        Random shifts by up to ``max_shift`` during training (images of at
        least 8 x 8 pixels).  Off: over 24 epochs the shifts gained 0.4 point
        on the validation split (one seed), but they cost half as much time
        again per epoch, and over 7 epochs they gained nothing (two seeds).
%(view_parameters)s
%(common_parameters)s

    Attributes
    ----------
%(common_attributes)s

    See Also
    --------
    DeepCNNClassifier : Deeper network with augmentation.
    DenseClassifier : Fully connected network.

    Notes
    -----
    The one-cycle schedule scored best among one-cycle and cosine schedules
    on the validation split.  6 epochs of batches of 256 at a peak of 4e-3,
    with label smoothing 0.1, reach 92.5% validation accuracy after 4.3
    epochs on average where the earlier 12 epochs of batches of 128 at 2e-3
    needed 7.7, and end within 0.1 point of them (93.32% against 93.41%)
    in 44% of the training seconds (``benchmarks/RESULTS.md``, "Ablation of
    the cnn recipe", 3 seeds).  Label smoothing is neutral there (within
    the seeds' spread).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skfmnist import CNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNClassifier(epochs=3, random_state=0).fit(X / 16, y)
    >>> clf.input_shape_
    (8, 8, 1)
    """

    _parameter_constraints = {**_IMAGE_CONSTRAINTS, "batch_norm": ["boolean"]}
    _builder = staticmethod(_networks.build_cnn)

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
        max_shift=0.1,
        horizontal_flip=True,
        test_time_flip="auto",
        test_time_shift="auto",
        optimizer="adam",
        learning_rate=4e-3,
        weight_decay=0.0,
        lr_schedule="one_cycle",
        label_smoothing=0.1,
        batch_size=256,
        epochs=6,
        class_weight=None,
        warm_start=False,
        max_fit_time=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        callbacks=None,
        jit_compile="auto",
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
        self.max_shift = max_shift
        self.horizontal_flip = horizontal_flip
        self.test_time_flip = test_time_flip
        self.test_time_shift = test_time_shift
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.label_smoothing = label_smoothing
        self.batch_size = batch_size
        self.epochs = epochs
        self.class_weight = class_weight
        self.warm_start = warm_start
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

    def _architecture(self):
        return {
            "filters": _sizes(self.filters, "filters"),
            "kernel_size": self.kernel_size,
            "dense_units": self.dense_units,
            "dropout": self.dropout,
            "batch_norm": self.batch_norm,
            "augment": self.augment,
            "max_shift": self.max_shift,
            "horizontal_flip": self.horizontal_flip,
        }


@_image_doc
class DeepCNNClassifier(_ImagePreset):
    """Deeper convolutional classifier: blocks of convolutions with batch norm, dropout, augmentation.

    Blocks of ``convs_per_block`` x (convolution, batch normalization, ReLU),
    each followed by 2 x 2 max-pooling and dropout; then a dense layer with
    batch normalization and dropout before the softmax output.  Trained on
    shifted and mirrored images, and predicting the average over shifted and
    mirrored views of each image (the clothing-specific mirror images are
    switched off by ``horizontal_flip=False``).  Accepts images and flat rows,
    as :class:`CNNClassifier`.

    Parameters
    ----------
%(image_parameters)s
    filters : tuple of int, default=(32, 64)
        Filters of the convolutions of each block.
    convs_per_block : int or tuple of int, default=2
        Convolutions per block: the same number in every block, or one
        number per entry of ``filters``.
    kernel_size : int, default=3
        Side of the square kernels.
    dense_units : int, default=256
        Units of the dense layer before the output (0: none).
    conv_dropout : float, default=0.0
        Dropout rate after each block, in [0, 1).  None by default: in the
        11 epochs of the default training, dropout slowed learning more than
        it regularized (see Notes).
    dropout : float, default=0.1
        Dropout rate before the output layer, in [0, 1).
    augment : bool, default=True
        Random shifts by up to ``max_shift`` (and mirror images, see
        ``horizontal_flip``) during training, on images of at least 8 x 8
        pixels: the largest single gain of this network on the validation
        split.
%(view_parameters)s
%(common_parameters)s

    Attributes
    ----------
%(common_attributes)s

    See Also
    --------
    CNNClassifier : Smaller convolutional network.
    DenseClassifier : Fully connected network.

    Notes
    -----
    The recipe reaches in 11 epochs nearly the validation accuracy that the
    previous one (36 epochs, cosine decay from 2e-3, dropout 0.25 after each
    block and 0.4 before the output, shifts up to 10%) reached in 36, 94.5%
    against 94.6%: under a third of the training.  Its changes, each measured over 3 seeds on a
    54,000 / 6,000 validation split of the training images
    (``benchmarks/RESULTS.md``, "Ablation of the deep_cnn recipe"): the
    one-cycle schedule peaking at 4e-3, no dropout after the blocks and 0.1
    before the output, shifts up to 7%, and 11 epochs rather than 12, 0.06
    point lower, so that a fit on the 60,000 training images stays within
    5 minutes on a 2-core CPU with AVX512-BF16 and no AMX (12 epochs took
    300 to 320 s there).  Batch 256, label smoothing 0.1 and
    ``compute_dtype="auto"`` stay from the earlier selection.  Where "auto"
    trains in float32 (no bfloat16 hardware) each epoch takes about twice as
    long.

    For the best accuracy rather than the best accuracy per second, train
    longer: ``epochs=30`` (the one cycle stretched over them) scored 95.31%
    on the test images over 3 seeds, against 94.4% for 12 epochs, at
    2.5 times the training (``benchmarks/RESULTS.md``, "Accuracy of the
    pipelines with epochs=30").

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skfmnist import DeepCNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DeepCNNClassifier(epochs=2, horizontal_flip=False, random_state=0).fit(X / 16, y)
    >>> clf.predict_proba(X[:2] / 16).shape
    (2, 10)
    """

    _parameter_constraints = {
        **_IMAGE_CONSTRAINTS,
        "convs_per_block": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "conv_dropout": [Interval(Real, 0, 1, closed="left")],
    }
    _builder = staticmethod(_networks.build_deep_cnn)

    def __init__(
        self,
        *,
        image_shape=None,
        filters=(32, 64),
        convs_per_block=2,
        kernel_size=3,
        dense_units=256,
        conv_dropout=0.0,
        dropout=0.1,
        augment=True,
        max_shift=0.07,
        horizontal_flip=True,
        test_time_flip="auto",
        test_time_shift="auto",
        optimizer="adam",
        learning_rate=4e-3,
        weight_decay=0.0,
        lr_schedule="one_cycle",
        label_smoothing=0.1,
        batch_size=256,
        epochs=11,
        class_weight=None,
        warm_start=False,
        max_fit_time=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        callbacks=None,
        jit_compile="auto",
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
        self.max_shift = max_shift
        self.horizontal_flip = horizontal_flip
        self.test_time_flip = test_time_flip
        self.test_time_shift = test_time_shift
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.label_smoothing = label_smoothing
        self.batch_size = batch_size
        self.epochs = epochs
        self.class_weight = class_weight
        self.warm_start = warm_start
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

    def _convs_per_block(self):
        """``convs_per_block`` as one count per block."""
        blocks = len(_sizes(self.filters, "filters"))
        if isinstance(self.convs_per_block, Integral):
            return (int(self.convs_per_block),) * blocks
        counts = _sizes(self.convs_per_block, "convs_per_block")
        if len(counts) != blocks:
            raise ValueError(
                f"convs_per_block={self.convs_per_block!r} gives {len(counts)} block(s), but filters="
                f"{self.filters!r} gives {blocks}: give one count per block, or one int for every block."
            )
        return counts

    def _architecture(self):
        return {
            "filters": _sizes(self.filters, "filters"),
            "convs_per_block": self._convs_per_block(),
            "kernel_size": self.kernel_size,
            "dense_units": self.dense_units,
            "conv_dropout": self.conv_dropout,
            "dropout": self.dropout,
            "augment": self.augment,
            "max_shift": self.max_shift,
            "horizontal_flip": self.horizontal_flip,
        }

