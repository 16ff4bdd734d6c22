"""Importing Keras and its backend, once, the way skfmnist needs them.

Keras (and TensorFlow, JAX or PyTorch under it) is imported only through
:func:`import_keras`, so that importing skfmnist or loading data stays
cheap.  The first call sets skfmnist's environment defaults
(:mod:`skfmnist.utils._env`; TensorFlow is the backend where
``KERAS_BACKEND`` does not name another), imports Keras, and, on a CPU,
gives the backend the thread counts the environment asks for.
"""

# SPDX-License-Identifier: MIT

import os
import sys
import threading
import warnings

from . import _cpu, _env

__all__ = ["import_keras", "tensorflow_cpu_kernels"]

_LOCK = threading.Lock()
_STATE = {}  # filled by the first import_keras: whether TensorFlow ran before it, what it set


def import_keras():
    """Import Keras (on the backend of ``KERAS_BACKEND``, TensorFlow by default), configured, and return it.

    Warns
    -----
    PerformanceWarning
        Once, when TensorFlow was imported before skfmnist and, left to its
        own default on this CPU, runs Eigen's kernels (see
        :mod:`skfmnist.utils._env`).

    Returns
    -------
    keras : module
    """
    if not _STATE:
        with _LOCK:  # two threads' first fits: one configures, the other waits
            if not _STATE:
                _configure()
    import keras

    return keras


def _configure():
    running = "tensorflow" in sys.modules
    set_here = {}
    if "keras" in sys.modules:  # Keras chose its backend already: processes started from here choose the same
        import keras

        os.environ.setdefault("KERAS_BACKEND", keras.backend.backend())
    if not running:  # TensorFlow reads these when it is imported, not later
        set_here = _env.set_env_defaults()
    from .. import _backends

    backend = _backends.current()
    backend.start()
    if backend.accelerator() is None:  # thread counts are CPU settings
        backend.configure(*_env.threads_from_env())
    _STATE.update(tensorflow_was_running=running, set_here=set_here)
    if (_backends.name() == "tensorflow" and running and tensorflow_cpu_kernels() == "Eigen"
            and _env.ONEDNN_ENV not in os.environ):
        from ..exceptions import PerformanceWarning

        warnings.warn(
            "TensorFlow was imported before skfmnist and runs Eigen's CPU kernels, its default on CPUs without "
            "AVX512-VNNI, AVX512-BF16, AVX-VNNI or AMX: convolutions train markedly slower than with oneDNN's. "
            "Import skfmnist before TensorFlow, or start Python with TF_ENABLE_ONEDNN_OPTS=1 "
            "(TF_ENABLE_ONEDNN_OPTS=0 keeps Eigen's kernels without this warning).",
            PerformanceWarning,
            stacklevel=4,
        )


def tensorflow_cpu_kernels():
    """The CPU kernels TensorFlow runs on x86: "oneDNN" or "Eigen" (None on other CPUs).

    TensorFlow reads ``TF_ENABLE_ONEDNN_OPTS`` when it is imported; unset, it
    decides from the CPU's flags (:data:`skfmnist.utils._cpu.TF_ONEDNN_FLAGS`).
    """
    import platform

    if platform.machine().lower() not in _env.X86:
        return None
    value = os.environ.get(_env.ONEDNN_ENV, "").strip()
    if value in ("0", "1"):
        return "oneDNN" if value == "1" else "Eigen"
    return "oneDNN" if _cpu.tensorflow_default_onednn() else "Eigen"
