"""The dataset base class and the shared preprocessing pipeline (SPEC §5), built on torchvision transforms v2.

A dataset reads its options once in its constructor (``BaseDataset.__init__`` checks the shared flags and
keeps the preprocessing settings as ``self.prep``, a ``Preprocess``) and builds its ``Transform`` once.
``get_params`` draws one crop position and flip so that ``transform(image, params)`` applies exactly the
same geometry to both halves of an aligned pair; without params the crop and flip are drawn per call.
Every step is a small picklable class (no lambdas), so the pipeline also works with DataLoader workers
started by "spawn" or "forkserver".
"""

from __future__ import annotations

import argparse
import random
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode, v2
from torchvision.transforms.v2 import functional as F

from data.checks import check_crop_vs_load, check_dataroot, check_max_dataset_size, find_images, load_checked
from data.preprocess import (  # noqa: F401  (size_multiple, resized_size: public names kept here)
    SIZE_MULTIPLE,
    Preprocess,
    as_preprocess,
    resized_size,
    size_multiple,
)
from options.model_options import no_options
from util.distributed import print0

# Callers written for the reference pass PIL constants (Image.BICUBIC); torchvision wants InterpolationMode.
_PIL_TO_MODE = {
    Image.Resampling.NEAREST: InterpolationMode.NEAREST,
    Image.Resampling.BILINEAR: InterpolationMode.BILINEAR,
    Image.Resampling.BICUBIC: InterpolationMode.BICUBIC,
    Image.Resampling.LANCZOS: InterpolationMode.LANCZOS,
}


class BaseDataset(torch.utils.data.Dataset, ABC):
    """A dataset built from the options: the constructor reads what it needs from `opt`, then the dataset
    uses its own typed fields only.

    This constructor is the preamble every mode shares: it checks --dataroot, --max_dataset_size and
    --crop_size against --load_size, and keeps the preprocessing settings as `self.prep`."""

    def __init__(self, opt: argparse.Namespace) -> None:
        check_dataroot(opt.dataroot)
        check_max_dataset_size(opt.max_dataset_size)
        self.root = opt.dataroot
        self.max_dataset_size = opt.max_dataset_size
        self.prep = Preprocess.from_options(opt)
        check_crop_vs_load(self.prep)

    # Add dataset-specific flags or change defaults: the hooks live in options/model_options.py (torch-free).
    modify_commandline_options = staticmethod(no_options)

    def find_images(self, folder: str, layout: str, check: Callable[[str], Any] | None = None) -> list[str]:
        """Sorted image paths under `folder`, cut to --max_dataset_size; the first is loaded now (by `check`,
        default `self.load`) so that an unreadable or too small file fails at once, in one line.

        `layout` tells the user what the mode expects, e.g. "--dataset_mode aligned reads A|B images side by
        side from DATAROOT/PHASE"; it ends the message when the folder is missing."""
        paths = find_images(folder, self.max_dataset_size, layout)
        (check or self.load)(paths[0])
        return paths

    def load(self, path: str) -> Image.Image:
        """The image at `path` as RGB, checked to cover the crop (UserError naming the file otherwise)."""
        return load_checked(self.prep, path)

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def __getitem__(self, index: int) -> dict[str, Any]: ...


def get_params(prep: Preprocess | argparse.Namespace, size: tuple[int, int]) -> dict[str, Any]:
    """One random crop position (x, y) and flip for an image of `size` = (w, h), to share between A and B.

    Two randint calls and one random() on Python's `random`, in this order, as the reference draws them."""
    new_w, new_h = resized_size(prep.preprocess, prep.load_size, prep.crop_size, size)
    x = random.randint(0, max(0, new_w - prep.crop_size))
    y = random.randint(0, max(0, new_h - prep.crop_size))
    return {"crop_pos": (x, y), "flip": random.random() > 0.5}


class ScaleWidth:
    """Resize to width `target`, keeping the aspect ratio but never below `crop_size` in height."""

    def __init__(self, target: int, crop_size: int, method: InterpolationMode) -> None:
        self.target, self.crop_size, self.method = target, crop_size, method

    def __call__(self, img: Image.Image) -> Image.Image:
        w, h = resized_size("scale_width", self.target, self.crop_size, img.size)
        return img if (w, h) == img.size else F.resize(img, [h, w], self.method)


