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


#: Keras losses by the targets they take (scikeras' names of them): one-hot rows, class indices, 0/1 labels of
#: one output unit, or values compared element by element with each output (regression losses).
_ONE_HOT = {"categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge", "kl_divergence",
            "k_l_divergence", "kld", "kullback_leibler_divergence"}
_INDICES = {"sparse_categorical_crossentropy"}
_PER_UNIT = {"binary_crossentropy", "binary_focal_crossentropy", "hinge", "squared_hinge", "mean_squared_error",
             "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "huber",
             "log_cosh", "poisson", "cosine_similarity"}


def check_loss_fits(loss, n_units, n_classes):
    """Raise a ValueError when a Keras loss cannot take the targets the estimator trains on.

    The estimators train on class indices ``0 .. n_classes - 1``, one per
    sample: a network with one sigmoid unit sees them as 0/1 labels, a
    softmax over the classes as indices.  Losses of one-hot rows, losses of
    indices on one unit and element-wise losses on several units would fail
    inside Keras or, worse, train on broadcast nonsense.  Losses this check
    does not know (the user's own functions) pass.

    Parameters
    ----------
    loss : str, keras.losses.Loss, class or callable
        The loss the network is compiled with.
    n_units : int
        Output units of the network.
    n_classes : int
        Number of classes.
    """
    from ._scikeras import loss_name

    name = loss_name(loss)
    if name is None:
        return
    if n_units == 1:
        targets, fits = "0/1 labels (one sigmoid unit)", "'binary_crossentropy'"
        wrong = name in _ONE_HOT or name in _INDICES
    else:
        targets, fits = f"class indices 0 .. {n_classes - 1}, one per sample", "'sparse_categorical_crossentropy'"
        wrong = name in _ONE_HOT or name in _PER_UNIT
    if wrong:
        one_hot = " (skfmnist does not one-hot encode the targets)" if name in _ONE_HOT else ""
        raise ValueError(
            f"The network is compiled with the loss {name!r}, which does not fit its targets: the network has "
            f"{n_units} output unit(s) and is trained on {targets}{one_hot}. Use the loss {fits}, or leave the "
            "network uncompiled and loss=None for skfmnist's default."
        )
