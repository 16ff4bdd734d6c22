"""Everything that touches scikeras, in one place: building a network from a scikeras-style builder.

A builder written for scikeras' ``KerasClassifier(model=build_fn, ...)``
receives ``meta`` (``n_classes_``, ``X_shape_``, ``n_features_in_``, ...),
``compile_kwargs`` and ``params`` when its signature asks for them, and its
own parameters from the ``model__<name>`` and bare keyword arguments of the
estimator.  :func:`build_network` hands the builder to scikeras, which calls
it exactly so; nothing else of scikeras is used.

scikeras 0.13 is no longer maintained upstream and declares its scikit-learn
tags the old way on scikit-learn >= 1.6 (``is_classifier`` is False, the
mixin order is wrong), validates data its own way and leaves TensorFlow's
op-determinism switch on after a seeded fit.  skfmnist's estimators therefore
do not subclass or wrap its estimator: they validate, encode, seed, train and
predict themselves, and use scikeras for this one call.  To replace scikeras,
only this module changes.
"""

# SPDX-License-Identifier: MIT

import functools
import inspect

import numpy as np
from scikeras.wrappers import KerasClassifier as _ScikerasClassifier
from sklearn import config_context

__all__ = ["build_network", "builder_arguments"]


def builder_arguments(model):
    """Names of the keyword arguments ``model`` takes, or None if it takes ``**kwargs``."""
    parameters = inspect.signature(model).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def build_network(model, X, n_classes, *, params, compile_kwargs):
    """Call a scikeras-style builder through scikeras and return its network.

    Parameters
    ----------
    model : callable
        The builder.
    X : ndarray
        The training input, shaped as the network takes it (``meta``'s
        ``X_shape_``, ``n_features_in_`` and ``X_dtype_`` come from it).
    n_classes : int
        Number of classes (``meta["n_classes_"]``).
    params : dict
        The builder's parameters: bare names and ``model__<name>`` routed
        ones, as scikeras takes them.
    compile_kwargs : dict
        ``optimizer``, ``loss`` and ``metrics`` objects: what a builder that
        asks for ``compile_kwargs`` gets.

    Returns
    -------
    model : keras.Model
        As the builder returned it (compiled or not).
    """
    if not (inspect.isfunction(model) or isinstance(model, functools.partial)):
        model = functools.partial(model)  # scikeras takes functions and partials
    wrapper = _ScikerasClassifier(model=model, random_state=None, verbose=0, **compile_kwargs, **params)
    # meta describes the classes through the targets scikeras sees: one label of every class, repeated
    # to X's length (the estimator has encoded the real targets; a chunk of partial_fit may lack classes)
    y = np.resize(np.arange(n_classes), X.shape[0])
    with config_context(assume_finite=True):  # the estimator checked X already
        wrapper.initialize(X, y)
    return wrapper.model_
