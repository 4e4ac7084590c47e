"""Colorization: pix2pix from the L channel to the ab channels of Lab images."""

from data.color import lab_to_rgb
from options.model_options import colorization_options

from .base_model import register_model
from .pix2pix_model import Pix2PixModel


@register_model("colorization")
class ColorizationModel(Pix2PixModel):
    visual_names = ["real_A", "real_B_rgb", "fake_B_rgb"]

    modify_commandline_options = staticmethod(
        colorization_options
    )  # options/model_options.py: torch-free, for --help

    def compute_visuals(self) -> None:
        self.real_B_rgb = lab_to_rgb(self.real_A, self.real_B)
        self.fake_B_rgb = lab_to_rgb(self.real_A, self.fake_B)
