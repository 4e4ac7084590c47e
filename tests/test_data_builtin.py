"""The built-in synthetic datasets (data/builtin.py) and their CLI (datasets/make_builtin_dataset.py)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from data import create_dataset
from data.builtin import BACKGROUND_A, BACKGROUND_B, FACADE_LABELS, make_paired_dataset, make_unpaired_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = 32


def files(root) -> dict[str, bytes]:
    return {
        os.path.relpath(os.path.join(d, n), root): open(os.path.join(d, n), "rb").read()
        for d, _, names in os.walk(root)
        for n in names
    }


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(np.int64)


@pytest.fixture(scope="module")
def paired(tmp_path_factory):
    return make_paired_dataset(
        str(tmp_path_factory.mktemp("p") / "facades_synth"), 6, 2, 3, size=SIZE, seed=0
    )


@pytest.fixture(scope="module")
def unpaired(tmp_path_factory):
    return make_unpaired_dataset(str(tmp_path_factory.mktemp("u") / "shapes2synth"), 5, 3, size=SIZE, seed=0)


def test_same_seed_same_bytes_other_seed_other_images(tmp_path, paired, unpaired):
    assert files(make_paired_dataset(str(tmp_path / "p"), 6, 2, 3, size=SIZE, seed=0)) == files(paired)
    assert files(make_unpaired_dataset(str(tmp_path / "u"), 5, 3, size=SIZE, seed=0)) == files(unpaired)
    other = files(make_paired_dataset(str(tmp_path / "p1"), 6, 2, 3, size=SIZE, seed=1))
    changed = [
        name for name, content in files(paired).items() if name.endswith(".png") and other[name] != content
    ]
    assert len(changed) == 11


def test_paired_layout_is_label_left_photo_right(paired):
    assert sorted(os.listdir(paired)) == ["BUILTIN_DATASET.txt", "test", "train", "val"]
    assert [len(os.listdir(os.path.join(paired, s))) for s in ("train", "val", "test")] == [6, 2, 3]
    image = pixels(os.path.join(paired, "train", "0000.png"))
    assert image.shape == (SIZE, 2 * SIZE, 3)
    labels, photo = image[:, :SIZE], image[:, SIZE:]
    palette = {tuple(c) for c in FACADE_LABELS.values()}
    assert {tuple(c) for c in labels.reshape(-1, 3)} <= palette  # the label map holds only label colours
    assert len({tuple(c) for c in photo.reshape(-1, 3)}) > 100  # the photo is textured


def test_paired_photo_colour_follows_the_label(paired):
    """The mapping is learnable: each label class has its own typical photo colour, the same across images."""
    means: dict[str, list] = {name: [] for name in FACADE_LABELS}
    for name in sorted(os.listdir(os.path.join(paired, "train"))):
        image = pixels(os.path.join(paired, "train", name))
        labels, photo = image[:, :SIZE], image[:, SIZE:]
        for cls, colour in FACADE_LABELS.items():
            mask = (labels == colour).all(-1)
            if mask.sum() > 4:
                means[cls].append(photo[mask].mean(0))
    per_class = {cls: np.mean(m, 0) for cls, m in means.items() if m}
    assert {"wall", "window", "door", "cornice"} <= set(per_class)
    for cls, class_means in means.items():
        if class_means:
            assert np.abs(np.array(class_means) - per_class[cls]).max() < 40, cls  # stable across images
    names = sorted(per_class)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert np.abs(per_class[a] - per_class[b]).max() > 30, (a, b)  # distinct between classes


def shape_mask_a(image: np.ndarray) -> np.ndarray:
    return (image != BACKGROUND_A).any(-1)


def shape_mask_b(image: np.ndarray) -> np.ndarray:
    t = ((np.arange(SIZE) + 0.5) / SIZE)[:, None, None]
    background = np.rint(np.array(BACKGROUND_B[0]) * (1 - t) + np.array(BACKGROUND_B[1]) * t)
    return (np.abs(image - background) > 1).any(-1)


def test_unpaired_layout_and_ground_truth(unpaired):
    folders = ["BUILTIN_DATASET.txt", "testA", "testA_gt", "testB", "testB_gt", "trainA", "trainB"]
    assert sorted(os.listdir(unpaired)) == folders
    assert sorted(os.listdir(os.path.join(unpaired, "testA"))) == sorted(
        os.listdir(os.path.join(unpaired, "testB_gt"))
    )
    assert sorted(os.listdir(os.path.join(unpaired, "testB"))) == sorted(
        os.listdir(os.path.join(unpaired, "testA_gt"))
    )
    assert (
        len(os.listdir(os.path.join(unpaired, "trainA"))) == 5
        and len(os.listdir(os.path.join(unpaired, "testB"))) == 3
    )
    for name in os.listdir(os.path.join(unpaired, "testA")):
        a, b_gt = (
            pixels(os.path.join(unpaired, "testA", name)),
            pixels(os.path.join(unpaired, "testB_gt", name)),
        )
        assert a.shape == b_gt.shape == (SIZE, SIZE, 3)
        assert (shape_mask_a(a) == shape_mask_b(b_gt)).mean() > 0.98  # same scene, other rendering
        a_gt, b = (
            pixels(os.path.join(unpaired, "testA_gt", name)),
            pixels(os.path.join(unpaired, "testB", name)),
        )
        assert (shape_mask_a(a_gt) == shape_mask_b(b)).mean() > 0.98


def test_unpaired_train_domains_come_from_different_scenes(unpaired):
    overlaps = []
    for name in os.listdir(os.path.join(unpaired, "trainA")):
        a = shape_mask_a(pixels(os.path.join(unpaired, "trainA", name)))
        b = shape_mask_b(pixels(os.path.join(unpaired, "trainB", name)))
        overlaps.append((a == b).mean())
    assert min(overlaps) < 0.9


def test_builtin_sets_load_with_their_dataset_modes(paired, unpaired):
    common = dict(
        phase="train", max_dataset_size=float("inf"), direction="AtoB", input_nc=3, output_nc=3,
        preprocess="resize_and_crop", load_size=36, crop_size=32, no_flip=False, serial_batches=False,
        batch_size=2, num_threads=0, isTrain=True, seed=0,
    )  # fmt: skip
    for root, mode, n in ((paired, "aligned", 6), (unpaired, "unaligned", 5)):
        loader = create_dataset(argparse.Namespace(dataroot=root, dataset_mode=mode, **common))
        batch = next(iter(loader))
        assert len(loader) == n and batch["A"].shape == batch["B"].shape == (2, 3, 32, 32)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The CLI as a user runs it, in a new process."""
    script = os.path.join(ROOT, "datasets", "make_builtin_dataset.py")
    return subprocess.run([sys.executable, script, *args], capture_output=True, text=True, timeout=120)


def cli_main():
    spec = importlib.util.spec_from_file_location(
        "make_builtin_dataset", os.path.join(ROOT, "datasets", "make_builtin_dataset.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_cli_writes_and_regenerates_its_own_output(tmp_path, capsys):
    out = tmp_path / "u"
    args = ["--kind", "unpaired", "--out", str(out), "--size", "32", "--n_train", "2", "--n_test", "1"]
    assert cli_main()(args) == 0
    assert capsys.readouterr().out == f"wrote the unpaired dataset shapes2synth (32 px, seed 0) to {out}\n"
    (out / "trainA" / "stale.png").write_bytes(b"")
    assert cli_main()(args) == 0  # a second run replaces its own earlier output
    assert sorted(os.listdir(out / "trainA")) == ["0000.png", "0001.png"]


@pytest.mark.slow
def test_cli_never_writes_into_a_users_folder(tmp_path):
    mine = tmp_path / "mine"
    (mine / "photos").mkdir(parents=True)
    refused = run_cli("--kind", "paired", "--out", str(mine))
    assert refused.returncode == 2
    assert (
        refused.stderr.strip()
        == f"error: {mine} exists and is not a built-in dataset; choose an empty or new --out folder"
    )
    assert os.listdir(mine) == ["photos"]
