"""Keras' stock input path, for the backends that have no faster one of their own."""

# SPDX-License-Identifier: MIT

import numpy as np

__all__ = ["training_data"]


def training_data(arrays, batch_size, order=None):
    """:func:`skfmnist.models._input.training_dataset` (same parameters) as a ``keras.utils.PyDataset``."""
    import keras

    class ArrayBatches(keras.utils.PyDataset):
        def __len__(self):
            return int(np.ceil(len(arrays[0]) / batch_size))

        def __getitem__(self, index):
            rows = slice(index * batch_size, (index + 1) * batch_size)
            if order is not None:
                rows = order.permutation[rows]
            return tuple(a[rows] for a in arrays)

    return ArrayBatches()
