"""Datasets and the loader (SPEC §5).

``--dataset_mode NAME`` picks a class from ``DATASETS``; each mode lives in data/NAME_dataset.py and is
registered by ``@register_dataset("NAME")`` when imported below. To add one, copy template_dataset.py.

    from data import create_dataset
    loader = create_dataset(opt)          # checks the folders and flags, raises UserError
    for epoch in ...:
        loader.set_epoch(epoch)
        for batch in loader: ...          # dicts: A, B, A_paths, B_paths (single: A, A_paths)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from data import (  # noqa: F401  (importing a module registers its dataset mode)
    aligned_dataset,
    colorization_dataset,
    single_dataset,
    template_dataset,
    unaligned_dataset,
)
from data.loader import DataLoaderWrapper
from data.registry import DATASETS, register_dataset
from util.distributed import print0

__all__ = [
    "DATASETS",
    "DataLoaderWrapper",
    "create_dataset",
    "find_dataset",
    "get_option_setter",
    "register_dataset",
]


def find_dataset(dataset_mode: str) -> type:
    """The dataset class registered as `dataset_mode`; UserError listing the choices otherwise."""
    return DATASETS.get(dataset_mode)


def get_option_setter(
    dataset_mode: str,
) -> Callable[[argparse.ArgumentParser, bool], argparse.ArgumentParser]:
    """The dataset's hook that adds its flags and defaults: setter(parser, is_train) -> parser."""
    return find_dataset(dataset_mode).modify_commandline_options


def create_dataset(opt: argparse.Namespace, rank: int = 0, world_size: int = 1) -> DataLoaderWrapper:
    """Build the dataset chosen by --dataset_mode and its loader (see DataLoaderWrapper for len and epochs).

    `rank` / `world_size`: this process's place in a torchrun job; each process loads a 1/world_size share."""
    dataset = find_dataset(opt.dataset_mode)(opt)
    print0(f"dataset [{type(dataset).__name__}] was created")
    return DataLoaderWrapper(
        dataset,
        batch_size=opt.batch_size,
        num_workers=opt.num_threads,
        shuffle=not opt.serial_batches,
        seed=getattr(opt, "seed", 0),
        max_dataset_size=opt.max_dataset_size,
        rank=rank,
        world_size=world_size,
    )
