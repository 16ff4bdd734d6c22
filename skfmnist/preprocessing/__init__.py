"""Preprocessing: pixel scaling, image reshaping, and the shape of an image."""

# SPDX-License-Identifier: MIT

from ._images import check_image_shape, infer_image_shape, split_images
from ._pixels import ImageReshaper, PixelScaler

__all__ = ["ImageReshaper", "PixelScaler", "check_image_shape", "infer_image_shape", "split_images"]
