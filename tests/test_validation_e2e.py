"""Validation, --save_best and --ema_decay on the real command lines: train.py, test.py and torchrun (gloo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from data.builtin import make_paired_dataset, make_unpaired_dataset
from tests.helpers import ROOT, run_script

pytestmark = pytest.mark.slow

TINY = ["--ngf", "4", "--ndf", "4", "--netG", "resnet_6blocks", "--norm", "instance", "--num_threads", "0",
        "--display_id", "0", "--load_size", "32", "--crop_size", "32", "--print_freq", "8"]  # fmt: skip
VAL = ["--val_freq", "1", "--val_metrics", "l1,psnr"]


@pytest.fixture(scope="module")
def paired(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("paired") / "facades"
    return Path(make_paired_dataset(str(root), n_train=8, n_val=5, n_test=3, size=32))


def train(dataroot, ck, name, *extra, model="pix2pix"):
    args = [
        "train.py",
        "--dataroot",
        str(dataroot),
        "--name",
        name,
        "--checkpoints_dir",
        str(ck),
        "--model",
        model,
    ]
    done = run_script(args + ["--n_epochs", "2", "--n_epochs_decay", "1", *TINY, *extra])
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def records(expr_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (expr_dir / "metrics_log.jsonl").read_text().splitlines()]


def state(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)


def assert_same_file_weights(a: Path, b: Path) -> None:
    wa, wb = state(a), state(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), f"{a.name}: {k} differs"


def test_best_epoch_and_ema_weights_match_the_log(paired, tmp_path):
    ck = tmp_path / "ck"
    # A high learning rate makes the scores wander, so the best epoch is rarely the last; either way the
    # files must agree with the log.
    flags = [
        "--save_best",
        "l1",
        "--ema_decay",
        "0.5",
        "--save_epoch_freq",
        "1",
        "--lr",
        "0.01",
        "--display_freq",
        "8",
    ]
    train(paired, ck, "run", *VAL, *flags)
    expr = ck / "run"
    log = records(expr)
    assert [r["epoch"] for r in log] == [1, 2, 3] and [r["num_images_seen"] for r in log] == [8, 16, 24]
    best = json.loads((expr / "best.json").read_text())
    l1 = [r["metrics"]["l1"] for r in log]
    assert (
        best["epoch"] == 1 + int(np.argmin(l1)) and best["value"] == min(l1) and not best["higher_is_better"]
    )
    assert_same_file_weights(expr / "best_net_G_ema.pth", expr / f"{best['epoch']}_net_G_ema.pth")
    assert_same_file_weights(expr / "best_net_G.pth", expr / f"{best['epoch']}_net_G.pth")
    assert json.loads((expr / "architecture.json").read_text())["ema"] is True
    # The raw and the averaged generator differ (decay 0.5 over 24 steps), and the raw file keeps its keys.
    raw, ema = state(expr / "latest_net_G.pth"), state(expr / "latest_net_G_ema.pth")
    assert raw.keys() == ema.keys() and any(not torch.equal(raw[k], ema[k]) for k in raw)
    index = (expr / "web" / "index.html").read_text()
    assert "metric_curves.png" in index and "epoch001_fake_B_ema.png" in index  # the average beside the raw G


def fake_pngs(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: np.asarray(Image.open(p)) for p in sorted((folder / "images").glob("*_fake_B.png"))}


def evaluate(results_dir: Path, tmp_path, *extra) -> dict:
    out = tmp_path / "scores.json"
    done = run_script(["evaluate.py", "--results_dir", str(results_dir), "--json", str(out), *extra])
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


def test_test_py_takes_the_average_and_the_best_epoch(paired, tmp_path):
    """Validated on the test images in eval mode, the best psnr is what test.py --epoch best --eval and then
    evaluate.py report for them: validation scores what a user will see."""
    ck, results = tmp_path / "ck", tmp_path / "results"
    train(paired, ck, "run", "--val_freq", "1", "--val_metrics", "l1,psnr,ssim", "--val_phase", "test", "--val_eval",
          "--save_best", "psnr", "--ema_decay", "0.5", "--n_epochs_decay", "0")  # fmt: skip
    base = ["test.py", "--dataroot", str(paired), "--name", "run", "--checkpoints_dir", str(ck), "--model", "pix2pix",
            "--results_dir", str(results), "--load_size", "32", "--crop_size", "32", "--eval"]  # fmt: skip
    done = run_script(base + ["--epoch", "best"])
    assert done.returncode == 0, done.stderr
    assert "loading it (*_ema.pth); --no_ema for the raw weights" in done.stdout
    average = fake_pngs(results / "run" / "test_best")
    done = run_script(base + ["--epoch", "best", "--no_ema", "--results_dir", str(tmp_path / "raw")])
    assert done.returncode == 0, done.stderr
    raw = fake_pngs(tmp_path / "raw" / "run" / "test_best")
    assert average.keys() == raw.keys() and len(raw) == 3
    best = json.loads((ck / "run" / "best.json").read_text())
    scores = evaluate(results / "run" / "test_best", tmp_path, "--metrics", "l1,psnr,ssim")
    assert scores["fake_B"]["psnr"] == pytest.approx(best["value"], rel=1e-12)
    logged = next(r for r in records(ck / "run") if r["epoch"] == best["epoch"])["metrics"]
    for name in ("l1", "ssim"):
        assert scores["fake_B"][name] == pytest.approx(logged[name], rel=1e-12, abs=1e-12), name
    assert any(not np.array_equal(average[k], raw[k]) for k in raw)
    # Without the average's file: one line naming it.
    (ck / "run" / "latest_net_G_ema.pth").unlink()
    done = run_script(base)
    assert done.returncode == 2 and "latest_net_G_ema.pth" in done.stderr and "Traceback" not in done.stderr


def test_resume_with_ema_and_best_is_bit_identical(paired, tmp_path):
    ck = tmp_path / "ck"
    flags = [
        *VAL,
        "--save_best",
        "l1",
        "--ema_decay",
        "0.8",
        "--lr",
        "0.01",
    ]  # dropout on: validation reseeds
    train(paired, ck, "straight", *flags)
    train(paired, ck, "resumed", *flags, "--n_epochs_decay", "0")
    train(paired, ck, "resumed", *flags, "--continue_train")
    straight, resumed = ck / "straight", ck / "resumed"
    for name in ("latest_net_G.pth", "latest_net_D.pth", "latest_net_G_ema.pth", "best_net_G_ema.pth"):
        assert_same_file_weights(straight / name, resumed / name)
    assert records(straight) == records(resumed)
    assert (straight / "best.json").read_text() == (resumed / "best.json").read_text()


def test_cycle_gan_scores_each_direction_against_the_true_translations(tmp_path):
    data = make_unpaired_dataset(str(tmp_path / "shapes"), n_train=4, n_test=3, size=32)
    done = train(data, tmp_path / "ck", "cyc", "--val_freq", "2", "--val_phase", "test", "--save_best", "psnr_B",
                 "--val_metrics", "l1,psnr,ssim", model="cycle_gan")  # fmt: skip
    assert "validation: l1,psnr,ssim on 3 image(s) of test every 2 epoch(s)" in done.stdout
    log = records(tmp_path / "ck" / "cyc")
    assert [r["epoch"] for r in log] == [2, 3]  # every 2 epochs, and after the last
    assert set(log[0]["metrics"]) == {f"{m}_{side}" for m in ("l1", "psnr", "ssim") for side in "AB"}
    best = json.loads((tmp_path / "ck" / "cyc" / "best.json").read_text())
    assert best["metric"] == "psnr_B" and best["value"] == max(r["metrics"]["psnr_B"] for r in log)
    # G_A's scores are what test.py + evaluate.py --gt_dir give on the same images with the final weights.
    results = tmp_path / "results"
    done = run_script(["test.py", "--dataroot", str(Path(data) / "testA"), "--name", "cyc", "--checkpoints_dir",
                       str(tmp_path / "ck"), "--results_dir", str(results), "--model", "test", "--model_suffix", "_A",
                       "--load_size", "32", "--crop_size", "32"])  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    scores = evaluate(results / "cyc" / "test_latest", tmp_path, "--gt_dir", f"fake={data}/testB_gt",
                      "--metrics", "l1,psnr,ssim")["fake vs testB_gt"]  # fmt: skip
    for name in ("l1", "psnr", "ssim"):
        assert scores[name] == pytest.approx(log[-1]["metrics"][f"{name}_A"], rel=1e-12), name


def test_missing_validation_folder_is_one_line(paired, tmp_path):
    args = ["train.py", "--dataroot", str(paired), "--name", "x", "--checkpoints_dir", str(tmp_path), "--model",
            "pix2pix", *TINY, "--val_freq", "1", "--val_metrics", "l1", "--val_phase", "holdout"]  # fmt: skip
    done = run_script(args)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"error: --val_freq 1 validates on {paired / 'holdout'}, which does not exist; add it, or pick another "
        "folder with --val_phase (e.g. --val_phase test)"
    )


def torchrun(nproc: int, args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_ddp_validation_equals_one_process(paired, tmp_path):
    """--lr 0 keeps the weights at their (seeded) start, so 1 and 2 processes validate the same generator;
    5 images split 3 + 2 between the ranks. Dropout is on: each image is seeded, whatever rank runs it."""
    common = ["--dataroot", str(paired), "--checkpoints_dir", str(tmp_path), "--model", "pix2pix", *TINY,
              "--gpu_ids", "-1", "--lr", "0", "--n_epochs", "1", "--n_epochs_decay", "0",
              "--val_freq", "1", "--val_metrics", "l1,psnr", "--ema_decay", "0.5"]  # fmt: skip
    one = run_script(["train.py", "--name", "one", *common])
    assert one.returncode == 0, one.stderr[-3000:]
    two = torchrun(2, ["train.py", "--name", "two", *common])
    assert two.returncode == 0, two.stdout[-2000:] + two.stderr[-3000:]
    assert records(tmp_path / "one") == records(tmp_path / "two")
    assert len(records(tmp_path / "two")) == 1  # rank 0 alone writes the log
