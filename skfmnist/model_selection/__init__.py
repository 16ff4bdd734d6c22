"""Model selection for Keras classifiers: successive halving that trains the survivors on."""

# SPDX-License-Identifier: MIT

from ._halving import HalvingEpochsSearchCV

__all__ = ["HalvingEpochsSearchCV"]
