"""Validation during training (`--val_freq N`), the best checkpoint (`--save_best METRIC`) and the generator
average (`--ema_decay D`), behind the few calls train.py makes (`TrainingEvaluation`).

Every N epochs (and after the last one) the generators (their average with --ema_decay) translate the first
`--num_val` images of `--val_phase` and util/metrics.py scores the results as test.py would save them (uint8).
Scores go to `metrics_log.txt` / `metrics_log.jsonl` in the experiment folder, the console, the training
gallery, visdom and wandb. CycleGAN scores each direction: `l1_A` compares fake_B (made from A) with B.

Validation must not change training: it runs on a copy of each generator, inside a saved-and-restored random
state, and seeds each image's forward pass with `--seed + image index` (dropout), so the scores do not depend
on the number of processes either: under torchrun each process translates every world_size-th image, the
uint8 results are gathered in image order, and rank 0 scores them exactly as one process would.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from models.base_model import capture_rng, restore_rng
from models.checkpoint import unwrap
from models.config import checkpoint_label
from models.ema import GeneratorEMA
from util.distributed import print0
from util.errors import UserError

METRICS_LOG = "metrics_log.txt"
METRICS_JSONL = "metrics_log.jsonl"
BEST_FILE = "best.json"
BEST_LABEL = "best"
PAIRED_DEFAULT = ("l1", "psnr")  # cheap; ssim (float64, ~0.75 s per 256² image on a CPU) on request
UNPAIRED_DEFAULT = ("fid", "kid")
CHUNK = 16  # images per MetricSet.update call
TWO_DIRECTION_MODELS = ("cycle_gan",)
# With --ema_decay the gallery also shows each averaged generator's output on the training input shown:
# model -> {generator: (input visual, added visual)}.
EMA_VISUALS = {
    "pix2pix": {"G": ("real_A", "fake_B_ema")},
    "template": {"G": ("data_A", "output_ema")},
    "cycle_gan": {"G_A": ("real_A", "fake_B_ema"), "G_B": ("real_B", "fake_A_ema")},
}
# Folders each dataset mode reads for a phase (validation checks them first, naming --val_phase).
PHASE_FOLDERS = {"aligned": ("",), "template": ("",), "colorization": ("",), "unaligned": ("A", "B")}


def _metrics():
    import util.metrics  # i11a's module; imported when validation is asked for

    return util.metrics


def two_directions(opt: argparse.Namespace) -> bool:
    return opt.model in TWO_DIRECTION_MODELS


def check_validation_options(opt: argparse.Namespace) -> None:
    """Parse-time checks of the validation, best-checkpoint and EMA flags (no file is read)."""
    # --val_freq, --num_val and --ema_decay ranges: options/checks.py NUMERIC_RANGES (checked before this)
    names = parse_val_metrics(opt.val_metrics) if opt.val_metrics else None
    if opt.save_best:
        if opt.val_freq == 0:
            raise UserError(f"--save_best {opt.save_best} needs validation scores: add --val_freq N (e.g. 1)")
        base = best_base_name(opt.save_best, two_directions(opt))
        if names is not None and base not in names:
            raise UserError(
                f"--save_best {opt.save_best} is not among --val_metrics {opt.val_metrics}; add {base} to it"
            )


def parse_val_metrics(text: str) -> list[str]:
    try:
        return _metrics().parse_metric_names(text)
    except UserError as err:
        raise UserError(f"--val_metrics {text}: {err}") from None


def best_base_name(name: str, two_dirs: bool) -> str:
    """The metric behind a --save_best name: `psnr`, or for CycleGAN also `psnr_A` / `psnr_B` (one direction)."""
    known = _metrics().METRIC_NAMES
    if name in known:
        return name
    base, _, side = name.rpartition("_")
    if two_dirs and base in known and side in ("A", "B"):
        return base
    choices = ", ".join(known) + (" (or NAME_A / NAME_B for one direction)" if two_dirs else "")
    raise UserError(f"--save_best {name!r} is not a metric; choose one of: {choices}")


def best_score(metrics: dict[str, float], name: str) -> float:
    """The --save_best value of one validation: the metric, or for CycleGAN the mean of its two directions."""
    if name in metrics:
        return metrics[name]
    return (metrics[f"{name}_A"] + metrics[f"{name}_B"]) / 2


def same_image(source: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    return image


# -- validation images ---------------------------------------------------------------------------------------
@dataclass
class Direction:
    """One generator's validation task: inputs (this rank's share) and the uint8 images its outputs are scored
    against (rank 0 only): the true targets for paired metrics, else real images of the output domain."""

    suffix: str  # "" or, for CycleGAN, "_A" (G_A: A -> B) and "_B"
    generator: str
    inputs: list[tuple[int, torch.Tensor]] = field(default_factory=list)  # (image index, 1xCxHxW in [-1, 1])
    references: list[torch.Tensor] = field(default_factory=list)  # 1x3xHxW uint8, in image order
    to_rgb: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = same_image  # colorization: Lab -> RGB


def validation_options(opt: argparse.Namespace) -> argparse.Namespace:
    """The training options with test.py's data settings: --val_phase, in order, unflipped, resized to the crop."""
    val = argparse.Namespace(**vars(opt))
    val.phase, val.serial_batches, val.no_flip = opt.val_phase, True, True
    val.load_size, val.max_dataset_size = opt.crop_size, float("inf")
    return val


