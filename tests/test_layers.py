"""FusedBatchNormalization (Keras' batch normalization by TensorFlow's fused kernel) and MaskBitsDropout."""

import numpy as np
import pytest
import tensorflow as tf

from skfmnist.models._builders import build_cnn, build_deep_cnn, build_dense
from skfmnist.models._layers import FusedBatchNormalization, MaskBitsDropout, _mask_bits
from skfmnist.utils._tf import import_keras

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


def test_bfloat16_close_to_keras_and_uses_the_kernel():
    shape = (8, 6, 6, 4)
    x = np.random.default_rng(4).normal(size=shape).astype("float32")
    ours, theirs = _pair(shape, dtype="mixed_bfloat16")
    xb = tf.cast(x, "bfloat16")
    y_ours, y_theirs = ours(xb, training=True), theirs(xb, training=True)
    assert y_ours.dtype == y_theirs.dtype == tf.bfloat16
    np.testing.assert_allclose(
        tf.cast(y_ours, "float32").numpy(), tf.cast(y_theirs, "float32").numpy(), rtol=2e-2, atol=2e-2
    )
    graph = tf.function(lambda x: ours(x, training=True)).get_concrete_function(tf.TensorSpec(shape, "bfloat16")).graph
    assert any(op.type.startswith("FusedBatchNorm") for op in graph.get_operations())


def test_falls_back_to_keras_where_the_kernel_does_not_apply():
    """axis other than the last: Keras' own code, same result as Keras' layer."""
    shape = (8, 3, 5, 5)
    x = np.random.default_rng(5).normal(size=shape).astype("float32")
    ours, theirs = _pair(shape, axis=1)
    np.testing.assert_allclose(ours(x, training=True).numpy(), theirs(x, training=True).numpy(), rtol=1e-5, atol=1e-6)
    graph = tf.function(lambda x: ours(x, training=True)).get_concrete_function(tf.TensorSpec(shape)).graph
    assert not any(op.type.startswith("FusedBatchNorm") for op in graph.get_operations())


@pytest.mark.parametrize("builder", [build_cnn, build_deep_cnn])
def test_builders_use_it_and_keras_layer_on_request(builder, tmp_path):
    kwargs = {"batch_norm": True} if builder is build_cnn else {}
    model = builder((8, 8, 1), 3, filters=(4,), dense_units=5, **kwargs)
    bn = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert {type(layer) for layer in bn} == {FusedBatchNormalization}
    plain = builder((8, 8, 1), 3, filters=(4,), dense_units=5, fused_batch_norm=False, **kwargs)
    plain_bn = {type(layer) for layer in plain.layers if isinstance(layer, keras.layers.BatchNormalization)}
    assert plain_bn == {keras.layers.BatchNormalization}
    # the .keras format round trip (safe mode) restores the layer and its statistics
    x = np.random.default_rng(6).uniform(size=(4, 8, 8, 1)).astype("float32")
    model(x, training=True)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)


# --- MaskBitsDropout: Keras' dropout deciding each unit from a few random bits ---------------------------------


@pytest.mark.parametrize(
    "rate, bits, threshold",
    [(0.25, 8, 64), (0.5, 8, 128), (1 / 1024, 16, 64), (0.4, 32, round(0.4 * 2**32)), (1e-12, 32, 1)],
)
def test_mask_bits_hold_the_rate(rate, bits, threshold):
    assert _mask_bits(rate) == (bits, threshold)
    assert abs(threshold / 2**bits - rate) <= max(2**-32, 1e-12)


@pytest.mark.parametrize("rate", [0.25, 0.4, 0.7])
@pytest.mark.parametrize("dtype", ["float32", "mixed_bfloat16"])
def test_drops_the_rate_and_scales_like_keras(rate, dtype):
    layer = MaskBitsDropout(rate, seed=3, dtype=dtype)
    x = tf.ones((64, 14, 14, 32))  # 401,408 units: the drop fraction's standard error is below 0.001
    y = tf.cast(layer(x, training=True), "float32").numpy()
    dropped = np.mean(y == 0)
    assert abs(dropped - rate) < 0.004, dropped
    scale = tf.cast(tf.constant(1 / (1 - rate), layer.compute_dtype), "float32").numpy()
    np.testing.assert_array_equal(np.unique(y), [0.0, scale])  # kept units scaled as Keras scales them
    # independent decisions: neighbouring units (which share a random word at 8 bits) are not correlated
    flat = (y.reshape(-1) == 0).astype(float)
    assert abs(np.corrcoef(flat[:-1], flat[1:])[0, 1]) < 0.01


