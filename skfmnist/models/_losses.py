"""Cross-entropy on class indices with label smoothing.

Keras' :class:`keras.losses.SparseCategoricalCrossentropy` takes class indices
but has no label smoothing, and :class:`keras.losses.CategoricalCrossentropy`
smooths but needs one-hot targets.  The estimators hand the network class
indices (``0 .. n_classes - 1``), so the smoothed loss is this one: one-hot
inside the graph, then Keras' categorical cross-entropy.
"""

# SPDX-License-Identifier: MIT

from ..utils._keras import import_keras

keras = import_keras()
ops = keras.ops

__all__ = ["SparseCategoricalCrossentropy"]


@keras.saving.register_keras_serializable(package="skfmnist")
class SparseCategoricalCrossentropy(keras.losses.Loss):
    """Cross-entropy on integer class indices, with optional label smoothing.

    Parameters
    ----------
    label_smoothing : float, default=0.0
        Probability mass moved from the true class to all classes uniformly.
    name : str, default="sparse_categorical_crossentropy"
        Name of the loss.
    **kwargs : dict
        Passed to :class:`keras.losses.Loss`.
    """

    def __init__(self, label_smoothing=0.0, name="sparse_categorical_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        n_classes = ops.shape(y_pred)[-1]
        y_true = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), n_classes)
        return keras.losses.categorical_crossentropy(y_true, y_pred, label_smoothing=self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}
