"""The input pipeline behind every fit (skfmnist.models._input)."""

import numpy as np
import pytest

from skfmnist.models._input import as_tensor, training_dataset
from skfmnist.utils._arrays import aligned_empty
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


def _aligned_copy(a):
    out = aligned_empty(a.shape, a.dtype)
    out[...] = a
    return out


def test_aligned_arrays_become_tensors_without_a_copy():
    X = _aligned_copy(np.arange(12, dtype=np.float32).reshape(3, 4))
    tensor = as_tensor(X)
    np.testing.assert_array_equal(tensor.numpy(), X)
    X[0, 0] = 99.0  # shared memory: the tensor sees the change
    assert float(tensor[0, 0]) == 99.0


def _read_only(a):
    a = _aligned_copy(a)
    a.flags.writeable = False
    return a


def _off_the_boundary(a):
    flat = aligned_empty(a.size + 1, a.dtype)[1:]  # C-contiguous, one item past a 64-byte boundary
    flat[:] = a.ravel()
    return flat.reshape(a.shape)


@pytest.mark.parametrize(
    "make",
    [
        lambda a: _aligned_copy(np.pad(a, ((0, 0), (1, 0))))[:, 1:],  # aligned buffer, rows strided
        lambda a: np.asfortranarray(_aligned_copy(a)),
        _off_the_boundary,
        _read_only,
    ],
    ids=["strided", "fortran", "unaligned", "read-only"],
)
def test_other_arrays_are_copied(make):
    values = np.arange(24, dtype=np.float32).reshape(4, 6)
    X = make(values)
    np.testing.assert_array_equal(X, values)
    tensor = as_tensor(X)
    np.testing.assert_array_equal(tensor.numpy(), values)
    if X.flags.writeable:
        X[...] = -1.0  # a copy: the tensor keeps the values it was made with
        np.testing.assert_array_equal(tensor.numpy(), values)


def test_the_pipeline_hands_the_scaled_images_to_tensorflow_without_a_copy(monkeypatch):
    # a fit on PixelScaler's output makes no tensor copy of the images
    import tensorflow as tf

    from skfmnist import make_model_pipeline

    copied = []
    convert = tf.convert_to_tensor

    def recording_convert(value, *args, **kwargs):
        if isinstance(value, np.ndarray):
            copied.append(value.shape)
        return convert(value, *args, **kwargs)

    monkeypatch.setattr(tf, "convert_to_tensor", recording_convert)
    X = np.random.default_rng(0).integers(0, 256, size=(40, 784), dtype=np.uint8)
    y = np.arange(40) % 4
    make_model_pipeline("dense", hidden_layer_sizes=(8,), epochs=1, random_state=0).fit(X, y)
    assert (40, 784) not in copied
    assert copied  # the labels (not aligned) are still converted by a copy: the patch was in effect


def _memory_of(tensor):
    """A NumPy view of a CPU tensor's memory (through DLPack)."""
    import tensorflow as tf

    class Capsule:
        def __dlpack__(self, **kwargs):
            return tf.experimental.dlpack.to_dlpack(tensor)

        def __dlpack_device__(self):
            return (1, 0)  # kDLCPU

    return np.from_dlpack(Capsule())


def test_prediction_batches_of_aligned_images_are_not_copied(monkeypatch):
    import tensorflow as tf

    from skfmnist import make_model_pipeline

    X = np.random.default_rng(0).integers(0, 256, size=(40, 784), dtype=np.uint8)
    pipe = make_model_pipeline("dense", hidden_layer_sizes=(8,), epochs=1, random_state=0).fit(X, np.arange(40) % 4)
    clf, scaled = pipe[-1], pipe[0].transform(X)  # PixelScaler's output: aligned
    batches = []
    predict_on_batch = clf.model_.predict_on_batch
    monkeypatch.setattr(clf.model_, "predict_on_batch", lambda batch: batches.append(batch) or predict_on_batch(batch))
    expected = clf.predict_proba(scaled)
    (batch,) = batches
    assert isinstance(batch, tf.Tensor) and np.shares_memory(_memory_of(batch), scaled)
    batches.clear()
    scaled.flags.writeable = False  # the same values, converted by a copy: the same output
    np.testing.assert_array_equal(clf.predict_proba(scaled), expected)
    assert not np.shares_memory(_memory_of(batches[0]), scaled)