def check_val_folders(opt: argparse.Namespace) -> None:
    for side in PHASE_FOLDERS.get(opt.dataset_mode, ("",)):
        folder = os.path.join(opt.dataroot, opt.val_phase + side)
        if not os.path.isdir(folder):
            raise UserError(
                f"--val_freq {opt.val_freq} validates on {folder}, which does not exist; "
                f"add it, or pick another folder with --val_phase (e.g. --val_phase test)"
            )


def paired_directions(opt, dataset, keep: Callable[[int], bool], is_main: bool) -> list[Direction]:
    """pix2pix, colorization, template: input and target of each aligned item (A|B, or B|A under BtoA)."""
    from data.color import lab_to_rgb

    direction = Direction("", "G", to_rgb=lab_to_rgb if opt.model == "colorization" else same_image)
    for i in range(min(len(dataset), opt.num_val)):
        if not (keep(i) or is_main):
            continue
        item = dataset[i]
        source, target = (item["A"], item["B"]) if opt.direction == "AtoB" else (item["B"], item["A"])
        source, target = source.unsqueeze(0), target.unsqueeze(0)
        if keep(i):
            direction.inputs.append((i, source))
        if is_main:
            direction.references.append(_metrics().to_uint8(direction.to_rgb(source, target)))
    return [direction]


def cycle_directions(opt, dataset, keep, is_main: bool, paired: bool) -> list[Direction]:
    """CycleGAN: G_A on the A images, G_B on the B images. Paired metrics compare with the true translations
    in `{val_phase}B_gt/` (of `{val_phase}A/`, same file names) and `{val_phase}A_gt/`; distribution metrics
    with the real images of the other domain."""
    from data.checks import load_checked

    a_to_b = opt.direction == "AtoB"
    sides = {  # the model's side -> (paths, transform, folder letter)
        "A": (dataset.A_paths, dataset.transform_A, "A") if a_to_b else (dataset.B_paths, dataset.transform_B, "B"),
        "B": (dataset.B_paths, dataset.transform_B, "B") if a_to_b else (dataset.A_paths, dataset.transform_A, "A"),
    }  # fmt: skip
    directions = []
    for side, other in (("A", "B"), ("B", "A")):
        (paths, transform, _), (other_paths, other_transform, other_letter) = sides[side], sides[other]
        direction = Direction(f"_{side}", f"G_{side}")
        gt_dir = os.path.join(opt.dataroot, f"{opt.val_phase}{other_letter}_gt")
        for i, path in enumerate(paths[: opt.num_val]):
            if keep(i):
                direction.inputs.append((i, transform(load_checked(opt, path)).unsqueeze(0)))
            if not is_main:
                continue
            reference = (
                os.path.join(gt_dir, os.path.basename(path)) if paired else other_paths[i % len(other_paths)]
            )
            if paired and not os.path.isfile(reference):
                raise UserError(f"{reference} is missing: paired validation metrics need the true translation "
                                f"of {path} there; use --val_metrics fid,kid without it")  # fmt: skip
            image = other_transform(load_checked(opt, reference)).unsqueeze(0)
            direction.references.append(file_uint8(image) if paired else _metrics().to_uint8(image))
        directions.append(direction)
    return directions


