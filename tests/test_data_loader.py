"""The loader: length, the --max_dataset_size cap, epoch-seeded shuffling, DDP sharding, worker errors."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DistributedSampler, RandomSampler

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
    assert order(loader, 5) == list(range(7)) and loader.batches_per_epoch == 3


def test_shuffle_order_is_a_function_of_seed_and_epoch():
    first = wrapper(20, seed=3)
    orders = {epoch: order(first, epoch) for epoch in (1, 2, 3)}
    assert sorted(orders[1]) == list(range(20))
    assert orders[1] != orders[2] != orders[3]
    plain = RandomSampler(range(20), generator=torch.Generator().manual_seed(3 + 2))
    assert orders[2] == list(plain)  # the order of the reference's sampler, seeded by (seed, epoch)
    resumed = wrapper(20, seed=3)  # a resumed run: a new loader that starts at epoch 2
    assert (
        order(resumed, 2) == orders[2] and order(resumed, 3) == orders[3] and order(resumed, 1) == orders[1]
    )
    assert order(wrapper(20, seed=4), 1) != orders[1]


def test_no_sharding_without_a_process_group():
    assert not torch.distributed.is_initialized()
    assert wrapper(shuffle=True).world == 1 and len(order(wrapper(10, shuffle=True), 1)) == 10


def test_no_distributed_sampler_with_a_world_of_one(tmp_path):
    # `torchrun --nproc_per_node=1`: a process group of one is no reason to shard (the reference crashes here).
    torch.distributed.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1
    )
    try:
        loader = wrapper(10)
        assert loader.world == 1 and loader.batches_per_epoch == 10 and len(order(loader, 1)) == 10
    finally:
        torch.distributed.destroy_process_group()


def test_ddp_shards_the_epoch_between_ranks():
    shards = []
    for rank in (0, 1):
        loader = wrapper(9, batch_size=2, seed=5, rank=rank, world_size=2)
        assert len(loader) == 9 and loader.batches_per_epoch == 3  # 5 of the 9 images per rank, batches of 2
        shards.append(order(loader, 4))
        plain = DistributedSampler(Numbers(9), num_replicas=2, rank=rank, shuffle=True, seed=5)
        plain.set_epoch(4)
        assert shards[-1] == list(plain)  # the reference's shard of the epoch
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


class Draws(torch.utils.data.Dataset):
    """Item i: i and one draw from each of Python's, numpy's and torch's generators (as augmentation draws)."""

    def __len__(self) -> int:
        return 12

    def __getitem__(self, i: int) -> dict:
        import random

        return {
            "i": torch.tensor(i),
            "draws": torch.tensor([random.random(), np.random.rand(), torch.rand(()).item()]),
        }


def draws(loader: DataLoaderWrapper, epoch: int, start_image: int = 0) -> dict[int, list[float]]:
    loader.set_epoch(epoch, start_image=start_image)
    return {int(i): d.tolist() for batch in loader for i, d in zip(batch["i"], batch["draws"])}


def test_augmentation_is_a_function_of_the_images_position_only():
    plain = draws(DataLoaderWrapper(Draws(), batch_size=2, num_workers=0, shuffle=True, seed=1), epoch=3)
    assert len(plain) == 12 and len({d[0] for d in plain.values()}) == 12  # every image its own draws
    workers = DataLoaderWrapper(Draws(), batch_size=3, num_workers=2, shuffle=True, seed=1)
    draws(workers, epoch=1)  # history: the persistent workers have loaded an epoch already
    assert draws(workers, epoch=3) == plain  # any worker, any batch size, any history: the same draws
    order = [i for i in plain]  # dicts keep the load order
    tail = draws(
        DataLoaderWrapper(Draws(), batch_size=5, num_workers=0, shuffle=True, seed=1), 3, start_image=7
    )
    assert list(tail) == order[7:] and tail == {i: plain[i] for i in order[7:]}
    assert draws(DataLoaderWrapper(Draws(), batch_size=2, num_workers=0, shuffle=True, seed=2), 3) != plain


def test_loading_in_the_main_process_leaves_its_random_streams_alone():
    import random

    loader = DataLoaderWrapper(Draws(), batch_size=2, num_workers=0, shuffle=True, seed=1)
    torch.manual_seed(5), random.seed(5), np.random.seed(5)
    expected = (torch.rand(()).item(), random.random(), np.random.rand())
    torch.manual_seed(5), random.seed(5), np.random.seed(5)
    draws(loader, epoch=1)
    assert (torch.rand(()).item(), random.random(), np.random.rand()) == expected


def test_a_position_carries_over_to_another_process_count(monkeypatch):
    def loader(world: int, rank: int, **kw) -> DataLoaderWrapper:
        return wrapper(9, seed=5, rank=rank, world_size=world, **kw)

    full = order(loader(1, 0), 2)
    # 2 processes x batch 1 stop after 2 steps (4 images of the epoch); 1 process takes the epoch from image 4 on.
    done = [int(b["A"][0]) for rank in (0, 1) for b, _ in zip(iter_epoch(loader(2, rank), 2), range(2))]
    rest = loader(1, 0)
    rest.set_epoch(2, start_image=4)
    assert sorted(done + order(rest)) == sorted(full) == list(range(9))  # each image once: 9 images, not 10
    assert rest.batches_left() == 5
    # 1 process stopped at image 3 (odd), resumed by 2: the shares stay even, so no rank waits for the other.
    shares = []
    for rank in (0, 1):
        two = loader(2, rank, batch_size=2)
        two.set_epoch(2, start_image=3)
        shares.append(order(two))
    assert len(shares[0]) == len(shares[1]) == 4
    # positions 3..9 of the 2-process epoch (9 images + DistributedSampler's 1 repeat), and position 3 again
    assert sorted(shares[0] + shares[1]) == sorted(full[3:] + [full[0], full[3]])


def iter_epoch(loader: DataLoaderWrapper, epoch: int):
    loader.set_epoch(epoch)
    return iter(loader)
