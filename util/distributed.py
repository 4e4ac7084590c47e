"""Where a process runs: the device, and under torchrun the process group (nccl on GPUs, gloo on CPU)."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import torch
import torch.distributed as dist

from util.errors import UserError

_is_main_process = True  # set by setup_runtime; False on torchrun ranks other than 0


def print0(*args, **kwargs) -> None:
    """print() on the main process only: under torchrun one rank speaks for all (the others' warnings and
    errors still reach stderr). Before setup_runtime, and in one-process runs, it is print()."""
    if _is_main_process:
        print(*args, **kwargs)


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def ddp(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.ddp:
            dist.barrier()

    def gather(self, obj) -> list:
        """Every rank's ``obj``, in rank order, on every rank."""
        if not self.ddp:
            return [obj]
        out = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def mean(self, value: float) -> float:
        if not self.ddp:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return float(t.item()) / self.world_size


def parse_gpu_ids(text: str) -> list[int]:
    """`--gpu_ids 0,1` -> [0, 1]; `-1` -> [] (CPU)."""
    try:
        ids = [int(tok) for tok in text.split(",") if tok.strip()]
    except ValueError:
        raise UserError(
            f"--gpu_ids {text!r} is not a comma-separated list of integers; e.g. --gpu_ids 0,1 or -1 for CPU"
        ) from None
    return [i for i in ids if i >= 0]


def setup_runtime(gpu_ids: str, norm: str = "instance") -> Runtime:
    """One process per device under torchrun (WORLD_SIZE > 1); else the first of --gpu_ids, or the CPU.

    Under torchrun, --gpu_ids only says GPU or CPU (-1): process LOCAL_RANK takes GPU LOCAL_RANK of those
    CUDA_VISIBLE_DEVICES shows, and `--gpu_ids -1` runs the processes on the CPU (gloo) even where GPUs exist.
    """
    ids = parse_gpu_ids(gpu_ids)
    use_gpu = bool(ids) and torch.cuda.is_available()
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size > 1:
        return _setup_ddp(world_size, norm, use_gpu)
    if not use_gpu:
        return Runtime(torch.device("cpu"))
    if len(ids) > 1:
        warnings.warn(
            f"--gpu_ids {gpu_ids} asks for several GPUs in one process; this uses GPU {ids[0]} only. "
            f"For all of them run: torchrun --nproc_per_node={len(ids)} train.py ...",
            stacklevel=2,
        )
    torch.cuda.set_device(ids[0])
    return Runtime(torch.device("cuda", ids[0]))


def _setup_ddp(world_size: int, norm: str, use_gpu: bool) -> Runtime:
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if norm in ("syncbatch", "sync_batch") and not use_gpu:
        raise UserError(
            f"--norm {norm} needs CUDA GPUs (SyncBatchNorm has no CPU kernel); on CPU use --norm instance"
        )
    if use_gpu and local_rank >= torch.cuda.device_count():
        raise UserError(
            f"torchrun started more processes on this machine than it has GPUs ({torch.cuda.device_count()}); "
            f"use --nproc_per_node={torch.cuda.device_count()}, or --gpu_ids -1 to run on the CPU"
        )
    if norm == "batch" and rank == 0:
        warnings.warn(
            "--norm batch under torchrun keeps BatchNorm statistics per process; use --norm syncbatch or --norm instance",
            stacklevel=2,
        )
    global _is_main_process
    _is_main_process = rank == 0
    device = torch.device("cuda", local_rank) if use_gpu else torch.device("cpu")
    if use_gpu:
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_gpu else "gloo", device_id=device if use_gpu else None)
    return Runtime(device, rank=rank, local_rank=local_rank, world_size=world_size)