def test_reproducible_from_its_seed_and_new_masks_each_call():
    x = tf.ones((8, 10))
    a, b = MaskBitsDropout(0.25, seed=5), MaskBitsDropout(0.25, seed=5)
    first = a(x, training=True).numpy()
    np.testing.assert_array_equal(first, b(x, training=True).numpy())
    assert not np.array_equal(first, a(x, training=True).numpy())
    assert not np.array_equal(first, MaskBitsDropout(0.25, seed=6)(x, training=True).numpy())


def test_gradient_passes_kept_units_scaled_and_inference_is_identity():
    layer = MaskBitsDropout(0.5, seed=1)
    x = tf.constant(np.random.default_rng(7).normal(size=(16, 12)).astype("float32"))

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            total = tf.reduce_sum(y)
        return y, tape.gradient(total, x)

    y, grad = (t.numpy() for t in step(x))
    kept = y != 0
    np.testing.assert_allclose(y[kept], 2 * x.numpy()[kept], rtol=1e-6)
    np.testing.assert_array_equal(grad, np.where(kept, 2.0, 0.0))
    graph = step.get_concrete_function(tf.TensorSpec((16, 12))).graph
    ops_used = {op.type for op in graph.get_operations()}
    assert "StatelessRandomUniformFullIntV2" in ops_used and "StatelessRandomUniformV2" not in ops_used
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x.numpy())


def test_kept_units_and_their_gradients_are_scaled_exactly_in_bfloat16():
    # the layer multiplies by a mask of scale-or-zero: the same bfloat16 values as Keras' x * scale
    layer = MaskBitsDropout(0.25, seed=3, dtype="mixed_bfloat16")
    rng = np.random.default_rng(8)
    x = tf.cast(tf.constant(rng.normal(size=(64, 7, 7, 16)).astype("float32")), "bfloat16")
    upstream = tf.cast(tf.constant(rng.normal(size=(64, 7, 7, 16)).astype("float32")), "bfloat16")
    scale = tf.constant(1 / 0.75, "bfloat16")
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
    grad = tape.gradient(y, x, output_gradients=upstream)
    kept = (y != 0).numpy()
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_array_equal(y.numpy()[kept], (x * scale).numpy()[kept])
    np.testing.assert_array_equal(grad.numpy(), np.where(kept, (upstream * scale).numpy(), 0))


def test_falls_back_to_keras_dropout_with_a_noise_shape():
    x = tf.ones((32, 6, 6, 4))
    y = MaskBitsDropout(0.5, noise_shape=(32, 1, 1, 4), seed=2)(x, training=True).numpy()
    # Keras' own code: one decision per (image, channel), broadcast over the pixels
    assert np.all(y == y[:, :1, :1, :])
    assert 0 < np.mean(y == 0) < 1


@pytest.mark.parametrize(
    "build, rates",
    [
        (lambda **kw: build_deep_cnn((8, 8, 1), 3, filters=(4,), dense_units=5, **kw), [0.25, 0.4]),
        (lambda **kw: build_dense((12,), 3, hidden_layer_sizes=(6, 5), dropout=0.3125, **kw), [0.3125, 0.3125]),
    ],
    ids=["deep_cnn", "dense"],
)
def test_networks_use_it_and_keras_layer_on_request(tmp_path, build, rates):
    model = build()
    dropouts = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert len(dropouts) == 2 and {type(layer) for layer in dropouts} == {MaskBitsDropout}
    plain = build(mask_bits_dropout=False)
    assert {type(layer) for layer in plain.layers if isinstance(layer, keras.layers.Dropout)} == {keras.layers.Dropout}
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert [layer.rate for layer in loaded.layers if isinstance(layer, MaskBitsDropout)] == rates
