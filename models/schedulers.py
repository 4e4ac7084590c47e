"""Learning-rate policies (``--lr_policy``), stepped once at the end of every epoch (SPEC §4).

"The lr at epoch E" below is the lr used while training epoch E, where epochs are numbered as the
training loop numbers them: from ``--epoch_count`` (1 on a fresh run) to ``n_epochs + n_epochs_decay``.
For linear, step and cosine it is a function of E alone, so a run resumed at ``--epoch_count K`` follows
the same table as an uninterrupted one.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from torch.optim import Optimizer, lr_scheduler

from util.errors import UserError


class EpochSchedule(lr_scheduler.LRScheduler):
    """lr = initial lr × ``factor(E)``, E = ``epoch_count`` + number of steps taken.

    ``epoch_count`` is saved in ``state_dict``: restoring a state into a schedule built with another
    ``epoch_count`` (say, that of a resumed run) still counts epochs from the run that wrote it.
    """

    def __init__(self, optimizer: Optimizer, factor: Callable[[int], float], epoch_count: int = 1) -> None:
        self.factor = factor
        self.epoch_count = epoch_count
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        f = self.factor(self.epoch_count + self.last_epoch)
        return [base_lr * f for base_lr in self.base_lrs]

    def state_dict(self) -> dict:
        # No function in the state: training state must load with torch.load(weights_only=True).
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "factor")}


def linear_factor(epoch: int, n_epochs: int, n_epochs_decay: int) -> float:
    """1 until ``n_epochs``, then down by 1/(n_epochs_decay + 1) per epoch; never 0 (the reference's rule)."""
    return 1.0 - max(0, epoch - n_epochs) / float(n_epochs_decay + 1)


def step_factor(epoch: int, lr_decay_iters: int) -> float:
    """×0.1 every ``lr_decay_iters`` epochs (StepLR(step_size=lr_decay_iters, gamma=0.1) on a fresh run)."""
    return 0.1 ** ((epoch - 1) // lr_decay_iters)


def cosine_factor(epoch: int, total_epochs: int) -> float:
    """Half a cosine over the whole run, from 1 at epoch 1 to just above 0 at the last epoch.

    The reference anneals over ``n_epochs`` only, so its lr reaches 0 halfway and climbs back (SPEC §4 fix).
    """
    progress = min(epoch - 1, total_epochs) / total_epochs
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def _linear(optimizer, n_epochs, n_epochs_decay, epoch_count, lr_decay_iters):
    return EpochSchedule(optimizer, lambda e: linear_factor(e, n_epochs, n_epochs_decay), epoch_count)


def _step(optimizer, n_epochs, n_epochs_decay, epoch_count, lr_decay_iters):
    if lr_decay_iters < 1:
        raise UserError(f"--lr_decay_iters {lr_decay_iters} must be at least 1 for --lr_policy step")
    return EpochSchedule(optimizer, lambda e: step_factor(e, lr_decay_iters), epoch_count)


def _cosine(optimizer, n_epochs, n_epochs_decay, epoch_count, lr_decay_iters):
    total = max(1, n_epochs + n_epochs_decay)
    return EpochSchedule(optimizer, lambda e: cosine_factor(e, total), epoch_count)


def _plateau(optimizer, n_epochs, n_epochs_decay, epoch_count, lr_decay_iters):
    return lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.2, threshold=0.01, patience=5)


SCHEDULERS = {"linear": _linear, "step": _step, "plateau": _plateau, "cosine": _cosine}
LR_POLICIES = tuple(SCHEDULERS)


def get_scheduler(
    optimizer: Optimizer,
    lr_policy: str,
    *,
    n_epochs: int,
    n_epochs_decay: int,
    epoch_count: int = 1,
    lr_decay_iters: int = 50,
) -> lr_scheduler.LRScheduler | lr_scheduler.ReduceLROnPlateau:
    """The schedule ``--lr_policy`` for ``optimizer``; sets the lr of the first epoch, ``epoch_count``."""
    if lr_policy not in SCHEDULERS:
        raise UserError(f"--lr_policy {lr_policy} is unknown; choose one of: {', '.join(LR_POLICIES)}")
    return SCHEDULERS[lr_policy](optimizer, n_epochs, n_epochs_decay, epoch_count, lr_decay_iters)


def step_scheduler(scheduler, metric: float | None) -> None:
    """Advance ``scheduler`` by one epoch. ``metric`` (lower is better) drives only the plateau policy."""
    if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
        if metric is None:
            raise ValueError("--lr_policy plateau needs a metric for every epoch")
        scheduler.step(metric)
    else:
        scheduler.step()
