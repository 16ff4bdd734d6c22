"""The input of ``keras.Model.fit``: the order of the rows, and the batches of the backend's input path.

The order of the rows is drawn by :class:`RowOrder` at the start of every
epoch from the fit's own NumPy generator, so that it depends on the
estimator's ``random_state`` only (not on a backend's global seed), and is
the same on every backend.  :func:`training_dataset` batches the arrays in
that order on the backend's input path (:mod:`skfmnist._backends`):
TensorFlow's own ``tf.data`` pipeline, Keras' ``PyDataset`` elsewhere.
"""

# SPDX-License-Identifier: MIT

import numpy as np

from .. import _backends
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
    permutation : ndarray of shape (n_rows,)
        The current epoch's permutation, read by the input path.
    """

    def __init__(self, n_rows, seed, first_epoch=0):
        super().__init__()
        self.seed = seed
        self.first_epoch = first_epoch
        self.permutation = np.arange(n_rows, dtype=np.int64)
        self._watchers = []

    def watch(self, assign):
        """Call ``assign(permutation)`` with every new permutation (a backend's copy of it)."""
        self._watchers.append(assign)

    def on_epoch_begin(self, epoch, logs=None):
        seed = None if self.seed is None else [self.seed, self.first_epoch + epoch]
        self.permutation = np.random.default_rng(seed).permutation(len(self.permutation))
        for assign in self._watchers:
            assign(self.permutation)


def training_dataset(arrays, batch_size, order=None):
    """Batches of ``arrays`` for ``Model.fit``, on the backend's input path.

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
    dataset : tf.data.Dataset or keras.utils.PyDataset
        Yields tuples shaped like ``arrays`` with ``batch_size`` rows (fewer
        in the last batch).
    """
    return _backends.current().training_data(arrays, batch_size, order)
