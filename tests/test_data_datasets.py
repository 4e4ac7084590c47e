"""Dataset modes and preprocessing, checked on pixel values: data/*_dataset.py and data/base_dataset.py."""

from __future__ import annotations

import argparse
import dataclasses
import random

import numpy as np
import pytest
import torch
from PIL import Image

import data.base_dataset as base_dataset
from data import DATASETS, create_dataset, get_option_setter
from data.aligned_dataset import AlignedDataset
from data.base_dataset import Preprocess, Transform, get_params, get_transform
from data.colorization_dataset import ColorizationDataset
from data.single_dataset import SingleDataset
from data.unaligned_dataset import UnalignedDataset
from util.errors import UserError

DATA_DEFAULTS = dict(
    phase="train", dataset_mode="aligned", max_dataset_size=float("inf"), direction="AtoB", input_nc=3,
    output_nc=3, preprocess="none", load_size=32, crop_size=32, no_flip=True, serial_batches=True,
    batch_size=1, num_threads=0, isTrain=True, seed=0,
)  # fmt: skip


def make_opt(dataroot, **overrides) -> argparse.Namespace:
    return argparse.Namespace(**{**DATA_DEFAULTS, "dataroot": str(dataroot), **overrides})


def save(path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def to_uint8(t: torch.Tensor) -> np.ndarray:
    """A [-1, 1] CxHxW tensor back to HxWxC uint8 values (exact for values that came from uint8)."""
    return ((t + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()


def coordinate_image(w: int, h: int, blue: int) -> np.ndarray:
    """Each pixel says where it is: red = 6·x, green = 6·y (so a crop and a flip can be read back)."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx * 6, yy * 6, np.full_like(xx, blue)], -1).astype(np.uint8)


@pytest.fixture
def pair_root(tmp_path):
    """An aligned dataset with one 80×40 A|B file: A = coordinates (blue 0), B = same coordinates (blue 255)."""
    save(
        tmp_path / "train" / "0.png",
        np.concatenate([coordinate_image(40, 40, 0), coordinate_image(40, 40, 255)], 1),
    )
    return tmp_path


# ---------------------------------------------------------------- aligned


def test_aligned_splits_at_half_width(pair_root):
    item = AlignedDataset(make_opt(pair_root, preprocess="none", load_size=40, crop_size=40))[0]
    assert set(item) == {"A", "B", "A_paths", "B_paths"}
    assert item["A_paths"] == item["B_paths"] == str(pair_root / "train" / "0.png")
    np.testing.assert_array_equal(to_uint8(item["A"]), coordinate_image(40, 40, 0))
    np.testing.assert_array_equal(to_uint8(item["B"]), coordinate_image(40, 40, 255))


def test_aligned_crop_and_flip_are_shared_pixel_for_pixel(pair_root):
    dataset = AlignedDataset(make_opt(pair_root, preprocess="crop", crop_size=24, no_flip=False))
    random.seed(0)
    torch.manual_seed(0)
    seen = set()
    for _ in range(40):
        item = dataset[0]
        A, B = to_uint8(item["A"]), to_uint8(item["B"])
        flipped = A[0, 0, 0] > A[0, -1, 0]
        x0, y0 = int(min(A[0, 0, 0], A[0, -1, 0])) // 6, int(A[0, 0, 1]) // 6
        expected = coordinate_image(40, 40, 0)[y0 : y0 + 24, x0 : x0 + 24]
        np.testing.assert_array_equal(A, expected[:, ::-1] if flipped else expected)
        np.testing.assert_array_equal(B[..., :2], A[..., :2])  # same window, same flip
        assert (B[..., 2] == 255).all()
        seen.add((x0, y0, bool(flipped)))
    assert len(seen) > 20 and {f for *_, f in seen} == {True, False}  # both are really random


def test_aligned_btoa_swaps_which_side_is_grayscale(pair_root):
    for direction, (a_nc, b_nc) in {"AtoB": (1, 3), "BtoA": (3, 1)}.items():
        item = AlignedDataset(
            make_opt(pair_root, input_nc=1, output_nc=3, direction=direction, load_size=40)
        )[0]
        assert (item["A"].shape[0], item["B"].shape[0]) == (a_nc, b_nc)
    gray = AlignedDataset(make_opt(pair_root, input_nc=1, load_size=40))[0]["A"]
    rgb = coordinate_image(40, 40, 0).astype(np.int64)
    luma = (rgb[..., 0] * 299 + rgb[..., 1] * 587 + rgb[..., 2] * 114) / 1000  # ITU-R 601-2, as Pillow's "L"
    np.testing.assert_allclose(to_uint8(gray)[..., 0], luma, atol=1)


@pytest.mark.parametrize(
    "preprocess, load, crop, size, expected",
    [
        ("resize_and_crop", 48, 32, (40, 20), (32, 32)),
        ("crop", 48, 16, (40, 20), (16, 16)),
        ("scale_width", 32, 16, (40, 20), (32, 16)),
        ("scale_width", 32, 24, (40, 20), (32, 24)),  # height never below crop_size
        ("scale_width_and_crop", 32, 16, (40, 20), (16, 16)),
        (
            "none",
            32,
            32,
            (34, 26),
            (32, 24),
        ),  # round(8.5)·4 = 32, round(6.5)·4 = 24 (Python rounds halves to even)
        ("none", 32, 32, (36, 30), (36, 32)),
    ],
)
def test_preprocess_output_sizes(preprocess, load, crop, size, expected):
    opt = argparse.Namespace(preprocess=preprocess, load_size=load, crop_size=crop, no_flip=False)
    image = Image.fromarray(np.zeros((size[1], size[0], 3), np.uint8))
    assert tuple(get_transform(opt)(image).shape) == (3, expected[1], expected[0])
    assert tuple(get_transform(opt, get_params(opt, size))(image).shape) == (3, expected[1], expected[0])


def test_preprocess_is_read_from_the_options_once_and_either_form_gives_the_same_pipeline():
    opt = argparse.Namespace(
        preprocess="resize_and_crop", load_size=40, crop_size=32, no_flip=False, netG="unet_128"
    )
    prep = Preprocess.from_options(opt)
    assert prep == Preprocess("resize_and_crop", load_size=40, crop_size=32, no_flip=False, size_multiple=128)
    with pytest.raises(dataclasses.FrozenInstanceError):
        prep.load_size = 64
    image = Image.fromarray(coordinate_image(48, 40, 0))
    random.seed(3)
    from_opt = get_params(opt, image.size)
    random.seed(3)
    assert get_params(prep, image.size) == from_opt  # the same draws from either form
    assert torch.equal(get_transform(opt, from_opt)(image), get_transform(prep, from_opt)(image))
    assert torch.equal(get_transform(prep, from_opt)(image), Transform(prep)(image, from_opt))


def test_none_prints_its_size_note_once(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(base_dataset, "_size_note_printed", False)
    save(tmp_path / "a.png", np.zeros((26, 34, 3), np.uint8))
    dataset = SingleDataset(make_opt(tmp_path, preprocess="none"))
    dataset[0], dataset[0]
    out = capsys.readouterr().out
    assert out.count("multiple of 4") == 1 and "(34, 26), so it was adjusted to (32, 24)" in out


def test_normalisation_maps_0_and_255_to_minus_one_and_one(tmp_path):
    save(tmp_path / "a.png", np.array([[[0, 255, 128]] * 4] * 4, np.uint8))
    A = SingleDataset(make_opt(tmp_path, load_size=4, crop_size=4))[0]["A"]
    assert A.dtype == torch.float32 and A.shape == (3, 4, 4)
    torch.testing.assert_close(A[:, 0, 0], torch.tensor([-1.0, 1.0, 128 / 127.5 - 1]))


def test_unshared_flip_is_random_and_only_a_flip(tmp_path):
    save(tmp_path / "a.png", coordinate_image(8, 8, 0))
    dataset = SingleDataset(make_opt(tmp_path, preprocess="none", no_flip=False, load_size=8, crop_size=8))
    torch.manual_seed(0)
    flips = [to_uint8(dataset[0]["A"]) for _ in range(20)]
    original = coordinate_image(8, 8, 0)
    assert all((f == original).all() or (f == original[:, ::-1]).all() for f in flips)
    assert 0 < sum((f == original).all() for f in flips) < 20


# ---------------------------------------------------------------- unaligned, single, colorization, template


@pytest.fixture
def unaligned_root(tmp_path):
    for side, count in (("A", 3), ("B", 5)):
        for i in range(count):
            save(tmp_path / f"train{side}" / f"{side}{i}.png", np.full((8, 8, 3), 10 * i, np.uint8))
    return tmp_path


def test_unaligned_serial_pairs_i_mod_sizes(unaligned_root):
    dataset = UnalignedDataset(make_opt(unaligned_root, load_size=8, crop_size=8))
    assert len(dataset) == 5
    names = [(item["A_paths"][-6:], item["B_paths"][-6:]) for item in (dataset[i] for i in range(7))]
    assert names == [(f"A{i % 3}.png", f"B{i % 5}.png") for i in range(7)]
    np.testing.assert_array_equal(to_uint8(dataset[4]["A"])[0, 0], [10, 10, 10])  # A1: value 10


def test_unaligned_random_b_covers_domain_b(unaligned_root):
    dataset = UnalignedDataset(make_opt(unaligned_root, serial_batches=False, load_size=8, crop_size=8))
    random.seed(0)
    items = [dataset[1] for _ in range(30)]
    assert {item["A_paths"][-6:] for item in items} == {"A1.png"}
    assert {item["B_paths"][-6:] for item in items} == {f"B{i}.png" for i in range(5)}


def test_single_reads_dataroot_recursively(tmp_path):
    for rel in ("x/1.png", "y/z/2.jpg", "3.png"):
        save(tmp_path / rel, np.zeros((8, 8, 3), np.uint8))
    dataset = SingleDataset(make_opt(tmp_path, load_size=8, crop_size=8))
    assert len(dataset) == 3
    assert set(dataset[0]) == {"A", "A_paths"} and dataset[0]["A_paths"] == str(tmp_path / "3.png")


def test_colorization_gives_l_and_ab_on_the_networks_scale(tmp_path):
    save(tmp_path / "train" / "w.png", np.full((8, 8, 3), 255, np.uint8))
    save(tmp_path / "train" / "r.png", np.tile(np.array([255, 0, 0], np.uint8), (8, 8, 1)))
    dataset = ColorizationDataset(make_opt(tmp_path, input_nc=1, output_nc=2, load_size=8, crop_size=8))
    red, white = dataset[0], dataset[1]
    assert red["A"].shape == (1, 8, 8) and red["B"].shape == (2, 8, 8)
    torch.testing.assert_close(white["A"], torch.ones(1, 8, 8), atol=1e-4, rtol=0)
    torch.testing.assert_close(white["B"], torch.zeros(2, 8, 8), atol=1e-4, rtol=0)
    torch.testing.assert_close(red["A"][:, 0, 0], torch.tensor([53.241 / 50 - 1]), atol=1e-3, rtol=0)
    torch.testing.assert_close(red["B"][:, 0, 0], torch.tensor([80.092, 67.203]) / 110, atol=1e-3, rtol=0)


def hook_defaults(mode: str) -> dict:
    parser = argparse.ArgumentParser()
    for flag, default in (
        ("--input_nc", 3),
        ("--output_nc", 3),
        ("--direction", "AtoB"),
        ("--max_dataset_size", float("inf")),
    ):
        parser.add_argument(flag, default=default)
    return vars(get_option_setter(mode)(parser, True).parse_args([]))


def test_option_hooks_set_the_reference_defaults():
    assert hook_defaults("colorization") == dict(
        input_nc=1, output_nc=2, direction="AtoB", max_dataset_size=float("inf")
    )
    assert (
        hook_defaults("template")["max_dataset_size"] == 10
        and hook_defaults("template")["new_dataset_option"] == 2.0
    )
    assert hook_defaults("aligned")["input_nc"] == 3


def test_unknown_dataset_mode_names_the_flag_and_choices():
    with pytest.raises(UserError) as err:
        get_option_setter("paired")
    assert str(err.value) == (
        "--dataset_mode paired is unknown; choose one of: aligned, colorization, single, template, unaligned"
    )


# ---------------------------------------------------------------- every registered mode

EXPECTED = {
    "aligned": {"A": 3, "B": 3},
    "unaligned": {"A": 3, "B": 3},
    "single": {"A": 3},
    "colorization": {"A": 1, "B": 2},
    "template": {"A": 3, "B": 3},
}


@pytest.mark.parametrize("mode", sorted(DATASETS))
def test_every_mode_yields_its_documented_batch(tmp_path, mode):
    assert mode in EXPECTED, f"add the new dataset mode {mode!r} to EXPECTED"
    for folder, width in (("train", 32), ("trainA", 16), ("trainB", 16)):
        for i in range(2):
            save(tmp_path / folder / f"{i}.png", np.full((16, width, 3), 60 * i, np.uint8))
    nc = dict(input_nc=1, output_nc=2) if mode == "colorization" else {}
    opt = make_opt(
        tmp_path, dataset_mode=mode, preprocess="resize_and_crop", load_size=16, crop_size=16, batch_size=2
    )
    loader = create_dataset(argparse.Namespace(**{**vars(opt), **nc}))
    batch = next(iter(loader))
    for key, channels in EXPECTED[mode].items():
        assert batch[key].shape == (2, channels, 16, 16)
        assert len(batch[f"{key}_paths"]) == 2


def test_pil_resampling_constants_are_accepted_like_the_reference():
    opt = argparse.Namespace(preprocess="resize_and_crop", load_size=4, crop_size=4, no_flip=True)
    checker = Image.fromarray(np.array([[0, 255], [255, 0]], np.uint8)).convert("RGB")
    nearest = to_uint8(get_transform(opt, method=Image.NEAREST)(checker))
    bicubic = to_uint8(get_transform(opt)(checker))
    assert set(np.unique(nearest)) == {0, 255} and nearest[0, 0, 0] == 0 and nearest[0, 3, 0] == 255
    assert len(np.unique(bicubic)) > 2
