"""Peak training memory against --batch_size and --crop_size, with and without --grad_checkpoint and --amp.

    python scripts/memory_table.py --model pix2pix --batch_sizes 1 2 4 8 --crop_sizes 128 256 512
    python scripts/memory_table.py --model cycle_gan --device cuda --variants plain grad_checkpoint amp_bf16 \\
        grad_checkpoint+amp_bf16 --json memory.json

Every cell is scripts/benchmark.py's measurement (`measure`, run in a fresh process per cell so each peak is
its own; --repeats 0: memory only): peak_mem_mb = weights + buffers + batch + the most one training step adds
(activations, gradients, optimizer state). The table has one row per (crop, batch) and one column per
variant, and lists rows by pixels per step (batch x crop²), so "a larger crop instead of a larger batch" (the
reference's tip, docs/batch_size.md) can be read off at equal pixels per step.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from scripts import benchmark  # noqa: E402

# variant name -> scripts/benchmark.py flags
VARIANTS = {
    "plain": [],
    "grad_checkpoint": ["--grad_checkpoint"],
    "amp_bf16": ["--amp", "bf16"],
    "amp_fp16": ["--amp", "fp16"],
    "grad_checkpoint+amp_bf16": ["--grad_checkpoint", "--amp", "bf16"],
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="pix2pix", choices=sorted(benchmark.EAGER_STEPS))
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--crop_sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--variants", nargs="+", default=["plain", "grad_checkpoint", "amp_bf16"],
                        choices=sorted(VARIANTS))  # fmt: skip
    parser.add_argument(
        "--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=benchmark.DEVICES
    )
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--ndf", type=int, default=64)
    parser.add_argument("--netG", help="generator (default: the model's)")
    parser.add_argument("--norm", help="normalization (default: the model's)")
    parser.add_argument("--threads", type=int, help="torch threads in each measuring process")
    parser.add_argument("--in_process", action="store_true",
                        help="no fresh process per cell (for tests: later cells then count earlier cells' leftovers)")  # fmt: skip
    parser.add_argument("--json", help="also write the cells to this JSON file")
    args = parser.parse_args(argv)
    if args.device == "cpu" and "amp_fp16" in args.variants:
        parser.error("--variants amp_fp16 needs --device cuda (use amp_bf16 on the CPU)")
    return args


def cell_settings(args: argparse.Namespace, crop: int, batch_size: int, variant: str) -> dict:
    """benchmark.py's settings for one cell, parsed by its own parser (memory only: --repeats 0)."""
    argv = ["--model", args.model, "--size", str(crop), "--device", args.device, "--repeats", "0"]
    argv += ["--ngf", str(args.ngf), "--ndf", str(args.ndf), *VARIANTS[variant]]
    for flag in ("netG", "norm"):
        if getattr(args, flag):
            argv += [f"--{flag}", getattr(args, flag)]
    return benchmark.row_settings(benchmark.parse_args(argv), batch_size)


def measure_cells(args: argparse.Namespace) -> list[dict]:
    cells = []
    for crop in args.crop_sizes:
        for batch_size in args.batch_sizes:
            for variant in args.variants:
                cfg = cell_settings(args, crop, batch_size, variant)
                row = (
                    benchmark.measure(cfg)
                    if args.in_process
                    else benchmark.measure_in_subprocess(cfg, args.threads)
                )
                cells.append({"crop": crop, "batch_size": batch_size, "variant": variant, **_memory(row)})
    return cells


def _memory(row: dict) -> dict:
    if "error" in row:
        return {"peak_mem_mb": None, "error": row["error"]}
    return {key: row[key] for key in ("peak_mem_mb", "model_mem_mb", "train_mem_mb", "process_peak_mb")}


def markdown_table(cells: list[dict], variants: list[str]) -> str:
    """| crop | batch | pixels/step | <variant> MB ... | sorted by pixels per step, then crop."""
    keys = sorted({(c["crop"], c["batch_size"]) for c in cells}, key=lambda k: (k[1] * k[0] ** 2, k[0]))
    peak = {(c["crop"], c["batch_size"], c["variant"]): c["peak_mem_mb"] for c in cells}
    lines = ["| crop | batch | Mpixels/step | " + " | ".join(f"{v} MB" for v in variants) + " |"]
    lines.append("|" + "---|" * (3 + len(variants)))
    for crop, b in keys:
        values = [peak.get((crop, b, v)) for v in variants]
        shown = ["failed" if v is None else f"{v:.0f}" if v >= 100 else f"{v:.3g}" for v in values]
        lines.append(f"| {crop} | {b} | {b * crop * crop / 1e6:.3g} | " + " | ".join(shown) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    cells = measure_cells(args)
    name = benchmark.device_name(args.device)
    print(f"peak training memory, {args.model}, {name} ({args.device}), ngf {args.ngf}, ndf {args.ndf}")
    print(markdown_table(cells, args.variants))
    print(f"memory: {benchmark.MEMORY[args.device].method}")
    for c in cells:
        if "error" in c:
            print(f"crop {c['crop']} batch {c['batch_size']} {c['variant']} failed: {c['error']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"settings": vars(args), "cells": cells}, f, indent=2)
    return cells


if __name__ == "__main__":
    main()
