"""Validation during training, the best checkpoint and the generator average, unit by unit (no subprocess)."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from data.builtin import make_paired_dataset, make_unpaired_dataset
from models import create_model
from models.checkpoint_set import save_set
from models.ema import GeneratorEMA
from options import parse_train_options
from tests.helpers import random_batch
from util.distributed import Runtime
from util.errors import UserError
from util.loss_plot import chart_size
from util.validation import (
    BestCheckpoint,
    MetricsLog,
    TrainingEvaluation,
    Validator,
    best_score,
    default_metric_names,
)
from util.visualizer import Visualizer

TINY = ["--ngf", "4", "--ndf", "4", "--netG", "resnet_6blocks", "--norm", "instance", "--num_threads", "0",
        "--display_id", "0", "--load_size", "32", "--crop_size", "32"]  # fmt: skip


def options(dataroot, *extra, model="pix2pix"):
    argv = ["--dataroot", str(dataroot), "--name", "v", "--model", model, *TINY, *extra]
    return parse_train_options(argv)


@pytest.fixture(scope="module")
def paired(tmp_path_factory):
    root = tmp_path_factory.mktemp("paired") / "facades"
    return make_paired_dataset(str(root), n_train=2, n_val=5, n_test=2, size=32)


# -- EMA ------------------------------------------------------------------------------------------------------
def small_generator() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 3, 1))


def test_ema_equals_the_hand_computed_average_and_copies_buffers():
    decay, net = 0.9, small_generator()
    ema = GeneratorEMA({"G": net, "D": nn.Linear(2, 2)}, decay)
    assert list(ema.networks) == ["G"]  # discriminators are not averaged
    expected = {k: v.double().clone() for k, v in net.state_dict().items()}
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    for step in range(5):
        optimizer.zero_grad()
        net(torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(step))).square().mean().backward()
        optimizer.step()  # parameters move; the forward in train mode moved the BatchNorm statistics too
        ema.update({"G": net})
        for name, p in net.named_parameters():
            expected[name] = decay * expected[name] + (1 - decay) * p.detach().double()
    averaged = ema.networks["G"].state_dict()
    for name, _ in net.named_parameters():
        torch.testing.assert_close(averaged[name].double(), expected[name], rtol=0, atol=1e-6)
    for name, buffer in net.named_buffers():  # running_mean, running_var, num_batches_tracked: copied
        assert torch.equal(averaged[name], buffer), name
    first_weight = net.state_dict()["0.weight"]
    assert not torch.allclose(averaged["0.weight"], first_weight)  # an average, not a copy


def test_ema_files_sit_beside_the_raw_weights(tmp_path):
    net = small_generator()
    ema = GeneratorEMA({"G_A": net, "G_B": small_generator()}, 0.5)
    save_set(str(tmp_path), "latest", ema.state_dicts(), None, {})  # as BaseModel.save_networks does
    names = ["latest_manifest.json", "latest_net_G_A_ema.pth", "latest_net_G_B_ema.pth"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    other = GeneratorEMA({"G_A": nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 3, 1)),
                          "G_B": small_generator()}, 0.5)  # fmt: skip
    assert other.load(str(tmp_path), "latest") and not other.load(str(tmp_path), "7")
    for k, v in net.state_dict().items():
        assert torch.equal(other.networks["G_A"].state_dict()[k], v)


# -- best checkpoint --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "higher, values, taken",
    [
        (True, [20.0, 25.0, 23.0, 24.0], [True, True, False, False]),  # psnr: higher is better
        (False, [0.3, 0.1, 0.2, math.nan], [True, True, False, False]),  # l1: lower is better; NaN never wins
        (True, [math.nan, 1.0, 1.0], [False, True, False]),
    ],
)
def test_best_keeps_the_best_epoch_not_the_last(higher, values, taken):
    best = BestCheckpoint("m", higher)
    assert [best.offer(v, epoch, 10 * epoch) for epoch, v in enumerate(values, start=1)] == taken
    best_epoch = 2
    assert best.record["epoch"] == best_epoch and best.record["num_images_seen"] == 10 * best_epoch
    assert best.record["value"] == values[best_epoch - 1]
    resumed = BestCheckpoint("m", higher, record=best.record)  # the record saved in the training state
    assert not resumed.offer(values[best_epoch - 1], 9, 90)  # a tie does not replace it


def test_best_score_of_a_two_direction_model_is_the_mean_unless_one_direction_is_named():
    metrics = {"l1_A": 0.2, "l1_B": 0.4}
    assert best_score(metrics, "l1") == pytest.approx(0.3) and best_score(metrics, "l1_B") == 0.4


# -- option errors ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "extra, expected",
    [
        (
            ["--val_freq", "1", "--val_metrics", "l1,sharpness"],
            "--val_metrics l1,sharpness: unknown metric sharpness",
        ),
        (["--save_best", "psnr"], "--save_best psnr needs validation scores: add --val_freq N"),
        (
            ["--val_freq", "1", "--val_metrics", "l1", "--save_best", "psnr"],
            "not among --val_metrics l1; add psnr",
        ),
        (["--val_freq", "1", "--save_best", "sharpness"], "--save_best 'sharpness' is not a metric"),
        (["--ema_decay", "1.0"], "--ema_decay must be >= 0 and < 1"),
        (["--val_freq", "-1"], "--val_freq must be >= 0"),
        (["--val_freq", "1", "--num_val", "0"], "--num_val must be >= 1"),
    ],
)
def test_clear_errors_at_parse_time(tmp_path, extra, expected):
    with pytest.raises(UserError) as err:
        options(tmp_path, *extra)
    assert expected in str(err.value)


def test_missing_validation_folder_names_it_and_the_flag(paired, tmp_path):
    opt = options(paired, "--val_freq", "1", "--val_phase", "nope")
    with pytest.raises(UserError) as err:
        Validator(opt, Runtime(torch.device("cpu")), ["l1"])
    assert "nope" in str(err.value) and "--val_phase" in str(err.value)


def test_default_metrics_per_model(paired, tmp_path):
    unpaired = make_unpaired_dataset(str(tmp_path / "shapes"), n_train=2, n_test=2, size=32)
    assert default_metric_names(options(paired)) == ["l1", "psnr"]
    assert default_metric_names(options(unpaired, "--val_phase", "test", model="cycle_gan")) == ["l1", "psnr"]
    assert default_metric_names(options(unpaired, model="cycle_gan")) == [
        "fid",
        "kid",
    ]  # no train*_gt folders


# -- scores ---------------------------------------------------------------------------------------------------
def saved_png(image: torch.Tensor) -> np.ndarray:
    """HxWx3 uint8 as test.py saves an image in [-1, 1] (util.util.tensor2im: truncated, so 128 may become 127)."""
    return ((image.permute(1, 2, 0).numpy() + 1) / 2 * 255).clip(0, 255).astype(np.uint8)


def direct_l1(paired, net, n: int, seed: int) -> float:
    """l1 of `net` (train mode, dropout seeded per image as validation does) on val/*.png, computed by hand:
    fake_B against real_B, both as test.py would save them."""
    errors = []
    for i, path in enumerate(sorted((Path(paired) / "val").iterdir())[:n]):
        ab = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 127.5 - 1
        source, target = (torch.from_numpy(half).permute(2, 0, 1) for half in (ab[:, :32], ab[:, 32:]))
        torch.manual_seed(seed + i)
        with torch.no_grad():
            fake = net(source[None])[0]
        errors.append(np.abs(saved_png(fake).astype(np.float64) - saved_png(target)).mean() / 255)
    return float(np.mean(errors))


def test_validation_l1_equals_a_direct_computation_and_leaves_the_training_state_alone(paired):
    opt = options(paired, "--val_freq", "1", "--num_val", "4", "--seed", "3", "--norm", "batch")
    model = create_model(opt)
    validator = Validator(opt, Runtime(torch.device("cpu")), ["l1", "psnr"])
    before = {k: v.clone() for k, v in model.netG.state_dict().items()}
    torch.manual_seed(123)
    metrics = validator.run(model.networks())
    after_rng = torch.rand(1)
    torch.manual_seed(123)
    assert torch.equal(after_rng, torch.rand(1))  # the global random stream is where it was
    assert set(metrics) == {"l1", "psnr"} and validator.num_images == 4
    reference = copy.deepcopy(model.netG).train()
    assert metrics["l1"] == pytest.approx(direct_l1(paired, reference, 4, seed=3), abs=1e-7)
    for k, v in model.netG.state_dict().items():
        assert torch.equal(v, before[k]), k  # train-mode BatchNorm ran on a copy
    assert model.netG.training


def test_metrics_log_and_gallery_chart(tmp_path, display_opt):
    log = MetricsLog(str(tmp_path))
    log.write(1, 40, {"l1": 0.25, "psnr": 12.5})
    log.write(2, 80, {"l1": 0.125, "psnr": 14.0})
    records = [json.loads(line) for line in (tmp_path / "metrics_log.jsonl").read_text().splitlines()]
    assert records[1] == {"epoch": 2, "num_images_seen": 80, "metrics": {"l1": 0.125, "psnr": 14.0}}
    assert (tmp_path / "metrics_log.txt").read_text().splitlines()[
        0
    ] == "(epoch: 1, images: 40) l1: 0.2500 psnr: 12.5000"
    visualizer = Visualizer(display_opt())
    visualizer.plot_metrics(1, {"l1": 0.25, "psnr": 12.5, "ssim": 0.5})
    visualizer.plot_metrics(2, {"l1": 0.125, "psnr": 14.0, "ssim": 0.625})
    web = tmp_path / "checkpoints" / "demo" / "web"
    with Image.open(web / "images" / "metric_curves.png") as chart:
        assert chart.size == chart_size(3)  # one panel per metric: two rows of two panels
        assert chart_size(3) != chart_size(1)
    assert "metric_curves.png" in (web / "index.html").read_text()


def test_gallery_shows_the_average_without_touching_random_or_batchnorm_state(paired):
    opt = options(paired, "--ema_decay", "0.5", "--norm", "batch")
    model = create_model(opt)
    evaluation = TrainingEvaluation(opt, Runtime(torch.device("cpu")), model, visualizer=None)
    model.set_input(random_batch(opt, seed=1, size=32))
    model.forward()
    visuals = model.get_current_visuals()
    average = model.ema.networks["G"]
    buffers = {k: v.clone() for k, v in average.named_buffers()}
    torch.manual_seed(5)
    shown = evaluation.ema_visuals(visuals)
    next_draw = torch.rand(1)
    torch.manual_seed(5)
    assert torch.equal(torch.rand(1), next_draw)  # the training random stream did not move
    assert list(shown) == ["fake_B_ema"]
    for k, v in average.named_buffers():
        assert torch.equal(v, buffers[k]), k  # train-mode BatchNorm statistics put back
    torch.manual_seed(5)
    with torch.no_grad():
        assert torch.equal(shown["fake_B_ema"], average(visuals["real_A"]))  # same dropout masks
