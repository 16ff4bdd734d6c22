"""Keras callbacks used by the estimators."""

# SPDX-License-Identifier: MIT

import math
import time

from ..utils._progress import Progress
from ..utils._tf import import_keras

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


class TimeBudget(EpochTimer):
    """Fit the training into ``max_seconds``, re-planning the learning-rate schedule.

    An :class:`EpochTimer` that also acts on its times: after every epoch it
    estimates how many more epochs fit into what is left of the budget, from
    the slowest of the last three epochs (the first epoch only while it is
    the only one: it also builds the training function), and plans the
    training to end after that many, never beyond ``epochs``.  If the
    optimizer's schedule is a
    :class:`~skfmnist.models._builders.ReplannableCosineDecay` (or its
    one-cycle subclass), its length is
    set to the planned epochs, so that the learning rate still decays to zero
    at the planned end; the plan is revised (shorter or longer) after every
    epoch.  Training stops once the planned epochs have run.  At least one
    epoch always runs.

    Parameters
    ----------
    max_seconds : float
        Training-time budget, from the start of the first epoch.
    steps_per_epoch : int
        Optimizer steps per epoch.

    Attributes
    ----------
    cumulative_seconds : list of float
        Seconds from the start of training to the end of each epoch.
    planned_epochs : int
        The plan after the last epoch run.
    """

    def __init__(self, max_seconds, steps_per_epoch):
        super().__init__()
        self.max_seconds = max_seconds
        self.steps_per_epoch = steps_per_epoch

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.planned_epochs = self.params["epochs"]

    def _schedule(self):
        # Keras 3 keeps a schedule passed as learning_rate in _learning_rate
        # (its public learning_rate is the current rate)
        schedule = getattr(self.model.optimizer, "_learning_rate", None)
        return schedule if hasattr(schedule, "set_total_steps") else None

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        ends = self.cumulative_seconds
        durations = [b - a for a, b in zip([0.0] + ends[:-1], ends)]
        done = epoch + 1
        per_epoch = max(max((durations[1:] or durations)[-3:]), 1e-9)  # a coarse clock can read 0
        fits = done + max(int((self.max_seconds - ends[-1]) // per_epoch), 0)
        plan = max(done, min(self.params["epochs"], fits))
        if plan != self.planned_epochs:
            schedule = self._schedule()
            if schedule is not None:
                schedule.set_total_steps(plan * self.steps_per_epoch)
            self.planned_epochs = plan
        if done >= plan and done < self.params["epochs"]:
            self.model.stop_training = True
