"""Command-line options: parsing is a pure function of argv; the entry points print and save.

    opt = parse_train_options(["--dataroot", "d", "--model", "pix2pix"])

Parsing follows the reference's order (SPEC §1): base + train/test flags, then the chosen model's option
hook (it may change defaults and add flags), then the chosen dataset's hook. ``parse_options`` also returns
the final parser, whose defaults ``options_text`` needs to mark the values a user changed.
"""

import argparse
import os
from functools import partial

from util.errors import UserError

from .base_options import add_base_options
from .checks import check_path_names, check_ranges
from .help_text import FullHelpAction
from .test_options import TEST_OVERRIDES, add_test_options
from .train_options import add_train_options

__all__ = [
    "Options",
    "completed",
    "TEST_OVERRIDES",
    "check_unet_size",
    "options_text",
    "parse_options",
    "parse_test_options",
    "parse_train_options",
    "save_options",
]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UserError instead of printing usage and exiting."""

    def error(self, message: str):  # argparse calls this for unknown flags, bad types, missing --dataroot
        raise UserError(f"{message} (see `{self.prog} --help`)")


def _new_parser(is_train: bool) -> _Parser:
    prog = "train.py" if is_train else "test.py"
    parser = _Parser(prog=prog, formatter_class=argparse.ArgumentDefaultsHelpFormatter, add_help=False)
    parser.add_argument(
        "-h",
        "--help",
        action=FullHelpAction,
        make_parser=partial(_new_parser, is_train),
        is_train=is_train,
        help="show this help (with every model's and dataset mode's flags) and exit",
    )
    add_base_options(parser)
    return add_train_options(parser) if is_train else add_test_options(parser)


def _build_parser(argv: list[str], is_train: bool) -> _Parser:
    parser = _new_parser(is_train)
    known, _ = parser.parse_known_args(argv)  # `--help` prints and exits here
    # Imported only now: the registries import torch (seconds), which `--help` does not need.
    import data
    import models

    models.get_option_setter(known.model)(parser, is_train)
    known, _ = parser.parse_known_args(
        argv
    )  # again: the model hook may have changed --dataset_mode's default
    data.get_option_setter(known.dataset_mode)(parser, is_train)
    return parser


def _finalize(opt: argparse.Namespace, is_train: bool) -> argparse.Namespace:
    """Derived values and checks that need all flags: suffix, gpu ids, test overrides, numeric ranges."""
    opt.isTrain = is_train
    suffix = ""
    if opt.suffix:
        try:
            suffix = opt.suffix.format(**vars(opt))
        except (KeyError, IndexError, ValueError) as err:
            raise UserError(
                f"--suffix {opt.suffix!r} names an unknown option ({err}); use option names in braces, e.g. {{model}}_{{netG}}"
            ) from None
        opt.name = opt.name + "_" + suffix
    check_path_names(opt, suffix)
    from util.distributed import parse_gpu_ids  # imports torch, which `--help` does not need

    parse_gpu_ids(opt.gpu_ids)  # checked here; the entry point picks the device
    if not is_train:
        for key, value in TEST_OVERRIDES.items():
            setattr(opt, key, value)
    check_ranges(opt)
    if is_train:
        opt.lr_G = opt.lr if opt.lr_G is None else opt.lr_G
        opt.lr_D = opt.lr if opt.lr_D is None else opt.lr_D
    _check_names(opt)
    if is_train:
        from util.validation import check_validation_options

        check_validation_options(opt)
    if is_train:  # test.py checks after it has read the checkpoint's architecture.json
        check_unet_size(opt)
    return opt


def check_unet_size(opt: argparse.Namespace) -> None:
    """--crop_size must be a multiple of what the generator needs (sizes without a crop are rounded to it in
    data/base_dataset.py). A U-Net fails deep inside its layers otherwise; a ResNet gives an output 1-3 px
    larger than its input, which training cannot compare with the target (test.py just saves it)."""
    from models.networks import GENERATOR_SIZE_MULTIPLES

    side = GENERATOR_SIZE_MULTIPLES.get(opt.netG)
    if not side or "crop" not in opt.preprocess or opt.crop_size % side == 0:
        return
    if opt.netG.startswith("unet"):
        raise UserError(
            f"--netG {opt.netG} needs --crop_size to be a multiple of {side}, got {opt.crop_size}; "
            f"use --crop_size {side} (with --load_size >= {side}) or a resnet generator (--netG resnet_9blocks)"
        )
    if opt.isTrain:
        lower, higher = opt.crop_size // side * side, (opt.crop_size // side + 1) * side
        raise UserError(
            f"--netG {opt.netG} needs --crop_size to be a multiple of {side}, got {opt.crop_size}; "
            f"use --crop_size {lower or higher}" + (f" or {higher}" if lower else "")
        )


def _check_names(opt: argparse.Namespace) -> None:
    """Fail at parse time, before any data is read, for a misspelt network, norm, init or schedule."""
    from models.networks import DISCRIMINATOR_NAMES, GENERATOR_NAMES, INIT_TYPES, NORM_ALIASES, NORM_NAMES

    norms = NORM_NAMES + tuple(NORM_ALIASES)  # sync_batch, sync_instance: the reference README's spellings
    checks = [
        ("netG", GENERATOR_NAMES),
        ("netD", DISCRIMINATOR_NAMES),
        ("norm", norms),
        ("init_type", INIT_TYPES),
    ]
    if opt.isTrain:
        from models.losses import GAN_MODES
        from models.schedulers import LR_POLICIES

        checks += [("gan_mode", GAN_MODES), ("lr_policy", LR_POLICIES)]
    for flag, names in checks:
        value = getattr(opt, flag)
        if value not in names:
            raise UserError(f"--{flag} {value} is unknown; choose one of: {', '.join(names)}")


class Options(argparse.Namespace):
    """Parsed, checked options, read-only: what an entry point learns later (test.py's architecture.json, the
    epoch a resume continues) makes a new object with ``completed``, so no code below reads a changed value."""

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(
            f"options are read-only after parsing (setting {name}); make a new set: options.completed(opt, {name}=...)"
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"options are read-only after parsing (deleting {name})")


def completed(opt: argparse.Namespace, **values) -> Options:
    """A read-only copy of ``opt`` with ``values`` set."""
    frozen = Options.__new__(Options)
    frozen.__dict__.update({**vars(opt), **values})
    return frozen


def parse_options(argv: list[str], is_train: bool) -> tuple[Options, argparse.ArgumentParser]:
    """Parse argv into read-only options; also return the final parser (for ``options_text``)."""
    parser = _build_parser(list(argv), is_train)
    opt = parser.parse_args(list(argv))
    return completed(_finalize(opt, is_train)), parser


def parse_train_options(argv: list[str]) -> Options:
    return parse_options(argv, is_train=True)[0]


def parse_test_options(argv: list[str]) -> Options:
    return parse_options(argv, is_train=False)[0]


def options_text(opt: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    """The reference's option listing: one line per option, `[default: x]` where the value differs."""
    lines = ["----------------- Options ---------------"]
    flags = {action.dest for action in parser._actions}
    for key, value in sorted(vars(opt).items()):
        default = parser.get_default(key)
        comment = f"\t[default: {default}]" if key in flags and value != default else ""
        lines.append(f"{key:>25}: {str(value):<30}{comment}")
    lines.append("----------------- End -------------------")
    return "\n".join(lines) + "\n"


def save_options(opt: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    """Write the listing to `checkpoints_dir/name/{phase}_opt.txt`; returns the path."""
    expr_dir = os.path.join(opt.checkpoints_dir, opt.name)
    os.makedirs(expr_dir, exist_ok=True)
    path = os.path.join(expr_dir, f"{opt.phase}_opt.txt")
    with open(path, "w") as f:
        f.write(options_text(opt, parser))
    return path
