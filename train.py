"""Train pix2pix, CycleGAN, colorization or template models.

    python train.py --dataroot ./datasets/facades --name facades_pix2pix --model pix2pix --direction BtoA
    torchrun --nproc_per_node=4 train.py --dataroot ... --norm instance

Counters count images seen by all processes together (the reference's `total_iters`). A save writes one
checkpoint set (models/checkpoint_set.py): the reference's per-network `.pth` files, plus for `latest` and
`iter_N` the `{label}_train_state.pth` from which `--continue_train` resumes exactly where the run stopped.
Ctrl-C saves `latest` and stops; a second Ctrl-C stops at once.
"""

from __future__ import annotations

import sys

from util.cli import answer_help_first, run_cli

if __name__ == "__main__":
    answer_help_first(sys.argv[1:], is_train=True)  # before the imports below load torch (seconds)

import itertools
import os
import random
import time

import numpy as np
import torch

from data import create_dataset
from models import create_model
from models.architecture import save_architecture
from models.base_model import restore_rng
from models.config import checkpoint_label
from options import completed, options_text, parse_options, save_options
from util.distributed import Runtime, print0, setup_runtime
from util.resume import (
    GracefulStop,
    Progress,
    open_resume,
    own_rank_state,
    save_checkpoint,
    save_epoch,
    stop_with_latest,
    warn_existing_run,
)
from util.validation import TrainingEvaluation
from util.visualizer import Visualizer


def crossed(before: int, after: int, every: int) -> bool:
    """True when a multiple of ``every`` lies in (before, after] (SPEC §6 fix: the reference needs an exact hit)."""
    return every > 0 and after // every > before // every


def grouped(batches, size: int):
    """Micro-batches of one optimizer step: lists of ``size`` batches (the epoch's last may be shorter)."""
    it = iter(batches)
    while group := list(itertools.islice(it, size)):
        yield group


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def generator_loss(model) -> float:
    """The plateau policy's metric: the step's summed generator terms (every loss not named D_*)."""
    return sum(v for k, v in model.get_current_losses().items() if not k.startswith("D"))


def train(argv: list[str]) -> None:
    opt, parser = parse_options(argv, is_train=True)
    rt = setup_runtime(opt.gpu_ids, opt.norm)
    save_dir = os.path.join(opt.checkpoints_dir, opt.name)
    if rt.is_main:
        print(options_text(opt, parser), end="")
        if not opt.continue_train:
            warn_existing_run(save_dir)  # before anything there is rewritten
        save_options(opt, parser)
    seed_everything(opt.seed)  # same initial weights on every rank (DDP also broadcasts rank 0's)
    dataset = create_dataset(opt, rank=rt.rank, world_size=rt.world_size)
    print0(f"The number of training images = {len(dataset)}")

    resume = None
    if opt.continue_train:
        resume = open_resume(rt, save_dir, checkpoint_label(opt), opt.epoch_count)
    if resume is not None:  # the options are completed once: the schedule is rebuilt as saved, then loaded
        opt = completed(opt, epoch_count=resume["progress"]["schedule_epoch_count"])
    model = create_model(opt, rt.device, ddp=rt.ddp)
    model.setup(opt)
    if rt.is_main:
        save_architecture(opt, save_dir)
    visualizer = Visualizer(opt, is_main_process=rt.is_main, images_per_epoch=len(dataset))
    evaluation = TrainingEvaluation(opt, rt, model, visualizer)  # --ema_decay, --val_freq, --save_best

    seed_everything(opt.seed + rt.rank)  # augmentation and dropout differ per rank
    rng_state = None
    if resume is None:
        progress = Progress(epoch=opt.epoch_count, schedule_epoch_count=opt.epoch_count,
                            batch_size=opt.batch_size, dataset_len=len(dataset.dataset), num_images=len(dataset))  # fmt: skip
    else:
        model.load_training_state(resume)
        progress = Progress.resumed(resume["progress"], dataset, rt.world_size, opt)
        rng_state = own_rank_state(model, rt, resume["progress"])
        print0(f"resuming at epoch {progress.epoch}, {progress.num_images_seen} images seen (full training state restored)")  # fmt: skip
    evaluation.restore(progress)
    with GracefulStop() as stop:
        run_epochs(opt, rt, model, dataset, visualizer, evaluation, progress, stop, rng_state)
    visualizer.close()


