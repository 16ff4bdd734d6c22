"""Base class of the Keras classifiers: the scikit-learn side of the contract."""

# SPDX-License-Identifier: MIT

import copy
import functools
import inspect
from abc import abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..exceptions import TrainingError
from ..preprocessing import flatten_images
from ..utils._arrays import aligned_take
from ..utils._tf import fit_setup, import_keras, prefers_bfloat16
from . import _builders, _callbacks, _scikeras

__all__ = ["BaseKerasClassifier"]


def _callback_list(callbacks):
    if callbacks is None:
        return []
    return list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]


class BaseKerasClassifier(ClassifierMixin, BaseEstimator):
    """Keras classifier with scikit-learn's contract; subclasses choose the network.

    Subclasses implement :meth:`_input_shape` (the network's input shape for
    the data ``fit`` saw) and :meth:`_build_network`.  Everything else,
    validation, label encoding, seeding, early stopping, history and
    prediction, lives here; the network is built through scikeras
    (:mod:`skfmnist.models._scikeras`) and trained on batches from
    :mod:`skfmnist.models._input`.
    """

    _parameter_constraints = {
        "optimizer": [StrOptions({"adam", "adamw", "sgd", "rmsprop"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "lr_schedule": [StrOptions({"constant", "cosine", "one_cycle"})],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "max_fit_time": [Interval(Real, 0, None, closed="neither"), None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "callbacks": [list, tuple, None],
        "jit_compile": ["boolean"],
        "compute_dtype": [StrOptions({"float32", "bfloat16", "auto"})],
        "steps_per_execution": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    #: Batch size used by predict / predict_proba.
    _predict_batch_size = 1024

    @abstractmethod
    def _input_shape(self, n_features, batch_shape):
        """Network input shape for ``n_features`` values per sample.

        ``batch_shape`` is the trailing shape of an image batch given to
        ``fit`` (None for flat rows).
        """

    @abstractmethod
    def _network_params(self):
        """Check the architecture parameters; return the builder's keyword arguments."""

    def _resolved_compute_dtype(self):
        """``compute_dtype`` with "auto" resolved for this machine."""
        if self.compute_dtype == "auto":
            return "bfloat16" if prefers_bfloat16() else "float32"
        return self.compute_dtype

    #: Builder function of :mod:`._builders` (``builder(input_shape, n_classes, **params)``).
    _builder = None

    # ------------------------------------------------------------------ data
    def _validate_X(self, X, *, reset):
        """Validate X like any sklearn estimator; return float32 network input."""
        X, batch_shape = flatten_images(X)
        X = validate_data(self, X, reset=reset, dtype=np.float32, ensure_all_finite=True)
        return X, batch_shape

    def _to_network_input(self, X, batch_shape):
        if batch_shape is not None and len(self.input_shape_) == 3:
            shape = tuple(batch_shape) if len(batch_shape) == 3 else (*batch_shape, 1)
            if shape != self.input_shape_:
                raise ValueError(
                    f"{type(self).__name__} was fitted on images of shape "
                    f"{self.input_shape_}, got images of shape {tuple(batch_shape)}."
                )
        return X.reshape(X.shape[0], *self.input_shape_)

    def _validate_y(self, y, sample_weight):
        check_classification_targets(y)
        target_type = type_of_target(y, input_name="y")
        if target_type not in ("binary", "multiclass"):
            raise ValueError(
                f"{type(self).__name__} supports binary and multiclass targets only; "
                f"got a {target_type} target."
            )
        self._label_encoder = LabelEncoder().fit(y)
        self.classes_ = self._label_encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data, "
                f"but the data contains only one class: {self.classes_[0]!r}."
            )
        y_enc = self._label_encoder.transform(y).astype(np.int32)
        if sample_weight is not None:
            weighted = np.unique(y_enc[sample_weight > 0])
            if len(weighted) < 2:
                raise ValueError(
                    "sample_weight leaves samples of only one class with a positive "
                    f"weight; {type(self).__name__} needs at least 2 classes to learn."
                )
        return y_enc

    def _fit_seed(self):
        """The int that seeds a fit (weights, shuffling, validation split), or None."""
        if self.random_state is None:
            return None
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _validation_split(self, X, y, sample_weight, seed):
        """Stratified, seeded hold-out for early stopping."""
        arrays = [X, y] if sample_weight is None else [X, y, sample_weight]
        counts = np.bincount(y)
        n_val = int(np.ceil(self.validation_fraction * len(y)))
        if counts.min() < 2 or n_val < len(counts) or len(y) - n_val < len(counts):
            rare = self.classes_[int(np.argmin(counts))]
            raise ValueError(
                f"early_stopping=True holds out a stratified validation_fraction="
                f"{self.validation_fraction} of the {len(y)} training samples, which needs "
                f"at least 2 samples of every class and at least one per class on each "
                f"side ({len(counts)} classes; class {rare!r} has {counts.min()} "
                f"sample(s), the hold-out would have {n_val}). Use more data, a larger "
                "validation_fraction, or early_stopping=False."
            )
        # the split's rows, taken into aligned memory: the training part then
        # reaches TensorFlow without another copy (skfmnist.models._input)
        train_idx, val_idx = train_test_split(
            np.arange(len(y)), test_size=self.validation_fraction, stratify=y, random_state=seed, shuffle=True
        )
        train = [aligned_take(a, train_idx) for a in arrays]
        val = tuple(aligned_take(a, val_idx) for a in arrays)
        sw_train = train[2] if sample_weight is not None else None
        return train[0], train[1], sw_train, val

    # ------------------------------------------------------------------- fit
    def _fit_callbacks(self, steps_per_epoch):
        keras = import_keras()
        if self.max_fit_time is None:
            timer = _callbacks.EpochTimer()
        else:  # the timer that also keeps to the budget
            timer = _callbacks.TimeBudget(self.max_fit_time, steps_per_epoch)
        callbacks = [_callbacks.StopOnNaN(), timer]
        stopper = None
        if self.early_stopping:
            stopper = keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=self.n_iter_no_change, restore_best_weights=True
            )
            callbacks.append(stopper)
        # user callbacks: fresh copies, so that no state leaks between fits
        callbacks += [copy.deepcopy(cb) for cb in _callback_list(self.callbacks)]
        return callbacks, timer, stopper

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Build a new network for the data and train it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image batch
            Training data: flat rows, or images ``(n_samples, height, width[,
            channels])``.  Any numeric dtype; converted to float32.
        y : array-like of shape (n_samples,)
            Class labels (any type scikit-learn accepts, e.g. ints or
            strings).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        compute_dtype = self._resolved_compute_dtype()
        network_params = {**self._network_params(), "compute_dtype": compute_dtype}
        X, batch_shape = flatten_images(X)
        X, y = validate_data(self, X, y, dtype=np.float32, ensure_all_finite=True)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float32)
        y_enc = self._validate_y(y, sample_weight)
        self.input_shape_ = tuple(self._input_shape(X.shape[1], batch_shape))
        X = X.reshape(X.shape[0], *self.input_shape_)

        seed = self._fit_seed()
        validation_data = None
        if self.early_stopping:
            X, y_enc, sample_weight, validation_data = self._validation_split(X, y_enc, sample_weight, seed)
        if sample_weight is not None and np.all(sample_weight == 1):
            sample_weight = None  # identical loss, and the same code path as no weights

        n_classes = len(self.classes_)
        steps_per_epoch = int(np.ceil(X.shape[0] / self.batch_size))
        steps = self.epochs * steps_per_epoch
        input_shape = self.input_shape_

        build = functools.partial(
            _builders.build_and_compile,
            self._builder,
            input_shape,
            n_classes,
            network_params,
            {
                "optimizer": self.optimizer,
                "learning_rate": self.learning_rate,
                "weight_decay": self.weight_decay,
                "lr_schedule": self.lr_schedule,
                "total_steps": steps,
                "label_smoothing": self.label_smoothing,
                "jit_compile": self.jit_compile,
                "steps_per_execution": self.steps_per_execution,
                "replannable_schedule": self.max_fit_time is not None,
            },
        )

        callbacks, timer, stopper = self._fit_callbacks(steps_per_epoch)
        wrapper = _scikeras.make_wrapper(
            build,
            epochs=self.epochs,
            batch_size=self.batch_size,
            predict_batch_size=self._predict_batch_size,
            callbacks=callbacks,
            verbose=self.verbose,
        )
        # the network and its input pipeline are built one fit at a time, from
        # this thread's fresh Keras state, seeded; the training runs outside
        # the lock, so that fits in other threads train meanwhile
        history = _scikeras.fit_wrapper(
            wrapper, X, y_enc, sample_weight=sample_weight, validation_data=validation_data,
            setup=fit_setup(seed),
        )
        if not history.get("loss") or not np.all(np.isfinite(history["loss"])):
            raise TrainingError(
                f"{type(self).__name__}: training diverged, the loss became NaN or infinite "
                f"at epoch {len(history.get('loss', []))}. Lower learning_rate or check "
                "the input scaling."
            )
        # the callbacks hold the Keras model; drop them so that pickles stay small
        wrapper.set_params(callbacks=None)
        history["time"] = timer.cumulative_seconds[: len(history["loss"])]
        self.keras_classifier_ = wrapper
        self.history_ = history
        self.compute_dtype_ = compute_dtype
        self.n_epochs_ = len(history["loss"])
        self.best_epoch_ = (
            int(stopper.best_epoch) + 1 if stopper is not None and stopper.best_weights is not None
            else self.n_epochs_
        )
        self.n_trainable_params_ = int(
            sum(int(np.prod(w.shape)) for w in self.model_.trainable_weights)
        )
        return self

    # --------------------------------------------------------------- predict
    @property
    def model_(self):
        """The fitted :class:`keras.Model`."""
        check_is_fitted(self, "keras_classifier_")
        return _scikeras.keras_model(self.keras_classifier_)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image batch
            Samples, as in ``fit`` (any numeric dtype).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``; rows sum to one.
        """
        check_is_fitted(self)
        X, batch_shape = self._validate_X(X, reset=False)
        X = self._to_network_input(X, batch_shape)
        proba = self._predict_network(X).astype(np.float64)
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def _predict_network(self, X):
        """The network's class probabilities for network input ``X``."""
        return _scikeras.predict_proba(self.keras_classifier_, X)

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image batch
            Samples, as in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.classifier_tags.multi_label = False
        return tags


def check_sizes(value, name, *, allow_empty=False):
    """Return a tuple of positive ints, or raise a ValueError naming ``name``."""
    values = (value,) if isinstance(value, Integral) else tuple(value)
    if (not values and not allow_empty) or not all(
        isinstance(v, Integral) and not isinstance(v, bool) and v > 0 for v in values
    ):
        raise ValueError(
            f"{name} must be a non-empty sequence of positive integers, got {value!r}."
        )
    return tuple(int(v) for v in values)


def check_activation(name):
    """Return ``name`` if Keras knows the activation, else raise a ValueError."""
    keras = import_keras()
    try:
        keras.activations.get(name)
    except (ValueError, TypeError):
        raise ValueError(f"activation={name!r} is not a Keras activation (e.g. 'relu', 'tanh').") from None
    return name


_COMMON_PARAMETERS = """\
    optimizer : {"adam", "adamw", "sgd", "rmsprop"}, default="adam"
        Optimizer; "sgd" uses Nesterov momentum 0.9.  "adam" and "adamw"
        are Keras' Adam and AdamW with each variable's update run as
        TensorFlow's fused ``ResourceApplyAdam`` kernel (same formula, one
        pass instead of about fifteen operations).
    learning_rate : float, default=%(learning_rate)r
        Initial (peak) learning rate.
    weight_decay : float, default=0.0
        Decoupled weight decay, used by "adamw" and "sgd".
    lr_schedule : {"constant", "cosine", "one_cycle"}, default=%(lr_schedule)r
        Learning-rate schedule; "cosine" decays from ``learning_rate`` to
        zero over all epochs (measured: +1.5 points test accuracy for the
        dense network on Fashion-MNIST against a constant rate);
        "one_cycle" first rises linearly from ``learning_rate / 25`` to
        ``learning_rate`` over 30%% of the steps, then decays the same way
        (the learning-rate part of the one-cycle policy, as PyTorch's
        ``OneCycleLR`` with cosine annealing).  The CNN's default, one-cycle
        from 2e-3, was chosen on a 54,000 / 6,000 validation split of the
        training images: the best of one-cycle and cosine at peaks 1e-3 and
        2e-3 on both seeds that tried all four, and +0.23 points on average
        over 3 seeds against cosine from 1e-3 (``benchmarks/RESULTS.md``).
    label_smoothing : float, default=%(label_smoothing)r
        Label smoothing of the cross-entropy loss, in [0, 1).
    batch_size : int, default=%(batch_size)r
        Training mini-batch size.
    epochs : int, default=%(epochs)r
        Maximum number of passes over the training data.
    max_fit_time : float, default=None
        Training-time budget in seconds (None: no budget).  After each
        epoch the fit estimates, from the slowest of the last three epochs,
        how many epochs fit into the rest of the budget, plans to stop after
        them (at most ``epochs``) and, with the "cosine" and "one_cycle"
        schedules, rescales the schedule so that the learning rate still
        reaches zero at the planned end.  At least one epoch runs, and an
        epoch much slower than the ones before it can overrun the budget;
        the time of building the network is not counted.  The number of
        epochs, and so the result, then depends on the machine's speed:
        ``random_state`` alone no longer makes a fit reproducible.
        ``n_epochs_`` tells how many ran.
    early_stopping : bool, default=False
        Hold out a stratified, seeded ``validation_fraction`` of the training
        data, stop when its loss has not improved for ``n_iter_no_change``
        epochs, and end with the weights of the best epoch (lowest
        validation loss), also when every epoch ran (``best_epoch_``).
    validation_fraction : float, default=0.1
        Fraction of the training data held out when ``early_stopping``.
    n_iter_no_change : int, default=5
        Patience of early stopping, in epochs.
    callbacks : list of keras.callbacks.Callback, default=None
        Extra Keras callbacks.  Each fit uses fresh copies, so that no state
        leaks between fits (or cross-validation folds) and ``clone`` keeps
        them.
    jit_compile : bool, default=False
        Compile the training step with XLA (slower than TensorFlow's own
        kernels on CPU for these networks: see benchmarks/RESULTS.md).
    compute_dtype : {"float32", "bfloat16", "auto"}, default="%(compute_dtype)s"
        Arithmetic of the hidden layers.  "bfloat16" is Keras' mixed
        precision: bfloat16 computations, float32 weights and optimizer,
        float32 softmax output and probabilities.  Whether it is faster
        depends on the CPU, not only on its flags: measured 1.15-1.45x
        faster on an AMD EPYC with AVX512-BF16, 1.8-1.9x faster (CNNs)
        on an Intel Xeon with AMX, 1.3-1.5x slower on an Intel Xeon with
        AVX512-BF16 but no AMX.  "auto" uses "bfloat16"
        when no GPU is visible, TensorFlow runs oneDNN's CPU kernels (not
        capped by ``ONEDNN_MAX_CPU_ISA`` below that fast path) and the CPU
        is an AMD one with AVX512-BF16 or has AMX-BF16, and "float32"
        otherwise (``compute_dtype_`` tells
        which), so results with "auto" depend on the machine; pass
        "float32" for the same arithmetic everywhere.  See
        benchmarks/RESULTS.md for its speed and accuracy on Fashion-MNIST.
    steps_per_execution : int, default=32
        Training batches run per call into TensorFlow.  More batches per
        call remove Python overhead between small batches (measured: the
        dense network trains ~1.8x faster with 32 than with 1) and change
        no result; Keras callbacks then see ``on_train_batch_*`` once per
        call rather than once per batch.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, shuffling, dropout and the validation
        split.  An int gives bitwise-identical results on CPU with the same
        number of TensorFlow threads (another count can split a kernel's sums
        differently and change the last digits), also when several fits run
        at once in threads of one process (joblib's threading backend); the
        seeding is scoped to the fit and leaves global random states as they
        were.
        None is random.
    verbose : int, default=0
        Keras' training output (0 silent, 1 progress bar, 2 one line per
        epoch).  Prediction is always silent."""

_COMMON_ATTRIBUTES = """\
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of values per sample seen in ``fit`` (784 for 28x28 images,
        whether given as rows or as images).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen in ``fit`` (DataFrames with string column
        names only).
    input_shape_ : tuple of int
        Shape of one sample as the network sees it.
    compute_dtype_ : {"float32", "bfloat16"}
        Arithmetic the network was trained with (``compute_dtype`` with
        "auto" resolved).
    model_ : keras.Model
        The trained network.
    keras_classifier_ : scikeras.wrappers.KerasClassifier
        The scikeras estimator that built and trained ``model_``.
    history_ : dict of list of float
        Per-epoch ``loss`` and ``accuracy`` (and ``val_loss``,
        ``val_accuracy`` with early stopping), and ``time``, the cumulative
        training seconds.
    n_epochs_ : int
        Epochs run.
    best_epoch_ : int
        Epoch (1-based) whose weights the model has.
    n_trainable_params_ : int
        Number of trainable weights of the network."""


def fill_doc(cls):
    """Insert the shared parameter and attribute docs into a class docstring.

    The defaults quoted for ``learning_rate``, ``lr_schedule``,
    ``label_smoothing``, ``batch_size``, ``epochs`` and ``compute_dtype`` are
    read from the class' own ``__init__`` signature, so that the docstring
    cannot drift from the code.
    """
    defaults = {
        name: param.default
        for name, param in inspect.signature(cls.__init__).parameters.items()
        if name in ("learning_rate", "lr_schedule", "label_smoothing", "batch_size", "epochs", "compute_dtype")
    }
    cls.__doc__ = cls.__doc__.replace("%(common_parameters)s", _COMMON_PARAMETERS % defaults).replace(
        "%(common_attributes)s", _COMMON_ATTRIBUTES
    )
    return cls
