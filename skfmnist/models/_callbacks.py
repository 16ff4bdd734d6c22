"""Keras callbacks of the estimators' fits: timing, a time budget, NaN stop, progress."""

# SPDX-License-Identifier: MIT

import math
import time

from .. import _backends
from ..utils._keras import import_keras
from ..utils._progress import Progress

keras = import_keras()

__all__ = ["EpochProgress", "EpochTimer", "StopOnNaN", "TimeBudget"]


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


class TimeBudget(EpochTimer):
    """Fit the training into ``max_seconds``, re-planning the learning-rate schedule.

    After every epoch it estimates how many more epochs fit into what is
    left of the budget, from the slowest of the last three epochs (the first
    epoch only while it is the only one: it also builds the training
    function), and plans the training to end after that many, never beyond
    ``epochs``.  The ``schedule`` (a
    :class:`~skfmnist.models._schedules.CosineSchedule`, or None for a
    constant rate) is re-planned to end with the planned epochs, so that the
    learning rate still reaches zero at the planned end.  Training stops
    once the planned epochs have run; at least one epoch always runs.

    Parameters
    ----------
    max_seconds : float
        Training-time budget, from the start of the first epoch.
    steps_per_epoch : int
        Optimizer steps per epoch.
    schedule : CosineSchedule or None
        The schedule the optimizer follows.
    start_step : int
        Optimizer step at which this training started.

    Attributes
    ----------
    cumulative_seconds : list of float
        Seconds from the start of training to the end of each epoch.
    planned_epochs : int
        The plan after the last epoch run.
    """

    def __init__(self, max_seconds, steps_per_epoch, schedule, start_step):
        super().__init__()
        self.max_seconds = max_seconds
        self.steps_per_epoch = steps_per_epoch
        self.schedule = schedule
        self.start_step = start_step

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.planned_epochs = self.params["epochs"]

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        ends = self.cumulative_seconds
        durations = [b - a for a, b in zip([0.0] + ends[:-1], ends)]
        done = len(ends)
        per_epoch = max(max((durations[1:] or durations)[-3:]), 1e-9)  # a coarse clock can read 0
        fits = done + max(int((self.max_seconds - ends[-1]) // per_epoch), 0)
        plan = max(done, min(self.params["epochs"], fits))
        if plan != self.planned_epochs:
            if self.schedule is not None:
                self.schedule.plan(plan * self.steps_per_epoch, start_step=self.start_step)
                _backends.current().schedule_changed(self.model)
            self.planned_epochs = plan
        if done >= plan:
            self.model.stop_training = True


class StopOnNaN(keras.callbacks.Callback):
    """Stop training at the end of an epoch whose loss is NaN or infinite.

    Keras' ``TerminateOnNaN`` checks after every batch, which forces a
    device-to-host copy of the loss per step; an epoch-level check keeps the
    training loop asynchronous.  The estimator then raises
    :class:`~skfmnist.exceptions.TrainingError`.
    """

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.model.stop_training = True


class EpochProgress(keras.callbacks.Callback):
    """Show one progress step per epoch: a bar in a terminal, a line in a log.

    Safe to pass as a classifier parameter: it holds only its label until
    training starts, so it deep-copies, clones and pickles.

    Parameters
    ----------
    desc : str, default="training"
        Label of the training run.
    """

    def __init__(self, desc="training"):
        super().__init__()
        self.desc = desc
        self._progress = None

    def on_train_begin(self, logs=None):
        self._progress = Progress(self.params.get("epochs", 0), f"{self.desc} epochs")

    def on_epoch_end(self, epoch, logs=None):
        shown = " ".join(
            f"{k}={v:.4f}" for k, v in (logs or {}).items() if k in ("loss", "accuracy", "val_loss", "val_accuracy")
        )
        self._progress.update(shown)

    def on_train_end(self, logs=None):
        self._progress.close()
        self._progress = None
