"""The default path's shortcuts change no result: pipelines built once, a plain step's loss bookkeeping."""

from __future__ import annotations

import random

import pytest
import torch
from PIL import Image

import data.base_dataset as base_dataset
from data import DATASETS
from data.aligned_dataset import split_pair
from data.base_dataset import ToNormalizedTensor, get_transform
from data.image_folder import load_image
from tests.helpers import run_script
from tests.test_data_datasets import coordinate_image, make_opt, save

# Crop and flip both drawn per item, so a pipeline built for one item would be wrong for the next.
RANDOM_GEOMETRY = dict(preprocess="resize_and_crop", load_size=40, crop_size=32, no_flip=False)


def resize_crop_flip(image: Image.Image, x: int, y: int, flip: bool) -> torch.Tensor:
    """RANDOM_GEOMETRY's steps done straight with PIL: bicubic to 40x40, the 32 px crop at (x, y), the flip."""
    image = image.resize((40, 40), Image.Resampling.BICUBIC).crop((x, y, x + 32, y + 32))
    if flip:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return ToNormalizedTensor()(image)


def expected_items(mode: str, dataset, opt) -> list[dict]:
    """The items computed the long way, with the reference's random draws in its order: Python's random for
    an aligned pair's shared crop and flip (done straight with PIL) and for unaligned's B index; torch's
    generator for the crops and flips drawn inside a pipeline built per image from the options."""
    items = []
    for i in range(len(dataset)):
        if mode in ("aligned", "template"):
            path = (dataset.AB_paths if mode == "aligned" else dataset.paths)[i]
            A, B = split_pair(load_image(path, "RGB"))
            # The reference's get_params: x, then y, then the flip (A is resized to 40x40, the crop is 32).
            x, y = random.randint(0, 40 - 32), random.randint(0, 40 - 32)
            flip = random.random() > 0.5
            items.append({"A": resize_crop_flip(A, x, y, flip), "B": resize_crop_flip(B, x, y, flip)})
        elif mode == "unaligned":
            A_path = dataset.A_paths[i % len(dataset.A_paths)]
            B_path = dataset.B_paths[random.randint(0, len(dataset.B_paths) - 1)]
            A = get_transform(opt)(load_image(A_path, "RGB"))
            items.append({"A": A, "B": get_transform(opt)(load_image(B_path, "RGB"))})
        else:  # single
            items.append({"A": get_transform(opt)(load_image(dataset.A_paths[i], "RGB"))})
    return items


@pytest.mark.parametrize("mode", ["aligned", "template", "unaligned", "single"])
def test_each_dataset_builds_its_pipelines_once_and_gives_the_reference_items(tmp_path, monkeypatch, mode):
    for i in range(3):
        pair = coordinate_image(80, 40, 60 * i)
        save(tmp_path / "train" / f"{i}.png", pair)
        save(tmp_path / "trainA" / f"{i}.png", pair[:, :40])
        save(tmp_path / "trainB" / f"{i}.png", pair[:, 40:])
    root = tmp_path / "trainA" if mode == "single" else tmp_path
    opt = make_opt(root, dataset_mode=mode, serial_batches=False, new_dataset_option=1.0, **RANDOM_GEOMETRY)
    builds = []
    build = base_dataset.Transform.__init__
    monkeypatch.setattr(
        base_dataset.Transform, "__init__", lambda *a, **k: builds.append(1) or build(*a, **k)
    )
    dataset = DATASETS.get(mode)(opt)
    assert not hasattr(dataset, "opt")  # options stop at the constructor: items use the typed fields
    built_by_constructor = len(builds)
    random.seed(7)
    torch.manual_seed(7)
    items = [dataset[i] for _ in range(2) for i in range(len(dataset))]  # two epochs
    assert 1 <= built_by_constructor <= 2 and len(builds) == built_by_constructor  # none per item
    states_after = random.getstate(), torch.get_rng_state()

    random.seed(7)
    torch.manual_seed(7)
    expected = expected_items(mode, dataset, opt) + expected_items(mode, dataset, opt)
    for item, want in zip(items, expected, strict=True):
        for key, tensor in want.items():
            assert torch.equal(item[key], tensor), key
    assert random.getstate() == states_after[0]  # the same draws: the random streams are unchanged
    assert torch.equal(torch.get_rng_state(), states_after[1])


HELP_PROBE = """
import contextlib, io, runpy, sys
for script in ("train.py", "test.py"):
    sys.argv = [script, "--help"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        runpy.run_path(script, run_name="__main__")
    print(script, out.getvalue().splitlines()[0].split()[:2], "torch" in sys.modules)
"""


def test_help_is_answered_without_importing_torch():
    """`python train.py --help` / `test.py --help` print argparse's help before anything imports torch."""
    done = run_script(["-c", HELP_PROBE])
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "train.py ['usage:', 'train.py'] False",
        "test.py ['usage:', 'test.py'] False",
    ]
