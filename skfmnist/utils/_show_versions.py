"""Versions of the libraries skfmnist runs on (for reports and bug reports)."""

# SPDX-License-Identifier: MIT

import importlib.metadata
import os
import platform
import sys

__all__ = ["show_versions", "versions"]

_PACKAGES = ("skfmnist", "numpy", "scipy", "scikit-learn", "scikeras", "tensorflow", "keras", "pandas", "matplotlib")


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions():
    """Versions of Python, the dependencies and the machine.

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
    return info


def show_versions():
    """Print the versions of Python, the dependencies and the machine."""
    for key, value in versions().items():
        print(f"{key:>13}: {value}")
