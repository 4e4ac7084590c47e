"""Running a generator on any size: reflect-padding to the network's multiple, and overlapping tiles.

Normalisation is what makes tiling hard: instance norm (and BatchNorm as test.py runs it, with the test
batch's statistics) normalises each channel by the mean and variance of the *whole* input, so a tile
normalised by its own statistics comes out brighter or darker than its neighbour and seams show. Here every
such layer becomes an ``InputStatNorm`` whose statistics can be fixed: they are measured once on the whole
image (above ``stats_side`` pixels a side, on a downscaled copy), and then every tile is normalised with the
same numbers. Tiles overlap and are blended with a smooth window. Measured seams: docs/inference.md.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

# A ResNet generator reflect-pads by 1 inside its blocks at quarter resolution, which needs 2 pixels there.
MIN_SIDE = 8


class InputStatNorm(nn.Module):
    """Normalise each channel by statistics of the input (per image, or over the batch), or by fixed ones.

    Written with plain tensor ops so that ONNX and TorchScript keep computing the statistics at run time
    (the ONNX exporter otherwise turns a train-mode BatchNorm into an eval-mode one).
    """

    def __init__(self, num_features: int, eps: float, per_image: bool, weight=None, bias=None) -> None:
        super().__init__()
        self.num_features, self.eps, self.per_image = num_features, eps, per_image
        self.weight = None if weight is None else nn.Parameter(weight.detach().clone(), requires_grad=False)
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone(), requires_grad=False)
        self.fixed: tuple[torch.Tensor, torch.Tensor] | None = None  # (mean, var), each (1, C, 1, 1)
        self.sums: list[torch.Tensor] | None = None  # [count, sum, sum of squares] while recording

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.sums is not None:
            self._record(x)
        if self.fixed is not None:
            mean, var = self.fixed
        else:
            dims = (2, 3) if self.per_image else (0, 2, 3)
            mean = x.mean(dims, keepdim=True)
            var = ((x - mean) ** 2).mean(dims, keepdim=True)
        y = (x - mean) / torch.sqrt(var + self.eps)
        if self.weight is not None:
            y = y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return y

    def _record(self, x: torch.Tensor) -> None:
        x64 = x.detach().double()
        n = torch.tensor(float(x64[:, 0].numel()), dtype=torch.float64, device=x.device)
        parts = (n, x64.sum((0, 2, 3)), (x64**2).sum((0, 2, 3)))
        self.sums = list(parts) if not self.sums else [a + b for a, b in zip(self.sums, parts)]

    def recorded_stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        n, total, squares = self.sums
        mean = total / n
        var = (squares / n - mean**2).clamp_min(0)
        shape = (1, -1, 1, 1)
        return mean.float().view(shape), var.float().view(shape)


def uses_input_statistics(m: nn.Module) -> bool:
    """True for a norm layer that normalises by its input's statistics in its current mode."""
    if isinstance(m, _InstanceNorm):
        return not (m.track_running_stats and not m.training)
    if isinstance(m, _BatchNorm):
        return m.training or not m.track_running_stats
    return False


def replace_input_stat_norms(net: nn.Module) -> int:
    """Swap every norm that uses its input's statistics for an ``InputStatNorm``; returns how many.

    Call it with the network in the mode it will run in. The swap also keeps BatchNorm's running statistics
    untouched: a train-mode BatchNorm would update them on every image.
    """
    swaps = [(name, m) for name, m in net.named_modules() if uses_input_statistics(m)]
    for name, m in swaps:
        parent_name, _, child = name.rpartition(".")
        parent = net.get_submodule(parent_name) if parent_name else net
        affine = getattr(m, "affine", False)
        new = InputStatNorm(
            m.num_features,
            m.eps,
            per_image=isinstance(m, _InstanceNorm),
            weight=m.weight if affine else None,
            bias=m.bias if affine else None,
        )
        setattr(parent, child, new.to(next(iter(m.buffers()), torch.empty(0)).device))
    return len(swaps)


def stat_norms(net: nn.Module) -> list[InputStatNorm]:
    return [m for m in net.modules() if isinstance(m, InputStatNorm)]


@contextlib.contextmanager
def fixed_statistics(net: nn.Module, stats: list[tuple[torch.Tensor, torch.Tensor]]) -> Iterator[None]:
    """Every ``InputStatNorm`` in ``net`` normalises with ``stats`` (in module order) inside the block."""
    norms = stat_norms(net)
    try:
        for m, s in zip(norms, stats):
            m.fixed = s
        yield
    finally:
        for m in norms:
            m.fixed = None


@contextlib.contextmanager
def recording(net: nn.Module, out: list) -> Iterator[None]:
    """Accumulate every ``InputStatNorm``'s input statistics; on exit ``out`` holds (mean, var) per layer."""
    norms = stat_norms(net)
    for m in norms:
        m.sums = []
    try:
        yield
    finally:
        out[:] = [m.recorded_stats() if m.sums else None for m in norms]
        for m in norms:
            m.sums = None


# -- sizes ------------------------------------------------------------------------------------------------
def size_multiple(net: nn.Module) -> int:
    """The multiple every side must be: 4 for ResNet generators, 2**num_downs for U-Nets."""
    return int(getattr(net, "input_size_multiple", 1))


