"""Preprocessing: pixel scaling and image reshaping transformers."""

# SPDX-License-Identifier: MIT

from ._pixels import ImageReshaper, PixelScaler, check_image_shape, flatten_images, infer_image_shape

__all__ = ["ImageReshaper", "PixelScaler", "check_image_shape", "flatten_images", "infer_image_shape"]
