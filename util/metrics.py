"""Image-quality metrics for generated images: paired (l1, psnr, ssim, lpips) and distribution (fid, kid).

Everything is scored on the 8-bit RGB images a user sees (the saved PNGs), so evaluate.py on a results folder
and validation during training give the same numbers. Conventions (docs/evaluation.md):

* ``l1``: mean absolute error on the 0-1 scale (uint8 / 255).
* ``psnr``: dB, data range 255, per image, then averaged.
* ``ssim``: as scikit-image's ``structural_similarity`` with the Wang et al. settings (Gaussian window
  sigma 1.5, ``use_sample_covariance=False``, data range 255, per channel), per image, then averaged.
* ``lpips``: torchmetrics' LPIPS (AlexNet backbone), inputs scaled to [-1, 1].
* ``fid`` / ``kid``: torch-fidelity's 2048-d Inception features and its FID / KID formulas.

The computations are the libraries' (torchmetrics, torch-fidelity); this module only feeds them.
"""

from __future__ import annotations

import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from util.errors import UserError

METRIC_NAMES: tuple[str, ...] = ("l1", "psnr", "ssim", "lpips", "fid", "kid")
# Metrics comparing fake[i] with real[i]; the others compare the two sets as distributions.
PAIRED: frozenset[str] = frozenset({"l1", "psnr", "ssim", "lpips"})
HIGHER_IS_BETTER: dict[str, bool] = {
    "l1": False,
    "psnr": True,
    "ssim": True,
    "lpips": False,
    "fid": False,
    "kid": False,
}

SSIM_SIGMA = 1.5
# scikit-image's Gaussian window: radius int(truncate * sigma + 0.5) with truncate 3.5, i.e. 11 x 11 for sigma 1.5.
SSIM_RADIUS = int(3.5 * SSIM_SIGMA + 0.5)


def parse_metric_names(text: str | list[str]) -> list[str]:
    """ "l1,psnr" or ["l1", "psnr"] (or ["l1,psnr"]) -> ["l1", "psnr"], in the given order, without repeats."""
    items = text.split(",") if isinstance(text, str) else [p for t in text for p in t.split(",")]
    names = list(dict.fromkeys(p.strip().lower() for p in items if p.strip()))
    unknown = [n for n in names if n not in METRIC_NAMES]
    if unknown:
        raise UserError(f"unknown metric {', '.join(unknown)}; choose from {','.join(METRIC_NAMES)}")
    if not names:
        raise UserError(f"no metric given; choose from {','.join(METRIC_NAMES)}")
    return names


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Generator output in [-1, 1], (N, C, H, W) float -> (N, 3, H, W) uint8, exactly as the saved PNGs.

    Same mapping as util.util.tensor2im: clip, (x + 1) / 2 * 255, truncate; one channel is repeated to three.
    """
    scaled = (images.detach().float() + 1.0) / 2.0 * 255.0
    out = scaled.clamp(0.0, 255.0).to(torch.uint8)
    return out.repeat(1, 3, 1, 1) if out.shape[1] == 1 else out


def l1_per_image(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean |fake - real| / 255 of each image of two uint8 batches, float64 (N,)."""
    return (fake.double() - real.double()).abs().mean(dim=(1, 2, 3)) / 255.0


def psnr_per_image(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """PSNR in dB (data range 255) of each image, float64 (N,); identical images give inf."""
    return peak_signal_noise_ratio(
        fake.double(), real.double(), data_range=255.0, reduction="none", dim=(1, 2, 3)
    )


def ssim_per_image(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """SSIM of each image as scikit-image computes it, float64 (N,).

    torchmetrics pads by reflection and averages the whole SSIM map; scikit-image averages only the pixels
    whose window lies inside the image (it crops the window radius from every border). Cropping
    torchmetrics' full map the same way makes the two agree to ~1e-15 in float64.
    """
    r = SSIM_RADIUS
    if min(fake.shape[-2:]) <= 2 * r:
        raise UserError(
            f"ssim needs images larger than {2 * r + 1}x{2 * r + 1} pixels (got {tuple(fake.shape[-2:])}); "
            "leave ssim out of --metrics"
        )
    _, full = structural_similarity_index_measure(
        fake.double(),
        real.double(),
        gaussian_kernel=True,
        sigma=SSIM_SIGMA,
        data_range=255.0,
        reduction="none",
        return_full_image=True,
    )
    return full[..., r:-r, r:-r].mean(dim=(1, 2, 3))


PER_IMAGE = {"l1": l1_per_image, "psnr": psnr_per_image, "ssim": ssim_per_image}


class MetricSet:
    """Accumulates the requested metrics over batches of uint8 images; `compute()` gives the averages.

    Paired metrics are averaged over images (each image counts once, whatever the batch size); fid and kid
    are computed once on all features seen.
    """

    def __init__(
        self,
        names: list[str],
        device: torch.device | str = "cpu",
        inception_weights: str | None = None,
        lpips_weights: str | None = None,
    ) -> None:
        self.names = parse_metric_names(list(names))
        self.device = torch.device(device)
        not_yet = [n for n in self.names if n not in PER_IMAGE]
        if not_yet:
            raise UserError(f"metric {', '.join(not_yet)} is not available yet; use l1, psnr, ssim")
        self.reset()

    def reset(self) -> None:
        self.sums = {name: 0.0 for name in self.names if name in PER_IMAGE}
        self.n = 0

    def update(self, fake: torch.Tensor, real: torch.Tensor) -> None:
        """uint8 (N, 3, H, W) batches; paired metrics compare fake[i] with real[i]."""
        _check_batch(fake, "fake")
        _check_batch(real, "real")
        if fake.shape != real.shape:
            raise UserError(
                f"paired metrics need fake and real images of the same size; got {tuple(fake.shape[1:])} and "
                f"{tuple(real.shape[1:])}"
            )
        fake, real = fake.to(self.device), real.to(self.device)
        for name in self.sums:
            self.sums[name] += float(PER_IMAGE[name](fake, real).sum())
        self.n += fake.shape[0]

    def compute(self) -> dict[str, float]:
        """{metric: value} for the requested names, plus "n" (number of fake images seen)."""
        if self.n == 0:
            raise UserError("no images were scored; check the folders")
        out = {name: self.sums[name] / self.n for name in self.names}
        out["n"] = self.n
        return out


def _check_batch(images: torch.Tensor, what: str) -> None:
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(
            f"{what} must be a uint8 (N, 3, H, W) batch (see to_uint8); got {images.dtype} {tuple(images.shape)}"
        )
