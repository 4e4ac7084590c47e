"""An exponential moving average of the generators (`--ema_decay D`): after every optimizer step

    ema_p = D · ema_p + (1 − D) · p          for every parameter p,
    ema_b = b                                for every buffer b (BatchNorm statistics are copied, not averaged),

as in Karras et al. (Progressive GANs) and Yazıcı et al. 2019 ("The unusual effectiveness of averaging in GAN
training"). The copies never train: they are what validation, `best_net_*` and test.py use. They are saved
beside the raw weights as `{label}_net_{name}_ema.pth`, so `{label}_net_{name}.pth` stays the reference's file.
"""

from __future__ import annotations

import copy
import os

import torch
from torch import nn

from .checkpoint import cpu_state_dict, load_network_weights, unwrap
from .checkpoint_set import weights_file

EMA_SUFFIX = "_ema"


def generator_names(networks: dict[str, nn.Module]) -> list[str]:
    """The generators among a model's networks: G (pix2pix, template, colorization), G_A and G_B (CycleGAN)."""
    return [name for name in networks if name.startswith("G")]


def ema_file(save_dir: str, label: str, name: str) -> str:
    return os.path.join(save_dir, weights_file(label, name + EMA_SUFFIX))


class GeneratorEMA:
    """Averaged copies of a model's generators, keyed like ``model.networks()`` ("G", or "G_A" and "G_B")."""

    def __init__(self, networks: dict[str, nn.Module], decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.networks: dict[str, nn.Module] = {}
        for name in generator_names(networks):
            average = copy.deepcopy(unwrap(networks[name]))
            average.requires_grad_(False)
            self.networks[name] = average

    @torch.no_grad()
    def update(self, networks: dict[str, nn.Module]) -> None:
        """One averaging step towards the current weights of ``networks`` (call after each optimizer step)."""
        for name, average in self.networks.items():
            current = unwrap(networks[name])
            for ema_p, p in zip(average.parameters(), current.parameters(), strict=True):
                ema_p.mul_(self.decay).add_(p.detach(), alpha=1.0 - self.decay)
            for ema_b, b in zip(average.buffers(), current.buffers(), strict=True):
                ema_b.copy_(b)

    def copy_from(self, networks: dict[str, nn.Module]) -> None:
        """Restart the averages at the current weights (a resume from a run saved without EMA)."""
        for name, average in self.networks.items():
            average.load_state_dict(unwrap(networks[name]).state_dict())

    def state_dicts(self) -> dict[str, dict]:
        """What a save writes: `{label}_net_{name}_ema.pth` beside the raw weights, in the same checkpoint set."""
        return {name + EMA_SUFFIX: cpu_state_dict(average) for name, average in self.networks.items()}

    def load(self, save_dir: str, label: str) -> bool:
        """Load `{label}_net_{name}_ema.pth` for every generator; False (nothing loaded) when any is missing."""
        paths = {name: ema_file(save_dir, label, name) for name in self.networks}
        if not all(os.path.isfile(p) for p in paths.values()):
            return False
        for name, average in self.networks.items():
            load_network_weights(average, paths[name], flag_hint=f"for the average of network {name}")
        return True