def file_uint8(image: torch.Tensor) -> torch.Tensor:
    """uint8 of a loaded image with the file's own bytes back (the loader's x / 127.5 - 1, inverted with rounding),
    as evaluate.py reads a --gt_dir file. to_uint8 truncates instead, as test.py saves real_X.png."""
    out = ((image + 1.0) / 2.0 * 255.0).round().clamp(0, 255).to(torch.uint8)
    return out.repeat(1, 3, 1, 1) if out.shape[1] == 1 else out


def default_metric_names(opt: argparse.Namespace) -> list[str]:
    """Paired models: l1, psnr. CycleGAN: the same against `{val_phase}{A,B}_gt/` when both exist, else
    fid, kid (which need the Inception weights, see docs/evaluation.md)."""
    if not two_directions(opt):
        return list(PAIRED_DEFAULT)
    has_gt = all(os.path.isdir(os.path.join(opt.dataroot, f"{opt.val_phase}{s}_gt")) for s in "AB")
    return list(PAIRED_DEFAULT if has_gt else UNPAIRED_DEFAULT)


# -- scoring -------------------------------------------------------------------------------------------------
class Validator:
    """The validation images of this process, and `run(generators)` -> `{metric[_A|_B]: value}` on every rank."""

    def __init__(self, opt: argparse.Namespace, rt, metric_names: list[str]) -> None:
        from data import find_dataset

        check_val_folders(opt)
        self.rt, self.seed, self.eval_mode = rt, opt.seed, opt.val_eval
        self.names = metric_names
        paired = bool(set(metric_names) & _metrics().PAIRED)
        keep = lambda i: i % rt.world_size == rt.rank  # noqa: E731 -- this rank's share of the images
        saved = capture_rng(rt.device)  # the datasets draw crop positions from the global streams
        try:
            dataset = find_dataset(opt.dataset_mode)(validation_options(opt))
            if two_directions(opt):
                self.directions = cycle_directions(opt, dataset, keep, rt.is_main, paired)
            else:
                self.directions = paired_directions(opt, dataset, keep, rt.is_main)
        finally:
            restore_rng(saved, rt.device)
        self.num_images = sum(len(d.references) for d in self.directions) // len(self.directions)
        # Built on rank 0 only (FID/KID load the Inception network); a missing weights file fails here, early.
        self.metric_set = None
        if rt.is_main:
            weights = dict(inception_weights=opt.inception_weights, lpips_weights=opt.lpips_weights)
            self.metric_set = _metrics().MetricSet(metric_names, device=rt.device, **weights)

    def translate(self, net: nn.Module, direction: Direction) -> list[torch.Tensor]:
        """uint8 outputs of ``net`` for every validation image of ``direction``, gathered from all ranks."""
        mine = []
        with torch.no_grad():
            for index, source in direction.inputs:
                torch.manual_seed(self.seed + index)  # dropout masks depend on the image, not on the rank
                source = source.to(self.rt.device)
                fake = direction.to_rgb(source, net(source).float())
                mine.append((index, _metrics().to_uint8(fake).cpu()))
        gathered = sorted((pair for part in self.rt.gather(mine) for pair in part), key=lambda p: p[0])
        return [fake for _, fake in gathered]

    def run(self, generators: dict[str, nn.Module]) -> dict[str, float]:
        saved = capture_rng(self.rt.device)
        try:
            fakes = {}
            for direction in self.directions:
                # A copy: train-mode BatchNorm would otherwise update the training network's statistics.
                net = copy.deepcopy(unwrap(generators[direction.generator]))
                net.train(not self.eval_mode)  # test.py's mode: train unless --eval (here --val_eval)
                fakes[direction.suffix] = self.translate(net, direction)
            scores = self.score(fakes) if self.rt.is_main else None
        finally:
            restore_rng(saved, self.rt.device)
        return self.rt.gather(scores)[0]

    def score(self, fakes: dict[str, list[torch.Tensor]]) -> dict[str, float]:
        metrics = {}
        for direction in self.directions:
            fake, reference = fakes[direction.suffix], direction.references
            n = min(len(fake), len(reference))
            self.metric_set.reset()
            for start in range(0, n, CHUNK):
                for f, r in same_shape_runs(fake[start : start + CHUNK], reference[start : start + CHUNK]):
                    self.metric_set.update(f, r)
            values = self.metric_set.compute()
            metrics.update({f"{k}{direction.suffix}": float(v) for k, v in values.items() if k != "n"})
        return metrics


