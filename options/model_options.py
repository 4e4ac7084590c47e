"""The flags each `--model` and `--dataset_mode` adds: the reference's `modify_commandline_options` hooks.

They live here, free of torch, so `train.py --help` can list every model's flags at once (importing the models
takes seconds). Each model and dataset class points its `modify_commandline_options` at its entry below;
`tests/test_options.py` checks that every registered name has one.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from util.errors import UserError

OptionHook = Callable[[argparse.ArgumentParser, bool], argparse.ArgumentParser]

COLORIZATION_DATA = {"input_nc": 1, "output_nc": 2, "direction": "AtoB"}  # L -> ab of Lab


def no_options(parser: argparse.ArgumentParser, is_train: bool) -> argparse.ArgumentParser:
    return parser


def pix2pix_options(parser: argparse.ArgumentParser, is_train: bool = True) -> argparse.ArgumentParser:
    # The paper's setup: U-Net + BatchNorm on aligned pairs; vanilla GAN loss and no image pool.
    parser.set_defaults(norm="batch", netG="unet_256", dataset_mode="aligned")
    if is_train:
        parser.set_defaults(pool_size=0, gan_mode="vanilla")
        parser.add_argument("--lambda_L1", type=float, default=100.0, help="weight for L1 loss")
    return parser


def colorization_options(parser: argparse.ArgumentParser, is_train: bool = True) -> argparse.ArgumentParser:
    pix2pix_options(parser, is_train)
    parser.set_defaults(dataset_mode="colorization", input_nc=1, output_nc=2)
    return parser


def cycle_gan_options(parser: argparse.ArgumentParser, is_train: bool = True) -> argparse.ArgumentParser:
    parser.set_defaults(no_dropout=True)  # the paper's ResNet generators use no dropout
    if is_train:
        parser.add_argument(
            "--lambda_A", type=float, default=10.0, help="weight for cycle loss (A -> B -> A)"
        )
        parser.add_argument(
            "--lambda_B", type=float, default=10.0, help="weight for cycle loss (B -> A -> B)"
        )
        parser.add_argument(
            "--lambda_identity",
            type=float,
            default=0.5,
            help="weight of the identity loss, relative to the cycle loss weights (0 turns it off)",
        )
    return parser


def template_model_options(parser: argparse.ArgumentParser, is_train: bool = True) -> argparse.ArgumentParser:
    parser.set_defaults(dataset_mode="aligned")
    if is_train:
        parser.add_argument(
            "--lambda_regression", type=float, default=1.0, help="weight for the regression loss"
        )
    return parser


def test_model_options(parser: argparse.ArgumentParser, is_train: bool = False) -> argparse.ArgumentParser:
    if is_train:
        raise UserError("--model test is for test.py only; train with --model pix2pix or --model cycle_gan")
    parser.set_defaults(dataset_mode="single")
    parser.add_argument(
        "--model_suffix",
        type=str,
        default="",
        help="loads checkpoints/NAME/{epoch}_net_G{model_suffix}.pth, e.g. _A",
    )
    return parser


def colorization_data_options(parser: argparse.ArgumentParser, is_train: bool) -> argparse.ArgumentParser:
    parser.set_defaults(**COLORIZATION_DATA)
    return parser


def template_data_options(parser: argparse.ArgumentParser, is_train: bool) -> argparse.ArgumentParser:
    """1. Flags of this dataset and its own defaults (the reference's template sets these two)."""
    parser.add_argument("--new_dataset_option", type=float, default=1.0, help="new dataset option")
    parser.set_defaults(max_dataset_size=10, new_dataset_option=2.0)
    return parser


# In registration order: a parent model (pix2pix) comes before its subclass (colorization), so `--help` lists a
# flag both add under the parent.
MODEL_OPTIONS: dict[str, OptionHook] = {
    "pix2pix": pix2pix_options,
    "cycle_gan": cycle_gan_options,
    "colorization": colorization_options,
    "template": template_model_options,
    "test": test_model_options,
}
DATASET_OPTIONS: dict[str, OptionHook] = {
    "colorization": colorization_data_options,
    "template": template_data_options,
}  # every other dataset mode adds no flag


def model_options(name: str) -> OptionHook:
    return MODEL_OPTIONS.get(name, no_options)


def dataset_options(name: str) -> OptionHook:
    return DATASET_OPTIONS.get(name, no_options)
