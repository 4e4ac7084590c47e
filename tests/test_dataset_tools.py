"""The datasets/ tools: combine_A_and_B.py, make_dataset_aligned.py and the two download scripts."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIX2PIX_NAMES = ["night2day", "edges2handbags", "edges2shoes", "facades", "maps"]
CYCLEGAN_NAMES = [
    "apple2orange", "summer2winter_yosemite", "horse2zebra", "monet2photo", "cezanne2photo", "ukiyoe2photo",
    "vangogh2photo", "maps", "facades", "iphone2dslr_flower", "ae_photos", "mini", "mini_pix2pix", "mini_colorization",
]  # fmt: skip


def tool(name: str, *args: str, cwd=None, env=None) -> subprocess.CompletedProcess:
    """Run a tool as a user does, in a new process."""
    path = os.path.join(ROOT, "datasets", name)
    command = ["bash", path] if name.endswith(".sh") else [sys.executable, path]
    return subprocess.run(command + list(args), capture_output=True, text=True, timeout=120, cwd=cwd, env=env)


def call(name: str, *args: str, capsys) -> subprocess.CompletedProcess:
    """Run a Python tool's main() in this process (no second torch import): exit code, stdout, stderr."""
    spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(ROOT, "datasets", name))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # so multiprocessing can pickle its functions by name
    spec.loader.exec_module(module)
    capsys.readouterr()
    code = module.main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


def image(value: int, width: int = 8, height: int = 6) -> np.ndarray:
    rng = np.random.default_rng(value)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def save(path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def load(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


# ---------------------------------------------------------------- combine_A_and_B.py


@pytest.mark.parametrize("multiprocessing", [False, True])
def test_combine_puts_a_left_and_b_right(tmp_path, multiprocessing, capsys):
    for name, value in (("1.png", 1), ("2.png", 2), ("3.png", 3)):
        save(tmp_path / "A" / "train" / name, image(value))
    for name, value in (("1.png", 11), ("2.png", 12)):  # 3.png has no partner
        save(tmp_path / "B" / "train" / name, image(value))
    save(tmp_path / "A" / "val" / "9.png", image(9))
    save(tmp_path / "B" / "val" / "9.png", image(19, 16, 12))  # another size: resized to A's
    flags = [
        "--fold_A",
        str(tmp_path / "A"),
        "--fold_B",
        str(tmp_path / "B"),
        "--fold_AB",
        str(tmp_path / "AB"),
    ]
    done = call(
        "combine_A_and_B.py", *flags, *([] if multiprocessing else ["--no_multiprocessing"]), capsys=capsys
    )
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(tmp_path / "AB" / "train")) == ["1.png", "2.png"]
    np.testing.assert_array_equal(
        load(tmp_path / "AB" / "train" / "2.png"), np.concatenate([image(2), image(12)], 1)
    )
    assert load(tmp_path / "AB" / "val" / "9.png").shape == (6, 16, 3)
    assert "1 images in" in done.stdout and "had no partner" in done.stdout
    assert "1 B images differed in size from their A and were resized" in done.stdout


def test_combine_use_ab_pairs_name_a_with_name_b(tmp_path, capsys):
    save(tmp_path / "A" / "test" / "0001_A.png", image(1))
    save(tmp_path / "A" / "test" / "0002.png", image(5))  # no _A: ignored with --use_AB
    save(tmp_path / "B" / "test" / "0001_B.png", image(2))
    flags = [
        "--fold_A",
        str(tmp_path / "A"),
        "--fold_B",
        str(tmp_path / "B"),
        "--fold_AB",
        str(tmp_path / "AB"),
    ]
    assert (
        call("combine_A_and_B.py", *flags, "--use_AB", "--no_multiprocessing", capsys=capsys).returncode == 0
    )
    assert os.listdir(tmp_path / "AB" / "test") == ["0001.png"]
    np.testing.assert_array_equal(
        load(tmp_path / "AB" / "test" / "0001.png"), np.concatenate([image(1), image(2)], 1)
    )


def test_combine_bad_folders_are_one_line_errors(tmp_path, capsys):
    flags = ["--fold_A", str(tmp_path / "no"), "--fold_B", str(tmp_path), "--fold_AB", str(tmp_path / "o")]
    done = call("combine_A_and_B.py", *flags, capsys=capsys)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: --fold_A {tmp_path / 'no'} is not a folder"
    save(tmp_path / "A" / "train" / "1.png", image(1))
    (tmp_path / "B").mkdir()
    done = call(
        "combine_A_and_B.py", "--fold_A", str(tmp_path / "A"), "--fold_B", str(tmp_path / "B"), capsys=capsys
    )
    assert done.returncode == 2 and f"error: {tmp_path / 'B' / 'train'} not found" in done.stderr


# ---------------------------------------------------------------- make_dataset_aligned.py


def test_make_dataset_aligned_pairs_in_sorted_order(tmp_path, capsys):
    for side, offset in (("A", 0), ("B", 10)):
        for i in range(2):
            save(tmp_path / f"train{side}" / f"{i}.png", np.full((6, 8, 3), 40 * i + offset, np.uint8))
    done = call("make_dataset_aligned.py", "--dataset-path", str(tmp_path), capsys=capsys)
    assert done.returncode == 0, done.stderr
    assert (
        sorted(os.listdir(tmp_path / "train")) == ["0000.jpg", "0001.jpg"]
        and not (tmp_path / "test").exists()
    )
    pair = load(tmp_path / "train" / "0001.jpg").astype(int)
    assert pair.shape == (6, 16, 3)
    assert abs(pair[:, :8].mean() - 40) < 2 and abs(pair[:, 8:].mean() - 50) < 2  # JPEG: close, not exact


@pytest.mark.slow
def test_make_dataset_aligned_refuses_unequal_counts(tmp_path, capsys):
    save(tmp_path / "testA" / "0.png", image(0))
    save(tmp_path / "testA" / "1.png", image(1))
    save(tmp_path / "testB" / "0.png", image(2))
    done = tool("make_dataset_aligned.py", "--dataset-path", str(tmp_path))  # as a user runs it
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: {tmp_path / 'testA'} has 2 images but {tmp_path / 'testB'} has 1; pairs need equal counts"
    )
    done = call("make_dataset_aligned.py", "--dataset-path", str(tmp_path / "none"), capsys=capsys)
    assert done.returncode == 2 and "--dataset-path" in done.stderr


