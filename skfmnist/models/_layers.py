"""Batch normalization on TensorFlow's fused kernel: replaces :class:`keras.layers.BatchNormalization` there.

Keras 3 writes batch normalization as separate operations: the batch moments
(a mean, a squared difference, another mean), then a reciprocal square root,
multiplies and adds, each with its own gradient, every one a pass over the
whole activation tensor, and for bfloat16 inputs a cast to float32 and back
around them.  For the small convolutional networks of the presets those
memory-bound passes cost more than the convolutions.  TensorFlow has one
kernel for the whole normalization (``FusedBatchNormV3`` and its gradient,
which its oneDNN build runs as a single primitive, bfloat16 included, with
the statistics in float32;
:func:`skfmnist._backends._tensorflow.fused_batch_norm`).  Side by side on
full-data fits of the default CNN pipeline, Keras' layer made the fit about
twice as long (``benchmarks/RESULTS.md``, "Custom parts against stock
Keras").

:class:`FusedBatchNormalization` is Keras' layer, with the same parameters,
variables and configuration, handing the normalization to that kernel
(``tf.compat.v1.nn.fused_batch_norm``) on the TensorFlow backend.  The
moving statistics are updated as
Keras updates them (``moving = moving * momentum + batch * (1 - momentum)``,
with the *biased* batch variance; the kernel returns the unbiased one, which
is rescaled by ``(n - 1) / n``), so outputs, gradients and moving statistics
agree with Keras' layer to float32 rounding (tested).  Where the kernel does
not apply (an axis other than the last, a mask, renormalization,
synchronized statistics, no centre or scale, inputs of rank other than 2 or
4, float16), and on the JAX and PyTorch backends, the layer runs Keras' own
code.
"""

# SPDX-License-Identifier: MIT

from .. import _backends
from ..utils._keras import import_keras

keras = import_keras()

__all__ = ["FusedBatchNormalization"]


@keras.saving.register_keras_serializable(package="skfmnist")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """:class:`keras.layers.BatchNormalization` run by TensorFlow's fused kernel.

    Same parameters, variables and results as Keras' layer (see the module
    docstring for where it falls back to Keras' code).
    """

    def _fused_applies(self, inputs, mask):
        # (Keras has had renormalization since 3.13)
        if mask is not None or getattr(self, "renorm", False) or self.synchronized or not (self.center and self.scale):
            return False
        rank = len(inputs.shape)
        if rank not in (2, 4) or self.axis not in (-1, rank - 1):
            return False
        return keras.backend.standardize_dtype(inputs.dtype) in ("float32", "bfloat16")

    def call(self, inputs, training=None, mask=None):
        fused = _backends.current().FUSED_BATCH_NORM
        if fused is None or not self._fused_applies(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        if training and self.trainable:
            y, mean, variance = fused(inputs, self.gamma, self.beta, self.epsilon, training=True)
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        else:
            y, _, _ = fused(inputs, self.gamma, self.beta, self.epsilon, training=False,
                            mean=self.moving_mean, variance=self.moving_variance)
        return keras.ops.cast(y, self.compute_dtype)
