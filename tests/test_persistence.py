"""Safe model files: round trip, damaged and incompatible files."""

import json
import zipfile

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfmnist import DenseClassifier, load, make_model_pipeline, save
from skfmnist.exceptions import ModelFileError


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(120, 784), dtype=np.uint8)
    y = np.array(["bag", "coat", "shirt"])[np.arange(120) % 3]
    return make_model_pipeline("cnn", filters=(4,), dense_units=8, epochs=1, random_state=0).fit(X, y), X


def test_round_trip_identical_predictions(fitted, tmp_path):
    pipe, X = fitted
    path = save(pipe, tmp_path / "m.skfmnist")
    loaded = load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    np.testing.assert_array_equal(loaded.classes_, pipe.classes_)
    assert loaded.named_steps["clf"].filters == (4,)
    assert loaded.named_steps["clf"].history_ == pipe.named_steps["clf"].history_


def test_round_trip_keeps_bfloat16_compute(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(60, 784), dtype=np.uint8)
    y = np.arange(60) % 3
    pipe = make_model_pipeline(
        "deep_cnn", filters=(4,), convs_per_block=1, dense_units=8, epochs=1,
        compute_dtype="bfloat16", random_state=0,
    ).fit(X, y)
    loaded = load(save(pipe, tmp_path / "m.skfmnist"))
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    assert loaded.named_steps["clf"].compute_dtype == "bfloat16"
    conv = next(layer for layer in loaded.named_steps["clf"].model_.layers if "Conv" in type(layer).__name__)
    assert conv.dtype_policy.name == "mixed_bfloat16"


def test_file_holds_no_pickle(fitted, tmp_path):
    pipe, _ = fitted
    path = save(pipe, tmp_path / "m.skfmnist")
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["manifest.json", "step2.keras"]
        json.loads(zf.read("manifest.json"))


def test_damaged_file(fitted, tmp_path):
    pipe, _ = fitted
    path = save(pipe, tmp_path / "m.skfmnist")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="damaged or not a skfmnist model file"):
        load(path)


def test_newer_format_is_refused(fitted, tmp_path):
    pipe, _ = fitted
    path = save(pipe, tmp_path / "m.skfmnist")
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        model = zf.read("step2.keras")
    manifest["format_version"] = 99
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("step2.keras", model)
    with pytest.raises(ModelFileError, match="format 99.*Upgrade skfmnist"):
        load(path)


def test_not_a_model_file(tmp_path):
    path = tmp_path / "x.skfmnist"
    path.write_text("hello")
    with pytest.raises(ModelFileError):
        load(path)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.skfmnist")


def test_foreign_steps_are_refused(tmp_path):
    X, y = make_classification(n_samples=60, random_state=0)
    pipe = make_pipeline(StandardScaler(), DenseClassifier(hidden_layer_sizes=(4,), epochs=1)).fit(X, y)
    with pytest.raises(TypeError, match="skfmnist estimators and pipelines of them only"):
        save(pipe, tmp_path / "m.skfmnist")
    assert not (tmp_path / "m.skfmnist").exists()


def test_keras_classes_and_objects_as_parameters_are_saved(tmp_path):
    import keras
    from sklearn.datasets import make_classification

    from skfmnist import KerasClassifier, load, save

    def build(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(meta["n_classes_"], activation="softmax")])

    X, y = make_classification(n_samples=60, n_features=6, n_informative=4, n_classes=3, random_state=0)
    clf = KerasClassifier(build, optimizer=keras.optimizers.SGD, optimizer__momentum=0.5,
                          loss=keras.losses.SparseCategoricalCrossentropy(ignore_class=None),
                          metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=2)], epochs=1,
                          random_state=0).fit(X, y)
    restored = load(save(clf, tmp_path / "m.skfmnist"))
    params = restored.get_params()
    assert params["optimizer"] is keras.optimizers.SGD and params["optimizer__momentum"] == 0.5
    assert isinstance(params["metrics"][1], keras.metrics.Metric) and params["metrics"][1].get_config()["k"] == 2
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    restored.set_params(model=build, warm_start=True).fit(X, y)  # trains further with the restored parameters
    assert restored.n_epochs_ == 2 and isinstance(restored.model_.optimizer, keras.optimizers.SGD)


@pytest.mark.parametrize("value, message", [
    ({"__keras_class__": "os:system"}, "not one of Keras'"),
    ({"__keras__": {"module": "os", "class_name": "system", "config": {}}}, "not one of Keras'"),
])
def test_a_file_naming_code_outside_keras_is_refused(fitted, tmp_path, value, message):
    pipe, _ = fitted
    path = save(pipe, tmp_path / "m.skfmnist")
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        model = zf.read("step2.keras")
    manifest["steps"][-1]["params"]["optimizer"] = value
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("step2.keras", model)
    with pytest.raises(ModelFileError, match=message):
        load(path)


def test_save_replaces_only_an_earlier_model_file(fitted, tmp_path):
    pipe, _ = fitted
    path = save(pipe, tmp_path / "m.skfmnist")
    assert save(pipe, path) == path  # an earlier model file is replaced
    data = tmp_path / "train.npz"
    data.write_bytes(b"the user's data")
    with pytest.raises(FileExistsError, match="is not a skfmnist model file"):
        save(pipe, data)
    assert data.read_bytes() == b"the user's data"
    with pytest.raises(FileExistsError, match="is not a skfmnist model file"):
        save(pipe, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.skfmnist", "train.npz"]


def test_a_dense_classifier_saved_before_batch_norm_keeps_its_network(tmp_path):
    import pickle

    from sklearn.base import clone

    X, y = make_classification(n_samples=60, n_features=8, random_state=0)
    clf = DenseClassifier(hidden_layer_sizes=(4,), batch_norm=False, epochs=1, random_state=0).fit(X, y)
    # a model file written before the parameter existed: no batch_norm among its parameters
    new = save(clf, tmp_path / "new.skfmnist")
    old = tmp_path / "old.skfmnist"
    with zipfile.ZipFile(new) as src, zipfile.ZipFile(old, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "manifest.json":
                manifest = json.loads(data)
                del manifest["steps"][0]["params"]["batch_norm"]
                data = json.dumps(manifest)
            dst.writestr(item, data)
    loaded = load(old)
    assert loaded.batch_norm is False  # not today's default: the saved network has no normalization
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert load(new).batch_norm is False
    # a pickle from before the parameter: the same
    state = clf.__getstate__()
    del state["batch_norm"]
    unpickled = DenseClassifier.__new__(DenseClassifier)
    unpickled.__setstate__(state)
    assert unpickled.batch_norm is False
    np.testing.assert_array_equal(unpickled.predict_proba(X), clf.predict_proba(X))
    assert pickle.loads(pickle.dumps(DenseClassifier())).batch_norm is True  # today's pickles keep their value
    assert clone(unpickled).get_params()["batch_norm"] is False
