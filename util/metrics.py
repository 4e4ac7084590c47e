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

import warnings

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
# float64: float32 agrees with scikit-image to ~1e-6 on most images but only to ~1.5e-4 on flat, bright ones
# (E[x^2] - mu^2 cancels); float64 agrees to ~1e-13. On CPU float64 convolution is the slow path (~20x).
SSIM_DTYPE = torch.float64
SSIM_CHUNK = 2  # images per torchmetrics call: its float64 convolution unfolds ~0.4 GB per 256x256 image


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
    scores = []
    for f, t in zip(fake.split(SSIM_CHUNK), real.split(SSIM_CHUNK), strict=True):  # float64 maps are large
        _, full = structural_similarity_index_measure(
            f.to(SSIM_DTYPE),
            t.to(SSIM_DTYPE),
            gaussian_kernel=True,
            sigma=SSIM_SIGMA,
            data_range=255.0,
            reduction="none",
            return_full_image=True,
        )
        scores.append(full[..., r:-r, r:-r].mean(dim=(1, 2, 3)))
    return torch.cat(scores)


PER_IMAGE = {"l1": l1_per_image, "psnr": psnr_per_image, "ssim": ssim_per_image}
DISTRIBUTION = ("fid", "kid")
KID_SUBSETS = 100  # torch-fidelity's defaults: 100 subsets of 1000 images (fewer when the sets are smaller)
KID_SUBSET_SIZE = 1000
KID_SEED = 2020


def frechet_distance(fake_features: torch.Tensor, real_features: torch.Tensor) -> float:
    """FID of two (N, D) feature sets: |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2), torch-fidelity's formula."""
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    stats = [fid_features_to_statistics(f.double().cpu()) for f in (fake_features, real_features)]
    # scipy warns that sqrtm(disp=False) is deprecated, and that the covariance is singular whenever there are
    # fewer images than 2048 feature dimensions (the usual case here; docs/evaluation.md explains the bias).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(
            fid_statistics_to_metric(stats[0], stats[1], verbose=False)["frechet_inception_distance"]
        )


def kernel_inception_distance(
    fake_features: torch.Tensor,
    real_features: torch.Tensor,
    subsets: int = KID_SUBSETS,
    subset_size: int | None = None,
) -> tuple[float, float]:
    """KID (mean, std over `subsets` random subsets): unbiased MMD^2 with the cubic polynomial kernel
    (x.y / D + 1)^3, torch-fidelity's formula and seed. `subset_size` defaults to min(1000, both set sizes)."""
    from torch_fidelity.metric_kid import kid_features_to_metric

    size = subset_size or min(KID_SUBSET_SIZE, len(fake_features), len(real_features))
    out = kid_features_to_metric(
        fake_features.double().cpu(),
        real_features.double().cpu(),
        kid_subsets=subsets,
        kid_subset_size=size,
        verbose=False,
        rng_seed=KID_SEED,
    )  # kernel: torch-fidelity's default, (x.y / D + 1)^3
    return float(out["kernel_inception_distance_mean"]), float(out["kernel_inception_distance_std"])


class MetricSet:
    """Accumulates the requested metrics over batches of uint8 images; `compute()` gives the results.

    Paired metrics are averaged over images (each image counts once, whatever the batch size); fid and kid
    are computed once on the Inception features of all images seen. Networks load once, at construction.
    """

    def __init__(
        self,
        names: list[str],
        device: torch.device | str = "cpu",
        inception_weights: str | None = None,
        lpips_weights: str | None = None,
    ) -> None:
        from util import metric_weights as weights

        self.names = parse_metric_names(list(names))
        self.device = torch.device(device)
        self.inception = self.lpips = None
        wanted = set(self.names)
        if wanted & set(DISTRIBUTION):
            needing = [n for n in self.names if n in DISTRIBUTION]
            path = weights.resolve_weights(
                inception_weights,
                weights.INCEPTION_URL,
                "--inception_weights",
                " and ".join(needing),
                [n for n in self.names if n not in DISTRIBUTION],
            )
            self.inception = weights.inception_extractor(path, self.device)
        if "lpips" in wanted:
            path = weights.resolve_weights(
                lpips_weights,
                weights.ALEXNET_URL,
                "--lpips_weights",
                "lpips",
                [n for n in self.names if n != "lpips"],
            )
            self.lpips = weights.lpips_network(path, self.device)
        self.reset()

    def reset(self) -> None:
        self.sums = {name: 0.0 for name in self.names if name in PAIRED}
        self.features: dict[str, list[torch.Tensor]] = {"fake": [], "real": []}
        self.n = 0

    @torch.no_grad()
    def update(self, fake: torch.Tensor, real: torch.Tensor) -> None:
        """uint8 (N, 3, H, W) batches. Paired metrics compare fake[i] with real[i] (same shape required);
        fid and kid only collect both sets (real may then hold another number of images, or other sizes)."""
        _check_batch(fake, "fake")
        _check_batch(real, "real")
        fake, real = fake.to(self.device), real.to(self.device)
        if self.sums and (len(fake) or len(real)):
            if fake.shape != real.shape:
                raise UserError(
                    f"paired metrics ({', '.join(self.sums)}) need fake and real images of the same size; got "
                    f"{tuple(fake.shape)} and {tuple(real.shape)}"
                )
            for name in self.sums:
                self.sums[name] += float(self._per_image(name, fake, real).sum())
        if self.inception is not None:
            for key, images in (("fake", fake), ("real", real)):
                if len(images):  # an empty side lets a caller feed the two sets separately
                    self.features[key].append(self.inception(images)[0].double().cpu())
        self.n += fake.shape[0]

    def _per_image(self, name: str, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        if name == "lpips":  # LPIPS takes [-1, 1]
            return self.lpips(fake.float() / 127.5 - 1.0, real.float() / 127.5 - 1.0).flatten()
        return PER_IMAGE[name](fake, real)

    def compute(self) -> dict[str, float]:
        """{metric: value} for the requested names (kid adds kid_std), plus "n" (number of fake images seen)."""
        if self.n == 0:
            raise UserError("no images were scored; check the folders")
        out: dict[str, float] = {}
        feats = {k: torch.cat(v) for k, v in self.features.items() if v}
        if feats and min(len(f) for f in feats.values()) < 2:
            raise UserError("fid and kid need at least 2 fake and 2 real images; add images or drop fid,kid")
        for name in self.names:
            if name in PAIRED:
                out[name] = self.sums[name] / self.n
            elif name == "fid":
                out["fid"] = frechet_distance(feats["fake"], feats["real"])
            elif name == "kid":
                out["kid"], out["kid_std"] = kernel_inception_distance(feats["fake"], feats["real"])
        out["n"] = self.n
        return out


def _check_batch(images: torch.Tensor, what: str) -> None:
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(
            f"{what} must be a uint8 (N, 3, H, W) batch (see to_uint8); got {images.dtype} {tuple(images.shape)}"
        )
