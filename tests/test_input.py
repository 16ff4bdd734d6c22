"""The input pipeline behind every fit: each row once per epoch, a new order each epoch, from the fit's seed."""

import numpy as np
import pytest

from skfmnist.models._input import RowOrder, training_dataset


def _epoch(dataset):
    """The batches of one pass over ``dataset`` (a tf.data pipeline or a keras.utils.PyDataset), as arrays."""
    if hasattr(dataset, "__getitem__"):  # keras.utils.PyDataset: the other backends' input path
        return [tuple(np.asarray(t) for t in dataset[i]) for i in range(len(dataset))]
    return [tuple(t.numpy() for t in batch) for batch in dataset]


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    X = rng.random((37, 4, 4, 1), dtype=np.float32)
    y = np.arange(37) % 5
    w = rng.random(37)
    return X, y, w


@pytest.mark.parametrize("shuffle", [False, True])
def test_every_row_once_per_epoch_in_batches(arrays, shuffle):
    X, y, w = arrays
    order = RowOrder(len(y), seed=0) if shuffle else None
    if shuffle:
        order.on_epoch_begin(0)
    batches = _epoch(training_dataset((X, y, w), 8, order))
    assert [len(b[0]) for b in batches] == [8, 8, 8, 8, 5]  # remainder last, as in Keras
    Xe, ye, we = (np.concatenate(parts) for parts in zip(*batches))
    assert Xe.dtype == np.float32 and Xe.shape == X.shape
    rows = np.array([np.flatnonzero((X == row).all(axis=(1, 2, 3)))[0] for row in Xe])
    assert sorted(rows) == list(range(37))  # each row exactly once
    np.testing.assert_array_equal(ye, y[rows])  # rows stay with their labels and weights
    np.testing.assert_array_equal(we, w[rows])
    assert np.array_equal(rows, np.arange(37)) != shuffle


def _orders(seed, first_epoch=0, epochs=3):
    y = np.arange(50)
    order = RowOrder(50, seed, first_epoch=first_epoch)
    dataset = training_dataset((y[:, None].astype(np.float32), y), 50, order)
    orders = []
    for epoch in range(epochs):
        order.on_epoch_begin(epoch)
        orders.append(_epoch(dataset)[0][1])
    return orders


def test_a_new_order_every_epoch_reproducible_from_the_seed():
    first = _orders(0)
    assert not np.array_equal(first[0], first[1])
    for a, b in zip(first, _orders(0)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], _orders(1)[0])
    # a warm start continues the sequence of orders
    np.testing.assert_array_equal(_orders(0, first_epoch=2, epochs=1)[0], first[2])
    assert not np.array_equal(_orders(None)[0], _orders(None)[0])


def test_the_order_does_not_depend_on_tensorflows_global_seed():
    import tensorflow as tf

    tf.random.set_seed(123)
    after_seed = _orders(0)
    tf.random.set_seed(456)
    for a, b in zip(after_seed, _orders(0)):
        np.testing.assert_array_equal(a, b)
