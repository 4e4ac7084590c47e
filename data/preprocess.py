"""The preprocessing settings a dataset needs (--preprocess, --load_size, --crop_size, --no_flip and the
generator's size multiple), read from the options once, and the geometry they imply."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

# --preprocess none rounds sizes to a multiple of this (the reference's __make_power_2(base=4)); U-Nets
# need a larger one (see size_multiple).
SIZE_MULTIPLE = 4


def size_multiple(netG: str | None) -> int:
    """What the generator `netG` needs each side of its input to be a multiple of: 4 for the ResNets (the
    reference's base), 2**num_downs for the U-Nets (256 for unet_256); 4 when no generator is named."""
    # Imported here: the models package imports data modules (colorization), so not at import time.
    from models.networks import GENERATOR_SIZE_MULTIPLES

    return GENERATOR_SIZE_MULTIPLES.get(netG, SIZE_MULTIPLE)


def resized_size(preprocess: str, load_size: int, crop_size: int, size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of an image of `size` after the resize step of `preprocess`, before any crop."""
    w, h = size
    if "resize" in preprocess:
        return load_size, load_size
    if "scale_width" in preprocess:
        if w == load_size and h >= crop_size:
            return w, h
        return load_size, int(max(load_size * h / w, crop_size))
    return w, h


@dataclass(frozen=True)
class Preprocess:
    """How every image of a dataset is resized, cropped and flipped (SPEC §5); see get_transform.

    `size_multiple`: what each side is rounded to when no crop fixes the size (the generator's need)."""

    preprocess: str = "resize_and_crop"
    load_size: int = 286
    crop_size: int = 256
    no_flip: bool = False
    size_multiple: int = SIZE_MULTIPLE

    @classmethod
    def from_options(cls, opt: argparse.Namespace) -> Preprocess:
        """The one place that reads the preprocessing flags from the options."""
        return cls(
            preprocess=opt.preprocess,
            load_size=opt.load_size,
            crop_size=opt.crop_size,
            no_flip=opt.no_flip,
            size_multiple=size_multiple(getattr(opt, "netG", None)),
        )

    @property
    def crops(self) -> bool:
        return "crop" in self.preprocess


def as_preprocess(settings: Preprocess | argparse.Namespace) -> Preprocess:
    """`settings` itself, or the Preprocess of an options namespace (for callers written for the reference,
    which pass `opt`)."""
    return settings if isinstance(settings, Preprocess) else Preprocess.from_options(settings)
