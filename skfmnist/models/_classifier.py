"""KerasClassifier: a scikit-learn classifier around a Keras network; the presets' machinery.

Everything a fit does lives here, once: validation, label encoding, class
and sample weights, the validation split, seeding, compiling, training on the
input pipeline of :mod:`._input`, the time budget, warm starts and
``partial_fit``, and prediction.  What a preset adds is its network
(:mod:`._networks`) and its defaults (:mod:`._presets`).
"""

# SPDX-License-Identifier: MIT

import contextlib
import copy
import random
import threading
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array, check_random_state, compute_sample_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _backends
from ..exceptions import TrainingError
from ..preprocessing import check_image_shape, split_images
from ..utils._cpu import prefers_bfloat16
from ..utils._keras import import_keras
from . import _callbacks, _scikeras
from ._docs import fill_doc
from ._input import RowOrder, training_dataset
from ._losses import check_loss_fits

__all__ = ["KerasClassifier"]

#: Builds one network at a time in this process: a builder of the user's may draw its layers' seeds from
#: Python's global random module, which keras.utils.set_random_seed seeds for it.
_BUILD_LOCK = threading.Lock()

#: Rows per call of the network at prediction.
PREDICT_BATCH_SIZE = 1024

#: Prediction batches are padded to a multiple of this many rows: oneDNN's kernels choose their blocking by the
#: number of rows, which can change the last bit of a sample's outputs with the number of samples predicted
#: with it; padded, a sample's probabilities are the same whatever else is predicted with it.
PREDICT_ROW_MULTIPLE = 32

#: Fewest batches of an epoch: smaller data gets smaller batches (see ``batch_size``).
MIN_STEPS_PER_EPOCH = 10

#: Prefixes of the keyword arguments routed to the model function and to the optimizer.
_ROUTED = ("model__", "optimizer__")


def _numeric(labels):
    """Whether every label is a number (strings, and anything else, are not)."""
    return all(isinstance(label, (Real, np.number)) for label in np.asarray(labels).tolist())


def _callback_list(callbacks):
    if callbacks is None:
        return []
    return list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]


@contextlib.contextmanager
def _seeded_build(seed, compute_dtype):
    """Build under the lock, seeded, with the Keras dtype policy of ``compute_dtype`` for this thread.

    ``keras.utils.set_random_seed`` seeds Python, NumPy, TensorFlow and Keras;
    Python's and NumPy's random states are put back afterwards.  Keras keeps
    its dtype policy per thread; the previous one is put back too.
    """
    keras = import_keras()
    policy = keras.config.dtype_policy()
    with _BUILD_LOCK:
        states = random.getstate(), np.random.get_state()
        try:
            if seed is not None:
                keras.utils.set_random_seed(int(seed))
            keras.config.set_dtype_policy("float32" if compute_dtype == "float32" else f"mixed_{compute_dtype}")
            yield
        finally:
            keras.config.set_dtype_policy(policy)
            random.setstate(states[0])
            np.random.set_state(states[1])


