"""Checks of option values that need no files, run once at parse time.

* ``NUMERIC_RANGES``: the one table of valid ranges, for every int and float flag (base, train, test, and
  the flags a model or dataset mode adds). A value outside its range fails as
  ``--save_epoch_freq must be >= 1 (got 0)`` before any data is read or any epoch is trained.
* ``check_path_names``: ``--name`` is a folder inside ``--checkpoints_dir`` / ``--results_dir``, and labels
  such as ``--epoch`` become parts of file names; none of them may lead out of its folder.
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass

from util.errors import UserError


@dataclass(frozen=True)
class Range:
    """low <= value (low < value when low_open) and value < high; None leaves a side open.

    Floats must also be finite unless allow_inf (``--max_dataset_size inf`` is the default)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    allow_inf: bool = False

    def contains(self, value: float) -> bool:
        if not self._finite_enough(value):
            return False
        # Written as `not (...)` tests so that NaN, which fails every comparison, is outside every range.
        if self.low is not None and not (value > self.low if self.low_open else value >= self.low):
            return False
        return self.high is None or value < self.high

    def _finite_enough(self, value: float) -> bool:
        return self.allow_inf or not isinstance(value, float) or math.isfinite(value)

    def describe(self, value: float) -> str:
        """'>= 1', '> 0', '>= 0 and < 1' (prefixed 'a finite number' when `value` is inf or NaN)."""
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low}")
        if self.high is not None:
            parts.append(f"< {self.high}")
        bounds = " and ".join(parts)
        return bounds if self._finite_enough(value) and not math.isnan(value) else f"a finite number {bounds}"


ANY = Range()
AT_LEAST_0 = Range(0)
AT_LEAST_1 = Range(1)
POSITIVE = Range(0, low_open=True)

NUMERIC_RANGES: dict[str, Range] = {
    # sizes and network shape
    "input_nc": AT_LEAST_1,
    "output_nc": AT_LEAST_1,
    "ngf": AT_LEAST_1,
    "ndf": AT_LEAST_1,
    "n_layers_D": AT_LEAST_1,
    "init_gain": POSITIVE,
    "batch_size": AT_LEAST_1,
    "load_size": AT_LEAST_1,
    "crop_size": AT_LEAST_1,
    "display_winsize": AT_LEAST_1,
    # data and run
    "num_threads": AT_LEAST_0,  # 0: load in the main process
    "max_dataset_size": Range(1, allow_inf=True),
    "seed": Range(0, 2**32),  # numpy takes seeds below 2**32
    "load_iter": AT_LEAST_0,  # 0: load by --epoch
    # visdom: display_id <= 0 turns it off, display_ncols <= 0 gives one window per image (reference)
    "display_id": ANY,
    "display_ncols": ANY,
    "display_port": Range(1, 65536),
    # train: frequencies count images (epochs for save_epoch_freq); 0 would divide by zero
    "display_freq": AT_LEAST_1,
    "update_html_freq": AT_LEAST_1,
    "print_freq": AT_LEAST_1,
    "save_latest_freq": AT_LEAST_1,
    "save_epoch_freq": AT_LEAST_1,
    "epoch_count": AT_LEAST_1,
    "n_epochs": AT_LEAST_0,  # their sum must be >= 1: see _check_epochs
    "n_epochs_decay": AT_LEAST_0,
    "lr_decay_iters": AT_LEAST_1,
    "accum_steps": AT_LEAST_1,
    # optimisation
    "lr": AT_LEAST_0,  # 0 freezes the weights (a dry run, or scoring validation without training)
    "lr_G": AT_LEAST_0,
    "lr_D": AT_LEAST_0,
    "beta1": Range(0, 1),  # Adam needs 0 <= beta1 < 1
    "pool_size": AT_LEAST_0,  # 0: no image pool
    # loss weights added by the models' hooks (0 turns a term off)
    "lambda_L1": AT_LEAST_0,  # pix2pix, colorization
    "lambda_A": AT_LEAST_0,  # cycle_gan
    "lambda_B": AT_LEAST_0,  # cycle_gan
    "lambda_identity": AT_LEAST_0,  # cycle_gan
    "lambda_regression": AT_LEAST_0,  # template
    # checkpoints, validation, averaging, noise scale
    "keep_train_states": AT_LEAST_0,  # 0: numbered epochs keep weights only
    "val_freq": AT_LEAST_0,  # 0: no validation
    "num_val": AT_LEAST_1,
    "ema_decay": Range(0, 1),  # 0: no average
    "noise_scale_ema": Range(0, 1),
    # test
    "num_test": AT_LEAST_1,
    "aspect_ratio": POSITIVE,
    # the template dataset's example flag: any value
    "new_dataset_option": ANY,
}


