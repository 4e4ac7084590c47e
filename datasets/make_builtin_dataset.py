"""Write a built-in synthetic dataset, so the project runs with no download.

    python datasets/make_builtin_dataset.py --kind paired      # → datasets/data/facades_synth/{train,val,test}
    python datasets/make_builtin_dataset.py --kind unpaired    # → datasets/data/shapes2synth/{trainA,...,testB_gt}

Then e.g. `python train.py --dataroot datasets/data/facades_synth --model pix2pix ...`. See docs/data.md.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from data.builtin import make_paired_dataset, make_unpaired_dataset  # noqa: E402
from util.cli import run_cli  # noqa: E402
from util.errors import UserError  # noqa: E402

DEFAULT_NAMES = {"paired": "facades_synth", "unpaired": "shapes2synth"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--kind", choices=sorted(DEFAULT_NAMES), required=True, help="paired (pix2pix) or unpaired (CycleGAN)"
    )
    parser.add_argument(
        "--out", help="output folder (default datasets/data/facades_synth or .../shapes2synth)"
    )
    parser.add_argument(
        "--size", type=int, default=64, help="image side in pixels (paired files are 2·size wide)"
    )
    parser.add_argument("--n_train", type=int, default=200, help="training images (per domain when unpaired)")
    parser.add_argument("--n_test", type=int, default=20, help="test images (and val images when paired)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same files byte for byte")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "data", DEFAULT_NAMES[args.kind]
    )
    return run_cli(lambda: write(args, out))


def write(args: argparse.Namespace, out: str) -> None:
    if args.n_train < 1 or args.n_test < 1:
        raise UserError("--n_train and --n_test must be at least 1")
    if args.kind == "paired":
        make_paired_dataset(out, args.n_train, args.n_test, args.n_test, size=args.size, seed=args.seed)
    else:
        make_unpaired_dataset(out, args.n_train, args.n_test, size=args.size, seed=args.seed)
    print(
        f"wrote the {args.kind} dataset {DEFAULT_NAMES[args.kind]} ({args.size} px, seed {args.seed}) to {out}"
    )


if __name__ == "__main__":
    sys.exit(main())
