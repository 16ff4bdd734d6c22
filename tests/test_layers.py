"""FusedBatchNormalization: Keras' batch normalization on TensorFlow's fused kernel, with Keras' results."""

import numpy as np
import pytest
import tensorflow as tf  # installed with skfmnist whatever the backend

from skfmnist.models import FusedBatchNormalization
from skfmnist.models._networks import build_cnn, build_deep_cnn
from skfmnist.utils._keras import import_keras

from .conftest import tensorflow_only

pytestmark = tensorflow_only  # the fused kernel is TensorFlow's; elsewhere the layer is Keras' own

keras = import_keras()


def _pair(shape, **kwargs):
    """Keras' layer and the fused one, built on ``shape`` with the same random gamma/beta/moving stats."""
    rng = np.random.default_rng(0)
    ours, theirs = FusedBatchNormalization(**kwargs), keras.layers.BatchNormalization(**kwargs)
    for layer in (ours, theirs):
        layer.build(shape)
    for w in range(4):
        value = rng.uniform(0.5, 1.5, size=shape[kwargs.get("axis", -1)]).astype("float32")
        ours.weights[w].assign(value)
        theirs.weights[w].assign(value)
    return ours, theirs


def _step(layer, x, training):
    """Output, gradients (input, gamma, beta) of a weighted sum, and the moving statistics after one call."""
    x = tf.convert_to_tensor(x)
    upstream = tf.constant(np.random.default_rng(1).normal(size=x.shape).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=training)
        loss = tf.reduce_sum(tf.cast(y, "float32") * upstream)
    grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
    return [tf.cast(y, "float32"), *grads, tf.identity(layer.moving_mean), tf.identity(layer.moving_variance)]


@pytest.mark.parametrize("shape", [(16, 5, 6, 3), (32, 7)], ids=["images", "flat"])
@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize("graph", [False, True], ids=["eager", "tf.function"])
def test_fused_matches_keras(shape, training, graph):
    x = np.random.default_rng(2).normal(3.0, 2.0, size=shape).astype("float32")
    ours, theirs = _pair(shape, momentum=0.9, epsilon=1e-3)
    wrap = tf.function if graph else (lambda f: f)
    ours_step, theirs_step = (wrap(lambda x, bn=layer: _step(bn, x, training)) for layer in (ours, theirs))
    before = ours.moving_mean.numpy().copy()
    got, expected = ([t.numpy() for t in step(x)] for step in (ours_step, theirs_step))
    names = ["output", "d input", "d gamma", "d beta", "moving mean", "moving variance"]
    for name, g, e in zip(names, got, expected):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=2e-4, atol=2e-5, err_msg=name)
    # training moves the moving statistics, inference leaves them (so the comparison above is not vacuous)
    assert np.allclose(ours.moving_mean.numpy(), before) != training


def test_moving_variance_is_keras_biased_one():
    """Keras updates the moving variance with the biased batch variance; the kernel returns the unbiased one."""
    x = np.random.default_rng(3).normal(size=(4, 2, 2, 3)).astype("float32")  # n = 16 per channel
    layer = FusedBatchNormalization(momentum=0.0)  # moving stats := batch stats
    layer.build(x.shape)
    layer(x, training=True)
    np.testing.assert_allclose(layer.moving_variance.numpy(), x.reshape(-1, 3).var(axis=0), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), x.reshape(-1, 3).mean(axis=0), rtol=1e-5, atol=1e-6)


def test_bfloat16_close_to_keras():
    shape = (8, 6, 6, 4)
    x = np.random.default_rng(4).normal(size=shape).astype("float32")
    ours, theirs = _pair(shape, dtype="mixed_bfloat16")
    xb = tf.cast(x, "bfloat16")
    y_ours, y_theirs = ours(xb, training=True), theirs(xb, training=True)
    assert y_ours.dtype == y_theirs.dtype == tf.bfloat16
    np.testing.assert_allclose(
        tf.cast(y_ours, "float32").numpy(), tf.cast(y_theirs, "float32").numpy(), rtol=2e-2, atol=2e-2
    )


def test_keras_result_where_the_kernel_does_not_apply():
    """An axis other than the last: the same result as Keras' layer (its own code)."""
    shape = (8, 3, 5, 5)
    x = np.random.default_rng(5).normal(size=shape).astype("float32")
    ours, theirs = _pair(shape, axis=1)
    np.testing.assert_allclose(ours(x, training=True).numpy(), theirs(x, training=True).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("builder", [build_cnn, build_deep_cnn])
def test_networks_use_it_and_round_trip_in_safe_mode(builder, tmp_path):
    params = {"filters": (4,), "kernel_size": 3, "dense_units": 5, "dropout": 0.1, "augment": True, "max_shift": 0.1,
              "horizontal_flip": True, "seed": 0}
    params.update({"batch_norm": True} if builder is build_cnn else {"convs_per_block": (2,), "conv_dropout": 0.1})
    model = builder({"X_shape_": (None, 8, 8, 1), "n_classes_": 3}, **params)
    bn = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert bn and {type(layer) for layer in bn} == {FusedBatchNormalization}
    # the .keras format round trip (safe mode) restores the layer and its statistics
    x = np.random.default_rng(6).uniform(size=(4, 8, 8, 1)).astype("float32")
    model(x, training=True)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
