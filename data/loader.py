"""The loader train.py and test.py iterate over: a DataLoader plus the epoch-seeded shuffle, the cap at
--max_dataset_size, DDP sharding, and user errors that surface in one line even from worker processes."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import (
    DataLoader,
    Dataset,
    DistributedSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
)

from util.errors import UserError


def worker_message(message: str) -> str:
    """The original one-line message of a UserError raised in a DataLoader worker.

    The DataLoader re-raises a worker's exception in the main process with the worker's whole traceback as
    its message; its last line is "util.errors.UserError: <message>".
    """
    lines = message.rstrip().splitlines()
    if len(lines) <= 1:
        return message
    _, found, original = lines[-1].partition("UserError: ")
    return original if found else lines[-1]


class DataLoaderWrapper:
    """Batches of a dataset for one process.

    len() is the number of images per epoch in the whole run, min(len(dataset), max_dataset_size), for all
    processes together; batches_per_epoch is what this process yields (under DDP each of the `world_size`
    processes sees a 1/world_size share, in batches of batch_size: the global batch is batch_size × world_size).
    `rank` and `world_size` are this process's place in the run (train.py passes its Runtime's).
    Call set_epoch(epoch) before each epoch: the shuffle order is a function of (seed, epoch) only, so a
    resumed run sees the same order as an uninterrupted one.
    """

    def __init__(
        self,
        dataset: Dataset,
        *,
        batch_size: int,
        num_workers: int,
        shuffle: bool,
        seed: int = 0,
        max_dataset_size: float = float("inf"),
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if batch_size < 1:
            raise UserError(f"--batch_size {batch_size} must be at least 1")
        if num_workers < 0:
            raise UserError(f"--num_threads {num_workers} must be 0 (load in the main process) or more")
        self.dataset = dataset
        self.seed = seed
        self.num_images = int(min(len(dataset), max_dataset_size))
        self.generator: torch.Generator | None = None
        self.sampler = self._make_sampler(shuffle, world_size, rank)
        self.batches_per_epoch = math.ceil(math.ceil(self.num_images / world_size) / batch_size)
        self.dataloader = DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=self.sampler,
            num_workers=num_workers,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=num_workers > 0,
            drop_last=False,
            # Seeds the workers' augmentation RNGs, so a run is repeatable; ranks draw different streams.
            generator=torch.Generator().manual_seed(seed * 1000 + rank),
        )

    def _make_sampler(self, shuffle: bool, world_size: int, rank: int) -> Sampler:
        # Only with 2+ processes: the reference builds a DistributedSampler whenever a process group exists
        # and crashes under `torchrun --nproc_per_node=1`.
        if world_size > 1:
            return DistributedSampler(
                self.dataset,
                num_replicas=world_size,
                rank=rank,
                shuffle=shuffle,
                seed=self.seed,
                drop_last=False,
            )
        if shuffle:
            self.generator = torch.Generator().manual_seed(self.seed)
            return RandomSampler(self.dataset, generator=self.generator)
        return SequentialSampler(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Fix this epoch's shuffle order to a function of (seed, epoch)."""
        if isinstance(self.sampler, DistributedSampler):
            self.sampler.set_epoch(epoch)
        elif self.generator is not None:
            self.generator.manual_seed(self.seed + epoch)

    def __len__(self) -> int:
        return self.num_images

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            for batch_index, batch in enumerate(self.dataloader):
                if batch_index >= self.batches_per_epoch:  # the --max_dataset_size cap
                    break
                yield batch
        except UserError as exc:
            raise UserError(worker_message(str(exc))) from None
