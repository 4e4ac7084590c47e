"""The discriminators of pix2pix / CycleGAN (SPEC §3): PatchGAN and per-pixel.

Module structure is API (checkpoint keys). ``DISCRIMINATORS`` maps ``--netD`` names to constructors
``(input_nc, ndf, n_layers_D, norm_layer)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .norms import NormLayer, uses_bias


class NLayerDiscriminator(nn.Module):
    """PatchGAN: n_layers stride-2 convs then two stride-1 convs; 3 layers = the 70×70 PatchGAN."""

    def __init__(
        self, input_nc: int, ndf: int = 64, n_layers: int = 3, norm_layer: NormLayer = nn.BatchNorm2d
    ) -> None:
        super().__init__()
        bias = uses_bias(norm_layer)
        layers = [nn.Conv2d(input_nc, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        channels = ndf
        strides = [2] * (n_layers - 1) + [1]  # the last of these keeps the size, as in the reference
        for n, stride in enumerate(strides, start=1):
            out = ndf * min(2 ** min(n, n_layers), 8)
            layers += [nn.Conv2d(channels, out, 4, stride=stride, padding=1, bias=bias), norm_layer(out)]
            layers += [nn.LeakyReLU(0.2, True)]
            channels = out
        layers.append(nn.Conv2d(channels, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """1×1 PatchGAN: judges every pixel on its own."""

    def __init__(self, input_nc: int, ndf: int = 64, norm_layer: NormLayer = nn.BatchNorm2d) -> None:
        super().__init__()
        bias = uses_bias(norm_layer)
        self.net = nn.Sequential(
            nn.Conv2d(input_nc, ndf, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 1, bias=bias),
            norm_layer(ndf * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, 1, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _basic_discriminator(input_nc: int, ndf: int, n_layers_D: int, norm_layer: NormLayer) -> nn.Module:
    return NLayerDiscriminator(input_nc, ndf, n_layers=3, norm_layer=norm_layer)  # ignores --n_layers_D


def _n_layer_discriminator(input_nc: int, ndf: int, n_layers_D: int, norm_layer: NormLayer) -> nn.Module:
    return NLayerDiscriminator(input_nc, ndf, n_layers=n_layers_D, norm_layer=norm_layer)


def _pixel_discriminator(input_nc: int, ndf: int, n_layers_D: int, norm_layer: NormLayer) -> nn.Module:
    return PixelDiscriminator(input_nc, ndf, norm_layer=norm_layer)


DISCRIMINATORS: dict[str, Callable[[int, int, int, NormLayer], nn.Module]] = {
    "basic": _basic_discriminator,
    "n_layers": _n_layer_discriminator,
    "pixel": _pixel_discriminator,
}
DISCRIMINATOR_NAMES = tuple(DISCRIMINATORS)
