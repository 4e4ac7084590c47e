"""Small image and folder helpers shared by the visualizer, the HTML pages and test.py."""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np
import torch
from PIL import Image


def tensor2im(t: torch.Tensor) -> np.ndarray:
    """First image of a batch in [-1, 1] as an HxWx3 uint8 array.

    One channel is tiled to three. Values map as (x + 1) / 2 · 255 and are truncated to uint8 like the
    reference (0 → 127, not 128); unlike the reference they are clipped first, so a value outside
    [-1, 1] saturates instead of wrapping around.
    """
    image = t[0].detach().cpu().float().numpy()
    if image.shape[0] == 1:
        image = np.tile(image, (3, 1, 1))
    scaled = (np.transpose(image, (1, 2, 0)) + 1.0) / 2.0 * 255.0
    return np.clip(scaled, 0.0, 255.0).astype(np.uint8)


def aspect_ratio_size(width: int, height: int, aspect_ratio: float) -> tuple[int, int]:
    """(width, height) after applying --aspect_ratio (width / height of the saved image, relative).

    aspect_ratio > 1 stretches the width, < 1 stretches the height; the image never shrinks.
    The reference swaps width and height here, so its "wider" images come out taller.
    """
    if aspect_ratio > 1.0:
        return int(width * aspect_ratio), height
    if aspect_ratio < 1.0:
        return width, int(height / aspect_ratio)
    return width, height


def save_image(arr: np.ndarray, path: str, aspect_ratio: float = 1.0) -> None:
    """Save an HxWx3 (or HxW) uint8 array, resized (bicubic) for --aspect_ratio."""
    image = Image.fromarray(arr)
    size = aspect_ratio_size(image.width, image.height, aspect_ratio)
    if size != image.size:
        image = image.resize(size, Image.BICUBIC)
    image.save(path)


def mkdirs(paths: str | Iterable[str]) -> None:
    """Create every folder in `paths` (a single path is accepted too); existing ones are fine."""
    for path in [paths] if isinstance(paths, str) else paths:
        mkdir(path)


def mkdir(path: str) -> None:
    """Create `path` and its parents if missing."""
    os.makedirs(path, exist_ok=True)
