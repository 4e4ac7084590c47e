"""Everyday image sizes train: sizes no --crop_size fixes are rounded to the generator's multiple
(data/base_dataset.py), a crop that does not fit the generator is refused at parse time, and a batch of
mixed sizes is one clear error (data/loader.py)."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch
from PIL import Image

from data import create_dataset
from data.base_dataset import get_transform
from models import create_model
from models.networks import GENERATOR_SIZE_MULTIPLES, GENERATORS, define_G
from options import parse_test_options
from tests.helpers import tiny_train_options
from util.errors import UserError


def save(path, width: int, height: int, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def one_step(opt) -> tuple[dict, dict[str, torch.Tensor]]:
    """The first batch of the real loader and the visuals after one training step on it."""
    torch.manual_seed(0)
    loader = create_dataset(opt)
    loader.set_epoch(1)
    batch = next(iter(loader))
    model = create_model(opt)
    model.setup(opt)
    model.set_input(batch)
    model.optimize_parameters()
    model.compute_visuals()
    return batch, model.get_current_visuals()


@pytest.mark.parametrize("netG", list(GENERATORS))
def test_size_multiple_table_matches_each_built_generator(netG):
    assert GENERATOR_SIZE_MULTIPLES[netG] == define_G(3, 3, 4, netG).input_size_multiple


def test_scale_width_trains_a_non_square_image_whose_height_is_not_a_multiple_of_4(tmp_path):
    # 80x54 scaled to width 64 is 64x43 (the reference stops there, and CycleGAN's cycle loss then compares
    # 43 rows with the generator's 44); here 43 is rounded to 44.
    for domain in ("trainA", "trainB"):
        save(tmp_path / domain / "0.png", 80, 54)
    opt = tiny_train_options(tmp_path, "cycle_gan", "--preprocess", "scale_width", "--load_size", "64",
                             "--crop_size", "16", "--no_flip")  # fmt: skip
    batch, visuals = one_step(opt)
    assert tuple(batch["A"].shape) == (1, 3, 44, 64)
    for label in ("real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B", "idt_A", "idt_B"):
        assert tuple(visuals[label].shape) == (1, 3, 44, 64), label


def test_unet_with_preprocess_none_trains_an_odd_size(tmp_path):
    # Each half of the 300x110 A|B file is 150x110: rounded to unet_128's multiple, 128x128 (the
    # reference's multiple of 4, 152x112, cannot be halved 7 times).
    save(tmp_path / "train" / "0.png", 300, 110)
    opt = tiny_train_options(tmp_path, "pix2pix", "--netG", "unet_128", "--preprocess", "none")
    batch, visuals = one_step(opt)
    assert tuple(batch["A"].shape) == tuple(batch["B"].shape) == (1, 3, 128, 128)
    assert {label: tuple(v.shape) for label, v in visuals.items()} == {
        "real_A": (1, 3, 128, 128),
        "fake_B": (1, 3, 128, 128),
        "real_B": (1, 3, 128, 128),
    }


@pytest.mark.parametrize(
    "preprocess, netG, load, size, expected",
    [
        ("resize", "resnet_9blocks", 36, (50, 20), (36, 36)),  # resize only: load_size square, no crop
        ("resize", "resnet_9blocks", 30, (50, 20), (32, 32)),  # round(7.5) = 8 (halves to even) -> 32
        ("resize", "unet_128", 200, (50, 20), (256, 256)),  # round(200 / 128) = 2 -> 256
        ("none", "resnet_9blocks", 36, (34, 26), (32, 24)),  # the reference's multiple of 4, unchanged
        ("none", "unet_256", 36, (300, 100), (256, 256)),  # never below the multiple
        ("scale_width", "resnet_9blocks", 32, (40, 27), (32, 20)),
        ("scale_width", "unet_128", 120, (200, 300), (128, 128)),  # 120 x 180 -> 128 x 128
    ],
)
def test_sizes_without_a_crop_are_rounded_to_the_generators_multiple(preprocess, netG, load, size, expected):
    opt = argparse.Namespace(preprocess=preprocess, netG=netG, load_size=load, crop_size=16, no_flip=True)
    image = Image.fromarray(np.zeros((size[1], size[0], 3), np.uint8))
    assert tuple(get_transform(opt)(image).shape) == (3, expected[1], expected[0])


def test_preprocess_resize_trains_at_load_size(tmp_path):
    save(tmp_path / "train" / "0.png", 90, 30)
    opt = tiny_train_options(tmp_path, "pix2pix", "--preprocess", "resize", "--load_size", "24")
    batch, visuals = one_step(opt)
    assert tuple(batch["A"].shape) == (1, 3, 24, 24) and tuple(visuals["fake_B"].shape) == (1, 3, 24, 24)


@pytest.mark.parametrize("num_threads", ["0", "1"])
def test_mixed_sizes_in_one_batch_are_one_clear_error(tmp_path, num_threads):
    save(tmp_path / "trainA" / "a.png", 32, 32)
    save(tmp_path / "trainA" / "b.png", 48, 32)
    save(tmp_path / "trainB" / "c.png", 32, 32)
    opt = tiny_train_options(tmp_path, "cycle_gan", "--preprocess", "none", "--batch_size", "2",
                             "--serial_batches", "--num_threads", num_threads)  # fmt: skip
    loader = create_dataset(opt)
    loader.set_epoch(1)
    with pytest.raises(UserError) as err:
        next(iter(loader))
    assert str(err.value) == (
        f"--batch_size 2 stacks images of one size, but {tmp_path / 'trainA' / 'a.png'} (32x32 px) and "
        f"{tmp_path / 'trainA' / 'b.png'} (48x32 px) differ after --preprocess; use --batch_size 1, or a "
        "--preprocess that gives every image one size (resize_and_crop, crop, scale_width_and_crop, resize)"
    )


def test_one_size_batches_still_stack(tmp_path):
    for name in ("a", "b", "c"):
        save(tmp_path / "trainA" / f"{name}.png", 36, 28)
        save(tmp_path / "trainB" / f"{name}.png", 28, 36)
    opt = tiny_train_options(tmp_path, "cycle_gan", "--preprocess", "none", "--batch_size", "2")
    loader = create_dataset(opt)
    loader.set_epoch(1)
    shapes = [(tuple(b["A"].shape), tuple(b["B"].shape), len(b["A_paths"])) for b in loader]
    assert shapes == [((2, 3, 28, 36), (2, 3, 36, 28), 2), ((1, 3, 28, 36), (1, 3, 36, 28), 1)]


@pytest.mark.parametrize(
    "netG, crop, message",
    [
        ("resnet_9blocks", "250", "--netG resnet_9blocks needs --crop_size to be a multiple of 4, got 250; "
         "use --crop_size 248 or 252"),
        ("resnet_6blocks", "2", "--netG resnet_6blocks needs --crop_size to be a multiple of 4, got 2; "
         "use --crop_size 4"),
        ("unet_128", "192", "--netG unet_128 needs --crop_size to be a multiple of 128, got 192; "),
    ],
)  # fmt: skip
def test_a_crop_the_generator_cannot_take_is_refused_when_training(tmp_path, netG, crop, message):
    with pytest.raises(UserError) as err:
        tiny_train_options(tmp_path, "cycle_gan", "--netG", netG, "--crop_size", crop, "--load_size", "286")
    assert str(err.value).startswith(message)


def test_test_py_keeps_a_resnet_crop_that_is_not_a_multiple_of_4(tmp_path):
    """The reference translates such a crop (into a slightly larger image); only training cannot use it."""
    opt = parse_test_options(["--dataroot", str(tmp_path), "--crop_size", "250", "--load_size", "250"])
    assert (opt.crop_size, opt.netG) == (250, "resnet_9blocks")
