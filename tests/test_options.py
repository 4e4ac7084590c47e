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


# -- numeric ranges: one table (options/checks.py), one line per bad value -------------------------------
# flag -> (extra argv that makes the flag exist, bad value, the message). Test flags are parsed by test.py.
BAD_NUMBERS = {
    "input_nc": ([], "0", "--input_nc must be >= 1 (got 0)"),
    "output_nc": ([], "0", "--output_nc must be >= 1 (got 0)"),
    "ngf": ([], "0", "--ngf must be >= 1 (got 0)"),
    "ndf": ([], "-4", "--ndf must be >= 1 (got -4)"),
    "n_layers_D": ([], "0", "--n_layers_D must be >= 1 (got 0)"),
    "init_gain": ([], "0", "--init_gain must be > 0 (got 0.0)"),
    "batch_size": ([], "0", "--batch_size must be >= 1 (got 0)"),
    "load_size": ([], "0", "--load_size must be >= 1 (got 0)"),
    "crop_size": ([], "-1", "--crop_size must be >= 1 (got -1)"),
    "display_winsize": ([], "0", "--display_winsize must be >= 1 (got 0)"),
    "num_threads": ([], "-1", "--num_threads must be >= 0 (got -1)"),
    "max_dataset_size": ([], "0", "--max_dataset_size must be >= 1 (got 0.0)"),
    "seed": ([], "-1", "--seed must be >= 0 and < 4294967296 (got -1)"),
    "load_iter": ([], "-1", "--load_iter must be >= 0 (got -1)"),
    "display_port": ([], "70000", "--display_port must be >= 1 and < 65536 (got 70000)"),
    "display_freq": ([], "0", "--display_freq must be >= 1 (got 0)"),
    "update_html_freq": ([], "0", "--update_html_freq must be >= 1 (got 0)"),
    "print_freq": ([], "0", "--print_freq must be >= 1 (got 0)"),
    "save_latest_freq": ([], "0", "--save_latest_freq must be >= 1 (got 0)"),
    "save_epoch_freq": ([], "0", "--save_epoch_freq must be >= 1 (got 0)"),
    "epoch_count": ([], "0", "--epoch_count must be >= 1 (got 0)"),
    "n_epochs": ([], "-1", "--n_epochs must be >= 0 (got -1)"),
    "n_epochs_decay": ([], "-1", "--n_epochs_decay must be >= 0 (got -1)"),
    "lr_decay_iters": ([], "0", "--lr_decay_iters must be >= 1 (got 0)"),
    "accum_steps": ([], "0", "--accum_steps must be >= 1 (got 0)"),
    "lr": ([], "-1", "--lr must be >= 0 (got -1.0)"),
    "lr_G": ([], "-0.0001", "--lr_G must be >= 0 (got -0.0001)"),
    "lr_D": ([], "nan", "--lr_D must be a finite number >= 0 (got nan)"),
    "beta1": ([], "1", "--beta1 must be >= 0 and < 1 (got 1.0)"),
    "pool_size": ([], "-1", "--pool_size must be >= 0 (got -1)"),
    "lambda_L1": (["--model", "pix2pix"], "-100", "--lambda_L1 must be >= 0 (got -100.0)"),
    "lambda_A": ([], "-1", "--lambda_A must be >= 0 (got -1.0)"),
    "lambda_B": ([], "inf", "--lambda_B must be a finite number >= 0 (got inf)"),
    "lambda_identity": ([], "-0.5", "--lambda_identity must be >= 0 (got -0.5)"),
    "lambda_regression": (["--model", "template"], "-1", "--lambda_regression must be >= 0 (got -1.0)"),
    "keep_train_states": ([], "-1", "--keep_train_states must be >= 0 (got -1)"),
    "val_freq": ([], "-1", "--val_freq must be >= 0 (got -1)"),
    "num_val": ([], "0", "--num_val must be >= 1 (got 0)"),
    "ema_decay": ([], "1", "--ema_decay must be >= 0 and < 1 (got 1.0)"),
    "noise_scale_ema": ([], "-0.5", "--noise_scale_ema must be >= 0 and < 1 (got -0.5)"),
    "num_test": (["test.py"], "0", "--num_test must be >= 1 (got 0)"),
    "aspect_ratio": (["test.py"], "0", "--aspect_ratio must be > 0 (got 0.0)"),
}


