"""The loader: length, the --max_dataset_size cap, epoch-seeded shuffling, DDP sharding, worker errors."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DistributedSampler, RandomSampler, SequentialSampler

from data import create_dataset
from data.loader import DataLoaderWrapper, worker_message
from util.errors import UserError


class Numbers(torch.utils.data.Dataset):
    """Item i is {"A": tensor(i), "A_paths": "i"}: the order of a loader reads straight off its batches."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        return {"A": torch.tensor(i), "A_paths": str(i)}


def order(loader: DataLoaderWrapper, epoch: int | None = None) -> list[int]:
    if epoch is not None:
        loader.set_epoch(epoch)
    return [int(i) for batch in loader for i in batch["A"]]


def wrapper(n: int = 10, **kw) -> DataLoaderWrapper:
    args = dict(batch_size=1, num_workers=0, shuffle=True, seed=0) | kw
    return DataLoaderWrapper(Numbers(n), **args)


def test_len_is_the_global_image_count_capped_by_max_dataset_size():
    assert len(wrapper(10)) == 10 and len(wrapper(10, max_dataset_size=float("inf"))) == 10
    capped = wrapper(10, max_dataset_size=5, batch_size=2)
    assert len(capped) == 5 and capped.batches_per_epoch == 3
    # As in the reference, it stops at the first batch that reaches the cap: 3 batches of 2.
    assert len(order(capped, 1)) == 6


def test_serial_batches_keep_file_order():
    loader = wrapper(7, shuffle=False, batch_size=3)
    assert isinstance(loader.sampler, SequentialSampler)
    assert order(loader, 5) == list(range(7)) and loader.batches_per_epoch == 3


def test_shuffle_order_is_a_function_of_seed_and_epoch():
    first = wrapper(20, seed=3)
    orders = {epoch: order(first, epoch) for epoch in (1, 2, 3)}
    assert sorted(orders[1]) == list(range(20))
    assert orders[1] != orders[2] != orders[3]
    resumed = wrapper(20, seed=3)  # a resumed run: a new loader that starts at epoch 2
    assert (
        order(resumed, 2) == orders[2] and order(resumed, 3) == orders[3] and order(resumed, 1) == orders[1]
    )
    assert order(wrapper(20, seed=4), 1) != orders[1]


def test_no_distributed_sampler_without_a_process_group():
    assert not torch.distributed.is_initialized()
    assert isinstance(wrapper(shuffle=True).sampler, RandomSampler)
    assert isinstance(wrapper(shuffle=False).sampler, SequentialSampler)


def test_no_distributed_sampler_with_a_world_of_one(tmp_path):
    # `torchrun --nproc_per_node=1`: a process group of one is no reason to shard (the reference crashes here).
    torch.distributed.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1
    )
    try:
        loader = wrapper(10)
        assert isinstance(loader.sampler, RandomSampler) and loader.batches_per_epoch == 10
    finally:
        torch.distributed.destroy_process_group()


def test_ddp_shards_the_epoch_between_ranks():
    shards = []
    for rank in (0, 1):
        loader = wrapper(9, batch_size=2, seed=5, rank=rank, world_size=2)
        assert isinstance(loader.sampler, DistributedSampler) and loader.sampler.seed == 5
        assert len(loader) == 9 and loader.batches_per_epoch == 3  # 5 of the 9 images per rank, batches of 2
        shards.append(order(loader, 4))
        assert order(loader, 4) == shards[-1]  # set_epoch reaches DistributedSampler
    assert len(shards[0]) == len(shards[1]) == 5
    assert set(shards[0]) | set(shards[1]) == set(range(9))  # one image is repeated to even the shards


@pytest.mark.parametrize(
    "kw, flag", [(dict(batch_size=0), "--batch_size 0"), (dict(num_workers=-1), "--num_threads -1")]
)
def test_bad_loader_numbers_are_user_errors(kw, flag):
    with pytest.raises(UserError, match=flag):
        wrapper(**kw)


def test_worker_message_recovers_the_one_line():
    wrapped = (
        "Caught UserError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
        '  File "x.py", line 1, in f\nutil.errors.UserError: cannot read image a.png: truncated; re-save it\n'
    )
    assert worker_message(wrapped) == "cannot read image a.png: truncated; re-save it"
    assert worker_message("already one line") == "already one line"


def test_a_bad_image_read_in_a_worker_surfaces_as_one_line(tmp_path):
    (tmp_path / "train").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "train" / "a.png")
    (tmp_path / "train" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")  # found only when it is loaded
    opt = argparse.Namespace(
        dataroot=str(tmp_path), dataset_mode="colorization", phase="train", max_dataset_size=float("inf"),
        direction="AtoB", input_nc=1, output_nc=2, preprocess="none", load_size=8, crop_size=8, no_flip=True,
        serial_batches=True, batch_size=1, num_threads=1, isTrain=True, seed=0,
    )  # fmt: skip
    loader = create_dataset(opt)
    with pytest.raises(UserError) as err:
        list(loader)
    assert str(err.value).startswith(f"cannot read image {tmp_path / 'train' / 'b.png'}: ")
    assert "\n" not in str(err.value)
