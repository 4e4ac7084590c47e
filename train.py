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
import warnings

import numpy as np
import torch

from data import create_dataset
from models import create_model
from models.architecture import save_architecture
from models.base_model import BaseModel, capture_rng, restore_rng
from models.checkpoint_set import keep_numbered_train_states
from options import options_text, parse_options, save_options
from util.distributed import Runtime, print0, setup_runtime
from util.resume import GracefulStop, open_resume, resume_position, warn_existing_run
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


def save_checkpoint(model, rt: Runtime, labels: list[str], progress: dict, *, resumable: bool = True) -> None:
    """Each label as one checkpoint set, written by rank 0. ``resumable`` adds the full training state; random
    states and image pools differ between DDP ranks, so every rank's are gathered into it."""
    rng_per_rank = rt.gather(capture_rng(model.device)) if resumable else None
    pools_per_rank = (
        rt.gather({k: p.state_dict() for k, p in model.image_pools().items()}) if resumable else None
    )
    if rt.is_main:
        progress = {**progress, "world_size": rt.world_size}
        info = {k: progress[k] for k in ("epoch", "images_in_epoch", "num_images_seen")}
        state = None
        if resumable:
            per_rank = {"rng_per_rank": rng_per_rank, "pools_per_rank": pools_per_rank}
            state = {**model.training_state(), "progress": {**progress, **per_rank}}
        for label in labels:
            model.save_networks(label, state, info)
    rt.barrier()


def save_epoch(model, rt: Runtime, epoch: int, progress: dict, keep_train_states: int) -> None:
    """A numbered epoch's save: weights only (the reference's files), unless the last ``keep_train_states``
    numbered epochs keep their training state too."""
    save_checkpoint(model, rt, [str(epoch)], progress, resumable=keep_train_states > 0)
    if rt.is_main and keep_train_states > 0:
        keep_numbered_train_states(model.save_dir, keep_train_states)


def own_rank_state(model, rt: Runtime, saved: dict) -> dict | None:
    """Give this rank its own image pools back and return its saved random state; None (fresh random
    streams) when the checkpoint was written by another number of processes."""
    rngs, pools = saved["rng_per_rank"], saved.get("pools_per_rank")
    if len(rngs) != rt.world_size:
        warnings.warn(
            f"the checkpoint was saved by {len(rngs)} process(es), this run has {rt.world_size}: random states "
            "restart and every process takes rank 0's image pools, so the run is not bit for bit an uninterrupted one",
            stacklevel=2,
        )
        return None
    if pools is not None:  # files without it hold rank 0's pools only, already loaded by load_training_state
        for key, pool in model.image_pools().items():
            pool.load_state_dict(pools[rt.rank][key], model.device)
    return rngs[rt.rank]


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

    label = BaseModel.checkpoint_label(opt)
    resume = open_resume(rt, save_dir, label, opt.epoch_count) if opt.continue_train else None
    if resume is not None:
        opt.epoch_count = resume["progress"][
            "schedule_epoch_count"
        ]  # the schedule is rebuilt as it was, then loaded
    model = create_model(opt, rt.device, ddp=rt.ddp)
    model.setup(opt)
    if rt.is_main:
        save_architecture(opt, save_dir)
    visualizer = Visualizer(opt, is_main_process=rt.is_main, images_per_epoch=len(dataset))
    evaluation = TrainingEvaluation(opt, rt, model, visualizer)  # --ema_decay, --val_freq, --save_best

    progress = {
        "schedule_epoch_count": opt.epoch_count,
        "epoch": opt.epoch_count,
        "images_in_epoch": 0,  # of all processes; where a mid-epoch resume continues
        "num_images_seen": 0,
        "batch_size": opt.batch_size,  # what the position was counted in, for a resume to check against
        "dataset_len": len(dataset.dataset),
        "num_images": len(dataset),
    }
    seed_everything(opt.seed + rt.rank)  # augmentation and dropout differ per rank
    if resume is not None:
        model.load_training_state(resume)
        saved = resume["progress"]
        progress.update(epoch=saved["epoch"], num_images_seen=saved["num_images_seen"])
        progress.update(schedule_epoch_count=saved["schedule_epoch_count"])
        progress["images_in_epoch"] = resume_position(saved, dataset, rt.world_size)
        rng_state = own_rank_state(model, rt, saved)
        print0(
            f"resuming at epoch {progress['epoch']}, {progress['num_images_seen']} images seen (full training state restored)"
        )
    evaluation.restore(resume["progress"] if resume is not None else None, progress)
    with GracefulStop() as stop:
        run_epochs(
            opt,
            rt,
            model,
            dataset,
            visualizer,
            progress,
            rng_state if resume is not None else None,
            stop,
            evaluation,
        )
    visualizer.close()


