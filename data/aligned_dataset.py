"""--dataset_mode aligned: pix2pix pairs stored side by side, A on the left and B on the right of one file,
in DATAROOT/PHASE (e.g. datasets/facades/train/1.jpg)."""

from __future__ import annotations

import argparse
import os
import warnings
from collections.abc import Callable
from typing import Any

from PIL import Image

from data.base_dataset import BaseDataset, get_params, get_transform
from data.checks import (
    check_channels,
    check_crop_vs_load,
    check_dataroot,
    check_fits_crop,
    check_max_dataset_size,
    find_images,
)
from data.image_folder import load_image
from data.registry import register_dataset


def side_channels(opt: argparse.Namespace) -> tuple[int, int]:
    """Channels of the A (left) and B (right) halves: the model's input is B under --direction BtoA,
    so A then takes --output_nc and B --input_nc."""
    if opt.direction == "BtoA":
        return opt.output_nc, opt.input_nc
    return opt.input_nc, opt.output_nc


def split_pair(AB: Image.Image) -> tuple[Image.Image, Image.Image]:
    """Left and right halves, split at w // 2 as the reference does (B is a pixel wider when w is odd)."""
    w, h = AB.size
    half = w // 2
    return AB.crop((0, 0, half, h)), AB.crop((half, 0, w, h))


FIXED_PARAMS = {"crop_pos": (0, 0), "flip": False}


def geometry_is_fixed(opt: argparse.Namespace) -> bool:
    """True when get_params can only draw FIXED_PARAMS's geometry: no flip, and a crop (if any) of an image
    resized to the crop size, so the pipelines can be built once instead of per item."""
    crop_moves = "crop" in opt.preprocess and not (
        "resize" in opt.preprocess and opt.load_size == opt.crop_size
    )
    return opt.no_flip and not crop_moves


@register_dataset("aligned")
class AlignedDataset(BaseDataset):
    """Items {A, B, A_paths, B_paths}: both halves of one file, with one shared crop position and flip."""

    def __init__(self, opt: argparse.Namespace) -> None:
        super().__init__(opt)
        check_dataroot(opt.dataroot)
        check_max_dataset_size(opt.max_dataset_size)
        self.dir_AB = os.path.join(opt.dataroot, opt.phase)
        self.AB_paths = find_images(self.dir_AB, opt.max_dataset_size, self._layout(opt))
        check_crop_vs_load(opt)
        self.A_nc, self.B_nc = side_channels(opt)
        check_channels("output_nc" if opt.direction == "BtoA" else "input_nc", self.A_nc, "aligned")
        check_channels("input_nc" if opt.direction == "BtoA" else "output_nc", self.B_nc, "aligned")
        self._warned_odd_width = False
        self._fixed_transforms = self._transforms(FIXED_PARAMS) if geometry_is_fixed(opt) else None
        self.load_pair(
            self.AB_paths[0]
        )  # fail now, in one line, if the first file is unreadable or too small

    @staticmethod
    def _layout(opt: argparse.Namespace) -> str:
        layout = f"--dataset_mode aligned reads A|B images side by side from DATAROOT/{opt.phase}"
        if os.path.isdir(os.path.join(opt.dataroot, opt.phase + "A")):
            layout += f" (found {opt.phase}A/: did you mean --dataset_mode unaligned?)"
        return layout

    def load_pair(self, path: str) -> tuple[Image.Image, Image.Image]:
        """The A and B halves of the file at `path`, checked against the crop size."""
        A, B = split_pair(load_image(path, "RGB"))
        check_fits_crop(self.opt, A.size, path, "each half of the A|B image")
        if A.size != B.size and not self._warned_odd_width:
            warnings.warn(
                f"{path} is {A.width + B.width} px wide (odd): its A and B halves differ by one pixel",
                stacklevel=2,
            )
            self._warned_odd_width = True
        return A, B

    def __getitem__(self, index: int) -> dict[str, Any]:
        path = self.AB_paths[index]
        A, B = self.load_pair(path)
        # Drawn even when the geometry is fixed, so the random stream stays the reference's.
        params = get_params(self.opt, A.size)
        transform_A, transform_B = self._fixed_transforms or self._transforms(params)
        return {"A": transform_A(A), "B": transform_B(B), "A_paths": path, "B_paths": path}

    def _transforms(self, params: dict[str, Any]) -> tuple[Callable, Callable]:
        """The pipelines of A and B for one crop position and flip."""
        return (
            get_transform(self.opt, params, grayscale=self.A_nc == 1),
            get_transform(self.opt, params, grayscale=self.B_nc == 1),
        )

    def __len__(self) -> int:
        return len(self.AB_paths)
