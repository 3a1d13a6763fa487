"""Images for people to look at: the one conversion from network range to display, and grids.

Networks see images as float tensors in [-1, 1]; ``History.samples`` and datasets keep uint8 in
[0, 255]; screens and files want [0, 1] or uint8. Every picture the course shows (``viz``,
``live``, ``explorer``) goes through :func:`to_unit` and :func:`make_grid`, so all of them accept
the same inputs and give the same clear errors.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

__all__ = ["to_unit", "image_batch", "to_numpy_images", "make_grid", "to_pil"]


def to_unit(images: Tensor) -> Tensor:
    """Map images from [-1, 1] (what the networks see) to [0, 1] (what plots show).

    uint8 images (0 to 255) are scaled to [0, 1] as well; the shape and device are kept.
    """
    if images.dtype == torch.uint8:
        return images.float() / 255
    if not images.is_floating_point():
        raise TypeError(f"images must be float in [-1, 1] or uint8, got dtype {images.dtype}")
    return ((images + 1) / 2).clamp(0, 1)


def image_batch(images: Tensor | np.ndarray, what: str = "images") -> Tensor:
    """Images as a detached CPU tensor (N, C, H, W) with C = 1 or 3, checked.

    A single image (C, H, W) becomes a batch of one; a NumPy array becomes a tensor.
    """
    if not isinstance(images, Tensor):
        try:
            images = torch.as_tensor(np.asarray(images))
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(
                f"{what} must be a tensor or an array, got {type(images).__name__}"
            ) from err
    images = images.detach().cpu()
    if images.dim() == 3 and images.shape[0] in (1, 3):
        images = images[None]
    if images.dim() != 4:
        raise ValueError(
            f"{what} must have shape (N, C, H, W) or (C, H, W), got {tuple(images.shape)}"
        )
    if images.shape[1] not in (1, 3):
        hint = " (channels last? use x.permute(0, 3, 1, 2))" if images.shape[-1] in (1, 3) else ""
        raise ValueError(
            f"{what} must have 1 or 3 channels in dim 1 (N, C, H, W), got shape "
            f"{tuple(images.shape)}{hint}"
        )
    return images


def to_numpy_images(images: Tensor | np.ndarray, what: str = "images") -> np.ndarray:
    """Images (N, C, H, W) as float NumPy in [0, 1], channels last: (N, H, W, C).

    A single image (C, H, W) becomes a batch of one. Float input is taken to be in [-1, 1].
    """
    unit = to_unit(image_batch(images, what))
    return unit.float().numpy().transpose(0, 2, 3, 1)


def make_grid(
    images: Tensor | np.ndarray, nrow: int = 8, padding: int = 2, pad_value: float = 1.0
) -> np.ndarray:
    """One picture (H, W, 3) in [0, 1] of the images laid out ``nrow`` per row.

    Like ``torchvision.utils.make_grid`` (same layout), but it takes the course's images as they
    are (float in [-1, 1] or uint8) and gives what ``imshow`` and Pillow want.
    """
    x = to_numpy_images(images)
    if nrow < 1:
        raise ValueError(f"nrow must be >= 1, got {nrow}")
    n, h, w, c = x.shape
    if c == 1:
        x = np.repeat(x, 3, axis=3)
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    grid = np.full(
        (rows * (h + padding) + padding, cols * (w + padding) + padding, 3),
        pad_value,
        dtype=np.float32,
    )
    for i, image in enumerate(x):
        top, left = padding + (i // cols) * (h + padding), padding + (i % cols) * (w + padding)
        grid[top : top + h, left : left + w] = image
    return grid


def to_pil(picture: np.ndarray, scale: int = 1):
    """A Pillow image of a picture (H, W, 3) in [0, 1], enlarged ``scale`` times (sharp pixels)."""
    from PIL import Image

    image = Image.fromarray((picture * 255).round().astype(np.uint8))
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    return image