def padded_side(side: int, multiple: int) -> int:
    return max(math.ceil(side / multiple) * multiple, math.ceil(MIN_SIDE / multiple) * multiple)


def reflect_pad(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``x`` (N, C, h, w) padded to (height, width), split evenly between the sides, by reflection.

    Reflection needs the pad to be smaller than the side, so a small image is reflected repeatedly as it
    grows; a side of 1 pixel has nothing to reflect and is repeated instead.
    """
    while x.shape[2] < height or x.shape[3] < width:
        h, w = x.shape[2], x.shape[3]
        add_h, add_w = min(height - h, max(h - 1, 0) * 2), min(width - w, max(w - 1, 0) * 2)
        if (height > h and h == 1) or (width > w and w == 1):  # nothing to reflect: repeat the pixel
            add_h, add_w = (height - h if h == 1 else 0), (width - w if w == 1 else 0)
            mode = "replicate"
        else:
            mode = "reflect"
        top, left = add_h // 2, add_w // 2
        x = F.pad(x, (left, add_w - left, top, add_h - top), mode=mode)
    return x


def crop_center(y: torch.Tensor, height: int, width: int, padded: tuple[int, int]) -> torch.Tensor:
    """Undo ``reflect_pad``: the (height, width) window where the original image landed."""
    top, left = _pad_offset(height, padded[0]), _pad_offset(width, padded[1])
    return y[:, :, top : top + height, left : left + width]


def _pad_offset(side: int, target: int) -> int:
    """Where ``reflect_pad`` put the original's first row/column, following its rounds of padding."""
    offset = 0
    while side < target:
        add = min(target - side, (side - 1) * 2) if side > 1 else target - side
        offset += add // 2
        side += add
    return offset


def run_padded(net: Callable, x: torch.Tensor, multiple: int) -> torch.Tensor:
    """``net(x)`` for any spatial size: pad to the multiple, run, crop back."""
    h, w = x.shape[2], x.shape[3]
    ph, pw = padded_side(h, multiple), padded_side(w, multiple)
    y = net(reflect_pad(x, ph, pw))
    return crop_center(y, h, w, (ph, pw))


# -- tiles ------------------------------------------------------------------------------------------------
def tile_starts(side: int, tile: int, overlap: int) -> list[int]:
    """Tile origins along one side: a regular step of ``tile - overlap``, the last tile flush with the end."""
    if side <= tile:
        return [0]
    count = math.ceil((side - overlap) / (tile - overlap))
    return [round(i * (side - tile) / (count - 1)) for i in range(count)]


def blend_window(tile: int, overlap: int, at_start: bool, at_end: bool) -> torch.Tensor:
    """1-D weights: a raised-cosine ramp over ``overlap`` pixels on sides that meet another tile, 1 elsewhere."""
    w = torch.ones(tile, dtype=torch.float64)
    ramp = 0.5 - 0.5 * torch.cos(math.pi * (torch.arange(overlap, dtype=torch.float64) + 0.5) / overlap)
    if not at_start:
        w[:overlap] = ramp
    if not at_end:
        w[tile - overlap :] = ramp.flip(0)
    return w


def run_tiled(net: nn.Module, x: torch.Tensor, tile: int, overlap: int, out_channels: int) -> torch.Tensor:
    """``net`` on overlapping ``tile``-sized windows of ``x`` (one image, already padded), blended."""
    _, _, h, w = x.shape
    th, tw = min(tile, h), min(tile, w)
    rows, cols = tile_starts(h, th, overlap), tile_starts(w, tw, overlap)
    out = torch.zeros(1, out_channels, h, w, dtype=torch.float64, device=x.device)
    weight = torch.zeros(1, 1, h, w, dtype=torch.float64, device=x.device)
    for top in rows:
        wy = blend_window(th, min(overlap, th), top == 0, top + th == h).to(x.device)
        for left in cols:
            wx = blend_window(tw, min(overlap, tw), left == 0, left + tw == w).to(x.device)
            window = (wy[:, None] * wx[None, :])[None, None]
            y = net(x[:, :, top : top + th, left : left + tw])
            out[:, :, top : top + th, left : left + tw] += y.double() * window
            weight[:, :, top : top + th, left : left + tw] += window
    return (out / weight).to(x.dtype)


def run_tiled_whole_statistics(
    net: nn.Module,
    x: torch.Tensor,
    tile: int,
    overlap: int,
    out_channels: int,
    stats_side: int,
    multiple: int,
) -> torch.Tensor:
    """Tiles of padded image ``x`` normalised with statistics of the whole image (see the module doc).

    The statistics are measured on the whole image when its longer side is at most ``stats_side``, else
    on a copy downscaled to that side (an approximation: a network sees a smaller copy differently). A
    network without input-statistics norms (eval-mode BatchNorm, no norm) needs no statistics pass.
    """
    if not stat_norms(net):
        return run_tiled(net, x, tile, overlap, out_channels)
    h, w = x.shape[2], x.shape[3]
    scale = min(1.0, stats_side / max(h, w))
    small = F.interpolate(x, scale_factor=scale, mode="area") if scale < 1 else x
    sh, sw = padded_side(small.shape[2], multiple), padded_side(small.shape[3], multiple)
    stats: list = []
    with recording(net, stats):
        net(reflect_pad(small, sh, sw))
    with fixed_statistics(net, stats):
        return run_tiled(net, x, tile, overlap, out_channels)
