"""Versions of the libraries skfmnist runs on (for reports and bug reports)."""

# SPDX-License-Identifier: MIT

import importlib.metadata
import os
import platform
import sys

__all__ = ["show_versions", "versions"]

_PACKAGES = ("skfmnist", "numpy", "scipy", "scikit-learn", "scikeras", "tensorflow", "keras", "pandas", "matplotlib")


def _cpu_model(cpuinfo="/proc/cpuinfo"):
    """The first CPU's model name, with its family and model numbers where listed.

    Virtual machines often show a bare name ("AMD EPYC") for CPUs of different
    generations, which the numbers tell apart (family 25 model 1 has no AVX-512,
    family 25 model 17 has it).
    """
    from ._tf import _cpu_fields

    try:
        fields = _cpu_fields(cpuinfo)
    except OSError:
        fields = {}
    name = fields.get("model name")
    if not name:
        return platform.processor() or platform.machine()
    if "cpu family" in fields and "model" in fields:
        return f"{name} (family {fields['cpu family']}, model {fields['model']})"
    return name


def versions():
    """Versions of Python, the dependencies and the machine.

    Where TensorFlow is running in this process, also which CPU kernels it
    uses (``"tensorflow_cpu_kernels"``: "oneDNN" or "Eigen", see
    :func:`skfmnist.utils._tf.tensorflow_cpu_kernels`); this function does not start
    TensorFlow itself.

    Returns
    -------
    info : dict
        ``{"python": ..., "platform": ..., "cpu": ..., "cores": ..., <package>: version}``.
    """
    info = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
    }
    for name in _PACKAGES:
        try:
            info[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            info[name] = None
    if "tensorflow" in sys.modules:
        from ._tf import tensorflow_cpu_kernels

        info["tensorflow_cpu_kernels"] = tensorflow_cpu_kernels() or "unknown"
    return info


def show_versions():
    """Print the versions of Python, the dependencies and the machine, and TensorFlow's CPU kernels.

    Starts TensorFlow (a few seconds) to tell which CPU kernels it runs.
    """
    from ._tf import import_keras

    import_keras()
    info = versions()
    width = max(map(len, info))
    for key, value in info.items():
        print(f"{key:>{width}}: {value}")
