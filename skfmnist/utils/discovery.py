"""List the estimators of skfmnist, as :func:`sklearn.utils.discovery.all_estimators`."""

# SPDX-License-Identifier: MIT

import importlib

__all__ = ["all_estimators"]

_ESTIMATORS = {
    "PixelScaler": ("skfmnist.preprocessing", "transformer"),
    "ImageReshaper": ("skfmnist.preprocessing", "transformer"),
    "DenseClassifier": ("skfmnist.models", "classifier"),
    "CNNClassifier": ("skfmnist.models", "classifier"),
    "DeepCNNClassifier": ("skfmnist.models", "classifier"),
}


def all_estimators(type_filter=None):
    """Public estimators of skfmnist.

    Parameters
    ----------
    type_filter : {"classifier", "transformer"} or None, default=None
        Only estimators of that kind.

    Returns
    -------
    estimators : list of (str, type)
        Name and class of each estimator, sorted by name.

    Examples
    --------
    >>> from skfmnist.utils.discovery import all_estimators
    >>> [name for name, _ in all_estimators("transformer")]
    ['ImageReshaper', 'PixelScaler']
    """
    return sorted(
        (name, getattr(importlib.import_module(module), name))
        for name, (module, kind) in _ESTIMATORS.items()
        if type_filter in (None, kind)
    )