def run_epochs(
    opt,
    rt: Runtime,
    model,
    dataset,
    visualizer,
    progress: dict,
    rng_state: dict | None = None,
    stop: GracefulStop | None = None,
    evaluation: TrainingEvaluation | None = None,
) -> None:
    last_epoch = opt.n_epochs + opt.n_epochs_decay
    images_per_batch = opt.batch_size * rt.world_size
    show_bar = rt.is_main and sys.stdout.isatty() and not opt.no_progress
    for epoch in range(progress["epoch"], last_epoch + 1):
        epoch_start, start = time.time(), progress["images_in_epoch"] if progress["epoch"] == epoch else 0
        progress.update(epoch=epoch, images_in_epoch=start)
        dataset.set_epoch(epoch, start_image=start)  # a mid-epoch resume starts at the image it stopped at
        visualizer.reset()
        batches = iter(dataset)
        if rng_state is not None:  # loading never touches the main process's random streams
            restore_rng(rng_state, model.device)
            rng_state = None
        if show_bar:
            from tqdm import tqdm

            batches = tqdm(
                batches,
                total=dataset.batches_per_epoch,
                initial=dataset.batches_per_epoch - dataset.batches_left(),
                desc=f"epoch {epoch}/{last_epoch}",
                unit="batch",
            )
        plateau_sum, steps, t_data_start = 0.0, 0, time.time()
        for micro in grouped(batches, opt.accum_steps):
            t_data = time.time() - t_data_start
            t_step = time.time()
            # --noise_scale with no accumulation and no DDP trains each batch as two halves (same step)
            model.train_step(model.noise_scale.micro_batches(micro) if model.noise_scale else micro)
            if evaluation is not None:
                evaluation.after_step()  # the generator average
            before = progress["num_images_seen"]
            progress["num_images_seen"] += images_per_batch * len(micro)
            progress["images_in_epoch"] += images_per_batch * len(micro)
            seen, epoch_images = progress["num_images_seen"], progress["images_in_epoch"]
            if opt.lr_policy == "plateau":
                plateau_sum, steps = plateau_sum + generator_loss(model), steps + 1
            if crossed(before, seen, opt.display_freq):
                model.compute_visuals()
                visuals = model.get_current_visuals()
                if evaluation is not None:
                    visuals.update(evaluation.ema_visuals(visuals))  # fake_B_ema, ... with --ema_decay
                visualizer.display_current_results(
                    visuals, epoch, crossed(before, seen, opt.update_html_freq)
                )
            if crossed(before, seen, opt.print_freq):
                losses = model.get_current_losses()
                t_comp = (time.time() - t_step) / images_per_batch
                visualizer.print_current_losses(epoch, epoch_images, losses, t_comp, t_data)
                visualizer.plot_current_losses(epoch, epoch_images / max(len(dataset), 1), losses)
            if crossed(before, seen, opt.save_latest_freq):
                label = f"iter_{seen}" if opt.save_by_iter else "latest"
                print0(f"saving the latest model (epoch {epoch}, total_iters {seen})")
                save_checkpoint(model, rt, [label], progress)
            if stop is not None and stop.agreed(rt):
                stop_with_latest(model, rt, progress)
            t_data_start = time.time()

        visualizer.save_epoch_end(epoch, model)  # a run shorter than --display_freq still leaves a gallery
        model.update_learning_rate(rt.mean(plateau_sum / steps) if steps else None)
        progress.update(epoch=epoch + 1, images_in_epoch=0)
        if (
            evaluation is not None
        ):  # validation and best_net_* before the save, whose state then holds the best
            evaluation.end_of_epoch(epoch, progress)
        numbered = epoch % opt.save_epoch_freq == 0
        # the final epoch always saves `latest` (SPEC §6 fix), so a short run leaves a usable model
        if numbered or epoch == last_epoch:
            print0(f"saving the model at the end of epoch {epoch}, iters {progress['num_images_seen']}")
            save_checkpoint(model, rt, ["latest"], progress)
        if numbered:
            save_epoch(model, rt, epoch, progress, opt.keep_train_states)
        if stop is not None and stop.agreed(rt):
            stop_with_latest(model, rt, progress, saved=numbered or epoch == last_epoch)
        print0(f"End of epoch {epoch} / {last_epoch} \t Time Taken: {int(time.time() - epoch_start)} sec")


def stop_with_latest(model, rt: Runtime, progress: dict, saved: bool = False) -> None:
    """After the first Ctrl-C: save `latest` where the run stands (resumable exactly; unless ``saved`` just
    now), then stop."""
    if not saved:
        print0(
            f"saving the latest model before stopping (epoch {progress['epoch']}, total_iters {progress['num_images_seen']})"
        )
        save_checkpoint(model, rt, ["latest"], progress)
    print0("stopped; resume with --continue_train")
    raise KeyboardInterrupt


def generator_loss(model) -> float:
    """The plateau policy's metric: the step's summed generator terms (every loss not named D_*)."""
    return sum(v for k, v in model.get_current_losses().items() if not k.startswith("D"))


def main(argv: list[str] | None = None) -> int:
    return run_cli(lambda: train(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
