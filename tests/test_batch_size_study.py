"""scripts/batch_size_study.py on a tiny run: the CSV's SFO column, resuming, the PNG, and the clear errors."""

from __future__ import annotations

import csv
import json
import os

import pytest
from PIL import Image

from data.builtin import make_paired_dataset, make_unpaired_dataset
from scripts.batch_size_study import fit_steps_model, main, parse_target
from scripts.study_plot import NOTE_WIDTH, PANEL
from util.errors import UserError

TRAIN = ["--model", "pix2pix", "--norm", "instance", "--ngf", "4", "--ndf", "4", "--netG", "resnet_6blocks",
         "--load_size", "32", "--crop_size", "32", "--gpu_ids", "-1", "--num_threads", "0"]  # fmt: skip


@pytest.fixture(scope="module")
def paired_root(tmp_path_factory):
    return make_paired_dataset(str(tmp_path_factory.mktemp("facades")), n_train=8, n_val=4, n_test=0, size=32)


def study_argv(out, root, *extra) -> list[str]:
    # l1 <= 0.9 holds from the first validation: every cell stops at the first --eval_every step (2)
    own = ["--out", str(out), "--batch_sizes", "1", "2", "4", "--seeds", "0", "--target", "l1:0.9"]
    return [
        *own,
        "--max_steps",
        "4",
        "--eval_every",
        "2",
        "--metrics",
        "psnr",
        *extra,
        "--",
        "--dataroot",
        root,
        *TRAIN,
    ]


@pytest.mark.slow
def test_tiny_study_writes_csv_json_png_and_skips_finished_cells(tmp_path, paired_root, capsys):
    out = tmp_path / "study"
    assert (
        main(study_argv(out, paired_root, "--lr_scaling", "linear", "--ttur", "--max_micro_batch", "2")) == 0
    )
    with open(out / "study.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["batch_size"]) for r in rows] == [1, 2, 4]
    # batch 4 over --max_micro_batch 2: two accumulated micro-batches of 2 per step
    assert [(int(r["micro_batch"]), int(r["accum_steps"])) for r in rows] == [(1, 1), (2, 1), (2, 2)]
    for r in rows:
        assert r["reached"] == "True" and int(r["steps_to_target"]) == 2
        assert int(r["images_to_target"]) == int(r["batch_size"]) * int(
            r["steps_to_target"]
        )  # SFO = B x steps
        # --ttur with --lr_scaling linear from --base_batch 1: lr_D = 3e-4 x B, lr_G = 1e-4 x B
        assert float(r["lr_D"]) == pytest.approx(3e-4 * int(r["batch_size"]))
        assert float(r["lr_G"]) == pytest.approx(1e-4 * int(r["batch_size"]))
        assert 0 < float(r["final_l1"]) <= 0.9 and float(r["final_psnr"]) > 0
    # batch 1 cannot be split: no noise-scale estimate there; the even batches have one for G
    assert rows[0]["noise_scale_G"] == "nan" and float(rows[2]["noise_scale_G"]) != 0
    summary = json.loads((out / "study.json").read_text())["summary"]
    assert summary["critical_batch_sfo"] == 1  # equal steps: the smallest batch costs the fewest images

    image = Image.open(out / "study.png")
    assert image.size == (2 * PANEL[0] + NOTE_WIDTH, PANEL[1])
    colors = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colors is not None and len(colors) > 5  # text, axes, markers: not a blank canvas
    assert (214, 39, 40) in {c for _, c in colors}  # the critical batch is marked in red

    cell = out / "cells" / "bs2_seed0.json"
    stamp = os.stat(cell).st_mtime_ns
    capsys.readouterr()
    assert (
        main(study_argv(out, paired_root, "--lr_scaling", "linear", "--ttur", "--max_micro_batch", "2")) == 0
    )
    printed = capsys.readouterr().out
    assert printed.count("done before, skipped") == 3 and os.stat(cell).st_mtime_ns == stamp
    # other settings in the same folder would mix cells: refused
    assert main(study_argv(out, paired_root, "--lr_scaling", "sqrt", "--ttur", "--max_micro_batch", "2")) == 2
    assert "holds a study with other settings (lr_scaling)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("l1", "is not METRIC:VALUE"),
        ("l1:abc", "is not METRIC:VALUE"),
        ("sharpness:3", "unknown metric sharpness"),
    ],
)
def test_bad_target_is_one_clear_line(target, message):
    with pytest.raises(UserError, match=message):
        parse_target(target)


def test_bad_target_exits_2_from_the_command_line(tmp_path, capsys):
    argv = ["--out", str(tmp_path / "s"), "--target", "fid=80", "--", "--dataroot", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --target 'fid=80' is not METRIC:VALUE") and err.count("\n") == 1


def test_paired_target_on_unpaired_data_is_refused(tmp_path, capsys):
    """l1 compares G(A) with its own B: validation cannot compute it on an unaligned dataset."""
    root = make_unpaired_dataset(str(tmp_path / "shapes"), n_train=2, n_test=2, size=32)
    argv = ["--out", str(tmp_path / "s"), "--batch_sizes", "1", "--target", "l1:0.1", "--", "--dataroot", root,
            *TRAIN, "--model", "cycle_gan", "--dataset_mode", "unaligned"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error: --target/--metrics l1 compare G(A) with its paired B" in err and "use fid or kid" in err
    # nothing written: a corrected re-run in the same --out is not refused
    assert not (tmp_path / "s").exists()


def test_fit_recovers_the_critical_batch_of_the_steps_model():
    """S = S_min (1 + B_crit / B) with S_min 10, B_crit 8: the fit gives both back."""
    rows = [{"batch_size": b, "median_steps": 10 * (1 + 8 / b)} for b in (1, 2, 4, 8, 16)]
    fit = fit_steps_model(rows)
    assert fit["S_min"] == pytest.approx(10) and fit["B_crit"] == pytest.approx(8)
    assert fit_steps_model(rows[:1]) is None


def test_batch_norm_cells_train_without_a_noise_scale(tmp_path, paired_root):
    argv = study_argv(tmp_path / "s", paired_root)
    argv[argv.index("1") : argv.index("1") + 3] = ["2"]  # --batch_sizes 2
    assert main([*argv, "--norm", "batch"]) == 0
    cell = json.loads((tmp_path / "s" / "cells" / "bs2_seed0.json").read_text())
    assert cell["reached"] and cell["noise_scale_G"] != cell["noise_scale_G"]  # NaN: not measured


def test_a_batch_larger_than_the_training_set_is_refused(tmp_path, paired_root, capsys):
    argv = study_argv(tmp_path / "s", paired_root)
    argv[argv.index("1") : argv.index("1") + 3] = ["16"]  # 8 training images
    assert main(argv) == 2
    assert (
        "error: --batch_sizes 16: the training set has 8 images, fewer than one batch"
        in capsys.readouterr().err
    )
