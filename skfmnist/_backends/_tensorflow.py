"""TensorFlow: thread pools, accelerator, the ``tf.data`` input pipeline and the fused batch-normalization kernel.

The input pipeline replaces Keras' own for NumPy inputs.  Keras builds a
``tf.data`` pipeline with autotuned parallel batch gathering and an
autotuned prefetch buffer; on a 2-core machine that autotuning stalls whole
epochs: with the default CNN on the 60,000 training images, about half of
the epochs took nearly twice as long with the same CPU seconds spent and the
cores idle for the difference (``benchmarks/RESULTS.md``, "Wrapper overhead
against plain Keras").  :func:`training_data` is the same vectorised design
as Keras' (batch the row indices, gather each batch from one in-memory copy
of the data) with a fixed, one-batch prefetch and autotuning off.

:func:`fused_batch_norm` is TensorFlow's one kernel for the whole
normalization (``FusedBatchNormV3`` and its gradient, which its oneDNN build
runs as a single primitive, bfloat16 included, with the statistics in
float32), which :class:`skfmnist.models._layers.FusedBatchNormalization`
hands the normalization to: Keras' layer, written as separate operations,
made full-data fits of the default CNN about twice as long
(``benchmarks/RESULTS.md``, "Custom parts against stock Keras").
"""

# SPDX-License-Identifier: MIT

from . import Accelerator

__all__ = ["FUSED_BATCH_NORM", "JIT_COMPILE", "MAX_STEPS_PER_EXECUTION", "accelerator", "configure",
           "prepare", "fused_batch_norm", "schedule_changed", "start", "training_data"]

#: ``jit_compile="auto"``: off (on CPUs TensorFlow's own kernels trained these networks faster than XLA).
JIT_COMPILE = False


#: The most training batches per call into the backend (None: no limit).
MAX_STEPS_PER_EXECUTION = None


def start():
    """Once, when skfmnist imports Keras: TensorFlow's Python log shows errors only."""
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")


def schedule_changed(model):
    """Nothing to do: the training step reads the learning-rate schedule's variables at every step."""


def prepare(model):
    """Nothing to do before ``model`` is compiled."""


def configure(intra_op=None, inter_op=None):
    """Set TensorFlow's thread pools, if TensorFlow has not started them yet.

    Parameters
    ----------
    intra_op : int or None
        Threads inside one operation (a matrix multiply, a convolution).
    inter_op : int or None
        Operations run at once.

    Returns
    -------
    applied : bool
        False when TensorFlow had started its pools and kept its settings.
    """
    import tensorflow as tf

    try:
        if intra_op:
            tf.config.threading.set_intra_op_parallelism_threads(int(intra_op))
        if inter_op:
            tf.config.threading.set_inter_op_parallelism_threads(int(inter_op))
    except RuntimeError:  # the pools exist already
        return False
    return True


def accelerator():
    """The first GPU TensorFlow sees, or None."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    major = (details.get("compute_capability") or (0, 0))[0]
    return Accelerator(name=details.get("device_name", gpus[0].name), bfloat16=major >= 8)


def training_data(arrays, batch_size, order=None):
    """:func:`skfmnist.models._input.training_dataset` (same parameters) as a ``tf.data.Dataset``.

    The permutation of ``order`` is held in a variable the pipeline reads,
    updated at every epoch.
    """
    import tensorflow as tf

    n_rows = int(arrays[0].shape[0])
    # One tensor per array, handed to the pipeline as a repeated element
    # rather than captured by the map function (a captured constant would be
    # copied into the dataset's graph).
    tensors = tuple(tf.convert_to_tensor(a) for a in arrays)
    indices = tf.data.Dataset.range(n_rows).batch(batch_size)
    if order is not None:
        permutation = tf.Variable(order.permutation, trainable=False, name="row_order")
        order.watch(permutation.assign)
        indices = indices.map(lambda i: tf.gather(permutation, i))
    dataset = tf.data.Dataset.zip((indices, tf.data.Dataset.from_tensors(tensors).repeat()))
    dataset = dataset.map(lambda i, data: tuple(tf.gather(t, i) for t in data))
    options = tf.data.Options()
    options.autotune.enabled = False
    # Keras disables the static rewrites too: they only cost graph
    # serialisation for a pipeline this simple.
    options.experimental_optimization.apply_default_optimizations = False
    return dataset.prefetch(1).with_options(options)


def fused_batch_norm(x, gamma, beta, epsilon, training, mean=None, variance=None):
    """Batch normalization of NHWC images ``x`` (or rows) by TensorFlow's fused kernel.

    Parameters
    ----------
    x : tensor of rank 2 or 4
        Channels last.
    gamma, beta : tensor
        Scale and offset, per channel (float32).
    epsilon : float
    training : bool
        Normalize with the batch's moments (and return them), or with
        ``mean`` and ``variance``.
    mean, variance : tensor, default=None
        The moving statistics, for ``training=False``.

    Returns
    -------
    y : tensor
        Shaped like ``x``, in its dtype.
    batch_mean, batch_variance : tensor or None
        The batch's moments (the variance biased, as Keras' layer keeps it);
        None when not training.
    """
    import tensorflow as tf

    flat = len(x.shape) == 2
    images = tf.reshape(x, (-1, 1, 1, x.shape[-1])) if flat else x  # the kernel takes NHWC images
    gamma, beta = tf.cast(gamma, "float32"), tf.cast(beta, "float32")
    if training:
        y, batch_mean, batch_variance = tf.compat.v1.nn.fused_batch_norm(
            images, gamma, beta, epsilon=epsilon, data_format="NHWC", is_training=True
        )
        # the kernel's batch variance is Bessel-corrected; Keras' moving variance uses the biased one
        n = tf.cast(tf.reduce_prod(tf.shape(images)[:-1]), "float32")
        batch_variance = batch_variance * ((n - 1.0) / tf.maximum(n, 1.0))
    else:
        y, _, _ = tf.compat.v1.nn.fused_batch_norm(
            images, gamma, beta, mean=tf.cast(mean, "float32"), variance=tf.cast(variance, "float32"),
            epsilon=epsilon, data_format="NHWC", is_training=False,
        )
        batch_mean = batch_variance = None
    if flat:
        y = tf.reshape(y, tf.shape(x))
    return y, batch_mean, batch_variance


FUSED_BATCH_NORM = fused_batch_norm
