"""Image data other than Fashion-MNIST: scikit-learn's digits, and your own arrays from a ``.npz`` file."""

# SPDX-License-Identifier: MIT

import os
import zipfile
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch
from sklearn.utils.multiclass import check_classification_targets

from ..preprocessing import split_images

__all__ = ["load_arrays", "load_digits_images"]


def load_digits_images(*, test_size=0.25, random_state=0):
    """scikit-learn's handwritten digits (8 x 8 pixels, values 0-16), split into training and test images.

    Needs no download: the data ships with scikit-learn
    (:func:`sklearn.datasets.load_digits`).  The split is stratified.

    Parameters
    ----------
    test_size : float, default=0.25
        Fraction of the 1,797 images held out as the test set.
    random_state : int, default=0
        Seeds the split.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X_train``, ``y_train``, ``X_test``, ``y_test`` (rows of 64 values
        0-16, labels 0-9), ``class_names`` ("0" ... "9"), ``image_shape``
        ``(8, 8, 1)`` and ``max_value`` 16.

    Examples
    --------
    >>> from skfmnist import load_digits_images
    >>> digits = load_digits_images()
    >>> digits.X_train.shape, digits.image_shape, digits.max_value
    ((1347, 64), (8, 8, 1), 16.0)
    """
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=random_state
    )
    return Bunch(X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
                 class_names=[str(d) for d in range(10)], image_shape=(8, 8, 1), max_value=16.0)


_REQUIRED = ("X_train", "y_train", "X_test", "y_test")


def load_arrays(path):
    """Training and test arrays from a NumPy ``.npz`` file.

    The file holds ``X_train``, ``y_train``, ``X_test``, ``y_test`` (images
    as rows or channels-last image batches, labels of any kind) and,
    optionally, ``class_names`` (one name per class, in the order of the
    sorted labels).  It is read without pickle: object arrays are refused.

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file (as written by :func:`numpy.savez`).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X_train``, ``y_train``, ``X_test``, ``y_test``, ``class_names``
        (None when the file has none), ``image_shape`` (of an image batch,
        else None) and ``max_value`` (the largest pixel value of the
        training images: 255 for 8-bit images, else 1.0 if every value is at
        most 1, else the maximum).

    Raises
    ------
    ValueError
        When the file is not an ``.npz`` file, is missing an array, or holds
        arrays of mismatched lengths or image shapes, pixels that are not
        finite numbers, channels-first images or labels that are not class
        labels.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No data file at {path}.")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(
            f"{path} is not a NumPy .npz file of plain arrays ({exc}). Write it with "
            "numpy.savez(path, X_train=..., y_train=..., X_test=..., y_test=...)."
        ) from exc
    missing = [name for name in _REQUIRED if name not in arrays]
    if missing:
        raise ValueError(f"{path} has no array(s) {', '.join(missing)}; it holds {sorted(arrays) or 'nothing'}.")
    for split in ("train", "test"):
        X, y = arrays[f"X_{split}"], arrays[f"y_{split}"]
        if X.ndim < 2 or y.ndim != 1 or len(X) != len(y):
            raise ValueError(
                f"{path}: X_{split} of shape {X.shape} and y_{split} of shape {y.shape} do not match: expected "
                "images (n, ...) and n labels."
            )
        if len(X) == 0:
            raise ValueError(f"{path}: X_{split} holds no images.")
        if X.dtype.kind not in "biuf":
            raise ValueError(
                f"{path}: X_{split} holds values of dtype {X.dtype}, not numbers: store the pixels as numbers "
                "(uint8 or float32, say), e.g. X_train.astype(np.float32) before numpy.savez."
            )
        if X.dtype.kind == "f" and not np.isfinite(X).all():
            raise ValueError(f"{path}: X_{split} holds NaN or infinite values; every pixel must be a finite number.")
        split_images(X[:1])  # a ValueError for channels-first images or arrays of too high a rank
        try:
            check_classification_targets(y)
        except ValueError as exc:
            raise ValueError(f"{path}: y_{split} does not hold class labels: {exc}") from None
    if arrays["X_train"].shape[1:] != arrays["X_test"].shape[1:]:
        raise ValueError(
            f"{path}: training images of shape {arrays['X_train'].shape[1:]} but test images of shape "
            f"{arrays['X_test'].shape[1:]}."
        )
    names = arrays.get("class_names")
    if names is not None:
        labels = np.unique(np.concatenate([arrays["y_train"], arrays["y_test"]]))
        if names.ndim != 1 or len(names) != len(labels):
            raise ValueError(f"{path}: class_names has {names.size} names for {len(labels)} classes.")
        names = [str(n) for n in names]
    X = arrays["X_train"]
    peak = float(X.max()) if X.size else 1.0
    max_value = 255.0 if X.dtype == np.uint8 else (1.0 if peak <= 1.0 else peak)
    image_shape = tuple(X.shape[1:]) if X.ndim > 2 else None
    return Bunch(X_train=X, y_train=arrays["y_train"], X_test=arrays["X_test"], y_test=arrays["y_test"],
                 class_names=names, image_shape=image_shape, max_value=max_value, source=os.fspath(path))
