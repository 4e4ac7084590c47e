"""Pair images from two folders into the A|B side-by-side files that --dataset_mode aligned reads.

    python datasets/combine_A_and_B.py --fold_A /path/A --fold_B /path/B --fold_AB /path/AB

fold_A and fold_B hold the same split subfolders (train, val, test) with images of the same names
(or NAME_A.ext / NAME_B.ext with --use_AB); each pair is written to fold_AB/SPLIT/NAME. The reference's
flags, without OpenCV: Pillow reads every format the loader reads (16-bit, palette, RGBA on white).
"""

from __future__ import annotations

import argparse
import os
import sys
from multiprocessing import Pool

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from PIL import Image  # noqa: E402

from data.image_folder import is_image_file, load_image  # noqa: E402
from util.cli import run_cli  # noqa: E402
from util.errors import UserError  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="create image pairs")
    parser.add_argument(
        "--fold_A",
        dest="fold_A",
        help="input directory for image A",
        type=str,
        default="../dataset/50kshoes_edges",
    )
    parser.add_argument(
        "--fold_B",
        dest="fold_B",
        help="input directory for image B",
        type=str,
        default="../dataset/50kshoes_jpg",
    )
    parser.add_argument(
        "--fold_AB", dest="fold_AB", help="output directory", type=str, default="../dataset/test_AB"
    )
    parser.add_argument(
        "--num_imgs", dest="num_imgs", help="number of images per split", type=int, default=1000000
    )
    parser.add_argument(
        "--use_AB", dest="use_AB", help="if true: (0001_A, 0001_B) to (0001_AB)", action="store_true"
    )
    parser.add_argument(
        "--no_multiprocessing",
        dest="no_multiprocessing",
        help="if used, use one CPU instead of all",
        action="store_true",
        default=False,
    )
    return parser.parse_args(argv)


def combine_pair(path_A: str, path_B: str, path_AB: str) -> bool:
    """Write A and B side by side to path_AB; B is resized to A's size if they differ (returns True then)."""
    im_A, im_B = load_image(path_A, "RGB"), load_image(path_B, "RGB")
    resized = im_A.size != im_B.size
    if resized:
        im_B = im_B.resize(im_A.size, Image.Resampling.BICUBIC)
    im_AB = Image.new("RGB", (im_A.width * 2, im_A.height))
    im_AB.paste(im_A, (0, 0))
    im_AB.paste(im_B, (im_A.width, 0))
    im_AB.save(
        path_AB, quality=95
    )  # quality applies to JPEG only; 95 is OpenCV's default, as in the reference
    return resized


def split_jobs(args: argparse.Namespace, split: str) -> tuple[list[tuple[str, str, str]], int]:
    """(path_A, path_B, path_AB) for one split, and how many A images had no B partner."""
    fold_A, fold_B = os.path.join(args.fold_A, split), os.path.join(args.fold_B, split)
    if not os.path.isdir(fold_B):
        raise UserError(f"{fold_B} not found: --fold_B needs the same split subfolders as --fold_A ({split})")
    names = sorted(name for name in os.listdir(fold_A) if is_image_file(name))
    if args.use_AB:
        names = [name for name in names if "_A." in name]
    names = names[: args.num_imgs]
    jobs, missing = [], 0
    for name_A in names:
        name_B = name_A.replace("_A.", "_B.") if args.use_AB else name_A
        path_A, path_B = os.path.join(fold_A, name_A), os.path.join(fold_B, name_B)
        if os.path.isfile(path_A) and os.path.isfile(path_B):
            name_AB = name_A.replace("_A.", ".") if args.use_AB else name_A
            jobs.append((path_A, path_B, os.path.join(args.fold_AB, split, name_AB)))
        else:
            missing += os.path.isfile(path_A)
    return jobs, missing


def run(args: argparse.Namespace) -> None:
    if not os.path.isdir(args.fold_A):
        raise UserError(f"--fold_A {args.fold_A} is not a folder")
    if not os.path.isdir(args.fold_B):
        raise UserError(f"--fold_B {args.fold_B} is not a folder")
    splits = sorted(d for d in os.listdir(args.fold_A) if os.path.isdir(os.path.join(args.fold_A, d)))
    if not splits:
        raise UserError(
            f"--fold_A {args.fold_A} has no split subfolders; put the images in e.g. {args.fold_A}/train"
        )
    for split in splits:
        jobs, missing = split_jobs(args, split)
        print(f"split = {split}, use {len(jobs)}/{len(jobs) + missing} images")
        os.makedirs(os.path.join(args.fold_AB, split), exist_ok=True)
        if args.no_multiprocessing or len(jobs) < 2:
            resized = [combine_pair(*job) for job in jobs]
        else:
            with Pool() as pool:
                resized = pool.starmap(combine_pair, jobs)
        if missing:
            print(
                f"  {missing} images in {os.path.join(args.fold_A, split)} had no partner in --fold_B: skipped"
            )
        if any(resized):
            print(f"  {sum(resized)} B images differed in size from their A and were resized to match")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for name, value in vars(args).items():
        print(f"[{name}] = {value}")
    return run_cli(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
