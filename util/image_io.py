"""Reading and writing images at their own bit depth and channel count, for translate.py and the Python API.

``data/image_folder.py`` turns every file into 8-bit RGB or L for training; inference must not: a 16-bit
microscope TIFF or an N-channel ``.npy`` goes in and comes out at the same depth. Arrays here are always
height x width x channels in the file's own dtype: ``uint8``, ``uint16`` or ``float32`` (floats in [0, 1]).

* PNG: 8-bit through Pillow; 16-bit (grey, grey+alpha, RGB, RGBA) through pypng, since Pillow reads 16-bit
  colour PNGs as 8 bits.
* TIFF: tifffile (any depth, any number of channels).
* ``.npy``: numpy, H x W or H x W x C.
* JPEG, BMP, PPM: Pillow, 8-bit.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from util.errors import UserError

INPUT_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".npy")
DTYPE_MAX = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def is_input_file(name: str) -> bool:
    return name.lower().endswith(INPUT_EXTENSIONS)


def read_image(path: str) -> np.ndarray:
    """The image at ``path`` as H x W x C in its own dtype; UserError naming the file when it cannot be read."""
    ext = os.path.splitext(path)[1].lower()
    if not os.path.isfile(path):
        raise UserError(f"input {path} not found; check --input")
    try:
        if ext == ".npy":
            array = np.load(path, allow_pickle=False)
        elif ext in (".tif", ".tiff"):
            import tifffile

            array = tifffile.imread(path)
        elif ext == ".png" and _png_bit_depth(path) == 16:
            array = _read_png16(path)
        else:
            with Image.open(path) as img:
                img.load()
                array = _pil_to_array(img)
    except UserError:
        raise
    except Exception as exc:  # truncated, not an image, wrong format: the user replaces the file
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"cannot read image {path}: {reason}; re-save it or remove it from the input"
        ) from exc
    return check_array(array, path)


def check_array(array: np.ndarray, name: str = "the image") -> np.ndarray:
    """``array`` as H x W x C with a supported dtype (float64 becomes float32), or a UserError."""
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or min(array.shape) < 1:
        raise UserError(
            f"{name} has shape {array.shape}; expected height x width or height x width x channels"
        )
    if array.dtype.kind == "f":
        return array.astype(np.float32, copy=False)
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    if array.dtype not in DTYPE_MAX:
        raise UserError(
            f"{name} has pixels of type {array.dtype}; use uint8, uint16 or floats in [0, 1] (convert it first)"
        )
    return array


def to_unit_range(array: np.ndarray) -> np.ndarray:
    """Pixels as float32 in [0, 1]: integers divided by their type's maximum, floats as they are."""
    if array.dtype.kind == "f":
        return array.astype(np.float32, copy=False)
    return array.astype(np.float32) / DTYPE_MAX[array.dtype]


def from_unit_range(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float pixels in [0, 1] back to ``dtype``, rounded and clipped (floats stay floats)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return values.astype(dtype, copy=False)
    top = DTYPE_MAX[dtype]
    return np.clip(np.rint(values * top), 0, top).astype(dtype)


def write_image(path: str, array: np.ndarray) -> None:
    """Write H x W x C ``array`` at its own depth, in the format the extension names."""
    array = check_array(array, path)
    ext = os.path.splitext(path)[1].lower()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    if ext == ".npy":
        np.save(path, array)
    elif ext in (".tif", ".tiff"):
        import tifffile

        tifffile.imwrite(path, array if array.shape[2] > 1 else array[:, :, 0])
    elif ext == ".png" and array.dtype == np.uint16:
        _write_png16(path, array)
    else:
        _write_pil(path, array, ext)


def _png_bit_depth(path: str) -> int:
    with open(path, "rb") as f:
        head = f.read(25)
    return head[24] if len(head) == 25 and head.startswith(_PNG_SIGNATURE) else 8


def _read_png16(path: str) -> np.ndarray:
    import png

    width, height, rows, info = png.Reader(filename=path).asDirect()
    planes = info["planes"]
    return np.vstack([np.asarray(row, dtype=np.uint16) for row in rows]).reshape(height, width, planes)


def _write_png16(path: str, array: np.ndarray) -> None:
    import png

    height, width, planes = array.shape
    if planes not in (1, 2, 3, 4):
        raise UserError(f"a PNG holds 1-4 channels, {path} would have {planes}; write .tif or .npy instead")
    writer = png.Writer(width, height, greyscale=planes < 3, alpha=planes in (2, 4), bitdepth=16)
    with open(path, "wb") as f:
        writer.write(f, array.reshape(height, width * planes))


# Pillow modes and the channel counts they hold; palette and other modes are converted to RGB(A) first.
_PIL_MODES = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4, "I;16": 1, "I;16B": 1, "I;16L": 1, "F": 1}


def _pil_to_array(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L"):
        return np.asarray(img).astype(np.uint16)
    if img.mode == "I":  # 16-bit greyscale that Pillow widened to 32 bits
        return np.clip(np.asarray(img), 0, 65535).astype(np.uint16)
    if img.mode == "F":
        return np.asarray(img, dtype=np.float32)
    if img.mode not in _PIL_MODES:
        has_alpha = img.mode in ("PA", "La", "RGBa") or "transparency" in img.info
        img = img.convert("RGBA" if has_alpha else "RGB")
    return np.asarray(img)


def _write_pil(path: str, array: np.ndarray, ext: str) -> None:
    planes = array.shape[2]
    if array.dtype != np.uint8:
        raise UserError(f"{ext} files hold 8 bits; write {array.dtype} pixels to .png, .tif or .npy instead")
    if planes not in (1, 2, 3, 4) or (planes in (2, 4) and ext in (".jpg", ".jpeg", ".bmp", ".ppm")):
        raise UserError(f"{path}: {ext} cannot hold {planes} channels; write .png, .tif or .npy instead")
    image = Image.fromarray(array[:, :, 0] if planes == 1 else array)
    image.save(path, **({"quality": 95} if ext in (".jpg", ".jpeg") else {}))


def pil_to_array(img: Image.Image) -> tuple[np.ndarray, str]:
    """(H x W x C array, the mode to give back) for the Python API."""
    return check_array(_pil_to_array(img)), img.mode


def array_to_pil(array: np.ndarray, mode: str) -> Image.Image:
    """The API's result as a PIL image of ``mode`` where the channels allow it (16-bit grey stays I;16)."""
    if array.dtype == np.uint16 and array.shape[2] == 1:
        return Image.fromarray(array[:, :, 0])  # mode I;16
    if array.dtype.kind == "f" and array.shape[2] == 1:
        return Image.fromarray(array[:, :, 0].astype(np.float32), "F")
    if array.dtype != np.uint8:
        array = from_unit_range(to_unit_range(array), np.uint8)
    return Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
