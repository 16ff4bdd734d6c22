"""skfmnist: Keras image classifiers as true scikit-learn estimators.

Importing :mod:`skfmnist` is cheap: TensorFlow is only imported when a Keras
model is built or loaded.  Public names are resolved lazily (PEP 562), as in
scikit-learn's own ``__init__``.
"""

# SPDX-License-Identifier: MIT

import importlib

from ._version import __version__

# public name -> submodule that defines it
_LAZY = {
    "fetch_fashion_mnist": "skfmnist.datasets",
    "get_data_home": "skfmnist.datasets",
    "load_idx": "skfmnist.datasets",
    "PixelScaler": "skfmnist.preprocessing",
    "ImageReshaper": "skfmnist.preprocessing",
    "DenseClassifier": "skfmnist.models",
    "CNNClassifier": "skfmnist.models",
    "DeepCNNClassifier": "skfmnist.models",
    "make_model_pipeline": "skfmnist.pipeline",
    "MODEL_NAMES": "skfmnist.pipeline",
    "compare_models": "skfmnist.evaluation",
    "ComparisonResult": "skfmnist.evaluation",
    "mcnemar_test": "skfmnist.evaluation",
    "save": "skfmnist.persistence",
    "load": "skfmnist.persistence",
    "show_versions": "skfmnist.utils",
    "all_estimators": "skfmnist.utils.discovery",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'skfmnist' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
