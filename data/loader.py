"""The loader train.py and test.py iterate over: a DataLoader plus the epoch-seeded shuffle, the cap at
--max_dataset_size, DDP sharding, and user errors that surface in one line even from worker processes."""

from __future__ import annotations

import contextlib
import hashlib
import math
import random
from collections.abc import Iterator
from functools import partial
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

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


def sample_seed(seed: int, epoch: int, position: int) -> int:
    """The random seed of the image at ``position`` of ``epoch``'s order: augmentation is a function of where
    an image falls in the run, never of which process, worker or batch loads it, or of what came before."""
    digest = hashlib.sha256(f"{seed},{epoch},{position}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


@contextlib.contextmanager
def seeded_randomness(seed: int) -> Iterator[None]:
    """Seed Python's, numpy's and torch's CPU generators for one item. In the main process (--num_threads 0)
    the caller's states are put back after it: they drive dropout and the image pools, which must not depend on
    loading. A worker process has no other use for them, and skips that (numpy's state copy costs ~0.4 ms)."""
    in_worker = torch.utils.data.get_worker_info() is not None
    saved = None if in_worker else (random.getstate(), np.random.get_state(), torch.get_rng_state())
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.default_generator.manual_seed(seed)  # CPU only: torch.manual_seed would reseed CUDA too
    try:
        yield
    finally:
        if saved is not None:
            random.setstate(saved[0])
            np.random.set_state(saved[1])
            torch.set_rng_state(saved[2])


class PositionSeededDataset(Dataset):
    """Items are asked for as (index, seed) and loaded under that seed (see EpochSampler)."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item: tuple[int, int]) -> Any:
        index, seed = item
        with seeded_randomness(seed):
            return self.dataset[index]


class EpochSampler(Sampler):
    """This process's share of one epoch, from a given image on, as (dataset index, seed) pairs.

    An epoch is a sequence of global positions 0, 1, ... over the order of (seed, epoch) -- torch.randperm,
    the permutation RandomSampler and DistributedSampler draw, or file order -- padded as DistributedSampler
    pads it to a multiple of the process count and cut at the --max_dataset_size cap (whole batches, as the
    reference stops at the first batch that reaches it). Process ``rank`` takes every ``world``-th position
    from ``start``. Positions count images of all processes, so a run can resume at an image with another
    --batch_size or process count and still see the rest of the epoch exactly once.
    """

    def __init__(self, dataset_len: int, num_images: int, batch_size: int, *, shuffle: bool, seed: int,
                 world: int, rank: int) -> None:  # fmt: skip
        self.dataset_len, self.shuffle, self.seed, self.world, self.rank = (
            dataset_len,
            shuffle,
            seed,
            world,
            rank,
        )
        per_process = min(
            math.ceil(dataset_len / world), math.ceil(math.ceil(num_images / world) / batch_size) * batch_size
        )
        self.end = per_process * world  # fmt: skip
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def order(self) -> list[int]:
        """Dataset indices at each global position of the epoch (padded, before the cap)."""
        n = self.dataset_len
        if self.shuffle:
            indices = torch.randperm(
                n, generator=torch.Generator().manual_seed(self.seed + self.epoch)
            ).tolist()
        else:
            indices = list(range(n))
        padding = math.ceil(n / self.world) * self.world - n
        return indices + (indices * math.ceil(padding / max(n, 1)))[:padding]

    def positions(self) -> list[int]:
        """The global positions this process loads, in order."""
        remaining = list(range(min(self.start, self.end), self.end))
        if len(remaining) % self.world:  # only after a change of process count: even the shares out
            remaining += remaining[: self.world - len(remaining) % self.world]
        return remaining[self.rank :: self.world]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        order = self.order()
        for p in self.positions():
            yield order[p], sample_seed(self.seed, self.epoch, p)

    def __len__(self) -> int:
        return len(self.positions())


def collate_one_size(items: list[dict[str, Any]], batch_size: int) -> dict[str, Any]:
    """default_collate, but images of different sizes in one batch (--preprocess none or scale_width keep each
    image's own size) are one clear error instead of torch.stack's size-mismatch traceback."""
    for key, first in items[0].items():
        if not isinstance(first, torch.Tensor):
            continue
        for item in items[1:]:
            if item[key].shape != first.shape:
                raise UserError(
                    f"--batch_size {batch_size} stacks images of one size, but {_describe(items[0], key)} and "
                    f"{_describe(item, key)} differ after --preprocess; use --batch_size 1, or a --preprocess "
                    "that gives every image one size (resize_and_crop, crop, scale_width_and_crop, resize)"
                )
    return default_collate(items)


def _describe(item: dict[str, Any], key: str) -> str:
    height, width = item[key].shape[-2:]
    return f"{item.get(f'{key}_paths', key)} ({width}x{height} px)"


class DataLoaderWrapper:
    """Batches of a dataset for one process.

    len() is the number of images per epoch in the whole run, min(len(dataset), max_dataset_size), for all
    processes together; batches_per_epoch is what this process yields (under DDP each of the `world`
    processes sees a 1/world share, in batches of batch_size: the global batch is batch_size × world).
    Call set_epoch(epoch) before each epoch: the shuffle order is a function of (seed, epoch) only and each
    image's augmentation a function of (seed, epoch, position), so a resumed run -- with DataLoader workers
    or without -- loads exactly what an uninterrupted one would. ``set_epoch(epoch, start_image=k)`` begins
    the epoch at its k-th image (of all processes together).
    `rank` and `world_size` are this process's place in the run (train.py passes its Runtime's).
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
        self.batch_size = batch_size
        self.num_images = int(min(len(dataset), max_dataset_size))
        # Only with 2+ processes is the epoch sharded: the reference builds a DistributedSampler whenever a
        # process group exists and crashes under `torchrun --nproc_per_node=1`.
        self.world = world_size
        self.sampler = EpochSampler(len(dataset), self.num_images, batch_size, shuffle=shuffle, seed=seed,
                                    world=world_size, rank=rank)  # fmt: skip
        self.batches_per_epoch = math.ceil(math.ceil(self.num_images / world_size) / batch_size)
        self.dataloader = DataLoader(
            PositionSeededDataset(dataset),
            batch_size=batch_size,
            sampler=self.sampler,
            num_workers=num_workers,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=num_workers > 0,
            drop_last=False,
            collate_fn=partial(collate_one_size, batch_size=batch_size),
            generator=torch.Generator().manual_seed(seed),  # leaves the global stream alone
        )

    def set_epoch(self, epoch: int, start_image: int = 0) -> None:
        """Fix this epoch's order to a function of (seed, epoch); begin at image ``start_image`` of it."""
        self.sampler.set_epoch(epoch, start_image)

    @property
    def images_per_epoch(self) -> int:
        """Images (all processes, whole batches) an epoch runs through; the end of an epoch's positions."""
        return self.sampler.end

    def batches_left(self) -> int:
        """Batches this process yields in the epoch from the image set by set_epoch on."""
        return math.ceil(len(self.sampler) / self.batch_size)

    def __len__(self) -> int:
        return self.num_images

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            yield from self.dataloader
        except UserError as exc:
            raise UserError(worker_message(str(exc))) from None
