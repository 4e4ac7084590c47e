"""--noise_scale on the same two batches, in one process (--accum_steps 2) or under torchrun (2 processes).

    python tests/noise_scale_probe.py OUT_DIR CHECKPOINTS_DIR                             # accumulation
    torchrun --nproc_per_node=2 tests/noise_scale_probe.py OUT_DIR CHECKPOINTS_DIR        # DDP, gloo

Three training steps of a tiny pix2pix (instance norm, no dropout) on fixed random batches of 2: step s uses
batches (2s, 2s + 1), process r taking batch 2s + r under DDP. Writes OUT_DIR/rank{RANK}.pt with
``history``: the EMAs of |G|² and tr Σ per optimizer after each step (B_simple is their ratio; the
EMAs are compared because early on the |G|² one may be <= 0, making B_simple inf).
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import torch  # noqa: E402

from models import create_model  # noqa: E402
from tests.helpers import random_batch, tiny_train_options  # noqa: E402
from util.distributed import setup_runtime  # noqa: E402

STEPS = 3


def main() -> None:
    out_dir, checkpoints = sys.argv[1], sys.argv[2]
    rt = setup_runtime("-1", "instance")
    accum = "1" if rt.ddp else "2"
    flags = [
        "--norm",
        "instance",
        "--no_dropout",
        "--batch_size",
        "2",
        "--accum_steps",
        accum,
        "--noise_scale",
    ]
    torch.manual_seed(0)
    opt = tiny_train_options(_Path(checkpoints), "pix2pix", "--gpu_ids", "-1", *flags)
    model = create_model(opt, rt.device, ddp=rt.ddp)
    model.setup(opt)
    history = []
    for step in range(STEPS):
        batches = [random_batch(opt, seed=2 * step + i, batch_size=2) for i in (0, 1)]
        model.train_step([batches[rt.rank]] if rt.ddp else batches)
        estimates = model.noise_scale.estimates
        history.append({f"{key}_{part}": getattr(est, part) for key, est in estimates.items()
                        for part in ("ema_true_sq", "ema_trace")})  # fmt: skip
    os.makedirs(out_dir, exist_ok=True)
    torch.save({"history": history}, os.path.join(out_dir, f"rank{rt.rank}.pt"))
    if rt.ddp:
        torch.distributed.destroy_process_group()


class _Path(str):
    """tiny_train_options joins with `/`, like a pathlib.Path."""

    def __truediv__(self, other: str) -> str:
        return os.path.join(self, other)


if __name__ == "__main__":
    main()
