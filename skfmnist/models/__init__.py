"""Keras classifiers with scikit-learn's estimator contract: your own network, or a preset.

Importing this subpackage imports TensorFlow.
"""

# SPDX-License-Identifier: MIT

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
