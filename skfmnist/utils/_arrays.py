"""Arrays that TensorFlow can use in place: 64-byte aligned memory.

TensorFlow allocates every tensor buffer on a 64-byte boundary, and its CPU
kernels (Eigen's aligned maps) may rely on that, so a tensor can share a
NumPy array's memory only where that array starts on such a boundary;
anything else is copied when it becomes a tensor.  NumPy's allocator gives
16-byte alignment (large arrays start 16 bytes into a page), so the arrays
that skfmnist creates for the network (:class:`~skfmnist.preprocessing.PixelScaler`'s
output) are allocated here instead, and the input pipeline
(:func:`skfmnist.models._input.training_dataset`) hands them to TensorFlow
without a copy: 188 MB and up to half a second less per fit on the full
training set (benchmarks/RESULTS.md).
"""

# SPDX-License-Identifier: MIT

import numpy as np

__all__ = ["ALIGNMENT", "aligned_empty", "aligned_take", "is_aligned"]

#: Bytes: the alignment of TensorFlow's own tensor buffers (its allocators' 64).
ALIGNMENT = 64


def aligned_empty(shape, dtype):
    """An uninitialised C-contiguous array whose data starts on an :data:`ALIGNMENT` boundary.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the array.
    dtype : data-type
        Its dtype.

    Returns
    -------
    array : ndarray
        A view into a slightly larger buffer (at most ``ALIGNMENT`` bytes
        more), which it keeps alive.

    Examples
    --------
    >>> import numpy as np
    >>> from skfmnist.utils._arrays import aligned_empty, is_aligned
    >>> a = aligned_empty((3, 5), np.float32)
    >>> a.shape, a.dtype, is_aligned(a), a.flags.c_contiguous
    ((3, 5), dtype('float32'), True, True)
    """
    dtype = np.dtype(dtype)
    shape = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    buffer = np.empty(nbytes + ALIGNMENT, dtype=np.uint8)
    start = -buffer.ctypes.data % ALIGNMENT
    return buffer[start : start + nbytes].view(dtype).reshape(shape)


def is_aligned(array):
    """Whether ``array``'s data starts on an :data:`ALIGNMENT` boundary.

    Parameters
    ----------
    array : ndarray

    Returns
    -------
    aligned : bool
    """
    return array.ctypes.data % ALIGNMENT == 0


def aligned_take(array, indices):
    """``array[indices]`` (rows), written into :func:`aligned_empty` memory.

    Parameters
    ----------
    array : ndarray
    indices : ndarray of int
        Rows to take, in order; each in ``range(len(array))`` (not checked:
        an index out of range is clipped to it).

    Returns
    -------
    rows : ndarray
        A new C-contiguous, aligned array of shape ``(len(indices), *array.shape[1:])``.
    """
    out = aligned_empty((len(indices), *array.shape[1:]), array.dtype)
    # mode="clip": with the default "raise", NumPy fills a temporary and copies it into ``out``
    return np.take(array, indices, axis=0, out=out, mode="clip")
