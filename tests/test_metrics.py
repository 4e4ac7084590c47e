"""util/metrics.py: values against scikit-image and direct numpy/scipy computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from util import metrics
from util.errors import UserError
from util.util import tensor2im

skimage_metrics = pytest.importorskip("skimage.metrics")


def uint8_pair(seed: int, n: int = 3, size: tuple[int, int] = (37, 45), noise: int = 40):
    """Random uint8 (N, 3, H, W) reals and fakes = reals + bounded noise (so SSIM is far from 0 and 1)."""
    rng = np.random.default_rng(seed)
    real = rng.integers(0, 256, (n, 3, *size), dtype=np.uint8)
    fake = np.clip(real.astype(int) + rng.integers(-noise, noise + 1, real.shape), 0, 255).astype(np.uint8)
    return torch.from_numpy(fake), torch.from_numpy(real)


def skimage_scores(fake: torch.Tensor, real: torch.Tensor) -> dict[str, list[float]]:
    out = {"psnr": [], "ssim": [], "l1": []}
    for f, r in zip(fake.numpy().transpose(0, 2, 3, 1), real.numpy().transpose(0, 2, 3, 1), strict=True):
        out["psnr"].append(skimage_metrics.peak_signal_noise_ratio(r, f, data_range=255))
        out["ssim"].append(
            skimage_metrics.structural_similarity(
                f,
                r,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                data_range=255,
                channel_axis=2,
            )
        )
        out["l1"].append(np.abs(f.astype(float) - r.astype(float)).mean() / 255.0)
    return out


def test_per_image_psnr_ssim_l1_equal_scikit_image():
    fake, real = uint8_pair(0)
    want = skimage_scores(fake, real)
    np.testing.assert_allclose(metrics.psnr_per_image(fake, real).numpy(), want["psnr"], atol=1e-6)
    np.testing.assert_allclose(metrics.ssim_per_image(fake, real).numpy(), want["ssim"], atol=1e-10)
    np.testing.assert_allclose(metrics.l1_per_image(fake, real).numpy(), want["l1"], atol=1e-12)


def test_metric_set_averages_per_image_over_batches_of_any_size():
    fake, real = uint8_pair(1, n=5, size=(32, 32))
    want = {k: float(np.mean(v)) for k, v in skimage_scores(fake, real).items()}
    scores = metrics.MetricSet(["ssim", "psnr", "l1"])
    scores.update(fake[:2], real[:2])
    scores.update(fake[2:], real[2:])
    got = scores.compute()
    assert got["n"] == 5
    assert list(got) == ["ssim", "psnr", "l1", "n"]
    for name in want:
        assert got[name] == pytest.approx(want[name], abs=1e-6)
    scores.reset()
    scores.update(fake[:1], real[:1])
    assert scores.compute()["n"] == 1


def test_identical_images_score_perfectly():
    _, real = uint8_pair(2, n=2, size=(32, 32))
    got = metrics.MetricSet(["l1", "psnr", "ssim"])
    got.update(real, real)
    scores = got.compute()
    assert scores["l1"] == 0.0 and scores["psnr"] == float("inf") and scores["ssim"] == pytest.approx(1.0)


def test_to_uint8_matches_saved_png_convention():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 8, 8, generator=g) * 2.4 - 1.2  # some values outside [-1, 1]
    x[0, 0, 0, 0] = 0.0  # 127, not 128 (truncation, as the reference)
    got = metrics.to_uint8(x)
    assert got.dtype == torch.uint8 and got.shape == (2, 3, 8, 8)
    assert got[0, 0, 0, 0] == 127
    for i in range(2):
        np.testing.assert_array_equal(got[i].permute(1, 2, 0).numpy(), tensor2im(x[i : i + 1]))
    gray = metrics.to_uint8(x[:, :1])
    assert gray.shape == (2, 3, 8, 8) and torch.equal(gray[:, 0], gray[:, 2])


def test_parse_metric_names():
    assert metrics.parse_metric_names("l1, PSNR,l1") == ["l1", "psnr"]
    assert metrics.parse_metric_names(["fid,kid", "ssim"]) == ["fid", "kid", "ssim"]
    with pytest.raises(UserError, match="unknown metric fdi; choose from l1,psnr,ssim,lpips,fid,kid"):
        metrics.parse_metric_names("psnr,fdi")
    with pytest.raises(UserError, match="no metric given"):
        metrics.parse_metric_names(" , ")


def test_contract_tables():
    assert metrics.METRIC_NAMES == ("l1", "psnr", "ssim", "lpips", "fid", "kid")
    assert {"l1", "psnr", "ssim", "lpips"} == metrics.PAIRED
    assert {k for k, v in metrics.HIGHER_IS_BETTER.items() if v} == {"psnr", "ssim"}


def test_paired_size_mismatch_and_tiny_images_are_user_errors():
    fake, real = uint8_pair(3, n=1, size=(32, 32))
    scores = metrics.MetricSet(["psnr"])
    with pytest.raises(UserError, match="same size"):
        scores.update(fake, real[..., :16])
    tiny_fake, tiny_real = uint8_pair(3, n=1, size=(10, 32))
    with pytest.raises(UserError, match="ssim needs images larger than 11x11"):
        metrics.ssim_per_image(tiny_fake, tiny_real)
    with pytest.raises(UserError, match="no images were scored"):
        metrics.MetricSet(["l1"]).compute()
