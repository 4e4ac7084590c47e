"""Bad input gets one clear line naming the flag or file (UserError), never a traceback from deep inside."""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pytest
from PIL import Image

from data import DATASETS, create_dataset
from util.errors import UserError

DATA_DEFAULTS = dict(
    phase="train", dataset_mode="aligned", max_dataset_size=float("inf"), direction="AtoB", input_nc=3,
    output_nc=3, preprocess="resize_and_crop", load_size=32, crop_size=32, no_flip=True, serial_batches=True,
    batch_size=1, num_threads=0, isTrain=True, seed=0,
)  # fmt: skip


def make_opt(dataroot, **overrides) -> argparse.Namespace:
    return argparse.Namespace(**{**DATA_DEFAULTS, "dataroot": str(dataroot), **overrides})


def save(path, width: int = 16, height: int = 16) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((height, width, 3), 100, np.uint8)).save(path)


def error_of(opt: argparse.Namespace, item: int | None = None) -> str:
    """The message of the UserError that building the loader (or reading item `item`) raises."""
    with pytest.raises(UserError) as err:
        loader = create_dataset(opt)
        if item is not None:
            loader.dataset[item]
    message = str(err.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("mode", sorted(DATASETS))
def test_missing_dataroot(tmp_path, mode):
    missing = tmp_path / "nowhere"
    message = error_of(make_opt(missing, dataset_mode=mode, input_nc=1, output_nc=2, direction="AtoB"))
    assert message.startswith(f"--dataroot {missing} does not exist")


def test_dataroot_that_is_a_file(tmp_path):
    (tmp_path / "f.png").write_bytes(b"")
    assert "is a file, not a folder" in error_of(make_opt(tmp_path / "f.png"))


def test_empty_dataroot_names_the_expected_folder(tmp_path):
    message = error_of(make_opt(tmp_path))
    assert message.startswith(
        f"folder {tmp_path / 'train'} not found: --dataset_mode aligned reads A|B images"
    )
    assert "--dataroot and --phase" in message
    (tmp_path / "train").mkdir()
    assert error_of(make_opt(tmp_path)).startswith(f"no images found in {tmp_path / 'train'} (it is empty)")


@pytest.mark.parametrize("missing", ["trainA", "trainB"])
def test_missing_domain_folder(tmp_path, missing):
    for folder in {"trainA", "trainB"} - {missing}:
        save(tmp_path / folder / "x.png")
    message = error_of(make_opt(tmp_path, dataset_mode="unaligned"))
    assert message.startswith(f"folder {tmp_path / missing} not found: --dataset_mode unaligned reads domain")


def test_aligned_layout_mistaken_for_unaligned_gets_a_hint(tmp_path):
    save(tmp_path / "trainA" / "x.png")
    assert "did you mean --dataset_mode unaligned?" in error_of(make_opt(tmp_path))


def test_no_images_with_a_known_extension(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "x.webp").write_bytes(b"RIFF")
    message = error_of(make_opt(tmp_path))
    assert (
        f"no images found in {tmp_path / 'train'} (it holds e.g. {tmp_path / 'train' / 'x.webp'})" in message
    )
    assert ".jpg .jpeg .png .ppm .bmp .tif .tiff" in message


def test_unreadable_first_image_fails_when_the_dataset_is_built(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "a.jpg").write_bytes(b"\xff\xd8\xff truncated jpeg")
    assert error_of(make_opt(tmp_path)).startswith(f"cannot read image {tmp_path / 'train' / 'a.jpg'}: ")


def test_truncated_later_image_fails_when_read_naming_it(tmp_path):
    save(tmp_path / "train" / "a.png", 32, 16)
    save(tmp_path / "train" / "b.png", 32, 16)
    path = tmp_path / "train" / "b.png"
    path.write_bytes(path.read_bytes()[:-30])
    assert error_of(make_opt(tmp_path), item=1).startswith(f"cannot read image {path}: ")


def test_pair_too_small_for_the_crop(tmp_path):
    save(tmp_path / "train" / "a.png", 40, 40)
    message = error_of(make_opt(tmp_path, preprocess="crop", load_size=286, crop_size=32))
    assert message == (
        f"{tmp_path / 'train' / 'a.png'}: each half of the A|B image is 20x40 px, smaller than --crop_size 32; "
        "lower --crop_size or use --preprocess resize_and_crop"
    )


def test_odd_width_only_warns(tmp_path):
    save(tmp_path / "train" / "a.png", 33, 16)
    with pytest.warns(UserWarning, match="33 px wide \\(odd\\): its A and B halves differ by one pixel"):
        loader = create_dataset(make_opt(tmp_path, load_size=16, crop_size=16))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per dataset, not once per image
        item = loader.dataset[0]
    assert item["A"].shape == item["B"].shape == (3, 16, 16)


def test_crop_size_above_load_size(tmp_path):
    save(tmp_path / "train" / "a.png", 32, 16)
    message = error_of(make_opt(tmp_path, load_size=286, crop_size=300))
    assert message == "--crop_size 300 is larger than --load_size 286; lower --crop_size or raise --load_size"
    message = error_of(make_opt(tmp_path, preprocess="scale_width_and_crop", load_size=16, crop_size=20))
    assert message.startswith("--crop_size 20 is larger than --load_size 16")


def test_crop_size_above_the_image(tmp_path):
    save(tmp_path / "trainA" / "a.png", 24, 40)
    save(tmp_path / "trainB" / "b.png", 64, 64)
    message = error_of(make_opt(tmp_path, dataset_mode="unaligned", preprocess="crop", crop_size=32))
    assert message.startswith(
        f"{tmp_path / 'trainA' / 'a.png'}: the image is 24x40 px, smaller than --crop_size 32"
    )


def test_a_smaller_image_later_in_the_folder_fails_when_read(tmp_path):
    save(tmp_path / "a.png", 64, 64)
    save(tmp_path / "b.png", 20, 64)
    opt = make_opt(tmp_path, dataset_mode="single", preprocess="crop", crop_size=32)
    assert error_of(opt, item=1).startswith(
        f"{tmp_path / 'b.png'}: the image is 20x64 px, smaller than --crop_size 32"
    )


@pytest.mark.parametrize(
    "mode, overrides, flag",
    [
        ("aligned", dict(input_nc=4), "--input_nc 4"),
        ("aligned", dict(output_nc=2, direction="BtoA"), "--output_nc 2"),
        ("unaligned", dict(output_nc=4), "--output_nc 4"),
        ("single", dict(input_nc=2), "--input_nc 2"),
    ],
)
def test_channel_counts_that_do_not_fit_the_images(tmp_path, mode, overrides, flag):
    for rel in ("train/a.png", "trainA/a.png", "trainB/b.png"):
        save(tmp_path / rel, 32, 16)
    message = error_of(make_opt(tmp_path, dataset_mode=mode, **overrides))
    assert message.startswith(
        f"{flag} does not fit the images: --dataset_mode {mode} loads them as 3 channels"
    )


@pytest.mark.parametrize("flag, value", [("input_nc", 3), ("output_nc", 3), ("direction", "BtoA")])
def test_colorization_needs_its_channels(tmp_path, flag, value):
    save(tmp_path / "train" / "a.png")
    opt = make_opt(tmp_path, dataset_mode="colorization", input_nc=1, output_nc=2, direction="AtoB")
    setattr(opt, flag, value)
    assert error_of(opt).startswith(f"--dataset_mode colorization needs --{flag} ")


def test_max_dataset_size_zero(tmp_path):
    save(tmp_path / "train" / "a.png", 32, 16)
    assert error_of(make_opt(tmp_path, max_dataset_size=0)).startswith(
        "--max_dataset_size 0 leaves no images"
    )


def test_unknown_dataset_mode(tmp_path):
    assert error_of(make_opt(tmp_path, dataset_mode="paired")).startswith("--dataset_mode paired is unknown")
