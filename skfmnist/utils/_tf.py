"""TensorFlow/Keras runtime helpers: lazy import, oneDNN, threads, scoped seeding.

TensorFlow is imported only through :func:`import_keras`, so that importing
skfmnist (or loading data) stays cheap.

oneDNN
------
TensorFlow's Linux x86 wheels contain two sets of CPU kernels for
convolutions, matrix multiplies, pooling and batch normalization: oneDNN's,
which pick their instructions at run time (AVX2 with FMA, AVX-512, AMX), and
Eigen's, compiled for the oldest CPUs the wheel supports (TensorFlow's own
start-up message lists AVX2 and FMA among the instructions those kernels do
not use).  TensorFlow turns oneDNN on by default only on CPUs with AVX512-VNNI,
AVX512-BF16, AVX-VNNI or AMX (``DefaultOneDnnPolicy`` in
``tensorflow/core/util/port.cc``); on CPUs without them (AMD's before Zen 4,
such as the EPYC of family 25 model 1; Intel's Skylake and older) every
convolution runs Eigen's kernels.  There the CNNs trained slower than the same networks
in PyTorch (benchmarks/RESULTS.md, "Overhead, peers and limit on the EPYC
without AVX-512 or bfloat16"; with oneDNN's kernels, "oneDNN's kernels on
every CPU").  :func:`import_keras` therefore sets
``TF_ENABLE_ONEDNN_OPTS=1`` on x86 before TensorFlow starts, unless the
environment already sets it (``TF_ENABLE_ONEDNN_OPTS=0`` keeps Eigen's
kernels), and :func:`onednn_enabled` tells which kernels the running
TensorFlow uses.  TensorFlow reads the variable once, when it is imported:
imported before skfmnist, it keeps its own choice (worker processes started
afterwards inherit the variable), and where that choice is Eigen's kernels
skfmnist says so with a :class:`~skfmnist.exceptions.PerformanceWarning`.

Fits in threads
---------------
Several fits may run at once in threads of one process (joblib's
"threading" backend, a Dask worker with several threads).  Building a
network reads process-wide state: Python's, NumPy's and TensorFlow's global
seeds (TensorFlow draws the seeds of the input pipeline's shuffle from its
own), and ``keras.backend.clear_session`` replaces the state of every
thread, which made concurrent fits fail ("The name "conv2d" is used 2 times
in the model") or draw each other's random numbers.  :func:`fit_setup`
therefore builds one network at a time: it holds a process-wide lock, resets
only the calling thread's Keras state and seeds the block; the training
itself runs outside it, concurrently, since every random draw of a training
step comes from a seed generator the network's layers own.
"""

# SPDX-License-Identifier: MIT

import functools
import os
import platform
import random
import sys
import threading
import warnings
from contextlib import contextmanager

import numpy as np

__all__ = [
    "configure_threads",
    "fit_setup",
    "import_keras",
    "onednn_enabled",
    "prefers_bfloat16",
    "seeded",
    "tensorflow_cpu_kernels",
    "tensorflow_onednn_flags",
    "tf_threads_from_env",
]

#: Environment variables read before TensorFlow starts, so that worker
#: processes can be given their share of the cores.
THREADS_ENV = "SKFMNIST_TF_THREADS"
INTER_THREADS_ENV = "SKFMNIST_TF_INTER_THREADS"

#: TensorFlow's switch between oneDNN's and Eigen's CPU kernels, read once
#: when TensorFlow is imported; :func:`import_keras` defaults it to "1".
ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"
#: CPU flags (Linux' /proc/cpuinfo names) for which TensorFlow turns oneDNN on by
#: itself on Linux (``DefaultOneDnnPolicy`` in tensorflow/core/util/port.cc).
TF_ONEDNN_FLAGS = frozenset({"avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16"})
#: oneDNN's cap on the instruction sets its kernels may use (unset: none).
ONEDNN_ISA_ENV = "ONEDNN_MAX_CPU_ISA"

#: Environment variables that :func:`import_keras` set because the
#: environment did not (a benchmark's quoted command leaves them out).
ENV_SET_HERE = set()


#: ``platform.machine()`` of the x86 CPUs whose TensorFlow wheels hold oneDNN's kernels.
_X86 = frozenset({"x86_64", "amd64", "i386", "i686"})


def _env_defaults(machine=None):
    """The variables :func:`import_keras` sets where the environment does not.

    Quiet logs and the TensorFlow backend everywhere; oneDNN's kernels on x86
    only (on Arm, TensorFlow's oneDNN build runs other kernels, which this
    package has not measured).
    """
    machine = (platform.machine() if machine is None else machine).lower()
    defaults = {"TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"}
    if machine in _X86:
        defaults[ONEDNN_ENV] = "1"
    return defaults


