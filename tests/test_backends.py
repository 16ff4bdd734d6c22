"""Keras' backends: what skfmnist chooses per backend and device, and a model moving between backends.

The rest of the suite runs on whichever backend ``KERAS_BACKEND`` names (CI
runs the fast tests on TensorFlow, JAX and PyTorch); these tests are about
the choices themselves.
"""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skfmnist import DenseClassifier, KerasClassifier, _backends
from skfmnist.utils import versions
from skfmnist.utils._keras import import_keras

from .conftest import BACKEND

keras = import_keras()


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def test_the_backend_is_keras_own_and_named_in_the_versions():
    assert _backends.name() == keras.backend.backend() == BACKEND
    assert versions()["keras_backend"] == BACKEND
    assert _backends.current().__name__.endswith(_backends.BACKENDS[BACKEND])


def test_a_backend_skfmnist_cannot_train_on_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(_backends, "name", lambda: "numpy")
    with pytest.raises(RuntimeError, match=r"'numpy' backend.*'tensorflow', 'jax', 'torch'.*KERAS_BACKEND"):
        _backends.current()


class _FakeBackend:
    """The current backend's module, with a GPU of the given kind in place of its accelerator."""

    def __init__(self, device):
        self._module, self._device = _backends.current(), device

    def __getattr__(self, name):
        return getattr(self._module, name)

    def accelerator(self):
        return self._device


@pytest.mark.parametrize("bfloat16, expected", [(True, "bfloat16"), (False, "float16")])
def test_auto_precision_on_a_gpu_is_its_mixed_precision(monkeypatch, digits, bfloat16, expected):
    X, y = digits
    fake = _FakeBackend(_backends.Accelerator(name="a GPU", bfloat16=bfloat16))
    monkeypatch.setattr(_backends, "current", lambda: fake)
    clf = DenseClassifier(epochs=2, compute_dtype="auto", random_state=0).fit(X[:400], y[:400])
    assert clf.compute_dtype == "auto" and clf.compute_dtype_ == expected
    assert clf.model_.dtype_policy.name == f"mixed_{expected}"
    if expected == "float16":  # Keras scales the loss of float16 training
        assert isinstance(clf.model_.optimizer, keras.optimizers.LossScaleOptimizer)
    proba = clf.predict_proba(X[400:450])
    assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1, atol=1e-3)


def test_auto_precision_on_a_cpu_follows_the_cpu_rule(monkeypatch, digits):
    from skfmnist.models import _classifier

    X, y = digits
    cpu_only = _FakeBackend(None)
    monkeypatch.setattr(_backends, "current", lambda: cpu_only)
    for prefers, expected in ((True, "bfloat16"), (False, "float32")):
        monkeypatch.setattr(_classifier, "prefers_bfloat16", lambda prefers=prefers: prefers)
        clf = DenseClassifier(epochs=1, compute_dtype="auto", random_state=0).fit(X[:200], y[:200])
        assert clf.compute_dtype_ == expected


def test_float16_trains_as_well_as_float32(digits):
    X, y = digits
    scores = {}
    for dtype in ("float32", "float16"):  # (float16 is slow on CPUs: a small network)
        clf = DenseClassifier((64,), epochs=12, learning_rate=4e-3, compute_dtype=dtype, random_state=0)
        clf.fit(X[:1200], y[:1200])
        scores[dtype] = clf.score(X[1200:], y[1200:])
    assert scores["float16"] > 0.85 and abs(scores["float16"] - scores["float32"]) < 0.03


_LOAD_ELSEWHERE = """
import json, sys
import numpy as np
import skfmnist
clf = skfmnist.load(sys.argv[1])
X = np.load(sys.argv[2])
print(json.dumps({"backend": skfmnist.utils.versions()["keras_backend"],
                  "proba": clf.predict_proba(X).tolist(), "score": float(clf.score(X, np.load(sys.argv[3])))}))
"""


