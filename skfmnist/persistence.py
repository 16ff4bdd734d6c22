"""Save and load fitted skfmnist pipelines without pickle.

A ``.skfmnist`` file is a zip archive holding ``manifest.json`` (the steps,
their parameters and fitted attributes as plain JSON) and the network in
Keras' native ``.keras`` format, loaded with Keras' ``safe_mode``.  Loading
such a file runs no code from it, unlike pickle or joblib files, which can
execute arbitrary code and must only be loaded from trusted sources.
"""

# SPDX-License-Identifier: MIT

import json
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
from sklearn.pipeline import Pipeline

from ._registry import ESTIMATORS, estimator_class
from ._version import __version__
from .exceptions import ModelFileError

__all__ = ["FORMAT_VERSION", "load", "save"]

FORMAT = "skfmnist-model"
FORMAT_VERSION = 2

_FITTED = ("n_features_in_", "feature_names_in_", "mean_", "scale_", "image_shape_", "input_shape_", "history_",
           "n_epochs_", "best_epoch_", "n_trainable_params_", "compute_dtype_", "_optimizer_is_ours")


def _encode(value):
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str if value.dtype != object else "object"}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, type) and value.__module__.split(".")[0] == "keras":  # a Keras class: optimizer, loss, ...
        return {"__keras_class__": f"{value.__module__}:{value.__qualname__}"}
    if type(value).__module__.split(".")[0] == "keras" and hasattr(value, "get_config"):  # a Keras object
        import keras

        return {"__keras__": keras.saving.serialize_keras_object(value)}
    raise TypeError(type(value).__name__)


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        if "__ndarray__" in value:
            dtype = object if value["dtype"] == "object" else np.dtype(value["dtype"])
            return np.array(value["__ndarray__"], dtype=dtype)
        if "__keras_class__" in value:
            return _keras_class(value["__keras_class__"])
        if "__keras__" in value:
            import keras

            config = value["__keras__"]
            if not (isinstance(config, dict) and str(config.get("module", "")).split(".")[0] == "keras"):
                raise ModelFileError("the model file holds a parameter object that is not one of Keras'")
            return keras.saving.deserialize_keras_object(config, safe_mode=True)
        return {k: _decode(v) for k, v in value.items()}
    return value


def _keras_class(name):
    """The Keras class ``module:qualname`` names; only Keras' own modules are imported."""
    import importlib

    module, _, qualname = name.partition(":")
    if module.split(".")[0] != "keras":
        raise ModelFileError(f"the model file names the class {name!r}, which is not one of Keras'")
    value = importlib.import_module(module)
    for part in qualname.split("."):
        value = getattr(value, part)
    return value


def _describe(name, step):
    cls = type(step).__name__
    if cls not in ESTIMATORS or type(step).__module__.split(".")[0] != "skfmnist":
        raise TypeError(
            f"skfmnist.save stores skfmnist estimators and pipelines of them only; step "
            f"{name!r} is a {type(step).__module__}.{cls}. Use joblib for other objects "
            "(and load such files only from trusted sources)."
        )
    params = {}
    for key, value in step.get_params(deep=False).items():
        if key == "callbacks":
            params[key] = None  # Keras callbacks are code; they are not stored
            continue
        if key == "model":
            params[key] = None  # the builder is code: the file holds the network it built, not the builder
            continue
        try:
            params[key] = _encode(value)
        except TypeError:
            if key == "random_state":
                params[key] = None
            else:
                raise TypeError(f"parameter {name}.{key} of type {type(value).__name__} cannot be saved") from None
    fitted = {k: _encode(getattr(step, k)) for k in _FITTED if hasattr(step, k)}
    if hasattr(step, "classes_"):
        fitted["classes_"] = _encode(np.asarray(step.classes_))
    return {"name": name, "class": cls, "params": params, "fitted": fitted}


def _check_serializable(model):
    """Raise a ModelFileError naming a layer whose class Keras could not load in safe mode."""
    import keras

    stack = list(model.layers)
    while stack:
        layer = stack.pop()
        stack.extend(getattr(layer, "layers", []))
        cls = type(layer)
        if cls.__module__.split(".")[0] != "keras" and ">" not in keras.saving.get_registered_name(cls):
            raise ModelFileError(
                f"Layer {layer.name!r} is of class {cls.__module__}.{cls.__qualname__}, which is not registered "
                "for Keras serialization, so the saved network could not be loaded. Decorate the class with "
                "@keras.saving.register_keras_serializable(package='...') and import it before "
                "skfmnist.load (or keep the model with joblib, trusting the file)."
            )


