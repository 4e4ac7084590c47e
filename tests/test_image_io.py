"""Bit-depth- and channel-preserving image files (util/image_io.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from util.errors import UserError
from util.image_io import read_image, write_image

RNG = np.random.default_rng(0)


def _pixels(dtype, channels: int, h: int = 7, w: int = 5) -> np.ndarray:
    if np.dtype(dtype).kind == "f":
        return RNG.random((h, w, channels), dtype=np.float32)
    return RNG.integers(0, np.iinfo(dtype).max + 1, size=(h, w, channels)).astype(dtype)


@pytest.mark.parametrize(
    "ext, dtype, channels",
    [
        (".png", np.uint8, 1),
        (".png", np.uint8, 3),
        (".png", np.uint8, 4),
        (".png", np.uint16, 1),
        (".png", np.uint16, 3),
        (".png", np.uint16, 4),
        (".tif", np.uint8, 3),
        (".tif", np.uint16, 1),
        (".tif", np.uint16, 3),
        (".tif", np.float32, 1),
        (".npy", np.float32, 7),
        (".npy", np.uint16, 2),
        (".bmp", np.uint8, 3),
    ],
)
def test_round_trip_keeps_every_value(tmp_path, ext, dtype, channels):
    pixels = _pixels(dtype, channels)
    path = str(tmp_path / f"img{ext}")
    write_image(path, pixels)
    back = read_image(path)
    assert back.dtype == pixels.dtype
    np.testing.assert_array_equal(back, pixels)


def test_sixteen_bit_rgb_png_is_read_at_sixteen_bits(tmp_path):
    """Pillow reads a 16-bit RGB PNG as 8 bits; the low byte must survive here."""
    pixels = np.full((3, 4, 3), 1000, dtype=np.uint16) + np.arange(3, dtype=np.uint16)  # 1000..1002: not x257
    path = str(tmp_path / "deep.png")
    write_image(path, pixels)
    assert Image.open(path).mode == "RGB"  # what Pillow alone would give: 8 bits
    np.testing.assert_array_equal(read_image(path), pixels)


def test_palette_png_reads_as_rgb(tmp_path):
    path = str(tmp_path / "p.png")
    Image.new("P", (4, 3), 2).save(path)
    assert read_image(path).shape == (3, 4, 3)


def test_unreadable_and_unsupported_files_name_the_file(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(UserError, match=r"cannot read image .*broken\.png"):
        read_image(str(bad))
    with pytest.raises(UserError, match=r"missing\.png not found"):
        read_image(str(tmp_path / "missing.png"))
    np.save(tmp_path / "ints.npy", np.zeros((2, 2), np.int32))
    with pytest.raises(UserError, match="int32; use uint8, uint16 or floats"):
        read_image(str(tmp_path / "ints.npy"))
    with pytest.raises(UserError, match=r"\.jpg files hold 8 bits"):
        write_image(str(tmp_path / "x.jpg"), np.zeros((2, 2, 3), np.uint16))
