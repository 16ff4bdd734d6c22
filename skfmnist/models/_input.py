"""The input pipeline that feeds arrays to ``keras.Model.fit``.

Keras builds its own ``tf.data`` pipeline for NumPy inputs, with autotuned
parallel batch gathering and an autotuned prefetch buffer.  On a 2-core
machine that autotuning makes whole epochs stall: measured with the default
CNN on the 60,000 training images, about half of the epochs took ~20 s
instead of ~11 s, with the same CPU seconds spent and the cores idle for the
difference (``/proc`` per-thread accounting); with the autotuner off every
epoch took ~11 s.  :func:`training_dataset` is the same vectorised design as
Keras' (shuffle indices, batch them, gather each batch from one in-memory
copy of the data) with a fixed, one-batch prefetch and autotuning off.

That one copy is the caller's array itself where TensorFlow can read it in
place (C-contiguous, writeable, 64-byte aligned, as
:class:`~skfmnist.preprocessing.PixelScaler`'s output is): it becomes a
tensor through DLPack, without the copy that ``tf.convert_to_tensor`` makes
of every NumPy array (188 MB and up to half a second per fit on the full
training set).  Other arrays are copied as before.
"""

# SPDX-License-Identifier: MIT

from ..utils._arrays import is_aligned

__all__ = ["training_dataset"]


def as_tensor(array):
    """A tensor holding ``array``'s values, sharing its memory where TensorFlow can.

    Parameters
    ----------
    array : ndarray
        Numeric array.  Shared (not copied) when it is C-contiguous,
        writeable, not empty and 64-byte aligned
        (:func:`skfmnist.utils._arrays.is_aligned`): the caller must not
        change it while the tensor is in use.

    Returns
    -------
    tensor : tf.Tensor
    """
    import tensorflow as tf

    flags = array.flags
    if flags.c_contiguous and flags.writeable and array.size and is_aligned(array):
        # NumPy exports only writeable arrays; DLPack's capsule keeps ``array`` alive
        return tf.experimental.dlpack.from_dlpack(array.__dlpack__())
    return tf.convert_to_tensor(array)


def training_dataset(arrays, batch_size, *, shuffle):
    """A ``tf.data.Dataset`` of batches of ``arrays`` for ``Model.fit``.

    Parameters
    ----------
    arrays : tuple of ndarray
        ``(X, y)`` or ``(X, y, sample_weight)``, all with the same first
        dimension.  X stays float32: nothing is cast.
    batch_size : int
        Rows per batch; the last batch holds the remainder, as in Keras.
    shuffle : bool
        Draw a new order of the rows every epoch (from TensorFlow's seed,
        which :func:`skfmnist.utils._tf.seeded` sets for a seeded fit).

    Returns
    -------
    dataset : tf.data.Dataset
        Yields tuples of tensors shaped like ``arrays`` with ``batch_size``
        rows (fewer in the last batch).
    """
    import tensorflow as tf

    n_samples = int(arrays[0].shape[0])
    # One tensor per array (the array's own memory where possible), handed to
    # the pipeline as a repeated element rather than captured by the map
    # function (a captured constant would be copied into the dataset's graph).
    tensors = tuple(as_tensor(a) for a in arrays)
    indices = tf.data.Dataset.range(n_samples)
    if shuffle:
        indices = indices.shuffle(n_samples, reshuffle_each_iteration=True)
    indices = indices.batch(batch_size)
    dataset = tf.data.Dataset.zip((indices, tf.data.Dataset.from_tensors(tensors).repeat()))
    dataset = dataset.map(lambda i, data: tuple(tf.gather(t, i) for t in data))
    options = tf.data.Options()
    options.autotune.enabled = False
    # Keras disables the static rewrites too: they only cost graph
    # serialisation for a pipeline this simple.
    options.experimental_optimization.apply_default_optimizations = False
    return dataset.prefetch(1).with_options(options)
