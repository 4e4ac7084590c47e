"""Translate images with a trained generator and write an HTML gallery.

    python test.py --dataroot ./datasets/facades --name facades_pix2pix --model pix2pix --direction BtoA

Writes `results/NAME/{phase}_{epoch}/index.html` and `images/{stem}_{label}.png` (inputs whose names collide
keep their sub-folder or extension, see `util/result_names.py`). Architecture flags (and `--direction`) not given
on the command line come from `checkpoints/NAME/architecture.json` when training wrote one.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

from util.cli import answer_help_first, run_cli

if __name__ == "__main__":
    answer_help_first(sys.argv[1:], is_train=False)  # before the imports below load torch (seconds)

import os

from data import create_dataset
from models import create_model
from models.architecture import explicit_dests, saved_architecture, trained_with_ema
from models.base_model import missing_checkpoint_message
from options import check_unet_size, completed, options_text, parse_options, save_options
from util.distributed import setup_runtime
from util.errors import UserError
from util.html import HTML
from util.result_names import ResultNames
from util.visualizer import save_images


def results_dir(opt) -> str:
    name = f"{opt.phase}_{opt.epoch}" + (f"_iter{opt.load_iter}" if opt.load_iter > 0 else "")
    return os.path.join(opt.results_dir, opt.name, name)


@contextmanager
def writing_results(web_dir: str):
    """A read-only, full or forbidden results folder is one clear line, not a traceback."""
    try:
        yield
    except OSError as err:
        reason = (err.strerror or str(err)).lower()
        raise UserError(
            f"cannot write results to {web_dir}: {reason}; pass --results_dir with a writable folder that has free space"
        ) from None


def save_test_options(opt, parser, web_dir: str) -> str:
    """`checkpoints/NAME/test_opt.txt` like the reference, or the results folder when the checkpoint is read-only."""
    try:
        return save_options(opt, parser)
    except OSError as err:
        with writing_results(web_dir):
            os.makedirs(web_dir, exist_ok=True)
            path = os.path.join(web_dir, f"{opt.phase}_opt.txt")
            with open(path, "w") as f:
                f.write(options_text(opt, parser))
        reason = (err.strerror or str(err)).lower()
        print(
            f"note: cannot write to {os.path.dirname(err.filename or path)} ({reason}); options saved to {path}"
        )
        return path


def input_paths(dataset, direction: str) -> list[str]:
    """The files the model reads, as the dataset lists them, so same-named inputs are known in advance."""
    data = dataset.dataset
    side = "B_paths" if direction == "BtoA" else "A_paths"  # unaligned data: the side the model translates
    return list(getattr(data, "AB_paths", None) or getattr(data, side, None) or getattr(data, "A_paths", []))


def ema_suffix(opt, save_dir: str) -> str:
    """ "_ema" (load `{epoch}_net_G_ema.pth`) when the run trained with --ema_decay, unless --no_ema."""
    if not trained_with_ema(save_dir):
        return ""
    if opt.no_ema:
        print("the run kept an average of its generator (--ema_decay); --no_ema: loading the raw weights")
        return ""
    print(
        "the run kept an average of its generator (--ema_decay): loading it (*_ema.pth); --no_ema for the raw weights"
    )
    return "_ema"


def test_options(argv: list[str]):
    """Parse, then complete once from the checkpoint's architecture.json (the flags not given); print them."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise UserError(
            "test.py runs in one process (batch size 1, as in the papers); run `python test.py ...`, not torchrun"
        )
    opt, parser = parse_options(argv, is_train=False)
    save_dir = os.path.join(opt.checkpoints_dir, opt.name)
    if not os.path.isdir(save_dir):  # before test_opt.txt would create it
        raise UserError(
            missing_checkpoint_message(os.path.join(save_dir, f"{opt.epoch}_net_G.pth"), save_dir)
        )
    applied, overridden = saved_architecture(opt, explicit_dests(argv, parser), save_dir)
    opt = completed(opt, **applied)
    check_unet_size(opt)
    print(options_text(opt, parser), end="")
    if applied:
        print(
            "from the checkpoint's architecture.json: " + ", ".join(f"--{k} {v}" for k, v in applied.items())
        )
    for key, saved in overridden.items():
        print(
            f"note: --{key} {getattr(opt, key)} from the command line wins over the checkpoint's --{key} {saved}"
        )
    return opt, parser


def test(argv: list[str]) -> str:
    opt, parser = test_options(argv)
    web_dir = results_dir(opt)
    save_test_options(opt, parser, web_dir)
    rt = setup_runtime(opt.gpu_ids, opt.norm)
    dataset = create_dataset(opt)
    model = create_model(opt, rt.device)
    # "_ema": the averaged generator of a run trained with --ema_decay (unless --no_ema)
    model.load_suffix = ema_suffix(opt, os.path.join(opt.checkpoints_dir, opt.name))
    model.setup(opt)
    if (
        opt.eval
    ):  # Reference runs test in train mode unless --eval: dropout stays on, BatchNorm uses batch stats.
        model.eval()

    if os.path.exists(os.path.join(web_dir, "index.html")):
        print(f"note: replacing the earlier results in {web_dir}")
    with writing_results(web_dir):
        webpage = HTML(web_dir, f"Experiment = {opt.name}, Phase = {opt.phase}, Epoch = {opt.epoch}")
    names = ResultNames(input_paths(dataset, opt.direction))
    show_bar = sys.stdout.isatty() and not opt.no_progress
    for i, batch in numbered(dataset, min(len(dataset), opt.num_test), show_bar):
        if i >= opt.num_test:
            break
        model.set_input(batch)
        model.test()
        paths = model.get_image_paths()
        if i % 5 == 0 and not show_bar:
            print(f"processing ({i:04d})-th image... {paths}")
        name = names.name(paths[0] if isinstance(paths, list) else paths)
        with writing_results(web_dir):
            save_images(webpage, model.get_current_visuals(), paths, aspect_ratio=opt.aspect_ratio,
                        width=opt.display_winsize, name=name)  # fmt: skip
    with writing_results(web_dir):
        webpage.save()
    if len(dataset) > opt.num_test:
        print(
            f"note: --num_test {opt.num_test} stopped after {opt.num_test} of {len(dataset)} images; pass --num_test {len(dataset)} for all"
        )
    index = os.path.join(web_dir, "index.html")
    print(f"results: {index}")
    return index


def numbered(dataset, total: int, show_bar: bool):
    """(index, batch) pairs, with a tqdm bar in a terminal."""
    if not show_bar:
        return enumerate(dataset)
    from tqdm import tqdm

    return tqdm(enumerate(dataset), total=total, desc="test", unit="image")


def main(argv: list[str] | None = None) -> int:
    return run_cli(lambda: test(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
