"""A training run's state: where it stands (``Progress``), saving it, resuming it, and Ctrl-C.

* ``Progress``: epoch and images seen, in images of all processes; saved with every resumable checkpoint.
* ``save_checkpoint`` / ``save_epoch``: checkpoint sets with (or, for numbered epochs, without) the full state.
* ``own_rank_state``: a resumed process's own random state and image pools.
* ``open_resume``: the training state of the checkpoint set ``--continue_train`` loads, or None -- loudly --
  when the set holds weights only or its files belong to different saves.
* ``resume_position``: the image of the interrupted epoch to continue at, converted to this run's batch
  size and process count, with a note for each thing that changed since the save.
* ``warn_existing_run``: a new run into a ``--name`` that already holds one says what it will replace.
* ``GracefulStop``: the first Ctrl-C ends the run after the current step with a ``latest`` save; a second
  one stops at once.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import warnings

from models.base_model import capture_rng
from models.checkpoint_set import (
    finish_interrupted_save,
    keep_numbered_train_states,
    label_of,
    load_train_state,
    read_manifest,
)
from util.distributed import Runtime, print0


@dataclasses.dataclass
class Progress:
    """Where the run stands. Counters count images of all processes (the reference's ``total_iters``)."""

    epoch: int
    schedule_epoch_count: int  # the --epoch_count the learning-rate schedule was built with
    batch_size: int  # what ``images_in_epoch`` was counted in, for a resume to check against
    dataset_len: int
    num_images: int  # per epoch, after --max_dataset_size
    images_in_epoch: int = 0  # where a mid-epoch resume continues
    num_images_seen: int = 0
    best: dict | None = None  # --save_best: the best validation so far

    @classmethod
    def resumed(cls, saved: dict, dataset, world_size: int, opt) -> Progress:
        """The saved position, converted to this run's batches and processes (see ``resume_position``)."""
        return cls(
            epoch=saved["epoch"],
            schedule_epoch_count=saved["schedule_epoch_count"],
            batch_size=opt.batch_size,
            dataset_len=len(dataset.dataset),
            num_images=len(dataset),
            images_in_epoch=resume_position(saved, dataset, world_size),
            num_images_seen=saved["num_images_seen"],
            best=saved.get("best"),
        )

    def start_epoch(self, epoch: int) -> int:
        """Enter ``epoch``; return the image to start it at (not 0 only when resuming into it)."""
        if epoch != self.epoch:
            self.epoch, self.images_in_epoch = epoch, 0
        return self.images_in_epoch

    def advance(self, images: int) -> int:
        """Count one optimizer step's images; return the images seen before it."""
        before = self.num_images_seen
        self.num_images_seen += images
        self.images_in_epoch += images
        return before

    def end_epoch(self) -> None:
        """A save from now on resumes at the start of the next epoch."""
        self.epoch, self.images_in_epoch = self.epoch + 1, 0


def save_checkpoint(model, rt: Runtime, label: str, progress: Progress, *, resumable: bool = True) -> None:
    """``label`` as one checkpoint set, written by rank 0. ``resumable`` adds the full training state; random
    states and image pools differ between DDP ranks, so every rank's are gathered into it."""
    rng_per_rank = rt.gather(capture_rng(model.device)) if resumable else None
    pools_per_rank = (
        rt.gather({k: p.state_dict() for k, p in model.image_pools().items()}) if resumable else None
    )
    if rt.is_main:
        saved = {**dataclasses.asdict(progress), "world_size": rt.world_size}
        info = {k: saved[k] for k in ("epoch", "images_in_epoch", "num_images_seen")}
        state = None
        if resumable:
            per_rank = {"rng_per_rank": rng_per_rank, "pools_per_rank": pools_per_rank}
            state = {**model.training_state(), "progress": {**saved, **per_rank}}
        model.save_networks(label, state, info)
    rt.barrier()


def save_epoch(model, rt: Runtime, epoch: int, progress: Progress, keep_train_states: int) -> None:
    """A numbered epoch's save: weights only (the reference's files), unless the last ``keep_train_states``
    numbered epochs keep their training state too."""
    save_checkpoint(model, rt, str(epoch), progress, resumable=keep_train_states > 0)
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


def stop_with_latest(model, rt: Runtime, progress: Progress, saved: bool = False) -> None:
    """After the first Ctrl-C: save `latest` where the run stands (resumable exactly; unless ``saved`` just
    now), then stop."""
    if not saved:
        print0(
            f"saving the latest model before stopping (epoch {progress.epoch}, total_iters {progress.num_images_seen})"
        )
        save_checkpoint(model, rt, "latest", progress)
    print0("stopped; resume with --continue_train")
    raise KeyboardInterrupt


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def open_resume(rt: Runtime, save_dir: str, label: str, epoch_count: int) -> dict | None:
    """The training state saved with the weights of ``label``, or None (the reference's weights-only resume)."""
    if rt.is_main:
        finished = finish_interrupted_save(save_dir, label)
        if finished:
            print(f"finished the interrupted save of '{label}': {', '.join(finished)} renamed into place")
    rt.barrier()
    state, mismatch = load_train_state(save_dir, label)
    if state is not None:
        return state
    at = (read_manifest(save_dir, label) or {}).get("epoch")
    hint = f" (this save stands at epoch {at}: add --epoch_count {at} to go on with its schedule)"
    how = f"optimizers restart and epochs count from --epoch_count {epoch_count}" + (
        hint if at and at != epoch_count else ""
    )
    if mismatch:
        warn(f"{mismatch}: not using it; resuming from the weights alone, the reference's way: {how}")
    elif at:
        print0(
            f"'{label}' holds weights only (numbered epochs do; `latest` and iter_N hold the full training "
            f"state): resuming the reference's way, {how}"
        )
    else:
        print0(f"no training state saved with these weights: {how}")
    return None


def resume_position(saved: dict, dataset, world_size: int) -> int:
    """The image (of all processes together) of the saved epoch to continue at; says what changed."""
    epoch, saved_world = saved["epoch"], saved.get("world_size", len(saved["rng_per_rank"]))
    start = saved.get("images_in_epoch")
    if start is None:  # train states written before positions were counted in images
        start = saved["batches_in_epoch"] * saved.get("batch_size", dataset.batch_size) * saved_world
    if start == 0:
        return 0
    then_len, now_len = saved.get("dataset_len", len(dataset.dataset)), len(dataset.dataset)
    if then_len != now_len:
        warn(
            f"the training set has {now_len} images (after --max_dataset_size), {then_len} when epoch {epoch} was "
            "interrupted: that epoch's order "
            f"is drawn anew, so its rest (from image {start}) may repeat or miss some of the {start} images "
            "already trained in it; later epochs are whole"
        )
    elif saved.get("num_images", len(dataset)) != len(dataset):
        print0(
            f"note: epoch {epoch} now has {len(dataset)} images ({saved['num_images']} when saved; "
            f"--max_dataset_size): same order, continuing at image {start}"
        )
    then = (saved.get("batch_size", dataset.batch_size), saved_world)
    if then != (dataset.batch_size, world_size):
        print0(
            f"note: continuing epoch {epoch} at image {start} in batches of {dataset.batch_size} x {world_size} "
            f"process(es) (the checkpoint's: {then[0]} x {then[1]}): the same images, grouped differently, so "
            "the run is not bit for bit an uninterrupted one"
        )
    if start >= dataset.images_per_epoch:
        print0(f"note: epoch {epoch} has no images left after image {start}: it ends at once")
    return min(start, dataset.images_per_epoch)


def warn_existing_run(save_dir: str) -> None:
    """Before a new run (no --continue_train) writes into ``save_dir``: name what it will replace."""
    if not os.path.isdir(save_dir):
        return
    found = sorted(f for f in os.listdir(save_dir) if label_of(f) is not None or f == "loss_log.txt")
    if not found:
        return
    labels = sorted({label for f in found if (label := label_of(f)) is not None})
    shown = ", ".join(found[:6]) + (f" and {len(found) - 6} more" if len(found) > 6 else "")
    warn(
        f"{save_dir} already holds a run ({shown}); this new run rewrites its train_opt.txt and "
        "architecture.json now, appends to its loss_log.txt"
        + (f" and replaces its checkpoints {', '.join(labels)} as it saves them" if labels else "")
        + ". To keep both, stop now and use another --name; to go on with that run, add --continue_train"
    )


class GracefulStop:
    """SIGINT handler for the training loop: the first Ctrl-C asks for a stop at the next step boundary (train.py
    then saves `latest`); a second one raises KeyboardInterrupt at once."""

    def __init__(self) -> None:
        self.requested = False

    def __enter__(self) -> GracefulStop:
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print(
            "\nCtrl-C: saving `latest` after this step, then stopping (Ctrl-C again stops at once, unsaved)",
            file=sys.stderr,
            flush=True,
        )

    def agreed(self, rt: Runtime) -> bool:
        """True when any process was asked to stop (every process must stop at the same step)."""
        return rt.mean(float(self.requested)) > 0 if rt.ddp else self.requested
