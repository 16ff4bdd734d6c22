"""skfmnist: Keras image classifiers as true scikit-learn estimators.

Importing :mod:`skfmnist` is cheap: TensorFlow is only imported when a Keras
model is built or loaded.  Public names are resolved lazily (PEP 562), as in
scikit-learn's own ``__init__``, from :mod:`skfmnist._registry`.
"""

# SPDX-License-Identifier: MIT

import importlib

from ._registry import ESTIMATORS, FUNCTIONS
from ._version import __version__

_LAZY = {**{name: module for name, (module, _) in ESTIMATORS.items()}, **FUNCTIONS}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'skfmnist' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
