"""Small builders shared by the model and training tests."""

from __future__ import annotations

import os
import subprocess
import sys

import torch

from options import parse_train_options

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--ngf", "4", "--ndf", "4", "--netG", "resnet_6blocks", "--num_threads", "0", "--display_id", "0"]


def tiny_train_options(tmp_path, model: str, *extra: str):
    return parse_train_options(tiny_argv(tmp_path, model, *extra))


def tiny_argv(tmp_path, model: str, *extra: str) -> list[str]:
    argv = [
        "--dataroot",
        str(tmp_path),
        "--name",
        "t",
        "--checkpoints_dir",
        str(tmp_path / "ck"),
        "--model",
        model,
    ]
    return argv + TINY + list(extra)


def random_batch(opt, seed: int, batch_size: int = 1, size: int = 32) -> dict:
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(batch_size, opt.input_nc, size, size, generator=g) * 2 - 1
    b = torch.rand(batch_size, opt.output_nc, size, size, generator=g) * 2 - 1
    paths = [f"img{seed}_{i}.png" for i in range(batch_size)]
    return {"A": a, "B": b, "A_paths": paths, "B_paths": paths}


def concat_batches(batches: list[dict]) -> dict:
    return {
        "A": torch.cat([b["A"] for b in batches]),
        "B": torch.cat([b["B"] for b in batches]),
        "A_paths": sum((b["A_paths"] for b in batches), []),
        "B_paths": sum((b["B_paths"] for b in batches), []),
    }


def run_script(args: list[str], cwd=None, env=None, timeout=600) -> subprocess.CompletedProcess:
    """Run `python <script> ...` from the repo root as a user would; output captured as text."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd or ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
