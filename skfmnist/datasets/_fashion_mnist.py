"""Fashion-MNIST fetcher in scikit-learn's style."""

# SPDX-License-Identifier: MIT

import os
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions, validate_params

from ..exceptions import DataIntegrityError, DataNotFoundError
from ..utils._env import DATA_ENV
from ._base import DEFAULT_TIMEOUT, RemoteFileMetadata, fetch_remote, get_data_home, load_idx, verify_file

__all__ = ["fetch_fashion_mnist", "CLASS_NAMES", "FILES", "ENV_VAR"]

#: Environment variable naming a folder that holds the four files directly.
ENV_VAR = DATA_ENV

_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
)

_RELEASE = {  # key: (file name, SHA-256, size in bytes) of the official release
    "train_images": (
        "train-images-idx3-ubyte.gz",
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        26421880,
    ),
    "train_labels": (
        "train-labels-idx1-ubyte.gz",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        29515,
    ),
    "test_images": (
        "t10k-images-idx3-ubyte.gz",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        4422102,
    ),
    "test_labels": (
        "t10k-labels-idx1-ubyte.gz",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        5148,
    ),
}

#: The four official files, where to download them and how to check them.
FILES = {
    key: RemoteFileMetadata(name, tuple(mirror + name for mirror in _MIRRORS), sha256, size)
    for key, (name, sha256, size) in _RELEASE.items()
}

#: Class names in label order.
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

_SUBSETS = {"train": ("train",), "test": ("test",), "all": ("train", "test")}


def _data_dir(data_home):
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser(), True
    return Path(get_data_home(data_home)) / "fashion-mnist", False


def _ensure_file(metadata, folder, from_env, download_if_missing, timeout, progress):
    """Return the path of a verified file, downloading it when allowed."""
    path = folder / metadata.filename
    problem = None
    if path.exists():
        try:
            verify_file(path, metadata)
            return path
        except DataIntegrityError as exc:
            if not download_if_missing:
                raise
            problem = exc
    if not download_if_missing:
        names = ", ".join(m.filename for m in FILES.values())
        raise DataNotFoundError(
            f"Fashion-MNIST file {metadata.filename} not found in {folder} "
            f"(searched {'$' + ENV_VAR if from_env else 'the data home; $' + ENV_VAR + ' is not set'}). "
            f"The dataset needs the four files {names}. Put them in that folder, "
            f"set {ENV_VAR} to a folder that holds them, or call with download_if_missing=True."
        )
    try:
        return fetch_remote(metadata, folder, timeout=timeout, progress=progress)
    except OSError as exc:
        names = ", ".join(m.filename for m in FILES.values())
        prefix = f"{problem}\nRe-downloading it failed too.\n" if problem else ""
        raise DataNotFoundError(
            f"{prefix}Could not get Fashion-MNIST file {metadata.filename} into {folder}: {exc}\n"
            f"Without network access, copy the four files {names} into a folder "
            f"and point {ENV_VAR} at it."
        ) from exc


def _load_split(split, folder, from_env, download_if_missing, timeout, progress):
    paths = [
        _ensure_file(FILES[f"{split}_{kind}"], folder, from_env, download_if_missing, timeout, progress)
        for kind in ("images", "labels")
    ]
    images, labels = (load_idx(p) for p in paths)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise DataIntegrityError(f"{paths[0]}: expected uint8 images of 28x28, got {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DataIntegrityError(
            f"{paths[1]} holds {labels.shape} labels for {images.shape[0]} images in {paths[0]}"
        )
    if labels.size and labels.max() >= len(CLASS_NAMES):
        raise DataIntegrityError(f"{paths[1]}: label {labels.max()} is outside 0..9")
    return images, labels.astype(np.int64)


@validate_params(
    {
        "subset": [StrOptions(set(_SUBSETS))],
        "data_home": [str, os.PathLike, None],
        "download_if_missing": ["boolean"],
        "return_X_y": ["boolean"],
        "as_frame": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def fetch_fashion_mnist(
    *, subset="train", data_home=None, download_if_missing=True, return_X_y=False, as_frame=False
):
    """Load the Fashion-MNIST dataset (classification, 10 classes).

    =================   ==============
    Classes                         10
    Samples total                70000
    Samples per class    7000 (6000 train, 1000 test)
    Dimensionality       784 (28 x 28)
    Features             integers 0-255
    =================   ==============

    Every file is checked (size and SHA-256 against the published values)
    before it is used.  Missing files are downloaded from the official
    mirror, Keras' mirror as fallback.

    Read more in the dataset description, ``fetch_fashion_mnist().DESCR``.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        The 60,000 training images, the 10,000 test images, or all 70,000
        (training first).
    data_home : str or path-like, default=None
        Where to look for and store the files (in a ``fashion-mnist``
        subfolder); default scikit-learn's data home.  Ignored when the
        environment variable ``SKFMNIST_DATA`` names a folder, which then
        holds the four ``.gz`` files directly.
    download_if_missing : bool, default=True
        Download missing (or corrupted) files.  When False, a missing file
        raises :class:`~skfmnist.exceptions.DataNotFoundError` and a
        corrupted one :class:`~skfmnist.exceptions.DataIntegrityError`.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        Return ``data`` as a pandas DataFrame and ``target`` as a Series,
        and add ``frame`` with both.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : ndarray of shape (n_samples, 784), dtype uint8, or DataFrame
            Each row is one image, row-major.
        images : ndarray of shape (n_samples, 28, 28), dtype uint8
            The same pixels as images (a view of ``data`` when not a frame).
        target : ndarray of shape (n_samples,), dtype int64, or Series
            Labels 0..9.
        target_names : list of str
            Class names in label order.
        feature_names : list of str
            ``pixel_0`` ... ``pixel_783``.
        frame : DataFrame of shape (n_samples, 785)
            Only when ``as_frame=True``: ``data`` and ``target`` together.
        DESCR : str
            Description of the dataset.

    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from skfmnist import fetch_fashion_mnist
    >>> X, y = fetch_fashion_mnist(subset="test", return_X_y=True)  # doctest: +SKIP
    >>> X.shape, X.dtype, y.shape, y.dtype  # doctest: +SKIP
    ((10000, 784), dtype('uint8'), (10000,), dtype('int64'))
    """
    folder, from_env = _data_dir(data_home)
    parts = [
        _load_split(split, folder, from_env, download_if_missing, DEFAULT_TIMEOUT, True)
        for split in _SUBSETS[subset]
    ]
    if len(parts) == 1:
        images, target = parts[0]
    else:
        images = np.concatenate([p[0] for p in parts])
        target = np.concatenate([p[1] for p in parts])
    data = images.reshape(images.shape[0], -1)
    feature_names = [f"pixel_{i}" for i in range(data.shape[1])]
    frame = None
    if as_frame:
        import pandas as pd

        data = pd.DataFrame(data, columns=feature_names, copy=False)
        target = pd.Series(target, name="class")
        frame = pd.concat([data, target], axis=1)
    if return_X_y:
        return data, target
    descr = resources.files("skfmnist.datasets").joinpath("descr/fashion_mnist.rst").read_text()
    return Bunch(
        data=data,
        images=images,
        target=target,
        target_names=list(CLASS_NAMES),
        feature_names=feature_names,
        frame=frame,
        DESCR=descr,
    )
