"""Turn an unpaired-layout folder whose A and B images do correspond (sorted order pairs them) into the
aligned A|B layout: DATASET/{trainA,trainB} → DATASET/train/0000.jpg, ..., likewise for test.

    python datasets/make_dataset_aligned.py --dataset-path /path/to/dataset

As in the reference, only .png and .jpg files directly inside each folder are used, pairs must have the
same size, and the output is JPEG. A split is done when both its A and B folders exist.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from PIL import Image  # noqa: E402

from data.image_folder import load_image  # noqa: E402
from util.cli import run_cli  # noqa: E402
from util.errors import UserError  # noqa: E402

SPLITS = ("test", "train")


def get_file_paths(folder: str) -> list[str]:
    """Sorted .png/.jpg files directly in `folder` (no subfolders), as absolute paths."""
    names = sorted(n for n in os.listdir(folder) if n.endswith((".png", ".jpg")))
    return [
        os.path.join(os.path.abspath(folder), n) for n in names if os.path.isfile(os.path.join(folder, n))
    ]


def align_images(a_paths: list[str], b_paths: list[str], target_path: str) -> None:
    """Write the i-th A and i-th B side by side to target_path/{i:04d}.jpg."""
    os.makedirs(target_path, exist_ok=True)
    for i, (path_a, path_b) in enumerate(zip(a_paths, b_paths, strict=True)):
        img_a, img_b = load_image(path_a, "RGB"), load_image(path_b, "RGB")
        if img_a.size != img_b.size:
            raise UserError(
                f"{path_a} is {img_a.size} but its partner {path_b} is {img_b.size}; pairs must match"
            )
        aligned = Image.new("RGB", (img_a.width * 2, img_a.height))
        aligned.paste(img_a, (0, 0))
        aligned.paste(img_b, (img_a.width, 0))
        aligned.save(os.path.join(target_path, f"{i:04d}.jpg"))


def split_paths(dataset: str, split: str) -> tuple[list[str], list[str]] | None:
    """The A and B files of a split, or None when neither folder exists."""
    dir_a, dir_b = os.path.join(dataset, split + "A"), os.path.join(dataset, split + "B")
    if not os.path.isdir(dir_a) and not os.path.isdir(dir_b):
        return None
    for folder in (dir_a, dir_b):
        if not os.path.isdir(folder):
            raise UserError(f"{folder} not found: {split}A and {split}B must both exist")
    a_paths, b_paths = get_file_paths(dir_a), get_file_paths(dir_b)
    if len(a_paths) != len(b_paths):
        raise UserError(
            f"{dir_a} has {len(a_paths)} images but {dir_b} has {len(b_paths)}; pairs need equal counts"
        )
    return a_paths, b_paths


def run(dataset: str | None) -> None:
    if not dataset or not os.path.isdir(dataset):
        raise UserError(
            f"--dataset-path {dataset} is not a folder; pass the folder holding trainA, trainB, testA, testB"
        )
    found = {split: split_paths(dataset, split) for split in SPLITS}
    if all(paths is None for paths in found.values()):
        raise UserError(f"--dataset-path {dataset} holds none of trainA/trainB/testA/testB")
    for split, paths in found.items():
        if paths is not None:
            align_images(*paths, os.path.join(dataset, split))
            print(f"{split}: wrote {len(paths[0])} A|B images to {os.path.join(dataset, split)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dataset-path", dest="dataset_path", help="folder with subfolders testA, testB, trainA and trainB"
    )
    args = parser.parse_args(argv)
    return run_cli(lambda: run(args.dataset_path))


if __name__ == "__main__":
    sys.exit(main())