@pytest.mark.parametrize("other", ["tensorflow", "jax", "torch"])
def test_a_model_saved_on_one_backend_predicts_the_same_in_a_new_process_on_each(tmp_path, digits, other):
    if importlib.util.find_spec(other) is None:
        pytest.skip(f"the {other} backend is not installed (pip install 'skfmnist[{other}]')")
    from skfmnist import CNNClassifier, save

    X, y = digits
    clf = CNNClassifier(epochs=2, compute_dtype="float32", random_state=0).fit(X[:600], y[:600])
    path = save(clf, tmp_path / "cnn.skfmnist")
    np.save(tmp_path / "X.npy", X[600:700])
    np.save(tmp_path / "y.npy", y[600:700])
    env = {**os.environ, "KERAS_BACKEND": other}
    out = subprocess.run([sys.executable, "-c", _LOAD_ELSEWHERE, str(path), str(tmp_path / "X.npy"),
                          str(tmp_path / "y.npy")], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    there = json.loads(out.stdout.strip().splitlines()[-1])
    assert there["backend"] == other
    np.testing.assert_allclose(there["proba"], clf.predict_proba(X[600:700]), atol=1e-4)
    assert there["score"] == pytest.approx(clf.score(X[600:700], y[600:700]))


def test_user_network_with_stock_layers_fits_reproducibly(digits):
    X, y = digits

    def build(meta):
        return keras.Sequential([
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ])

    fits = [KerasClassifier(build, epochs=10, random_state=0).fit(X[:1000], y[:1000]) for _ in range(2)]
    np.testing.assert_array_equal(fits[0].predict_proba(X[1000:]), fits[1].predict_proba(X[1000:]))
    assert fits[0].score(X[1000:], y[1000:]) > 0.8


_FIT_ON_JAX = """
import json, sys, warnings
import jax
import numpy as np
from sklearn.datasets import load_digits
X, y = load_digits(return_X_y=True)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from skfmnist import DenseClassifier
    clf = DenseClassifier(hidden_layer_sizes=(16,), epochs=2, random_state=0).fit(X[:500] / 16, y[:500])
proba = clf.predict_proba(X[500:520] / 16).tolist()
warned = [str(w.message).split(" '")[0] for w in caught if w.category.__name__ == "PerformanceWarning"]
print(json.dumps({"folder": jax.config.jax_compilation_cache_dir, "proba": proba, "warned": warned}))
"""


def _fit_on_jax(**env_changes):
    env = {k: v for k, v in os.environ.items() if k not in ("SKFMNIST_JAX_CACHE", "JAX_COMPILATION_CACHE_DIR")}
    env.update(KERAS_BACKEND="jax", **env_changes)
    out = subprocess.run([sys.executable, "-c", _FIT_ON_JAX], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _programs(folder):
    return sorted(p.name for p in folder.rglob("*-cache"))


@pytest.mark.skipif(BACKEND != "jax", reason="what skfmnist sets up on JAX: runs in the suite's run on JAX")
def test_jax_reads_back_what_it_compiled_in_skfmnist_cache_folder(tmp_path):
    ours = tmp_path / "skfmnist-cache"
    first = _fit_on_jax(SKFMNIST_JAX_CACHE=str(ours))
    assert first["folder"].startswith(str(ours))
    programs = _programs(ours)
    assert programs, "nothing compiled went into the cache folder"
    assert (os.stat(first["folder"]).st_mode & 0o777) == 0o700  # JAX runs what it finds there: the owner's only
    second = _fit_on_jax(SKFMNIST_JAX_CACHE=str(ours))
    assert _programs(ours) == programs  # the same network in a new process: every program read back
    np.testing.assert_array_equal(second["proba"], first["proba"])  # and they compute the same

    theirs = tmp_path / "jax-own"  # a folder set for JAX itself wins, with JAX's own settings
    assert _fit_on_jax(SKFMNIST_JAX_CACHE=str(tmp_path / "unused"), JAX_COMPILATION_CACHE_DIR=str(theirs))[
        "folder"] == str(theirs)
    assert not (tmp_path / "unused").exists()
    assert _fit_on_jax(SKFMNIST_JAX_CACHE="0")["folder"] is None
    (tmp_path / "a-file").write_text("")  # a folder that cannot be made: a warning, and no cache
    unwritable = _fit_on_jax(SKFMNIST_JAX_CACHE=str(tmp_path / "a-file" / "cache"))
    assert unwritable["folder"] is None
    assert unwritable["warned"] == ["JAX's compilation cache is off: skfmnist cannot create its folder"]
