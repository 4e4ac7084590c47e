"""--dataset_mode template: a small, working dataset to copy when writing your own.

To add a mode: copy this file to data/NAME_dataset.py, rename the class, change the name given to
``@register_dataset``, add the module to the import list in data/__init__.py, and fill in the four parts
below. This one reads A|B files like --dataset_mode aligned, from DATAROOT/PHASE.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from data.aligned_dataset import split_pair
from data.base_dataset import BaseDataset, Transform, get_params
from data.registry import register_dataset
from options.model_options import template_data_options


@register_dataset("template")
class TemplateDataset(BaseDataset):
    """Items {A, B, A_paths, B_paths}: the halves of each file, with a shared crop and flip."""

    modify_commandline_options = staticmethod(
        template_data_options
    )  # options/model_options.py: torch-free, for --help

    def __init__(self, opt: argparse.Namespace) -> None:
        """2. Read the options once, check them and find the files, raising UserError with the fix in the
        message. BaseDataset checks the shared flags and keeps the preprocessing settings as self.prep;
        after this constructor the dataset uses its own fields only, not opt."""
        super().__init__(opt)
        layout = f"--dataset_mode template reads A|B images from DATAROOT/{opt.phase}"
        self.paths = self.find_images(os.path.join(opt.dataroot, opt.phase), layout)
        self.transform = Transform(self.prep)  # built once; each item passes its own crop and flip

    def __getitem__(self, index: int) -> dict[str, Any]:
        """3. Read one item and return a dict of tensors and paths; the model's set_input unpacks it."""
        path = self.paths[index]
        A, B = split_pair(self.load(path))
        params = get_params(self.prep, A.size)  # one crop and flip for both halves keeps them aligned
        return {
            "A": self.transform(A, params),
            "B": self.transform(B, params),
            "A_paths": path,
            "B_paths": path,
        }

    def __len__(self) -> int:
        """4. The number of items (the loader also stops at --max_dataset_size)."""
        return len(self.paths)
