"""Datasets: the Fashion-MNIST fetcher and its plumbing, scikit-learn's digits, your own arrays."""

# SPDX-License-Identifier: MIT

from ._base import RemoteFileMetadata, fetch_remote, get_data_home, load_idx, sha256sum, verify_file
from ._fashion_mnist import CLASS_NAMES, ENV_VAR, FILES, fetch_fashion_mnist
from ._other import load_arrays, load_digits_images

__all__ = [
    "CLASS_NAMES",
    "ENV_VAR",
    "FILES",
    "RemoteFileMetadata",
    "fetch_fashion_mnist",
    "fetch_remote",
    "get_data_home",
    "load_arrays",
    "load_digits_images",
    "load_idx",
    "sha256sum",
    "verify_file",
]
