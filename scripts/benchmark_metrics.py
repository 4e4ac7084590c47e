"""Check the metrics against their references and time them; prints figures, never fails on speed.

    python scripts/benchmark_metrics.py [--n 50] [--size 256] [--no_cli]

On the built-in facades_synth photos (B halves) and noisy copies of them (Gaussian noise, sigma 0..64):
1. PSNR and SSIM per image against scikit-image's (max |difference|; needs scikit-image).
2. FID of the set against itself (should be 0), FID and KID as the noise grows (should rise).
3. FID/KID of evaluate.py against torch-fidelity's own command line (`fidelity --fid --kid`) on the same
   folders with the same Inception weights (needs them in the cache: scripts/get_metric_weights.py).
4. Seconds to score --n images with l1, psnr, ssim, fid, kid (what a validation pass adds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import evaluate  # noqa: E402
from data.builtin import make_paired_dataset  # noqa: E402
from util import metric_weights  # noqa: E402
from util.evaluation import list_images, read_batches  # noqa: E402
from util.metrics import (  # noqa: E402
    MetricSet,
    frechet_distance,
    kernel_inception_distance,
    psnr_per_image,
    ssim_per_image,
)

NOISE_SIGMAS = (0, 4, 8, 16, 32, 64)


def write_sets(root: str, n: int, size: int) -> dict[int, str]:
    """real/ (the photos) and noise_S/ (photos + N(0, S^2) noise, clipped) for every sigma S."""
    make_paired_dataset(os.path.join(root, "facades"), n_train=1, n_test=n, size=size, seed=0)
    pairs = sorted(list_images(os.path.join(root, "facades", "test"), "test").values())
    rng = np.random.default_rng(0)
    folders = {}
    for sigma in NOISE_SIGMAS:
        folder = os.path.join(root, f"noise_{sigma}")
        os.makedirs(folder)
        for i, path in enumerate(pairs):
            photo = np.asarray(Image.open(path).convert("RGB"))[:, size:]  # the B half
            noisy = np.clip(photo + rng.normal(0, sigma, photo.shape) if sigma else photo, 0, 255)
            Image.fromarray(noisy.astype(np.uint8)).save(os.path.join(folder, f"{i:04d}.png"))
        folders[sigma] = folder
    return folders


def load(folder: str) -> torch.Tensor:
    return torch.cat(list(read_batches(list(list_images(folder, "set").values()), 1000)))


def check_against_skimage(real: torch.Tensor, fake: torch.Tensor) -> tuple[float, float]:
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    ours_psnr, ours_ssim = psnr_per_image(fake, real).numpy(), ssim_per_image(fake, real).numpy()
    ref_psnr, ref_ssim = [], []
    for f, r in zip(fake.permute(0, 2, 3, 1).numpy(), real.permute(0, 2, 3, 1).numpy(), strict=True):
        ref_psnr.append(peak_signal_noise_ratio(r, f, data_range=255))
        ref_ssim.append(
            structural_similarity(
                f,
                r,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                data_range=255,
                channel_axis=2,
            )
        )
    return float(np.abs(ours_psnr - ref_psnr).max()), float(np.abs(ours_ssim - ref_ssim).max())


def torch_fidelity_cli(fake: str, real: str, subset_size: int) -> dict:
    cli = os.path.join(os.path.dirname(sys.executable), "fidelity")
    cmd = [cli, "--gpu", "", "--fid", "--kid", "--kid-subset-size", str(subset_size), "--json"]
    out = subprocess.run(
        [*cmd, "--input1", fake, "--input2", real], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout[out.stdout.index("{") :])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50, help="images per set")
    parser.add_argument("--size", type=int, default=256, help="image side")
    parser.add_argument(
        "--no_cli", action="store_true", help="skip the torch-fidelity command line comparison"
    )
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    with tempfile.TemporaryDirectory() as root:
        folders = write_sets(root, args.n, args.size)
        real = load(folders[0])
        print(
            f"{args.n} images of {args.size}x{args.size}, torch {torch.__version__}, {torch.get_num_threads()} threads"
        )

        print("\n1. psnr/ssim against scikit-image (max |difference| per image)")
        for sigma in NOISE_SIGMAS[1:]:
            d_psnr, d_ssim = check_against_skimage(real, load(folders[sigma]))
            print(f"  sigma {sigma:2d}: psnr {d_psnr:.2e} dB, ssim {d_ssim:.2e}")

        print("\n2. fid/kid as noise grows (Inception features)")
        inception = metric_weights.inception_extractor(
            metric_weights.resolve_weights(
                None, metric_weights.INCEPTION_URL, "--inception_weights", "fid", []
            ),
            torch.device("cpu"),
        )
        t0 = time.perf_counter()
        feats = {0: torch.cat([inception(b)[0].double() for b in real.split(10)])}
        per_image = (time.perf_counter() - t0) / args.n
        for sigma in NOISE_SIGMAS[1:]:
            feats[sigma] = torch.cat([inception(b)[0].double() for b in load(folders[sigma]).split(10)])
        print(f"  fid(real, real) = {frechet_distance(feats[0], feats[0]):.2e}")
        for sigma in NOISE_SIGMAS[1:]:
            kid, kid_std = kernel_inception_distance(feats[sigma], feats[0])
            print(
                f"  sigma {sigma:2d}: fid {frechet_distance(feats[sigma], feats[0]):8.3f}  kid {kid:.5f} ± {kid_std:.5f}"
            )

        if not args.no_cli:
            sigma = 16
            print(
                f"\n3. evaluate.py vs torch-fidelity's command line (noise sigma {sigma}, kid subset size {args.n})"
            )
            ours = evaluate.evaluate(
                ["--fake", folders[sigma], "--real", folders[0], "--metrics", "fid,kid", "--no_progress"]
            )["fake vs real"]
            theirs = torch_fidelity_cli(folders[sigma], folders[0], args.n)
            fid_ref, kid_ref = theirs["frechet_inception_distance"], theirs["kernel_inception_distance_mean"]
            print(
                f"  fid: evaluate.py {ours['fid']:.6f}, fidelity {fid_ref:.6f}, |diff| {abs(ours['fid'] - fid_ref):.2e}"
            )
            print(
                f"  kid: evaluate.py {ours['kid']:.7f}, fidelity {kid_ref:.7f}, |diff| {abs(ours['kid'] - kid_ref):.2e}"
            )

        print(f"\n4. time to score {args.n} pairs (MetricSet on CPU, images in memory)")
        fake = load(folders[16])
        for names in (["l1", "psnr", "ssim"], ["fid", "kid"]):
            scores = MetricSet(names)
            t0 = time.perf_counter()
            for i in range(0, args.n, 8):
                scores.update(fake[i : i + 8], real[i : i + 8])
            scores.compute()
            print(f"  {','.join(names)}: {time.perf_counter() - t0:.2f} s")
        print(f"  (Inception forward alone: {per_image * 1000:.0f} ms per image)")


if __name__ == "__main__":
    main()
