"""Utilities: estimator discovery, versions, TensorFlow runtime helpers."""

# SPDX-License-Identifier: MIT

from ._show_versions import show_versions, versions

__all__ = ["show_versions", "versions"]
