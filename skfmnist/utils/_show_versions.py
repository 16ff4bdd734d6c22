"""Versions of the libraries skfmnist runs on (for reports and bug reports)."""

# SPDX-License-Identifier: MIT

import importlib.metadata
import os
import platform
import sys

from ._cpu import cpu_model

__all__ = ["show_versions", "versions"]

_PACKAGES = ("skfmnist", "numpy", "scipy", "scikit-learn", "scikeras", "tensorflow", "keras", "joblib", "pandas",
             "matplotlib")
#: The other Keras backends, listed where installed.
_BACKEND_PACKAGES = ("jax", "jaxlib", "torch")


def versions():
    """Versions of Python, the dependencies and the machine.

    ``"keras_backend"`` is the backend Keras runs on (or, before Keras is
    imported, the one it will run on).  Where TensorFlow runs in this process,
    also which CPU kernels it uses (``"tensorflow_cpu_kernels"``: "oneDNN" or
    "Eigen"); this function does not start TensorFlow itself.

    Returns
    -------
    info : dict
        ``{"python": ..., "platform": ..., "cpu": ..., "cores": ..., <package>: version}``.
    """
    info = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
    }
    for name in _PACKAGES:
        try:
            info[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            info[name] = None
    for name in _BACKEND_PACKAGES:
        try:
            info[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    if "keras" in sys.modules:
        import keras

        info["keras_backend"] = keras.backend.backend()
    else:
        info["keras_backend"] = os.environ.get("KERAS_BACKEND", "tensorflow")
    if "tensorflow" in sys.modules:
        from ._keras import tensorflow_cpu_kernels

        info["tensorflow_cpu_kernels"] = tensorflow_cpu_kernels() or "n/a"
    return info


def show_versions():
    """Print the versions of Python, the dependencies and the machine, Keras' backend and TensorFlow's CPU kernels.

    Starts Keras and its backend (a few seconds) to tell which backend, and
    which CPU kernels TensorFlow, runs.
    """
    from ._keras import import_keras

    import_keras()
    info = versions()
    width = max(map(len, info))
    for key, value in info.items():
        print(f"{key:>{width}}: {value}")
