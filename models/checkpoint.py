"""Network weight files: atomic saving, tolerant-but-strict loading, and a diagnosis when a file does not fit.

Files are plain state_dicts of the unwrapped network (SPEC §6), so the reference and this code read each
other's checkpoints. Loading accepts what the reference's files may carry (pre-0.4 InstanceNorm statistics,
a DDP ``module.`` prefix) and then loads with ``strict=True``; when keys still differ, one ``UserError``
says how, and which flag most likely differs from the run that wrote the file.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from util.errors import UserError

# Buffers that InstanceNorm had before PyTorch 0.4 and no longer has; the reference drops them too.
LEGACY_INSTANCE_NORM_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
WRAPPER_PREFIXES = ("module.", "_orig_mod.")  # DistributedDataParallel, torch.compile


def unwrap(net: nn.Module) -> nn.Module:
    """The bare network inside DDP / DataParallel (``.module``) and torch.compile (``._orig_mod``) wrappers."""
    while True:
        if isinstance(net, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            net = net.module
        elif isinstance(getattr(net, "_orig_mod", None), nn.Module):
            net = net._orig_mod
        else:
            return net


def atomic_torch_save(obj: object, path: str | os.PathLike) -> None:
    """``torch.save`` that never leaves a half-written file at ``path``: an interrupted save keeps the old one."""
    path = os.fspath(path)
    tmp = path + ".tmp"  # same folder, so os.replace is a rename within one file system
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def cpu_state_dict(net: nn.Module) -> OrderedDict:
    """The unwrapped network's state_dict on the CPU: what a weights file holds (the reference's format)."""
    state = unwrap(net).state_dict()
    cpu_state = OrderedDict((key, value.detach().cpu()) for key, value in state.items())
    if hasattr(state, "_metadata"):
        cpu_state._metadata = state._metadata  # per-module versions, as torch.save(net.state_dict()) keeps
    return cpu_state


def save_network_weights(net: nn.Module, path: str | os.PathLike) -> None:
    """Write the unwrapped network's state_dict, on the CPU, atomically (the reference's file format)."""
    atomic_torch_save(cpu_state_dict(net), path)


def load_network_weights(net: nn.Module, path: str | os.PathLike, *, flag_hint: str = "") -> None:
    """Load a weights file into ``net`` (``strict=True``); raise one ``UserError`` if it does not fit.

    ``flag_hint`` names what is being loaded for the message, e.g. ``"for network G"``.
    """
    path = os.fspath(path)
    net = unwrap(net)
    state = _read_state_dict(path)
    state = _strip_wrapper_prefix(state)
    state = _patch_legacy_keys(state, net)
    diff = KeyDiff.between(net.state_dict(), state)
    if diff.changed:
        raise UserError(_mismatch_message(path, flag_hint, diff))
    net.load_state_dict(state, strict=True)


def _read_state_dict(path: str) -> dict[str, torch.Tensor]:
    if not os.path.isfile(path):
        raise UserError(f"checkpoint {path} not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # any unreadable file is the user's to replace; say which and why
        reason = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
        raise UserError(f"cannot read {path} as network weights ({reason})") from err
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(
            f"{path} is not a network weights file (a state_dict of tensors); use a *_net_*.pth file"
        )
    return OrderedDict(state)  # a copy without `_metadata`, which the reference also drops


def _strip_wrapper_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Files saved from a wrapped network (``net.module.state_dict()`` forgotten) carry its prefix."""
    for prefix in WRAPPER_PREFIXES:
        if state and all(key.startswith(prefix) for key in state):
            state = OrderedDict((key[len(prefix) :], value) for key, value in state.items())
    return state


def _patch_legacy_keys(state: dict[str, torch.Tensor], net: nn.Module) -> dict[str, torch.Tensor]:
    """Drop pre-0.4 InstanceNorm statistics; give pre-0.4 BatchNorm files their step counter."""
    expected = net.state_dict()
    patched = OrderedDict()
    for key, value in state.items():
        owner, _, buffer = key.rpartition(".")
        legacy = buffer in LEGACY_INSTANCE_NORM_BUFFERS and f"{owner}.weight" not in state  # not a BatchNorm
        if legacy and key not in expected and _is_instance_norm(net, owner):
            continue
        patched[key] = value
    for key in expected:
        owner = key.removesuffix(".num_batches_tracked")
        if owner != key and key not in patched and f"{owner}.running_mean" in patched:
            patched[key] = torch.tensor(0, dtype=torch.long)  # what BatchNorm's own loader does for old files
    return patched


def _is_instance_norm(net: nn.Module, module_name: str) -> bool:
    try:
        return isinstance(net.get_submodule(module_name), nn.modules.instancenorm._InstanceNorm)
    except AttributeError:
        return False


# -- diagnosis --------------------------------------------------------------------------------------------
@dataclass
class KeyDiff:
    """How a file's keys and shapes (``found``) differ from the network's (``expected``)."""

    expected: dict[str, tuple[int, ...]]
    found: dict[str, tuple[int, ...]]
    missing: list[str]
    unexpected: list[str]
    reshaped: list[str]

    @classmethod
    def between(
        cls, net_state: Mapping[str, torch.Tensor], file_state: Mapping[str, torch.Tensor]
    ) -> KeyDiff:
        expected = {k: tuple(v.shape) for k, v in net_state.items()}
        found = {k: tuple(v.shape) for k, v in file_state.items()}
        return cls(
            expected,
            found,
            missing=[k for k in expected if k not in found],
            unexpected=[k for k in found if k not in expected],
            reshaped=[k for k in expected if k in found and expected[k] != found[k]],
        )

    @property
    def changed(self) -> list[str]:
        return self.reshaped + self.missing + self.unexpected


