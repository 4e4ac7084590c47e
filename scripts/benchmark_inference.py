"""Inference figures for docs/inference.md: sizes, tile seams, ONNX parity, translate.py vs test.py throughput.

    python scripts/benchmark_inference.py sizes        # every generator from 1x1 to 2000x3000
    python scripts/benchmark_inference.py seam         # tiled vs whole image, 1024^2 with 256^2 tiles
    python scripts/benchmark_inference.py parity       # ONNX vs PyTorch, both modes, two sizes
    python scripts/benchmark_inference.py throughput   # images/s at 256^2 and 1024^2

Networks have random weights (seeded) and small widths (--ngf) to keep CPU time short; the figures print,
nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from models.checkpoint import save_network_weights  # noqa: E402
from models.inference import Translator, prepare_generator  # noqa: E402
from models.networks import GENERATOR_NAMES, define_G  # noqa: E402
from util.image_io import write_image  # noqa: E402


def translator(netG: str, norm: str, ngf: int, **kw) -> Translator:
    torch.manual_seed(0)
    net = prepare_generator(define_G(3, 3, ngf, netG, norm, False), kw.pop("eval_mode", False))
    return Translator(net, dict(input_nc=3, output_nc=3), device=torch.device("cpu"), **kw)


def smooth_image(side: int) -> torch.Tensor:
    """A smooth synthetic picture with a little noise, (1, 3, side, side) in [-1, 1]."""
    s = torch.linspace(0, 1, side)
    base = torch.stack([torch.sin(6 * s)[:, None] * torch.cos(4 * s)[None, :], s[:, None] * s[None, :] * 2 - 1,
                        torch.cos(9 * s[:, None] + 3 * s[None, :])])  # fmt: skip
    return (0.8 * base + 0.03 * torch.randn(3, side, side, generator=torch.Generator().manual_seed(0)))[None]


def sizes(args) -> None:
    for netG in GENERATOR_NAMES:
        t = translator(netG, "instance", args.ngf)
        for h, w in [(1, 1), (7, 13), (255, 257), (2000, 3000)]:
            start = time.perf_counter()
            out = t(torch.rand(3, h, w) * 2 - 1)
            print(f"{netG:15s} {h}x{w} -> {tuple(out.shape[1:])}  {time.perf_counter() - start:.1f}s")


def seam(args) -> None:
    x = smooth_image(args.side)
    whole = translator(args.netG, "instance", args.ngf)(x)
    for stats_side in (args.side, args.side // 2):
        tiled = translator(args.netG, "instance", args.ngf, tile=args.tile, stats_side=stats_side)(x)
        diff = (tiled - whole).abs() / 2  # in [0, 1] pixel units
        print(f"{args.netG} ngf {args.ngf}, {args.side}^2, tiles {args.tile}^2 (overlap {args.tile // 4}), "
              f"statistics from a {stats_side}^2 copy: max {diff.max():.5f}  mean {diff.mean():.6f}  "
              f"(1/255 = {1 / 255:.6f})")  # fmt: skip


def parity(args) -> None:
    from export import check_sizes, export_model
    from export import parity as compare

    for netG, norm in [("resnet_9blocks", "instance"), ("unet_256", "batch")]:
        for eval_mode in (False, True):
            t = translator(netG, norm, args.ngf, eval_mode=eval_mode)
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "g.onnx")
                export_model(t.net, "onnx", path, torch.rand(1, 3, 256, 256) * 2 - 1)
                for (h, w), diff in compare(t.net, "onnx", path, check_sizes(t.multiple, 256), 3):
                    print(
                        f"{netG} {norm} {'eval' if eval_mode else 'train'} {h}x{w}: max abs diff {diff:.2e}"
                    )


def throughput(args) -> None:
    import test as test_py
    import translate as translate_py

    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        ck = os.path.join(tmp, "ck", "bench")
        os.makedirs(ck)
        save_network_weights(
            define_G(3, 3, args.ngf, "resnet_9blocks", "instance", False),
            os.path.join(ck, "latest_net_G.pth"),
        )
        with open(os.path.join(ck, "architecture.json"), "w") as f:
            json.dump(dict(model="test", netG="resnet_9blocks", ngf=args.ngf, norm="instance", no_dropout=True,
                           input_nc=3, output_nc=3), f)  # fmt: skip
        for side, count in [(256, args.count), (1024, max(1, args.count // 4))]:
            folder = os.path.join(tmp, f"in{side}")
            rng = np.random.default_rng(0)
            for i in range(count):
                write_image(
                    os.path.join(folder, f"{i}.png"), rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
                )
            common = ["--name", "bench", "--checkpoints_dir", os.path.join(tmp, "ck")]
            out = [*common, "--input", folder, "--output", os.path.join(tmp, "o"), "--device", "cpu"]
            gallery = [*common, "--dataroot", folder, "--results_dir", os.path.join(tmp, "r"), "--gpu_ids", "-1",
                       "--preprocess", "none", "--num_test", str(count), "--no_progress"]  # fmt: skip
            for name, run, argv in [
                ("translate.py", translate_py.translate, out),
                ("test.py", test_py.test, gallery),
            ]:
                start = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):
                    run(argv)
                seconds = time.perf_counter() - start
                print(
                    f"{name:12s} {side}^2 x {count}: {count / seconds:.2f} images/s (incl. loading the model)"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=("sizes", "seam", "parity", "throughput"))
    parser.add_argument("--ngf", type=int, default=8)
    parser.add_argument("--netG", default="resnet_9blocks")
    parser.add_argument("--side", type=int, default=1024)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--count", type=int, default=8)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    {"sizes": sizes, "seam": seam, "parity": parity, "throughput": throughput}[args.what](args)


if __name__ == "__main__":
    main()
