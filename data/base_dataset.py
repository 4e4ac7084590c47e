"""The dataset base class and the shared preprocessing pipeline (SPEC §5), built on torchvision transforms v2.

``get_params`` draws one crop position and flip so that ``get_transform(opt, params)`` applies exactly the
same geometry to both halves of an aligned pair; without params the crop and flip are drawn per call.
Every step is a small picklable class (no lambdas), so the pipeline also works with DataLoader workers
started by "spawn" or "forkserver".
"""

from __future__ import annotations

import argparse
import random
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode, v2
from torchvision.transforms.v2 import functional as F

from options.model_options import no_options

# Callers written for the reference pass PIL constants (Image.BICUBIC); torchvision wants InterpolationMode.
_PIL_TO_MODE = {
    Image.Resampling.NEAREST: InterpolationMode.NEAREST,
    Image.Resampling.BILINEAR: InterpolationMode.BILINEAR,
    Image.Resampling.BICUBIC: InterpolationMode.BICUBIC,
    Image.Resampling.LANCZOS: InterpolationMode.LANCZOS,
}

# --preprocess none rounds sizes to a multiple of this (the reference's __make_power_2(base=4)); U-Nets
# need a larger one (see size_multiple).
SIZE_MULTIPLE = 4


class BaseDataset(torch.utils.data.Dataset, ABC):
    """A dataset built from the options: subclasses read what they need from `opt` in __init__ only."""

    def __init__(self, opt: argparse.Namespace) -> None:
        self.opt = opt
        self.root = opt.dataroot

    # Add dataset-specific flags or change defaults: the hooks live in options/model_options.py (torch-free).
    modify_commandline_options = staticmethod(no_options)

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def __getitem__(self, index: int) -> dict[str, Any]: ...


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


def get_params(opt: argparse.Namespace, size: tuple[int, int]) -> dict[str, Any]:
    """One random crop position (x, y) and flip for an image of `size` = (w, h), to share between A and B."""
    new_w, new_h = resized_size(opt.preprocess, opt.load_size, opt.crop_size, size)
    x = random.randint(0, max(0, new_w - opt.crop_size))
    y = random.randint(0, max(0, new_h - opt.crop_size))
    return {"crop_pos": (x, y), "flip": random.random() > 0.5}


class ScaleWidth:
    """Resize to width `target`, keeping the aspect ratio but never below `crop_size` in height."""

    def __init__(self, target: int, crop_size: int, method: InterpolationMode) -> None:
        self.target, self.crop_size, self.method = target, crop_size, method

    def __call__(self, img: Image.Image) -> Image.Image:
        w, h = resized_size("scale_width", self.target, self.crop_size, img.size)
        return img if (w, h) == img.size else F.resize(img, [h, w], self.method)


class FixedCrop:
    """Crop a `size`×`size` square whose top-left corner is `pos` = (x, y): the position shared by A and B."""

    def __init__(self, pos: tuple[int, int], size: int) -> None:
        self.pos, self.size = pos, size

    def __call__(self, img: Image.Image) -> Image.Image:
        w, h = img.size
        if w <= self.size and h <= self.size:  # reference: an image no larger than the crop is kept whole
            return img
        x, y = self.pos
        return F.crop(img, top=y, left=x, height=self.size, width=self.size)


class HorizontalFlip:
    """Always flip: used when the shared params decided to flip."""

    def __call__(self, img: Image.Image) -> Image.Image:
        return F.horizontal_flip(img)


_size_note_printed = False


def _print_size_note_once(old: tuple[int, int], new: tuple[int, int]) -> None:
    global _size_note_printed
    if not _size_note_printed:
        print(
            f"The image size needs to be a multiple of {SIZE_MULTIPLE}. The loaded image size was {old}, so it "
            f"was adjusted to {new}. This adjustment will be done to all images whose sizes are not multiples "
            f"of {SIZE_MULTIPLE}"
        )
        _size_note_printed = True