def _architecture(keys: Mapping[str, object]) -> str:
    if any(k.startswith("model.model.") for k in keys):
        return "U-Net generator"
    if any(".conv_block." in k for k in keys):
        return "ResNet generator"
    if any(k.startswith("net.") for k in keys):
        return "pixel discriminator"
    return "PatchGAN discriminator" if any(k.startswith("model.") for k in keys) else "unknown network"


def _check_architecture(d: KeyDiff) -> str | None:
    file_arch, net_arch = _architecture(d.found), _architecture(d.expected)
    if file_arch == net_arch:
        return None
    generators = ("generator" in file_arch) + ("generator" in net_arch)
    flag = {2: "--netG", 0: "--netD"}.get(generators, "the file name (G or D)")
    return f"check {flag}: the file holds a {file_arch}, the network is a {net_arch}"


def _resnet_blocks(keys) -> int:
    return len({k.split(".")[1] for k in keys if ".conv_block." in k})


def _unet_levels(keys) -> int:
    return max((k.count("model.") - 1 for k in keys if k.startswith("model.model.")), default=0)


def _patch_layers(keys) -> int:
    return sum(1 for k, shape in keys.items() if k.startswith("model.") and len(shape) == 4) - 2


def _check_depth(d: KeyDiff) -> str | None:
    arch = _architecture(d.expected)
    if arch == "ResNet generator" and _resnet_blocks(d.found) != _resnet_blocks(d.expected):
        n = _resnet_blocks(d.found)
        return f"check --netG: the file has {n} residual blocks (resnet_{n}blocks), the network {_resnet_blocks(d.expected)}"
    if arch == "U-Net generator" and _unet_levels(d.found) != _unet_levels(d.expected):
        n = _unet_levels(d.found)
        return f"check --netG: the file is a {n}-level U-Net (unet_{2**n}), the network has {_unet_levels(d.expected)}"
    if arch == "PatchGAN discriminator" and _patch_layers(d.found) != _patch_layers(d.expected):
        return (
            f"check --netD/--n_layers_D: the file's PatchGAN has {_patch_layers(d.found)} layers (basic = 3)"
        )
    return None


def _check_norm(d: KeyDiff) -> str | None:
    file_bn = any(k.endswith(".running_mean") for k in d.found)
    if file_bn != any(k.endswith(".running_mean") for k in d.expected):
        if file_bn:
            return "check --norm: the file has BatchNorm statistics (--norm batch or syncbatch)"
        # Without a norm only the output conv (and a discriminator's input conv) keeps a bias.
        norm = "instance" if sum(k.endswith(".bias") for k in d.found) > 2 else "none"
        return f"check --norm: the file has no BatchNorm statistics (it looks like --norm {norm})"
    if d.reshaped or not all(k.endswith(".bias") for k in d.missing + d.unexpected):
        return None
    if d.unexpected:
        return "check --norm: the file's convs have biases, as with --norm instance"
    return "check --norm: the file's convs have no biases, as with --norm none"


def _check_dropout(d: KeyDiff) -> str | None:
    if not all(re.search(r"\.conv_block\.[5-7]\.", k) for k in d.changed):
        return None
    with_dropout = len(next((s for k, s in d.found.items() if k.endswith("conv_block.6.weight")), ())) == 4
    return f"check --no_dropout: the file's residual blocks were trained {'with' if with_dropout else 'without'} dropout"


def _check_channels(d: KeyDiff) -> str | None:
    if d.missing or d.unexpected:
        return None
    first, last = next(iter(d.expected)), next(reversed(d.expected))
    nc_flags = "--input_nc/--output_nc" if "discriminator" in _architecture(d.expected) else "--input_nc"
    if d.reshaped == [first] and d.found[first][1] != d.expected[first][1]:
        return f"check {nc_flags}: the file's first layer takes {d.found[first][1]} channels, the network's {d.expected[first][1]}"
    if last in d.reshaped and d.found[last][0] != d.expected[last][0]:
        return f"check --output_nc: the file makes {d.found[last][0]} channels, the network {d.expected[last][0]}"
    if d.found[first][0] == d.expected[first][0]:
        return None
    width_flag = "--ndf" if "discriminator" in _architecture(d.expected) else "--ngf"
    return f"check {width_flag}: the file's first layer has {d.found[first][0]} filters, the network's {d.expected[first][0]}"


# First rule that recognises the difference wins; ordered from the coarsest difference to the finest.
DIAGNOSES: list[Callable[[KeyDiff], str | None]] = [
    _check_architecture,
    _check_depth,
    _check_norm,
    _check_dropout,
    _check_channels,
]


def _mismatch_message(path: str, flag_hint: str, d: KeyDiff) -> str:
    if d.reshaped:
        k = d.reshaped[0]
        example = f"{k}: {list(d.found[k])} in the file, {list(d.expected[k])} here"
    else:
        example = f"missing {d.missing[0]}" if d.missing else f"unexpected {d.unexpected[0]}"
    counts = f"{len(d.missing)} missing, {len(d.unexpected)} unexpected, {len(d.reshaped)} reshaped keys"
    diagnosis = next(
        filter(None, (rule(d) for rule in DIAGNOSES)), "check --netG/--netD, --norm and --no_dropout"
    )
    hint = f" {flag_hint}" if flag_hint else ""
    return f"cannot load {path}{hint}: {counts} (e.g. {example}); {diagnosis}"
