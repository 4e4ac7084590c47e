"""Using a trained generator outside test.py: ``load_generator`` and the ``Translator`` it returns.

    from models import load_generator
    g = load_generator("checkpoints/horse2zebra", which="G_A")
    zebra = g(Image.open("horse.jpg"))          # PIL in, PIL out; numpy and tensors work the same way

Any size goes in and the same size comes out (reflect-padded to the network's multiple, then cropped back);
8/16-bit and float pixels keep their type; ``tile=N`` runs huge images in overlapping tiles. The mode is
test.py's (the papers' protocol: dropout on, BatchNorm with the test image's statistics) unless ``eval=True``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import numpy as np
import torch
from PIL import Image
from torch import nn

from util.errors import UserError
from util.image_io import array_to_pil, check_array, from_unit_range, pil_to_array, to_unit_range

from .architecture import read_architecture
from .base_model import missing_checkpoint_message
from .checkpoint import load_network_weights
from .networks import define_G
from .tiling import (
    crop_center,
    padded_side,
    reflect_pad,
    replace_input_stat_norms,
    run_padded,
    run_tiled_whole_statistics,
    size_multiple,
)

GENERATOR_NAMES = ("G", "G_A", "G_B")  # pix2pix / test model, CycleGAN's A->B and B->A
# What decides the generator's shape, with the reference's base defaults (SPEC §1) ...
BASE_ARCHITECTURE = dict(
    netG="resnet_9blocks", ngf=64, norm="instance", no_dropout=False, input_nc=3, output_nc=3
)
# ... and each model's own defaults (SPEC §2), used when a checkpoint has no architecture.json.
MODEL_DEFAULTS: dict[str, dict] = {
    "test": {},
    "template": {},
    "cycle_gan": {"no_dropout": True},
    "pix2pix": {"netG": "unet_256", "norm": "batch"},
}
# Tiled inference measures normalisation statistics on the whole image up to this side, above it on a copy
# downscaled to it: exact statistics at 1024 px cost one whole-image pass of that size (docs/inference.md).
DEFAULT_STATS_SIDE = 1024


def resolve_architecture(saved: Mapping, which: str, overrides: Mapping) -> dict:
    """The generator's shape: flags given > architecture.json > the model's defaults > the base defaults."""
    model = overrides.get("model") or saved.get("model") or "test"
    if model not in MODEL_DEFAULTS:
        raise UserError(
            f"--model {model}: inference here covers {', '.join(MODEL_DEFAULTS)}; use test.py for {model}"
        )
    arch = {**BASE_ARCHITECTURE, **MODEL_DEFAULTS[model]}
    arch.update({k: saved[k] for k in BASE_ARCHITECTURE if k in saved})
    if model == "cycle_gan" and which == "G_B":  # G_B maps B -> A: its channel counts are swapped
        arch["input_nc"], arch["output_nc"] = arch["output_nc"], arch["input_nc"]
    arch.update({k: v for k, v in overrides.items() if k in BASE_ARCHITECTURE and v is not None})
    return arch


def find_weights(path: str, which: str | None, epoch: str) -> tuple[str, str]:
    """(weights file, generator name) for a checkpoint folder or a ``*_net_G*.pth`` file."""
    if which is not None and which not in GENERATOR_NAMES:
        raise UserError(f"--which {which} is unknown; choose one of: {', '.join(GENERATOR_NAMES)}")
    if os.path.isfile(path):
        match = re.search(r"_net_(G(?:_[AB])?)\.pth$", os.path.basename(path))
        return path, which or (match.group(1) if match else "G")
    candidates = [which] if which else ["G", "G_A"]
    for name in candidates:
        weights = os.path.join(path, f"{epoch}_net_{name}.pth")
        if os.path.isfile(weights):
            return weights, name
    raise UserError(missing_checkpoint_message(os.path.join(path, f"{epoch}_net_{candidates[0]}.pth"), path))


def prepare_generator(net: nn.Module, eval_mode: bool) -> nn.Module:
    """``net`` set up for inference: test.py's train mode (dropout on, input-statistics BatchNorm) or eval."""
    net.train(not eval_mode)
    replace_input_stat_norms(net)
    net.eval()
    if not eval_mode:  # Reference runs test in train mode unless --eval: dropout stays on.
        for m in net.modules():
            if isinstance(m, nn.Dropout):
                m.train()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def load_generator(
    path: str,
    which: str | None = None,
    epoch: str | int = "latest",
    *,
    eval: bool = False,
    device: str | torch.device | None = None,
    tile: int | None = None,
    tile_overlap: int | None = None,
    stats_side: int = DEFAULT_STATS_SIDE,
    seed: int | None = None,
    **architecture,
) -> Translator:
    """A ``Translator`` for generator ``which`` (G, G_A or G_B; default G, else G_A) of checkpoint ``path``.

    ``path`` is a checkpoint folder (``checkpoints/NAME``) or a weights file. The architecture comes from the
    folder's architecture.json; for checkpoints without one (every published model) pass the reference's
    flags as keywords: ``model="test", no_dropout=True`` or ``netG="unet_256", norm="batch"``.
    """
    if not os.path.exists(path):
        raise UserError(missing_checkpoint_message(os.path.join(path, f"{epoch}_net_G.pth"), path))
    weights, which = find_weights(path, which, str(epoch))
    save_dir = path if os.path.isdir(path) else os.path.dirname(path)
    arch = resolve_architecture(read_architecture(save_dir), which, architecture)
    net = define_G(
        arch["input_nc"], arch["output_nc"], arch["ngf"], arch["netG"], arch["norm"], not arch["no_dropout"]
    )
    load_network_weights(net, weights, flag_hint=f"for network {which}")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    net = prepare_generator(net.to(device), eval)
    return Translator(
        net,
        arch,
        device=device,
        tile=tile,
        tile_overlap=tile_overlap,
        stats_side=stats_side,
        seed=seed,
        eval_mode=eval,
    )


