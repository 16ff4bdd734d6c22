"""The input pipeline behind every fit (skfmnist.models._input)."""

import numpy as np
import pytest

from skfmnist.models._input import training_dataset
from skfmnist.utils._tf import seeded


def _epoch(dataset):
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
    batches = _epoch(training_dataset((X, y, w), 8, shuffle=shuffle))
    assert [len(b[0]) for b in batches] == [8, 8, 8, 8, 5]  # remainder last, as in Keras
    Xe, ye, we = (np.concatenate(parts) for parts in zip(*batches))
    assert Xe.dtype == np.float32 and Xe.shape == X.shape
    order = np.array([np.flatnonzero((X == row).all(axis=(1, 2, 3)))[0] for row in Xe])
    assert sorted(order) == list(range(37))  # each row exactly once
    np.testing.assert_array_equal(ye, y[order])  # rows stay with their labels and weights
    np.testing.assert_array_equal(we, w[order])
    if shuffle:
        assert not np.array_equal(order, np.arange(37))
    else:
        np.testing.assert_array_equal(order, np.arange(37))


def _orders(seed, epochs=2):
    y = np.arange(50)
    with seeded(seed):
        dataset = training_dataset((y[:, None].astype(np.float32), y), 50, shuffle=True)
        return [_epoch(dataset)[0][1] for _ in range(epochs)]


def test_reshuffled_every_epoch_and_reproducible_when_seeded():
    first, second = _orders(0)
    assert not np.array_equal(first, second)  # a new order each epoch
    again = _orders(0)
    np.testing.assert_array_equal(first, again[0])  # same seed, same orders
    np.testing.assert_array_equal(second, again[1])
    assert not np.array_equal(first, _orders(1)[0])


def test_autotuning_is_off(arrays):
    # the reason this pipeline exists: tf.data's autotuner stalled whole
    # epochs on 2 cores (see the module docstring)
    X, y, _ = arrays
    options = training_dataset((X, y), 8, shuffle=True).options()
    assert options.autotune.enabled is False
