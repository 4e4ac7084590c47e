"""Normalisation layers and weight initialisation of pix2pix / CycleGAN (SPEC §3): ``--norm`` and ``--init_type``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn
from torch.nn import init
from torch.nn.modules.batchnorm import _BatchNorm

from util.errors import UserError

NormLayer = Callable[[int], nn.Module]


# -- norms ------------------------------------------------------------------------------------------------
def _no_norm(num_features: int) -> nn.Module:
    return nn.Identity()


NORMS: dict[str, NormLayer] = {
    "batch": partial(nn.BatchNorm2d, affine=True, track_running_stats=True),
    "syncbatch": partial(nn.SyncBatchNorm, affine=True, track_running_stats=True),
    "instance": partial(nn.InstanceNorm2d, affine=False, track_running_stats=False),
    "none": _no_norm,
}
# The reference README names these spellings; instance norm has no statistics to synchronise.
NORM_ALIASES = {"sync_batch": "syncbatch", "sync_instance": "instance"}
NORM_NAMES = tuple(NORMS)


def get_norm_layer(norm_type: str = "instance") -> NormLayer:
    """The constructor ``num_features -> nn.Module`` for ``--norm``."""
    name = NORM_ALIASES.get(norm_type, norm_type)
    if name not in NORMS:
        choices = ", ".join(NORM_NAMES + tuple(NORM_ALIASES))
        raise UserError(f"--norm {norm_type} is unknown; choose one of: {choices}")
    return NORMS[name]


def uses_bias(norm_layer: NormLayer) -> bool:
    # Reference rule: convs before a norm get a bias only for InstanceNorm (it has no affine shift). For
    # norm=none this is False too -- a quirk of the reference that decides checkpoint keys, so it stays.
    return getattr(norm_layer, "func", norm_layer) is nn.InstanceNorm2d


# -- weight init ------------------------------------------------------------------------------------------
INIT_FUNCS: dict[str, Callable[[torch.Tensor, float], object]] = {
    "normal": lambda w, gain: init.normal_(w, 0.0, gain),
    "xavier": lambda w, gain: init.xavier_normal_(w, gain=gain),
    "kaiming": lambda w, gain: init.kaiming_normal_(w, a=0, mode="fan_in"),
    "orthogonal": lambda w, gain: init.orthogonal_(w, gain=gain),
}
INIT_TYPES = tuple(INIT_FUNCS)


def init_weights(net: nn.Module, init_type: str = "normal", init_gain: float = 0.02) -> nn.Module:
    """Conv/linear weights by ``init_type``, biases 0; BatchNorm (and SyncBatchNorm) weights N(1, gain)."""
    if init_type not in INIT_FUNCS:
        raise UserError(f"--init_type {init_type} is unknown; choose one of: {', '.join(INIT_TYPES)}")
    init_weight = INIT_FUNCS[init_type]

    def init_module(m: nn.Module) -> None:
        if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
            init_weight(m.weight.data, init_gain)
            if m.bias is not None:
                init.constant_(m.bias.data, 0.0)
        elif isinstance(m, _BatchNorm) and m.weight is not None:
            # The reference matches the class name "BatchNorm2d" and so skips SyncBatchNorm (SPEC §3 fix).
            init.normal_(m.weight.data, 1.0, init_gain)
            init.constant_(m.bias.data, 0.0)

    net.apply(init_module)  # same traversal as the reference, so a seed gives the same weights
    return net
