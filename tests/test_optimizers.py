"""FusedAdam / FusedAdamW: Keras' Adam and AdamW computed by TensorFlow's fused kernel."""

import numpy as np
import pytest
import tensorflow as tf

from skfmnist.models._builders import build_dense, compile_classifier
from skfmnist.models._optimizers import FusedAdam, FusedAdamW
from skfmnist.utils._tf import import_keras

keras = import_keras()

PAIRS = [
    (keras.optimizers.Adam, FusedAdam, {"learning_rate": 1e-2}),
    (keras.optimizers.AdamW, FusedAdamW, {"learning_rate": 1e-2, "weight_decay": 0.05}),
    (
        keras.optimizers.Adam,
        FusedAdam,
        {"learning_rate": keras.optimizers.schedules.CosineDecay(1e-2, 10), "beta_1": 0.8, "epsilon": 1e-5},
    ),
]


def _numpy(variable):
    return keras.ops.convert_to_numpy(variable)


def _run(optimizer_class, kwargs, *, steps=25, graph=False):
    """Apply ``steps`` random gradients to two variables; return their values and the moments."""
    rng = np.random.default_rng(0)
    variables = [
        keras.Variable(rng.normal(size=(7, 5)).astype("float32")),
        keras.Variable(rng.normal(size=(5,)).astype("float32")),
    ]
    grads = [[rng.normal(size=v.shape).astype("float32") for v in variables] for _ in range(steps)]
    optimizer = optimizer_class(**kwargs)  # a schedule is stateless, so both optimizers can share it
    optimizer.build(variables)

    def step(g):
        optimizer.apply(g, variables)

    if graph:
        step = tf.function(step)
    for g in grads:
        step([tf.constant(x) for x in g])
    state = [_numpy(v) for v in variables]
    state += [_numpy(m) for m in optimizer._momentums] + [_numpy(v) for v in optimizer._velocities]
    return state, int(optimizer.iterations.numpy())


@pytest.mark.parametrize("graph", [False, True], ids=["eager", "tf.function"])
@pytest.mark.parametrize("keras_class, fused_class, kwargs", PAIRS, ids=["adam", "adamw", "adam-schedule"])
def test_fused_matches_keras(keras_class, fused_class, kwargs, graph):
    expected, steps = _run(keras_class, kwargs, graph=graph)
    got, fused_steps = _run(fused_class, kwargs, graph=graph)
    assert fused_steps == steps == 25
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=1e-6)
    # the update moved the variables (a no-op would also "match" at step 0)
    start, _ = _run(fused_class, kwargs, steps=0)
    assert not np.allclose(got[0], start[0])


def _op_types(optimizer):
    variables = [keras.Variable(np.ones((3, 2), "float32"))]
    optimizer.build(variables)
    fn = tf.function(lambda g: optimizer.apply([g], variables))
    graph = fn.get_concrete_function(tf.TensorSpec((3, 2), tf.float32)).graph

    graph_def = graph.as_graph_def()  # the step's graph with the functions it calls
    return {node.op for node in graph_def.node} | {
        node.op for function in graph_def.library.function for node in function.node_def
    }


@pytest.mark.parametrize("fused_class", [FusedAdam, FusedAdamW])
def test_update_is_one_fused_kernel(fused_class):
    assert "ResourceApplyAdam" in _op_types(fused_class(learning_rate=1e-3))
    assert "ResourceApplyAdam" not in _op_types(keras.optimizers.Adam(learning_rate=1e-3))


def test_amsgrad_falls_back_to_keras():
    # ResourceApplyAdam has no AMSGrad; Keras' own update keeps the max of v
    assert "ResourceApplyAdam" not in _op_types(FusedAdam(amsgrad=True))
    expected, _ = _run(keras.optimizers.Adam, {"amsgrad": True})
    got, _ = _run(FusedAdam, {"amsgrad": True})
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("name, cls", [("adam", FusedAdam), ("adamw", FusedAdamW)])
def test_compile_classifier_uses_fused_and_round_trips(name, cls, tmp_path):
    model = compile_classifier(
        build_dense((12,), 3, hidden_layer_sizes=(8,), dropout=0.0),
        optimizer=name,
        weight_decay=0.01,
        lr_schedule="cosine",
        total_steps=6,
    )
    assert type(model.optimizer) is cls
    rng = np.random.default_rng(0)
    X, y = rng.random((48, 12), dtype=np.float32), rng.integers(0, 3, 48)
    model.fit(X, y, batch_size=16, epochs=2, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.optimizer) is cls
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(_numpy(a), _numpy(b))
    # training continues from the restored moments exactly as the original
    model.fit(X, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    loaded.fit(X, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_allclose(_numpy(b), _numpy(a), rtol=1e-6, atol=1e-7)
