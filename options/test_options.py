"""Flags only test.py takes (SPEC §1) and the values test.py forces after parsing."""

import argparse

# Reference test.py hard-codes these after parsing: one image at a time, in order, unflipped, no visdom.
TEST_OVERRIDES = dict(num_threads=0, batch_size=1, serial_batches=True, no_flip=True, display_id=-1)


def add_test_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    g = parser.add_argument_group("test")
    g.add_argument("--results_dir", type=str, default="./results/", help="saves results here.")
    g.add_argument("--aspect_ratio", type=float, default=1.0, help="aspect ratio of result images")
    g.add_argument("--phase", type=str, default="test", help="train, val, test, etc")
    g.add_argument(
        "--eval",
        action="store_true",
        help="use eval mode during test time (dropout off, BatchNorm running stats).",
    )
    g.add_argument("--num_test", type=int, default=50, help="how many test images to run")
    g.add_argument(
        "--no_progress", action="store_true", help="no progress bar even when the output is a terminal"
    )
    g.add_argument(
        "--no_ema",
        action="store_true",
        help="use the raw generator weights of a run trained with --ema_decay (default: its average)",
    )
    # The reference sets these two defaults for test.py: the test model, and no resize beyond the crop.
    parser.set_defaults(model="test")
    parser.set_defaults(load_size=parser.get_default("crop_size"))
    return parser
