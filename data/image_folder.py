"""Finding image files in a folder and reading them as 8-bit RGB or grayscale PIL images.

Users' folders hold more than 8-bit RGB JPEGs: palette PNGs, RGBA with transparency, grayscale scans, and
16-bit PNG/TIFF from cameras or microscopes. ``load_image`` turns all of them into "RGB" or "L" with their
values scaled, never clipped: Pillow's own ``convert("L")`` clips a 16-bit image at 255, which turns most of
it white, so 16-bit grayscale is scaled here (65535 → 255) before converting.
"""

from __future__ import annotations

import math
import os

import numpy as np
from PIL import Image, UnidentifiedImageError

from util.errors import UserError

# SPEC §5: the reference's list, matched case-insensitively (it lists .JPG, .PNG, ... separately).
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".tif", ".tiff")

# Pillow modes of one-channel images deeper than 8 bits; 16-bit RGB(A) PNG/TIFF already open as "RGB(A)"
# scaled to 8 bits by Pillow (it keeps the high byte), so only these need scaling here.
_WIDE_GRAY_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")

# A transparent pixel's colour is arbitrary (often black); composite on white, as a page shows it.
_BACKGROUND = (255, 255, 255)


def is_image_file(filename: str) -> bool:
    """True when `filename` ends with one of IMG_EXTENSIONS, in any case."""
    return filename.lower().endswith(IMG_EXTENSIONS)


def make_dataset(dir: str, max_dataset_size: float = float("inf")) -> list[str]:
    """Every image file under `dir` (walked recursively), sorted, then cut to `max_dataset_size`.

    The reference cuts the unsorted walk and sorts afterwards, so which images survive the cut depends on
    the file system's order; sorting the whole list first makes the cut reproducible (SPEC §5 fix).
    Raises UserError when `dir` is not a folder.
    """
    if not os.path.isdir(dir):
        raise UserError(f"{dir} is not a folder; check --dataroot and --phase")
    paths = [
        os.path.join(root, name)
        for root, _dirs, names in os.walk(dir, followlinks=True)
        for name in names
        if is_image_file(name)
    ]
    paths.sort()
    if math.isinf(max_dataset_size):
        return paths
    return paths[: int(max_dataset_size)]


def _wide_gray_to_8bit(img: Image.Image) -> Image.Image:
    """A 16/32-bit integer grayscale image as "L", scaling 0..65535 to 0..255 (values above clip)."""
    values = np.asarray(img, dtype=np.float64)
    return Image.fromarray(np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8), "L")


def _float_to_8bit(img: Image.Image) -> Image.Image:
    """A float ("F") image as "L": values within [0, 1] are scaled by 255, anything else is taken as 0..255."""
    values = np.asarray(img, dtype=np.float64)
    finite = values[np.isfinite(values)]
    scale = 255.0 if finite.size and finite.min() >= 0.0 and finite.max() <= 1.0 else 1.0
    return Image.fromarray(np.clip(np.rint(np.nan_to_num(values) * scale), 0, 255).astype(np.uint8), "L")


def _drop_transparency(img: Image.Image) -> Image.Image:
    """An image with an alpha channel (RGBA, LA, PA, or a palette with a transparent colour) composited on white."""
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, _BACKGROUND + (255,))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _has_transparency(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info


def to_8bit(img: Image.Image, mode: str = "RGB") -> Image.Image:
    """`img` in any Pillow mode converted to `mode` ("RGB" or "L") with 8 bits per channel."""
    if img.mode in _WIDE_GRAY_MODES:
        img = _wide_gray_to_8bit(img)
    elif img.mode == "F":
        img = _float_to_8bit(img)
    elif _has_transparency(img):
        img = _drop_transparency(img)
    return img if img.mode == mode else img.convert(mode)


def load_image(path: str, mode: str = "RGB") -> Image.Image:
    """Read the image at `path` as 8-bit `mode` ("RGB" or "L"), decoding it fully now.

    Raises UserError naming the file when it cannot be read (missing, not an image, truncated).
    """
    if mode not in ("RGB", "L"):
        raise ValueError(f"load_image mode must be 'RGB' or 'L', got {mode!r}")
    try:
        with Image.open(path) as img:
            img.load()  # decode now: a truncated file fails here, not later inside a transform
            return to_8bit(img, mode)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(
            f"cannot read image {path}: {reason}; re-save it or remove it from the folder"
        ) from exc
