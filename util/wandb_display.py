"""Weights & Biases logging (`--use_wandb`): the options as run config, losses and images."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from util.errors import UserError

JSON_SCALARS = (bool, int, str, type(None))


def json_safe(value: Any) -> Any:
    """`value` with everything JSON cannot hold (inf, tuples of odd things, objects) made a string."""
    if isinstance(value, JSON_SCALARS):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # --max_dataset_size defaults to inf
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return str(value)


def _import_wandb():
    try:
        import wandb  # optional dependency: only needed with --use_wandb
    except ImportError as e:
        raise UserError("--use_wandb needs the wandb package: pip install wandb, or drop --use_wandb") from e
    return wandb


class WandbDisplay:
    """One wandb run: project `project`, run name `run_name` (the experiment name), config = options."""

    def __init__(self, project: str, run_name: str, config: dict[str, Any]) -> None:
        self.wandb = _import_wandb()
        # Like the reference, join a run the user already started (e.g. in a sweep) instead of a new one.
        self.owns_run = self.wandb.run is None
        self.run = self.wandb.run or self.wandb.init(project=project, name=run_name, config=json_safe(config))

    def log_images(self, images: dict[str, np.ndarray], epoch: int) -> None:
        logged: dict[str, Any] = {label: self.wandb.Image(image) for label, image in images.items()}
        self.run.log({**logged, "epoch": epoch})

    def log_losses(self, losses: dict[str, float], epoch: float) -> None:
        """Losses, plus the fractional epoch so the charts can use it as x axis."""
        self.run.log({**losses, "epoch": epoch})

    def log_metrics(self, metrics: dict[str, float], epoch: int) -> None:
        """Validation scores, under `val/` so they chart apart from the losses."""
        self.run.log({**{f"val/{k}": v for k, v in metrics.items()}, "epoch": epoch})

    def close(self) -> None:
        """Finish the run and, when this display started it, wait until wandb has written everything.

        `finish()` returns before wandb's service process has flushed the run's files (an offline
        `.wandb` file can still be empty); `teardown()` waits for it. wandb would otherwise rely on an
        atexit hook, which its docs call unreliable with multiprocessing (our DataLoader workers).
        """
        self.run.finish()
        if self.owns_run:
            self.wandb.teardown()