@fill_doc
class KerasClassifier(ClassifierMixin, BaseEstimator):
    """Scikit-learn classifier around a Keras network that you build.

    ``model`` is a function that returns a :class:`keras.Model` for the data
    ``fit`` sees, in scikeras' style: it receives ``meta`` (``X_shape_``,
    ``n_features_in_``, ``n_classes_``, ...), ``compile_kwargs`` and
    ``params`` where its signature asks for them, and its own parameters,
    given here as ``model__<name>=value`` or bare ``<name>=value``.  A
    builder written for ``scikeras.wrappers.KerasClassifier`` works
    unchanged.  The network ends in a softmax over the classes (or, for two
    classes, one sigmoid unit); returned uncompiled, it is compiled with this
    estimator's optimizer, learning-rate schedule and loss.

    The estimator is a scikit-learn classifier in every respect: it passes
    scikit-learn's estimator checks, its parameters and the builder's
    parameters are tunable by ``GridSearchCV`` and survive ``clone``,
    ``get_params``/``set_params`` and pickling, and fits are reproducible
    from ``random_state``.

    Parameters
    ----------
    model : callable, default=None
        Builds the network (see above).  Required to fit.
    loss : str, keras.losses.Loss or its class, default=None
        Loss of an uncompiled network, computed on class indices (one
        sigmoid unit: on 0/1 labels), such as
        ``"sparse_categorical_crossentropy"``.  None, the default, is
        sparse categorical cross-entropy with ``label_smoothing`` (binary
        cross-entropy for a network with one sigmoid output).  It is also
        ``compile_kwargs["loss"]`` for a builder that compiles itself, as in
        scikeras.  A loss that does not fit the targets (one-hot losses such
        as ``"categorical_crossentropy"``) is an error that names the one
        that fits.
    metrics : list of str, keras.metrics.Metric or its class, default=None
        Keras metrics recorded every epoch in ``history_`` beside the loss
        and ``"accuracy"`` (``val_<name>`` with validation data); each fit
        gets fresh metric objects.  Also ``compile_kwargs["metrics"]``.
%(common_parameters)s
    validation_split : float, default=0.0
        Fraction of the training data held out in each ``fit`` (stratified,
        seeded by ``random_state``) to record ``val_loss`` and
        ``val_accuracy`` every epoch; with ``early_stopping`` it is the
        data monitored, in place of ``validation_fraction``.  Keras'
        and scikeras' name; 0 keeps every sample for training.
    **kwargs : dict
        Parameters of ``model``: ``model__<name>=value`` always, bare
        ``<name>=value`` for names in its signature.  ``optimizer__<name>``
        values go to the optimizer's constructor;
        ``optimizer__learning_rate`` (scikeras' spelling) replaces
        ``learning_rate``.

    Attributes
    ----------
%(common_attributes)s

    See Also
    --------
    DenseClassifier, CNNClassifier, DeepCNNClassifier : The presets.

    Examples
    --------
    >>> import keras
    >>> from sklearn.datasets import load_digits
    >>> from skfmnist import KerasClassifier
    >>> def build(meta, hidden=32):
    ...     return keras.Sequential([
    ...         keras.Input(meta["X_shape_"][1:]),
    ...         keras.layers.Dense(hidden, activation="relu"),
    ...         keras.layers.Dense(meta["n_classes_"], activation="softmax"),
    ...     ])
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = KerasClassifier(build, model__hidden=64, epochs=20, random_state=0).fit(X / 16, y)
    >>> bool(clf.score(X / 16, y) > 0.9)
    True
    """

    _parameter_constraints = {
        "model": [callable, None],
        "optimizer": "no_validation",  # a name or a class: checked in fit, with a message that says what to pass
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "lr_schedule": [StrOptions({"constant", "cosine", "one_cycle"})],
        "loss": [str, callable, None],
        "metrics": [list, tuple, None],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "max_fit_time": [Interval(Real, 0, None, closed="neither"), None],
        "early_stopping": ["boolean"],
        "validation_split": [Interval(Real, 0, 1, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "callbacks": [list, tuple, None],
        "jit_compile": ["boolean", StrOptions({"auto"})],
        "compute_dtype": [StrOptions({"float32", "bfloat16", "float16", "auto"})],
        "steps_per_execution": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    #: How the network takes its input: "as_given" (rows as rows, images as channels-last images),
    #: "rows" (always flat rows) or "images" (always (height, width, channels) images).
    _input_kind = "as_given"

    #: Whether the estimator takes the builder's parameters as keyword arguments.
    _accepts_model_params = True

    #: Parameters added after a release, with the value that keeps the behaviour of an estimator pickled or saved
    #: before them (their defaults may differ: a new default for new estimators, not for old ones).
    _added_params = {}

    def __init__(
        self,
        model=None,
        *,
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
        lr_schedule="constant",
        loss=None,
        metrics=None,
        label_smoothing=0.0,
        batch_size=32,
        epochs=10,
        class_weight=None,
        warm_start=False,
        max_fit_time=None,
        early_stopping=False,
        validation_split=0.0,
        validation_fraction=0.1,
        n_iter_no_change=5,
        callbacks=None,
        jit_compile="auto",
        compute_dtype="float32",
        steps_per_execution=32,
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        self.model = model
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.loss = loss
        self.metrics = metrics
        self.label_smoothing = label_smoothing
        self.batch_size = batch_size
        self.epochs = epochs
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.max_fit_time = max_fit_time
        self.early_stopping = early_stopping
        self.validation_split = validation_split
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks
        self.jit_compile = jit_compile
        self.compute_dtype = compute_dtype
        self.steps_per_execution = steps_per_execution
        self.random_state = random_state
        self.verbose = verbose
        self._kwargs = dict(kwargs)

    # ----------------------------------------------------- parameters of the builder
    def get_params(self, deep=True):
        """Parameters of the estimator and of its ``model`` (the keyword arguments given).

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of contained estimators.

        Returns
        -------
        params : dict
        """
        return {**super().get_params(deep=deep), **getattr(self, "_kwargs", {})}

    def set_params(self, **params):
        """Set parameters, including the builder's (``model__<name>``, ``optimizer__<name>``, known bare names).

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : object
        """
        own = set(self._get_param_names())
        kwargs = getattr(self, "_kwargs", {})
        extra = {}
        if self._accepts_model_params:
            extra = {k: v for k, v in params.items() if k not in own and (k in kwargs or k.startswith(_ROUTED))}
        super().set_params(**{k: v for k, v in params.items() if k not in extra})
        self._kwargs = {**kwargs, **extra}
        return self

    def _network(self, seed):
        """The builder and its own parameters: ``(model, params)``."""
        if self.model is None:
            hint = ""
            if hasattr(type(self), "_keras_build_fn"):
                hint = (" skfmnist does not call a subclass' _keras_build_fn (scikeras' way); pass it as "
                        "model= instead.")
            raise ValueError(
                f"{type(self).__name__} needs model=, a function that builds the Keras network "
                f"(for example model=build, with def build(meta): ... return keras.Model(...)).{hint}"
            )
        keras = import_keras()
        if isinstance(self.model, keras.Model):
            raise TypeError(
                "model must be a function that builds the network, not a keras.Model: a model object would be "
                "shared, and trained further, by every fit, clone and cross-validation fold."
            )
        for key in self._kwargs:
            if key in _scikeras.SCIKERAS_ONLY:
                raise ValueError(f"{type(self).__name__} takes no parameter {key!r}: {_scikeras.SCIKERAS_ONLY[key]}.")
            for prefix, instead in _scikeras.SCIKERAS_ONLY_PREFIXES.items():
                if key.startswith(prefix):
                    raise ValueError(f"{type(self).__name__} takes no {prefix}<name> parameters ({key!r}): {instead}.")
        routed_elsewhere = [k for k in self._kwargs if "__" in k and not k.startswith(_ROUTED)]
        routed_elsewhere += [k for k in self._kwargs if k.startswith(_ROUTED) and "__" in k.split("__", 1)[1]]
        if routed_elsewhere:
            raise ValueError(
                f"Parameter(s) {', '.join(map(repr, routed_elsewhere))}: {type(self).__name__} routes model__<name> "
                "parameters to the model function and optimizer__<name> ones to the optimizer; fit, compile and "
                "loss options are its own parameters (epochs, batch_size, loss, ...)."
            )
        arguments = _scikeras.builder_arguments(self.model)
        unknown = [k for k in self._kwargs if "__" not in k and arguments is not None and k not in arguments]
        if unknown:
            raise ValueError(
                f"Parameter(s) {', '.join(map(repr, unknown))} are neither parameters of {type(self).__name__} "
                f"nor arguments of the model function {getattr(self.model, '__name__', self.model)!r}."
            )
        return self.model, _scikeras.model_params(self._kwargs)

    # ------------------------------------------------------------- validation
    def _resolved_compute_dtype(self):
        if self.compute_dtype != "auto":
            return self.compute_dtype
        import_keras()
        device = _backends.current().accelerator()
        if device is not None:  # mixed precision on every GPU: bfloat16 where it has it, float16 (loss-scaled) else
            return "bfloat16" if device.bfloat16 else "float16"
        return "bfloat16" if prefers_bfloat16() else "float32"

    def _input_shape(self, n_features, image_shape):
        """The shape of one sample as the network takes it."""
        if self._input_kind == "rows" or (self._input_kind == "as_given" and image_shape is None):
            return (n_features,)
        if image_shape is not None:
            given = getattr(self, "image_shape", None)
            if given is not None and check_image_shape(given, n_features) != image_shape:
                raise ValueError(
                    f"image_shape={tuple(given)} does not match the images given to fit, of shape {image_shape}."
                )
            return image_shape
        return check_image_shape(getattr(self, "image_shape", None), n_features)

    def _fitted_rows(self, X):
        """The rows of ``X``, whose images (if it holds images) must have the fitted shape."""
        rows, image_shape = split_images(X)
        if image_shape is not None and len(self.input_shape_) == 3 and image_shape != self.input_shape_:
            raise ValueError(
                f"{type(self).__name__} was fitted on images of shape {self.input_shape_}, "
                f"got images of shape {image_shape}."
            )
        return rows

    def _validate_X(self, X):
        """Rows of ``X``, float32, checked as the fitted estimator's input."""
        return validate_data(self, self._fitted_rows(X), reset=False, dtype=np.float32, ensure_all_finite=True)

    def _network_input(self, rows):
        return rows.reshape(rows.shape[0], *self.input_shape_)

    def _encode(self, y, name="y"):
        """Class indices of ``y``; every label must be one of ``classes_``, and of its type."""
        y = np.asarray(y)
        if y.size and _numeric(np.unique(y)) != _numeric(self.classes_):
            raise ValueError(
                f"{name} holds labels of dtype {y.dtype}, but the classes of this classifier are "
                f"{self.classes_.tolist()!r}: numbers and strings are different labels (convert one to the other)."
            )
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(
                f"{name} has label(s) {unknown.tolist()} that are not among the classes of this classifier "
                f"({self.classes_.tolist()})."
            )
        return np.searchsorted(self.classes_, y).astype(np.int32)

    def _set_classes(self, y, classes):
        check_classification_targets(y)
        target_type = type_of_target(y, input_name="y")
        if target_type not in ("binary", "multiclass"):
            raise ValueError(
                f"{type(self).__name__} supports binary and multiclass targets only; got a {target_type} target."
            )
        labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
        if len(labels) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data, but the data contains "
                f"only one class: {labels[0]!r}."
            )
        self.classes_ = labels

    def _class_weight_per_class(self, partial):
        """``class_weight`` as one weight per class of ``classes_`` (None without class weights)."""
        class_weight = self.class_weight
        if class_weight is None:
            return None
        if isinstance(class_weight, str):  # "balanced": from the targets of the fit
            if partial:
                raise ValueError(
                    "class_weight='balanced' is not supported for partial_fit: a chunk's class frequencies are "
                    "not the data's. Compute the weights once with sklearn.utils.class_weight.compute_class_weight"
                    "('balanced', classes=classes, y=y) on a large enough sample of the targets and pass them "
                    "as a dict."
                )
            return class_weight
        weights = np.ones(len(self.classes_))
        numeric = _numeric(self.classes_)
        unknown = []
        for label, weight in class_weight.items():
            hits = [] if numeric != _numeric([label]) else np.flatnonzero(self.classes_ == label)
            if len(hits) != 1:
                unknown.append(label)
                continue
            if isinstance(weight, bool) or not isinstance(weight, (Real, np.number)) or not 0 <= weight < np.inf:
                raise ValueError(
                    f"class_weight[{label!r}] = {weight!r}: class weights must be finite numbers >= 0, as "
                    "sample weights must."
                )
            weights[hits[0]] = weight
        if unknown:
            raise ValueError(
                f"class_weight has key(s) {unknown!r} that are not labels of the classes "
                f"{self.classes_.tolist()!r}: its keys must be the labels themselves, of the same type "
                "(as scikit-learn's classifiers require; JSON turns keys into strings)."
            )
        return weights

    def _sample_weight(self, sample_weight, y_enc, partial=False):
        """Per-sample loss weights: ``sample_weight`` times ``class_weight``'s; None where all are 1."""
        weights = np.ones(len(y_enc), dtype=np.float32)
        if sample_weight is not None:
            if isinstance(sample_weight, Real):
                sample_weight = np.full(len(y_enc), sample_weight, np.float32)
            sw = check_array(sample_weight, ensure_2d=False, dtype=np.float32, input_name="sample_weight")
            if sw.shape != (len(y_enc),):
                raise ValueError(f"sample_weight has shape {sw.shape}, expected ({len(y_enc)},).")
            if (sw < 0).any():
                raise ValueError("sample_weight has negative values; weights must be >= 0.")
            weights *= sw
        per_class = self._class_weight_per_class(partial)
        if isinstance(per_class, str):
            weights *= compute_sample_weight(per_class, y_enc).astype(np.float32)
        elif per_class is not None:
            weights *= per_class[y_enc].astype(np.float32)
        if not weights.any():
            raise ValueError(
                "sample_weight and class_weight give every sample a weight of zero: there is nothing to train on."
            )
        present = np.unique(y_enc)
        if len(present) >= 2 and len(np.unique(y_enc[weights > 0])) < 2:
            raise ValueError(
                "sample_weight and class_weight leave samples of only one class with a positive weight; "
                f"{type(self).__name__} needs at least 2 classes to learn."
            )
        return None if np.all(weights == 1) else weights

    def _validation_split(self, X, y, sample_weight, seed, fraction, name):
        """Stratified, seeded hold-out of ``fraction`` of the training data (the parameter ``name``)."""
        counts = np.bincount(y, minlength=len(self.classes_))
        counts = counts[counts > 0]
        n_val = int(np.ceil(fraction * len(y)))
        if counts.min() < 2 or n_val < len(counts) or len(y) - n_val < len(counts):
            what = f"{name}={fraction}" if name == "validation_split" else f"early_stopping=True with {name}={fraction}"
            raise ValueError(
                f"{what} holds out a stratified share of the {len(y)} training samples, which needs at "
                f"least 2 samples of every class and at least one per class on each side ({len(counts)} classes, "
                f"the rarest with {counts.min()} sample(s), a hold-out of {n_val}). Use more data, another "
                f"{name}, or pass X_val and y_val to fit."
            )
        arrays = [X, y] if sample_weight is None else [X, y, sample_weight]
        parts = train_test_split(*arrays, test_size=fraction, stratify=y, random_state=seed)
        train, val = parts[0::2], parts[1::2]
        return train[0], train[1], (train[2] if sample_weight is not None else None), tuple(val)

    # ------------------------------------------------------------------ network
    def _optimizer_class(self):
        """The Keras optimizer class of ``optimizer`` (a name or a class)."""
        keras = import_keras()
        optimizer = self.optimizer
        if isinstance(optimizer, str):
            known = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}
            if optimizer.lower() in known:
                return known[optimizer.lower()]
            try:
                return type(keras.optimizers.get(optimizer))
            except ValueError:
                raise ValueError(
                    f"optimizer={optimizer!r} is not the name of a Keras optimizer ('adam', 'sgd', 'rmsprop', "
                    "'adamw', 'nadam', ...)."
                ) from None
        if isinstance(optimizer, type) and issubclass(optimizer, keras.optimizers.Optimizer):
            return optimizer
        if isinstance(optimizer, keras.optimizers.Optimizer):
            raise TypeError(
                f"optimizer must be a name or an optimizer class, not the {type(optimizer).__name__} object given: "
                "an object would be shared, with its state, by every fit, clone and cross-validation fold. Pass "
                f"the class and its options: optimizer=keras.optimizers.{type(optimizer).__name__}, "
                "optimizer__<option>=value (learning_rate= for the rate)."
            )
        raise TypeError(f"optimizer must be a Keras optimizer name or class, got {optimizer!r}.")

    def _optimizer(self, steps):
        """A new optimizer for a fit of ``steps`` steps, and the schedule it follows (None: a constant rate)."""
        keras = import_keras()
        from ._schedules import CosineSchedule

        kwargs = getattr(self, "_kwargs", {})  # (the presets take none)
        options = {k[len("optimizer__"):]: v for k, v in kwargs.items() if k.startswith("optimizer__")}
        rate = options.pop("learning_rate", self.learning_rate)  # scikeras' spelling of the rate wins
        schedule = None
        if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
            pass  # the user's own schedule, as given: lr_schedule does not apply
        elif not isinstance(rate, Real) or isinstance(rate, bool) or not 0 < rate < np.inf:
            raise ValueError(
                f"optimizer__learning_rate={rate!r}: the learning rate must be a positive number (or a "
                "keras.optimizers.schedules.LearningRateSchedule)."
            )
        elif self.lr_schedule != "constant":
            warmup = 0.3 if self.lr_schedule == "one_cycle" else 0.0
            rate = schedule = CosineSchedule(float(rate), steps, warmup_fraction=warmup)
        if self.weight_decay:
            options.setdefault("weight_decay", self.weight_decay)
        if isinstance(self.optimizer, str) and self.optimizer.lower() == "sgd":
            options = {"momentum": 0.9, "nesterov": True, **options}
        return self._optimizer_class()(learning_rate=rate, **options), schedule

    def _user_loss(self):
        """The ``loss`` parameter as Keras compiles it (a class instantiated), or None."""
        keras = import_keras()
        loss = getattr(self, "loss", None)  # (the presets have no loss parameter)
        if loss is None:
            return None
        if self.label_smoothing:
            raise ValueError(
                f"label_smoothing={self.label_smoothing} smooths skfmnist's default loss (loss=None); with "
                f"loss={loss!r}, configure the smoothing in the loss object you pass instead."
            )
        if isinstance(loss, type):
            if not issubclass(loss, keras.losses.Loss):
                raise TypeError(f"loss={loss!r} is a class but not a keras.losses.Loss.")
            return loss()
        return loss

    def _user_metrics(self):
        """The ``metrics`` parameter as Keras compiles them (classes instantiated, objects fresh), or None."""
        keras = import_keras()
        metrics = getattr(self, "metrics", None)  # (the presets have no metrics parameter)
        if metrics is None:
            return None
        fresh = []
        for metric in metrics:
            if isinstance(metric, type) and issubclass(metric, keras.metrics.Metric):
                metric = metric()
            elif isinstance(metric, keras.metrics.Metric):  # a metric keeps state: every fit gets its own
                metric = type(metric).from_config(metric.get_config())
            elif not (isinstance(metric, str) or callable(metric)):
                raise TypeError(
                    f"metrics must be a list of Keras metric names, classes, objects or functions; got {metric!r}."
                )
            fresh.append(metric)
        return fresh

    def _compile_kwargs(self, steps):
        """What a builder's ``compile_kwargs`` holds: the optimizer, the ``loss`` and the ``metrics`` given."""
        optimizer, schedule = self._optimizer(steps)
        return {"optimizer": optimizer, "loss": self._user_loss(), "metrics": self._user_metrics()}, schedule

    def _default_loss(self, n_units):
        keras = import_keras()
        from ._losses import SparseCategoricalCrossentropy

        if n_units == 1:
            return keras.losses.BinaryCrossentropy(label_smoothing=self.label_smoothing)
        if self.label_smoothing:
            return SparseCategoricalCrossentropy(label_smoothing=self.label_smoothing)
        return keras.losses.SparseCategoricalCrossentropy()

    def _build(self, X, seed, steps, compute_dtype):
        """A new network for training input ``X``, compiled: sets ``model_``."""
        keras = import_keras()
        n_classes = len(self.classes_)
        builder, params = self._network(seed)
        compile_kwargs, schedule = self._compile_kwargs(steps)
        with _seeded_build(seed, compute_dtype):
            model = _scikeras.build_network(
                builder, X, classes=self.classes_, n_features_in=self.n_features_in_,
                feature_names_in=getattr(self, "feature_names_in_", None), params=params,
                compile_kwargs=compile_kwargs, estimator_params=self.get_params(),
            )
        if not isinstance(model, keras.Model):
            raise TypeError(f"The model function returned a {type(model).__name__}, not a keras.Model.")
        units = model.output_shape[-1] if isinstance(model.output_shape, tuple) else None
        if units not in (n_classes, 1 if n_classes == 2 else n_classes):
            raise ValueError(
                f"The network's output has shape {model.output_shape}; it must end in a softmax over the "
                f"{n_classes} classes (or, for two classes, one sigmoid unit)."
            )
        self.model_ = model
        if not model.compiled:
            self._compile(steps)
            return
        # compiled by the builder: with the optimizer it was given (the schedule is ours), or its own
        if model.loss is None:
            raise ValueError(
                "The model function compiled the network without a loss (compile_kwargs['loss'] is None unless "
                "loss= is given): compile it with one, such as 'sparse_categorical_crossentropy', or return it "
                "uncompiled for skfmnist's default loss."
            )
        given = _scikeras.loss_name(compile_kwargs["loss"]) if compile_kwargs["loss"] is not None else None
        if given is not None and _scikeras.loss_name(model.loss) not in (None, given):
            raise ValueError(
                f"loss={self.loss!r}, but the model function compiled the network with the loss {model.loss!r}: "
                "compile it with compile_kwargs['loss'], or leave loss=None."
            )
        check_loss_fits(model.loss, units, n_classes)
        _backends.adapt(model)
        self._optimizer_is_ours = model.optimizer is compile_kwargs["optimizer"]
        self._schedule = schedule if self._optimizer_is_ours else None
        model.optimizer.build(model.trainable_variables)

    def _compile(self, steps):
        """Compile ``model_`` with this estimator's optimizer, schedule, loss and metrics.

        A compiled model (unpickled, or loaded from a file) keeps its loss,
        and its optimizer state (step count and moments) is carried over
        when the new optimizer is of the same kind: this is how such a
        network trains further.
        """
        keras = import_keras()
        old = self.model_.optimizer if self.model_.compiled else None
        compile_kwargs, self._schedule = self._compile_kwargs(steps)
        units = self.model_.output_shape[-1]
        loss = compile_kwargs["loss"]
        if loss is None and old is not None:
            loss = self.model_.loss
        if loss is None:
            loss = self._default_loss(units)
        check_loss_fits(loss, units, len(self.classes_))
        _backends.current().prepare(self.model_)
        accuracy = (keras.metrics.BinaryAccuracy(name="accuracy") if units == 1
                    else keras.metrics.SparseCategoricalAccuracy(name="accuracy"))
        metrics = [accuracy, *(m for m in compile_kwargs["metrics"] or [] if m not in ("accuracy", "acc"))]
        self.model_.compile(optimizer=compile_kwargs["optimizer"], loss=loss, metrics=metrics,
                            jit_compile=self._jit_compile(), steps_per_execution=self.steps_per_execution)
        _backends.adapt(self.model_)
        # create the optimizer's variables now, so that TensorFlow traces the training step once
        # (created inside the first trace, they make TensorFlow trace it a second time)
        new = self.model_.optimizer
        new.build(self.model_.trainable_variables)
        if old is not None and type(old) is type(new) and len(old.variables) == len(new.variables):
            for target, value in zip(new.variables, old.variables):
                target.assign(value)
        self._optimizer_is_ours = True

    def _jit_compile(self):
        """``jit_compile`` resolved: "auto" is the backend's choice (XLA on JAX only)."""
        return _backends.current().JIT_COMPILE if self.jit_compile == "auto" else self.jit_compile

    def _plan(self, X, seed, steps, compute_dtype, continuing, replan=True):
        """Build the network or prepare the fitted one to train ``steps`` more steps; return the first step.

        ``replan=False`` (a continued :meth:`fit_until`) keeps the schedule where the earlier call left it.
        """
        if not continuing:
            self._build(X, seed, steps, compute_dtype)
        elif self._optimizer_is_ours and not hasattr(self, "_schedule"):  # unpickled: reach the schedule again
            self._compile(steps)  # (a new schedule of ``steps`` from step 0, where a resumed plan began)
        start = int(self.model_.optimizer.iterations)
        if replan and getattr(self, "_schedule", None) is not None:
            self._schedule.plan(steps, start_step=start, warmup=np.isfinite(steps))
            _backends.current().schedule_changed(self.model_)
        return start

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_schedule", None)  # the schedule inside the pickled model is another object after unpickling
        if "model_" in state:
            # Keras' pickling keeps the weights and the optimizer, not where the random generators of the layers
            # (dropout, augmentation) are: without them a continued fit after unpickling draws other numbers
            state["_seed_states"] = [import_keras().ops.convert_to_numpy(v) for v in self._seed_variables()]
        return state

    def __setstate__(self, state):
        seed_states = state.pop("_seed_states", None)
        state = {**self._added_params, **state}  # pickled before a parameter existed: its earlier behaviour
        super().__setstate__(state)
        if "model_" in state:
            self._adapt_model()
        if seed_states is not None:
            variables = self._seed_variables()
            if len(variables) == len(seed_states):
                for variable, value in zip(variables, seed_states):
                    variable.assign(value)

    def _adapt_model(self):
        """Make ``model_``, unpickled or loaded from a file, run on Keras' backend as this estimator compiles it.

        A network the builder compiled itself keeps its own ``jit_compile``.
        """
        ours = getattr(self, "_optimizer_is_ours", True)
        _backends.adapt(self.model_, self._jit_compile() if ours else None)

    def _seed_variables(self):
        """The state variables of the ``keras.random.SeedGenerator`` of the network's layers, in layer order."""
        return [v for v in self.model_.variables if v.name == "seed_generator_state"]

    def _check_probabilities(self, X):
        keras = import_keras()
        out = keras.ops.convert_to_numpy(self.model_(X[: min(len(X), 16)], training=False)).astype(np.float32)
        proba = np.concatenate([1 - out, out], axis=1) if out.shape[1] == 1 else out
        if not (np.all(proba >= -1e-6) and np.allclose(proba.sum(axis=1), 1, atol=1e-3)):
            raise ValueError(
                "The network's outputs are not class probabilities (rows of non-negative values summing to 1): "
                "end it with a softmax over the classes, or for two classes with one sigmoid unit."
            )

    # --------------------------------------------------------------------- fit
    def _fit_seed(self):
        if self.random_state is None:
            return None
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _train(self, X, y, sample_weight, X_val, y_val, *, epochs, continuing, classes, constant_rate,
               stop_at=None, resuming=False):
        # stop_at: stop after this epoch of the ``epochs``-epoch plan; resuming: go on with the plan that an earlier
        # fit_until stopped (continuing, without planning the schedule again)
        compute_dtype = self.compute_dtype_ if continuing else self._resolved_compute_dtype()
        if continuing:
            rows, y = validate_data(self, self._fitted_rows(X), y, reset=False, dtype=np.float32,
                                    ensure_all_finite=True)
            y_enc = self._encode(y)
        else:
            rows, image_shape = split_images(X)
            rows, y = validate_data(self, rows, y, reset=True, dtype=np.float32, ensure_all_finite=True)
            self._set_classes(y, classes)
            y_enc = self._encode(y)
            self.input_shape_ = tuple(self._input_shape(rows.shape[1], image_shape))
        X = self._network_input(rows)
        sample_weight = self._sample_weight(sample_weight, y_enc, partial=constant_rate)
        seed = self._fit_seed()

        validation_data = None
        if X_val is not None or y_val is not None:
            if X_val is None or y_val is None:
                raise ValueError("Validation data needs both X_val and y_val.")
            X_val, y_val = self._network_input(self._validate_X(X_val)), np.asarray(y_val)
            if len(y_val) != len(X_val):
                raise ValueError(f"X_val has {len(X_val)} samples but y_val has {len(y_val)} labels.")
            validation_data = (X_val, self._encode(y_val, "y_val"))
        elif not constant_rate:  # (partial_fit trains on every row of its chunk)
            fraction, name = getattr(self, "validation_split", 0.0), "validation_split"
            if not fraction and self.early_stopping:
                fraction, name = self.validation_fraction, "validation_fraction"
            if fraction:
                X, y_enc, sample_weight, validation_data = self._validation_split(
                    X, y_enc, sample_weight, seed, fraction, name)

        # at least MIN_STEPS_PER_EPOCH batches per epoch: on a few dozen samples, a handful of steps is no training
        batch_size = min(self.batch_size, max(1, X.shape[0] // MIN_STEPS_PER_EPOCH))
        steps_per_epoch = int(np.ceil(X.shape[0] / batch_size))
        steps = np.inf if constant_rate else epochs * steps_per_epoch
        if not continuing:
            self.compute_dtype_ = compute_dtype
            self.history_ = {}
            self.n_epochs_ = 0
        self._unfinished_plan = None
        start_step = self._plan(X, seed, steps, compute_dtype, continuing, replan=not resuming)
        if not continuing:
            self._check_probabilities(X)

        order = RowOrder(X.shape[0], seed, first_epoch=self.n_epochs_)
        timer, stopper, callbacks = self._fit_callbacks(steps_per_epoch, start_step, validation_data is not None)
        arrays = (X, y_enc) if sample_weight is None else (X, y_enc, sample_weight)
        if validation_data is not None:
            validation_data = training_dataset(validation_data, self.batch_size)
        history = self.model_.fit(
            training_dataset(arrays, batch_size, order), validation_data=validation_data,
            epochs=epochs if stop_at is None else stop_at - self.n_epochs_,
            callbacks=[order, *callbacks], verbose=self.verbose,
            shuffle=False,  # the input pipeline draws each epoch's order (RowOrder)
        ).history
        self._record(history, timer, stopper)
        return self

    def _fit_callbacks(self, steps_per_epoch, start_step, validating):
        """The timer (a budget with ``max_fit_time``), the early stopper (or None) and every callback of a fit."""
        keras = import_keras()
        if self.max_fit_time is None:
            timer = _callbacks.EpochTimer()
        else:
            timer = _callbacks.TimeBudget(self.max_fit_time, steps_per_epoch, self._schedule, start_step)
        stopper = None
        if self.early_stopping and validating:
            stopper = keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=self.n_iter_no_change, restore_best_weights=True
            )
        # the user's callbacks: fresh copies, so that no state leaks between fits
        users = [copy.deepcopy(cb) for cb in _callback_list(self.callbacks)]
        return timer, stopper, [_callbacks.StopOnNaN(), timer, *([stopper] if stopper else []), *users]

    def _record(self, history, timer, stopper):
        """Add a fit's Keras history to ``history_`` (with cumulative seconds); set the epoch counts."""
        history = {key: [float(v) for v in values] for key, values in history.items()}
        if not history.get("loss") or not np.all(np.isfinite(history["loss"])):
            raise TrainingError(
                f"{type(self).__name__}: training diverged, the loss became NaN or infinite at epoch "
                f"{self.n_epochs_ + len(history.get('loss', []))}. Lower learning_rate or check the input scaling."
            )
        done = len(history["loss"])
        offset = self.history_["time"][-1] if self.history_.get("time") else 0.0
        history["time"] = [offset + s for s in timer.cumulative_seconds[:done]]
        for key, values in history.items():
            self.history_.setdefault(key, []).extend(values)
        first, self.n_epochs_ = self.n_epochs_, self.n_epochs_ + done
        restored = stopper is not None and stopper.best_weights is not None
        self.best_epoch_ = first + int(stopper.best_epoch) + 1 if restored else self.n_epochs_
        self.n_trainable_params_ = int(sum(int(np.prod(w.shape)) for w in self.model_.trainable_weights))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None):
        """Train the network: a new one, or with ``warm_start`` the fitted one further.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image batch
            Training data: rows, or channels-last images ``(n_samples,
            height, width[, channels])``.  Any numeric dtype; used as
            float32.
        y : array-like of shape (n_samples,)
            Class labels (any type scikit-learn accepts: ints, strings, ...).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss (multiplied by ``class_weight``'s).
        X_val : array-like, default=None
            Validation data, shaped as ``X``: its loss and accuracy are
            recorded every epoch (``history_``) and, with
            ``early_stopping``, monitored instead of a hold-out of ``X``.
            In a pipeline, pass it with metadata routing so that the steps
            before the classifier transform it too (see
            :func:`~skfmnist.make_model_pipeline`).
        y_val : array-like, default=None
            Labels of ``X_val``.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        continuing = self.warm_start and hasattr(self, "model_")
        return self._train(X, y, sample_weight, X_val, y_val, epochs=self.epochs, continuing=continuing,
                           classes=None, constant_rate=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_until(self, X, y, epoch, sample_weight=None):
        """Train ``fit``'s training up to ``epoch``; called again, go on with it.

        The first call starts the training of :meth:`fit` (its ``epochs``
        epochs: the learning-rate schedule planned over all of them, the
        rows in the same orders) and stops after ``epoch`` epochs.  A later
        call on the same data with the same ``epochs`` goes on from there to
        its ``epoch``, so that ``fit_until(X, y, 4)`` then
        ``fit_until(X, y, epochs)`` trains exactly the network that
        ``fit(X, y)`` trains.  Successive halving with continued fits
        (:class:`~skfmnist.model_selection.HalvingEpochsSearchCV`) scores
        candidates part-way and trains only the survivors further; Keras'
        ``Model.fit(initial_epoch=...)`` resumes training the same way.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image batch
            Training data, as in ``fit``: the same on every call of one
            training.
        y : array-like of shape (n_samples,)
            Its labels.
        epoch : int
            Stop after this epoch, from 1 to ``epochs``.  A call whose
            ``epoch`` is not beyond the epochs already trained, or whose data
            size or ``epochs`` changed, starts a new training.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, as in ``fit``.

        Returns
        -------
        self : object
        """
        if isinstance(epoch, bool) or not isinstance(epoch, Integral) or not 1 <= epoch <= self.epochs:
            raise ValueError(f"epoch must be an integer from 1 to epochs={self.epochs}, got {epoch!r}.")
        for name, value, why in (("max_fit_time", self.max_fit_time is not None, "plans the schedule over the "
                                  "epochs that fit in the time"),
                                 ("early_stopping", self.early_stopping, "ends a training at its best epoch")):
            if value:
                raise ValueError(f"fit_until trains a fixed number of epochs, and {name} {why}: set {name} off.")
        plan = (self.epochs, X.shape[0] if hasattr(X, "shape") else len(X))
        resuming = (hasattr(self, "model_") and getattr(self, "_unfinished_plan", None) == plan
                    and self.n_epochs_ < epoch)
        self._train(X, y, sample_weight, None, None, epochs=self.epochs, continuing=resuming, classes=None,
                    constant_rate=False, stop_at=int(epoch), resuming=resuming)
        self._unfinished_plan = plan if self.n_epochs_ < self.epochs else None
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch on a chunk of data, continuing from the weights so far.

        For data that does not fit in memory at once, as
        :meth:`sklearn.neural_network.MLPClassifier.partial_fit`.  The
        learning rate is constant (``learning_rate``): a schedule needs the
        number of steps of the whole training, which incremental training
        does not know.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image batch
            A chunk of training data.
        y : array-like of shape (n_samples,)
            Its labels.
        classes : array-like of shape (n_classes,), default=None
            Every class of the problem: required on the first call (a chunk
            may lack some), ignored afterwards.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.

        Returns
        -------
        self : object
        """
        continuing = hasattr(self, "model_")
        if not continuing and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if continuing and classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise ValueError(
                f"classes={np.unique(np.asarray(classes)).tolist()!r} is not the same as on the first call to "
                f"partial_fit ({self.classes_.tolist()!r})."
            )
        if getattr(self, "validation_split", 0.0):
            raise ValueError(
                "validation_split holds out part of the data of a fit; partial_fit trains on every row of its "
                "chunk. Evaluate on chunks you keep apart, or train with fit."
            )
        return self._train(X, y, sample_weight, None, None, epochs=1, continuing=continuing, classes=classes,
                           constant_rate=True)

    # ------------------------------------------------------------------ predict
    def _network_proba(self, X):
        """The network's class probabilities for network input ``X``, batch by batch."""
        n_classes = len(self.classes_)
        proba = np.empty((X.shape[0], n_classes), dtype=np.float32)
        for start in range(0, X.shape[0], PREDICT_BATCH_SIZE):
            proba[start : start + PREDICT_BATCH_SIZE] = self._predict_batch(X[start : start + PREDICT_BATCH_SIZE])
        return proba

    def _predict_batch(self, batch):
        # the compiled predict function on one batch: the batches of model.predict without its per-call input
        # pipeline and its copy of the whole input
        n = len(batch)
        padding = -n % PREDICT_ROW_MULTIPLE
        if padding:
            batch = np.concatenate([batch, np.zeros((padding, *batch.shape[1:]), batch.dtype)])
        out = np.asarray(self.model_.predict_on_batch(batch), dtype=np.float32)[:n]
        return np.concatenate([1 - out, out], axis=1) if out.shape[1] == 1 else out

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
        proba = self._network_proba(self._network_input(self._validate_X(X))).astype(np.float64)
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

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

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.classifier_tags.multi_label = False
        return tags
