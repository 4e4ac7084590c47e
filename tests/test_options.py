"""Options: reference flags and defaults, per-model hooks, suffix, listing, test overrides, bad input."""

import pytest

from options import (
    TEST_OVERRIDES,
    options_text,
    parse_options,
    parse_test_options,
    parse_train_options,
    save_options,
)
from util.errors import UserError

BASE = ["--dataroot", "d"]

REFERENCE_TRAIN_DEFAULTS = dict(
    name="experiment_name", checkpoints_dir="./checkpoints", model="cycle_gan", input_nc=3, output_nc=3, ngf=64,
    ndf=64, netD="basic", netG="resnet_9blocks", n_layers_D=3, norm="instance", init_type="normal", init_gain=0.02,
    no_dropout=True, dataset_mode="unaligned", direction="AtoB", serial_batches=False, num_threads=4, batch_size=1,
    load_size=286, crop_size=256, max_dataset_size=float("inf"), preprocess="resize_and_crop", no_flip=False,
    display_winsize=256, epoch="latest", load_iter=0, verbose=False, suffix="", use_wandb=False,
    wandb_project_name="CycleGAN-and-pix2pix", gpu_ids="0", display_id=1, display_server="http://localhost",
    display_port=8097, display_env="main", display_ncols=4, display_freq=400, update_html_freq=1000, print_freq=100,
    no_html=False, save_latest_freq=5000, save_epoch_freq=5, save_by_iter=False, continue_train=False,
    epoch_count=1, phase="train", n_epochs=100, n_epochs_decay=100, beta1=0.5, lr=0.0002, gan_mode="lsgan",
    pool_size=50, lr_policy="linear", lr_decay_iters=50, lambda_A=10.0, lambda_B=10.0, lambda_identity=0.5,
)  # fmt: skip


def test_train_defaults_match_the_reference():
    opt = parse_train_options(BASE)
    for key, value in REFERENCE_TRAIN_DEFAULTS.items():
        assert getattr(opt, key) == value, key
    assert opt.isTrain is True
    # This project's additions are off by default: the default path is the reference's fp32 arithmetic.
    assert (opt.amp, opt.channels_last, opt.compile, opt.accum_steps, opt.grad_checkpoint) == (
        "none",
        False,
        False,
        1,
        False,
    )
    assert opt.lr_G == opt.lr_D == 0.0002


def test_pix2pix_hook_sets_paper_defaults_and_adds_lambda_L1():
    opt = parse_train_options(BASE + ["--model", "pix2pix"])
    assert (opt.norm, opt.netG, opt.dataset_mode, opt.pool_size, opt.gan_mode) == (
        "batch",
        "unet_256",
        "aligned",
        0,
        "vanilla",
    )
    assert opt.lambda_L1 == 100.0
    assert opt.no_dropout is False
    # An explicit flag beats the hook's default.
    assert parse_train_options(BASE + ["--model", "pix2pix", "--norm", "instance"]).norm == "instance"


def test_test_options_defaults_and_forced_values():
    opt = parse_test_options(BASE + ["--batch_size", "8", "--num_threads", "3"])
    assert (opt.model, opt.dataset_mode, opt.load_size, opt.phase, opt.num_test, opt.results_dir) == (
        "test", "single", 256, "test", 50, "./results/")  # fmt: skip
    for key, value in TEST_OVERRIDES.items():
        assert getattr(opt, key) == value
    assert opt.model_suffix == "" and opt.isTrain is False
    assert not hasattr(opt, "lambda_A")  # train-only flags of a model are not added at test time


def test_colorization_and_template_hooks():
    opt = parse_train_options(BASE + ["--model", "colorization"])
    assert (opt.dataset_mode, opt.input_nc, opt.output_nc, opt.netG) == ("colorization", 1, 2, "unet_256")
    assert parse_train_options(BASE + ["--model", "template"]).lambda_regression == 1.0


def test_suffix_is_formatted_with_the_options():
    opt = parse_train_options(
        BASE + ["--name", "exp", "--model", "pix2pix", "--suffix", "{model}_{netG}_size{load_size}"]
    )
    assert opt.name == "exp_pix2pix_unet_256_size286"


def test_ttur_learning_rates():
    opt = parse_train_options(BASE + ["--lr", "1e-3", "--lr_D", "4e-4"])
    assert (opt.lr_G, opt.lr_D) == (1e-3, 4e-4)


def test_listing_marks_changed_values_and_is_written(tmp_path):
    opt, parser = parse_options(
        BASE + ["--checkpoints_dir", str(tmp_path), "--name", "e", "--batch_size", "4"], is_train=True
    )
    text = options_text(opt, parser)
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("batch_size:"))
    assert line.split(":", 1)[1].split() == ["4", "[default:", "1]"]
    ngf_line = next(ln for ln in text.splitlines() if ln.strip().startswith("ngf:"))
    assert "default" not in ngf_line
    path = save_options(opt, parser)
    assert path == str(tmp_path / "e" / "train_opt.txt")
    assert (tmp_path / "e" / "train_opt.txt").read_text() == text


def test_parsing_is_pure(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    parse_train_options(BASE + ["--model", "pix2pix"])
    assert list(tmp_path.iterdir()) == []  # no checkpoints folder, no option file


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--netG", "unet_512"], "--netG"),
        (["--netD", "huge"], "--netD"),
        (["--norm", "group"], "--norm"),
        (["--init_type", "uniform"], "--init_type"),
        (["--lr_policy", "exp"], "--lr_policy"),
        (["--gan_mode", "hinge"], "--gan_mode"),
        (["--model", "stylegan"], "--model"),
        (["--dataset_mode", "video"], "--dataset_mode"),
        (["--gpu_ids", "a,b"], "--gpu_ids"),
        (["--batch_size", "0"], "--batch_size"),
        (["--accum_steps", "0"], "--accum_steps"),
        (["--suffix", "{nope}"], "--suffix"),
        (["--bogus_flag", "1"], "--bogus_flag"),
        (["--netG", "unet_128", "--crop_size", "64"], "--crop_size"),
    ],
)
def test_bad_input_is_one_clear_error(argv, flag):
    with pytest.raises(UserError) as err:
        parse_train_options(BASE + argv)
    message = str(err.value)
    assert flag in message and "\n" not in message


def test_missing_dataroot_is_a_clear_error():
    with pytest.raises(UserError, match="--dataroot"):
        parse_train_options([])