# ---------------------------------------------------------------- download scripts (argument checks only)

needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


@needs_bash
@pytest.mark.parametrize("script", ["download_pix2pix_dataset.sh", "download_cyclegan_dataset.sh"])
@pytest.mark.parametrize(
    "args", [[], ["horse2zebras"], ["cityscapes"]], ids=["none", "unknown", "cityscapes"]
)
def test_download_refuses_bad_names_without_downloading(tmp_path, script, args):
    done = tool(script, *args, cwd=tmp_path)
    assert done.returncode == 1
    assert os.listdir(tmp_path) == []  # nothing created, nothing fetched
    if args == ["horse2zebras"]:
        assert "error: unknown dataset 'horse2zebras'; available datasets are" in done.stderr
    if not args:
        assert done.stderr.startswith("usage: bash ")
    if args == ["cityscapes"]:
        assert "cityscapes-dataset.com" in done.stderr


@needs_bash
@pytest.mark.parametrize(
    "script, names, url",
    [
        (
            "download_pix2pix_dataset.sh",
            PIX2PIX_NAMES,
            "https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{}.tar.gz",
        ),
        (
            "download_cyclegan_dataset.sh",
            CYCLEGAN_NAMES,
            "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{}.zip",
        ),
    ],
)
def test_download_accepts_the_public_names(tmp_path, script, names, url):
    env = {**os.environ, "DRY_RUN": "1"}
    for name in names:
        done = tool(script, name, cwd=tmp_path, env=env)
        assert done.returncode == 0, (name, done.stderr)
        assert done.stdout.strip() == f"Specified [{name}]: {url.format(name)} -> ./datasets/{name}/"
    assert os.listdir(tmp_path) == []
