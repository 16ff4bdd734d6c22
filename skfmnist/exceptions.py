"""Exceptions raised by skfmnist."""

# SPDX-License-Identifier: MIT

__all__ = ["DataIntegrityError", "DataNotFoundError", "ModelFileError", "PerformanceWarning", "TrainingError"]


class DataIntegrityError(ValueError):
    """A data file exists but is not the file it should be.

    Raised when a file's size, SHA-256 checksum or IDX header does not match
    what the dataset publishes.  Subclass of :class:`ValueError`.
    """


class DataNotFoundError(OSError):
    """The dataset files are not on disk and could not be downloaded."""


class ModelFileError(ValueError):
    """A saved model file is damaged or from an incompatible version."""


class TrainingError(RuntimeError):
    """Training diverged (for example, the loss became NaN)."""


class PerformanceWarning(UserWarning):
    """Training will run slower than this machine allows, and why.

    Issued when TensorFlow was imported before skfmnist and so did not get
    skfmnist's setting ``TF_ENABLE_ONEDNN_OPTS=1`` on a CPU where its own
    default leaves oneDNN's kernels off (see :mod:`skfmnist.utils._env`).
    """
