"""Keras classifiers with scikit-learn's estimator contract.

Importing this subpackage imports TensorFlow.
"""

# SPDX-License-Identifier: MIT

from ._base import BaseKerasClassifier
from ._cnn import CNNClassifier, DeepCNNClassifier
from ._dense import DenseClassifier

__all__ = ["BaseKerasClassifier", "CNNClassifier", "DeepCNNClassifier", "DenseClassifier"]
