"""Disk use and time of one checkpoint save: `latest` (full training state) and a numbered epoch (weights only).

    python scripts/benchmark_checkpoint.py                     # pix2pix defaults: unet_256, ngf/ndf 64
    python scripts/benchmark_checkpoint.py --model cycle_gan --netG resnet_9blocks

Takes one optimizer step at --crop_size so that Adam's moments exist, then saves into a temporary folder and
prints the bytes of each file and the seconds each save took (including the SHA-256 of every file).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from models import create_model  # noqa: E402
from options import parse_train_options  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="pix2pix")
    args, rest = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as ck:
        argv = ["--dataroot", ck, "--checkpoints_dir", ck, "--name", "bench", "--model", args.model, *rest]
        opt = parse_train_options(argv)
        model = create_model(opt, torch.device("cpu"))
        model.setup(opt)
        size = opt.crop_size
        a, b = (
            torch.rand(1, opt.input_nc, size, size) * 2 - 1,
            torch.rand(1, opt.output_nc, size, size) * 2 - 1,
        )
        model.train_step([{"A": a, "B": b, "A_paths": ["a"], "B_paths": ["b"]}])
        state = {**model.training_state(), "progress": {"epoch": 2}}
        info = {"epoch": 2, "images_in_epoch": 0, "num_images_seen": 1}
        for label, train_state in (("latest", state), ("1", None)):
            start = time.perf_counter()
            model.save_networks(label, train_state, info)
            seconds = time.perf_counter() - start
            files = sorted(f for f in os.listdir(model.save_dir) if f.startswith(f"{label}_"))
            sizes = {f: os.path.getsize(os.path.join(model.save_dir, f)) for f in files}
            listing = ", ".join(f"{f} {n / 1e6:.1f} MB" for f, n in sizes.items())
            print(f"{label}: {sum(sizes.values()) / 1e6:.1f} MB in {seconds:.2f} s ({listing})")


if __name__ == "__main__":
    main()
