"""Train pix2pix, CycleGAN, colorization or template models.

    python train.py --dataroot ./datasets/facades --name facades_pix2pix --model pix2pix --direction BtoA
    torchrun --nproc_per_node=4 train.py --dataroot ... --norm instance

Counters count images seen by all processes together (the reference's `total_iters`). A save writes the
reference's per-network `.pth` files plus `{label}_train_state.pth`, from which `--continue_train` resumes
exactly where the run stopped.
"""

from __future__ import annotations

import itertools
import os
import random
import sys
import time
import warnings

import numpy as np
import torch

from data import create_dataset
from models import create_model
from models.architecture import save_architecture
from models.base_model import BaseModel, capture_rng, restore_rng
from options import options_text, parse_options, save_options
from util.distributed import Runtime, setup_runtime
from util.errors import UserError
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


def save_checkpoint(model, rt: Runtime, labels: list[str], progress: dict) -> None:
    """Weights under each label (rank 0 only) plus the full training state. Random states and image pools
    differ between DDP ranks, so every rank's are gathered into the file."""
    rng_per_rank = rt.gather(capture_rng(model.device))
    pools_per_rank = rt.gather({key: pool.state_dict() for key, pool in model.image_pools().items()})
    if rt.is_main:
        per_rank = {"rng_per_rank": rng_per_rank, "pools_per_rank": pools_per_rank}
        for label in labels:
            model.save_networks(label)
            model.save_training_state(label, {**progress, **per_rank})
    rt.barrier()


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


def load_resume_state(opt, save_dir: str) -> dict | None:
    """The training state saved with the weights `--continue_train` loads (`--epoch` / `--load_iter`), if any."""
    path = os.path.join(save_dir, f"{BaseModel.checkpoint_label(opt)}_train_state.pth")
    if not os.path.isfile(path):
        return None
    return torch.load(path, map_location="cpu", weights_only=True)


def train(argv: list[str]) -> None:
    opt, parser = parse_options(argv, is_train=True)
    rt = setup_runtime(opt.gpu_ids, opt.norm)
    save_dir = os.path.join(opt.checkpoints_dir, opt.name)
    if not rt.is_main:  # one voice: only rank 0 prints (warnings and errors still reach stderr)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 -- for the life of the process
    if rt.is_main:
        print(options_text(opt, parser), end="")
        save_options(opt, parser)
    seed_everything(opt.seed)  # same initial weights on every rank (DDP also broadcasts rank 0's)
    dataset = create_dataset(opt)
    print(f"The number of training images = {len(dataset)}")

    resume = load_resume_state(opt, save_dir) if opt.continue_train else None
    if resume is not None:
        opt.epoch_count = resume["progress"][
            "schedule_epoch_count"
        ]  # the schedule is rebuilt as it was, then loaded
    model = create_model(opt, rt.device, ddp=rt.ddp)
    model.setup(opt)
    if rt.is_main:
        save_architecture(opt, save_dir)
    visualizer = Visualizer(opt, is_main_process=rt.is_main)
    evaluation = TrainingEvaluation(opt, rt, model, visualizer)  # --ema_decay, --val_freq, --save_best

    progress = {
        "schedule_epoch_count": opt.epoch_count,
        "epoch": opt.epoch_count,
        "batches_in_epoch": 0,
        "num_images_seen": 0,
    }
    seed_everything(opt.seed + rt.rank)  # augmentation and dropout differ per rank
    if resume is not None:
        model.load_training_state(resume)
        progress = {key: resume["progress"][key] for key in progress}
        rng_state = own_rank_state(model, rt, resume["progress"])
        print(
            f"resuming at epoch {progress['epoch']}, {progress['num_images_seen']} images seen (full training state restored)"
        )
    elif opt.continue_train:
        print(
            f"no training state saved with these weights: optimizers restart, epochs count from --epoch_count {opt.epoch_count}"
        )
    evaluation.restore(resume["progress"] if resume is not None else None, progress)
    run_epochs(
        opt, rt, model, dataset, visualizer, progress, rng_state if resume is not None else None, evaluation
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
    evaluation: TrainingEvaluation | None = None,
) -> None:
    last_epoch = opt.n_epochs + opt.n_epochs_decay
    images_per_batch = opt.batch_size * rt.world_size
    show_bar = rt.is_main and sys.stdout.isatty() and not opt.no_progress
    for epoch in range(progress["epoch"], last_epoch + 1):
        epoch_start, skip = time.time(), progress["batches_in_epoch"] if progress["epoch"] == epoch else 0
        progress.update(epoch=epoch, batches_in_epoch=skip)
        dataset.set_epoch(epoch)
        visualizer.reset()
        batches = iter(dataset)
        for _ in range(skip):  # a mid-epoch resume skips what was already trained ...
            next(batches)
        if rng_state is not None:  # ... and only then takes the random state saved at that point
            restore_rng(rng_state, model.device)
            rng_state = None
        if show_bar:
            from tqdm import tqdm

            batches = tqdm(
                batches,
                total=dataset.batches_per_epoch,
                initial=skip,
                desc=f"epoch {epoch}/{last_epoch}",
                unit="batch",
            )
        plateau_sum, steps, t_data_start = 0.0, 0, time.time()
        for micro in grouped(batches, opt.accum_steps):
            t_data = time.time() - t_data_start
            t_step = time.time()
            model.train_step(micro)
            if evaluation is not None:
                evaluation.after_step()  # the generator average
            before = progress["num_images_seen"]
            progress["num_images_seen"] += images_per_batch * len(micro)
            progress["batches_in_epoch"] += len(micro)
            seen, epoch_images = progress["num_images_seen"], progress["batches_in_epoch"] * images_per_batch
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
                print(f"saving the latest model (epoch {epoch}, total_iters {seen})")
                save_checkpoint(model, rt, [label], progress)
            t_data_start = time.time()

        model.update_learning_rate(rt.mean(plateau_sum / steps) if steps else None)
        progress.update(epoch=epoch + 1, batches_in_epoch=0)
        if (
            evaluation is not None
        ):  # validation and best_net_* before the save, whose state then holds the best
            evaluation.end_of_epoch(epoch, progress)
        labels = (
            ["latest", str(epoch)]
            if epoch % opt.save_epoch_freq == 0
            else ["latest"]
            if epoch == last_epoch
            else []
        )
        if (
            labels
        ):  # the final epoch always saves `latest` (SPEC §6 fix), so a short run leaves a usable model
            print(f"saving the model at the end of epoch {epoch}, iters {progress['num_images_seen']}")
            save_checkpoint(model, rt, labels, progress)
        print(f"End of epoch {epoch} / {last_epoch} \t Time Taken: {int(time.time() - epoch_start)} sec")


def generator_loss(model) -> float:
    """The plateau policy's metric: the step's summed generator terms (every loss not named D_*)."""
    return sum(v for k, v in model.get_current_losses().items() if not k.startswith("D"))


def main(argv: list[str] | None = None) -> int:
    try:
        train(sys.argv[1:] if argv is None else argv)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
