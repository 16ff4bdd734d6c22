"""Everything that touches scikeras' contract, in one place: calling a scikeras-style builder.

A builder written for scikeras' ``KerasClassifier(model=build_fn, ...)``
receives ``meta``, ``compile_kwargs`` and ``params`` when its signature asks
for them (or takes ``**kwargs``), and its own parameters from the
``model__<name>`` and bare keyword arguments of the estimator, with
``model__<name>`` winning over a bare ``<name>``.  :func:`build_network` calls
it exactly so, with values that describe the skfmnist estimator that calls
it: ``meta`` holds the keys scikeras fills for a single-output classifier,
``params`` is the estimator's ``get_params()``.  :data:`SCIKERAS_ONLY` names
the scikeras parameters that skfmnist does not take, each with the skfmnist
way, and :func:`loss_name` is scikeras' own name of a loss.

scikeras 0.13 is no longer maintained upstream and declares its scikit-learn
tags the old way on scikit-learn >= 1.6 (``is_classifier`` is False, the
mixin order is wrong), validates data its own way, passes its own parameters
as a builder's ``params`` and leaves TensorFlow's op-determinism switch on
after a seeded fit.  skfmnist's estimators therefore neither subclass nor
call its estimator; only :func:`loss_name` comes from it.  To replace
scikeras, only this module changes.
"""

# SPDX-License-Identifier: MIT

import inspect

import numpy as np
from scikeras.utils import loss_name as _scikeras_loss_name

__all__ = ["SCIKERAS_ONLY", "build_network", "builder_arguments", "loss_name", "model_params"]

#: scikeras parameters that skfmnist's KerasClassifier does not take: name -> what to use instead.
SCIKERAS_ONLY = {
    "build_fn": "pass the builder as model= (build_fn is scikeras' deprecated name for it)",
    "shuffle": "skfmnist shuffles the rows every epoch, in an order drawn from random_state",
    "run_eagerly": "skfmnist always runs the compiled training step; debug the network with keras.Model.fit",
    "validation_batch_size": "validation batches have batch_size rows",
    "initial_epoch": "use warm_start=True (or partial_fit) to train a fitted network further",
    "validation_steps": "the whole validation set is evaluated every epoch",
    "validation_freq": "the validation set is evaluated every epoch",
    "steps": "prediction covers every sample given",
    "loss_weights": "skfmnist trains single-output networks; weight samples with sample_weight or class_weight",
    "weighted_metrics": "metrics are weighted like the loss when sample_weight or class_weight is given",
}

#: Routing prefixes of scikeras that skfmnist does not take: prefix -> what to use instead.
SCIKERAS_ONLY_PREFIXES = {
    "fit__": "fit options are estimator parameters (epochs, batch_size, validation_split, callbacks, ...)",
    "compile__": "compile options are estimator parameters (optimizer, loss, metrics, jit_compile, ...)",
    "predict__": "prediction options are not needed: prediction is batched and silent",
    "callbacks__": "pass configured callback objects: callbacks=[keras.callbacks.EarlyStopping(patience=3)]",
    "loss__": "pass a configured loss object: loss=keras.losses.BinaryCrossentropy(label_smoothing=0.1)",
    "metrics__": "pass configured metric objects: metrics=[keras.metrics.AUC(name='auc')]",
}


def builder_arguments(model):
    """Names of the keyword arguments ``model`` takes, or None if it takes ``**kwargs``."""
    parameters = inspect.signature(model).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def model_params(kwargs):
    """The builder's own parameters among an estimator's extra keyword arguments, as scikeras routes them.

    Bare names pass as they are; ``model__<name>`` passes as ``<name>`` and
    wins over a bare ``<name>``; deeper routes (``model__a__b``) and other
    prefixes are left out.
    """
    params = {k: v for k, v in kwargs.items() if "__" not in k}
    for key, value in kwargs.items():
        if key.startswith("model__") and "__" not in key[len("model__"):]:
            params[key[len("model__"):]] = value
    return params


def _meta(X, classes, n_features_in, feature_names_in):
    """The ``meta`` dict of a scikeras classifier fitted on network input ``X`` with these classes."""
    classes = np.asarray(classes)
    meta = {
        "classes_": classes,
        "n_classes_": len(classes),
        "target_type_": "binary" if len(classes) == 2 else "multiclass",
        "y_dtype_": classes.dtype,
        "y_ndim_": 1,
        "n_outputs_": 1,
        "n_outputs_expected_": 1,
        "X_dtype_": X.dtype,
        "X_shape_": tuple(X.shape),
        "n_features_in_": int(n_features_in),
    }
    if feature_names_in is not None:
        meta["feature_names_in_"] = feature_names_in
    return meta


def build_network(model, X, *, classes, n_features_in, feature_names_in=None, params, compile_kwargs,
                  estimator_params):
    """Call a scikeras-style builder as scikeras does and return its network.

    Parameters
    ----------
    model : callable
        The builder.
    X : ndarray
        The training input, shaped as the network takes it: ``meta``'s
        ``X_shape_`` and ``X_dtype_``.
    classes : ndarray
        The estimator's ``classes_`` (``meta``'s ``classes_``,
        ``n_classes_``, ``target_type_`` and ``y_dtype_``).
    n_features_in : int
        The estimator's ``n_features_in_``.
    feature_names_in : ndarray, default=None
        The estimator's ``feature_names_in_``, where it has them.
    params : dict
        The builder's own parameters (:func:`model_params`).
    compile_kwargs : dict
        ``optimizer``, ``loss`` and ``metrics``: what a builder that asks for
        ``compile_kwargs`` gets.
    estimator_params : dict
        The estimator's ``get_params()``: what a builder that asks for
        ``params`` gets.

    Returns
    -------
    model : keras.Model
        As the builder returned it (compiled or not).
    """
    arguments = builder_arguments(model)
    name = getattr(model, "__name__", repr(model))
    if arguments is not None:
        unknown = sorted(set(params) - arguments)
        if unknown:
            raise ValueError(
                f"The model function {name!r} takes no argument(s) {', '.join(map(repr, unknown))}, given as "
                f"model__<name> parameters; it takes {sorted(arguments)}."
            )
    kwargs = dict(params)
    extras = {"meta": lambda: _meta(X, classes, n_features_in, feature_names_in),
              "compile_kwargs": lambda: compile_kwargs, "params": lambda: estimator_params}
    for key, value in extras.items():
        if arguments is None or key in arguments:
            kwargs[key] = value()
    return model(**kwargs)


def loss_name(loss):
    """scikeras' snake-case name of a loss (``"binary_crossentropy"``), or None for losses it cannot name."""
    try:
        return _scikeras_loss_name(loss)
    except (TypeError, ValueError):
        return None