@pytest.mark.parametrize("flag", sorted(BAD_NUMBERS))
def test_numeric_flag_out_of_range_is_one_line_naming_it(flag):
    extra, value, message = BAD_NUMBERS[flag]
    is_train = extra[:1] != ["test.py"]
    argv = BASE + [a for a in extra if a != "test.py"] + [f"--{flag}", value]
    with pytest.raises(UserError) as err:
        parse_options(argv, is_train=is_train)
    assert str(err.value) == message


def test_every_numeric_flag_has_a_range_and_a_test():
    """A new int or float flag (base, train, test, or added by any model's or dataset mode's hook) must get an
    entry in NUMERIC_RANGES; every bounded entry gets a case in BAD_NUMBERS."""
    import data
    import models
    from options import _new_parser
    from options.checks import ANY, NUMERIC_RANGES
    from util.errors import UserError as HookRefused

    numeric = set()
    for is_train in (True, False):
        for model in models.MODELS.values():
            for dataset in data.DATASETS.values():
                parser = _new_parser(is_train)
                try:
                    model.modify_commandline_options(parser, is_train)
                except HookRefused:  # --model test in train.py
                    continue
                dataset.modify_commandline_options(parser, is_train)
                numeric |= {a.dest for a in parser._actions if a.type in (int, float)}
    assert numeric - set(NUMERIC_RANGES) == set(), "add these flags to options/checks.py NUMERIC_RANGES"
    assert set(NUMERIC_RANGES) - numeric == set(), "NUMERIC_RANGES names flags no parser has"
    bounded = {flag for flag, valid in NUMERIC_RANGES.items() if valid != ANY}
    assert bounded == set(BAD_NUMBERS)


def test_values_at_the_edges_of_their_ranges_are_accepted():
    opt = parse_train_options(
        BASE
        + [
            "--pool_size",
            "0",
            "--num_threads",
            "0",
            "--beta1",
            "0",
            "--n_epochs",
            "0",
            "--n_epochs_decay",
            "1",
        ]
        + [
            "--lambda_identity",
            "0",
            "--display_id",
            "-1",
            "--display_ncols",
            "0",
            "--max_dataset_size",
            "inf",
        ]
    )
    assert (opt.pool_size, opt.beta1, opt.n_epochs + opt.n_epochs_decay, opt.max_dataset_size) == (
        0, 0.0, 1, float("inf"))  # fmt: skip


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--n_epochs", "0", "--n_epochs_decay", "0"],
            "--n_epochs 0 + --n_epochs_decay 0 trains no epoch; raise either to 1 or more",
        ),
        (
            ["--n_epochs", "2", "--n_epochs_decay", "1", "--epoch_count", "4"],
            "--epoch_count 4 is past the last epoch (3 = --n_epochs 2 + --n_epochs_decay 1); "
            "lower --epoch_count or raise --n_epochs_decay",
        ),
    ],
)
def test_a_run_with_no_epoch_to_train_is_refused(argv, message):
    with pytest.raises(UserError) as err:
        parse_train_options(BASE + argv)
    assert str(err.value) == message


def test_a_resume_may_name_an_epoch_count_past_the_end():
    """--continue_train takes the epoch from the saved training state, so --epoch_count is not checked."""
    opt = parse_train_options(BASE + ["--n_epochs", "1", "--n_epochs_decay", "0", "--epoch_count", "5", "--continue_train"])  # fmt: skip
    assert opt.epoch_count == 5


