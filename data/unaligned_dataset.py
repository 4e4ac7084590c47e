"""--dataset_mode unaligned: CycleGAN's two unpaired domains, DATAROOT/PHASEA and DATAROOT/PHASEB
(e.g. datasets/horse2zebra/trainA, .../trainB)."""

from __future__ import annotations

import argparse
import os
import random
from typing import Any

from data.aligned_dataset import side_channels
from data.base_dataset import BaseDataset, Transform
from data.checks import check_channels
from data.registry import register_dataset


@register_dataset("unaligned")
class UnalignedDataset(BaseDataset):
    """Items {A, B, A_paths, B_paths}: A = A[i mod |A|]; B = B[i mod |B|] with --serial_batches, else a
    random B (so the pairs differ every epoch). Length max(|A|, |B|); A and B are transformed independently."""

    def __init__(self, opt: argparse.Namespace) -> None:
        super().__init__(opt)
        self.serial_batches = opt.serial_batches
        self.dir_A = os.path.join(opt.dataroot, opt.phase + "A")
        self.dir_B = os.path.join(opt.dataroot, opt.phase + "B")
        A_nc, B_nc = side_channels(opt)
        check_channels("output_nc" if opt.direction == "BtoA" else "input_nc", A_nc, "unaligned")
        check_channels("input_nc" if opt.direction == "BtoA" else "output_nc", B_nc, "unaligned")
        self.A_paths = self.find_images(self.dir_A, self._layout(opt, "A"))
        self.B_paths = self.find_images(self.dir_B, self._layout(opt, "B"))
        self.A_size, self.B_size = len(self.A_paths), len(self.B_paths)
        self.transform_A = Transform(self.prep, grayscale=A_nc == 1)
        self.transform_B = Transform(self.prep, grayscale=B_nc == 1)

    @staticmethod
    def _layout(opt: argparse.Namespace, side: str) -> str:
        layout = f"--dataset_mode unaligned reads domain {side} from DATAROOT/{opt.phase}{side}"
        if os.path.isdir(os.path.join(opt.dataroot, opt.phase)):
            layout += f" (found {opt.phase}/: did you mean --dataset_mode aligned?)"
        return layout

    def b_index(self, index: int) -> int:
        """Which B goes with item `index`: in step with A for --serial_batches, else drawn at random."""
        if self.serial_batches:
            return index % self.B_size
        return random.randint(0, self.B_size - 1)

    def __getitem__(self, index: int) -> dict[str, Any]:
        A_path = self.A_paths[index % self.A_size]
        B_path = self.B_paths[self.b_index(index)]
        A = self.transform_A(self.load(A_path))
        B = self.transform_B(self.load(B_path))
        return {"A": A, "B": B, "A_paths": A_path, "B_paths": B_path}

    def __len__(self) -> int:
        return max(self.A_size, self.B_size)