class Translator:
    """A prepared generator that translates PIL images, numpy arrays and tensors of any size."""

    def __init__(
        self,
        net: nn.Module,
        architecture: Mapping,
        *,
        device: torch.device,
        tile: int | None = None,
        tile_overlap: int | None = None,
        stats_side: int = DEFAULT_STATS_SIDE,
        seed: int | None = None,
        eval_mode: bool = False,
    ) -> None:
        self.net, self.architecture, self.device = net, dict(architecture), device
        self.input_nc, self.output_nc = architecture["input_nc"], architecture["output_nc"]
        self.multiple = size_multiple(net)
        self.seed, self.eval_mode, self.stats_side = seed, eval_mode, stats_side
        if tile is not None and tile <= 0:
            raise UserError(f"--tile {tile} must be a positive number of pixels")
        # A tile is rounded up to a size the network takes (a multiple of 4, or 256 for unet_256).
        self.tile = None if tile is None else padded_side(tile, self.multiple)
        overlap = self.tile // 4 if tile_overlap is None and self.tile else tile_overlap or 0
        if self.tile and not 0 <= overlap < self.tile:
            raise UserError(f"--tile_overlap {overlap} must be between 0 and the tile size {self.tile}")
        self.tile_overlap = overlap

    def __call__(self, image):
        """PIL image -> PIL image, numpy array -> array of the same dtype, tensor (C,H,W or N,C,H,W in [-1, 1]) -> tensor."""
        if isinstance(image, Image.Image):
            array, mode = pil_to_array(image)
            return array_to_pil(self.translate_array(array), mode)
        if isinstance(image, np.ndarray):
            out = self.translate_array(image)
            return out[:, :, 0] if image.ndim == 2 and out.shape[2] == 1 else out
        if isinstance(image, torch.Tensor):
            return self.translate_tensor(image)
        raise TypeError(f"expected a PIL image, a numpy array or a tensor, got {type(image).__name__}")

    @torch.no_grad()
    def translate_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) or (C, H, W) in [-1, 1] -> the same layout, one image at a time (test.py's batch of 1)."""
        single = x.dim() == 3
        batch = x[None] if single else x
        if batch.dim() != 4 or batch.shape[1] != self.input_nc:
            raise UserError(f"expected a tensor (N, {self.input_nc}, H, W) in [-1, 1], got {tuple(x.shape)}")
        out = torch.cat([self._translate_one(img[None].to(self.device, torch.float32)) for img in batch])
        return out[0] if single else out

    def _translate_one(self, x: torch.Tensor) -> torch.Tensor:
        with torch.random.fork_rng(
            devices=[self.device] if self.device.type == "cuda" else [], enabled=self.seed is not None
        ):
            if self.seed is not None:
                torch.manual_seed(self.seed)  # per image: its dropout masks do not depend on the others
            h, w = x.shape[2], x.shape[3]
            ph, pw = padded_side(h, self.multiple), padded_side(w, self.multiple)
            if not self.tile or (ph <= self.tile and pw <= self.tile):
                return run_padded(self.net, x, self.multiple)
            y = run_tiled_whole_statistics(
                self.net,
                reflect_pad(x, ph, pw),
                self.tile,
                self.tile_overlap,
                self.output_nc,
                self.stats_side,
                self.multiple,
            )
            return crop_center(y, h, w, (ph, pw))

    def translate_array(self, array: np.ndarray, name: str = "the image") -> np.ndarray:
        """H x W [x C] pixels (uint8, uint16 or float in [0, 1]) -> H x W x output channels, same dtype.

        A grey image goes into a 3-channel network as grey RGB (as the reference loads it), RGB into a
        1-channel network as its luminance; an alpha channel is set aside and put back on the output.
        """
        array = check_array(array, name)
        values, alpha = self._fit_channels(to_unit_range(array), name)
        x = torch.from_numpy(np.ascontiguousarray(values.transpose(2, 0, 1)))[None] * 2 - 1
        y = self.translate_tensor(x)[0].float().cpu().numpy().transpose(1, 2, 0)
        out = np.clip((y + 1) / 2, 0, 1)
        if alpha is not None and self.output_nc in (1, 3):
            out = np.concatenate([out, alpha], axis=2)
        return from_unit_range(out, array.dtype)

    def _fit_channels(self, values: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray | None]:
        channels, alpha = values.shape[2], None
        if channels in (2, 4) and channels != self.input_nc:  # grey + alpha, RGBA
            values, alpha, channels = values[:, :, :-1], values[:, :, -1:], channels - 1
        if channels == self.input_nc:
            return values, alpha
        if channels == 1 and self.input_nc == 3:
            return np.repeat(values, 3, axis=2), alpha
        if channels == 3 and self.input_nc == 1:  # ITU-R 601 luma, as Pillow's convert("L")
            return values @ np.array([[0.299], [0.587], [0.114]], dtype=np.float32), alpha
        raise UserError(
            f"{name} has {values.shape[2]} channels; the generator takes {self.input_nc} (its --input_nc)"
        )
