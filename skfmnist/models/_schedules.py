"""The learning-rate schedules of the estimators: cosine decay and one cycle, re-plannable.

Keras' :class:`keras.optimizers.schedules.CosineDecay` fixes its length when it
is created.  An estimator needs to change it during training: ``max_fit_time``
shortens the schedule to the epochs that fit into the budget, ``warm_start``
starts a new cycle over the epochs of the next ``fit``, and ``partial_fit``
trains at the constant peak rate.  :class:`CosineSchedule` keeps its start,
warm-up and length in variables that the compiled training step reads, and
:meth:`CosineSchedule.plan` changes them between epochs.
"""

# SPDX-License-Identifier: MIT

import math

from ..utils._keras import import_keras

keras = import_keras()
ops = keras.ops

__all__ = ["CosineSchedule"]


@keras.saving.register_keras_serializable(package="skfmnist")
class CosineSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Optional linear warm-up, then a half cosine from the peak rate to zero.

    With ``warmup_fraction=0`` the rates are those of Keras' ``CosineDecay``;
    with ``warmup_fraction=0.3`` and ``initial_divisor=25`` it is the
    learning-rate half of Smith's one-cycle policy with the defaults of
    PyTorch's ``OneCycleLR`` (a linear rise from ``peak / 25`` over the
    first 30% of the steps, then cosine annealing; the momentum is not
    cycled).  After the planned steps the rate stays at zero.

    Parameters
    ----------
    peak_learning_rate : float
        The highest rate: at the start (no warm-up) or at the end of the
        warm-up.
    total_steps : float
        Length of the schedule, warm-up included, in optimizer steps.
    warmup_fraction : float, default=0.0
        Fraction of the steps spent rising to the peak, in [0, 1).
    initial_divisor : float, default=25.0
        The warm-up starts at ``peak_learning_rate / initial_divisor``.
    start_step : float, default=0.0
        Optimizer step at which the schedule starts.
    name : str, default="cosine_schedule"
        Name of the schedule.
    """

    def __init__(self, peak_learning_rate, total_steps, warmup_fraction=0.0, initial_divisor=25.0, start_step=0.0,
                 name="cosine_schedule"):
        if not 0.0 <= warmup_fraction < 1.0:
            raise ValueError(f"warmup_fraction must be in [0, 1), got {warmup_fraction!r}.")
        if not initial_divisor >= 1.0:
            raise ValueError(f"initial_divisor must be at least 1, got {initial_divisor!r}.")
        self.peak_learning_rate = float(peak_learning_rate)
        self.warmup_fraction = float(warmup_fraction)
        self.initial_divisor = float(initial_divisor)
        self.name = name
        self._start = keras.Variable(0.0, dtype="float32", trainable=False, name="start_step")
        self._warmup = keras.Variable(0.0, dtype="float32", trainable=False, name="warmup_steps")
        self._decay = keras.Variable(1.0, dtype="float32", trainable=False, name="decay_steps")
        self.plan(total_steps, start_step=start_step)

    def plan(self, total_steps, *, start_step=None, warmup=True):
        """Make the schedule run ``total_steps`` optimizer steps from ``start_step``.

        Parameters
        ----------
        total_steps : float
            Steps of the whole schedule (``math.inf``: the peak rate for ever,
            without warm-up).
        start_step : float, default=None
            Step at which it starts; None keeps the current start.
        warmup : bool, default=True
            Rise to the peak over ``warmup_fraction`` of the steps (False:
            start at the peak).
        """
        if start_step is not None:
            self._start.assign(float(start_step))
        total = max(float(total_steps), 1.0)
        warmup_steps = self.warmup_fraction * total if warmup and math.isfinite(total) else 0.0
        self._warmup.assign(warmup_steps)
        self._decay.assign(max(total - warmup_steps, 1.0))

    @property
    def total_steps(self):
        """Planned length, warm-up included, in optimizer steps."""
        return float(ops.convert_to_numpy(self._warmup)) + float(ops.convert_to_numpy(self._decay))

    def __call__(self, step):
        step = ops.cast(step, "float32") - self._start
        peak = ops.cast(self.peak_learning_rate, "float32")
        low = peak / self.initial_divisor
        rising = low + (peak - low) * step / ops.maximum(self._warmup, 1.0)
        progress = ops.clip((step - self._warmup) / self._decay, 0.0, 1.0)
        falling = peak * 0.5 * (1.0 + ops.cos(math.pi * progress))
        return ops.where(step < self._warmup, rising, falling)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "warmup_fraction": self.warmup_fraction,
            "initial_divisor": self.initial_divisor,
            "start_step": float(ops.convert_to_numpy(self._start)),
            "name": self.name,
        }
