"""Flags shared by train.py and test.py (SPEC §1), with the reference's names and defaults."""

import argparse


def add_base_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the flags every entry point takes; returns the parser for chaining."""
    g = parser.add_argument_group("experiment")
    g.add_argument(
        "--dataroot",
        required=True,
        help="path to images (should have subfolders trainA, trainB, valA, valB, etc)",
    )
    g.add_argument(
        "--name",
        type=str,
        default="experiment_name",
        help="name of the experiment: where samples and models are stored",
    )
    g.add_argument("--checkpoints_dir", type=str, default="./checkpoints", help="models are saved here")
    g.add_argument(
        "--gpu_ids",
        type=str,
        default="0",
        help="gpu ids: e.g. 0  0,1,2  -1 for CPU; with no GPU the CPU is used",
    )
    g.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed for weights, data order and augmentation (not in the reference, which is unseeded)",
    )

    g = parser.add_argument_group("model")
    g.add_argument(
        "--model",
        type=str,
        default="cycle_gan",
        help="chooses which model to use. [cycle_gan | pix2pix | test | colorization | template]",
    )
    g.add_argument(
        "--input_nc", type=int, default=3, help="# of input image channels: 3 for RGB and 1 for grayscale"
    )
    g.add_argument(
        "--output_nc", type=int, default=3, help="# of output image channels: 3 for RGB and 1 for grayscale"
    )
    g.add_argument("--ngf", type=int, default=64, help="# of gen filters in the last conv layer")
    g.add_argument("--ndf", type=int, default=64, help="# of discrim filters in the first conv layer")
    g.add_argument(
        "--netD",
        type=str,
        default="basic",
        help="discriminator: [basic | n_layers | pixel]; basic is the 70x70 PatchGAN",
    )
    g.add_argument(
        "--netG",
        type=str,
        default="resnet_9blocks",
        help="generator: [resnet_9blocks | resnet_6blocks | unet_256 | unet_128]",
    )
    g.add_argument("--n_layers_D", type=int, default=3, help="only used if netD==n_layers")
    g.add_argument(
        "--norm",
        type=str,
        default="instance",
        help="normalization: [instance | batch | syncbatch | none] (aliases: sync_batch, sync_instance)",
    )
    g.add_argument(
        "--init_type",
        type=str,
        default="normal",
        help="network initialization [normal | xavier | kaiming | orthogonal]",
    )
    g.add_argument(
        "--init_gain", type=float, default=0.02, help="scaling factor for normal, xavier and orthogonal."
    )
    g.add_argument("--no_dropout", action="store_true", help="no dropout for the generator")

    g = parser.add_argument_group("dataset")
    g.add_argument(
        "--dataset_mode",
        type=str,
        default="unaligned",
        help="how to load the data: [unaligned | aligned | single | colorization | template]",
    )
    g.add_argument("--direction", type=str, default="AtoB", choices=("AtoB", "BtoA"), help="AtoB or BtoA")
    g.add_argument(
        "--serial_batches",
        action="store_true",
        help="if true, takes images in order to make batches, otherwise takes them randomly",
    )
    g.add_argument(
        "--num_threads", default=4, type=int, help="# threads (DataLoader workers) for loading data"
    )
    g.add_argument("--batch_size", type=int, default=1, help="input batch size (per process under torchrun)")
    g.add_argument("--load_size", type=int, default=286, help="scale images to this size")
    g.add_argument("--crop_size", type=int, default=256, help="then crop to this size")
    g.add_argument(
        "--max_dataset_size",
        type=float,
        default=float("inf"),
        help="maximum number of samples allowed per dataset",
    )
    g.add_argument(
        "--preprocess",
        type=str,
        default="resize_and_crop",
        choices=("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "resize", "none"),
        help="scaling and cropping of images at load time (resize: to load_size x load_size, no crop); "
        "sizes not set by --crop_size are rounded to the generator's multiple (see docs/data.md)",
    )
    g.add_argument(
        "--no_flip", action="store_true", help="if specified, do not flip the images for data augmentation"
    )
    g.add_argument(
        "--display_winsize", type=int, default=256, help="display window size for both visdom and HTML"
    )

    g = parser.add_argument_group("loading and logging")
    g.add_argument(
        "--epoch",
        type=str,
        default="latest",
        help="which epoch to load? set to latest to use latest cached model",
    )
    g.add_argument(
        "--load_iter",
        type=int,
        default=0,
        help="which iteration to load? if load_iter > 0, the code will load models by iter_[load_iter]",
    )
    g.add_argument("--verbose", action="store_true", help="if specified, print more debugging information")
    g.add_argument(
        "--suffix",
        default="",
        type=str,
        help="customized suffix: opt.name = opt.name + suffix: e.g., {model}_{netG}_size{load_size}",
    )
    g.add_argument("--use_wandb", action="store_true", help="if specified, then init wandb logging")
    g.add_argument(
        "--wandb_project_name", type=str, default="CycleGAN-and-pix2pix", help="specify wandb project name"
    )

    g = parser.add_argument_group("visdom display (older releases' flags, still accepted)")
    g.add_argument(
        "--display_id", type=int, default=1, help="window id of the web display; <= 0 turns visdom off"
    )
    g.add_argument(
        "--display_server", type=str, default="http://localhost", help="visdom server of the web display"
    )
    g.add_argument("--display_port", type=int, default=8097, help="visdom port of the web display")
    g.add_argument(
        "--display_env", type=str, default="main", help='visdom display environment name (default is "main")'
    )
    g.add_argument(
        "--display_ncols",
        type=int,
        default=4,
        help="if positive, display all images in a single visdom web panel with certain number of images per row.",
    )
    return parser
