"""TensorFlow/Keras runtime helpers: lazy import, threads, scoped seeding.

TensorFlow is imported only through :func:`import_keras`, so that importing
skfmnist (or loading data) stays cheap.
"""

# SPDX-License-Identifier: MIT

import os
import random
from contextlib import contextmanager

import numpy as np

__all__ = ["import_keras", "configure_threads", "seeded", "tf_threads_from_env"]

#: Environment variables read before TensorFlow starts, so that worker
#: processes can be given their share of the cores.
THREADS_ENV = "SKFMNIST_TF_THREADS"
INTER_THREADS_ENV = "SKFMNIST_TF_INTER_THREADS"


def tf_threads_from_env():
    """Return ``(intra, inter)`` thread counts requested by the environment.

    Returns
    -------
    threads : tuple of (int or None, int or None)
        From ``SKFMNIST_TF_THREADS`` and ``SKFMNIST_TF_INTER_THREADS``.
    """
    def read(name):
        value = os.environ.get(name)
        return int(value) if value and value.isdigit() and int(value) > 0 else None

    return read(THREADS_ENV), read(INTER_THREADS_ENV)


def import_keras():
    """Import Keras (TensorFlow backend) once, quietly, with thread settings.

    Returns
    -------
    keras : module
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    first = "tensorflow" not in __import__("sys").modules
    import tensorflow as tf

    if first:
        intra, inter = tf_threads_from_env()
        configure_threads(intra, inter)
        tf.get_logger().setLevel("ERROR")
    import keras

    return keras


def configure_threads(intra_op=None, inter_op=None):
    """Set TensorFlow's thread pools, if TensorFlow has not started them yet.

    Parameters
    ----------
    intra_op : int or None
        Threads used inside one operation (matrix multiply, convolution).
    inter_op : int or None
        Operations run in parallel.

    Returns
    -------
    applied : bool
        False when TensorFlow was already running and kept its settings.
    """
    import tensorflow as tf

    try:
        if intra_op:
            tf.config.threading.set_intra_op_parallelism_threads(int(intra_op))
        if inter_op:
            tf.config.threading.set_inter_op_parallelism_threads(int(inter_op))
    except RuntimeError:  # TF already initialized its pools in this process
        return False
    return True


@contextmanager
def seeded(seed):
    """Seed Python, NumPy, TensorFlow and Keras for one block, then restore.

    Unlike a global ``keras.utils.set_random_seed`` (or scikeras'
    ``random_state``, which also leaves TensorFlow's op-determinism switch on
    and breaks later unseeded random ops), nothing leaks out of the block:
    the previous random states and seeds are put back.

    Parameters
    ----------
    seed : int or None
        None runs the block unseeded.
    """
    if seed is None:
        yield
        return
    keras = import_keras()
    import tensorflow as tf
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils import rng_utils
    from tensorflow.python.eager import context

    py_state, np_state = random.getstate(), np.random.get_state()
    tf_seed = context.global_seed()
    keras_seed = global_state.get_global_attribute(rng_utils.GLOBAL_RANDOM_SEED)
    keras_gen = global_state.get_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR)
    try:
        keras.utils.set_random_seed(int(seed))
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        tf.random.set_seed(tf_seed)
        global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, keras_seed)
        global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, keras_gen)
