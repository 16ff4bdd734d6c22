"""Model selection for Keras classifiers: successive halving that trains the survivors on."""

# SPDX-License-Identifier: MIT

from ._halving import HalvingEpochsSearchCV, halving_rungs

__all__ = ["HalvingEpochsSearchCV", "halving_rungs"]