def run_epochs(opt, rt: Runtime, model, dataset, visualizer, evaluation: TrainingEvaluation,
               progress: Progress, stop: GracefulStop, rng_state: dict | None) -> None:  # fmt: skip
    last_epoch = opt.n_epochs + opt.n_epochs_decay
    images_per_batch = opt.batch_size * rt.world_size
    for epoch in range(progress.epoch, last_epoch + 1):
        epoch_start = time.time()
        # A mid-epoch resume starts the epoch at the image where the save was made.
        dataset.set_epoch(epoch, start_image=progress.start_epoch(epoch))
        visualizer.reset()
        batches = progress_bar(opt, rt, dataset, f"epoch {epoch}/{last_epoch}")
        if rng_state is not None:  # loading never touches the main process's random streams
            restore_rng(rng_state, model.device)
            rng_state = None
        plateau_losses, t_data_start = [], time.time()
        for micro in grouped(batches, opt.accum_steps):
            t_data, t_step = time.time() - t_data_start, time.time()
            # --noise_scale with no accumulation and no DDP trains each batch as two halves (same step)
            model.train_step(model.noise_scale.micro_batches(micro) if model.noise_scale else micro)
            evaluation.after_step()  # the generator average (--ema_decay)
            before = progress.advance(images_per_batch * len(micro))
            display, log, save = (crossed(before, progress.num_images_seen, every)
                                  for every in (opt.display_freq, opt.print_freq, opt.save_latest_freq))  # fmt: skip
            if opt.lr_policy == "plateau":
                plateau_losses.append(generator_loss(model))
            if display:
                update_html = crossed(before, progress.num_images_seen, opt.update_html_freq)
                show_visuals(model, visualizer, evaluation, epoch, update_html)
            if log:
                t_comp = (time.time() - t_step) / images_per_batch
                log_losses(model, visualizer, progress, len(dataset), t_comp, t_data)
            if save:
                label = f"iter_{progress.num_images_seen}" if opt.save_by_iter else "latest"
                print0(f"saving the latest model (epoch {epoch}, total_iters {progress.num_images_seen})")
                save_checkpoint(model, rt, label, progress)
            if stop.agreed(rt):
                stop_with_latest(model, rt, progress)
            t_data_start = time.time()

        visualizer.save_epoch_end(epoch, model)  # a run shorter than --display_freq still leaves a gallery
        plateau_metric = rt.mean(sum(plateau_losses) / len(plateau_losses)) if plateau_losses else None
        model.update_learning_rate(plateau_metric)
        progress.end_epoch()
        # Validation (and best_net_*) before the save, so the saved state records the best so far.
        evaluation.end_of_epoch(epoch, progress)
        save_end_of_epoch(opt, rt, model, progress, epoch, last_epoch, stop)
        print0(f"End of epoch {epoch} / {last_epoch} \t Time Taken: {int(time.time() - epoch_start)} sec")


def save_end_of_epoch(opt, rt: Runtime, model, progress: Progress, epoch: int, last_epoch: int,
                      stop: GracefulStop) -> None:  # fmt: skip
    """`latest` every --save_epoch_freq epochs and after the last one (SPEC §6 fix: a short run leaves a usable
    model), plus the numbered epoch's weights; then honour a Ctrl-C."""
    numbered = epoch % opt.save_epoch_freq == 0
    if numbered or epoch == last_epoch:
        print0(f"saving the model at the end of epoch {epoch}, iters {progress.num_images_seen}")
        save_checkpoint(model, rt, "latest", progress)
    if numbered:
        save_epoch(model, rt, epoch, progress, opt.keep_train_states)
    if stop.agreed(rt):
        stop_with_latest(model, rt, progress, saved=numbered or epoch == last_epoch)


def progress_bar(opt, rt: Runtime, dataset, desc: str):
    """The epoch's batches, with a tqdm bar on rank 0 in a terminal (not with --no_progress)."""
    batches = iter(dataset)
    if not (rt.is_main and sys.stdout.isatty() and not opt.no_progress):
        return batches
    from tqdm import tqdm

    done = dataset.batches_per_epoch - dataset.batches_left()
    return tqdm(batches, total=dataset.batches_per_epoch, initial=done, desc=desc, unit="batch")


def show_visuals(model, visualizer, evaluation: TrainingEvaluation, epoch: int, update_html: bool) -> None:
    model.compute_visuals()
    visuals = model.get_current_visuals()
    visuals.update(evaluation.ema_visuals(visuals))  # fake_B_ema, ... with --ema_decay
    visualizer.display_current_results(visuals, epoch, update_html)


def log_losses(model, visualizer, progress: Progress, epoch_size: int, t_comp: float, t_data: float) -> None:
    losses = model.get_current_losses()
    epoch, images = progress.epoch, progress.images_in_epoch
    visualizer.print_current_losses(epoch, images, losses, t_comp, t_data)
    visualizer.plot_current_losses(epoch, images / max(epoch_size, 1), losses)


def main(argv: list[str] | None = None) -> int:
    return run_cli(lambda: train(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
