"""Keras callbacks used by the estimators."""

# SPDX-License-Identifier: MIT

import math
import time

from ..utils._progress import Progress
from ..utils._tf import import_keras

keras = import_keras()

__all__ = ["EpochProgress", "EpochTimer", "StopOnNaN"]


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


class EpochProgress(keras.callbacks.Callback):
    """Show one progress step per epoch: a bar in a terminal, a line in a log.

    Safe to pass as a classifier parameter: it holds only its label until
    training starts, so it deep-copies, clones and pickles.

    Parameters
    ----------
    desc : str
        Label of the training run.
    """

    def __init__(self, desc="training"):
        super().__init__()
        self.desc = desc
        self._progress = None

    def on_train_begin(self, logs=None):
        self._progress = Progress(self.params.get("epochs", 0), f"{self.desc} epochs")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        shown = " ".join(
            f"{k}={v:.4f}" for k, v in logs.items() if k in ("loss", "accuracy", "val_loss", "val_accuracy")
        )
        self._progress.update(shown)

    def on_train_end(self, logs=None):
        self._progress.close()
        self._progress = None


class StopOnNaN(keras.callbacks.Callback):
    """Stop training at the end of an epoch whose loss is NaN or infinite.

    Keras' ``TerminateOnNaN`` checks after every batch, which forces a
    device-to-host copy of the loss per step and costs throughput on small
    models; an epoch-level check keeps the training loop asynchronous.  The
    estimator raises :class:`~skfmnist.exceptions.TrainingError` afterwards.
    """

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.model.stop_training = True
