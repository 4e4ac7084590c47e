"""--dataset_mode single: every image under DATAROOT itself (no phase folder), for one-directional
inference with --model test (e.g. --dataroot datasets/horse2zebra/testA)."""

from __future__ import annotations

import argparse
from typing import Any

from data.aligned_dataset import side_channels
from data.base_dataset import BaseDataset, Transform
from data.checks import check_channels
from data.registry import register_dataset


@register_dataset("single")
class SingleDataset(BaseDataset):
    """Items {A, A_paths}: each image under --dataroot, walked recursively."""

    def __init__(self, opt: argparse.Namespace) -> None:
        super().__init__(opt)
        # The model's input side: under --direction BtoA the reference takes --output_nc here.
        nc, _ = side_channels(opt)
        check_channels("output_nc" if opt.direction == "BtoA" else "input_nc", nc, "single")
        self.A_paths = self.find_images(
            opt.dataroot, "--dataset_mode single reads every image under DATAROOT"
        )
        self.transform = Transform(self.prep, grayscale=nc == 1)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path = self.A_paths[index]
        return {"A": self.transform(self.load(path)), "A_paths": path}

    def __len__(self) -> int:
        return len(self.A_paths)