def crop_at(img: Image.Image, pos: tuple[int, int], size: int) -> Image.Image:
    """The `size`×`size` square whose top-left corner is `pos` = (x, y): the position shared by A and B."""
    w, h = img.size
    if w <= size and h <= size:  # reference: an image no larger than the crop is kept whole
        return img
    x, y = pos
    return F.crop(img, top=y, left=x, height=size, width=size)


_size_note_printed = False


def _print_size_note_once(old: tuple[int, int], new: tuple[int, int]) -> None:
    global _size_note_printed
    if not _size_note_printed:
        print0(
            f"The image size needs to be a multiple of {SIZE_MULTIPLE}. The loaded image size was {old}, so it "
            f"was adjusted to {new}. This adjustment will be done to all images whose sizes are not multiples "
            f"of {SIZE_MULTIPLE}"
        )
        _size_note_printed = True


def multiple_of_size(size: tuple[int, int], base: int = SIZE_MULTIPLE) -> tuple[int, int]:
    """(w, h) with each side rounded to the nearest multiple of `base` as the reference does
    (Python's round: halves go to even), but never below `base`."""
    return tuple(max(base, int(round(side / base) * base)) for side in size)


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


class Transform:
    """The preprocessing pipeline for one image, as in the reference's get_transform, built once per dataset.

    grayscale → resize (resize*) or scale_width (scale_width*) → crop (*crop; at params["crop_pos"] when
    params are given, else random) → without a crop, each side rounded to the generator's multiple
    (size_multiple: 4 as the reference does for none, 2**num_downs for a U-Net) → horizontal flip (unless
    --no_flip; params["flip"] when given, else random) → tensor in [-1, 1] (when convert; 1 channel if
    grayscale, else 3).

    Call it as `transform(image)` (crop and flip drawn from torch's generator, as torchvision's random
    transforms do) or `transform(image, get_params(prep, size))` (the given geometry, drawing nothing).
    """

    def __init__(
        self,
        prep: Preprocess,
        grayscale: bool = False,
        method: InterpolationMode | int = InterpolationMode.BICUBIC,
        convert: bool = True,
    ) -> None:
        method = _PIL_TO_MODE.get(method, method)
        self.resize: list[Callable] = [v2.Grayscale(1)] if grayscale else []
        if "resize" in prep.preprocess:
            self.resize.append(v2.Resize([prep.load_size, prep.load_size], interpolation=method))
        elif "scale_width" in prep.preprocess:
            self.resize.append(ScaleWidth(prep.load_size, prep.crop_size, method))
        self.crop_size = prep.crop_size if prep.crops else None
        self.random_crop = v2.RandomCrop(prep.crop_size) if prep.crops else None
        # The reference rounds only for none; scale_width's height and resize's load_size need it too.
        self.make_multiple = None if prep.crops else MakeMultipleOf(prep.size_multiple, method)
        self.random_flip = None if prep.no_flip else v2.RandomHorizontalFlip()
        self.to_tensor = ToNormalizedTensor() if convert else None

    def __call__(self, img: Image.Image, params: dict[str, Any] | None = None) -> torch.Tensor | Image.Image:
        for step in self.resize:
            img = step(img)
        if self.random_crop is None:
            img = self.make_multiple(img)
        elif params is None:
            img = self.random_crop(img)
        else:
            img = crop_at(img, params["crop_pos"], self.crop_size)
        if self.random_flip is not None:
            if params is None:
                img = self.random_flip(img)
            elif params["flip"]:
                img = F.horizontal_flip(img)
        return img if self.to_tensor is None else self.to_tensor(img)


def get_transform(
    prep: Preprocess | argparse.Namespace,
    params: dict[str, Any] | None = None,
    grayscale: bool = False,
    method: InterpolationMode | int = InterpolationMode.BICUBIC,
    convert: bool = True,
) -> Callable[[Image.Image], torch.Tensor | Image.Image]:
    """The reference's get_transform(opt, params, grayscale, method, convert): a Transform for `prep` (a
    Preprocess, or the options), with `params` bound when given. Datasets build a Transform once instead."""
    transform = Transform(as_preprocess(prep), grayscale, method, convert)
    return transform if params is None else partial(transform, params=params)
