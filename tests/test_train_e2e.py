"""train.py and test.py end to end, as a user runs them: real command lines in a subprocess, real files."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from data.builtin import make_paired_dataset, make_unpaired_dataset
from tests.helpers import run_script

pytestmark = pytest.mark.slow  # end to end: real command lines in subprocesses

TINY = [
    "--ngf",
    "8",
    "--ndf",
    "8",
    "--netG",
    "resnet_6blocks",
    "--norm",
    "instance",
    "--num_threads",
    "0",
    "--display_id",
    "0",
]


@pytest.fixture(scope="module")
def paired(tmp_path_factory) -> Path:
    return Path(
        make_paired_dataset(
            str(tmp_path_factory.mktemp("paired") / "facades"), n_train=24, n_val=2, n_test=6, size=32
        )
    )


@pytest.fixture(scope="module")
def unpaired(tmp_path_factory) -> Path:
    return Path(
        make_unpaired_dataset(
            str(tmp_path_factory.mktemp("unpaired") / "shapes"), n_train=12, n_test=4, size=32
        )
    )


def script_args(script, dataroot, ckpt, name, model) -> list[str]:
    return [
        script,
        "--dataroot",
        str(dataroot),
        "--name",
        name,
        "--checkpoints_dir",
        str(ckpt),
        "--model",
        model,
    ]


def train(dataroot, ckpt, name, *extra, model="pix2pix", env=None):
    args = script_args("train.py", dataroot, ckpt, name, model)
    args += [
        "--load_size",
        "32",
        "--crop_size",
        "32",
        "--n_epochs",
        "1",
        "--n_epochs_decay",
        "1",
        "--print_freq",
        "8",
        *TINY,
    ]
    return run_script(args + list(extra), env=env)


def test_cmd(dataroot, ckpt, name, results, *extra, model="pix2pix"):
    args = script_args("test.py", dataroot, ckpt, name, model)
    return run_script(
        args + ["--results_dir", str(results), "--load_size", "32", "--crop_size", "32", *extra]
    )


test_cmd.__test__ = False  # a helper, not a test


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        self.links += [v for k, v in attrs if k in ("src", "href") and v]


def assert_page_images_open(index: Path) -> list[str]:
    parser = _Links()
    parser.feed(index.read_text())
    assert parser.links, f"{index} references no images"
    for link in parser.links:
        with Image.open(index.parent / link) as im:
            im.load()
    return parser.links


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), f"{a.name}: {k} differs"


def test_pix2pix_train_then_test_writes_what_a_user_looks_at(paired, tmp_path):
    ck, results = tmp_path / "ck", tmp_path / "results"
    done = train(paired, ck, "facades", "--display_freq", "8", "--update_html_freq", "8")
    assert done.returncode == 0, done.stderr
    run = ck / "facades"
    assert {
        "latest_net_G.pth",
        "latest_net_D.pth",
        "latest_train_state.pth",
        "train_opt.txt",
        "architecture.json",
    } <= {p.name for p in run.iterdir()}
    assert "The number of training images = 24" in done.stdout
    assert "End of epoch 2 / 2" in done.stdout
    log = (run / "loss_log.txt").read_text().splitlines()
    assert log[0].startswith("================ Training Loss (")
    lines = [ln for ln in log[1:] if ln.startswith("(epoch")]
    assert len(lines) == 6  # 24 images / print_freq 8, two epochs
    assert re.match(
        r"\(epoch: 1, iters: 8, time: \d+\.\d{3}, data: \d+\.\d{3}\) G_GAN: \d+\.\d{3} G_L1: \d+\.\d{3} D_real: \d+\.\d{3} D_fake: \d+\.\d{3}",
        lines[0],
    )
    links = assert_page_images_open(run / "web" / "index.html")
    assert any("epoch002_fake_B.png" in ln for ln in links) and any(
        "epoch001_real_A.png" in ln for ln in links
    )

    done = test_cmd(paired, ck, "facades", results)
    assert done.returncode == 0, done.stderr
    index = results / "facades" / "test_latest" / "index.html"
    assert f"results: {index}" in done.stdout
    assert "Experiment = facades, Phase = test, Epoch = latest" in index.read_text()
    links = assert_page_images_open(index)
    assert len({ln for ln in links if ln.endswith("_fake_B.png")}) == 6  # one row per test image
    assert (ck / "facades" / "test_opt.txt").exists()

    again = test_cmd(paired, ck, "facades", results)
    assert "replacing the earlier results" in again.stdout  # never overwrites silently


def test_short_pix2pix_run_learns_the_builtin_pairs(tmp_path):
    """Test L1 to ground truth after a short run is clearly below that of the untrained generator."""
    data = Path(make_paired_dataset(str(tmp_path / "facades"), n_train=60, n_val=1, n_test=8, size=32))
    ck, results = tmp_path / "ck", tmp_path / "results"
    done = train(data, ck, "learn", "--n_epochs", "4", "--n_epochs_decay", "0", "--serial_batches")
    assert done.returncode == 0, done.stderr
    done = test_cmd(data, ck, "learn", results, "--eval")
    assert done.returncode == 0, done.stderr

    from models.networks import define_G

    torch.manual_seed(0)  # train.py seeds 0 before building the model: this is its starting point
    untrained = define_G(3, 3, 8, "resnet_6blocks", "instance", False)
    images = results / "learn" / "test_latest" / "images"
    trained_l1, untrained_l1 = [], []
    for real_a in sorted(images.glob("*_real_A.png")):
        stem = real_a.name[: -len("_real_A.png")]
        a, fake, real = (
            np.asarray(Image.open(images / f"{stem}_{k}.png"), dtype=np.float32) / 127.5 - 1
            for k in ("real_A", "fake_B", "real_B")
        )
        trained_l1.append(np.abs(fake - real).mean())
        with torch.no_grad():
            out = untrained(torch.from_numpy(a).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
        untrained_l1.append(np.abs(out - real).mean())
    assert len(trained_l1) == 8
    assert np.mean(trained_l1) < 0.6 * np.mean(untrained_l1), (np.mean(trained_l1), np.mean(untrained_l1))


def test_resume_after_an_epoch_is_bit_identical_to_a_straight_run(paired, tmp_path):
    ck = tmp_path / "ck"
    flags = ["--serial_batches"]  # pix2pix defaults kept: BatchNorm... here instance norm and dropout on
    straight = train(paired, ck, "straight", *flags)
    assert straight.returncode == 0, straight.stderr
    first = train(paired, ck, "resumed", *flags, "--n_epochs", "1", "--n_epochs_decay", "0")
    assert first.returncode == 0, first.stderr
    second = train(paired, ck, "resumed", *flags, "--continue_train")  # no --epoch_count by hand
    assert second.returncode == 0, second.stderr
    assert "resuming at epoch 2" in second.stdout
    for net in ("G", "D"):
        assert_same_weights(
            ck / "straight" / f"latest_net_{net}.pth", ck / "resumed" / f"latest_net_{net}.pth"
        )


def test_resume_mid_epoch_from_an_iteration_checkpoint_is_bit_identical(unpaired, tmp_path):
    """CycleGAN with its image pools, resumed from iter_16 (mid epoch 2) of a 2-epoch run."""
    ck = tmp_path / "ck"
    flags = ["--save_by_iter", "--save_latest_freq", "16", "--save_epoch_freq", "100"]
    straight = train(unpaired, ck, "straight", *flags, model="cycle_gan")
    assert straight.returncode == 0, straight.stderr
    resumed = ck / "resumed"
    resumed.mkdir()
    for f in (ck / "straight").glob("iter_16_*"):
        shutil.copy(f, resumed / f.name)
    again = train(unpaired, ck, "resumed", *flags, "--continue_train", "--load_iter", "16", model="cycle_gan")
    assert again.returncode == 0, again.stderr
    assert "resuming at epoch 2, 16 images seen" in again.stdout
    for net in ("G_A", "G_B", "D_A", "D_B"):
        assert_same_weights(ck / "straight" / f"latest_net_{net}.pth", resumed / f"latest_net_{net}.pth")


def test_test_py_takes_the_architecture_from_the_checkpoint(paired, tmp_path):
    ck, results = tmp_path / "ck", tmp_path / "results"
    assert train(paired, ck, "arch", "--n_epochs", "1", "--n_epochs_decay", "0").returncode == 0
    # pix2pix's defaults would be unet_256 + batch norm; the checkpoint says resnet_6blocks + instance, ngf 8.
    done = test_cmd(paired, ck, "arch", results, "--num_test", "2")
    assert done.returncode == 0, done.stderr
    assert (
        "from the checkpoint's architecture.json:" in done.stdout and "--netG resnet_6blocks" in done.stdout
    )
    assert "note: --num_test 2 stopped after 2 of 6 images; pass --num_test 6 for all" in done.stdout
    # A reference-style checkpoint folder (weights only) with the wrong flag: one clear line naming the flag.
    (ck / "arch" / "architecture.json").unlink()
    done = test_cmd(paired, ck, "arch", results, "--ngf", "8", "--norm", "instance")
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "--netG" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing_run", "no checkpoint folder"),
        ("missing_epoch", "latest_net_G.pth"),
        ("test_model_on_paired_root", "--model test reads single images"),
        ("bad_flag", "--netG"),
    ],
)
def test_clear_errors(paired, tmp_path, case, expected):
    ck, results = tmp_path / "ck", tmp_path / "results"
    if case != "missing_run":
        assert train(paired, ck, "run", "--n_epochs", "1", "--n_epochs_decay", "0").returncode == 0
    if case == "missing_run":
        done = test_cmd(paired, ck, "nothing_here", results)
    elif case == "missing_epoch":
        done = test_cmd(paired, ck, "run", results, "--epoch", "7")
    elif case == "test_model_on_paired_root":
        done = test_cmd(
            paired, ck, "run", results, "--model", "test", "--netG", "resnet_6blocks", model="test"
        )
    else:
        done = train(paired, ck, "run", "--netG", "unet_1024")
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr
    assert expected in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_cycle_gan_and_single_direction_test_model(unpaired, tmp_path):
    ck, results = tmp_path / "ck", tmp_path / "results"
    done = train(unpaired, ck, "shapes", model="cycle_gan")
    assert done.returncode == 0, done.stderr
    # The reference's usual way to run one generator of a CycleGAN: --model test --model_suffix _A on testA.
    done = test_cmd(
        unpaired / "testA",
        ck,
        "shapes",
        results,
        "--model",
        "test",
        "--model_suffix",
        "_A",
        "--no_dropout",
        model="test",
    )
    assert done.returncode == 0, done.stderr
    links = assert_page_images_open(results / "shapes" / "test_latest" / "index.html")
    assert len({ln for ln in links if ln.endswith("_fake.png")}) == 4


@pytest.mark.slow
def test_short_run_leaves_a_gallery_and_a_resume_continues_the_loss_chart(paired, tmp_path):
    """--display_freq 1000 is never reached by 24-image epochs: each epoch's last visuals still get a row.
    The resumed run's chart starts from the first run's losses (read back from loss_log.txt)."""
    from util.loss_log import read_loss_log
    from util.loss_plot import LossHistory, draw_loss_curves

    ck = tmp_path / "ck"
    first = train(paired, ck, "short", "--display_freq", "1000", "--n_epochs", "1", "--n_epochs_decay", "0")
    assert first.returncode == 0, first.stderr
    second = train(paired, ck, "short", "--display_freq", "1000", "--continue_train")
    assert second.returncode == 0, second.stderr
    web = ck / "short" / "web"
    html = (web / "index.html").read_text()
    assert re.findall(r"epoch \[(\d+)\]", html) == ["2", "1"]
    links = assert_page_images_open(web / "index.html")
    assert {f"images/epoch{e:03d}_{k}.png" for e in (1, 2) for k in ("real_A", "fake_B", "real_B")} <= set(
        links
    )

    def chart_of(entries) -> np.ndarray:
        history = LossHistory()
        for epoch, iters, losses in entries:
            history.add(epoch + iters / 24, losses)
        return np.asarray(draw_loss_curves(history, title="short: training losses by epoch"))

    entries = read_loss_log(str(ck / "short" / "loss_log.txt"))
    assert [(e, i) for e, i, _ in entries] == [(1, 8), (1, 16), (1, 24), (2, 8), (2, 16), (2, 24)]
    saved = np.asarray(Image.open(web / "images" / "loss_curves.png").convert("RGB"))
    # The log rounds to 3 decimals: a pixel may differ here and there, not the curves.
    assert (saved != chart_of(entries)).any(axis=-1).mean() < 0.01
    assert (saved != chart_of(entries[3:])).any(
        axis=-1
    ).mean() > 0.02  # what a chart without the history shows
