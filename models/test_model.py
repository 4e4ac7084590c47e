"""Inference in one direction with one generator (``--model test``): `latest_net_G{model_suffix}.pth`."""

import os

from options.model_options import test_model_options
from util.errors import UserError

from .base_model import BaseModel, register_model

# Subfolders that mark a dataset root rather than a folder of single images.
_DATASET_ROOT_MARKS = ("train", "test", "val", "trainA", "testA")


@register_model("test")
class TestModel(BaseModel):
    loss_names: list[str] = []
    visual_names = ["real", "fake"]

    modify_commandline_options = staticmethod(
        test_model_options
    )  # options/model_options.py: torch-free, for --help

    def __init__(self, opt, device=None, ddp=False):
        super().__init__(opt, device, ddp)
        if opt.dataset_mode == "single":
            marks = [d for d in _DATASET_ROOT_MARKS if os.path.isdir(os.path.join(opt.dataroot, d))]
            if marks:
                raise UserError(
                    f"--model test reads single images, but --dataroot {opt.dataroot} holds dataset folders ({', '.join(marks)}); "
                    f"point --dataroot at one folder of inputs (e.g. {os.path.join(opt.dataroot, marks[0])}) "
                    "or, for paired A|B data, use --model pix2pix"
                )
        self.net_name = "G" + opt.model_suffix
        self.netG = self.generator(opt.input_nc, opt.output_nc)

    def networks(self):
        return {self.net_name: self.netG}

    def set_input(self, batch: dict) -> None:
        self.real = self.to_device(batch["A"])
        self.image_paths = batch["A_paths"]

    def forward(self) -> None:
        self.fake = self.netG(self.real)
