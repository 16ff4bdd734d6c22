"""The input pipeline that feeds arrays to ``keras.Model.fit``: replaces Keras' own for NumPy arrays.

Keras builds its own ``tf.data`` pipeline for NumPy inputs, with autotuned
parallel batch gathering and an autotuned prefetch buffer.  On a 2-core
machine that autotuning stalls whole epochs: with the default CNN on the
60,000 training images, about half of the epochs took nearly twice as long
with the same CPU seconds spent and the cores idle for the difference
(``benchmarks/RESULTS.md``, "Wrapper overhead against plain Keras": a fit on
this pipeline against Keras' ``model.fit`` on the arrays).
:func:`training_dataset` is the same vectorised design as Keras' (batch the
row indices, gather each batch from one in-memory copy of the data) with a
fixed, one-batch prefetch and autotuning off.

The order of the rows is drawn by :class:`RowOrder` at the start of every
epoch from the fit's own NumPy generator, so that it depends on the
estimator's ``random_state`` only (not on TensorFlow's global seed).
"""

# SPDX-License-Identifier: MIT

import numpy as np

from ..utils._keras import import_keras

keras = import_keras()

__all__ = ["RowOrder", "training_dataset"]


class RowOrder(keras.callbacks.Callback):
    """The order in which an epoch visits the training rows: a new permutation every epoch.

    Parameters
    ----------
    n_rows : int
        Number of training rows.
    seed : int or None
        Seeds the permutations (None: fresh entropy every epoch).
    first_epoch : int, default=0
        Epochs the estimator trained before this fit (``warm_start``,
        ``partial_fit``): the permutations continue where they left off.

    Attributes
    ----------
    order : tf.Variable
        The current epoch's permutation, read by :func:`training_dataset`.
    """

    def __init__(self, n_rows, seed, first_epoch=0):
        import tensorflow as tf

        super().__init__()
        self.seed = seed
        self.first_epoch = first_epoch
        self.order = tf.Variable(np.arange(n_rows, dtype=np.int64), trainable=False, name="row_order")

    def on_epoch_begin(self, epoch, logs=None):
        seed = None if self.seed is None else [self.seed, self.first_epoch + epoch]
        self.order.assign(np.random.default_rng(seed).permutation(int(self.order.shape[0])))


def training_dataset(arrays, batch_size, order=None):
    """A ``tf.data.Dataset`` of batches of ``arrays`` for ``Model.fit``.

    Parameters
    ----------
    arrays : tuple of ndarray
        ``(X, y)`` or ``(X, y, sample_weight)``, all with the same first
        dimension.  Nothing is cast.
    batch_size : int
        Rows per batch; the last batch holds the remainder, as in Keras.
    order : RowOrder, default=None
        Visit the rows in ``order``'s current permutation; None visits them
        in their order.

    Returns
    -------
    dataset : tf.data.Dataset
        Yields tuples of tensors shaped like ``arrays`` with ``batch_size``
        rows (fewer in the last batch).
    """
    import tensorflow as tf

    n_rows = int(arrays[0].shape[0])
    # One tensor per array, handed to the pipeline as a repeated element
    # rather than captured by the map function (a captured constant would be
    # copied into the dataset's graph).
    tensors = tuple(tf.convert_to_tensor(a) for a in arrays)
    indices = tf.data.Dataset.range(n_rows).batch(batch_size)
    if order is not None:
        permutation = order.order
        indices = indices.map(lambda i: tf.gather(permutation, i))
    dataset = tf.data.Dataset.zip((indices, tf.data.Dataset.from_tensors(tensors).repeat()))
    dataset = dataset.map(lambda i, data: tuple(tf.gather(t, i) for t in data))
    options = tf.data.Options()
    options.autotune.enabled = False
    # Keras disables the static rewrites too: they only cost graph
    # serialisation for a pipeline this simple.
    options.experimental_optimization.apply_default_optimizations = False
    return dataset.prefetch(1).with_options(options)