def multiple_of_size(size: tuple[int, int], base: int = SIZE_MULTIPLE) -> tuple[int, int]:
    """(w, h) with each side rounded to the nearest multiple of `base` as the reference does
    (Python's round: halves go to even), but never below `base`."""
    return tuple(max(base, int(round(side / base) * base)) for side in size)


def size_multiple(netG: str | None) -> int:
    """What the generator `netG` needs each side of its input to be a multiple of: 4 for the ResNets (the
    reference's base), 2**num_downs for the U-Nets (256 for unet_256); 4 when no generator is named."""
    # Imported here: the models package imports data modules (colorization), so not at import time.
    from models.networks import GENERATOR_SIZE_MULTIPLES

    return GENERATOR_SIZE_MULTIPLES.get(netG, SIZE_MULTIPLE)


class MakeMultipleOf:
    """Resize so both sides are multiples of `base` (printing a note once per process): the sizes that no
    --crop_size fixes (--preprocess none, scale_width, resize) must fit the generator."""

    def __init__(self, base: int, method: InterpolationMode) -> None:
        self.base, self.method = base, method

    def __call__(self, img: Image.Image) -> Image.Image:
        w, h = multiple_of_size(img.size, self.base)
        if (w, h) == img.size:
            return img
        _print_size_note_once(img.size, (w, h))
        return F.resize(img, [h, w], self.method)


class ToNormalizedTensor:
    """PIL image → float32 CxHxW tensor in [-1, 1]: the reference's ToTensor + Normalize(0.5, 0.5).

    Done in numpy on purpose: torch's element-wise ops split even this small job across its intra-op threads,
    which in the main process (--num_threads 0, and always at test time) costs 15-30 ms per image instead of
    0.3 ms when the CPUs are busy. The values agree with torchvision's to within 1e-7.
    """

    def __call__(self, img: Image.Image) -> torch.Tensor:
        array = np.asarray(img, dtype=np.float32)
        array = (array / np.float32(255.0) - np.float32(0.5)) / np.float32(0.5)
        if array.ndim == 2:
            array = array[None]
        else:
            array = array.transpose(2, 0, 1)
        return torch.from_numpy(np.ascontiguousarray(array))


def get_transform(
    opt: argparse.Namespace,
    params: dict[str, Any] | None = None,
    grayscale: bool = False,
    method: InterpolationMode | int = InterpolationMode.BICUBIC,
    convert: bool = True,
) -> v2.Compose:
    """The preprocessing pipeline for one image, as in the reference's get_transform.

    grayscale → resize (resize*) or scale_width (scale_width*) → crop (*crop; at params["crop_pos"] when
    params are given, else random) → without a crop, each side rounded to the generator's multiple
    (size_multiple: 4 as the reference does for none, 2**num_downs for a U-Net) → horizontal flip (unless
    --no_flip; params["flip"] when given, else random) → tensor in [-1, 1] (when convert; 1 channel if
    grayscale, else 3).
    """
    method = _PIL_TO_MODE.get(method, method)
    steps: list = [v2.Grayscale(1)] if grayscale else []
    if "resize" in opt.preprocess:
        steps.append(v2.Resize([opt.load_size, opt.load_size], interpolation=method))
    elif "scale_width" in opt.preprocess:
        steps.append(ScaleWidth(opt.load_size, opt.crop_size, method))
    if "crop" in opt.preprocess:
        steps.append(
            v2.RandomCrop(opt.crop_size) if params is None else FixedCrop(params["crop_pos"], opt.crop_size)
        )
    else:  # the reference rounds only for none; scale_width's height and resize's load_size need it too
        steps.append(MakeMultipleOf(size_multiple(getattr(opt, "netG", None)), method))
    if not opt.no_flip:
        if params is None:
            steps.append(v2.RandomHorizontalFlip())
        elif params["flip"]:
            steps.append(HorizontalFlip())
    if convert:
        steps.append(ToNormalizedTensor())
    return v2.Compose(steps)
