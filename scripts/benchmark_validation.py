"""What validation (`--val_freq`) costs next to a training epoch of the demo (scripts/demo.sh, pix2pix).

    python scripts/benchmark_validation.py                       # 50 images at 256², l1,psnr,ssim
    python scripts/benchmark_validation.py --num_val 50 --size 256 --metrics l1,psnr,ssim --val_eval

Builds the demo's generator (unet_128, ngf/ndf 32, batch norm, dropout), then times
* one validation as train.py runs it (util.validation.Validator.run: copy of G, one image at a time, uint8,
  metrics) on --num_val built-in images of --size px, after loading them once (loading happens at start);
* --steps training steps of the demo (128 px crops, batch 1), whose median times the demo's 200 images gives
  the epoch time. Prints wall and CPU (process) seconds and their ratios -- on a shared machine the CPU
figures are the fair ones; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from data.builtin import make_paired_dataset  # noqa: E402
from models import create_model  # noqa: E402
from options import parse_train_options  # noqa: E402
from util.distributed import Runtime  # noqa: E402
from util.validation import Validator  # noqa: E402

DEMO = ["--model", "pix2pix", "--netG", "unet_128", "--ngf", "32", "--ndf", "32", "--num_threads", "0",
        "--display_id", "0", "--gpu_ids", "-1"]  # fmt: skip
DEMO_TRAIN_IMAGES = 200  # scripts/demo.sh: make_builtin_dataset.py --kind paired (200 training pairs)
DEMO_CROP = 128


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--num_val", type=int, default=50)
    parser.add_argument("--size", type=int, default=256, help="validation image side (a multiple of 128)")
    parser.add_argument("--metrics", default="l1,psnr,ssim")
    parser.add_argument("--val_eval", action="store_true", help="validate in eval mode")
    parser.add_argument("--steps", type=int, default=10, help="timed training steps")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory() as tmp:
        root = make_paired_dataset(
            os.path.join(tmp, "val"), n_train=1, n_val=args.num_val, n_test=1, size=args.size
        )
        size = ["--load_size", str(args.size), "--crop_size", str(args.size)]
        opt = parse_train_options(["--dataroot", root, "--checkpoints_dir", tmp, *DEMO, *size,
                                   "--val_freq", "1", "--num_val", str(args.num_val), "--val_metrics", args.metrics]
                                  + (["--val_eval"] if args.val_eval else []))  # fmt: skip
        model = create_model(opt)
        t0 = time.perf_counter()
        validator = Validator(opt, Runtime(torch.device("cpu")), opt.val_metrics.split(","))
        load_s = time.perf_counter() - t0
        runs, cpu_runs = [], []
        for _ in range(2):
            t0, c0 = time.perf_counter(), time.process_time()
            scores = validator.run(model.networks())
            runs.append(time.perf_counter() - t0)
            cpu_runs.append(time.process_time() - c0)
        print(f"validation set loading (once, at start): {load_s:.2f} s")
        print(f"validation of {validator.num_images} images at {args.size}px ({args.metrics}): "
              f"wall {', '.join(f'{r:.2f}' for r in runs)} s, cpu {', '.join(f'{r:.2f}' for r in cpu_runs)} s"
              f"  -> {scores}")  # fmt: skip

        crop = ["--load_size", str(DEMO_CROP), "--crop_size", str(DEMO_CROP)]
        train_opt = parse_train_options(["--dataroot", root, "--checkpoints_dir", tmp, *DEMO, *crop])
        trainer = create_model(train_opt)
        trainer.setup(train_opt)
        batch = {"A": torch.rand(1, 3, DEMO_CROP, DEMO_CROP) * 2 - 1, "B": torch.rand(1, 3, DEMO_CROP, DEMO_CROP) * 2 - 1,
                 "A_paths": ["x"], "B_paths": ["x"]}  # fmt: skip
        trainer.train_step([batch])  # warm-up
        steps, cpu_steps = [], []
        for _ in range(args.steps):
            t0, c0 = time.perf_counter(), time.process_time()
            trainer.train_step([batch])
            steps.append(time.perf_counter() - t0)
            cpu_steps.append(time.process_time() - c0)
        step, cpu_step = statistics.median(steps), statistics.median(cpu_steps)
        epoch, cpu_epoch = step * DEMO_TRAIN_IMAGES, cpu_step * DEMO_TRAIN_IMAGES
    print(f"demo training step (pix2pix unet_128 ngf 32, {DEMO_CROP}px, batch 1): median wall {step * 1000:.0f} ms, "
          f"cpu {cpu_step * 1000:.0f} ms -> epoch of {DEMO_TRAIN_IMAGES} images ~ wall {epoch:.1f} s, cpu {cpu_epoch:.1f} s")  # fmt: skip
    print(f"validation / epoch: wall {min(runs) / epoch:.1%}, cpu {min(cpu_runs) / cpu_epoch:.1%}")


if __name__ == "__main__":
    main()
