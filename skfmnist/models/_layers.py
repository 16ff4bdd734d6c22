"""Keras layers with cheaper TensorFlow kernels: batch normalization, dropout.

Batch normalization
-------------------

Keras 3 writes :class:`keras.layers.BatchNormalization` as separate
operations: the batch moments (``tf.nn.moments``: a mean, a squared
difference, another mean), then ``tf.nn.batch_normalization`` (a reciprocal
square root, multiplies and adds), each with its own gradient, every one a
pass over the whole activation tensor, and for bfloat16 inputs a cast to
float32 and back around them.  For the small convolutional networks of this
package those memory-bound passes can cost more than the convolutions
(benchmarks/RESULTS.md, "Fused batch normalization: speed on the Xeon with
AMX": with this layer the deep CNN's bfloat16 epochs took 0.46x the time of
the same network with Keras' layer, side by side).
TensorFlow has had one kernel for the whole
normalization since version 1 (``FusedBatchNormV3`` and its gradient, which
TensorFlow's oneDNN build runs as a single oneDNN primitive, bfloat16
inputs included, with the statistics in float32).

:class:`FusedBatchNormalization` is Keras' layer with the same parameters,
variables, configuration and arithmetic that hands the normalization to that
kernel.  The moving statistics are updated as Keras updates them
(``moving = moving * momentum + batch * (1 - momentum)``, with the *biased*
batch variance; the kernel returns the unbiased one, which is rescaled by
``(n - 1) / n``), so outputs, gradients and moving statistics agree with
Keras' layer to float32 rounding (tested).  Where the kernel does not apply
(another backend, an axis other than the last, a mask, renormalization,
synchronized statistics, inputs of rank other than 2 or 4, float16) the
layer runs Keras' own code.

Dropout
-------
Keras' dropout draws one uniform random number per activation
(``tf.nn.experimental.stateless_dropout``: Philox counter-based random
numbers, converted to floats in the activations' dtype).  In the deep CNN
that drawing was about a tenth of a training step on a 2-core CPU
(TensorFlow profiler, benchmarks/RESULTS.md, "Cheaper dropout masks"),
though a dropout decision needs far fewer random bits than a float: at rate
0.25 one random byte decides it exactly (keep it when the byte is at least
64 of 256).  :class:`MaskBitsDropout` is Keras' layer drawing random
*integers* and spending 8 of their bits per decision where the rate is a
multiple of 1/256 (0.25, 0.5, ...), 16 where it is a multiple of 1/65536,
else all 32 (a drop probability within 2.4e-10 of the rate, closer than
Keras' own float32 uniform draws, and far closer than its bfloat16 ones,
which resolve 1/128: Keras drops 0.40625 of the units at rate 0.4 in
bfloat16).  Each decision is a Bernoulli draw with the layer's rate, kept
activations are scaled by ``1 / (1 - rate)`` as in Keras, and the draws are
reproducible from the layer's seed; only the random stream differs from
Keras' layer, so results agree with it in distribution, not bit for bit.
With a ``noise_shape``, another backend, or at rate 0 or 1 the layer runs
Keras' own code.
"""

# SPDX-License-Identifier: MIT

from ..utils._tf import import_keras

keras = import_keras()
ops = keras.ops

__all__ = ["FusedBatchNormalization", "MaskBitsDropout"]


@keras.saving.register_keras_serializable(package="skfmnist")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """:class:`keras.layers.BatchNormalization` run by TensorFlow's fused kernel.

    Same parameters, variables and results as Keras' layer (see the module
    docstring for where it falls back to Keras' code).
    """

    def _fused_applies(self, inputs, mask):
        if keras.backend.backend() != "tensorflow" or mask is not None:
            return False
        if self.renorm or self.synchronized or not (self.center and self.scale):
            return False
        rank = len(inputs.shape)
        if rank not in (2, 4) or self.axis not in (-1, rank - 1):
            return False
        return keras.backend.standardize_dtype(inputs.dtype) in ("float32", "bfloat16")

    def call(self, inputs, training=None, mask=None):
        if not self._fused_applies(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        x = inputs
        flat = len(x.shape) == 2
        if flat:  # (n, c) as (n, 1, 1, c): the kernel takes NHWC images
            x = tf.reshape(x, (-1, 1, 1, x.shape[-1]))
        gamma = tf.cast(self.gamma, "float32")
        beta = tf.cast(self.beta, "float32")
        if training and self.trainable:
            y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                x, gamma, beta, epsilon=self.epsilon, data_format="NHWC", is_training=True
            )
            # the kernel's batch variance is Bessel-corrected; Keras' moving variance uses the biased one
            n = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), "float32")
            variance = variance * ((n - 1.0) / tf.maximum(n, 1.0))
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        else:
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(
                x,
                gamma,
                beta,
                mean=tf.cast(self.moving_mean, "float32"),
                variance=tf.cast(self.moving_variance, "float32"),
                epsilon=self.epsilon,
                data_format="NHWC",
                is_training=False,
            )
        if flat:
            y = tf.reshape(y, tf.shape(inputs))
        return ops.cast(y, self.compute_dtype)


def _mask_bits(rate):
    """Random bits per dropout decision and the drop threshold on them: the fewest bits that hold ``rate`` exactly."""
    for bits in (8, 16):
        threshold = rate * 2**bits
        if threshold == int(threshold):
            return bits, int(threshold)
    return 32, min(max(round(rate * 2**32), 1), 2**32 - 1)


@keras.saving.register_keras_serializable(package="skfmnist")
class MaskBitsDropout(keras.layers.Dropout):
    """:class:`keras.layers.Dropout` deciding each unit from 8, 16 or 32 random bits.

    Same parameters, configuration and drop probability as Keras' layer, and
    cheaper random numbers: see the module docstring for the bits and where
    the layer falls back to Keras' code.
    """

    def _cheap_applies(self):
        return keras.backend.backend() == "tensorflow" and self.noise_shape is None and 0.0 < self.rate < 1.0

    def call(self, inputs, training=False):
        if not (training and self._cheap_applies()):
            return super().call(inputs, training=training)
        import tensorflow as tf

        bits, threshold = _mask_bits(float(self.rate))
        # the seed generator's state is int64; stateless kernels take int32 (as Keras' own backend does)
        seed = tf.cast(tf.math.floormod(self.seed_generator.next(), 2**31 - 1), "int32")
        shape = tf.shape(inputs)
        n = tf.reduce_prod(shape)
        per_word = 32 // bits
        words = tf.random.stateless_uniform(
            [(n + per_word - 1) // per_word], seed=seed, minval=None, maxval=None, dtype="uint32"
        )
        if bits < 32:
            words = tf.reshape(tf.bitcast(words, "uint8" if bits == 8 else "uint16"), [-1])[:n]
        keep = tf.reshape(words >= tf.constant(threshold, words.dtype), shape)
        # one multiply by a mask holding the scale or 0, forward and backward (the same values as
        # where(keep, inputs * scale, 0) and its gradient, with fewer passes over the activations);
        # a multiply as in Keras' own dropout, so a non-finite input stays non-finite where dropped
        mask = tf.where(keep, tf.constant(1.0 / (1.0 - self.rate), inputs.dtype), tf.zeros((), inputs.dtype))
        return inputs * mask
