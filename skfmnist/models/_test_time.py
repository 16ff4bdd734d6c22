"""Test-time augmentation: averaging a network's output over views of each image.

The training augmentation of the CNNs (:mod:`._networks`)
shows the network every image shifted by up to ``max_shift`` of its side, with the
empty border filled with zeros, and mirrored left to right.  At prediction
the same transformations, fixed instead of random, give several views of an
image that the network has learnt to classify alike; averaging the class
probabilities over them cancels part of each view's error.
"""

# SPDX-License-Identifier: MIT

import numpy as np

__all__ = ["shift_images", "average_views", "n_views"]


def shift_images(images, dy, dx):
    """Images moved ``dy`` rows down and ``dx`` columns right, zeros filling the border.

    Parameters
    ----------
    images : ndarray of shape (n_samples, height, width, channels)
        A batch of images.
    dy, dx : int
        Offsets in pixels (negative: up, left); the result keeps the shape.

    Returns
    -------
    shifted : ndarray
        A new C-contiguous array of the same shape and dtype.
    """
    height, width = images.shape[1:3]
    out = np.zeros_like(images)
    if abs(dy) >= height or abs(dx) >= width:
        return out
    rows_src, rows_dst = _overlap(dy, height)
    cols_src, cols_dst = _overlap(dx, width)
    out[:, rows_dst, cols_dst] = images[:, rows_src, cols_src]
    return out


def _overlap(offset, size):
    """Source and destination slices of a move by ``offset`` along an axis of ``size``."""
    if offset >= 0:
        return slice(0, size - offset), slice(offset, size)
    return slice(-offset, size), slice(0, size + offset)


def _mirror(images):
    return np.ascontiguousarray(images[:, :, ::-1])


def n_views(*, flip, shift):
    """Number of test-time views of each image: ``(2 * shift + 1) ** 2`` positions, twice with ``flip``.

    Parameters
    ----------
    flip : bool
        Whether each position is also mirrored.
    shift : int
        Largest offset in pixels, 0 for none.

    Returns
    -------
    n : int
    """
    return (2 * shift + 1) ** 2 * (2 if flip else 1)


def average_views(predict, images, *, flip, shift):
    """Mean of ``predict`` over the test-time views of a batch of images.

    The views are the images moved by every offset ``(dy, dx)`` with
    ``|dy|, |dx| <= shift`` (``(2 * shift + 1) ** 2`` positions, the image
    itself among them) and, with ``flip``, each of those mirrored left to
    right as well.

    With ``flip`` the sum runs in an order that mirroring the input only
    permutes within commutative pairs, so that an image and its mirror image
    get bitwise the same probabilities: the views of the mirrored batch are
    the mirrored views of the batch with ``dx`` negated.

    Parameters
    ----------
    predict : callable
        ``predict(batch)`` returns the class probabilities of a batch.
    images : ndarray of shape (n_samples, height, width, channels)
        The batch.
    flip : bool
        Add the mirror image of every view.
    shift : int
        Largest offset in pixels, 0 for none.

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes), float32
    """
    def pair(dy, dx):
        # one moved copy of the batch (and its mirror image) alive at a time
        view = shift_images(images, dy, dx) if (dy or dx) else images
        out = np.asarray(predict(view), dtype=np.float32)
        if flip:
            out = out + np.asarray(predict(_mirror(view)), dtype=np.float32)
        return out

    total = None
    for dy in range(-shift, shift + 1):
        for dx in range(0, shift + 1):
            group = pair(dy, dx)
            if dx:
                group = group + pair(dy, -dx)
            total = group if total is None else total + group
    return total / np.float32(n_views(flip=flip, shift=shift))
