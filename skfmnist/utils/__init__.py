"""Utilities: versions, estimator discovery, the CPU's bfloat16 decision."""

# SPDX-License-Identifier: MIT

from ._cpu import prefers_bfloat16
from ._show_versions import show_versions, versions

__all__ = ["prefers_bfloat16", "show_versions", "versions"]
