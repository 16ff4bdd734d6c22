"""Everything that touches scikeras, in one place.

scikeras 0.13 is no longer maintained upstream, and on scikit-learn >= 1.6
its ``KerasClassifier`` declares its tags the old way (``is_classifier`` is
False, the mixin order is wrong), validates data its own way (float32 fit
then float64 predict fails), takes validation data from the last rows
unshuffled, and leaves TensorFlow's op-determinism switch on after a seeded
fit.  Our estimators therefore do not subclass it: each holds one
:class:`scikeras.wrappers.KerasClassifier` built here and drives it with data
that the estimator has already validated, encoded and split: scikeras'
public ``initialize`` builds the network, and ``Model.fit`` trains it on
batches from :mod:`skfmnist.models._input`.  To replace scikeras, only this
module changes.
"""

# SPDX-License-Identifier: MIT

import numpy as np
from scikeras.wrappers import KerasClassifier
from sklearn import config_context

from ._input import as_tensor, training_dataset

__all__ = ["make_wrapper", "fit_wrapper", "predict_proba", "keras_model"]


def make_wrapper(build_fn, *, epochs, batch_size, predict_batch_size, callbacks, verbose, shuffle=True):
    """Create the scikeras estimator that builds and trains one network.

    Parameters
    ----------
    build_fn : callable
        ``build_fn()`` returns a compiled Keras model.
    epochs : int
        Training epochs.
    batch_size : int
        Training batch size.
    predict_batch_size : int
        Batch size for prediction.
    callbacks : list of keras.callbacks.Callback
        Callbacks for ``Model.fit`` (fresh objects for this fit).
    verbose : int
        Keras' training verbosity; prediction is always silent.
    shuffle : bool, default=True
        Shuffle the training data each epoch.

    Returns
    -------
    wrapper : scikeras.wrappers.KerasClassifier
    """
    return KerasClassifier(
        model=build_fn,
        epochs=epochs,
        batch_size=batch_size,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=shuffle,
        random_state=None,  # seeding is scoped by the caller (utils._tf.seeded)
        warm_start=False,
        predict__batch_size=predict_batch_size,
        predict__verbose=0,
    )


def fit_wrapper(wrapper, X, y, *, setup, sample_weight=None, validation_data=None):
    """Train the wrapped network on prepared arrays.

    Parameters
    ----------
    wrapper : scikeras.wrappers.KerasClassifier
        From :func:`make_wrapper`.
    X : ndarray of float32
        Inputs of the network's shape.
    y : ndarray of int
        Labels encoded as ``0 .. n_classes - 1``, every class present.
    setup : context manager
        Entered while the network is built and the input pipelines are
        created, left before training (:func:`skfmnist.utils._tf.fit_setup`:
        one thread at a time, seeded).
    sample_weight : ndarray of float or None
        Per-sample weights.
    validation_data : tuple or None
        ``(X_val, y_val)`` or ``(X_val, y_val, w_val)`` for Keras.

    Returns
    -------
    history : dict of list of float
        Per-epoch metrics as Keras names them (``loss``, ``accuracy``,
        ``val_loss``, ``val_accuracy``).
    """
    # scikeras' public ``initialize`` fits its encoders, builds the network
    # and sets up the callbacks, exactly as its ``fit`` does before training;
    # the training itself is fed through our own input pipeline instead of
    # Keras' autotuned one (see skfmnist.models._input for why).
    # The estimator has checked X for NaN and infinity already: scikeras'
    # check_X_y would pass over the whole matrix again (188 MB for the full
    # training set in float32) for nothing.
    params = wrapper.get_params()
    with setup, config_context(assume_finite=True):
        wrapper.initialize(X, y)
        train = training_dataset(_keras_arrays(X, y, sample_weight), params["batch_size"], shuffle=params["shuffle"])
        if validation_data is not None:
            validation_data = training_dataset(_keras_arrays(*validation_data), params["batch_size"], shuffle=False)
    history = wrapper.model_.fit(
        train,
        validation_data=validation_data,
        epochs=params["epochs"],
        callbacks=list(params["callbacks"] or []),
        verbose=params["verbose"],
        shuffle=False,  # the dataset reshuffles itself every epoch
    ).history
    return {key: [float(v) for v in values] for key, values in history.items()}


def _keras_arrays(X, y, sample_weight=None):
    """``(X, y)`` or ``(X, y, float32 weights)``: Keras computes the loss in float32."""
    if sample_weight is None:
        return X, y
    return X, y, np.asarray(sample_weight, dtype=np.float32)


def predict_proba(wrapper, X, *, average=None):
    """Class probabilities from the wrapped network.

    Parameters
    ----------
    wrapper : scikeras.wrappers.KerasClassifier
        A fitted wrapper.
    X : ndarray of float32
        Inputs of the network's shape.
    average : callable, default=None
        ``average(predict, batch)`` returns the probabilities of a batch
        from ``predict`` (the network on one batch), for example their mean
        over test-time views of the batch
        (:func:`skfmnist.models._test_time.average_views`); applied batch by
        batch, so that no transformed copy of the whole input is made.  None
        predicts each batch once.

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes), float32
    """
    # The network ends in a softmax over all classes, so its output already is
    # the probability matrix; calling the Keras model directly skips scikeras'
    # second validation of data we have validated (and its squeezing of
    # single-sample outputs to 1-D).  Batch by batch through the compiled
    # predict function: the same batches as ``model.predict`` (identical
    # output), without its per-call tf.data pipeline and without its copy of
    # the whole input (measured: 2x faster for the dense network on 10,000
    # images, equal for the CNNs).  Each batch of an aligned array (PixelScaler's
    # output) becomes a tensor without a copy of it (as_tensor; same output).
    model = wrapper.model_
    batch_size = wrapper.get_params()["predict__batch_size"]
    proba = np.empty((X.shape[0], model.output_shape[-1]), dtype=np.float32)
    for start in range(0, X.shape[0], batch_size):
        batch = X[start : start + batch_size]
        if average is None:
            proba[start : start + batch_size] = model.predict_on_batch(as_tensor(batch))
        else:
            proba[start : start + batch_size] = average(model.predict_on_batch, batch)
    return proba


def keras_model(wrapper):
    """The fitted :class:`keras.Model` inside a wrapper."""
    return wrapper.model_


def wrap_fitted_model(model, predict_batch_size):
    """A scikeras wrapper around an already trained Keras model (from a file).

    Parameters
    ----------
    model : keras.Model
        Trained network.
    predict_batch_size : int
        Batch size for prediction.

    Returns
    -------
    wrapper : scikeras.wrappers.KerasClassifier
        Ready for :func:`predict_proba`.
    """
    wrapper = KerasClassifier(model=model, predict__batch_size=predict_batch_size, predict__verbose=0)
    wrapper.model_ = model
    return wrapper
