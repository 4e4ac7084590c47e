import numpy as np
import pytest
import torch
from PIL import Image

from util.util import mkdirs, save_image, tensor2im


@pytest.mark.parametrize(("value", "pixel"), [(-1.0, 0), (1.0, 255), (0.0, 127), (0.5, 191), (-0.5, 63)])
def test_tensor2im_maps_minus_one_one_to_uint8_truncating(value, pixel):
    image = tensor2im(torch.full((1, 3, 4, 5), value))
    assert image.dtype == np.uint8
    assert image.shape == (4, 5, 3)
    assert (image == pixel).all()


def test_tensor2im_takes_the_first_image_of_the_batch():
    batch = torch.stack([torch.full((3, 2, 2), -1.0), torch.full((3, 2, 2), 1.0)])
    assert (tensor2im(batch) == 0).all()


def test_tensor2im_tiles_gray_to_three_equal_channels():
    gray = torch.linspace(-1, 1, 12).reshape(1, 1, 3, 4)
    image = tensor2im(gray)
    assert image.shape == (3, 4, 3)
    assert (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all()
    assert image[0, 0, 0] == 0 and image[-1, -1, 0] == 255


def test_tensor2im_keeps_channel_order():
    rgb = torch.tensor([-1.0, 0.0, 1.0]).reshape(1, 3, 1, 1)
    assert tensor2im(rgb)[0, 0].tolist() == [0, 127, 255]


def test_tensor2im_saturates_out_of_range_values_instead_of_wrapping():
    image = tensor2im(torch.tensor([-3.0, 2.0, 1.001]).reshape(1, 3, 1, 1))
    assert image[0, 0].tolist() == [0, 255, 255]


# (aspect_ratio, saved (width, height)) for a 30 x 20 (width x height) image.
ASPECT_CASES = [(1.0, (30, 20)), (2.0, (60, 20)), (1.5, (45, 20)), (0.5, (30, 40)), (0.8, (30, 25))]


@pytest.mark.parametrize(("aspect_ratio", "size"), ASPECT_CASES)
def test_save_image_aspect_ratio_stretches_width_not_height(tmp_path, aspect_ratio, size):
    # The reference swaps the two: its --aspect_ratio 2 on this image would save 20 x 60.
    path = tmp_path / "im.png"
    save_image(np.zeros((20, 30, 3), np.uint8), str(path), aspect_ratio=aspect_ratio)
    assert Image.open(path).size == size


def test_save_image_keeps_pixels_without_aspect_ratio(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, (8, 6, 3), dtype=np.uint8)
    path = tmp_path / "im.png"
    save_image(arr, str(path))
    assert (np.asarray(Image.open(path)) == arr).all()


def test_mkdirs_accepts_one_path_or_a_list(tmp_path):
    mkdirs(str(tmp_path / "a" / "b"))
    mkdirs([str(tmp_path / "c"), str(tmp_path / "d")])
    mkdirs(str(tmp_path / "c"))  # existing folder: no error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "c", "d"]
    assert (tmp_path / "a" / "b").is_dir()
