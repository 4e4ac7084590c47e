"""The default path's shortcuts change no result: pipelines built once, a plain step's loss bookkeeping."""

from __future__ import annotations

import random

import pytest
import torch

import data.aligned_dataset as aligned_module
from data.aligned_dataset import AlignedDataset, geometry_is_fixed
from data.base_dataset import get_params, get_transform
from tests.helpers import run_script
from tests.test_data_datasets import coordinate_image, make_opt, save


@pytest.mark.parametrize(
    "preprocess, load, crop, no_flip, fixed",
    [
        ("resize_and_crop", 32, 32, True, True),  # test.py with --load_size = --crop_size
        ("resize_and_crop", 40, 32, True, False),  # the crop moves
        ("resize_and_crop", 32, 32, False, False),  # the flip is drawn
        ("none", 32, 32, True, True),
        ("scale_width", 32, 32, True, True),
        ("crop", 32, 32, True, False),  # the image size decides where a crop can go
    ],
)
def test_geometry_is_fixed_only_when_every_draw_gives_the_same_pipeline(
    preprocess, load, crop, no_flip, fixed
):
    opt = make_opt("unused", preprocess=preprocess, load_size=load, crop_size=crop, no_flip=no_flip)
    assert geometry_is_fixed(opt) is fixed


@pytest.mark.parametrize("load, no_flip, builds_per_item", [(32, True, 0), (40, False, 2)])
def test_aligned_builds_its_pipelines_once_when_the_geometry_is_fixed(
    tmp_path, monkeypatch, load, no_flip, builds_per_item
):
    for i in range(3):
        save(tmp_path / "train" / f"{i}.png", coordinate_image(80, 40, 60 * i))
    opt = make_opt(tmp_path, preprocess="resize_and_crop", load_size=load, crop_size=32, no_flip=no_flip)
    dataset = AlignedDataset(opt)
    builds = []
    monkeypatch.setattr(
        aligned_module, "get_transform", lambda *a, **k: builds.append(1) or get_transform(*a, **k)
    )
    random.seed(7)
    items = [dataset[i] for i in range(3)]
    assert len(builds) == 3 * builds_per_item
    state_after = random.getstate()

    random.seed(7)  # the same items built the long way: a pipeline per item from its own draw
    for i, item in enumerate(items):
        A, B = dataset.load_pair(dataset.AB_paths[i])
        params = get_params(opt, A.size)
        assert torch.equal(item["A"], get_transform(opt, params)(A))
        assert torch.equal(item["B"], get_transform(opt, params)(B))
    assert random.getstate() == state_after  # the same draws: the random stream is unchanged


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
