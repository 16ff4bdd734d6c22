"""TensorFlow/Keras runtime helpers: lazy import, threads, scoped seeding.

TensorFlow is imported only through :func:`import_keras`, so that importing
skfmnist (or loading data) stays cheap.
"""

# SPDX-License-Identifier: MIT

import functools
import os
import random
from contextlib import contextmanager

import numpy as np

__all__ = ["import_keras", "configure_threads", "prefers_bfloat16", "seeded", "tf_threads_from_env"]

#: Environment variables read before TensorFlow starts, so that worker
#: processes can be given their share of the cores.
THREADS_ENV = "SKFMNIST_TF_THREADS"
INTER_THREADS_ENV = "SKFMNIST_TF_INTER_THREADS"


def tf_threads_from_env():
    """Return ``(intra, inter)`` TensorFlow thread counts asked for by the environment.

    ``SKFMNIST_TF_THREADS`` / ``SKFMNIST_TF_INTER_THREADS`` first; otherwise
    ``OMP_NUM_THREADS``, which joblib's process workers receive as their
    share of the cores (``cpu_count() // n_jobs``) but TensorFlow ignores.

    Returns
    -------
    threads : tuple of (int or None, int or None)
        None leaves TensorFlow's default (all cores).
    """
    def read(name):
        value = os.environ.get(name, "").strip()
        return int(value) if value.isdigit() and int(value) > 0 else None

    intra = read(THREADS_ENV) or read("OMP_NUM_THREADS")
    inter = read(INTER_THREADS_ENV) or intra
    return intra, inter


_CONFIGURED = False


def import_keras():
    """Import Keras (TensorFlow backend) once, quietly, with thread settings.

    Returns
    -------
    keras : module
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import tensorflow as tf

    global _CONFIGURED
    if not _CONFIGURED:
        _CONFIGURED = True
        configure_threads(*tf_threads_from_env())
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


def _cpu_fields(cpuinfo):
    """``{key: value}`` of the first CPU's block of a Linux ``/proc/cpuinfo`` file."""
    fields = {}
    with open(cpuinfo, encoding="utf-8", errors="replace") as f:
        for line in f:
            key, sep, value = line.partition(":")
            if not sep:
                if fields:
                    break  # the blank line that ends the first CPU's block
                continue
            fields.setdefault(key.strip(), value.strip())
    return fields


def _cpu_info(cpuinfo):
    """Vendor and flags (x86 "flags", Arm "Features") of the first CPU listed in ``cpuinfo``."""
    fields = _cpu_fields(cpuinfo)
    return fields.get("vendor_id", ""), set(fields.get("flags", fields.get("Features", "")).split())


@functools.cache
def prefers_bfloat16(cpuinfo="/proc/cpuinfo"):
    """Whether bfloat16 mixed precision is expected to train faster here.

    True when TensorFlow sees no GPU and the CPU (Linux' ``/proc/cpuinfo``)
    is either an AMD CPU with AVX512-BF16 or any x86 CPU with AMX-BF16.
    The rule follows measurements, not the flags alone (benchmarks/RESULTS.md):
    on an AMD EPYC with AVX512-BF16 bfloat16 epochs of these networks ran
    1.15-1.45x faster than float32, but on an Intel Xeon (family 6, model
    207) whose virtual machine exposes AVX512-BF16 without AMX they ran
    1.3-1.5x *slower* (bench_speed.py part "dtype"), although oneDNN's
    verbose log shows its bfloat16 convolution and matmul kernels at work
    there too; where the time goes was not profiled further.  AMX is Intel's documented bfloat16 fast path (not measured
    here); Arm's BF16 was not measured and is left out.  False elsewhere,
    with a GPU, and on systems without ``/proc``.  Cached per file: neither
    the CPU nor TensorFlow's devices change within a process, and every
    ``fit`` with ``compute_dtype="auto"`` asks.

    Parameters
    ----------
    cpuinfo : str, default="/proc/cpuinfo"
        File to read the CPU vendor and flags from.

    Returns
    -------
    faster : bool
    """
    try:
        vendor, flags = _cpu_info(cpuinfo)
    except OSError:
        return False
    if not ("amx_bf16" in flags or (vendor == "AuthenticAMD" and "avx512_bf16" in flags)):
        return False
    import_keras()
    import tensorflow as tf

    return not tf.config.list_physical_devices("GPU")


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
    # Keras draws layer seeds from the *global* ``random`` module, which other
    # threads of the process (a Dask worker's event loop, say) may draw from
    # at any moment; give Keras a private generator for the block instead.
    keras_python_random = seed_generator.python_random
    try:
        keras.utils.set_random_seed(int(seed))
        seed_generator.python_random = random.Random(int(seed))
        yield
    finally:
        seed_generator.python_random = keras_python_random
        random.setstate(py_state)
        np.random.set_state(np_state)
        tf.random.set_seed(tf_seed)
        global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, keras_seed)
        global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, keras_gen)
