"""Checks of the user's data and flags, run when a dataset is built so that bad input fails at once, in one
line that names the flag or file and the fix (the reference asserts, or dies deep inside a worker)."""

from __future__ import annotations

import argparse
import os

from PIL import Image

from data.image_folder import IMG_EXTENSIONS, load_image, make_dataset
from data.preprocess import Preprocess, resized_size
from util.errors import UserError

# Image datasets load RGB (3 channels) or, when a side's nc is 1, grayscale.
IMAGE_CHANNELS = (1, 3)


def check_dataroot(dataroot: str) -> None:
    """--dataroot must be an existing folder."""
    if not os.path.exists(dataroot):
        raise UserError(
            f"--dataroot {dataroot} does not exist; check the path (relative paths start at {os.getcwd()})"
        )
    if not os.path.isdir(dataroot):
        raise UserError(
            f"--dataroot {dataroot} is a file, not a folder; pass the folder that holds the images"
        )


def check_max_dataset_size(max_dataset_size: float) -> None:
    if not max_dataset_size >= 1:
        raise UserError(
            f"--max_dataset_size {max_dataset_size} leaves no images; use 1 or more (default inf)"
        )


def _other_files_hint(folder: str) -> str:
    """' (it holds e.g. x.webp)' when the folder has files, none with a known extension."""
    for root, _dirs, names in os.walk(folder):
        for name in sorted(names):
            return f" (it holds e.g. {os.path.join(root, name)})"
    return " (it is empty)"


def find_images(folder: str, max_dataset_size: float, layout: str) -> list[str]:
    """Sorted image paths under `folder`, cut to `max_dataset_size`.

    `layout` tells the user what the dataset mode expects, e.g. "--dataset_mode aligned reads A|B images
    from DATAROOT/PHASE"; it ends the message when the folder is missing.
    """
    if not os.path.isdir(folder):
        raise UserError(f"folder {folder} not found: {layout}; check --dataroot and --phase")
    paths = make_dataset(folder, max_dataset_size)
    if not paths:
        extensions = " ".join(IMG_EXTENSIONS)
        raise UserError(
            f"no images found in {folder}{_other_files_hint(folder)}; supported extensions: {extensions}"
        )
    return paths


# The checks below read only preprocess, load_size and crop_size: they take a Preprocess or the options.
Settings = Preprocess | argparse.Namespace


def check_crop_vs_load(prep: Settings) -> None:
    """With a resize step before the crop, the crop must fit in --load_size (the reference dies in randrange)."""
    resizes = "resize" in prep.preprocess or "scale_width" in prep.preprocess
    if "crop" in prep.preprocess and resizes and prep.crop_size > prep.load_size:
        raise UserError(
            f"--crop_size {prep.crop_size} is larger than --load_size {prep.load_size}; "
            "lower --crop_size or raise --load_size"
        )


def check_fits_crop(prep: Settings, size: tuple[int, int], path: str, what: str = "the image") -> None:
    """The image (or half image) of `size` must still cover --crop_size after the resize step."""
    if "crop" not in prep.preprocess:
        return
    w, h = resized_size(prep.preprocess, prep.load_size, prep.crop_size, size)
    if prep.crop_size > min(w, h):
        raise UserError(
            f"{path}: {what} is {w}x{h} px, smaller than --crop_size {prep.crop_size}; "
            "lower --crop_size or use --preprocess resize_and_crop"
        )


def check_channels(flag: str, nc: int, dataset_mode: str) -> None:
    """`--input_nc`/`--output_nc` must be a channel count the image loader can produce."""
    if nc not in IMAGE_CHANNELS:
        raise UserError(
            f"--{flag} {nc} does not fit the images: --dataset_mode {dataset_mode} loads them as 3 channels "
            f"(RGB) or 1 (grayscale); use --{flag} 3 or --{flag} 1"
        )


def load_checked(prep: Settings, path: str) -> Image.Image:
    """The image at `path` as RGB, checked to cover --crop_size (UserError naming the file otherwise)."""
    image = load_image(path, "RGB")
    check_fits_crop(prep, image.size, path)
    return image
