"""Pipeline factories: pixel scaling, reshaping and a Keras classifier."""

# SPDX-License-Identifier: MIT

import importlib

from sklearn.pipeline import Pipeline

from .preprocessing import ImageReshaper, PixelScaler

__all__ = ["DEFAULT_PARAM_GRIDS", "MODEL_NAMES", "make_model_pipeline"]

#: Model name -> classifier class (imported lazily: building one imports TensorFlow).
_CLASSIFIERS = {
    "dense": "DenseClassifier",
    "cnn": "CNNClassifier",
    "deep_cnn": "DeepCNNClassifier",
}

#: The names :func:`make_model_pipeline` accepts.
MODEL_NAMES = tuple(_CLASSIFIERS)

#: Documented default grids (``skfmnist compare --search``): each has four
#: candidates, the ones that most change these networks' accuracy.
DEFAULT_PARAM_GRIDS = {
    "dense": {
        "clf__hidden_layer_sizes": [(256, 128), (512, 256)],
        "clf__dropout": [0.2, 0.4],
    },
    "cnn": {
        "clf__filters": [(32, 64), (64, 128)],
        "clf__dropout": [0.3, 0.5],
    },
    "deep_cnn": {
        "clf__learning_rate": [1e-3, 3e-3],
        "clf__dense_units": [128, 256],
    },
}


def make_model_pipeline(name, *, image_shape=(28, 28, 1), **classifier_params):
    """Make a Fashion-MNIST pipeline: scale pixels, reshape to images, classify.

    ``Pipeline([("scale", PixelScaler()), ("reshape", ImageReshaper(image_shape)),
    ("clf", <classifier>)])``.  The image shape is pinned, so a wrong number of
    pixels per row is a clear error rather than a silently reinterpreted image.
    The dense network flattens the images again.

    Parameters
    ----------
    name : {"dense", "cnn", "deep_cnn"}
        Which classifier: :class:`~skfmnist.DenseClassifier`,
        :class:`~skfmnist.CNNClassifier` or :class:`~skfmnist.DeepCNNClassifier`.
    image_shape : tuple of int, default=(28, 28, 1)
        Shape of one image.
    **classifier_params : dict
        Parameters of the classifier (e.g. ``epochs=5, random_state=0``).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted pipeline; its classifier parameters are ``clf__<name>``.

    Examples
    --------
    >>> from skfmnist import make_model_pipeline
    >>> pipe = make_model_pipeline("cnn", epochs=2, random_state=0)
    >>> [step for step, _ in pipe.steps]
    ['scale', 'reshape', 'clf']
    >>> pipe.get_params()["clf__epochs"]
    2
    """
    if name not in _CLASSIFIERS:
        raise ValueError(
            f"Unknown model name {name!r}; choose one of {', '.join(MODEL_NAMES)}."
        )
    models = importlib.import_module("skfmnist.models")
    classifier = getattr(models, _CLASSIFIERS[name])
    if name != "dense":
        classifier_params.setdefault("image_shape", image_shape)
    return Pipeline(
        [
            ("scale", PixelScaler()),
            ("reshape", ImageReshaper(image_shape=image_shape)),
            ("clf", classifier(**classifier_params)),
        ]
    )
