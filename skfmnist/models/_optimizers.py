"""Adam and AdamW whose update runs as one fused TensorFlow kernel per variable.

Keras 3 writes Adam's update as about fifteen separate operations per
variable (square, subtract, multiply, divide, square root, three
assignments...).  In a TensorFlow graph each is its own kernel, with its own
pass over the variable and its own scheduling cost; in the TensorFlow
profiler's view of the dense network's training step they were a large
share of the CPU time, next to the matrix multiplies and the dropout.  TensorFlow has
had a fused kernel for exactly this update since version 1
(``ResourceApplyAdam``: one multithreaded pass over the variable, and an XLA
lowering for ``jit_compile``).  :class:`FusedAdam` and :class:`FusedAdamW` are
Keras' own optimizers, with the same parameters, configuration and state
(moments, step counter), that hand each dense update to that kernel.  The
arithmetic is Keras' formula term for term::

    alpha = lr * sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    m += (g - m) * (1 - beta_1)
    v += (g * g - v) * (1 - beta_2)
    var -= m * alpha / (sqrt(v) + epsilon)

so results agree with Keras' Adam to float32 rounding (tested).  AdamW's
decoupled weight decay is applied by Keras before the update, as in
:class:`keras.optimizers.AdamW`.  Where the kernel does not apply (AMSGrad,
sparse gradients, a variable without a TensorFlow resource handle, another
Keras backend) the update falls back to Keras' own code.
"""

# SPDX-License-Identifier: MIT

from ..utils._tf import import_keras

keras = import_keras()

__all__ = ["FusedAdam", "FusedAdamW"]


def _fused_update(optimizer, gradient, variable, learning_rate):
    """Run Adam's update of ``variable`` as ``ResourceApplyAdam``; False where it does not apply."""
    import tensorflow as tf

    if (
        keras.backend.backend() != "tensorflow"
        or optimizer.amsgrad
        or isinstance(gradient, tf.IndexedSlices)
        or not hasattr(variable, "handle")
        or not variable.dtype.is_floating
    ):
        return False
    dtype = variable.dtype
    index = optimizer._get_variable_index(variable)
    m = optimizer._momentums[index]
    v = optimizer._velocities[index]
    step = tf.cast(optimizer.iterations + 1, dtype)
    beta_1 = tf.cast(optimizer.beta_1, dtype)
    beta_2 = tf.cast(optimizer.beta_2, dtype)
    tf.raw_ops.ResourceApplyAdam(
        var=variable.handle,
        m=m.handle,
        v=v.handle,
        beta1_power=tf.pow(beta_1, step),
        beta2_power=tf.pow(beta_2, step),
        lr=tf.cast(learning_rate, dtype),
        beta1=beta_1,
        beta2=beta_2,
        epsilon=tf.cast(optimizer.epsilon, dtype),
        grad=tf.cast(gradient, dtype),
        use_locking=False,
        use_nesterov=False,
    )
    return True


class _FusedAdamUpdate:
    """``update_step`` of Adam and AdamW, fused where the kernel applies, Keras' otherwise."""

    def update_step(self, gradient, variable, learning_rate):
        """Update ``variable`` with ``gradient``."""
        if not _fused_update(self, gradient, variable, learning_rate):
            super().update_step(gradient, variable, learning_rate)


@keras.saving.register_keras_serializable(package="skfmnist")
class FusedAdam(_FusedAdamUpdate, keras.optimizers.Adam):
    """:class:`keras.optimizers.Adam` with TensorFlow's fused update kernel.

    Same parameters, state and results as Keras' Adam (see the module
    docstring); each dense update is one ``ResourceApplyAdam`` kernel
    instead of about fifteen separate operations.

    Parameters
    ----------
    **kwargs : dict
        The parameters of :class:`keras.optimizers.Adam`.
    """


@keras.saving.register_keras_serializable(package="skfmnist")
class FusedAdamW(_FusedAdamUpdate, keras.optimizers.AdamW):
    """:class:`keras.optimizers.AdamW` with TensorFlow's fused Adam kernel.

    Keras applies the decoupled weight decay before the update, as in
    :class:`keras.optimizers.AdamW`; the Adam update itself is one
    ``ResourceApplyAdam`` kernel per variable.

    Parameters
    ----------
    **kwargs : dict
        The parameters of :class:`keras.optimizers.AdamW`.
    """