def same_shape_runs(fakes: list[torch.Tensor], references: list[torch.Tensor]):
    """Consecutive pairs of equal image size, stacked (--preprocess scale_width can vary the height)."""
    start = 0
    for end in range(1, len(fakes) + 1):
        if (
            end == len(fakes)
            or fakes[end].shape != fakes[start].shape
            or references[end].shape != references[start].shape
        ):
            yield torch.cat(fakes[start:end]), torch.cat(references[start:end])
            start = end


# -- logs and the best checkpoint ----------------------------------------------------------------------------
def format_metrics(metrics: dict[str, float]) -> str:
    return " ".join(f"{k}: {v:.4f}" for k, v in metrics.items())


class MetricsLog:
    """`metrics_log.txt` (one line per validation) and `metrics_log.jsonl` (one JSON object per validation)."""

    def __init__(self, expr_dir: str) -> None:
        self.text_path = os.path.join(expr_dir, METRICS_LOG)
        self.json_path = os.path.join(expr_dir, METRICS_JSONL)

    def write(self, epoch: int, num_images_seen: int, metrics: dict[str, float]) -> str:
        line = f"(epoch: {epoch}, images: {num_images_seen}) {format_metrics(metrics)}"
        with open(self.text_path, "a") as f:
            f.write(line + "\n")
        record = {"epoch": epoch, "num_images_seen": num_images_seen, "metrics": metrics}
        with open(self.json_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        return line


class BestCheckpoint:
    """The best validation score so far by one metric; `record` travels in the training state for resume."""

    def __init__(self, metric: str, higher_is_better: bool, record: dict | None = None) -> None:
        self.metric, self.higher_is_better, self.record = metric, higher_is_better, record

    def offer(self, value: float, epoch: int, num_images_seen: int) -> bool:
        """Take ``value`` if it beats the best so far (NaN never does); True when it did."""
        if not math.isfinite(value):
            return False
        if self.record is not None:
            best = self.record["value"]
            if not (value > best if self.higher_is_better else value < best):
                return False
        self.record = {"metric": self.metric, "value": value, "epoch": epoch, "num_images_seen": num_images_seen,
                       "higher_is_better": self.higher_is_better}  # fmt: skip
        return True

    def write(self, expr_dir: str) -> None:
        with open(os.path.join(expr_dir, BEST_FILE), "w") as f:
            json.dump(self.record, f, indent=1)


# -- what train.py calls -------------------------------------------------------------------------------------
class TrainingEvaluation:
    """--ema_decay, --val_freq and --save_best for one training run; each part is off unless its flag is given.

    train.py calls `restore` once (after a resume), `after_step` after every optimizer step and `end_of_epoch`
    before the epoch's checkpoint is saved (so the saved training state holds the best score so far).
    """

    def __init__(self, opt: argparse.Namespace, rt, model, visualizer) -> None:
        self.rt, self.model, self.visualizer = rt, model, visualizer
        # What the hooks read later, taken from the options once.
        self.val_freq, self.save_best, self.ema_inputs = (
            opt.val_freq,
            opt.save_best,
            EMA_VISUALS.get(opt.model, {}),
        )
        self.expr_dir = os.path.join(opt.checkpoints_dir, opt.name)
        self.last_epoch = opt.n_epochs + opt.n_epochs_decay
        if opt.ema_decay > 0:
            # From now on model.save_networks also writes the average (`*_net_G_ema.pth`).
            model.ema = GeneratorEMA(model.networks(), opt.ema_decay)
            if opt.continue_train:
                self._load_ema(model, checkpoint_label(opt))
        self.validator = self.log = self.best = None
        if opt.val_freq > 0:
            names = parse_val_metrics(opt.val_metrics) if opt.val_metrics else default_metric_names(opt)
            if opt.save_best and best_base_name(opt.save_best, two_directions(opt)) not in names:
                raise UserError(f"--save_best {opt.save_best} is not among the validation metrics "
                                f"({','.join(names)}); add it with --val_metrics")  # fmt: skip
            self.validator = Validator(opt, rt, names)
            self.log = MetricsLog(self.expr_dir) if rt.is_main else None
            print0(f"validation: {','.join(names)} on {self.validator.num_images} image(s) of {opt.val_phase} "
                  f"every {opt.val_freq} epoch(s)" + (" with the generator average" if model.ema else ""))  # fmt: skip
        if opt.save_best:
            base = best_base_name(opt.save_best, two_directions(opt))
            self.best = BestCheckpoint(opt.save_best, _metrics().HIGHER_IS_BETTER[base])

    def _load_ema(self, model, label: str) -> None:
        if not model.ema.load(self.expr_dir, label):
            print0(
                f"no {label}_net_*_ema.pth saved with these weights: the generator average restarts from them"
            )

    def restore(self, progress) -> None:
        """Take the best score so far from a resumed run's ``progress`` (util.resume.Progress, saved with it)."""
        if self.best is not None:
            self.best.record = progress.best

    def after_step(self) -> None:
        if self.model.ema is not None:
            self.model.ema.update(self.model.networks())

    def ema_visuals(self, visuals: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The averaged generators' outputs on the current training input (`fake_B_ema`, ...), for the gallery;
        {} without --ema_decay. Random states and BatchNorm statistics are left as they were."""
        inputs = self.ema_inputs
        if self.model.ema is None or not inputs:
            return {}
        saved, shown = capture_rng(self.rt.device), {}
        try:
            for name, net in self.model.ema.networks.items():
                source, label = inputs[name]
                buffers = [b.clone() for b in net.buffers()]
                with torch.no_grad():
                    shown[label] = net(visuals[source])
                for b, kept in zip(net.buffers(), buffers, strict=True):
                    b.copy_(kept)
        finally:
            restore_rng(saved, self.rt.device)
        return shown

    def due(self, epoch: int) -> bool:
        return self.validator is not None and (epoch % self.val_freq == 0 or epoch == self.last_epoch)

    def end_of_epoch(self, epoch: int, progress) -> dict[str, float] | None:
        """Validate when due; log the scores; save `best_net_*` when they beat the best so far."""
        if not self.due(epoch):
            return None
        model = self.model
        generators = model.ema.networks if model.ema is not None else model.networks()
        metrics = self.validator.run(generators)
        seen = progress.num_images_seen
        if self.rt.is_main:
            print("validation " + self.log.write(epoch, seen, metrics))
            self.visualizer.plot_metrics(epoch, metrics)
        if self.best is not None and self.best.offer(best_score(metrics, self.save_best), epoch, seen):
            progress.best = self.best.record
            if self.rt.is_main:
                print(
                    f"best {self.save_best} so far ({self.best.record['value']:.4f}): saving best_net_*.pth"
                )
                model.save_networks(BEST_LABEL)
                self.best.write(self.expr_dir)
        return metrics