def _eigen_warning(tensorflow_was_running, onednn_set_here, enabled):
    """The :class:`~skfmnist.exceptions.PerformanceWarning` message, or None.

    A message when TensorFlow was running before skfmnist asked for oneDNN's
    kernels (``onednn_set_here``: the environment had not chosen) and runs
    without them (``enabled`` False).
    """
    if not (tensorflow_was_running and onednn_set_here and enabled is False):
        return None
    return (
        "TensorFlow was imported before skfmnist and runs Eigen's CPU kernels, its default on CPUs "
        "without AVX512-VNNI, AVX512-BF16, AVX-VNNI or AMX: convolutions train markedly slower than with "
        "oneDNN's (skfmnist's benchmarks/RESULTS.md). Import skfmnist before TensorFlow, or start Python with "
        "TF_ENABLE_ONEDNN_OPTS=1 (TF_ENABLE_ONEDNN_OPTS=0 keeps Eigen's kernels without this warning)."
    )


def _setdefault_env(name, value):
    if name not in os.environ:
        os.environ[name] = value
        ENV_SET_HERE.add(name)


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

#: Held while TensorFlow is configured and while a network is built
#: (:func:`fit_setup`): one thread at a time touches process-wide state.
_LOCK = threading.RLock()


def import_keras():
    """Import Keras (TensorFlow backend) once, quietly, with oneDNN and thread settings.

    Before TensorFlow is first imported, sets ``TF_ENABLE_ONEDNN_OPTS=1``
    on x86 (oneDNN's CPU kernels on every x86 CPU, not only those TensorFlow
    turns them on for; see the module's docstring) and
    ``TF_CPP_MIN_LOG_LEVEL=2`` unless the environment sets them already,
    then TensorFlow's thread pools from :func:`tf_threads_from_env`.

    Warns
    -----
    PerformanceWarning
        Once, when TensorFlow was imported before skfmnist and, left to its
        own default, runs Eigen's kernels.

    Returns
    -------
    keras : module
    """
    global _CONFIGURED
    if not _CONFIGURED:
        with _LOCK:  # two threads' first fits: one configures, the other waits for it
            if not _CONFIGURED:
                _configure()
                _CONFIGURED = True
    import keras

    return keras


def _configure():
    """Environment defaults, TensorFlow's import and thread pools; once per process."""
    tensorflow_was_running = "tensorflow" in sys.modules
    for name, value in _env_defaults().items():
        _setdefault_env(name, value)
    import tensorflow as tf

    configure_threads(*tf_threads_from_env())
    tf.get_logger().setLevel("ERROR")
    message = _eigen_warning(tensorflow_was_running, ONEDNN_ENV in ENV_SET_HERE, _tensorflow_says_onednn())
    if message:
        from ..exceptions import PerformanceWarning

        warnings.warn(message, PerformanceWarning, stacklevel=3)  # import_keras' caller


def onednn_enabled():
    """Whether the running TensorFlow uses oneDNN's CPU kernels.

    Imports TensorFlow through :func:`import_keras` if it is not running yet.

    Returns
    -------
    enabled : bool or None
        TensorFlow's own answer (``IsMklEnabled``, which also reports the
        kernels of TensorFlow's oneDNN build), or None where this TensorFlow
        does not say (the function is not public API and may move).
    """
    import_keras()
    return _tensorflow_says_onednn()


def _tensorflow_says_onednn():
    """``IsMklEnabled`` of the imported TensorFlow, or None where it has none."""
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


def tensorflow_cpu_kernels():
    """Name of the CPU kernels the running TensorFlow uses: "oneDNN", "Eigen", or None where it does not say."""
    return {True: "oneDNN", False: "Eigen"}.get(onednn_enabled())


def tensorflow_onednn_flags(cpuinfo="/proc/cpuinfo"):
    """The flags of :data:`TF_ONEDNN_FLAGS` this CPU has, sorted (empty: TensorFlow's own default is Eigen).

    Parameters
    ----------
    cpuinfo : str, default="/proc/cpuinfo"
        File to read the CPU flags from; missing: no flags.

    Returns
    -------
    flags : list of str
    """
    try:
        return sorted(_cpu_info(cpuinfo)[1] & TF_ONEDNN_FLAGS)
    except OSError:
        return []


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


