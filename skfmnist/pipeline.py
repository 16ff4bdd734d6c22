"""make_model_pipeline: pixel scaling, reshaping to images, and a preset classifier."""

# SPDX-License-Identifier: MIT

from sklearn.pipeline import Pipeline

from ._registry import MODELS, estimator_class
from .preprocessing import ImageReshaper, PixelScaler

__all__ = ["DEFAULT_PARAM_GRIDS", "MODEL_NAMES", "make_model_pipeline"]

#: The names :func:`make_model_pipeline` accepts.
MODEL_NAMES = tuple(MODELS)

#: The grid of each model for ``skfmnist compare --search``.
DEFAULT_PARAM_GRIDS = {name: grid for name, (_, grid) in MODELS.items()}


def make_model_pipeline(name, *, image_shape=None, max_value=255.0, **classifier_params):
    """Make an image-classification pipeline: scale pixels, reshape to images, classify.

    ``Pipeline([("scale", PixelScaler(max_value=max_value)),
    ("reshape", ImageReshaper(image_shape)), ("clf", <classifier>)])``.

    Parameters
    ----------
    name : {"dense", "cnn", "deep_cnn"}
        Which classifier: :class:`~skfmnist.DenseClassifier`,
        :class:`~skfmnist.CNNClassifier` or :class:`~skfmnist.DeepCNNClassifier`.
    image_shape : tuple of int, default=None
        ``(height, width[, channels])`` of one image given as a flat row;
        None infers it from the row length in ``fit``
        (:func:`~skfmnist.preprocessing.infer_image_shape`: 784 values are
        28 x 28 x 1), so that any image data works.  Image batches bring
        their own shape.

        .. versionchanged:: 0.2.0
           The default was ``(28, 28, 1)``, Fashion-MNIST's shape.
    max_value : float, default=255.0
        Largest possible pixel value (:class:`~skfmnist.PixelScaler`): 255
        for 8-bit images, 16 for scikit-learn's digits, 1.0 for images
        already in ``[0, 1]``.
    **classifier_params : dict
        Parameters of the classifier (e.g. ``epochs=5, random_state=0``).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted; the classifier's parameters are ``clf__<name>``.  With
        metadata routing on (``sklearn.set_config(enable_metadata_routing=True)``),
        validation data passed as ``fit(X, y, X_val=..., y_val=...)`` is
        scaled and reshaped like ``X`` (``transform_input``) once the
        classifier asks for it: ``pipe[-1].set_fit_request(X_val=True, y_val=True)``.

    Examples
    --------
    >>> from skfmnist import make_model_pipeline
    >>> pipe = make_model_pipeline("cnn", epochs=2, random_state=0)
    >>> [step for step, _ in pipe.steps]
    ['scale', 'reshape', 'clf']
    >>> pipe.get_params()["clf__epochs"]
    2
    """
    if name not in MODELS:
        raise ValueError(f"Unknown model name {name!r}; choose one of {', '.join(MODEL_NAMES)}.")
    from sklearn import get_config

    classifier = estimator_class(MODELS[name][0])
    steps = [
        ("scale", PixelScaler(max_value=max_value)),
        ("reshape", ImageReshaper(image_shape=image_shape)),
        ("clf", classifier(**classifier_params)),
    ]
    routing = get_config().get("enable_metadata_routing", False)
    return Pipeline(steps, transform_input=["X_val"] if routing else None)
