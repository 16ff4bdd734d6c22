"""List the estimators of skfmnist, as :func:`sklearn.utils.discovery.all_estimators`."""

# SPDX-License-Identifier: MIT

from .._registry import ESTIMATORS, estimator_class

__all__ = ["all_estimators"]


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
        (name, estimator_class(name)) for name, (_, kind) in ESTIMATORS.items() if type_filter in (None, kind)
    )