def _is_model_file(path):
    """Whether ``path`` is a plain file holding a skfmnist model's manifest."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            return json.loads(zf.read("manifest.json")).get("format") == FORMAT
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, AttributeError):
        return False


def save(estimator, path):
    """Save a fitted skfmnist pipeline (or estimator) to a ``.skfmnist`` file.

    The file is written to a temporary name and renamed into place, so an
    interrupted save never leaves a damaged file under ``path``.  An
    existing ``path`` is replaced only if it is a model file of skfmnist's:
    any other file is kept, and the save is a ``FileExistsError``.  A
    :class:`~skfmnist.KerasClassifier`'s network is saved; its ``model``
    builder is code and is not: the loaded classifier predicts, and needs
    ``model`` set again to be refitted.

    Parameters
    ----------
    estimator : Pipeline or skfmnist estimator
        Fitted pipeline whose steps are skfmnist estimators.
    path : str or path-like
        Destination file.

    Returns
    -------
    path : pathlib.Path
    """
    from sklearn.utils.validation import check_is_fitted

    from .utils._keras import import_keras

    path = Path(path)
    if (path.exists() or path.is_symlink()) and not _is_model_file(path):
        raise FileExistsError(
            f"{path} exists and is not a skfmnist model file: save replaces only an earlier model file. "
            "Choose another path (model files end in .skfmnist)."
        )
    steps = estimator.steps if isinstance(estimator, Pipeline) else [(None, estimator)]
    check_is_fitted(steps[-1][1])
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skfmnist_version": __version__,
        "pipeline": isinstance(estimator, Pipeline),
        "steps": [_describe(name, step) for name, step in steps],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    try:
        with tempfile.TemporaryDirectory() as work, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for i, (_, step) in enumerate(steps):
                if hasattr(step, "model_"):
                    keras = import_keras()
                    manifest["keras_version"] = keras.__version__
                    manifest["keras_backend"] = keras.backend.backend()
                    _check_serializable(step.model_)
                    model_file = os.path.join(work, f"step{i}.keras")
                    step.model_.save(model_file)
                    zf.write(model_file, f"step{i}.keras")
                    manifest["steps"][i]["keras_model"] = f"step{i}.keras"
            zf.writestr("manifest.json", json.dumps(manifest, indent=1))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def _restore(spec, zf, work):
    if spec.get("class") not in ESTIMATORS:
        raise ModelFileError(f"unknown estimator class {spec.get('class')!r} in the model file")
    cls = estimator_class(spec["class"])
    # a parameter added after the file was written: the value that keeps the saved estimator's behaviour
    step = cls(**{**getattr(cls, "_added_params", {}), **_decode(spec["params"])})
    for key, value in _decode(spec["fitted"]).items():
        setattr(step, key, value)
    if "keras_model" in spec:
        from .utils._keras import import_keras

        keras = import_keras()
        model_path = zf.extract(spec["keras_model"], work)
        with warnings.catch_warnings():
            # Keras turns XLA off while it loads a model whose random image layers say they cannot take it (on JAX
            # they can); adapt() sets the estimator's choice again, and warns where a layer really cannot
            warnings.filterwarnings("ignore", message="Model doesn't support `jit_compile=True`", category=UserWarning)
            step.model_ = keras.saving.load_model(model_path, safe_mode=True)
        step._adapt_model()
    return step


def load(path):
    """Load a pipeline saved with :func:`save` (safe: runs no code from the file).

    Parameters
    ----------
    path : str or path-like
        A ``.skfmnist`` file.

    Returns
    -------
    estimator : Pipeline or skfmnist estimator
        The fitted pipeline, predicting exactly as before saving.

    Raises
    ------
    ModelFileError
        When the file is damaged, not a skfmnist model file, or from an
        incompatible version.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {path}.")
    try:
        with zipfile.ZipFile(path) as zf, tempfile.TemporaryDirectory() as work:
            try:
                manifest = json.loads(zf.read("manifest.json"))
            except KeyError:
                raise ModelFileError(f"{path} is not a skfmnist model file (no manifest.json).") from None
            if manifest.get("format") != FORMAT:
                raise ModelFileError(f"{path} is not a skfmnist model file.")
            version = manifest.get("format_version")
            if not isinstance(version, int) or version != FORMAT_VERSION:
                newer = isinstance(version, int) and version > FORMAT_VERSION
                raise ModelFileError(
                    f"{path} was written by skfmnist {manifest.get('skfmnist_version')} in model-file "
                    f"format {version}; this skfmnist ({__version__}) reads format {FORMAT_VERSION}. "
                    + ("Upgrade skfmnist to load it." if newer else "Fit the model again and save it with this "
                       "skfmnist (its networks are built from other layers).")
                )
            steps = [(spec["name"], _restore(spec, zf, work)) for spec in manifest["steps"]]
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, EOFError, KeyError, ValueError, OSError, json.JSONDecodeError, ImportError,
            AttributeError, TypeError) as exc:
        raise ModelFileError(f"{path} is damaged or not a skfmnist model file: {exc}") from exc
    return Pipeline(steps) if manifest["pipeline"] else steps[0][1]