# -- names that become paths ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, is_train, message",
    [
        (["--name", "../../x"], True, "--name ../../x leads out of --checkpoints_dir and --results_dir ('..')"),
        (["--name", "a/../../x"], False, "--name a/../../x leads out of --checkpoints_dir and --results_dir"),
        (["--name", ".."], True, "--name .. leads out of"),
        (["--name", "/tmp/runs/x"], True, "--name /tmp/runs/x is an absolute path, but names a folder inside "
         "--checkpoints_dir and --results_dir; pass --checkpoints_dir /tmp/runs --name x"),
        (["--name", "."], True, "--name '.' names no folder"),
        (["--epoch", "../../other/latest"], False, "--epoch ../../other/latest is part of file names, not a path; "
         "use a label such as latest, 5 or iter_1000 (to use another run's weights, pass --name OTHER)"),
        (["--epoch", "sub/latest"], True, "--epoch sub/latest is part of file names, not a path"),
        (["--phase", "../test"], False, "--phase ../test is part of file names, not a path"),
        (["--model_suffix", "/../../G"], False, "--model_suffix /../../G is part of file names, not a path"),
        (["--suffix", "{dataroot}"], True, "--suffix {dataroot} gives 'd/x', a path, to append to --name"),
        (["--name", "..\\x"], True, "--name ..\\x leads out of"),
    ],
)  # fmt: skip
def test_names_that_would_leave_their_folder_are_refused(argv, is_train, message):
    with pytest.raises(UserError) as err:
        parse_options(["--dataroot", "d/x", *argv], is_train=is_train)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_a_sub_folder_name_and_plain_labels_are_accepted():
    opt = parse_test_options(BASE + ["--name", "group/run", "--epoch", "iter_1000", "--suffix", "{netG}"])
    assert (opt.name, opt.epoch) == ("group/run_resnet_9blocks", "iter_1000")


# -- --help lists what the models and dataset modes add ------------------------------------------------
@pytest.mark.parametrize(
    "is_train, flags",
    [
        (True, ["--lambda_L1", "--lambda_A", "--lambda_B", "--lambda_identity", "--lambda_regression",
                "--new_dataset_option", "--n_epochs", "--dataroot"]),
        (False, ["--model_suffix", "--new_dataset_option", "--num_test", "--dataroot"]),
    ],
)  # fmt: skip
def test_help_lists_every_flag_including_the_models(capsys, is_train, flags):
    with pytest.raises(SystemExit) as done:
        parse_options(["--help"], is_train=is_train)
    assert done.value.code == 0
    text = capsys.readouterr().out
    for flag in flags:
        assert f"  {flag} " in text, flag
    if is_train:
        pix2pix = text[text.index("--model pix2pix (these flags exist only with it):") :]
        assert pix2pix.index("--lambda_L1") < pix2pix.index("--model cycle_gan")
        assert "(also with --model colorization)" in pix2pix
        words = " ".join(pix2pix.split())  # argparse wraps lines at the terminal width
        assert "it sets the defaults --norm batch, --netG unet_256, --dataset_mode aligned," in words
        assert "--model test" not in text  # refuses train.py: no heading
        assert "--model_suffix" not in text


@pytest.mark.slow
def test_train_py_help_shows_the_per_model_flags():
    from tests.helpers import run_script

    done = run_script(["train.py", "--help"], timeout=120)
    assert done.returncode == 0 and done.stderr == ""
    assert "--lambda_L1" in done.stdout and "--lambda_identity" in done.stdout


def test_preprocess_resize_is_accepted():
    assert parse_train_options(BASE + ["--preprocess", "resize"]).preprocess == "resize"


@pytest.mark.slow
def test_test_py_refuses_an_epoch_path_before_writing_anything(tmp_path):
    from tests.helpers import run_script

    (tmp_path / "ck" / "run").mkdir(parents=True)
    argv = ["--dataroot", str(tmp_path), "--name", "run", "--checkpoints_dir", str(tmp_path / "ck")]
    done = run_script(
        ["test.py", *argv, "--results_dir", str(tmp_path / "res"), "--epoch", "../../other/latest"]
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: --epoch ../../other/latest is part of file names, not a path; use a label such as latest, 5 "
        "or iter_1000 (to use another run's weights, pass --name OTHER)"
    ]
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["ck", "run"]


def test_every_registered_hook_is_the_one_help_lists():
    """`--help` reads the torch-free table in options/model_options.py: a model or dataset mode whose hook is
    not that table's entry would have flags that `--help` does not show."""
    import data
    import models
    from options.model_options import dataset_options, model_options

    for name, cls in models.MODELS.items():
        assert cls.modify_commandline_options is model_options(name), f"--model {name}"
    for name, cls in data.DATASETS.items():
        assert cls.modify_commandline_options is dataset_options(name), f"--dataset_mode {name}"
