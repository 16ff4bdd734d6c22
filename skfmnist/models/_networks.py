"""The presets' networks: plain Keras builders in scikeras' style.

Each ``build_*`` function takes scikeras' ``meta`` dictionary (``X_shape_``,
``n_classes_``) and the preset's architecture parameters, and returns an
uncompiled :class:`keras.Model`; the estimator compiles it.  They are
ordinary user builders for :class:`~skfmnist.KerasClassifier`, and have no
defaults of their own: the presets' parameters are the only defaults.

Every random part (initial weights, dropout, augmentation) is seeded from
``seed`` through a private generator, so that a network built in a process
whose other threads draw from Python's ``random`` module (a Dask worker's
event loop) is the same network.
"""

# SPDX-License-Identifier: MIT

import random

from ..utils._keras import import_keras
from ._layers import FusedBatchNormalization

keras = import_keras()
layers = keras.layers

__all__ = ["build_cnn", "build_deep_cnn", "build_dense"]


class _Seeds:
    """Seeds for the random parts of one network, drawn from ``seed`` (None: from the OS)."""

    def __init__(self, seed):
        self._random = random.Random(seed)

    def __call__(self):
        return self._random.randrange(1, 2**31 - 1)

    def glorot(self):
        return keras.initializers.GlorotUniform(seed=self())


def _output(x, n_classes, seeds):
    """Softmax over the classes, always in float32 (float32 probabilities also in bfloat16 networks)."""
    return layers.Dense(n_classes, activation="softmax", kernel_initializer=seeds.glorot(), dtype="float32",
                        name="proba")(x)


def _augmentation(x, augment, max_shift, horizontal_flip, seeds):
    """Training-only shifts by up to ``max_shift`` and, for mirror-symmetric classes, horizontal flips.

    Only for images of at least 8 x 8 pixels: on smaller inputs (tabular rows,
    seen as images one pixel high) a shift or a mirror image scrambles the
    features.
    """
    height, width = x.shape[1:3]
    if not augment or min(height, width) < 8:
        return x
    if max_shift:
        x = layers.RandomTranslation(max_shift, max_shift, fill_mode="constant", seed=seeds(), dtype="float32",
                                     name="augment_shift")(x)
    if horizontal_flip:
        x = layers.RandomFlip("horizontal", seed=seeds(), dtype="float32", name="augment_flip")(x)
    return x


def _normalized(layer, x, batch_norm, activation="relu"):
    """``layer`` then ``activation``, with batch normalization in between if asked (the layer then has no bias)."""
    if not batch_norm:
        return layer(x)
    x = layer(x)
    x = FusedBatchNormalization(momentum=0.9)(x)
    return layers.Activation(activation)(x)


def _dense(x, units, batch_norm, seeds, activation="relu"):
    layer = layers.Dense(units, activation=None if batch_norm else activation, use_bias=not batch_norm,
                         kernel_initializer=seeds.glorot())
    return _normalized(layer, x, batch_norm, activation)


def _conv(x, filters, kernel_size, batch_norm, seeds):
    layer = layers.Conv2D(filters, kernel_size, padding="same", activation=None if batch_norm else "relu",
                          use_bias=not batch_norm, kernel_initializer=seeds.glorot())
    return _normalized(layer, x, batch_norm)


def _dropout(x, rate, seeds):
    return layers.Dropout(rate, seed=seeds())(x) if rate else x


def build_dense(meta, *, hidden_layer_sizes, activation, dropout, batch_norm, seed):
    """Fully connected network: flatten, hidden layers (with batch norm) and dropout, softmax.

    Parameters
    ----------
    meta : dict
        scikeras' fit metadata: ``X_shape_`` (the shape of the training
        input) and ``n_classes_``.
    hidden_layer_sizes : tuple of int
        Units of each hidden layer.
    activation : str
        Activation of the hidden layers (a Keras activation name).
    dropout : float
        Dropout rate after each hidden layer.
    batch_norm : bool
        Batch normalization between each hidden layer and its activation.
    seed : int or None
        Seeds the initial weights and the dropout.

    Returns
    -------
    model : keras.Model
        Uncompiled.
    """
    seeds = _Seeds(seed)
    inputs = keras.Input(shape=tuple(meta["X_shape_"][1:]), name="pixels")
    x = layers.Flatten()(inputs)
    for units in hidden_layer_sizes:
        x = _dense(x, units, batch_norm, seeds, activation)
        x = _dropout(x, dropout, seeds)
    return keras.Model(inputs, _output(x, meta["n_classes_"], seeds), name="dense")