def check_ranges(opt: argparse.Namespace) -> None:
    """Every numeric option inside its NUMERIC_RANGES entry; flags this run does not have are skipped."""
    for flag, valid in NUMERIC_RANGES.items():
        value = getattr(opt, flag, None)
        if value is not None and not valid.contains(value):
            raise UserError(f"--{flag} must be {valid.describe(value)} (got {value})")
    if getattr(opt, "isTrain", False):
        _check_epochs(opt)


def _check_epochs(opt: argparse.Namespace) -> None:
    """A run must have an epoch to train: 0 + 0 epochs, or a start past the end, would exit 0 having done nothing."""
    last = opt.n_epochs + opt.n_epochs_decay
    if last < 1:
        raise UserError(
            f"--n_epochs {opt.n_epochs} + --n_epochs_decay {opt.n_epochs_decay} trains no epoch; "
            "raise either to 1 or more"
        )
    # A resume with a saved training state takes its epoch from there, not from --epoch_count.
    if opt.epoch_count > last and not opt.continue_train:
        raise UserError(
            f"--epoch_count {opt.epoch_count} is past the last epoch ({last} = --n_epochs {opt.n_epochs} + "
            f"--n_epochs_decay {opt.n_epochs_decay}); lower --epoch_count or raise --n_epochs_decay"
        )


# -- names that become paths -----------------------------------------------------------------------------

# Parts of file and folder names (`{epoch}_net_G{model_suffix}.pth`, `results/NAME/{phase}_{epoch}/`).
LABEL_EXAMPLES = {
    "epoch": "latest, 5 or iter_1000 (to use another run's weights, pass --name OTHER)",
    "phase": "train, val or test",
    "model_suffix": "_A or _B",
}


def _has_separator(text: str) -> bool:
    return "/" in text or "\\" in text or os.sep in text or bool(os.altsep and os.altsep in text)


def check_path_names(opt: argparse.Namespace, formatted_suffix: str = "") -> None:
    """--name must stay inside --checkpoints_dir and --results_dir; labels must be plain file-name parts.

    `--name group/run` (a sub-folder) works as in the reference; an absolute name or a `..` does not, and
    neither does a separator in the formatted --suffix (`{dataroot}` would scatter runs into sub-folders).
    """
    name = opt.name
    if os.path.isabs(name) or name.startswith(("/", "\\")) or os.path.splitdrive(name)[0]:
        head, tail = os.path.split(name.rstrip("/\\"))
        raise UserError(
            f"--name {name} is an absolute path, but names a folder inside --checkpoints_dir and --results_dir; "
            f"pass --checkpoints_dir {head} --name {tail}"
        )
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UserError(
            f"--name {name} leads out of --checkpoints_dir and --results_dir ('..'); use a plain folder name, "
            "and --checkpoints_dir / --results_dir to choose where it goes"
        )
    if not parts:
        raise UserError(f"--name {name!r} names no folder; pass a folder name such as --name facades_pix2pix")
    if _has_separator(formatted_suffix):
        raise UserError(
            f"--suffix {opt.suffix} gives {formatted_suffix!r}, a path, to append to --name; "
            "use options that hold no path separators, e.g. {model}_{netG}"
        )
    for flag, examples in LABEL_EXAMPLES.items():
        value = getattr(opt, flag, None)
        if value is not None and _has_separator(value):
            raise UserError(
                f"--{flag} {value} is part of file names, not a path; use a label such as {examples}"
            )
