"""--dataset_mode single: every image under DATAROOT itself (no phase folder), for one-directional
inference with --model test (e.g. --dataroot datasets/horse2zebra/testA)."""

from __future__ import annotations

import argparse
from typing import Any

from data.aligned_dataset import side_channels
from data.base_dataset import BaseDataset, get_transform
from data.checks import (
    check_channels,
    check_crop_vs_load,
    check_dataroot,
    check_max_dataset_size,
    find_images,
    load_checked,
)
from data.registry import register_dataset


@register_dataset("single")
class SingleDataset(BaseDataset):
    """Items {A, A_paths}: each image under --dataroot, walked recursively."""

    def __init__(self, opt: argparse.Namespace) -> None:
        super().__init__(opt)
        check_dataroot(opt.dataroot)
        check_max_dataset_size(opt.max_dataset_size)
        layout = "--dataset_mode single reads every image under DATAROOT"
        self.A_paths = find_images(opt.dataroot, opt.max_dataset_size, layout)
        check_crop_vs_load(opt)
        # The model's input side: under --direction BtoA the reference takes --output_nc here.
        nc, _ = side_channels(opt)
        check_channels("output_nc" if opt.direction == "BtoA" else "input_nc", nc, "single")
        self.transform = get_transform(opt, grayscale=nc == 1)
        # Fail now, in one line, if the first file is unreadable or too small.
        load_checked(opt, self.A_paths[0])

    def __getitem__(self, index: int) -> dict[str, Any]:
        path = self.A_paths[index]
        return {"A": self.transform(load_checked(self.opt, path)), "A_paths": path}

    def __len__(self) -> int:
        return len(self.A_paths)
