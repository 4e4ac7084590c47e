"""What evaluate.py scores: image folders, their pairing, test.py result folders, and the scoring loops.

A *group* is one line of the result table: a set of fake images scored against a set of real images,
paired (fake[i] with real[i]: l1, psnr, ssim, lpips, and fid/kid on the two sets) or unpaired (fid/kid only).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from data.image_folder import is_image_file, load_image
from util.errors import UserError
from util.metrics import MetricSet

# test.py writes images/{stem}_{label}.png; labels are the models' visual names (real_A, fake_B, rec_A, idt_B,
# fake_B_rgb for colorization, real/fake for --model test).
RESULT_FILE = re.compile(r"^(?P<stem>.+)_(?P<label>(?:real|fake|rec|idt)(?:_[AB])?(?:_rgb)?)$")
# CycleGAN's result rows show reconstructions; its fake_B and real_B in one row are not a pair.
UNPAIRED_MARKER = "rec_"


@dataclass
class Group:
    """Fake images scored against real ones; `paired` lists (fake, real) of the same name in order."""

    name: str
    fakes: list[str]
    reals: list[str]
    paired: bool
    notes: list[str] = field(default_factory=list)


def list_images(folder: str, flag: str) -> dict[str, str]:
    """{relative path without extension: path} of every image under `folder` (recursive), sorted."""
    if not os.path.isdir(folder):
        raise UserError(f"{flag} {folder}: not a folder; give a folder of images")
    found: dict[str, str] = {}
    for root, _dirs, names in os.walk(folder, followlinks=True):
        for name in names:
            if is_image_file(name):
                path = os.path.join(root, name)
                key = os.path.splitext(os.path.relpath(path, folder))[0].replace(os.sep, "/")
                if key in found:
                    raise UserError(
                        f"{flag} {folder}: {found[key]} and {path} have the same name; keep one of them"
                    )
                found[key] = path
    if not found:
        raise UserError(f"{flag} {folder}: no images found (png, jpg, bmp, tif, ppm); check the folder")
    return dict(sorted(found.items()))


def match_pairs(fakes: dict[str, str], reals: dict[str, str], what: str, fix: str) -> list[tuple[str, str]]:
    """(fake, real) paths with the same relative name; UserError naming the first unmatched files."""
    lonely_fakes = [k for k in fakes if k not in reals]
    lonely_reals = [k for k in reals if k not in fakes]
    if lonely_fakes or lonely_reals:
        parts = []
        if lonely_fakes:
            parts.append(
                f"{len(lonely_fakes)} fake image(s) without a real one of the same name (e.g. {lonely_fakes[0]})"
            )
        if lonely_reals:
            parts.append(f"{len(lonely_reals)} real image(s) without a fake one (e.g. {lonely_reals[0]})")
        raise UserError(f"{what}: {' and '.join(parts)}; {fix}")
    return [(fakes[k], reals[k]) for k in fakes]


def folder_group(fake_dir: str, real_dir: str, paired: bool) -> Group:
    """--fake DIR --real DIR [--paired]."""
    fakes, reals = list_images(fake_dir, "--fake"), list_images(real_dir, "--real")
    if paired:
        pairs = match_pairs(
            fakes, reals, "--paired", "match the file names or drop --paired for fid/kid only"
        )
        return Group("fake vs real", [f for f, _ in pairs], [r for _, r in pairs], paired=True)
    return Group("fake vs real", list(fakes.values()), list(reals.values()), paired=False)


def result_images(results_dir: str) -> dict[str, dict[str, str]]:
    """{label: {stem: path}} of a test.py result folder (results/NAME/test_latest)."""
    image_dir = os.path.join(results_dir, "images")
    if not os.path.isdir(image_dir):
        raise UserError(
            f"--results_dir {results_dir}: no images/ folder; give the folder test.py printed "
            "(results/NAME/test_latest)"
        )
    by_label: dict[str, dict[str, str]] = {}
    for name in sorted(os.listdir(image_dir)):
        match = RESULT_FILE.match(os.path.splitext(name)[0])
        if match and is_image_file(name):
            by_label.setdefault(match["label"], {})[match["stem"]] = os.path.join(image_dir, name)
    if not any(label.startswith("fake") for label in by_label):
        raise UserError(
            f"--results_dir {results_dir}: no images named STEM_fake*.png in images/; "
            "give a folder written by test.py"
        )
    return by_label


def results_groups(results_dir: str, gt_dirs: list[str]) -> list[Group]:
    """Every fake_X against its real_X (paired unless the model is CycleGAN), then each --gt_dir."""
    by_label = result_images(results_dir)
    paired_model = not any(label.startswith(UNPAIRED_MARKER) for label in by_label)
    groups = []
    for label in sorted(by_label):
        real_label = "real" + label[len("fake") :]
        if not label.startswith("fake_") or real_label not in by_label:
            continue
        fakes, reals = by_label[label], by_label[real_label]
        if paired_model:
            pairs = match_pairs(fakes, reals, f"{results_dir}: {label}", "rerun test.py into an empty folder")
            groups.append(Group(label, [f for f, _ in pairs], [r for _, r in pairs], paired=True))
        else:
            groups.append(Group(label, list(fakes.values()), list(reals.values()), paired=False))
    for spec in gt_dirs:
        label, folder = gt_label(spec, by_label)
        pairs = match_pairs(
            by_label[label],
            list_images(folder, "--gt_dir"),
            f"--gt_dir {folder} against {label}",
            "give the ground truth of exactly the tested images (same file names)",
        )
        name = f"{label} vs {os.path.basename(os.path.normpath(folder))}"
        groups.append(Group(name, [f for f, _ in pairs], [r for _, r in pairs], paired=True))
    if not groups:
        raise UserError(
            f"--results_dir {results_dir}: nothing to compare (no fake_X with a real_X); "
            f"add --gt_dir DIR with the true outputs (labels here: {', '.join(sorted(by_label))})"
        )
    return groups


def gt_label(spec: str, by_label: dict[str, dict[str, str]]) -> tuple[str, str]:
    """--gt_dir [LABEL=]DIR -> (fake label, folder). Without LABEL: testA_gt -> fake_A, testB_gt -> fake_B,
    else the only fake label of the folder."""
    fakes = sorted(label for label in by_label if label.startswith("fake"))
    if "=" in spec and spec.split("=", 1)[0] in by_label:
        label, folder = spec.split("=", 1)
        return label, folder
    folder = spec
    tail = os.path.basename(os.path.normpath(folder))
    for side in ("A", "B"):
        if tail.endswith(f"{side}_gt") and f"fake_{side}" in by_label:
            return f"fake_{side}", folder
    if len(fakes) == 1:
        return fakes[0], folder
    raise UserError(
        f"--gt_dir {spec}: which images does it score ({', '.join(fakes)})? write --gt_dir {fakes[0]}={folder}"
    )


def read_batches(paths: list[str], batch_size: int) -> Iterator[torch.Tensor]:
    """uint8 (N, 3, H, W) batches of consecutive images of one size (a new size starts a new batch)."""
    for batch in _batches(([np.asarray(load_image(p, "RGB"))] for p in paths), batch_size):
        yield batch[0]


def read_pair_batches(
    fakes: list[str], reals: list[str], batch_size: int, group: str
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(fake, real) uint8 batches; each fake must have its real's size."""

    def pairs():
        for fake_path, real_path in zip(fakes, reals, strict=True):
            fake, real = np.asarray(load_image(fake_path, "RGB")), np.asarray(load_image(real_path, "RGB"))
            if fake.shape != real.shape:
                raise UserError(
                    f"{group}: {fake_path} is {fake.shape[1]}x{fake.shape[0]} but {real_path} is "
                    f"{real.shape[1]}x{real.shape[0]}; paired metrics need equal sizes (resize one folder)"
                )
            yield [fake, real]

    yield from _batches(pairs(), batch_size)


