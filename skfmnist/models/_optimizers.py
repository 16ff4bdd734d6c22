"""Adam on TensorFlow's fused update kernel: replaces :class:`keras.optimizers.Adam` and ``AdamW``.

Keras 3 writes Adam's update as about fifteen separate operations per
variable (square, subtract, multiply, divide, square root, three
assignments...), each its own kernel with its own pass over the variable.
TensorFlow has one multithreaded kernel for exactly this update
(``ResourceApplyAdam``).  Side by side on full-data fits of the default CNN
pipeline, Keras' Adam made the fit at least 10% longer
(``benchmarks/RESULTS.md``, "Custom parts against stock Keras").

:class:`FusedAdam` is a Keras optimizer (a subclass of
:class:`keras.optimizers.Optimizer`, as Keras' guide to custom optimizers
writes them) with Adam's parameters and state, whose update step is that
kernel.  The arithmetic is Keras' formula term for term::

    alpha = lr * sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    m += (g - m) * (1 - beta_1)
    v += (g * g - v) * (1 - beta_2)
    var -= m * alpha / (sqrt(v) + epsilon)

so results agree with Keras' Adam to float32 rounding (tested).  A
``weight_decay`` is applied by Keras' base optimizer before the update,
decoupled, exactly as in :class:`keras.optimizers.AdamW`.
"""

# SPDX-License-Identifier: MIT

from ..utils._keras import import_keras

keras = import_keras()

__all__ = ["FusedAdam"]


@keras.saving.register_keras_serializable(package="skfmnist")
class FusedAdam(keras.optimizers.Optimizer):
    """Adam (and, with ``weight_decay``, AdamW) with TensorFlow's fused update kernel.

    Parameters
    ----------
    learning_rate : float or keras.optimizers.schedules.LearningRateSchedule, default=0.001
        Learning rate, or a schedule of it.
    beta_1 : float, default=0.9
        Decay of the first-moment estimates (Keras' default).
    beta_2 : float, default=0.999
        Decay of the second-moment estimates (Keras' default).
    epsilon : float, default=1e-7
        Added to the denominator (Keras' default).
    **kwargs : dict
        The other parameters of :class:`keras.optimizers.Optimizer`
        (``weight_decay``, ``clipnorm``, ``name``, ...).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        kwargs.setdefault("name", "fused_adam")
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        """Create the first and second moment of every variable."""
        if self.built:
            return
        super().build(var_list)
        self._moments = [
            (self.add_variable_from_reference(v, "momentum"), self.add_variable_from_reference(v, "velocity"))
            for v in var_list
        ]
        # update_step receives the TensorFlow variable, named after the Keras variable's path
        self._moment_keys = tuple(v.path for v in var_list)

    def update_step(self, gradient, variable, learning_rate):
        """Update ``variable`` with ``gradient`` in one ``ResourceApplyAdam`` kernel."""
        import tensorflow as tf

        m, v = self._moments[self._moment_keys.index(getattr(variable, "path", None) or variable.name.split(":")[0])]
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=m.handle,
            v=v.handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(tf.convert_to_tensor(gradient), dtype),
            use_locking=False,
            use_nesterov=False,
        )

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
