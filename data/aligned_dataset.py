"""--dataset_mode aligned: pix2pix pairs stored side by side, A on the left and B on the right of one file,
in DATAROOT/PHASE (e.g. datasets/facades/train/1.jpg)."""

from __future__ import annotations

import argparse
import os
import warnings
from typing import Any

from PIL import Image

from data.base_dataset import BaseDataset, Transform, get_params
from data.checks import check_channels, check_fits_crop
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


@register_dataset("aligned")
class AlignedDataset(BaseDataset):
    """Items {A, B, A_paths, B_paths}: both halves of one file, with one shared crop position and flip."""

    def __init__(self, opt: argparse.Namespace) -> None:
        super().__init__(opt)
        self.A_nc, self.B_nc = side_channels(opt)
        check_channels("output_nc" if opt.direction == "BtoA" else "input_nc", self.A_nc, "aligned")
        check_channels("input_nc" if opt.direction == "BtoA" else "output_nc", self.B_nc, "aligned")
        self.transform_A = Transform(self.prep, grayscale=self.A_nc == 1)
        self.transform_B = Transform(self.prep, grayscale=self.B_nc == 1)
        self._warned_odd_width = False
        self.dir_AB = os.path.join(opt.dataroot, opt.phase)
        self.AB_paths = self.find_images(self.dir_AB, self._layout(opt), check=self.load_pair)

    @staticmethod
    def _layout(opt: argparse.Namespace) -> str:
        layout = f"--dataset_mode aligned reads A|B images side by side from DATAROOT/{opt.phase}"
        if os.path.isdir(os.path.join(opt.dataroot, opt.phase + "A")):
            layout += f" (found {opt.phase}A/: did you mean --dataset_mode unaligned?)"
        return layout

    def load_pair(self, path: str) -> tuple[Image.Image, Image.Image]:
        """The A and B halves of the file at `path`, checked against the crop size."""
        A, B = split_pair(load_image(path, "RGB"))
        check_fits_crop(self.prep, A.size, path, "each half of the A|B image")
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
        params = get_params(self.prep, A.size)  # one crop position and flip for both halves
        return {
            "A": self.transform_A(A, params),
            "B": self.transform_B(B, params),
            "A_paths": path,
            "B_paths": path,
        }

    def __len__(self) -> int:
        return len(self.AB_paths)