#: Values of ``ONEDNN_MAX_CPU_ISA`` (oneDNN's ISA names, upper case) that leave
#: oneDNN its AVX512-BF16 kernels ("" is unset: no cap); lower caps (AVX2,
#: AVX512_CORE, ...) leave it none, and bfloat16 then has no fast path.
_AVX512_BF16_CAPS = frozenset(
    {
        "", "DEFAULT", "ALL", "AVX512_CORE_BF16", "AVX10_1_512", "AVX512_CORE_FP16",
        "AVX10_1_512_AMX", "AVX512_CORE_AMX", "AVX10_1_512_AMX_FP16", "AVX512_CORE_AMX_FP16",
        "AVX10_2_512", "AVX10_2_512_AMX_2",
    }
)
#: Values of ``ONEDNN_MAX_CPU_ISA`` that leave oneDNN its AMX kernels.
_AMX_CAPS = frozenset(
    {
        "", "DEFAULT", "ALL", "AVX10_1_512_AMX", "AVX512_CORE_AMX", "AVX10_1_512_AMX_FP16",
        "AVX512_CORE_AMX_FP16", "AVX10_2_512_AMX_2",
    }
)


def prefers_bfloat16(cpuinfo="/proc/cpuinfo"):
    """Whether bfloat16 mixed precision is expected to train faster here.

    True when TensorFlow sees no GPU, runs oneDNN's CPU kernels
    (:func:`onednn_enabled`) and the CPU (Linux' ``/proc/cpuinfo``) is
    either an AMD CPU with AVX512-BF16 or any x86 CPU with AMX-BF16, unless
    ``ONEDNN_MAX_CPU_ISA`` keeps oneDNN below the instructions of that fast
    path (AVX512_CORE_BF16 for AMD, AVX10_1_512_AMX alias AVX512_CORE_AMX for
    AMX; an unknown value counts as a cap).
    The rule follows measurements, not the flags alone (benchmarks/RESULTS.md):
    on an AMD EPYC with AVX512-BF16 bfloat16 epochs of these networks ran
    1.15-1.45x faster than float32, but on an Intel Xeon (family 6, model
    207) whose virtual machine exposes AVX512-BF16 without AMX they ran
    1.3-1.5x *slower* (bench_speed.py part "dtype"), although oneDNN's
    verbose log shows its bfloat16 convolution and matmul kernels at work
    there too; where the time goes was not profiled further.  AMX is Intel's
    documented bfloat16 fast path; Arm's BF16 was not measured and is left
    out.  Eigen's kernels (``TF_ENABLE_ONEDNN_OPTS=0``) have no bfloat16
    fast path.  False elsewhere, with a GPU, and on systems without
    ``/proc``.  Cached per file and ISA cap: neither the CPU nor
    TensorFlow's kernels and devices change within a process, and every
    ``fit`` with ``compute_dtype="auto"`` asks.

    Parameters
    ----------
    cpuinfo : str, default="/proc/cpuinfo"
        File to read the CPU vendor and flags from.

    Returns
    -------
    faster : bool
    """
    return _prefers_bfloat16(cpuinfo, os.environ.get(ONEDNN_ISA_ENV, "").strip().upper())


@functools.cache
def _prefers_bfloat16(cpuinfo, isa_cap):
    try:
        vendor, flags = _cpu_info(cpuinfo)
    except OSError:
        return False
    amx = "amx_bf16" in flags and isa_cap in _AMX_CAPS
    amd = vendor == "AuthenticAMD" and "avx512_bf16" in flags and isa_cap in _AVX512_BF16_CAPS
    if not (amx or amd) or onednn_enabled() is False:
        return False
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


def clear_keras_thread_state():
    """Reset the calling thread's Keras state (layer-name counters, global seed generator).

    The thread-safe part of ``keras.backend.clear_session``, which replaces
    the state objects of *every* thread and so renames or reseeds what a fit
    in another thread is building.  Keras keeps this state in a
    ``threading.local``; only the calling thread's attributes are dropped.
    """
    import_keras()
    from keras.src.backend.common import global_state

    vars(global_state.GLOBAL_STATE_TRACKER).clear()


@contextmanager
def fit_setup(seed):
    """The block in which a fit builds its network and input pipeline.

    Holds a process-wide lock (fits in other threads build theirs before or
    after, and train meanwhile), starts from a clean Keras state for the
    calling thread (:func:`clear_keras_thread_state`) and seeds the block
    (:func:`seeded`).  A fit built here draws the same random numbers
    whether other fits run in other threads or not.

    Parameters
    ----------
    seed : int or None
        None builds unseeded.
    """
    with _LOCK:
        clear_keras_thread_state()
        with seeded(seed):
            yield
