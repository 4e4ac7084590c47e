"""--dataset_mode colorization: RGB images in DATAROOT/PHASE turned into Lab, the model predicting the
colour (ab) from the lightness (L)."""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np
import torch

from data.base_dataset import BaseDataset, Transform
from data.color import srgb_to_lab
from data.registry import register_dataset
from options.model_options import COLORIZATION_DATA, colorization_data_options
from util.errors import UserError

# What colorization needs, flag by flag: one L channel in, two ab channels out.


@register_dataset("colorization")
class ColorizationDataset(BaseDataset):
    """Items {A, B, A_paths, B_paths}: A = L/50 − 1 (1 channel), B = ab/110 (2 channels), both about [-1, 1]."""

    modify_commandline_options = staticmethod(
        colorization_data_options
    )  # options/model_options.py: torch-free, for --help

    def __init__(self, opt: argparse.Namespace) -> None:
        super().__init__(opt)
        for flag, value in COLORIZATION_DATA.items():
            if getattr(opt, flag) != value:
                raise UserError(
                    f"--dataset_mode colorization needs --{flag} {value} (got {getattr(opt, flag)}): "
                    "it maps the L channel to the two ab channels of Lab"
                )
        self.dir = os.path.join(opt.dataroot, opt.phase)
        layout = f"--dataset_mode colorization reads RGB images from DATAROOT/{opt.phase}"
        self.AB_paths = self.find_images(self.dir, layout)
        self.transform = Transform(self.prep, convert=False)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path = self.AB_paths[index]
        rgb = np.asarray(self.transform(self.load(path)), dtype=np.float32) / np.float32(255.0)
        lab = srgb_to_lab(torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))))
        return {"A": lab[:1] / 50.0 - 1.0, "B": lab[1:] / 110.0, "A_paths": path, "B_paths": path}

    def __len__(self) -> int:
        return len(self.AB_paths)
