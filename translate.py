"""Translate an image or a folder of images with a trained generator: any size, any bit depth, no dataset folder.

    python translate.py --name horse2zebra --which G_A --input photos/ --output zebras/
    python translate.py --name facades_label2photo_pretrained --model pix2pix --input labels/ --output out/

Each output has the input's size, bit depth, channels (as far as the generator allows) and file format; a
folder's sub-folders are mirrored. Checkpoints without architecture.json (the published ones) take the
reference's flags (--model test --no_dropout, --netG, --norm, ...). The Python API is models.load_generator.
"""

from __future__ import annotations

import argparse
import os
import sys

from util.cli import run_cli
from util.errors import UserError

MODE_HELP = (
    "use eval mode: dropout off and BatchNorm with its running statistics. Without it the generator runs as "
    "test.py runs it (the papers' protocol): dropout on, BatchNorm with the test image's own statistics"
)


class CliParser(argparse.ArgumentParser):
    """An ArgumentParser that raises UserError (one line, exit 2) instead of printing usage."""

    def error(self, message: str):
        raise UserError(f"{message} (see `{self.prog} --help`)")


def add_checkpoint_flags(parser: argparse.ArgumentParser) -> None:
    """Which generator to load, and the reference's architecture flags (shared with export.py)."""
    g = parser.add_argument_group("checkpoint")
    g.add_argument("--name", required=True, help="experiment name: loads from CHECKPOINTS_DIR/NAME")
    g.add_argument("--checkpoints_dir", default="./checkpoints", help="where the experiments are")
    g.add_argument("--which", default=None, help="G | G_A | G_B (default: G, else G_A)")
    g.add_argument("--epoch", default="latest", help="latest | N | best: loads {epoch}_net_{which}.pth")
    g.add_argument("--eval", action="store_true", help=MODE_HELP)
    g = parser.add_argument_group(
        "architecture (only for checkpoints without architecture.json; flags given override the file)"
    )
    g.add_argument("--model", default=None, help="test | pix2pix | cycle_gan: the reference model's defaults")
    g.add_argument("--model_suffix", default=None, help="as test.py's --model test: _A loads G_A")
    g.add_argument("--netG", default=None, help="resnet_9blocks | resnet_6blocks | unet_256 | unet_128")
    g.add_argument("--ngf", type=int, default=None, help="generator filters in the last conv layer")
    g.add_argument("--norm", default=None, help="instance | batch | syncbatch | none")
    g.add_argument("--no_dropout", action="store_true", default=None, help="the generator has no dropout")
    g.add_argument("--input_nc", type=int, default=None, help="input channels")
    g.add_argument("--output_nc", type=int, default=None, help="output channels")
    g.add_argument("--direction", default=None, help="accepted for the reference's command lines; no effect")
    g.add_argument("--gpu_ids", default=None, help="accepted for the reference's command lines: -1 = CPU")


def checkpoint_request(opt: argparse.Namespace) -> tuple[str, str | None, dict]:
    """(checkpoint folder, generator name, architecture flags given) from the parsed flags."""
    which = opt.which
    if opt.model_suffix and not which:
        which = "G" + opt.model_suffix
    keys = ("model", "netG", "ngf", "norm", "no_dropout", "input_nc", "output_nc")
    flags = {k: getattr(opt, k) for k in keys if getattr(opt, k) is not None}
    return os.path.join(opt.checkpoints_dir, opt.name), which, flags


def pick_device(opt: argparse.Namespace) -> str:
    import torch

    if opt.device:
        if opt.device == "cuda" and not torch.cuda.is_available():
            raise UserError("--device cuda: no CUDA device is available here; use --device cpu")
        return opt.device
    if opt.gpu_ids is not None and opt.gpu_ids.strip().startswith("-1"):
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def build_parser() -> CliParser:
    parser = CliParser(prog="translate.py", description=__doc__.split("\n")[0])
    add_checkpoint_flags(parser)
    g = parser.add_argument_group("images")
    g.add_argument("--input", "--dataroot", dest="input", required=True, help="an image file or a folder")
    g.add_argument("--output", default=None, help="output folder (default: ./results/NAME/translate_EPOCH)")
    g.add_argument("--tile", type=int, default=None, help="run images larger than N x N in overlapping tiles")
    g.add_argument(
        "--tile_overlap", type=int, default=None, help="tile overlap in pixels (default: tile / 4)"
    )
    g.add_argument(
        "--stats_size",
        type=int,
        default=1024,
        help="with --tile: normalisation statistics come from the whole image, downscaled to this side if larger",
    )
    g.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: cuda when available")
    g.add_argument(
        "--seed", type=int, default=None, help="seed each image's dropout masks: repeatable output"
    )
    g.add_argument("--no_progress", action="store_true", help="no progress bar even on a terminal")
    return parser


def list_inputs(path: str) -> list[tuple[str, str]]:
    """(input file, path relative to the input) for a file or every image under a folder, sorted."""
    from util.image_io import INPUT_EXTENSIONS, is_input_file

    if os.path.isfile(path):
        return [(path, os.path.basename(path))]
    if not os.path.isdir(path):
        raise UserError(f"--input {path} is neither an image file nor a folder")
    found = sorted(
        os.path.join(root, name)
        for root, _dirs, names in os.walk(path, followlinks=True)
        for name in names
        if is_input_file(name)
    )
    if not found:
        raise UserError(f"--input {path} holds no images ({' '.join(INPUT_EXTENSIONS)})")
    return [(f, os.path.relpath(f, path)) for f in found]


def translate(argv: list[str]) -> str:
    opt = build_parser().parse_args(argv)
    inputs = list_inputs(opt.input)  # before loading: a wrong --input is the cheaper mistake to report

    from models.inference import load_generator
    from util.image_io import read_image, write_image

    path, which, flags = checkpoint_request(opt)
    g = load_generator(path, which, opt.epoch, eval=opt.eval, device=pick_device(opt), tile=opt.tile,
                       tile_overlap=opt.tile_overlap, stats_side=opt.stats_size, seed=opt.seed, **flags)  # fmt: skip
    arch = g.architecture
    mode = (
        "eval"
        if opt.eval
        else "train (dropout on, BatchNorm with image statistics, as test.py; --eval for eval)"
    )
    print(f"generator: {arch['netG']} norm={arch['norm']} ngf={arch['ngf']} {arch['input_nc']}->{arch['output_nc']} "
          f"channels, dropout={'no' if arch['no_dropout'] else 'yes'}; mode: {mode}; device: {g.device}")  # fmt: skip
    output = opt.output or os.path.join("results", opt.name, f"translate_{opt.epoch}")
    items = inputs
    if sys.stdout.isatty() and not opt.no_progress and len(inputs) > 1:
        from tqdm import tqdm

        items = tqdm(inputs, desc="translate", unit="image")
    for src, rel in items:
        write_image(os.path.join(output, rel), g.translate_array(read_image(src), name=src))
    print(f"translated {len(inputs)} image{'s' if len(inputs) != 1 else ''} into {output}")
    return output


def main(argv: list[str] | None = None) -> int:
    return run_cli(lambda: translate(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
