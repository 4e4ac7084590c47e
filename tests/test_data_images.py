"""Reading images as users have them: data/image_folder.py."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from data.image_folder import IMG_EXTENSIONS, is_image_file, load_image, make_dataset
from util.errors import UserError


def write_png16(path, array: np.ndarray) -> None:
    """A 16-bit RGB(A) PNG, which Pillow cannot write (written by hand: signature, IHDR, IDAT, IEND)."""
    h, w, c = array.shape
    colour_type = {3: 2, 4: 6}[c]
    raw = b"".join(b"\x00" + array[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def pixels(img: Image.Image) -> np.ndarray:
    return np.asarray(img)


def test_extensions_match_in_any_case():
    assert IMG_EXTENSIONS == (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".tif", ".tiff")
    assert is_image_file("a.JPG") and is_image_file("b.TiFf") and is_image_file("c.jpeg")
    assert not is_image_file("d.webp") and not is_image_file("e.txt") and not is_image_file("png")


def test_make_dataset_walks_recursively_and_sorts_before_cutting(tmp_path):
    for rel in ["b/z.png", "a/y.jpg", "c.PNG", "a/x.txt", "d/e/f.tif"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    found = [p[len(str(tmp_path)) + 1 :] for p in make_dataset(str(tmp_path))]
    assert found == ["a/y.jpg", "b/z.png", "c.PNG", "d/e/f.tif"]
    # The cut keeps the first N of the sorted list, whatever order the file system lists them in.
    assert [p[len(str(tmp_path)) + 1 :] for p in make_dataset(str(tmp_path), 2)] == ["a/y.jpg", "b/z.png"]
    assert make_dataset(str(tmp_path), float("inf")) == make_dataset(str(tmp_path))


def test_rgb_and_grayscale_load_as_asked(tmp_path):
    rgb = np.array([[[10, 20, 30], [200, 100, 50]]], np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    assert load_image(str(tmp_path / "rgb.png")).mode == "RGB"
    np.testing.assert_array_equal(pixels(load_image(str(tmp_path / "rgb.png"))), rgb)
    gray = np.array([[0, 77, 255]], np.uint8)
    Image.fromarray(gray).save(tmp_path / "gray.png")
    np.testing.assert_array_equal(pixels(load_image(str(tmp_path / "gray.png"))), np.stack([gray] * 3, -1))
    np.testing.assert_array_equal(pixels(load_image(str(tmp_path / "gray.png"), "L")), gray)


def test_palette_image_loads_its_colours(tmp_path):
    img = Image.new("P", (2, 1))
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    img.putpixel((0, 0), 0)
    img.putpixel((1, 0), 1)
    img.save(tmp_path / "p.png")
    np.testing.assert_array_equal(pixels(load_image(str(tmp_path / "p.png"))), [[[255, 0, 0], [0, 0, 255]]])


def test_transparency_is_composited_on_white(tmp_path):
    rgba = np.array([[[255, 0, 0, 255], [0, 0, 0, 0], [0, 0, 255, 128]]], np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    loaded = pixels(load_image(str(tmp_path / "rgba.png")))
    np.testing.assert_array_equal(loaded[0, 0], [255, 0, 0])  # opaque: unchanged
    np.testing.assert_array_equal(loaded[0, 1], [255, 255, 255])  # transparent black shows the white page
    np.testing.assert_allclose(loaded[0, 2], [127, 127, 255], atol=1)  # half blue over white
    palette = Image.new("P", (2, 1))
    palette.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    palette.putpixel((1, 0), 1)
    palette.save(tmp_path / "pt.png", transparency=0)  # index 0 is transparent
    np.testing.assert_array_equal(
        pixels(load_image(str(tmp_path / "pt.png"))), [[[255, 255, 255], [0, 255, 0]]]
    )


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_grayscale_is_scaled_not_clipped(tmp_path, suffix):
    values = np.array([[0, 257, 1000, 32768, 65535]], np.uint16)
    path = tmp_path / f"g16{suffix}"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I;16")  # what the file really is
    expected = np.rint(values / 257.0).astype(
        np.uint8
    )  # [0, 1, 4, 128, 255]; Pillow alone gives 255 from 256 up
    np.testing.assert_array_equal(pixels(load_image(str(path), "L")), expected)
    np.testing.assert_array_equal(pixels(load_image(str(path), "RGB"))[..., 1], expected)


def test_16bit_rgb_png_keeps_its_range(tmp_path):
    values = np.array([[[0, 1000, 65535], [32768, 65280, 256]]], np.uint16)
    write_png16(tmp_path / "rgb16.png", values)
    np.testing.assert_array_equal(pixels(load_image(str(tmp_path / "rgb16.png"))), values >> 8)


def test_float_tiff_in_unit_range_is_scaled(tmp_path):
    Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32)).save(tmp_path / "f.tif")
    np.testing.assert_array_equal(pixels(load_image(str(tmp_path / "f.tif"), "L")), [[0, 128, 255]])
    Image.fromarray(np.array([[0.0, 100.0, 300.0]], np.float32)).save(tmp_path / "f255.tif")
    np.testing.assert_array_equal(pixels(load_image(str(tmp_path / "f255.tif"), "L")), [[0, 100, 255]])


@pytest.mark.parametrize("content", [b"not an image at all", "truncated"], ids=["garbage", "truncated"])
def test_unreadable_image_names_the_file(tmp_path, content):
    path = tmp_path / "broken.jpg"
    if content == "truncated":
        rng = np.random.default_rng(0)
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
        path.write_bytes(path.read_bytes()[:600])
    else:
        path.write_bytes(content)
    with pytest.raises(UserError) as err:
        load_image(str(path))
    message = str(err.value)
    assert str(path) in message and "\n" not in message
    assert message.startswith(f"cannot read image {path}: ")


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(UserError, match="cannot read image .*nowhere.png"):
        load_image(str(tmp_path / "nowhere.png"))