def _batches(items: Iterable[list[np.ndarray]], batch_size: int) -> Iterator[tuple[torch.Tensor, ...]]:
    """Stack items (tuples of HxWx3 arrays) into (N, 3, H, W) tensors; a new size starts a new batch."""
    batch: list[list[np.ndarray]] = []
    for item in items:
        if batch and (len(batch) == batch_size or item[0].shape != batch[0][0].shape):
            yield _stack(batch)
            batch = []
        batch.append(item)
    if batch:
        yield _stack(batch)


def _stack(batch: list[list[np.ndarray]]) -> tuple[torch.Tensor, ...]:
    return tuple(torch.from_numpy(np.stack(col)).permute(0, 3, 1, 2).contiguous() for col in zip(*batch))


def score_group(group: Group, scores: MetricSet, batch_size: int, progress: bool) -> dict[str, float]:
    """Feed `group` to `scores` (reset first) and return its results."""
    scores.reset()
    bar = _progress(progress, len(group.fakes) + (0 if group.paired else len(group.reals)), group.name)
    if group.paired:
        for fake, real in read_pair_batches(group.fakes, group.reals, batch_size, group.name):
            scores.update(fake, real)
            bar.update(len(fake))
    else:
        for side, paths in (("fake", group.fakes), ("real", group.reals)):
            for batch in read_batches(paths, batch_size):
                empty = batch[:0]
                scores.update(*((batch, empty) if side == "fake" else (empty, batch)))
                bar.update(len(batch))
    bar.close()
    return scores.compute()


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(show: bool, total: int, desc: str):
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="image")
