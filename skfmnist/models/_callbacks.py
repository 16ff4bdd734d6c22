"""Keras callbacks used by the estimators."""

# SPDX-License-Identifier: MIT

import time

from ..utils._tf import import_keras

keras = import_keras()

__all__ = ["EpochTimer"]


class EpochTimer(keras.callbacks.Callback):
    """Record the cumulative training seconds at the end of each epoch.

    Attributes
    ----------
    cumulative_seconds : list of float
        Seconds from the start of training to the end of each epoch.
    """

    def on_train_begin(self, logs=None):
        self.cumulative_seconds = []
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.cumulative_seconds.append(time.perf_counter() - self._start)
