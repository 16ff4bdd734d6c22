"""What skfmnist offers, listed once: its public names, its estimators, and the models of its pipelines.

``skfmnist/__init__.py`` (lazy public names), :func:`skfmnist.utils.discovery.all_estimators`,
:mod:`skfmnist.persistence` (the classes a model file may name),
:func:`skfmnist.make_model_pipeline` and the command line all read these tables.
"""

# SPDX-License-Identifier: MIT

import importlib

__all__ = ["ESTIMATORS", "FUNCTIONS", "MODELS", "estimator_class"]

#: Public estimator classes: name -> (module, kind).
ESTIMATORS = {
    "PixelScaler": ("skfmnist.preprocessing", "transformer"),
    "ImageReshaper": ("skfmnist.preprocessing", "transformer"),
    "KerasClassifier": ("skfmnist.models", "classifier"),
    "DenseClassifier": ("skfmnist.models", "classifier"),
    "CNNClassifier": ("skfmnist.models", "classifier"),
    "DeepCNNClassifier": ("skfmnist.models", "classifier"),
}

#: Other public names of the top-level package: name -> module.
FUNCTIONS = {
    "fetch_fashion_mnist": "skfmnist.datasets",
    "load_digits_images": "skfmnist.datasets",
    "load_arrays": "skfmnist.datasets",
    "get_data_home": "skfmnist.datasets",
    "make_model_pipeline": "skfmnist.pipeline",
    "MODEL_NAMES": "skfmnist.pipeline",
    "compare_models": "skfmnist.evaluation",
    "ComparisonResult": "skfmnist.evaluation",
    "mcnemar_test": "skfmnist.evaluation",
    "save": "skfmnist.persistence",
    "load": "skfmnist.persistence",
    "show_versions": "skfmnist.utils",
    "all_estimators": "skfmnist.utils.discovery",
}

#: The models of :func:`skfmnist.make_model_pipeline` and ``skfmnist compare``: name -> (classifier, default
#: grid of ``skfmnist compare --search``, four candidates each: what changes these networks' accuracy most).
MODELS = {
    "dense": ("DenseClassifier", {"clf__hidden_layer_sizes": [(256, 128), (512, 256)], "clf__dropout": [0.2, 0.4]}),
    "cnn": ("CNNClassifier", {"clf__filters": [(32, 64), (64, 128)], "clf__dropout": [0.3, 0.5]}),
    "deep_cnn": ("DeepCNNClassifier", {"clf__learning_rate": [2e-3, 4e-3], "clf__dense_units": [128, 256]}),
}


def estimator_class(name):
    """The class of the public estimator ``name`` (importing its module; TensorFlow for classifiers)."""
    module, _ = ESTIMATORS[name]
    return getattr(importlib.import_module(module), name)