def build_cnn(meta, *, filters, kernel_size, dense_units, dropout, batch_norm, augment, max_shift, horizontal_flip,
              seed):
    """Small CNN: one convolution and 2 x 2 max-pooling per entry of ``filters``, a dense layer, softmax.

    Parameters
    ----------
    meta : dict
        scikeras' fit metadata: ``X_shape_`` (``(n, height, width,
        channels)``) and ``n_classes_``.
    filters : tuple of int
        Filters of each convolution.
    kernel_size : int
        Side of the square kernels.
    dense_units : int
        Units of the dense layer before the output (0: none).
    dropout : float
        Dropout rate before the output layer.
    batch_norm : bool
        Batch normalization between each convolution (and the dense layer)
        and its ReLU.
    augment : bool
        Random shifts (and mirror images) during training.
    max_shift : float
        Largest shift, as a fraction of the height and width (0: none).
    horizontal_flip : bool
        With ``augment``, also random mirror images.
    seed : int or None
        Seeds the initial weights, the dropout and the augmentation.

    Returns
    -------
    model : keras.Model
        Uncompiled.
    """
    seeds = _Seeds(seed)
    inputs = keras.Input(shape=tuple(meta["X_shape_"][1:]), name="images")
    x = _augmentation(inputs, augment, max_shift, horizontal_flip, seeds)
    for n_filters in filters:
        x = _conv(x, n_filters, kernel_size, batch_norm, seeds)
        x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Flatten()(x)
    if dense_units:
        x = _dense(x, dense_units, batch_norm, seeds)
    x = _dropout(x, dropout, seeds)
    return keras.Model(inputs, _output(x, meta["n_classes_"], seeds), name="cnn")


def build_deep_cnn(meta, *, filters, convs_per_block, kernel_size, dense_units, conv_dropout, dropout, augment,
                   max_shift, horizontal_flip, seed):
    """Deeper CNN: blocks of (convolution, batch norm, ReLU) x k, then pooling and dropout; dense layer, softmax.

    Parameters
    ----------
    meta : dict
        scikeras' fit metadata: ``X_shape_`` (``(n, height, width,
        channels)``) and ``n_classes_``.
    filters : tuple of int
        Filters of the convolutions of each block.
    convs_per_block : tuple of int
        Convolutions of each block (one entry per entry of ``filters``).
    kernel_size : int
        Side of the square kernels.
    dense_units : int
        Units of the dense layer (with batch normalization) before the
        output (0: none).
    conv_dropout : float
        Dropout rate after each block.
    dropout : float
        Dropout rate before the output layer.
    augment : bool
        Random shifts (and mirror images) during training.
    max_shift : float
        Largest shift, as a fraction of the height and width (0: none).
    horizontal_flip : bool
        With ``augment``, also random mirror images.
    seed : int or None
        Seeds the initial weights, the dropout and the augmentation.

    Returns
    -------
    model : keras.Model
        Uncompiled.
    """
    seeds = _Seeds(seed)
    inputs = keras.Input(shape=tuple(meta["X_shape_"][1:]), name="images")
    x = _augmentation(inputs, augment, max_shift, horizontal_flip, seeds)
    for n_filters, n_convs in zip(filters, convs_per_block, strict=True):
        for _ in range(n_convs):
            x = _conv(x, n_filters, kernel_size, True, seeds)
        x = layers.MaxPooling2D(2, padding="same")(x)
        x = _dropout(x, conv_dropout, seeds)
    x = layers.Flatten()(x)
    if dense_units:
        x = _dense(x, dense_units, True, seeds)
    x = _dropout(x, dropout, seeds)
    return keras.Model(inputs, _output(x, meta["n_classes_"], seeds), name="deep_cnn")
