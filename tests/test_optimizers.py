"""FusedAdam: Adam (AdamW with weight_decay) on TensorFlow's fused kernel, with Keras' results."""

import numpy as np
import pytest
import tensorflow as tf

from skfmnist import DenseClassifier
from skfmnist.models import FusedAdam
from skfmnist.utils._keras import import_keras

keras = import_keras()

PAIRS = [
    (keras.optimizers.Adam, {"learning_rate": 1e-2}),
    (keras.optimizers.AdamW, {"learning_rate": 1e-2, "weight_decay": 0.05}),
    (keras.optimizers.Adam, {"learning_rate": keras.optimizers.schedules.CosineDecay(1e-2, 10), "beta_1": 0.8,
                             "epsilon": 1e-5}),
]


def _run(optimizer, *, steps=25, graph=False):
    """Apply ``steps`` random gradients to two variables; return their values."""
    rng = np.random.default_rng(0)
    variables = [
        keras.Variable(rng.normal(size=(7, 5)).astype("float32")),
        keras.Variable(rng.normal(size=(5,)).astype("float32")),
    ]
    grads = [[rng.normal(size=v.shape).astype("float32") for v in variables] for _ in range(steps)]
    optimizer.build(variables)

    def step(g):
        optimizer.apply(g, variables)

    if graph:
        step = tf.function(step)
    for g in grads:
        step([tf.constant(x) for x in g])
    return [keras.ops.convert_to_numpy(v) for v in variables], int(optimizer.iterations.numpy())


@pytest.mark.parametrize("graph", [False, True], ids=["eager", "tf.function"])
@pytest.mark.parametrize("keras_class, kwargs", PAIRS, ids=["adam", "adamw", "adam-schedule"])
def test_fused_matches_keras(keras_class, kwargs, graph):
    expected, steps = _run(keras_class(**kwargs), graph=graph)
    weight_decay = kwargs.get("weight_decay", keras_class(**kwargs).weight_decay)
    got, fused_steps = _run(FusedAdam(**{**kwargs, "weight_decay": weight_decay}), graph=graph)
    assert fused_steps == steps == 25
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=1e-6)
    start, _ = _run(FusedAdam(**kwargs), steps=0)
    assert not np.allclose(got[0], start[0])  # the update moved the variables


def test_saved_with_its_moments_and_trains_on_identically(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.random((48, 12), dtype=np.float32), rng.integers(0, 3, 48)
    model = DenseClassifier(hidden_layer_sizes=(8,), epochs=2, weight_decay=0.01, random_state=0).fit(X, y).model_
    assert type(model.optimizer) is FusedAdam
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded.optimizer) is FusedAdam
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    model.fit(X, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    loaded.fit(X, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(b), keras.ops.convert_to_numpy(a), rtol=1e-6, atol=1e-7)
