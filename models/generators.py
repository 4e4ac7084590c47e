"""The generators of pix2pix / CycleGAN (SPEC §3): ResNet and U-Net, with optional activation checkpointing.

Module structure is API: every ``nn.Sequential`` and its member order reproduce the reference, so its
published checkpoints load with ``strict=True``. ``GENERATORS`` maps ``--netG`` names to constructors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from functools import partial

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.checkpoint import checkpoint

from .norms import NormLayer, uses_bias


# -- gradient checkpointing -------------------------------------------------------------------------------
@contextlib.contextmanager
def _frozen_running_stats(layers: Sequence[nn.Module]) -> Iterator[None]:
    """Undo BatchNorm running-stat updates made while recomputing a forward during backward."""
    norms = [
        m for layer in layers for m in layer.modules() if isinstance(m, _BatchNorm) and m.track_running_stats
    ]
    saved = [(m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone()) for m in norms]
    try:
        yield
    finally:
        for m, (mean, var, count) in zip(norms, saved):
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)
            m.num_batches_tracked.copy_(count)


def run_checkpointed(layers: Sequence[nn.Module], x: torch.Tensor) -> torch.Tensor:
    """Apply ``layers`` in turn keeping only ``x`` for backward; the rest is recomputed there.

    Dropout masks match (checkpoint restores the RNG state) and BatchNorm statistics are updated once,
    so outputs, gradients and running statistics equal those of a plain forward.
    """
    calls = 0

    def run(inp: torch.Tensor) -> torch.Tensor:
        nonlocal calls
        calls += 1
        with _frozen_running_stats(layers) if calls > 1 else contextlib.nullcontext():
            for layer in layers:
                inp = layer(inp)
        return inp

    return checkpoint(run, x, use_reentrant=False)


def _checkpointing(net: nn.Module) -> bool:
    return net.grad_checkpoint and net.training and torch.is_grad_enabled()


# -- generators -------------------------------------------------------------------------------------------
class ResnetBlock(nn.Module):
    """x + conv_block(x): pad, conv3, norm, ReLU, [Dropout 0.5], pad, conv3, norm."""

    PADDINGS = {"reflect": (nn.ReflectionPad2d, 0), "replicate": (nn.ReplicationPad2d, 0), "zero": (None, 1)}

    def __init__(
        self, dim: int, padding_type: str, norm_layer: NormLayer, use_dropout: bool, use_bias: bool
    ) -> None:
        super().__init__()
        pad_layer, conv_padding = self.PADDINGS[padding_type]
        pad = [pad_layer(1)] if pad_layer else []
        layers = [
            *pad,
            nn.Conv2d(dim, dim, 3, padding=conv_padding, bias=use_bias),
            norm_layer(dim),
            nn.ReLU(True),
        ]
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        layers += [*pad, nn.Conv2d(dim, dim, 3, padding=conv_padding, bias=use_bias), norm_layer(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """Johnson et al.'s encoder / residual blocks / decoder, all in one ``Sequential`` named ``model``."""

    n_downsampling = 2

    def __init__(
        self,
        input_nc: int,
        output_nc: int,
        ngf: int = 64,
        norm_layer: NormLayer = nn.BatchNorm2d,
        use_dropout: bool = False,
        n_blocks: int = 6,
        padding_type: str = "reflect",
        grad_checkpoint: bool = False,
    ) -> None:
        super().__init__()
        bias = uses_bias(norm_layer)
        layers = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(input_nc, ngf, 7, bias=bias),
            norm_layer(ngf),
            nn.ReLU(True),
        ]
        for i in range(self.n_downsampling):
            c = ngf * 2**i
            layers += [
                nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=bias),
                norm_layer(2 * c),
                nn.ReLU(True),
            ]
        dim = ngf * 2**self.n_downsampling
        layers += [ResnetBlock(dim, padding_type, norm_layer, use_dropout, bias) for _ in range(n_blocks)]
        for i in range(self.n_downsampling):
            c = ngf * 2 ** (self.n_downsampling - i)
            up = nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=bias)
            layers += [up, norm_layer(c // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        self.grad_checkpoint = grad_checkpoint
        self.input_size_multiple = 2**self.n_downsampling  # height and width must be multiples of this

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _checkpointing(self):
            return self.model(x)
        for layer in self.model:
            x = run_checkpointed([layer], x) if isinstance(layer, ResnetBlock) else layer(x)
        return x


class UnetSkipConnectionBlock(nn.Module):
    """One U-Net level: down, the inner level (``submodule``), up; non-outermost levels concat their input.

    The first member of a non-outermost level is an in-place LeakyReLU, so the skip carries the activated
    input -- the reference's behaviour, which its trained weights expect.
    """

    def __init__(
        self,
        outer_nc: int,
        inner_nc: int,
        input_nc: int | None = None,
        submodule: UnetSkipConnectionBlock | None = None,
        outermost: bool = False,
        innermost: bool = False,
        norm_layer: NormLayer = nn.BatchNorm2d,
        use_dropout: bool = False,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        self.grad_checkpoint = False  # set by UnetGenerator
        bias = uses_bias(norm_layer)
        downconv = nn.Conv2d(
            outer_nc if input_nc is None else input_nc, inner_nc, 4, stride=2, padding=1, bias=bias
        )
        up_in = inner_nc if innermost else 2 * inner_nc
        if outermost:
            upconv = nn.ConvTranspose2d(up_in, outer_nc, 4, stride=2, padding=1)
            layers = [downconv, submodule, nn.ReLU(True), upconv, nn.Tanh()]
        else:
            upconv = nn.ConvTranspose2d(up_in, outer_nc, 4, stride=2, padding=1, bias=bias)
            up = [nn.ReLU(True), upconv, norm_layer(outer_nc)]
            if innermost:
                layers = [nn.LeakyReLU(0.2, True), downconv, *up]
            else:
                layers = [nn.LeakyReLU(0.2, True), downconv, norm_layer(inner_nc), submodule, *up]
                layers += [nn.Dropout(0.5)] if use_dropout else []
        self.model = nn.Sequential(*layers)
        # Kept as an index, not an attribute: a second reference would add duplicate state_dict keys.
        self._inner_index = None if innermost else layers.index(submodule)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self._checkpointed_model(x) if _checkpointing(self) else self.model(x)
        return y if self.outermost else torch.cat([x, y], 1)

    def _checkpointed_model(self, x: torch.Tensor) -> torch.Tensor:
        """``self.model(x)`` with this level's own layers recomputed in backward; the inner level checkpoints itself.

        In-place activations that start a segment run outside the checkpoint: recomputing them on their
        own (already activated) input would apply them twice.
        """
        layers = list(self.model)
        if not self.outermost:
            x = layers.pop(0)(x)  # LeakyReLU, in place: x is also the skip, as in self.model(x)
        if self._inner_index is None:
            return run_checkpointed(layers, x)
        i = self._inner_index - (0 if self.outermost else 1)
        h = layers[i](run_checkpointed(layers[:i], x))
        h = layers[i + 1](h)  # ReLU, in place
        return run_checkpointed(layers[i + 2 :], h)


class UnetGenerator(nn.Module):
    """U-Net with skips; ``num_downs`` halvings, so the input side must be a multiple of 2**num_downs."""

    def __init__(
        self,
        input_nc: int,
        output_nc: int,
        num_downs: int,
        ngf: int = 64,
        norm_layer: NormLayer = nn.BatchNorm2d,
        use_dropout: bool = False,
        grad_checkpoint: bool = False,
    ) -> None:
        super().__init__()
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, norm_layer=norm_layer, innermost=True)
        for _ in range(num_downs - 5):  # the reference puts dropout only on these 8·ngf levels
            block = UnetSkipConnectionBlock(
                ngf * 8, ngf * 8, None, block, norm_layer=norm_layer, use_dropout=use_dropout
            )
        for mult in (4, 2, 1):
            block = UnetSkipConnectionBlock(ngf * mult, ngf * mult * 2, None, block, norm_layer=norm_layer)
        self.model = UnetSkipConnectionBlock(
            output_nc, ngf, input_nc, block, outermost=True, norm_layer=norm_layer
        )
        self.grad_checkpoint = grad_checkpoint
        self.input_size_multiple = 2**num_downs

    @property
    def grad_checkpoint(self) -> bool:
        return self.model.grad_checkpoint

    @grad_checkpoint.setter
    def grad_checkpoint(self, on: bool) -> None:
        for m in self.modules():
            if isinstance(m, UnetSkipConnectionBlock):
                m.grad_checkpoint = on

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


GENERATORS: dict[str, Callable[..., nn.Module]] = {
    "resnet_9blocks": partial(ResnetGenerator, n_blocks=9),
    "resnet_6blocks": partial(ResnetGenerator, n_blocks=6),
    "unet_256": partial(UnetGenerator, num_downs=8),
    "unet_128": partial(UnetGenerator, num_downs=7),
}
GENERATOR_NAMES = tuple(GENERATORS)
# The side of a generator's input must be a multiple of this (the built network's `input_size_multiple`):
# two stride-2 halvings in the ResNets, num_downs in the U-Nets. Read by the data pipeline and option checks.
GENERATOR_SIZE_MULTIPLES = {"resnet_9blocks": 4, "resnet_6blocks": 4, "unet_256": 256, "unet_128": 128}
