"""Keras classifiers with scikit-learn's estimator contract: your own network, or a preset.

Importing this subpackage imports Keras and its backend (TensorFlow by default).
"""

# SPDX-License-Identifier: MIT

from . import _schedules  # noqa: F401  (registers the learning-rate schedule that model files name)
from ._classifier import KerasClassifier
from ._layers import FusedBatchNormalization
from ._presets import CNNClassifier, DeepCNNClassifier, DenseClassifier

__all__ = [
    "CNNClassifier",
    "DeepCNNClassifier",
    "DenseClassifier",
    "FusedBatchNormalization",
    "KerasClassifier",
]
