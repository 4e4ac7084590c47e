"""Loader throughput (dataset items per second) for each --dataset_mode and number of workers, so the data
pipeline is known not to be what limits GPU training.

    python scripts/benchmark_loader.py                       # defaults: 128 items, workers 0 2 4
    python scripts/benchmark_loader.py --workers 0 8 --n_images 512 --json loader.json

Writes random 256×256 JPEGs to a temporary folder (aligned: 512×256 A|B files; unaligned: trainA and
trainB; single: one folder; colorization: train), then runs the training pipeline (--preprocess
resize_and_crop 286 → 256, flip) over one epoch per setting. The first batches, which include the workers'
start-up, are excluded from the timing. An aligned or unaligned item holds two 256² images (A and B).

With 0 workers the batches are collated in the main process by torch ops that use its intra-op threads; on a
machine whose CPUs are busy with other work these ops wait for each other, so compare with
--intra_op_threads 1 (workers always run with one torch thread).
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
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from data import create_dataset  # noqa: E402

# Where each mode reads, relative to the dataroot, and how wide its files are (in 256 px units).
LAYOUT = {
    "aligned": [("train", 2)],
    "unaligned": [("trainA", 1), ("trainB", 1)],
    "single": [("", 1)],
    "colorization": [("train", 1)],
}


def write_images(root: str, n_images: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:256, 0:256]
    for mode, folders in LAYOUT.items():
        for folder, width in folders:
            os.makedirs(os.path.join(root, mode, folder), exist_ok=True)
            for i in range(n_images):
                tiles = [
                    np.stack([(xx * rng.uniform(0.2, 1) + yy * rng.uniform(0.2, 1)) % 256] * 3, -1)
                    + rng.normal(0, 12, (256, 256, 3))
                    for _ in range(width)
                ]
                image = np.clip(np.concatenate(tiles, 1), 0, 255).astype(np.uint8)
                Image.fromarray(image).save(os.path.join(root, mode, folder, f"{i:05d}.jpg"), quality=90)


def options(dataroot: str, mode: str, workers: int, batch_size: int) -> argparse.Namespace:
    colour = dict(input_nc=1, output_nc=2) if mode == "colorization" else dict(input_nc=3, output_nc=3)
    return argparse.Namespace(
        dataroot=dataroot,
        dataset_mode=mode,
        phase="train",
        max_dataset_size=float("inf"),
        direction="AtoB",
        preprocess="resize_and_crop",
        load_size=286,
        crop_size=256,
        no_flip=False,
        serial_batches=False,
        batch_size=batch_size,
        num_threads=workers,
        isTrain=True,
        seed=0,
        **colour,
    )


def measure(opt: argparse.Namespace, warmup_batches: int) -> float:
    """Items per second over one epoch, after the first `warmup_batches` batches."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        # Quiet: "dataset [..] was created", and torch's warning when workers outnumber the CPUs.
        warnings.simplefilter("ignore")
        loader = create_dataset(opt)
        loader.set_epoch(1)
        return _timed_epoch(loader, warmup_batches)


def _timed_epoch(loader, warmup_batches: int) -> float:
    count, start = 0, None
    for i, batch in enumerate(loader):
        if i == warmup_batches:
            start = time.perf_counter()
        if start is not None:
            count += len(batch["A_paths"])
    return count / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n_images", type=int, default=128, help="items per mode (one epoch)")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[0, 2, 4], help="DataLoader workers (--num_threads)"
    )
    parser.add_argument("--modes", nargs="+", default=list(LAYOUT), choices=list(LAYOUT))
    parser.add_argument("--batch_size", type=int, default=1)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument(
        "--intra_op_threads",
        type=int,
        help="torch.set_num_threads in the main process (default: torch's own)",
    )
    args = parser.parse_args(argv)
    if args.intra_op_threads:
        torch.set_num_threads(args.intra_op_threads)
    results = {}
    with tempfile.TemporaryDirectory() as root:
        write_images(root, args.n_images)
        for mode in args.modes:
            for workers in args.workers:
                opt = options(os.path.join(root, mode), mode, workers, args.batch_size)
                # Skip the batches that wait for worker start-up, but time at least 3/4 of the epoch.
                warmup = min(max(2, 2 * workers), args.n_images // args.batch_size // 4)
                results.setdefault(mode, {})[workers] = measure(opt, warmup)
    print(
        f"\nitems/s, {args.n_images} 256² JPEG items per mode, batch {args.batch_size}, {os.cpu_count()} CPUs, "
        f"{torch.get_num_threads()} torch threads in the main process"
    )
    print(f"{'mode':<14}" + "".join(f"{f'{w} workers':>12}" for w in args.workers))
    for mode, row in results.items():
        print(f"{mode:<14}" + "".join(f"{row[w]:>12.1f}" for w in args.workers))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "n_images": args.n_images,
                    "batch_size": args.batch_size,
                    "cpus": os.cpu_count(),
                    "main_process_torch_threads": torch.get_num_threads(),
                    "items_per_second": results,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
